"""The photometric loss: SSIM value checks and its gradient against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from splatcast.train.loss import photometric_loss, ssim_and_grad


def test_ssim_of_identical_images_is_one_with_zero_gradient():
    x = np.random.default_rng(0).uniform(size=(20, 17, 3))
    value, grad = ssim_and_grad(x, x.copy())
    assert value == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)


def test_ssim_matches_a_direct_windowed_computation():
    """Interior pixel of the SSIM map recomputed by hand with an explicit 11x11 Gaussian window."""
    rng = np.random.default_rng(1)
    x, y = rng.uniform(size=(25, 25, 1)), rng.uniform(size=(25, 25, 1))
    from splatcast.train import loss as L

    k = np.exp(-0.5 * (np.arange(-5, 6) / 1.5) ** 2)
    w = np.outer(k, k) / k.sum() ** 2
    px, py = x[7:18, 7:18, 0], y[7:18, 7:18, 0]  # window around pixel (12, 12)
    mx, my = (w * px).sum(), (w * py).sum()
    sxx, syy, sxy = (w * px * px).sum() - mx * mx, (w * py * py).sum() - my * my, (w * px * py).sum() - mx * my
    expected = (2 * mx * my + L.C1) * (2 * sxy + L.C2) / ((mx * mx + my * my + L.C1) * (sxx + syy + L.C2))
    mu_x, mu_y = L._blur(x), L._blur(y)
    s_xx = L._blur(x * x) - mu_x**2
    s_yy = L._blur(y * y) - mu_y**2
    s_xy = L._blur(x * y) - mu_x * mu_y
    got = (2 * mu_x * mu_y + L.C1) * (2 * s_xy + L.C2) / ((mu_x**2 + mu_y**2 + L.C1) * (s_xx + s_yy + L.C2))
    assert got[12, 12, 0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("shape", [(1, 1, 3), (9, 13, 3), (16, 16, 3)])
def test_loss_gradient_matches_finite_differences(shape):
    rng = np.random.default_rng(sum(shape))
    x, y = rng.uniform(size=shape), rng.uniform(size=shape)
    loss, grad = photometric_loss(x, y)
    eps = 1e-6
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, size=min(flat.size, 25), replace=False)
    for j in idx:
        old = flat[j]
        flat[j] = old + eps
        plus = photometric_loss(x, y)[0]
        flat[j] = old - eps
        minus = photometric_loss(x, y)[0]
        flat[j] = old
        assert grad.reshape(-1)[j] == pytest.approx((plus - minus) / (2 * eps), rel=1e-4, abs=1e-8)
    assert 0.0 < loss < 1.0

