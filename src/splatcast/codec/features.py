"""The feature matrix's column groups and the chunk streams that carry them: one table for encoder, decoder and
quantizer (docs/format.md sections 1.4 and 2).

Columns of F[N, C] (int32), C = 11 + 3 * ((d+1)^2 - 1): 0-2 SH DC, 3 opacity logit, 4-6 log scale, 7-10 the
quaternion (w, x, y, z), 11.. SH rest (index 3 * k + channel). Streams are component-major (all Gaussians'
component 0, then component 1, ...) except SH rest, which is Gaussian-major.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splatcast.codec import container as ct


@dataclass(frozen=True)
class FeatureGroup:
    stream: int  # stream id (container.STREAM_*)
    first: int  # first column
    width: int | None  # columns; None: to the last column (SH rest, whose width depends on the SH degree)
    gaussian_major: bool = False

    def stop(self, n_cols: int) -> int:
        return n_cols if self.width is None else self.first + self.width

    def columns(self, n_cols: int) -> slice:
        return slice(self.first, self.stop(n_cols))


DC = FeatureGroup(ct.STREAM_DC, 0, 3)
OPACITY = FeatureGroup(ct.STREAM_OPACITY, 3, 1)
SCALE = FeatureGroup(ct.STREAM_SCALE, 4, 3)
QUAT = FeatureGroup(ct.STREAM_QUAT, 7, 4)
REST = FeatureGroup(ct.STREAM_REST, 11, None, gaussian_major=True)
FEATURE_GROUPS = (DC, OPACITY, SCALE, QUAT, REST)
REFINED_GROUPS = (OPACITY, SCALE, QUAT, REST)  # an inter chunk's rest part (may be INTRA-flagged)
N_FIXED_COLS = REST.first


def to_stream(group: FeatureGroup, feat_rows: np.ndarray) -> np.ndarray:
    """The stream values of ``group`` for rows [g, C] (component- or Gaussian-major), int32."""
    block = np.ascontiguousarray(feat_rows[:, group.columns(feat_rows.shape[1])], dtype=np.int32)
    return block.reshape(-1) if group.gaussian_major else np.ascontiguousarray(block.T).reshape(-1)


def from_stream(group: FeatureGroup, values: np.ndarray, g: int, width: int) -> np.ndarray:
    """Inverse of :func:`to_stream`: [g, width] from a stream of g * width values."""
    return values.reshape(g, width) if group.gaussian_major else values.reshape(width, g).T
