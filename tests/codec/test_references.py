"""Every fast path of codec/ against a slow reference written from docs/format.md and the paper
(tests/codec/spec_reference.py, plain Python / numpy loops that import nothing from splatcast.codec): the
position grid and feature quantizers, the bilateral and mode predictors, mode choice, VQ assignment, codebook
training and the VQ rate choice. Data: the built-in lab-bench scene as a realistic two-layer pyramid, playbot's
5_0 -> 4_0 levels when ../shared/data/scenes is there, and hand-made cases for the ties each rule breaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spec_reference as spec

from splatcast.codec.predict import (
    N_COST_COLS,
    bilateral_predict,
    choose_modes,
    empirical_entropy_bits,
    empirical_entropy_bits_reference,
    predict_with_modes,
)
from splatcast.codec.quantize import (
    FEATURE_LIMIT,
    Grid,
    dequantize,
    quantize_features,
    steps_for_quality,
)
from splatcast.codec.vq import TRAIN_SAMPLES, assign, choose_codebook, rate_bits, train_codebook
from splatcast.scene.cloud import GaussianCloud
from tests.fixtures.synthetic import bench_layers

SCENES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scenes"
PLAYBOT = SCENES / "playbot-lod"
K = 8
STEPS = np.array([0.12, 0.32, 0.16, 1 / 32, 0.16], np.float32)  # the spec's defaults (quality 8)


def _pyramid(low: GaussianCloud, top: GaussianCloud, n_queries: int | None = None) -> dict:
    """Both layers quantized by the spec on a grid over both, the top layer's first ``n_queries`` Gaussians as the
    enhancement rows, their k nearest lower rows by brute force and the spec's bilateral prediction."""
    both = np.concatenate([low.means, top.means])
    lo, hi = both.min(axis=0), both.max(axis=0)
    degree = max(low.sh_degree, top.sh_degree)
    top = top if n_queries is None else top[:n_queries]
    p_low = spec.quantize_positions(low.means, lo, hi, 14)
    f_low = spec.quantize_features(low, STEPS, degree)
    pos = spec.quantize_positions(top.means, lo, hi, 14)
    feat = spec.quantize_features(top, STEPS, degree)
    ids = np.arange(len(p_low))
    d2 = ((p_low[None, :, :].astype(np.int64) - pos[:, None, :]) ** 2).sum(axis=2)
    nbr = np.stack([np.lexsort((ids, d))[:K] for d in d2]).astype(np.int32)
    fl = f_low.tolist()
    pl = p_low.tolist()
    bil = np.array([spec.bilateral(pl, fl, x, nb) for x, nb in zip(pos.tolist(), nbr.tolist())], np.int64)
    return dict(p_low=p_low, f_low=f_low, pos=pos, feat=feat, nbr=nbr, bil=bil.astype(np.int32), lo=lo, hi=hi,
                low=low, top=top)


@pytest.fixture(scope="module")
def bench():
    low, top = bench_layers(4000, seed=0)
    return _pyramid(low, top)


@pytest.fixture(scope="module")
def playbot():
    if not (PLAYBOT / "4_0").is_dir():
        pytest.skip("../shared/data/scenes/playbot-lod not present")
    from splatcast.scene.formats import read_scene

    return _pyramid(read_scene(PLAYBOT / "5_0"), read_scene(PLAYBOT / "4_0"), n_queries=1500)


@pytest.fixture(params=["bench", "playbot"])
def scene(request):
    return request.getfixturevalue(request.param)


# ------------------------------------------------------------------------------------------------ quantizers
def test_steps_follow_the_spec_defaults_and_halve_every_two_qualities():
    assert np.array_equal(steps_for_quality(8), STEPS)
    for q in range(0, 17):
        want = np.array([float(s) * 2.0 ** ((8 - q) / 2) for s in (0.12, 0.32, 0.16, 1 / 32, 0.16)], np.float32)
        assert np.array_equal(steps_for_quality(q), want), q
    assert np.array_equal(steps_for_quality(10), STEPS / 2)
    for bad in (-1, 17):
        with pytest.raises(ValueError):
            steps_for_quality(bad)


