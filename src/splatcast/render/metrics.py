"""Image metrics (PSNR, SSIM) and the fidelity of one Gaussian cloud to another over an orbit of views.

Images are float arrays [H, W, 3] (or [H, W]) with values in [0, 1]; data range is 1.

Infinite PSNR: identical images have MSE 0 and :func:`psnr` returns ``float('inf')``. JSON cannot hold infinity,
so :func:`json_number` turns it into ``None`` (JSON ``null``); every ``--json`` output of splatcast writes an
infinite PSNR as ``null``. :func:`fidelity_psnr` averages per-view PSNRs; a view whose two images are identical
counts as ``PSNR_CAP_DB`` (100 dB) in that mean unless *every* view is identical, in which case the mean is inf.
:class:`Fidelity` is the one implementation: it renders its reference views once and scores any number of test
clouds against them; :func:`fidelity_psnr` is a one-call wrapper of it.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity

from splatcast.render import rasterize
from splatcast.render.camera import orbit_cameras

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


class Fidelity:
    """Fidelity PSNR of test clouds against reference clouds seen by one fixed set of cameras.

    The cameras are ``cameras`` when given, else an orbit of ``n_views`` views of ``width`` x ``height`` pixels
    (``height`` defaults to ``width``) fitted to ``reference`` (:func:`~splatcast.render.camera.orbit_cameras`,
    up axis ``up``). Each reference's views are rendered once, when it is added, and kept: scoring a test cloud
    renders only the test cloud, once per view, whatever the number of references. ``reference`` is stored as
    ``"top"``; :meth:`add_reference` adds more under other names, sharing the cameras.

    A score is :func:`mean_psnr` of the per-view PSNRs (identical views count as ``PSNR_CAP_DB``; all identical
    is inf). An empty ``reference`` with no cameras given has no views and scores every cloud inf.
    ``Fidelity(reference, V, S)(test)`` is ``fidelity_psnr(reference, test, V, S, S)["psnr"]`` for a non-empty
    reference.
    """

    def __init__(self, reference, n_views: int = 8, width: int = 256, height: int | None = None, *,
                 cameras=None, background=(0.0, 0.0, 0.0), up="auto"):
        if cameras is None:
            h = width if height is None else height
            cameras = orbit_cameras(reference, n_views, width, h, up=up) if len(reference) else []
        self.cameras = list(cameras)
        self.background = background
        self.references: dict[str, list[np.ndarray]] = {}
        self.add_reference("top", reference)

    def add_reference(self, name: str, cloud) -> None:
        """Render ``cloud`` from every camera and keep the images as the reference called ``name``."""
        self.references[name] = self.render_views(cloud)

    def render_views(self, cloud) -> list[np.ndarray]:
        """``cloud`` rendered from every camera: [V] [H, W, 3] float32 (an empty cloud gives the background)."""
        return [rasterize.render(cloud, cam, self.background) for cam in self.cameras]

    def psnrs(self, test, against=None) -> dict[str, float]:
        """{reference name: fidelity PSNR of ``test``} for the named references (all by default)."""
        names = list(self.references) if against is None else list(against)
        if not self.cameras:
            return {n: math.inf for n in names}
        images = self.render_views(test)
        return {n: mean_psnr([psnr(r, t) for r, t in zip(self.references[n], images)]) for n in names}

    def psnr(self, test, against: str = "top") -> float:
        """Fidelity PSNR of ``test`` against the reference called ``against``."""
        return self.psnrs(test, [against])[against]

    __call__ = psnr

    def compare(self, test, against: str = "top") -> dict:
        """``{"psnr", "ssim", "views", "per_view_psnr"}`` of ``test`` against one reference (what
        :func:`fidelity_psnr` returns)."""
        images = self.render_views(test)
        ref = self.references[against]
        per_view = [psnr(a, b) for a, b in zip(ref, images)]
        return {
            "psnr": mean_psnr(per_view),
            "ssim": float(np.mean([ssim(a, b) for a, b in zip(ref, images)])),
            "views": len(self.cameras),
            "per_view_psnr": per_view,
        }


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

    Returns ``{"psnr": mean per-view dB, "ssim": mean, "views": n, "per_view_psnr": [...]}``. One call renders
    the reference once; to score many clouds against one reference, keep a :class:`Fidelity`.
    """
    if cameras is None:
        cameras = orbit_cameras(reference, n_views, width, height, up=up)
    return Fidelity(reference, cameras=cameras, background=background).compare(test)
