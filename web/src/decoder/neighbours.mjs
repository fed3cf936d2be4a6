// Exact k-nearest neighbours on integer positions (docs/format.md 3.2): squared integer distance, ties by the
// lower row index, ordered (distance, index). The same algorithm as splatcast.codec.knn: a uniform grid over the
// robust box of the points (its border cells reach to infinity and hold the outliers), each distinct position
// stored once with its rows as a run in ascending order (co-located points cost O(k)); each query visits the
// cells around its own in ascending order of their smallest possible distance (a precomputed stencil), skips
// cells that cannot hold a closer or tying point and stops once none can; rare queries continue in shells of
// cells. Before that, a query scans the 2x2x2 cells nearest it in one go (four contiguous runs of cell-ordered
// positions, no per-cell culling) and keeps the result when those cells provably hold the k nearest. Queries run in
// cell order. A work bound refuses crafted geometries (LimitError, format.md 1.6).
import { LimitError } from "./errors.mjs";
import { Arena, usingReference } from "./kernels.mjs";

const STENCIL_RADIUS = 3; // cells within Chebyshev distance 3 come from the stencil, farther ones from shells
const MAX_CELLS_PER_POINT = 4;
// fast path: the 2x2x2 cells nearest a query scanned as 4 contiguous runs (no per-cell culling), used when they hold
// at most this many distinct positions (bounded work) and provably the k nearest
const MAX_BLOCK_POSITIONS = 512;
const QUERY_BLOCK = 512;
export const MAX_VISITS_PER_QUERY = 20000; // cells + positions examined, averaged over a block of queries

/**
 * Offsets (dx, dy, dz) of the cube [-R, R]^3 sorted by their distance lower bound in cell units, sum of
 * max(0, |d| - 1)^2 over the axes. `bound` is that bound clamped to R^2: every offset outside the cube has a bound
 * >= R^2, so stopping at an offset whose clamped bound exceeds the k-th distance skips nothing closer.
 */
function buildStencil(radius) {
  const rows = [];
  for (let dz = -radius; dz <= radius; dz++) {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const g = (d) => Math.max(0, Math.abs(d) - 1);
        rows.push([g(dx) ** 2 + g(dy) ** 2 + g(dz) ** 2, dx, dy, dz]);
      }
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  return { bound: Int32Array.from(rows, (r) => Math.min(r[0], radius * radius)), off: Int32Array.from(rows.flatMap((r) => [r[1], r[2], r[3]])) };
}
const STENCIL = buildStencil(STENCIL_RADIUS);

/**
 * numpy-style linear-interpolated quantiles of int32 values (any order), without sorting them all: a histogram of
 * at most 2^16 equal bins over [min, max] finds the bin of each rank needed, and only that bin's values are sorted
 * (O(n) passes; a crafted input that piles every value into one bin costs one engine sort, never more).
 */
export function quantiles(values, qs) {
  const n = values.length;
  let min = values[0], max = values[0];
  for (let i = 1; i < n; i++) { const v = values[i]; if (v < min) min = v; else if (v > max) max = v; }
  let shift = 0;
  while ((max - min) / 2 ** shift >= 65536) shift++;
  const hist = new Int32Array(((max - min) >>> shift) + 2); // hist[b + 1]: values in bin b; then prefix sums
  for (let i = 0; i < n; i++) hist[((values[i] - min) >>> shift) + 1]++;
  for (let b = 1; b < hist.length; b++) hist[b] += hist[b - 1];
  const sortedBins = new Map(); // bin -> its values, sorted
  const rank = (r) => {
    let lo = 0, hi = hist.length - 2; // the bin b with hist[b] <= r < hist[b + 1]
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (hist[mid] <= r) lo = mid; else hi = mid - 1; }
    if (!sortedBins.has(lo)) {
      const vals = new Int32Array(hist[lo + 1] - hist[lo]);
      let t = 0;
      for (let i = 0; i < n; i++) if ((values[i] - min) >>> shift === lo) vals[t++] = values[i];
      sortedBins.set(lo, vals.sort());
    }
    return sortedBins.get(lo)[r - hist[lo]];
  };
  return qs.map((q) => {
    const pos = q * (n - 1), i = Math.floor(pos), j = Math.min(i + 1, n - 1);
    const vi = rank(i), vj = rank(j);
    return vi + (vj - vi) * (pos - i);
  });
}