@pytest.mark.parametrize("bits", [1, 10, 14, 21])
def test_grid_matches_the_spec_value_by_value(bench, bits):
    low, top = bench["low"], bench["top"]
    grid = Grid.fit([low, GaussianCloud.empty(), top], bits)
    both = np.concatenate([low.means, top.means])
    assert np.array_equal(grid.lo, both.min(axis=0)) and np.array_equal(grid.hi, both.max(axis=0))
    assert grid.lo.dtype == grid.hi.dtype == np.float32 and grid.bits == bits
    assert grid.step.tolist() == spec.grid_step(grid.lo, grid.hi, bits)
    means = np.concatenate([top.means[:1500], both.min(axis=0)[None] - 1, both.max(axis=0)[None] + 1])  # + clipped
    q = grid.quantize(means)
    want = spec.quantize_positions(means, grid.lo, grid.hi, bits)
    assert q.dtype == np.int32 and np.array_equal(q, want)
    assert q[-2].tolist() == [0, 0, 0] and q[-1].tolist() == [2**bits - 1] * 3
    back = grid.dequantize(q)
    assert back.dtype == np.float32
    assert np.array_equal(back.view(np.uint32), spec.dequantize_positions(q, grid.lo, grid.hi, bits).view(np.uint32))


def test_grid_of_a_flat_axis_and_of_nothing():
    cloud = GaussianCloud.empty(0)
    pts = np.array([[0.0, 1.5, 2.0], [1.0, 1.5, 2.0], [0.25, 1.5, 2.0], [0.5, 1.5, 2.0]], np.float32)
    flat = GaussianCloud(means=pts, scales=np.zeros((4, 3)), quats=np.tile([1.0, 0, 0, 0], (4, 1)),
                         opacities=np.zeros(4), sh_dc=np.zeros((4, 3)), sh_rest=np.zeros((4, 0, 3)))
    grid = Grid.fit([flat], 2)  # 4 levels on x: 0, 1/3, 2/3, 1
    assert grid.step.tolist() == [1 / 3, 0.0, 0.0]
    assert grid.quantize(pts).tolist() == [[0, 0, 0], [3, 0, 0], [1, 0, 0], [2, 0, 0]]  # 0.75 -> 1, 1.5 -> 2
    assert grid.dequantize(np.array([[3, 0, 0]], np.int32)).tolist() == [[1.0, 1.5, 2.0]]
    empty = Grid.fit([cloud], 14)
    assert empty.lo.tolist() == [0, 0, 0] and empty.hi.tolist() == [0, 0, 0]
    for bad in (0, 22):
        with pytest.raises(ValueError):
            Grid.fit([flat], bad)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_feature_quantizer_and_dequantizer_match_the_spec(bench, degree):
    cloud = bench["top"][:1200]
    rng = np.random.default_rng(degree)
    cloud.sh_rest = rng.normal(0, 0.3, (len(cloud), 8, 3)).astype(np.float32)  # degree 2: truncated or padded
    cloud.quats[::3] *= -1  # w < 0: negated
    cloud.opacities[:2] = [1e9, -1e9]  # beyond the feature limit: clipped
    steps = steps_for_quality(8 + degree)
    feat = quantize_features(cloud, steps, degree)
    want = spec.quantize_features(cloud, steps, degree)
    assert feat.dtype == np.int32 and np.array_equal(feat, want)
    assert feat[:2, 3].tolist() == [FEATURE_LIMIT, -FEATURE_LIMIT] and (feat[:, 7] >= 0).all()
    pos = spec.quantize_positions(cloud.means, bench["lo"], bench["hi"], 14)
    grid = Grid(bench["lo"].astype(np.float32), bench["hi"].astype(np.float32), 14)
    for layer_degree in range(degree + 1):
        out = dequantize(grid, steps, pos, feat, layer_degree)
        ref = spec.dequantize_features(feat, steps, layer_degree)
        ref["means"] = spec.dequantize_positions(pos, grid.lo, grid.hi, 14)
        for name, b in ref.items():
            a = getattr(out, name)
            assert a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32)), (name, layer_degree)


# ------------------------------------------------------------------------------------------------ prediction
def test_bilateral_predictor_matches_the_spec(scene):
    got = bilateral_predict(scene["p_low"], scene["f_low"], scene["pos"], scene["nbr"])
    assert np.array_equal(got, scene["bil"])


