"""Bjontegaard delta rate and delta PSNR between two rate-distortion curves.

The curve fitting and integration come from the maintained ``bjontegaard`` package (FAU-LMS, BSD-3); this module
only prepares the points (sorted by quality, duplicates merged, non-positive rates rejected) and picks a method
that the number of points supports:

- ``"cubic"`` (default, VCEG-M33): log-rate as a cubic polynomial in PSNR, least-squares fitted, integrated over the
  PSNR range where both curves exist. Needs >= 4 distinct points per curve.
- ``"pchip"`` / ``"akima"``: piecewise interpolants (JCT-VC/JVET CTC use PCHIP); these work from 2 points.

With fewer than 4 points the cubic method falls back to PCHIP, and the result says so. Curves that do not overlap
in PSNR give ``nan`` (there is no matched quality to compare at).

Sign convention: ``bd_rate(anchor..., test...)`` is the average rate change of *test* relative to *anchor* in
percent; negative means the test codec needs fewer bits for the same quality.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # bjontegaard imports pyplot at import time; never try a GUI backend

import bjontegaard  # noqa: E402
import numpy as np  # noqa: E402

METHODS = ("cubic", "pchip", "akima")


@dataclass(frozen=True)
class BDResult:
    value: float  # percent (bd_rate) or dB (bd_psnr); nan when the curves do not overlap
    method: str  # the method actually used (after any fallback)
    overlap: float  # overlapping fraction of the union interval, 0..1

    def as_dict(self) -> dict:
        return {
            "value": self.value if math.isfinite(self.value) else None,
            "method": self.method,
            "overlap": self.overlap,
        }


def _prepare(rate, psnr, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by PSNR, finite, positive rate; equal PSNR values merged (mean log-rate)."""
    r = np.asarray(rate, dtype=np.float64).ravel()
    d = np.asarray(psnr, dtype=np.float64).ravel()
    if r.shape != d.shape:
        raise ValueError(f"{name}: {r.size} rates but {d.size} PSNR values")
    keep = np.isfinite(r) & np.isfinite(d)
    r, d = r[keep], d[keep]
    if np.any(r <= 0):
        raise ValueError(f"{name}: rates must be > 0, got min {r.min()}")
    order = np.argsort(d, kind="stable")
    r, d = r[order], d[order]
    uniq, inverse = np.unique(d, return_inverse=True)
    if uniq.size != d.size:
        log_r = np.bincount(inverse, weights=np.log10(r)) / np.bincount(inverse)
        r, d = 10.0**log_r, uniq
    return r, d


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    total = max(a.max(), b.max()) - min(a.min(), b.min())
    if total <= 0:
        return 0.0
    return max(hi - lo, 0.0) / total


def _delta(kind: str, rate_anchor, psnr_anchor, rate_test, psnr_test, method: str) -> BDResult:
    if method not in METHODS:
        raise ValueError(f"method={method!r} should be one of {METHODS}")
    ra, da = _prepare(rate_anchor, psnr_anchor, "anchor")
    rt, dt = _prepare(rate_test, psnr_test, "test")
    n = min(ra.size, rt.size)
    if n < 2:
        return BDResult(float("nan"), method, 0.0)
    used = method
    if method == "cubic" and n < 4:
        used = "pchip"
    if used == "akima" and n < 3:
        used = "pchip"
    axis_a, axis_t = (da, dt) if kind == "rate" else (np.log10(ra), np.log10(rt))
    overlap = _overlap(axis_a, axis_t)
    if overlap == 0.0:
        return BDResult(float("nan"), used, 0.0)
    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low-overlap warnings: the overlap is returned to the caller instead
        value = fn(ra, da, rt, dt, method=used, require_matching_points=False, min_overlap=0.0)
    return BDResult(float(value), used, overlap)


def bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test, method: str = "cubic") -> BDResult:
    """Average rate difference of test vs anchor at equal PSNR, in percent (negative = test saves bits)."""
    return _delta("rate", rate_anchor, psnr_anchor, rate_test, psnr_test, method)


def bd_psnr(rate_anchor, psnr_anchor, rate_test, psnr_test, method: str = "cubic") -> BDResult:
    """Average PSNR difference of test vs anchor at equal rate, in dB (positive = test is better)."""
    return _delta("psnr", rate_anchor, psnr_anchor, rate_test, psnr_test, method)


def rate_at_psnr(rate, psnr, target_psnr: float) -> float:
    """Rate at ``target_psnr`` by linear interpolation of log-rate in PSNR (nan outside the curve's range)."""
    r, d = _prepare(rate, psnr, "curve")
    if r.size == 0 or target_psnr < d.min() or target_psnr > d.max():
        return float("nan")
    if r.size == 1:
        return float(r[0])
    return float(10.0 ** np.interp(target_psnr, d, np.log10(r)))
