"""The grid neighbour search (splatcast.codec.knn) against brute force on the geometries that break grid and tree
searches, and its cost on co-located points (issue 12: a KD-tree's tie repair made ~500-byte streams of 10k
Gaussians at one position take 109 s to decode)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.codec import EncoderConfig, decode, encode
from splatcast.codec.knn import NeighbourIndex, _build_reference, _quantile_linear, knn_reference


def _scene(kind: str, rng, m: int, extent: int) -> np.ndarray:
    if kind == "volume":
        p = rng.integers(0, extent, (m, 3))
    elif kind == "plane":
        p = rng.integers(0, extent, (m, 3))
        p[:, 2] = 7
    elif kind == "co-located":  # 70 % of the points on one position
        p = np.where(rng.random((m, 1)) < 0.7, 5, rng.integers(0, extent, (m, 3)))
    elif kind == "shell":
        v = rng.normal(size=(m, 3))
        p = extent / 2 + extent / 2.2 * v / np.linalg.norm(v, axis=1, keepdims=True)
    else:  # a 3x3x3 lattice: almost every distance ties
        p = rng.integers(0, 3, (m, 3))
    return np.round(p).astype(np.int32)


@pytest.mark.parametrize("kind", ["volume", "plane", "co-located", "shell", "lattice"])
@pytest.mark.parametrize("extent", [50, 4096, (1 << 21) - 1])
def test_grid_search_equals_brute_force(kind, extent):
    rng = np.random.default_rng(hash((kind, extent)) % 2**32)
    for m in (1, 9, 300):
        pts = _scene(kind, rng, m, extent)
        near = pts[rng.integers(0, m, 40)] + rng.integers(-extent // 20 - 1, extent // 20 + 2, (40, 3))
        far = rng.integers(-extent, 2 * extent + 1, (10, 3))  # outside the reference bounds
        qs = np.concatenate([near, far]).astype(np.int32)
        for k in (1, 8, 17, 64):
            want = knn_reference(pts, qs, k)
            index = NeighbourIndex(pts)
            assert np.array_equal(index.query(qs, k), want), (m, k)
            # a decoder asks each query for only the neighbours its mode reads: that prefix, -1 after it
            need = rng.integers(1, want.shape[1] + 1, len(qs))
            prefix = np.where(np.arange(want.shape[1])[None, :] < need[:, None], want, -1)
            assert np.array_equal(index.query(qs, k, need), prefix), (m, k)


def test_query_order_is_a_stable_sort_of_the_clamped_cells():
    from splatcast.codec.knn import _query_order

    rng = np.random.default_rng(3)
    pts = _scene("volume", rng, 2000, 4096)
    qs = np.concatenate([rng.integers(-9000, 9000, (500, 3)), pts[:300]]).astype(np.int64)  # in and far outside
    index = NeighbourIndex(pts)
    cells, order = _query_order(qs, index.lo, np.int64(index.cs), index.dims.astype(np.int64))
    want = index._cells(qs)
    assert np.array_equal(cells, want) and np.array_equal(order, np.argsort(want, kind="stable"))


def test_need_outside_one_to_k_is_refused():
    index = NeighbourIndex(np.zeros((5, 3), np.int32))
    qs = np.zeros((2, 3), np.int32)
    for bad in ([0, 1], [1, 6], [1]):
        with pytest.raises(ValueError, match="need"):
            index.query(qs, 8, np.array(bad))


def test_every_cell_size_gives_the_same_neighbours():
    rng = np.random.default_rng(7)
    pts = _scene("shell", rng, 800, 60)
    qs = rng.integers(-10, 70, (150, 3)).astype(np.int32)
    want = knn_reference(pts, qs, 8)
    for cs in (1, 2, 3, 7, 20, 100):
        assert np.array_equal(NeighbourIndex(pts, cell_size=cs).query(qs, 8), want), cs


_BUILT = ("unique", "run_start", "run_end", "members", "start", "lo", "cs", "dims")


def _assert_built_as_reference(pts, cell_size=None):
    got = NeighbourIndex(pts, cell_size=cell_size)
    for name, want in zip(_BUILT, _build_reference(pts, cell_size)):
        have = getattr(got, name)
        if isinstance(want, np.ndarray):
            assert have.dtype == want.dtype and have.shape == want.shape, (name, have.dtype, want.dtype)
            assert np.array_equal(have, want), (name, len(pts), cell_size)
        else:
            assert type(have) is type(want) and have == want, (name, have, want)


@pytest.mark.parametrize("kind", ["volume", "plane", "co-located", "shell", "lattice"])
@pytest.mark.parametrize("extent", [50, 4096, (1 << 21) - 1])
def test_fast_build_equals_reference(kind, extent):
    """The radix-sorted build (numba) gives NeighbourIndex exactly the arrays of the lexsort/argsort definition."""
    rng = np.random.default_rng(hash((kind, extent, "build")) % 2**32)
    for m in (1, 2, 9, 300, 5000):
        pts = _scene(kind, rng, m, extent)
        _assert_built_as_reference(pts)
        floaters = rng.integers(-(1 << 21), 1 << 22, (max(1, m // 50), 3))  # far outliers: border cells
        _assert_built_as_reference(np.concatenate([pts, floaters]).astype(np.int32))
        _assert_built_as_reference(pts[rng.permutation(m)])  # input order only moves the rows
        if extent <= 4096:
            for cs in (1, 3, 17):
                _assert_built_as_reference(pts, cell_size=cs if extent <= 50 else cs * 64)


def test_fast_build_equals_reference_on_any_int32():
    """Spans too wide for one packed 63-bit key (the per-axis radix path), negative coordinates, duplicates."""
    rng = np.random.default_rng(11)
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    for m in (1, 3, 40, 2000):
        pts = rng.integers(lo, hi, (m, 3), endpoint=True).astype(np.int32)
        _assert_built_as_reference(pts)
        _assert_built_as_reference(np.concatenate([pts, pts[: m // 2 + 1], [[lo] * 3, [hi] * 3]]).astype(np.int32))
        pts[:, 1] = rng.integers(-3, 3, m)  # one wide axis and one narrow
        _assert_built_as_reference(pts)


def test_quantile_from_order_statistics_is_numpys():
    """_cell_size's quantile (two order statistics, numpy's float operations) equals np.quantile bit for bit."""
    rng = np.random.default_rng(5)
    sizes = list(range(1, 400)) + list(rng.integers(400, 300_000, 40))
    for n in sizes:
        x = rng.integers(-(1 << 31), 1 << 31, n) if n % 3 else rng.integers(0, 50, n)
        s = np.sort(x)
        for q in (0.005, 0.995):
            assert _quantile_linear(s, n, q) == float(np.quantile(x, q)), (n, q)


def test_co_located_points_cost_linear_time():
    times = {}
    for n in (20_000, 200_000):
        pts = np.zeros((n, 3), np.int32)
        t0 = time.perf_counter()
        nbr = NeighbourIndex(pts).query(pts, 8)
        times[n] = time.perf_counter() - t0
        assert (nbr == np.arange(8)).all()  # all tie at distance 0: the lowest rows, in order
    assert times[200_000] < 3.0, times  # was quadratic: minutes at this size


def test_stream_of_co_located_gaussians_decodes_quickly():
    layers = synthetic_layers(n0=10_000, n_layers=2, sh_degree=0, seed=3)
    for cloud in layers:
        cloud.means[:] = cloud.means[0]  # every Gaussian of both layers at one position
    data = encode(layers, EncoderConfig(entropy="rans", vq="off", partial="replace"))
    t0 = time.perf_counter()
    out = decode(data)
    assert len(out) == len(layers[1])
    assert time.perf_counter() - t0 < 5.0


def test_floaters_far_from_the_scene_keep_the_grid_fine():
    """A dense object plus two far outliers (captures have floaters): exact, and fast (the box is not the grid)."""
    rng = np.random.default_rng(2)
    pts = np.concatenate([rng.integers(0, 60, (60_000, 3)), [[(1 << 21) - 1] * 3, [0, (1 << 21) - 1, 5]]])
    pts = pts.astype(np.int32)
    t0 = time.perf_counter()
    nbr = NeighbourIndex(pts).query(pts, 8)
    assert time.perf_counter() - t0 < 3.0  # was quadratic: one huge cell held the whole object
    sample = np.concatenate([rng.integers(0, len(pts), 200), [len(pts) - 2, len(pts) - 1]])
    assert np.array_equal(nbr[sample], knn_reference(pts, pts[sample], 8))


def test_equidistant_crafted_geometry_is_refused_not_slow():
    """Queries at the centre of a sphere of lattice points: every point ties, so an exact search must look at all of
    them; the work bound turns that into a LimitError instead of minutes."""
    from splatcast.errors import LimitError

    n2 = 21 * 5**8
    r = int(np.sqrt(n2)) + 1
    rows = []
    for x in range(-r, r + 1):
        y = np.arange(-r, r + 1)
        z2 = n2 - x * x - y * y
        z = np.round(np.sqrt(np.maximum(z2, 0))).astype(np.int64)
        ok = (z2 >= 0) & (z * z == z2)
        rows += [np.stack([np.full(ok.sum(), x), y[ok], s * z[ok]], 1) for s in (1, -1)]
    sphere = (np.unique(np.concatenate(rows), axis=0) + (1 << 20)).astype(np.int32)
    assert len(sphere) > 20_000
    queries = np.full((8192, 3), 1 << 20, np.int32)
    t0 = time.perf_counter()
    with pytest.raises(LimitError):
        NeighbourIndex(sphere).query(queries, 8)
    assert time.perf_counter() - t0 < 5.0