def test_bilateral_predictor_by_hand():
    """Two neighbours, one column: d = (1, 4), sd = 3.5; DC (0, 10): m = 5, f = (75, 75), sf = 76;
    w = (1 / (1 + 1/3.5), 1 / (1 + 4/3.5)) / (1 + 75/76) = (7/9, 7/15) / (151/76): pred = floor(10 w_2 / W + 0.5)."""
    p_low = np.array([[1, 0, 0], [0, 2, 0]], np.int32)
    f_low = np.array([[0, 0, 0, 3], [10, 10, 10, -3]], np.int32)
    x = np.array([[0, 0, 0]], np.int32)
    nbr = np.array([[0, 1]], np.int32)
    w1, w2 = 7 / 9, 7 / 15  # the colour factor is the same for both and cancels
    want = [int(np.floor(10 * w2 / (w1 + w2) + 0.5))] * 3 + [int(np.floor((3 * w1 - 3 * w2) / (w1 + w2) + 0.5))]
    assert want == [4, 4, 4, 1]
    assert bilateral_predict(p_low, f_low, x, nbr).tolist() == [want]
    assert predict_with_modes(p_low, f_low, x, nbr, np.array([0], np.uint8)).tolist() == [want]


def _bilateral_exact(dists, dcs, values):
    """The bilateral definition in exact rationals (fractions.Fraction): d_j, DC rows, the column's values."""
    from fractions import Fraction

    k = len(dists)
    sd = Fraction(sum(dists), k) + 1
    m = [Fraction(sum(r[c] for r in dcs), k) for c in range(3)]
    f = [sum((r[c] - m[c]) ** 2 for c in range(3)) for r in dcs]
    sf = sum(f) / k + 1
    w = [1 / ((1 + d / sd) * (1 + fj / sf)) for d, fj in zip(dists, f)]
    return sum(wj * v for wj, v in zip(w, values)) / sum(w)


def test_bilateral_predictor_small_distances_and_colours_by_hand():
    """Where the "+ 1" terms of sd and sf matter: co-located and adjacent neighbours, DC spread of a few units."""
    # spatial: d = (0, 1), equal DC (f = 0): sd = 1.5, w = (1, 0.6): 1000 * 0.6 / 1.6 = 375
    p_low = np.array([[5, 5, 5], [5, 5, 6]], np.int32)
    f_low = np.array([[7, 7, 7, 0], [7, 7, 7, 1000]], np.int32)
    x = np.array([[5, 5, 5]], np.int32)
    assert _bilateral_exact([0, 1], [[7, 7, 7]] * 2, [0, 1000]) == 375
    assert bilateral_predict(p_low, f_low, x, np.array([[0, 1]], np.int32)).tolist() == [[7, 7, 7, 375]]
    # colour: equal distances, DC (0, 0, 3) on channel 0: m = 1, f = (1, 1, 4), sf = 3, colour factors (3/4, 3/4, 3/7)
    p_low = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], np.int32)
    f_low = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [3, 0, 0, 1000]], np.int32)
    want = _bilateral_exact([1, 1, 1], f_low[:, :3].tolist(), [0, 0, 1000])
    assert int(np.floor(want + 0.5)) == 222  # 1000 * (3/7) / (3/2 + 3/7) = 222.2
    dc0 = int(np.floor(_bilateral_exact([1, 1, 1], f_low[:, :3].tolist(), [0, 0, 3]) + 0.5))
    got = bilateral_predict(p_low, f_low, np.zeros((1, 3), np.int32), np.array([[0, 1, 2]], np.int32))
    assert got.tolist() == [[dc0, 0, 0, 222]] and dc0 == 1


def test_predict_with_modes_matches_the_spec(scene):
    rng = np.random.default_rng(1)
    n = len(scene["pos"])
    modes = rng.integers(0, K + 1, n).astype(np.uint8)
    modes[:K + 1] = np.arange(K + 1)  # every mode, the last neighbour included
    got = predict_with_modes(scene["p_low"], scene["f_low"], scene["pos"], scene["nbr"], modes)
    pl, fl = scene["p_low"].tolist(), scene["f_low"].tolist()
    bil = scene["bil"].tolist()
    for i, (x, nb, m) in enumerate(zip(scene["pos"].tolist(), scene["nbr"].tolist(), modes.tolist())):
        want = bil[i] if m == 0 else spec.predict(pl, fl, x, nb, m)
        assert got[i].tolist() == want, (i, m)


@pytest.mark.parametrize("cols", [list(range(N_COST_COLS)), [0, 1, 2], [0, 1, 2, 7, 8, 9, 10], [0, 1, 2, 11, 12]])
def test_mode_choice_matches_the_brute_force(scene, cols):
    f_low, feat, nbr, bil = scene["f_low"], scene["feat"], scene["nbr"], scene["bil"]
    got = choose_modes(f_low, feat, nbr, bil, np.array(cols, np.int64))
    fl = f_low.tolist()
    want = [spec.choose_mode(fl, f, nb, b, cols) for f, nb, b in zip(feat.tolist(), nbr.tolist(), bil.tolist())]
    assert got.dtype == np.uint8 and got.tolist() == want
    assert len(set(want)) > 2  # the data exercises bilateral and several neighbours


