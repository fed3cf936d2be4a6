"""Deterministic k-nearest neighbours on integer positions: identical sets on encoder and decoder.

Order of neighbours: ascending squared distance (exact, int64), ties by ascending index in the reference set.
The fast path is a uniform grid over the reference points (coordinates stored in cell order): each query visits
the cells around its own in ascending order of their smallest possible distance (a precomputed stencil), skips
cells that cannot hold a closer or tying point, and stops once no unvisited cell can; rare queries far from the
points continue in shells of cells. Before that, a query scans the 2x2x2 cells nearest it in one go (four contiguous
runs of cell-ordered positions, no per-cell culling) and keeps the result when those cells provably hold the k
nearest (82 % of playbot's queries), else the stencil search goes on from those candidates, skipping the block's
cells. Duplicates cost O(k) per query (a KD-tree's tie repair was quadratic on
co-located points); geometries that would need far more work per query (crafted equidistant lattices) are refused
with LimitError, so the cost stays linear in the input. :func:`knn_reference` is the brute-force definition
the tests compare with; the grid is built with radix sorts in numba, :func:`_build_reference` is the numpy
definition of its arrays. The web player's decoder (web/src/decoder/neighbours.mjs) uses the same algorithm.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.cpython.unsafe.tuple import tuple_setitem

from splatcast.errors import LimitError

STENCIL_RADIUS = 3  # cells within Chebyshev distance 3 come from the stencil, farther ones from shells
MAX_CELLS_PER_POINT = 4  # grid cells allowed per reference point (memory: 8 bytes per cell)
# work bound: cells + positions examined, averaged over a block of queries; playbot's layers need 100-300 per query.
# Beyond it the input is refused (LimitError): equidistant lattices around crafted queries would be quadratic.
MAX_VISITS_PER_QUERY = 20_000
QUERY_BLOCK = 512  # queries per parallel task (each task owns its candidate buffers)
# fast path: the 2x2x2 cells nearest a query scanned as 4 contiguous runs (no per-cell culling), used when they hold
# at most this many distinct positions (bounded work) and provably the k nearest
MAX_BLOCK_POSITIONS = 512


def _stencil(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the cube [-R, R]^3 sorted by their distance lower bound in cell units, sum of max(0, |d| - 1)^2,
    and that bound clamped to R^2 (every offset outside the cube has a bound >= R^2, so stopping at an offset
    whose clamped bound exceeds the k-th distance skips nothing closer)."""
    r = np.arange(-radius, radius + 1)
    off = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)[:, ::-1]  # (dx, dy, dz), dz slowest
    bound = (np.maximum(np.abs(off) - 1, 0) ** 2).sum(axis=1)
    order = np.argsort(bound, kind="stable")
    return np.ascontiguousarray(off[order], np.int64), np.minimum(bound[order], radius * radius).astype(np.int64)


_OFFSETS, _BOUNDS = _stencil(STENCIL_RADIUS)


