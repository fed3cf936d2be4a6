"""Image metrics (PSNR, SSIM) and the fidelity of one Gaussian cloud to another over an orbit of views.

Images are float arrays [H, W, 3] (or [H, W]) with values in [0, 1]; data range is 1.

Infinite PSNR: identical images have MSE 0 and :func:`psnr` returns ``float('inf')``. JSON cannot hold infinity,
so :func:`json_number` turns it into ``None`` (JSON ``null``); every ``--json`` output of splatcast writes an
infinite PSNR as ``null``. :func:`fidelity_psnr` averages per-view PSNRs; a view whose two images are identical
counts as ``PSNR_CAP_DB`` (100 dB) in that mean unless *every* view is identical, in which case the mean is inf.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity

PSNR_CAP_DB = 100.0  # stands in for an identical view inside a mean over views


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("images are empty")
    return a, b


def mse(a, b) -> float:
    a, b = _pair(a, b)
    return float(np.mean((a - b) ** 2))


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio in dB for data range 1; ``inf`` when the images are identical."""
    err = mse(a, b)
    return math.inf if err == 0 else float(-10.0 * math.log10(err))


def ssim(a, b) -> float:
    """Mean structural similarity (scikit-image, uniform 7x7 window, data range 1, colour per channel).

    Images smaller than 7 pixels on a side use the largest odd window that fits (at least 3 pixels needed).
    """
    a, b = _pair(a, b)
    side = min(a.shape[0], a.shape[1])
    if side < 3:
        raise ValueError(f"ssim needs images of at least 3x3 pixels, got {a.shape}")
    win = min(7, side if side % 2 else side - 1)
    channel_axis = -1 if a.ndim == 3 else None
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=channel_axis, win_size=win))


def json_number(value: float) -> float | None:
    """A float for JSON output: ``None`` (null) for inf / nan, else the value."""
    return value if math.isfinite(value) else None


def mean_psnr(values: list[float]) -> float:
    """Mean of per-view PSNRs with identical views counted as PSNR_CAP_DB, inf if all are identical."""
    if not values:
        raise ValueError("no views")
    if all(math.isinf(v) for v in values):
        return math.inf
    return float(np.mean([min(v, PSNR_CAP_DB) for v in values]))


class FidelityScorer:
    """Fidelity PSNR of test clouds against one fixed reference, its views rendered once: ``scorer(cloud)`` equals
    ``fidelity_psnr(reference, cloud, n_views, size, size)["psnr"]`` (inf for an empty reference)."""

    def __init__(self, reference, n_views: int, size: int, background=(0.0, 0.0, 0.0)):
        from splatcast.render.camera import orbit_cameras
        from splatcast.render.rasterize import render

        self._render, self.background = render, background
        self.cameras = orbit_cameras(reference, n_views, size, size) if len(reference) else []
        self.images = [render(reference, cam, background) for cam in self.cameras]

    def __call__(self, cloud) -> float:
        if not self.cameras:
            return math.inf
        return mean_psnr([psnr(ref, self._render(cloud, cam, self.background))
                          for ref, cam in zip(self.images, self.cameras)])


def fidelity_psnr(
    reference,
    test,
    n_views: int = 8,
    width: int = 256,
    height: int = 256,
    cameras=None,
    background=(0.0, 0.0, 0.0),
    up="auto",
) -> dict:
    """How close ``test`` renders to ``reference`` over an orbit fitted to *the reference* (or given ``cameras``).

    Returns ``{"psnr": mean per-view dB, "ssim": mean, "views": n, "per_view_psnr": [...]}``.
    """
    from splatcast.render.camera import orbit_cameras
    from splatcast.render.rasterize import render

    if cameras is None:
        cameras = orbit_cameras(reference, n_views, width, height, up=up)
    cameras = list(cameras)
    per_view, ssims = [], []
    for cam in cameras:
        a = render(reference, cam, background)
        b = render(test, cam, background)
        per_view.append(psnr(a, b))
        ssims.append(ssim(a, b))
    return {
        "psnr": mean_psnr(per_view),
        "ssim": float(np.mean(ssims)),
        "views": len(cameras),
        "per_view_psnr": per_view,
    }