def test_mode_choice_breaks_ties_towards_the_lowest_mode():
    f_low = np.array([[4, 0, 0], [6, 0, 0], [3, 0, 0], [7, 0, 0]], np.int32)
    nbr = np.array([[0, 1, 2, 3]] * 5, np.int32)
    feat = np.array([[5, 0, 0], [5, 0, 0], [5, 0, 0], [6, 0, 0], [1, 0, 0]], np.int32)
    bil = np.array([[4, 0, 0], [2, 0, 0], [9, 0, 0], [6, 0, 0], [9, 0, 0]], np.int32)
    # costs: row 0 bil 1, n 1 1 2 2 -> 0; row 1 bil 3, n 1 1 .. -> 1; row 2 bil 4 -> 1; row 3 bil 0 and n_2 0 -> 0;
    # row 4 bil 8, n 3 5 2 6 -> 3 (a strict minimum at the third neighbour)
    got = choose_modes(f_low, feat, nbr, bil, np.arange(3, dtype=np.int64))
    assert got.tolist() == [0, 1, 1, 0, 3]
    assert got.tolist() == [spec.choose_mode(f_low.tolist(), f, nb, b, [0, 1, 2])
                            for f, nb, b in zip(feat.tolist(), nbr.tolist(), bil.tolist())]


# ------------------------------------------------------------------------------------------------------- VQ
def _dc_residuals(scene) -> np.ndarray:
    return (scene["feat"][:, :3].astype(np.int64) - scene["bil"][:, :3]).astype(np.int32)


def _nearest(resid, codebook) -> np.ndarray:
    """Brute force over every (row, codeword) pair; argmin takes the first (lowest) index of a tie."""
    d = ((resid[:, None, :].astype(np.int64) - codebook[None, :, :].astype(np.int64)) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def test_assignment_matches_the_brute_force(scene):
    resid = _dc_residuals(scene)
    rng = np.random.default_rng(2)
    books = [train_codebook(resid, 16), train_codebook(resid, 64)]
    rough = rng.integers(-6, 7, (40, 3)).astype(np.int32)
    books.append(np.concatenate([rough, rough[::-1]]))  # duplicated codewords: every duplicate is a tie
    for cb in books:
        got = assign(resid, cb)
        assert got.dtype == np.int32 and np.array_equal(got, _nearest(resid, cb))
    few = resid[:200]
    assert assign(few, books[2]).tolist() == [spec.nearest_codeword(r, books[2].tolist()) for r in few.tolist()]


def test_assignment_ties_and_extremes_by_hand():
    cb = np.array([[2, 0, 0], [0, 0, 0], [0, 2, 0], [0, 0, 0]], np.int32)
    r = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [-1, 0, 0], [5, 5, 5]], np.int32)
    assert assign(r, cb).tolist() == [0, 0, 1, 1, 0]  # (1, 1, 0) is 2 from all three; (5, 5, 5) 59 from 0 and 2
    big = np.array([[FEATURE_LIMIT, -FEATURE_LIMIT, FEATURE_LIMIT]], np.int32)  # squares overflow int32
    cb2 = np.array([[-FEATURE_LIMIT, FEATURE_LIMIT, -FEATURE_LIMIT], [0, 0, 0]], np.int32)
    assert assign(big, cb2).tolist() == [1]


def test_codebook_is_the_distinct_residuals_when_they_are_few():
    rng = np.random.default_rng(3)
    points = rng.integers(-20, 21, (12, 3)).astype(np.int32)
    resid = points[rng.integers(0, 12, 500)]
    distinct = np.unique(resid, axis=0)
    for k in (len(distinct), 64):
        cb = train_codebook(resid, k)
        assert cb.dtype == np.int32 and np.array_equal(cb, distinct)  # zero within-cluster error
    assert train_codebook(resid, 0).shape == (0, 3) and train_codebook(resid[:0], 8).shape == (0, 3)


def test_codebook_finds_separated_clusters_at_their_rounded_means():
    centres = np.array([[0, 0, 0], [60, 0, 0], [0, 60, 0], [0, 0, 60], [-60, -60, 30]])
    rng = np.random.default_rng(4)
    blobs = []
    for c in centres:
        off = rng.integers(-4, 5, (100, 3))
        blobs.append(np.concatenate([c + off, c - off + np.array([1, 0, -1])]))  # mean exactly c + (0.5, 0, -0.5)
    resid = np.concatenate(blobs).astype(np.int32)
    cb = train_codebook(resid, len(centres))
    want = np.unique(np.rint(centres + np.array([0.5, 0, -0.5])).astype(np.int32), axis=0)  # rint: half to even
    assert np.array_equal(cb, want)