/** Indices 0..n-1 in ascending order of keys (non-negative int32), ties in index order: an LSD radix sort on
 * 16-bit digits (one pass when every key is below 2^16). */
export function stableOrder(keys) {
  const n = keys.length;
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let maxKey = 0;
  for (let i = 0; i < n; i++) if (keys[i] > maxKey) maxKey = keys[i];
  const count = new Int32Array(65537);
  for (let shift = 0; shift === 0 || (shift < 32 && maxKey >>> shift); shift += 16) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((keys[i] >>> shift) & 0xffff) + 1]++;
    for (let d = 0; d < 65536; d++) count[d + 1] += count[d];
    const next = new Int32Array(n);
    for (let o = 0; o < n; o++) { const i = order[o]; next[count[(keys[i] >>> shift) & 0xffff]++] = i; }
    order = next;
  }
  return order;
}

/** Rows idx[a..b) in place by (x, y, z, row): insertion sort for short runs, else the engine's sort. */
function sortByPosition(idx, a, b, p) {
  const less = (i, j) => p[3 * i] - p[3 * j] || p[3 * i + 1] - p[3 * j + 1] || p[3 * i + 2] - p[3 * j + 2] || i - j;
  if (b - a <= 16) {
    for (let t = a + 1; t < b; t++) {
      const v = idx[t];
      let u = t;
      while (u > a && less(idx[u - 1], v) > 0) { idx[u] = idx[u - 1]; u--; }
      idx[u] = v;
    }
  } else {
    idx.subarray(a, b).sort(less);
  }
}

/**
 * Merge the rows at distinct positions u0..u1 (a cell, or a grid row's cells: contiguous in cell order) into the
 * sorted candidates bd/bi (have so far); returns the new count and adds the work done (positions examined and rows
 * merged) to work[0]. A position's rows share one distance and come in ascending order: the first rejected ends them.
 */
function scanRange(u0, u1, uPos, runStart, runEnd, members, x, y, z, have, kk, bd, bi, work) {
  let w = u1 - u0;
  // the k-th candidate (distance, row) in locals: the loop only stores to bd / bi when a row gets in
  let full = have === kk, worst = full ? bd[kk - 1] : Infinity, worstI = full ? bi[kk - 1] : 0;
  for (let u = u0; u < u1; u++) {
    const dx = uPos[3 * u] - x, dy = uPos[3 * u + 1] - y, dz = uPos[3 * u + 2] - z;
    const d2 = dx * dx + dy * dy + dz * dz;
    if (d2 > worst) continue;
    for (let t = runStart[u], te = runEnd[u]; t < te; t++) {
      const i = members[t];
      if (full && (d2 > worst || (d2 === worst && i > worstI))) break;
      let j = have < kk ? have++ : kk - 1;
      while (j > 0 && (bd[j - 1] > d2 || (bd[j - 1] === d2 && bi[j - 1] > i))) { bd[j] = bd[j - 1]; bi[j] = bi[j - 1]; j--; }
      bd[j] = d2; bi[j] = i;
      w++;
      if (have === kk) { full = true; worst = bd[kk - 1]; worstI = bi[kk - 1]; }
    }
  }
  work[0] += w;
  return have;
}

/** The query's side of the 2x2x2 block along one axis into lo3[a], hi3[a]; returns the distance from the query to
 * the block's nearest side with cells beyond it on this axis (Infinity: none). */
