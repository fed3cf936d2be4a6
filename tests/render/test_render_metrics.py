"""PSNR / SSIM sanity and scene fidelity over an orbit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import random_cloud
from skimage.metrics import structural_similarity

from splatcast.render.camera import orbit_cameras
from splatcast.render.metrics import PSNR_CAP_DB, fidelity_psnr, json_number, mean_psnr, psnr, ssim


def test_psnr_known_values(rng):
    a = rng.uniform(0.2, 0.8, (20, 30, 3))
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 0.1) == pytest.approx(20.0)  # MSE 0.01
    assert psnr(a, a - 0.01) == pytest.approx(40.0)
    noise = rng.choice([-0.05, 0.05], a.shape)
    assert psnr(a, a + noise) == pytest.approx(-10 * math.log10(0.0025))


def test_ssim_agrees_with_skimage(rng):
    a = rng.uniform(0, 1, (32, 40, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    expected = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=1.0, channel_axis=-1)
    assert ssim(a, b) == pytest.approx(expected, rel=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)
    assert 0 < ssim(a, b) < 0.95
    assert ssim(a[:5, :5], b[:5, :5]) < 1.0  # small images use a smaller window


def test_metric_input_errors(rng):
    a = rng.uniform(0, 1, (8, 8, 3))
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, a[:4])
    with pytest.raises(ValueError):
        ssim(a[:2, :2], a[:2, :2])


def test_json_number_and_mean():
    assert json_number(math.inf) is None and json_number(31.5) == 31.5
    assert mean_psnr([math.inf, math.inf]) == math.inf
    assert mean_psnr([30.0, math.inf]) == pytest.approx((30.0 + PSNR_CAP_DB) / 2)
    assert mean_psnr([30.0, 40.0]) == pytest.approx(35.0)


def test_fidelity_identical_and_perturbed(rng):
    ref = random_cloud(400, 1, rng, spread=0.8, log_scale=(-2.5, 0.4))
    same = fidelity_psnr(ref, ref.copy(), n_views=3, width=40, height=32)
    assert same["psnr"] == math.inf and same["ssim"] == pytest.approx(1.0) and same["views"] == 3
    assert same["per_view_psnr"] == [math.inf] * 3
    psnrs = []
    for sigma in (0.01, 0.05, 0.2):
        test = ref.copy()
        test.sh_dc += rng.normal(0, sigma, test.sh_dc.shape).astype(np.float32)
        res = fidelity_psnr(ref, test, n_views=3, width=40, height=32)
        assert len(res["per_view_psnr"]) == 3 and res["psnr"] == pytest.approx(np.mean(res["per_view_psnr"]))
        psnrs.append(res["psnr"])
    assert psnrs[0] > psnrs[1] > psnrs[2] > 10.0  # more colour noise, lower fidelity


def test_fidelity_uses_cameras_of_the_reference(rng):
    ref = random_cloud(200, 0, rng)
    moved = ref.copy()
    moved.means += 5.0  # the test cloud's own orbit would follow it; the reference's does not
    res = fidelity_psnr(ref, moved, n_views=2, width=24, height=24)
    assert res["psnr"] < 30
    cams = orbit_cameras(ref, 2, 24, 24)
    assert fidelity_psnr(ref, moved, cameras=cams) == res


def test_fidelity_orders_real_levels_of_detail(shared_data):
    # coarser levels of detail of the same scene render further from the finest one
    formats = pytest.importorskip("splatcast.scene.formats")
    lod = shared_data / "scenes/playbot-lod"
    ref, mid, coarse = (formats.read_scene(lod / name) for name in ("4_0", "5_0", "6_0"))
    a = fidelity_psnr(ref, mid, n_views=3, width=64, height=64)
    b = fidelity_psnr(ref, coarse, n_views=3, width=64, height=64)
    assert 15 < b["psnr"] < a["psnr"] < 60 and b["ssim"] < a["ssim"] < 1


def test_fidelity_scorer_equals_fidelity_psnr(rng):
    """The scorer renders the reference once; its value is fidelity_psnr's (which re-renders it every call)."""
    from splatcast.render.metrics import FidelityScorer, fidelity_psnr
    from splatcast.scene.default import lab_bench

    reference = lab_bench(1500, seed=2)
    score = FidelityScorer(reference, 3, 48)
    for test in (reference[:700], reference[::2], reference):
        assert score(test) == fidelity_psnr(reference, test, n_views=3, width=48, height=48)["psnr"]
    assert math.isinf(score(reference))
    assert math.isinf(FidelityScorer(reference[:0], 3, 48)(reference))
