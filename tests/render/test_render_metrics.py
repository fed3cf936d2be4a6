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


class _CountingRender:
    """Stands in for splatcast.render.rasterize.render: the real render, counting calls per cloud."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, cloud, camera, background=(0.0, 0.0, 0.0)):
        self.calls.append(id(cloud))
        return self.real(cloud, camera, background)

    def of(self, cloud) -> int:
        return self.calls.count(id(cloud))


@pytest.fixture
def counting_render(monkeypatch):
    from splatcast.render import rasterize

    counter = _CountingRender(rasterize.render)
    monkeypatch.setattr(rasterize, "render", counter)
    return counter


def _camera_key(cam) -> tuple:
    return (cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy, cam.world_to_camera.tobytes())


def _uncached_fidelity(reference, test, cameras, background=(0.0, 0.0, 0.0)) -> float:
    """The definition, computed here from render + psnr: mean per-view PSNR, identical views as 100 dB, all
    identical = inf."""
    from splatcast.render.rasterize import render

    values = [psnr(render(reference, c, background), render(test, c, background)) for c in cameras]
    if all(math.isinf(v) for v in values):
        return math.inf
    return float(np.mean([min(v, 100.0) for v in values]))


def test_fidelity_renders_the_reference_once_and_equals_an_uncached_computation(counting_render):
    from splatcast.render.metrics import Fidelity
    from splatcast.scene.default import lab_bench

    reference = lab_bench(1500, seed=2)
    tests = [reference[:700], reference[::2], reference[:0]]
    fid = Fidelity(reference, 3, 48)
    assert counting_render.of(reference) == 3 and len(counting_render.calls) == 3  # the reference, once per view
    cams = orbit_cameras(reference, 3, 48, 48)
    assert [_camera_key(c) for c in fid.cameras] == [_camera_key(c) for c in cams]
    scores = [fid(t) for t in tests] + [fid.psnr(reference)]
    # scoring renders the test clouds only, once per view each; the reference never again
    assert counting_render.of(reference) == 3 + 3 and len(counting_render.calls) == 3 + 3 * len(tests) + 3
    expected = [_uncached_fidelity(reference, t, cams) for t in tests]
    assert scores[:-1] == expected  # exactly: the same cameras, the same renders
    assert math.isinf(scores[-1])
    assert min(scores[0], scores[1]) > scores[2] > 0  # nothing received: the background, far from the reference


def test_fidelity_references_share_cameras_and_test_renders(counting_render):
    from splatcast.render.metrics import Fidelity
    from splatcast.scene.default import lab_bench

    reference = lab_bench(1200, seed=4)
    half, test = reference[:600], reference[::3]
    fid = Fidelity(reference, 2, 40, 32)
    fid.add_reference("half", half)
    assert counting_render.of(half) == 2 and fid.cameras[0].width == 40 and fid.cameras[0].height == 32
    before = len(counting_render.calls)
    both = fid.psnrs(test)
    assert len(counting_render.calls) - before == 2 and counting_render.of(test) == 2  # test rendered once per view
    cams = orbit_cameras(reference, 2, 40, 32)
    assert both == {"top": _uncached_fidelity(reference, test, cams), "half": _uncached_fidelity(half, test, cams)}
    assert fid.psnr(test, "half") == both["half"]


def test_fidelity_background_and_given_cameras(rng):
    from splatcast.render.metrics import Fidelity

    ref = random_cloud(300, 1, rng, spread=0.8, log_scale=(-2.5, 0.4))
    test = ref.copy()
    test.sh_dc += rng.normal(0, 0.1, test.sh_dc.shape).astype(np.float32)
    cams = orbit_cameras(ref, 2, 32, 32, up="+y")
    white = (1.0, 1.0, 1.0)
    fid = Fidelity(ref, cameras=cams, background=white)
    assert fid.cameras == cams and all(a is b for a, b in zip(fid.cameras, cams))
    assert fid(test) == _uncached_fidelity(ref, test, cams, white)
    assert fid(test) != Fidelity(ref, cameras=cams)(test)  # the background is part of both renders


def test_fidelity_psnr_is_the_class_compare(rng):
    from splatcast.render.metrics import Fidelity
    from splatcast.render.rasterize import render

    ref = random_cloud(300, 1, rng, spread=0.8, log_scale=(-2.5, 0.4))
    test = ref.copy()
    test.opacities -= 0.5
    res = fidelity_psnr(ref, test, n_views=3, width=40, height=32)
    assert res == Fidelity(ref, 3, 40, 32).compare(test)
    cams = orbit_cameras(ref, 3, 40, 32)
    assert res["per_view_psnr"] == [psnr(render(ref, c), render(test, c)) for c in cams]
    assert res["ssim"] == pytest.approx(np.mean([ssim(render(ref, c), render(test, c)) for c in cams]), abs=1e-12)
    assert res["psnr"] == _uncached_fidelity(ref, test, cams) and res["views"] == 3


def test_fidelity_of_an_empty_reference(counting_render):
    from splatcast.render.metrics import Fidelity
    from splatcast.scene.default import lab_bench

    reference = lab_bench(400, seed=1)
    empty = Fidelity(reference[:0], 3, 48)
    assert empty.cameras == []
    assert math.isinf(empty(reference)) and counting_render.calls == []  # no views: nothing rendered