function blockAxis(r, c, nAxis, cs, a, lo3, hi3) {
  let la, ha;
  if (2 * (r - c * cs) < cs) { la = c > 0 ? c - 1 : 0; ha = c; } else { la = c; ha = c + 1 < nAxis ? c + 1 : nAxis - 1; }
  lo3[a] = la; hi3[a] = ha;
  let reach = Infinity;
  if (la > 0) reach = r - la * cs + 1;
  if (ha < nAxis - 1) reach = Math.min(reach, (ha + 1) * cs - r);
  return reach;
}

/** scanRange over the positions of cell c (work: one more for the cell). */
function scanCell(c, start, uPos, runStart, runEnd, members, x, y, z, have, kk, bd, bi, work) {
  work[0] += 1;
  return scanRange(start[c], start[c + 1], uPos, runStart, runEnd, members, x, y, z, have, kk, bd, bi, work);
}

export class NeighbourIndex {
  /**
   * @param {Int32Array} points [M*3] integer positions, row-major
   * @param {number} [cellSize] grid cell edge (default: chosen from the points; tests force others)
   */
  constructor(points, cellSize) {
    const m = points.length / 3;
    this.points = points;
    this.m = m;
    if (m === 0) return;
    // the robust box (0.5 % .. 99.5 % per axis): far floaters land in the border cells instead of widening all
    const lo = [0, 0, 0], hi = [0, 0, 0];
    const axis = new Int32Array(m);
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < m; i++) axis[i] = points[3 * i + a];
      const [ql, qh] = quantiles(axis, [0.005, 0.995]);
      lo[a] = Math.floor(ql);
      hi[a] = Math.ceil(qh);
    }
    const ext = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    const budget = MAX_CELLS_PER_POINT * m + 64;
    let cs = Math.max(1, Math.ceil(Math.cbrt((ext[0] * ext[1] * ext[2] * 4) / m)));
    const dimsFor = (size) => [Math.floor((ext[0] - 1) / size) + 1, Math.floor((ext[1] - 1) / size) + 1, Math.floor((ext[2] - 1) / size) + 1];
    let d = dimsFor(cs);
    while (d[0] * d[1] * d[2] > budget) { cs *= 2; d = dimsFor(cs); }
    this.lo = lo;
    // surfaces fill few cells of their box: refine while occupied cells hold > 3 points on average
    for (let tries = 0; tries < 12 && cs > 1; tries++) {
      this.cs = cs; this.dims = d;
      if (m / this.occupiedCells(points) <= 3) break;
      const finer = Math.ceil(cs / 2), fd = dimsFor(finer);
      if (fd[0] * fd[1] * fd[2] > budget) break;
      cs = finer; d = fd;
    }
    if (cellSize) { cs = cellSize; d = dimsFor(cs); }
    this.cs = cs; this.dims = d;
    const nc = d[0] * d[1] * d[2];
    const cellOf = this.cellsOf(points);
    const cellStart = new Int32Array(nc + 1);
    for (let i = 0; i < m; i++) cellStart[cellOf[i] + 1]++;
    for (let c = 0; c < nc; c++) cellStart[c + 1] += cellStart[c];
    const fill = cellStart.slice(0, nc);
    const members = new Int32Array(m); // rows by cell, then by position, then ascending
    for (let i = 0; i < m; i++) members[fill[cellOf[i]]++] = i;
    // distinct positions of each cell, with their rows as runs of `members`
    const start = new Int32Array(nc + 1), uPos = new Int32Array(3 * m), runStart = new Int32Array(m), runEnd = new Int32Array(m);
    let u = 0;
    for (let c = 0; c < nc; c++) {
      const a = cellStart[c], b = cellStart[c + 1];
      start[c] = u;
      if (b - a > 1) sortByPosition(members, a, b, points);
      for (let t = a; t < b; t++) {
        const i = members[t], h = members[t - 1];
        if (t === a || points[3 * i] !== points[3 * h] || points[3 * i + 1] !== points[3 * h + 1] || points[3 * i + 2] !== points[3 * h + 2]) {
          if (t > a) runEnd[u - 1] = t;
          runStart[u] = t;
          uPos[3 * u] = points[3 * i]; uPos[3 * u + 1] = points[3 * i + 1]; uPos[3 * u + 2] = points[3 * i + 2];
          u++;
        }
      }
      if (b > a) runEnd[u - 1] = b;
    }
    start[nc] = u;
    this.start = start; this.members = members;
    this.uPos = uPos.subarray(0, 3 * u); this.runStart = runStart.subarray(0, u); this.runEnd = runEnd.subarray(0, u);
  }

  /** How many distinct cells hold the positions. */
  occupiedCells(pos) {
    const cells = this.cellsOf(pos), seen = new Uint8Array(this.dims[0] * this.dims[1] * this.dims[2]);
    let n = 0;
    for (let i = 0; i < cells.length; i++) if (!seen[cells[i]]) { seen[cells[i]] = 1; n++; }
    return n;
  }

  /** Cell of each position, clamped into the grid (outliers and outside queries go to the border cells). */
  cellsOf(pos) {
    const n = pos.length / 3, { lo, cs, dims } = this;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const cx = Math.min(dims[0] - 1, Math.max(0, Math.floor((pos[3 * i] - lo[0]) / cs)));
      const cy = Math.min(dims[1] - 1, Math.max(0, Math.floor((pos[3 * i + 1] - lo[1]) / cs)));
      const cz = Math.min(dims[2] - 1, Math.max(0, Math.floor((pos[3 * i + 2] - lo[2]) / cs)));
      out[i] = (cz * dims[1] + cy) * dims[0] + cx;
    }
    return out;
  }

  /**
   * Neighbours of each query: Int32Array [N * k'] with k' = min(k, M), rows ordered (d^2, index). `need` [N]: query
   * i finds only its need[i] nearest (1..k'; the same prefix of its k' nearest), -1 after them (format.md 3.2: a
   * mode reads no more). The query loop runs in WebAssembly (web/src/kernels/neighbours.ts, the same steps);
   * `reference`: in JavaScript, the definition the kernel is tested against.
   * @param {Int32Array} queries [N*3] @param {number} k
   * @param {{reference?: boolean, need?: Int32Array|null}} [options]
   */
  query(queries, k, { reference = usingReference(), need = null } = {}) {
    const n = queries.length / 3, kk = Math.min(k, this.m);
    if (need !== null) {
      if (need.length !== n) throw new RangeError(`need: ${need.length} counts for ${n} queries`);
      for (let q = 0; q < n; q++) if (!(need[q] >= 1 && need[q] <= kk)) throw new RangeError(`need[${q}] = ${need[q]}: outside 1..${kk}`);
    }
    if (kk === 0 || n === 0) return new Int32Array(n * kk);
    const { lo, cs, dims } = this;
    const [nx, ny, nz] = dims;
    const bd = new Float64Array(kk), bi = new Int32Array(kk);
    const span = Math.max(nx, ny, nz);
    const cs2 = cs * cs;
    const { bound, off } = STENCIL;
    const nStencil = bound.length;
    // queries in cell order (ties in query order), so consecutive queries share cells
    const qCell = this.cellsOf(queries);
    const qOrder = stableOrder(qCell);
    if (!reference) return this.queryWasm(queries, kk, qCell, qOrder, need);
    const out = new Int32Array(n * kk);
    if (need !== null) out.fill(-1);
    const R = STENCIL_RADIUS, W = 2 * R + 1;
    const gap = new Float64Array(3 * W); // squared gap from the query to the cells at offsets -R..R, per axis
    const axisGaps = (rel, c, at, nAxis) => {
      for (let dd = -R; dd <= R; dd++) {
        const cc = c + dd; // (the first and last cells reach to infinity)
        const g = rel < cc * cs && cc > 0 ? cc * cs - rel : rel > (cc + 1) * cs - 1 && cc < nAxis - 1 ? rel - ((cc + 1) * cs - 1) : 0;
        gap[at + dd + R] = g * g;
      }
    };
    const work = new Float64Array(1);
    const { start, uPos, runStart, runEnd, members } = this;
    const lo3 = new Int32Array(3), hi3 = new Int32Array(3), ranges = new Int32Array(8);
    let blockStart = 0; // work at the start of this block of queries
    for (let o = 0; o < n; o++) {
      if (o % QUERY_BLOCK === 0) blockStart = work[0];
      else if (work[0] - blockStart > MAX_VISITS_PER_QUERY * QUERY_BLOCK) {
        throw new LimitError(`neighbour search: more than ${MAX_VISITS_PER_QUERY} cells and points per query (a crafted geometry; real scenes need a few hundred at most)`);
      }
      const q = qOrder[o];
      const kq = need ? need[q] : kk; // this query's neighbours (fewer: the same prefix of the k nearest, sooner)
      const x = queries[3 * q], y = queries[3 * q + 1], z = queries[3 * q + 2];
      const rx = x - lo[0], ry = y - lo[1], rz = z - lo[2];
      const cell = qCell[q];
      const cx = cell % nx, cy = Math.floor(cell / nx) % ny, cz = Math.floor(cell / (nx * ny));
      // fast path: brute force over the 2x2x2 cells nearest the query (its cell and the neighbour on the query's
      // side along each axis), kept when they provably hold the k nearest; else the stencil search
      // every point outside the box lies beyond one of its sides (a side at the grid's border has nothing beyond):
      // reach = the smallest distance to a side with cells beyond it (Infinity: the box covers the grid)
      let reach = blockAxis(rx, cx, nx, cs, 0, lo3, hi3);
      reach = Math.min(reach, blockAxis(ry, cy, ny, cs, 1, lo3, hi3));
      reach = Math.min(reach, blockAxis(rz, cz, nz, cs, 2, lo3, hi3));
      const inner = reach === Infinity;
      let blockSize = 0, nRows = 0;
      for (let Z = lo3[2]; Z <= hi3[2]; Z++) {
        for (let Y = lo3[1]; Y <= hi3[1]; Y++) { // a grid row's cells are contiguous in cell order
          const row = (Z * ny + Y) * nx, u0 = start[row + lo3[0]], u1 = start[row + hi3[0] + 1];
          if (u1 > u0) { ranges[2 * nRows] = u0; ranges[2 * nRows + 1] = u1; nRows++; blockSize += u1 - u0; }
        }
      }
      let have = 0;
      const scanned = blockSize <= MAX_BLOCK_POSITIONS;
      if (scanned) {
        for (let t = 0; t < nRows; t++) have = scanRange(ranges[2 * t], ranges[2 * t + 1], uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi, work);
        if (inner || (have === kq && reach > 0 && bd[kq - 1] < reach * reach)) { out.set(kq === kk ? bi : bi.subarray(0, kq), q * kk); continue; }
      }
      axisGaps(rx, cx, 0, nx); axisGaps(ry, cy, W, ny); axisGaps(rz, cz, 2 * W, nz);
      // the stencil search goes on from the block's candidates, skipping its cells (merging is order-free)
      let done = false;
      for (let s = 0; s < nStencil; s++) {
        // the lower bound of this and every later offset exceeds the k-th distance: nothing closer or tying is left
        if (have === kq && bound[s] * cs2 > bd[kq - 1]) { done = true; break; }
        const ox = off[3 * s], oy = off[3 * s + 1], oz = off[3 * s + 2];
        const X = cx + ox, Y = cy + oy, Z = cz + oz;
        if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
        if (scanned && X >= lo3[0] && X <= hi3[0] && Y >= lo3[1] && Y <= hi3[1] && Z >= lo3[2] && Z <= hi3[2]) continue;
        if (have === kq && gap[ox + R] + gap[W + oy + R] + gap[2 * W + oz + R] > bd[kq - 1]) continue;
        have = scanCell((Z * ny + Y) * nx + X, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi, work);
      }
      // rare (sparse or outlying queries): shells of cells beyond the stencil's cube until provably complete
      for (let r = R; !done; r++) {
        if (cx - r <= 0 && cy - r <= 0 && cz - r <= 0 && cx + r >= nx - 1 && cy + r >= ny - 1 && cz + r >= nz - 1) break;
        if (r > span + 2) break;
        if (have === kq) { // every unvisited point lies outside the cube [c - r, c + r] on a side short of the border
          let reach = 2 ** 31;
          const side = (rel, c, nAxis) => {
            if (c - r > 0) reach = Math.min(reach, rel - (c - r) * cs + 1);
            if (c + r < nAxis - 1) reach = Math.min(reach, (c + r + 1) * cs - rel);
          };
          side(rx, cx, nx); side(ry, cy, ny); side(rz, cz, nz);
          if (reach > 0 && bd[kq - 1] < reach * reach) break;
        }
        const e = r + 1; // the shell of cells at Chebyshev distance e
        for (let Z = Math.max(cz - e, 0); Z <= Math.min(cz + e, nz - 1); Z++) {
          for (let Y = Math.max(cy - e, 0); Y <= Math.min(cy + e, ny - 1); Y++) {
            const row = (Z * ny + Y) * nx;
            if (Z === cz - e || Z === cz + e || Y === cy - e || Y === cy + e) {
              for (let X = Math.max(cx - e, 0); X <= Math.min(cx + e, nx - 1); X++) have = scanCell(row + X, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi, work);
            } else {
              if (cx - e >= 0) have = scanCell(row + cx - e, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi, work);
              if (cx + e < nx) have = scanCell(row + cx + e, start, uPos, runStart, runEnd, members, x, y, z, have, kq, bd, bi, work);
            }
          }
        }
      }
      out.set(kq === kk ? bi : bi.subarray(0, kq), q * kk);
    }
    return out;
  }

  /** The query loop in the kernel: the index, the stencil and the queries copied into its memory. */
  queryWasm(queries, kk, qCell, qOrder, need) {
    const n = qOrder.length, R = STENCIL_RADIUS;
    const { start, uPos, runStart, runEnd, members, lo, cs, dims } = this;
    const arena = new Arena();
    // (the index: the same for every chunk of the next layer)
    const [startAt, uPosAt, rsAt, reAt, memAt, boundAt, offAt] = arena.keep([start, uPos, runStart, runEnd, members, STENCIL.bound, STENCIL.off]);
    const arrays = [queries, qCell, qOrder];
    if (need !== null) arrays.push(need);
    const at = arrays.map((a) => arena.alloc(4 * a.length));
    const bdAt = arena.alloc(8 * kk), biAt = arena.alloc(4 * kk), gapAt = arena.alloc(8 * 3 * (2 * R + 1));
    const outAt = arena.alloc(4 * n * kk);
    const kernels = arena.ready();
    arrays.forEach((a, t) => arena.i32.set(a, at[t] >> 2));
    const [qAt, cellAt, orderAt, needAt = 0] = at;
    const rc = kernels.knnQuery(n, kk, qAt, cellAt, orderAt, startAt, uPosAt, rsAt, reAt, memAt, lo[0], lo[1], lo[2],
      cs, dims[0], dims[1], dims[2], boundAt, offAt, STENCIL.bound.length, R, MAX_VISITS_PER_QUERY, bdAt, biAt, gapAt,
      MAX_BLOCK_POSITIONS, needAt, outAt);
    if (rc !== 0) throw new LimitError(`neighbour search: more than ${MAX_VISITS_PER_QUERY} cells and points per query (a crafted geometry; real scenes need a few hundred at most)`);
    return arena.i32.slice(outAt >> 2, (outAt >> 2) + n * kk);
  }
}
