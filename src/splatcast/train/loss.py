"""The 3DGS photometric loss, 0.8 * L1 + 0.2 * (1 - SSIM), and its exact gradient w.r.t. the rendered image.

SSIM as in the reference trainer: per channel, an 11 x 11 Gaussian window (sigma 1.5) applied with zero padding
(``scipy.ndimage.gaussian_filter``, mode "constant", truncated at radius 5), C1 = 0.01^2, C2 = 0.03^2, averaged
over every pixel and channel. The window is symmetric and zero padding is linear, so the filter is its own adjoint
and the gradient is three more filter passes.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # radius int(3.5 * 1.5 + 0.5) = 5: an 11 x 11 window
C1 = 0.01**2
C2 = 0.03**2
LAMBDA_DSSIM = 0.2


def _blur(x: np.ndarray) -> np.ndarray:
    """Gaussian window over the two image axes of [H, W, C] (zero padding)."""
    return gaussian_filter(x, sigma=(SSIM_SIGMA, SSIM_SIGMA, 0.0), mode="constant", truncate=SSIM_TRUNCATE)


def ssim_and_grad(x: np.ndarray, y: np.ndarray, need_grad: bool = True) -> tuple[float, np.ndarray | None]:
    """Mean SSIM of image x against target y ([H, W, C] float64) and d(mean SSIM)/dx [H, W, C]."""
    mu_x, mu_y = _blur(x), _blur(y)
    e_xx, e_yy, e_xy = _blur(x * x), _blur(y * y), _blur(x * y)
    sxx = e_xx - mu_x * mu_x
    syy = e_yy - mu_y * mu_y
    sxy = e_xy - mu_x * mu_y
    a1 = 2.0 * mu_x * mu_y + C1
    a2 = 2.0 * sxy + C2
    b1 = mu_x * mu_x + mu_y * mu_y + C1
    b2 = sxx + syy + C2
    s_map = a1 * a2 / (b1 * b2)
    value = float(s_map.mean())
    if not need_grad:
        return value, None
    # S as a function of (mu_x, E[x^2], E[xy]) with the target's statistics fixed
    inv = 1.0 / (b1 * b2)
    d_mu = (2.0 * mu_y * a2 - 2.0 * mu_y * a1) * inv - s_map * (2.0 * mu_x / b1) + s_map * (2.0 * mu_x / b2)
    d_exx = -s_map / b2
    d_exy = 2.0 * a1 * inv
    grad = _blur(d_mu) + 2.0 * x * _blur(d_exx) + y * _blur(d_exy)
    grad /= s_map.size
    return value, grad


def photometric_loss(
    image: np.ndarray, target: np.ndarray, lambda_dssim: float = LAMBDA_DSSIM
) -> tuple[float, np.ndarray]:
    """(loss, dloss/dimage) of (1 - l) * L1 + l * (1 - SSIM) for [H, W, 3] images.

    Computed in float32 when ``image`` is float32 (the trainer: twice as fast, plenty for a gradient step), else in
    float64 (the finite-difference tests).
    """
    dtype = np.float32 if np.asarray(image).dtype == np.float32 else np.float64
    x = np.asarray(image, dtype)
    y = np.asarray(target, dtype)
    if x.shape != y.shape:
        raise ValueError(f"image shape {x.shape} != target shape {y.shape}")
    diff = x - y
    l1 = float(np.abs(diff).mean())
    grad = np.sign(diff) * dtype((1.0 - lambda_dssim) / diff.size)
    if lambda_dssim > 0.0:
        s, s_grad = ssim_and_grad(x, y)
        grad -= lambda_dssim * s_grad
    else:
        s = 1.0
    return (1.0 - lambda_dssim) * l1 + lambda_dssim * (1.0 - s), grad

