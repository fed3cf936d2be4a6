"""The renderer's backward pass: its float64 forward equals the float32 renderer and the slow reference, analytic
gradients equal finite differences of the forward."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from splatcast.render.rasterize import composite_bins, render
from splatcast.render.reference import render_reference
from splatcast.scene.cloud import GaussianCloud
from splatcast.train.backward import PARAM_NAMES, rasterize_backward, rasterize_forward

from train_helpers import make_camera, tiny_scene


def _cloud(p) -> GaussianCloud:
    return GaussianCloud(**p)


def _as_float32(p):
    """The scene rounded to float32, back in float64: what the renderer (float32 cloud) sees exactly."""
    return {k: v.astype(np.float32).astype(np.float64) for k, v in p.items()}


@pytest.mark.parametrize("n, seed", [(0, 0), (1, 1), (7, 2), (60, 3)])
def test_forward_matches_renderer(n, seed):
    p = _as_float32(tiny_scene(n, seed))
    cam = make_camera(width=45, height=37)
    bg = np.array([0.2, 0.5, 0.9])
    image, state = rasterize_forward(p, 3, cam, bg)
    fast = render(_cloud(p), cam, bg)
    slow = render_reference(_cloud(p), cam, bg)
    assert image.shape == (37, 45, 3)
    np.testing.assert_allclose(np.clip(image, 0, 1), fast, atol=1e-5)
    np.testing.assert_allclose(np.clip(image, 0, 1), slow, atol=1e-5)
    if n:
        assert state.n_contrib.max() > 0  # something was drawn


def test_forward_matches_renderer_dense_opaque_scene():
    """Many overlapping opaque Gaussians: exercises the early stop (transmittance < 1e-4) and alpha = 0.99."""
    p = tiny_scene(300, seed=4)
    p["opacities"] = np.full(300, 6.0)
    p = _as_float32(p)
    cam = make_camera(width=48, height=32)
    image, state = rasterize_forward(p, 1, cam, np.ones(3))
    fast = render(_cloud(p).with_sh_degree(1), cam, np.ones(3))
    slow = render_reference(_cloud(p).with_sh_degree(1), cam, np.ones(3))
    np.testing.assert_allclose(np.clip(image, 0, 1), slow, atol=1e-5)
    np.testing.assert_allclose(np.clip(image, 0, 1), fast, atol=1e-5)
    assert state.final_t.min() < 1e-3


def _numeric_grad(p, degree, cam, bg, weights, name, eps=1e-6):
    flat = p[name].reshape(-1)
    out = np.zeros_like(flat)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        plus = float((rasterize_forward(p, degree, cam, bg)[0] * weights).sum())
        flat[j] = old - eps
        minus = float((rasterize_forward(p, degree, cam, bg)[0] * weights).sum())
        flat[j] = old
        out[j] = (plus - minus) / (2 * eps)
    return out.reshape(p[name].shape)


@pytest.mark.parametrize("degree, seed", [(3, 1), (0, 2), (2, 3)])
def test_gradients_match_finite_differences(degree, seed):
    cam = make_camera()
    p = tiny_scene(6, seed)
    rng = np.random.default_rng(seed + 10)
    weights = rng.normal(size=(cam.height, cam.width, 3))
    bg = np.array([0.3, 0.6, 0.9])
    _, state = rasterize_forward(p, degree, cam, bg)
    assert state.proj.visible.sum() >= 4
    g = rasterize_backward(state, weights)
    analytic = g.by_name()
    for name in PARAM_NAMES:
        numeric = _numeric_grad(p, degree, cam, bg, weights, name)
        scale = max(np.abs(numeric).max(), 1e-3)
        np.testing.assert_allclose(analytic[name], numeric, atol=1e-6 * scale + 1e-7, err_msg=name)
    n_active = (degree + 1) ** 2 - 1
    assert np.all(g.sh_rest[:, n_active:] == 0.0)


def test_gradients_with_clamped_colour_and_offscreen_gaussian():
    """Negative colours are clamped (zero gradient); a Gaussian far off-screen hits the Jacobian clamp."""
    cam = make_camera()
    p = tiny_scene(5, seed=7)
    p["sh_dc"][0] = -3.0  # colour clamped at 0 in every channel
    p["sh_rest"][0] = 0.0
    p["means"][1] = [2.2, 0.0, 0.2]  # beyond the 1.3 x field-of-view clamp
    p["scales"][1] = np.log([0.8, 0.6, 0.7])
    p["opacities"][1] = 3.0
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(cam.height, cam.width, 3))
    bg = np.zeros(3)
    _, state = rasterize_forward(p, 3, cam, bg)
    assert state.proj.clamped[0].all()
    g = rasterize_backward(state, weights)
    assert np.all(g.sh_dc[0] == 0.0) and np.all(g.sh_rest[0] == 0.0)
    for name, analytic in [("means", g.means), ("scales", g.scales), ("quats", g.quats)]:
        numeric = _numeric_grad(p, 3, cam, bg, weights, name)
        np.testing.assert_allclose(analytic, numeric, atol=1e-6 * np.abs(numeric).max() + 1e-7, err_msg=name)


def test_mean2d_gradient_is_the_screen_space_gradient():
    """mean2d_ndc = dL/d(u, v) * (W/2, H/2): checked by moving the projected means in the compositor itself."""
    cam = make_camera()
    p = tiny_scene(5, seed=5)
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(cam.height, cam.width, 3))
    bg = np.array([0.5, 0.5, 0.5])
    _, s = rasterize_forward(p, 2, cam, bg)
    g = rasterize_backward(s, weights)

    def loss_at(uv):
        image = np.empty((cam.height, cam.width, 3))
        composite_bins(dataclasses.replace(s.proj, uv=uv), s.bins, s.background, image)
        return float((image * weights).sum())

    eps = 1e-6
    for i in np.flatnonzero(g.visible):
        for axis, half in ((0, 0.5 * cam.width), (1, 0.5 * cam.height)):
            uv = s.proj.uv.copy()
            uv[i, axis] += eps
            plus = loss_at(uv)
            uv[i, axis] -= 2 * eps
            minus = loss_at(uv)
            numeric = (plus - minus) / (2 * eps) * half
            assert g.mean2d_ndc[i, axis] == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_empty_and_invisible():
    cam = make_camera()
    p = tiny_scene(3, seed=1)
    p["means"][:, 1] = -10.0  # behind the camera (camera at y = -4 looking towards +y)
    image, state = rasterize_forward(p, 0, cam, np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(image, np.broadcast_to([0.1, 0.2, 0.3], image.shape))
    g = rasterize_backward(state, np.ones_like(image))
    assert not g.visible.any()
    assert np.all(g.means == 0) and np.all(g.mean2d_ndc == 0)
