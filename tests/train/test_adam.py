"""Adam: same steps as the textbook update; moments follow rows through densification."""

from __future__ import annotations

import numpy as np

from splatcast.train.adam import Adam


def _reference(p, grads, lr, b1=0.9, b2=0.999, eps=1e-15):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


def test_matches_textbook_adam():
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(5, 3))
    grads = [rng.normal(size=(5, 3)) for _ in range(7)]
    params = {"x": p0.copy(), "y": np.zeros(5)}
    opt = Adam(params)
    for g in grads:
        opt.step(params, {"x": g, "y": np.zeros(5)}, {"x": 0.01, "y": 0.1})
    np.testing.assert_allclose(params["x"], _reference(p0, grads, 0.01), rtol=1e-12)
    np.testing.assert_array_equal(params["y"], 0.0)  # zero gradient, zero moments: no motion


def test_remap_keeps_moments_of_surviving_rows():
    params = {"x": np.arange(4.0)[:, None]}
    opt = Adam(params)
    opt.step(params, {"x": np.array([[1.0], [2.0], [3.0], [4.0]])}, {"x": 0.1})
    m = opt.m["x"].copy()
    opt.remap(np.array([3, 1, -1]))
    np.testing.assert_array_equal(opt.m["x"], [m[3], m[1], [0.0]])
    opt.remap(np.array([], np.int64))
    assert opt.m["x"].shape == (0, 1)