def _cell_size(points: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """(grid origin, cell edge, cells per axis) for distinct positions [U, 3] int64, sorted by (x, y, z).

    The grid spans the robust box of the points (0.5 % .. 99.5 % per axis): the border cells reach to infinity
    and hold the outliers, so a few far floaters (common in captured scenes) do not make the cells huge. Cell edge:
    about 4 points per cell for a volume, refined for surfaces while occupied cells hold > 3 points on average,
    never more than MAX_CELLS_PER_POINT cells per point. Same result as :func:`_cell_size_reference`, faster: the
    quantiles from two order statistics per axis (x sorted already, y and z by np.partition), occupied cells
    counted in a numba loop instead of np.unique."""
    m = len(points)
    lo = np.empty(3, np.int64)
    hi = np.empty(3, np.int64)
    for a in range(3):
        col = points[:, a]
        need = sorted({i for q in (0.005, 0.995) for i in _quantile_ranks(m, q)})
        if a > 0:  # x ascends already (points sorted by (x, y, z))
            col = np.partition(col, need)
        lo[a] = np.floor(_quantile_linear(col, m, 0.005))
        hi[a] = np.ceil(_quantile_linear(col, m, 0.995))
    cs, dims = _cell_edge(hi - lo + 1, m, lambda cs, dims: _occupied_cells(points, lo, np.int64(cs), dims,
                                                                            int(np.prod(dims))))
    return lo, cs, dims


def _cell_edge(ext: np.ndarray, m: int, occupied) -> tuple[int, np.ndarray]:
    """(cell edge, cells per axis) for m positions in a box of ``ext`` units per axis: ~4 points per cell for a
    volume, halved while ``occupied(cs, dims)`` cells hold > 3 points on average (surfaces), within the budget of
    MAX_CELLS_PER_POINT cells per point. Shared by :func:`_cell_size` and its reference, which count occupied cells
    their own ways."""
    budget = MAX_CELLS_PER_POINT * m + 64
    cs = max(1, int(np.ceil(np.cbrt(float(np.prod(ext.astype(np.float64))) * 4 / m))))
    dims = (ext - 1) // cs + 1
    while int(np.prod(dims)) > budget:
        cs *= 2
        dims = (ext - 1) // cs + 1
    for _ in range(12):
        if cs == 1 or m / occupied(cs, dims) <= 3:
            break
        finer = (cs + 1) // 2
        fdims = (ext - 1) // finer + 1
        if int(np.prod(fdims)) > budget:
            break
        cs, dims = finer, fdims
    return cs, dims


def _quantile_ranks(n: int, q: float) -> tuple[int, ...]:
    """The ranks (0-based, in ascending order) that np.quantile(..., q) with the default "linear" method reads."""
    vi = (n - 1) * q
    if vi >= n - 1:
        return (n - 1,)
    prev = int(np.floor(vi))
    return (prev, prev + 1)


def _quantile_linear(ranked: np.ndarray, n: int, q: float) -> float:
    """np.quantile(x, q) (method "linear") of integers x [n], from ``ranked``: x with the ranks of
    :func:`_quantile_ranks` in place (sorted, or np.partition'ed at them). The same floating-point operations as
    numpy's (virtual index (n - 1) q, gamma its fractional part, lerp from the nearer side), so bit-identical."""
    vi = (n - 1) * q
    if vi >= n - 1:
        return float(ranked[n - 1])
    prev = int(np.floor(vi))
    a, b = int(ranked[prev]), int(ranked[prev + 1])
    gamma = vi - prev
    d = float(b - a)
    if gamma >= 0.5:
        return float(b) - d * (1 - gamma)
    return float(a) + d * gamma


@njit(cache=True)
def _occupied_cells(points, lo, cs, dims, n_cells):
    """How many grid cells hold at least one of the positions (clamped into the grid, as NeighbourIndex._cells)."""
    seen = np.zeros(n_cells, np.bool_)
    count = 0
    for u in range(len(points)):
        c = _cell_of(points[u, 0], points[u, 1], points[u, 2], lo, cs, dims)
        if not seen[c]:
            seen[c] = True
            count += 1
    return count


@njit(cache=True, inline="always")
def _cell_of(x, y, z, lo, cs, dims):
    cx = min(max((x - lo[0]) // cs, 0), dims[0] - 1)
    cy = min(max((y - lo[1]) // cs, 0), dims[1] - 1)
    cz = min(max((z - lo[2]) // cs, 0), dims[2] - 1)
    return (cz * dims[1] + cy) * dims[0] + cx


def _cell_size_reference(points: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """The definition of :func:`_cell_size` (np.quantile, np.unique), for tests."""
    m = len(points)
    p = points.astype(np.int64)
    lo = np.floor(np.quantile(p, 0.005, axis=0)).astype(np.int64)
    hi = np.ceil(np.quantile(p, 0.995, axis=0)).astype(np.int64)
    rel = p - lo

    def occupied(cs, dims):
        c = np.clip(rel // cs, 0, dims - 1)
        return len(np.unique((c[:, 2] * dims[1] + c[:, 1]) * dims[0] + c[:, 0]))

    cs, dims = _cell_edge(hi - lo + 1, m, occupied)
    return lo, cs, dims


@njit(cache=True)
def _radix_sort(key, perm, bits):
    """Stable LSD radix sort of key [M] (int64, 0 <= key < 2^bits), perm [M] permuted alike; returns both, sorted
    (either the arguments or new arrays). Digits of at most 11 bits; a pass whose digit is constant is skipped."""
    m = len(key)
    if bits == 0:
        return key, perm
    passes = (bits + 10) // 11
    width = (bits + passes - 1) // passes
    mask = (np.int64(1) << width) - 1
    count = np.zeros((passes, (1 << width) + 1), np.int64)
    for i in range(m):
        k = key[i]
        for s in range(passes):
            count[s, ((k >> (s * width)) & mask) + 1] += 1
    key2 = np.empty(m, np.int64)
    perm2 = np.empty(m, np.int64)
    for s in range(passes):
        shift = s * width
        c = count[s]
        if c.max() == m:  # one digit value: this pass would not move anything
            continue
        for d in range(1, len(c)):
            c[d] += c[d - 1]
        for i in range(m):
            k = key[i]
            d = (k >> shift) & mask
            j = c[d]
            c[d] = j + 1
            key2[j] = k
            perm2[j] = perm[i]
        key, key2 = key2, key
        perm, perm2 = perm2, perm
    return key, perm


@njit(cache=True)
def _bit_length(v):
    bits = 0
    while (v >> bits) > 0:
        bits += 1
    return bits


@njit(cache=True)
def _sort_positions(points):
    """Rows [M] sorted by (x, y, z, row) (np.lexsort's order, by stable LSD radix sorts of the rows: on one packed
    key (x, y, z) when the three spans fit 63 bits, else z, then y, then x), the first sorted row of each distinct
    position and those positions [U, 3] int64."""
    m = len(points)
    mn = np.empty(3, np.int64)
    bits = np.empty(3, np.int64)
    for a in range(3):
        lo_a = np.int64(points[0, a])
        hi_a = lo_a
        for i in range(m):
            v = np.int64(points[i, a])
            lo_a = min(lo_a, v)
            hi_a = max(hi_a, v)
        mn[a] = lo_a
        bits[a] = _bit_length(hi_a - lo_a)
    perm = np.arange(m)
    key = np.empty(m, np.int64)
    if bits[0] + bits[1] + bits[2] <= 63:
        for i in range(m):
            key[i] = (((np.int64(points[i, 0]) - mn[0]) << bits[1] | (np.int64(points[i, 1]) - mn[1])) << bits[2]
                      | (np.int64(points[i, 2]) - mn[2]))
        key, perm = _radix_sort(key, perm, bits[0] + bits[1] + bits[2])
    else:
        for a in (2, 1, 0):
            for i in range(m):
                key[i] = np.int64(points[perm[i], a]) - mn[a]
            key, perm = _radix_sort(key, perm, bits[a])
    first = np.empty(m, np.int64)
    n_unique = 0
    for i in range(m):
        r = perm[i]
        if i == 0:
            first[n_unique] = 0
            n_unique += 1
        else:
            q = perm[i - 1]
            if points[r, 0] != points[q, 0] or points[r, 1] != points[q, 1] or points[r, 2] != points[q, 2]:
                first[n_unique] = i
                n_unique += 1
    run_start = first[:n_unique].copy()
    unique = np.empty((n_unique, 3), np.int64)
    for u in range(n_unique):
        r = perm[run_start[u]]
        for a in range(3):
            unique[u, a] = points[r, a]
    return perm, run_start, unique


@njit(cache=True)
def _cell_order(unique, run_start, by_pos, lo, cs, dims, n_cells):
    """Distinct positions [U, 3] (sorted by (x, y, z)) stably sorted by cell, so in (x, y, z) order inside a cell,
    their runs of rows (members[run_start:run_end], ascending), and each cell's first position: start."""
    n_unique = len(unique)
    m = len(by_pos)
    cell = np.empty(n_unique, np.int64)
    start = np.zeros(n_cells + 1, np.int64)
    for u in range(n_unique):
        c = _cell_of(unique[u, 0], unique[u, 1], unique[u, 2], lo, cs, dims)
        cell[u] = c
        start[c + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    # (a radix sort, 2 passes over ~M cells, beats one counting-sort scatter: fewer cache misses)
    _, order = _radix_sort(cell, np.arange(n_unique), _bit_length(np.int64(n_cells - 1)))
    out_unique = np.empty((n_unique, 3), np.int64)
    out_start = np.empty(n_unique, np.int64)
    out_end = np.empty(n_unique, np.int64)
    members = np.empty(m, np.int64)
    t = 0
    for v in range(n_unique):
        u = order[v]
        for a in range(3):
            out_unique[v, a] = unique[u, a]
        out_start[v] = t
        for r in range(run_start[u], run_start[u + 1] if u + 1 < n_unique else m):
            members[t] = by_pos[r]
            t += 1
        out_end[v] = t
    return out_unique, out_start, out_end, members, start


def _runs_gather(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """Concatenation of the ranges starts[i] .. starts[i] + lengths[i] (indices)."""
    offset = np.cumsum(lengths) - lengths
    return np.arange(total) - np.repeat(offset - starts, lengths)


def _build_reference(points: np.ndarray, cell_size: int | None = None) -> tuple:
    """The definition of NeighbourIndex's arrays (np.lexsort, np.argsort, np.unique), for tests: (unique,
    run_start, run_end, members, start, lo, cs, dims)."""
    p = np.ascontiguousarray(points, dtype=np.int32).astype(np.int64)
    m = len(p)
    by_pos = np.lexsort((np.arange(m), p[:, 2], p[:, 1], p[:, 0]))  # rows ascending inside each position
    sp = p[by_pos]
    first = np.ones(m, bool)
    first[1:] = (sp[1:] != sp[:-1]).any(axis=1)
    run_start = np.flatnonzero(first)
    unique = sp[run_start]  # [U, 3]
    run_end = np.append(run_start[1:], m)
    lo, cs, dims = _cell_size_reference(unique)
    if cell_size is not None:
        cs = int(cell_size)
        dims = (unique.max(axis=0) - lo) // cs + 1
    c = np.clip((unique - lo) // cs, 0, dims - 1)
    cell = (c[:, 2] * dims[1] + c[:, 1]) * dims[0] + c[:, 0]
    order = np.argsort(cell, kind="stable")
    length = (run_end - run_start)[order]
    cum_end = np.cumsum(length)
    members = by_pos[_runs_gather(run_start[order], length, m)].astype(np.int64)
    n_cells = int(np.prod(dims))
    start = np.zeros(n_cells + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=n_cells), out=start[1:])
    return np.ascontiguousarray(unique[order]), cum_end - length, cum_end, members, start, lo, cs, dims


class NeighbourIndex:
    """A grid over reference positions [M, 3] int32, queried with :meth:`query`.

    The grid holds each distinct position once, with the rows at it in ascending order: a run of co-located
    points is merged in O(k) (its rows tie, so the first rejected row ends the run), which keeps duplicates linear.
    """

    def __init__(self, points: np.ndarray, cell_size: int | None = None):
        self.points = np.ascontiguousarray(points, dtype=np.int32)  # [M, 3]
        m = len(self.points)
        if m == 0:
            return
        # distinct positions sorted by (x, y, z), the rows at each in ascending order (by_pos[run_start[u]:...])
        by_pos, run_start, unique = _sort_positions(self.points)
        self.lo, cs, self.dims = _cell_size(unique)
        if cell_size is not None:  # tests force other sizes
            cs = int(cell_size)
            self.dims = (unique.max(axis=0) - self.lo) // cs + 1
        self.cs = cs
        # distinct positions in cell order (stable: (x, y, z) order inside a cell), their rows members[run_start:
        # run_end] also in cell order: a search reads them next to their positions (in position order every
        # candidate's row was a cache miss); start[c]: the first position of cell c. As _build_reference.
        self.unique, self.run_start, self.run_end, self.members, self.start = _cell_order(
            unique, run_start, by_pos, self.lo, np.int64(cs), self.dims.astype(np.int64), int(np.prod(self.dims)))

    def _cells(self, pos: np.ndarray) -> np.ndarray:
        """Cell of each position, clamped into the grid (queries may lie outside the reference bounds)."""
        c = np.clip((pos.astype(np.int64) - self.lo) // self.cs, 0, self.dims - 1)
        return (c[:, 2] * self.dims[1] + c[:, 1]) * self.dims[0] + c[:, 0]

    def query(self, queries: np.ndarray, k: int, need: np.ndarray | None = None) -> np.ndarray:
        """[N, min(k, M)] int32 neighbour indices into the reference set, ordered by (d^2, index).

        ``need`` [N] (optional, each in 1..min(k, M)): query i wants only its first need[i] neighbours; the rest of
        its row is -1. The first j of the k nearest are the j nearest (the order is total), so this is the same
        prefix, found with less work (a decoder knows from each Gaussian's mode how many it reads)."""
        m = len(self.points)
        kk = min(k, m)
        n = len(queries)
        if kk == 0 or n == 0:
            return np.zeros((n, kk), np.int32)
        if need is None:
            need = np.empty(0, np.int64)
        else:
            need = np.ascontiguousarray(need, dtype=np.int64)
            if need.shape != (n,) or need.min() < 1 or need.max() > kk:
                raise ValueError(f"need: {n} counts in 1..{kk} expected")
        queries = np.ascontiguousarray(queries, dtype=np.int64)
        # neighbouring queries touch the same memory: visit them in cell order (a radix sort, stable like
        # np.argsort(self._cells(queries), kind="stable"), which the tests compare with)
        qcell, qorder = _query_order(queries, self.lo, np.int64(self.cs), self.dims.astype(np.int64))
        out = np.empty((n, kk), np.int32)
        over = np.zeros((n + QUERY_BLOCK - 1) // QUERY_BLOCK, np.bool_)
        _query_grid(self.unique, self.run_start, self.run_end, self.members, self.start, self.lo, np.int64(self.cs),
                    self.dims.astype(np.int64), queries, qcell, qorder, kk, need, _OFFSETS, _BOUNDS, out, over)
        if over.any():
            raise LimitError(
                f"neighbour search: more than {MAX_VISITS_PER_QUERY} cells and points per query (a crafted "
                "geometry; real scenes need a few hundred at most)"
            )
        return out


@njit(cache=True)
def _query_order(queries, lo, cs, dims):
    """Each query's cell (clamped into the grid, as NeighbourIndex._cells) and the queries stably sorted by it."""
    n = len(queries)
    qcell = np.empty(n, np.int64)
    for i in range(n):
        qcell[i] = _cell_of(queries[i, 0], queries[i, 1], queries[i, 2], lo, cs, dims)
    _, order = _radix_sort(qcell.copy(), np.arange(n), _bit_length(dims[0] * dims[1] * dims[2] - 1))
    return qcell, order


@njit(cache=True, inline="always")
def _scan_range(u0, u1, upos, rs, re, members, x, y, z, have, kk, bd, bi):
    """Merge the rows at distinct positions u0..u1 (a cell, or a grid row's cells: contiguous in cell order) into the
    sorted candidates bd/bi (have so far); returns the new count and the work done. A position's rows share one
    distance and come in ascending order: the first rejected ends them."""
    work = u1 - u0
    for u in range(u0, u1):
        dx = upos[u, 0] - x
        dy = upos[u, 1] - y
        dz = upos[u, 2] - z
        d2 = dx * dx + dy * dy + dz * dz
        if have == kk and d2 > bd[kk - 1]:
            continue
        for t in range(rs[u], re[u]):
            i = members[t]
            if have == kk and (d2 > bd[kk - 1] or (d2 == bd[kk - 1] and i > bi[kk - 1])):
                break
            if have < kk:
                j = have
                have += 1
            else:
                j = kk - 1
            while j > 0 and (bd[j - 1] > d2 or (bd[j - 1] == d2 and bi[j - 1] > i)):
                bd[j] = bd[j - 1]
                bi[j] = bi[j - 1]
                j -= 1
            bd[j] = d2
            bi[j] = i
            work += 1
    return have, work


@njit(cache=True, inline="always")
def _scan_cell(c, start, upos, rs, re, members, x, y, z, have, kk, bd, bi):
    """:func:`_scan_range` over the positions of cell c (work: one more for the cell)."""
    have, work = _scan_range(start[c], start[c + 1], upos, rs, re, members, x, y, z, have, kk, bd, bi)
    return have, work + 1


@njit(cache=True, inline="always")
def _box_ranges(lo3, hi3, nx, ny, start, ranges):
    """Distinct-position ranges [u0, u1) of the cells of the box lo3..hi3 (cell coordinates, inclusive): one per
    (y, z) row, since a row's cells are contiguous in cell order. Returns (rows, positions)."""
    n_rows = 0
    total = 0
    for zz in range(lo3[2], hi3[2] + 1):
        for yy in range(lo3[1], hi3[1] + 1):
            row = (zz * ny + yy) * nx
            u0, u1 = start[row + lo3[0]], start[row + hi3[0] + 1]
            if u1 > u0:
                ranges[n_rows, 0] = u0
                ranges[n_rows, 1] = u1
                n_rows += 1
                total += u1 - u0
    return n_rows, total


@njit(cache=True, inline="always")
def _box_complete(have, kk, bd, rel3, lo3, hi3, cs, dims):
    """Whether the k found inside the box of cells lo3..hi3 are provably the k nearest: every point outside lies
    beyond a side of the box (a side at the grid's border has nothing beyond it), farther than the k-th."""
    inner = True
    reach = np.int64(1) << 62
    for a in range(3):
        if lo3[a] > 0:
            inner = False
            reach = min(reach, rel3[a] - lo3[a] * cs + 1)
        if hi3[a] < dims[a] - 1:
            inner = False
            reach = min(reach, (hi3[a] + 1) * cs - rel3[a])
    if inner:
        return True  # the box covers the grid: every point was seen
    return have == kk and reach > 0 and bd[kk - 1] < reach * reach


@njit(cache=True, parallel=True)
def _query_grid(upos, rs, re, members, start, lo, cs, dims, queries, qcell, qorder, k_max, need, offsets, bounds,
                out, over_budget):
    nx, ny, nz = dims[0], dims[1], dims[2]
    span = max(nx, max(ny, nz))
    n = len(qorder)
    radius = STENCIL_RADIUS
    width = 2 * radius + 1
    n_blocks = (n + QUERY_BLOCK - 1) // QUERY_BLOCK
    for blk in prange(n_blocks):
        bd = np.empty(k_max, np.int64)
        bi = np.empty(k_max, np.int64)
        gap = np.empty((3, width), np.int64)
        ranges = np.empty((4, 2), np.int64)
        work = 0
        first, last = blk * QUERY_BLOCK, min(n, (blk + 1) * QUERY_BLOCK)
        for o in range(first, last):
            if work > MAX_VISITS_PER_QUERY * (last - first):
                over_budget[blk] = True
                break
            q = qorder[o]
            kk = k_max if len(need) == 0 else need[q]  # this query's neighbours (fewer: the same prefix, sooner)
            for j in range(kk, k_max):
                out[q, j] = -1
            x, y, z = queries[q, 0], queries[q, 1], queries[q, 2]
            cell = qcell[q]
            cx = cell % nx
            cy = (cell // nx) % ny
            cz = cell // (nx * ny)
            c3 = (cx, cy, cz)
            # fast path: brute force over the 2x2x2 cells nearest the query (its cell and the neighbour on the
            # query's side along each axis), kept when they provably hold the k nearest; else the stencil search
            rel3 = (x - lo[0], y - lo[1], z - lo[2])
            lo3 = (0, 0, 0)
            hi3 = (0, 0, 0)
            for a in range(3):
                if 2 * (rel3[a] - c3[a] * cs) < cs:
                    lo_a, hi_a = max(c3[a] - 1, 0), c3[a]
                else:
                    lo_a, hi_a = c3[a], min(c3[a] + 1, dims[a] - 1)
                lo3 = tuple_setitem(lo3, a, lo_a)
                hi3 = tuple_setitem(hi3, a, hi_a)
            n_rows, block_size = _box_ranges(lo3, hi3, nx, ny, start, ranges)
            have = 0
            scanned = block_size <= MAX_BLOCK_POSITIONS
            if scanned:
                for t in range(n_rows):
                    have, w = _scan_range(ranges[t, 0], ranges[t, 1], upos, rs, re, members, x, y, z, have, kk, bd,
                                          bi)
                    work += w
                if _box_complete(have, kk, bd, rel3, lo3, hi3, cs, dims):
                    for j in range(kk):
                        out[q, j] = bi[j]
                    continue
            for a in range(3):  # squared gap from the query to the cells at offsets -R..R along each axis
                rel = queries[q, a] - lo[a]
                for d in range(-radius, radius + 1):
                    cc = c3[a] + d
                    g = 0
                    if rel < cc * cs and cc > 0:  # (the first and last cells reach to infinity)
                        g = cc * cs - rel
                    elif rel > (cc + 1) * cs - 1 and cc < dims[a] - 1:
                        g = rel - ((cc + 1) * cs - 1)
                    gap[a, d + radius] = g * g
            # the stencil search goes on from the block's candidates, skipping its cells (merging is order-free)
            done = False
            for s in range(len(bounds)):
                if have == kk and bounds[s] * cs * cs > bd[kk - 1]:
                    done = True
                    break
                ox, oy, oz = offsets[s, 0], offsets[s, 1], offsets[s, 2]
                cxx, cyy, czz = cx + ox, cy + oy, cz + oz
                if cxx < 0 or cyy < 0 or czz < 0 or cxx >= nx or cyy >= ny or czz >= nz:
                    continue
                if scanned and lo3[0] <= cxx <= hi3[0] and lo3[1] <= cyy <= hi3[1] and lo3[2] <= czz <= hi3[2]:
                    continue
                if have == kk and gap[0, ox + radius] + gap[1, oy + radius] + gap[2, oz + radius] > bd[kk - 1]:
                    continue
                c = (czz * ny + cyy) * nx + cxx
                have, w = _scan_cell(c, start, upos, rs, re, members, x, y, z, have, kk, bd, bi)
                work += w
            r = radius
            while not done:  # shells of cells beyond the stencil's cube until provably complete
                if cx - r <= 0 and cy - r <= 0 and cz - r <= 0 and cx + r >= nx - 1 and cy + r >= ny - 1 \
                        and cz + r >= nz - 1:
                    break
                if r > span + 2:
                    break
                if have == kk:  # every unvisited point lies outside the cube [c - r, c + r] on some axis
                    reach = np.int64(1) << 31  # (a side that reaches the grid's border leaves nothing beyond)
                    for a in range(3):
                        rel = queries[q, a] - lo[a]
                        if c3[a] - r > 0:
                            reach = min(reach, rel - (c3[a] - r) * cs + 1)
                        if c3[a] + r < dims[a] - 1:
                            reach = min(reach, (c3[a] + r + 1) * cs - rel)
                    if reach > 0 and bd[kk - 1] < reach * reach:
                        break
                e = r + 1
                for zz in range(max(cz - e, 0), min(cz + e, nz - 1) + 1):
                    for yy in range(max(cy - e, 0), min(cy + e, ny - 1) + 1):
                        row = (zz * ny + yy) * nx
                        if zz == cz - e or zz == cz + e or yy == cy - e or yy == cy + e:
                            for xx in range(max(cx - e, 0), min(cx + e, nx - 1) + 1):
                                have, w = _scan_cell(row + xx, start, upos, rs, re, members, x, y, z, have, kk, bd, bi)
                                work += w
                        else:
                            if cx - e >= 0:
                                have, w = _scan_cell(row + cx - e, start, upos, rs, re, members, x, y, z, have, kk, bd,
                                                     bi)
                                work += w
                            if cx + e < nx:
                                have, w = _scan_cell(row + cx + e, start, upos, rs, re, members, x, y, z, have, kk, bd,
                                                     bi)
                                work += w
                r += 1
            for j in range(kk):
                out[q, j] = bi[j]


def knn(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """[N, min(k, M)] int32: the k nearest of ``points`` [M, 3] for each of ``queries`` [N, 3] (int32)."""
    return NeighbourIndex(points).query(queries, k)


def knn_reference(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Brute force: sort all points by (d^2, index) for each query. For tests on small inputs."""
    m = len(points)
    kk = min(k, m)
    out = np.zeros((len(queries), kk), np.int32)
    ids = np.arange(m)
    for i, q in enumerate(queries.astype(np.int64)):
        d2 = ((points.astype(np.int64) - q) ** 2).sum(axis=1)
        out[i] = np.lexsort((ids, d2))[:kk]
    return out