def test_codebook_is_a_lloyd_fixed_point_as_good_as_the_reference(scene):
    """The paper's k-means: each codeword is (to rounding) the centroid of the residuals nearest to it, and the
    within-cluster error is close to a reference Lloyd run's with the same K."""
    resid = _dc_residuals(scene)
    for k in (8, 32):
        cb = train_codebook(resid, k)
        assert cb.dtype == np.int32 and 1 <= len(cb) <= k and np.array_equal(cb, np.unique(cb, axis=0))
        lab = _nearest(resid, cb)
        shift = [np.abs(resid[lab == j].mean(axis=0) - cb[j]).max() for j in range(len(cb)) if (lab == j).any()]
        # rounding moves a centroid by <= 0.5 per axis (a little more where it moves a cell's border)
        assert np.median(shift) <= 0.55 and max(shift) <= 1.5, (k, sorted(shift)[-5:])
        ref = np.rint(spec.lloyd(resid, k, seed=k))  # best of 4 restarts; the codec runs k-means once
        assert spec.wcss(resid, cb) <= 1.15 * spec.wcss(resid, ref), k
        assert spec.wcss(resid, cb) < 0.9 * spec.wcss(resid, train_codebook(resid, k // 2))  # more codewords help


def test_codebook_training_subsamples_large_inputs():
    rng = np.random.default_rng(5)
    resid = rng.integers(-3, 4, (TRAIN_SAMPLES + 5000, 3)).astype(np.int32)
    sub = resid[np.random.default_rng(0).choice(len(resid), TRAIN_SAMPLES, replace=False)]
    assert np.array_equal(train_codebook(resid, 16, seed=0), train_codebook(sub, 16, seed=0))


def _order0_bits(values) -> float:
    """sum over symbols of -count * log2(count / n)."""
    counts = {}
    for v in np.asarray(values).tolist():
        counts[v] = counts.get(v, 0) + 1
    n = sum(counts.values())
    return float(sum(-c * np.log2(c / n) for c in counts.values()))


def test_vq_rate_and_choice_follow_the_definition(bench):
    """docs/format.md section 6: every K has the same distortion, so the choice is the least rate: index and
    refinement entropies (order 0 without a measuring back-end) + 96 bits per codeword; K = 0 codes the residual."""
    resid = _dc_residuals(bench)
    cands = (0, 4, 16, 64)
    want = {}
    for k in cands:
        cb = train_codebook(resid, k)
        if len(cb):
            idx = _nearest(resid, cb)
            e = resid - cb[idx]
            bits = _order0_bits(idx) + sum(_order0_bits(e[:, c]) for c in range(3)) + 96 * len(cb)
        else:
            idx = np.zeros(len(resid), np.int64)
            bits = sum(_order0_bits(resid[:, c]) for c in range(3))
        got_bits, got_idx = rate_bits(resid, cb)
        assert got_bits == pytest.approx(bits, rel=1e-9) and np.array_equal(got_idx, idx), k
        want[k] = (bits, cb, idx)
    best = min(cands, key=lambda k: (want[k][0], cands.index(k)))
    cb, idx, sent, report = choose_codebook(resid, "auto", candidates=cands)
    assert np.array_equal(cb, want[best][1]) and np.array_equal(idx, want[best][2])
    assert np.array_equal(sent, resid - cb[idx] if len(cb) else resid)  # lossless: the whole refinement is sent
    assert [r["k"] for r in report] == [len(want[k][1]) for k in cands]
    assert choose_codebook(resid, "off")[0].shape == (0, 3)
    assert np.array_equal(choose_codebook(resid, 16)[0], want[16][1])


@pytest.mark.parametrize("values", [
    np.array([3, -1, 3, 3, 0, -1], np.int32),
    np.array([7], np.int64),
    np.array([], np.int32),
    np.random.default_rng(1).integers(-300, 300, 5000).astype(np.int32),
    np.array([-2**40, 5, 2**40, 5], np.int64),  # a range far wider than the array: the np.unique path
])
def test_entropy_estimate_is_the_order0_definition(values):
    from collections import Counter
    from math import log2

    counts = Counter(values.tolist())
    n = len(values)
    want = -sum(c * log2(c / n) for c in counts.values())
    assert empirical_entropy_bits(values) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert empirical_entropy_bits(values) == empirical_entropy_bits_reference(values)
