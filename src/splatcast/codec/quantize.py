"""Scalar quantizers: positions on a shared integer grid, every other attribute with its own step.

All layers of a file share one position grid and one set of feature steps, so inter-layer prediction works on
integers and a decoded layer equals the encoder's quantized layer bit for bit. Feature matrix columns (int32):
0-2 SH DC, 3 opacity logit, 4-6 log scale, 7-10 quaternion (w, x, y, z; unit, w >= 0), 11.. SH rest ([k][channel]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from splatcast.codec.features import DC, N_FIXED_COLS, OPACITY, QUAT, REST, SCALE  # the column table
from splatcast.scene.cloud import GaussianCloud, sh_rest_count

DEFAULT_QUALITY = 8
MAX_QUALITY = 16
# steps at the default quality: dc, opacity logit, log scale, quaternion component, SH rest (coarser than DC);
# chosen on playbot 1_0 for ~45 dB fidelity PSNR with 14-bit positions (docs/format.md, "Quantizers")
BASE_STEPS = np.array([0.12, 0.32, 0.16, 1.0 / 32.0, 0.16], np.float64)
DEFAULT_POS_BITS = 14
STEP_DC, STEP_OPACITY, STEP_SCALE, STEP_QUAT, STEP_REST = range(5)
FEATURE_LIMIT = (1 << 24) - 1  # |quantized feature| never exceeds this (prediction sums stay exact)
DC_COLS = slice(0, 3)
REST_COLS_START = 3  # opacity .. SH rest: the part a refine="dc" decoder predicts instead of decoding


def feature_columns(sh_degree: int) -> int:
    return N_FIXED_COLS + 3 * sh_rest_count(sh_degree)


def steps_for_quality(quality: int) -> np.ndarray:
    """[5] float32 steps; each +2 quality halves every step."""
    if not 0 <= quality <= MAX_QUALITY:
        raise ValueError(f"quality={quality} must be in 0..{MAX_QUALITY}")
    return (BASE_STEPS * 2.0 ** ((DEFAULT_QUALITY - quality) / 2.0)).astype(np.float32)


@dataclass
class Grid:
    """Position grid: q = rint((x - lo) / step), step = (hi - lo) / (2^bits - 1) per axis (0 for a flat axis)."""

    lo: np.ndarray  # [3] float32
    hi: np.ndarray  # [3] float32
    bits: int

    @classmethod
    def fit(cls, clouds: list[GaussianCloud], bits: int) -> "Grid":
        if not 1 <= bits <= 21:
            raise ValueError(f"pos_bits={bits} must be in 1..21")
        means = [c.means for c in clouds if len(c)]
        if not means:
            return cls(np.zeros(3, np.float32), np.zeros(3, np.float32), bits)
        allm = np.concatenate(means)
        return cls(allm.min(axis=0).astype(np.float32), allm.max(axis=0).astype(np.float32), bits)

    @property
    def step(self) -> np.ndarray:  # [3] float64
        return (self.hi.astype(np.float64) - self.lo.astype(np.float64)) / float((1 << self.bits) - 1)

    def quantize(self, means: np.ndarray) -> np.ndarray:  # [N, 3] float32 -> [N, 3] int32
        step = self.step
        safe = np.where(step > 0, step, 1.0)
        q = np.rint((means.astype(np.float64) - self.lo.astype(np.float64)) / safe)
        q = np.where(step > 0, q, 0.0)
        return np.clip(q, 0, (1 << self.bits) - 1).astype(np.int32)

    def dequantize(self, q: np.ndarray) -> np.ndarray:  # [N, 3] int32 -> [N, 3] float32
        return (self.lo.astype(np.float64) + q.astype(np.float64) * self.step).astype(np.float32)


def quantize_features(cloud: GaussianCloud, steps: np.ndarray, sh_degree: int) -> np.ndarray:
    """[N, feature_columns(sh_degree)] int32 quantized features of ``cloud`` (SH rest zero-padded/truncated):
    clip(rint(value / step)), the division in float64, column group by column group in numba (no float64 copy of
    the whole matrix); :func:`quantize_features_reference` is the numpy definition."""
    c = cloud.with_sh_degree(sh_degree) if cloud.sh_degree != sh_degree else cloud
    n = len(c)
    s = steps.astype(np.float64)
    out = np.empty((n, feature_columns(sh_degree)), np.int32)
    for first, values, step in _feature_sources(c, s):
        _quantize_into(np.ascontiguousarray(values), step, out, first)
    return out


def _feature_sources(c: GaussianCloud, s: np.ndarray) -> list:
    """(first column, [N, w] values, step) per feature group, in the column order of features.FEATURE_GROUPS."""
    n = len(c)
    return [(DC.first, c.sh_dc, s[STEP_DC]), (OPACITY.first, c.opacities.reshape(n, 1), s[STEP_OPACITY]),
            (SCALE.first, c.scales, s[STEP_SCALE]), (QUAT.first, c.normalized_quats(), s[STEP_QUAT]),
            (REST.first, c.sh_rest.reshape(n, c.sh_rest.shape[1] * 3), s[STEP_REST])]


@njit(cache=True, parallel=True)
def _quantize_into(values, step, out, first):
    """out[:, first + j] = clip(rint(float64(values[:, j]) / step), +-FEATURE_LIMIT)."""
    lim = float(FEATURE_LIMIT)
    for i in prange(values.shape[0]):
        for j in range(values.shape[1]):
            q = np.rint(np.float64(values[i, j]) / step)
            out[i, first + j] = np.int32(min(max(q, -lim), lim))


def quantize_features_reference(cloud: GaussianCloud, steps: np.ndarray, sh_degree: int) -> np.ndarray:
    """The definition of :func:`quantize_features` in numpy, for tests."""
    c = cloud.with_sh_degree(sh_degree) if cloud.sh_degree != sh_degree else cloud
    s = steps.astype(np.float64)
    cols = [values.astype(np.float64) / step for _, values, step in _feature_sources(c, s)]
    q = np.rint(np.concatenate(cols, axis=1))
    return np.clip(q, -FEATURE_LIMIT, FEATURE_LIMIT).astype(np.int32)


def dequantize(grid: Grid, steps: np.ndarray, pos: np.ndarray, feat: np.ndarray, sh_degree: int) -> GaussianCloud:
    """Cloud from integer positions [N, 3] and features [N, C]; SH rest is cut to ``sh_degree``.

    Every value is float32(integer x step) with the product in float64 (the rule the JS decoder follows too),
    computed column group by column group without a float64 copy of the whole feature matrix."""
    n = pos.shape[0]
    s = steps.astype(np.float64)
    k = sh_rest_count(sh_degree)
    feat = np.ascontiguousarray(feat, dtype=np.int32)
    rest = _scaled(feat, REST.first, 3 * k, s[STEP_REST])
    return GaussianCloud(
        means=grid.dequantize(pos),
        scales=_scaled(feat, SCALE.first, SCALE.width, s[STEP_SCALE]),
        quats=_scaled(feat, QUAT.first, QUAT.width, s[STEP_QUAT]),
        opacities=_scaled(feat, OPACITY.first, OPACITY.width, s[STEP_OPACITY])[:, 0],
        sh_dc=_scaled(feat, DC.first, DC.width, s[STEP_DC]),
        sh_rest=rest.reshape(n, k, 3),
    )


@njit(cache=True, parallel=True)
def _scaled(feat, first, count, step):
    """float32(feat[:, first:first + count] * step), the product in float64."""
    n = feat.shape[0]
    out = np.empty((n, count), np.float32)
    for i in prange(n):
        for j in range(count):
            out[i, j] = np.float32(np.float64(feat[i, first + j]) * step)
    return out


def dequantize_reference(grid: Grid, steps: np.ndarray, pos: np.ndarray, feat: np.ndarray, sh_degree: int):
    """The definition in numpy (float64 products, then float32), for tests."""
    n = pos.shape[0]
    s = steps.astype(np.float64)
    f = feat.astype(np.float64)
    k = sh_rest_count(sh_degree)
    rest = f[:, N_FIXED_COLS : N_FIXED_COLS + 3 * k] * s[STEP_REST]
    return GaussianCloud(
        means=grid.dequantize(pos),
        scales=f[:, 4:7] * s[STEP_SCALE],
        quats=f[:, 7:11] * s[STEP_QUAT],
        opacities=f[:, 3] * s[STEP_OPACITY],
        sh_dc=f[:, 0:3] * s[STEP_DC],
        sh_rest=rest.reshape(n, k, 3),
    )
