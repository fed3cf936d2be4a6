"""The feature matrix's column groups and the chunk streams that carry them: one table for encoder, decoder and
quantizer (docs/format.md sections 1.4 and 2).

Columns of F[N, C] (int32), C = 11 + 3 * ((d+1)^2 - 1): 0-2 SH DC, 3 opacity logit, 4-6 log scale, 7-10 the
quaternion (w, x, y, z), 11.. SH rest (index 3 * k + channel). Streams are component-major (all Gaussians'
component 0, then component 1, ...) except SH rest, which is Gaussian-major. From version 3 the colour groups (SH DC
and rest) code each colour triple as channel differences, and every stream's rans context includes the component
(docs/format.md section 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from splatcast.codec import container as ct
from splatcast.errors import BitstreamFormatError

COLOUR_DELTA_MAJOR = 3  # first major whose colour triples are coded (R, G - R, B - G)
COMPONENT_CONTEXT_MAJOR = 3  # first major whose rans contexts include the component index
_INT32 = (-(1 << 31), (1 << 31) - 1)


@dataclass(frozen=True)
class FeatureGroup:
    stream: int  # stream id (container.STREAM_*)
    first: int  # first column
    width: int | None  # columns; None: to the last column (SH rest, whose width depends on the SH degree)
    gaussian_major: bool = False
    colour: bool = False  # columns are (R, G, B) triples: 3 * k + channel

    def stop(self, n_cols: int) -> int:
        return n_cols if self.width is None else self.first + self.width

    def columns(self, n_cols: int) -> slice:
        return slice(self.first, self.stop(n_cols))


DC = FeatureGroup(ct.STREAM_DC, 0, 3, colour=True)
OPACITY = FeatureGroup(ct.STREAM_OPACITY, 3, 1)
SCALE = FeatureGroup(ct.STREAM_SCALE, 4, 3)
QUAT = FeatureGroup(ct.STREAM_QUAT, 7, 4)
REST = FeatureGroup(ct.STREAM_REST, 11, None, gaussian_major=True, colour=True)
FEATURE_GROUPS = (DC, OPACITY, SCALE, QUAT, REST)
REFINED_GROUPS = (OPACITY, SCALE, QUAT, REST)  # an inter chunk's rest part (may be INTRA-flagged)
N_FIXED_COLS = REST.first


def colour_delta(block: np.ndarray) -> np.ndarray:
    """[g, 3K] colour triples -> (R, G - R, B - G) per triple, int32: the channels of a Gaussian's colour are strongly
    correlated (rans on playbot: SH rest -30..-36 %; LZMA gains 1-3 %)."""
    b = block.astype(np.int64).reshape(block.shape[0], block.shape[1] // 3, 3)
    d = b.copy()
    d[:, :, 1:] -= b[:, :, :-1]
    if d.size and (d.min() < _INT32[0] or d.max() > _INT32[1]):
        raise ValueError("colour difference out of int32 range")
    return d.reshape(block.shape).astype(np.int32)


def colour_undelta(block: np.ndarray) -> np.ndarray:
    """Inverse of :func:`colour_delta`; a sum outside int32 is a bitstream error."""
    v = np.cumsum(block.astype(np.int64).reshape(block.shape[0], block.shape[1] // 3, 3), axis=2).reshape(block.shape)
    if v.size and (v.min() < _INT32[0] or v.max() > _INT32[1]):
        raise BitstreamFormatError(f"colour value outside int32 (got {v.min()}..{v.max()})")
    return v.astype(np.int32)


def stream_context(major: int, width: int, g: int, modes: np.ndarray | None = None, gaussian_major: bool = False):
    """The rans context of each value of a stream of ``g`` Gaussians x ``width`` components (docs/format.md 2):
    ``3 * t + min(mode, 2)`` with ``t`` the value's component (version 3; before it only the mode part, and only where
    modes are given); None where every value has context 0."""
    m = None if modes is None else np.minimum(modes, 2).astype(np.int32)
    if major < COMPONENT_CONTEXT_MAJOR:
        if m is None:
            return None
        return np.repeat(m, width) if gaussian_major else np.tile(m, width)
    if m is None:
        if width == 1:
            return None
        m = np.zeros(g, np.int32)
        scale = 1
    else:
        scale = 3
    t = np.arange(width, dtype=np.int32)
    ctx = scale * t[None, :] + m[:, None] if gaussian_major else scale * t[:, None] + m[None, :]
    return np.ascontiguousarray(ctx, dtype=np.int32).reshape(-1)


def to_stream(group: FeatureGroup, feat_rows: np.ndarray, major: int = ct.VERSION_MAJOR) -> np.ndarray:
    """The stream values of ``group`` for rows [g, C] (component- or Gaussian-major), int32."""
    block = np.ascontiguousarray(feat_rows[:, group.columns(feat_rows.shape[1])], dtype=np.int32)
    if group.colour and major >= COLOUR_DELTA_MAJOR:
        block = colour_delta(block)
    return block.reshape(-1) if group.gaussian_major else np.ascontiguousarray(block.T).reshape(-1)


def from_stream(
    group: FeatureGroup, values: np.ndarray, g: int, width: int, major: int = ct.VERSION_MAJOR
) -> np.ndarray:
    """Inverse of :func:`to_stream`: [g, width] from a stream of g * width values."""
    block = values.reshape(g, width) if group.gaussian_major else values.reshape(width, g).T
    if group.colour and major >= COLOUR_DELTA_MAJOR:
        block = colour_undelta(block)
    return block


# add_stream runs blocks of rows in parallel from this many values on (below it, waking the threads costs more
# than it saves: measured on this 2-core machine, 1M values of 4 columns ran 2x slower in parallel)
PARALLEL_VALUES = 1 << 21
ADD_BLOCK = 8192  # rows per parallel task (each task keeps its own ranges)


def add_stream(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows, out, col0):
    """:func:`from_stream` fused with what the decoder does next, in one pass over a group's stream values:
    ``out[rows[i], col0 + c] = value(i, c) [+ extra[i, c]] [+ base[base_rows[i], col0 + c]]`` (int64 sums written
    as int32), ``value`` read component- or Gaussian-major and, with ``colour``, summed over each triple. ``extra``
    has 0 rows when unused. Returns (lo, hi) of the colour sums (0, 0 without colour) and (lo, hi) of the results,
    for the caller's range checks (a result outside int32 is never written unchecked: the caller refuses it).
    ``rows`` are distinct (the decoder's row maps), so blocks of rows write disjoint cells: large streams run in
    parallel blocks, with the same result."""
    kernel = _add_stream_blocks if g * width >= PARALLEL_VALUES else _add_stream_serial
    return kernel(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows, out, col0)


@njit(cache=True, nogil=True, inline="always")
def _add_rows(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows, out, col0, i0, i1):
    """Rows i0..i1 of :func:`add_stream`; returns their (colour lo, colour hi, lo, hi)."""
    big = np.int64(1) << 62
    clo, chi, lo, hi = big, -big, big, -big
    use_extra = extra.shape[0] > 0
    for i in range(i0, i1):
        acc = np.int64(0)
        r = rows[i]
        for c in range(width):
            v = np.int64(values[i * width + c] if gaussian_major else values[c * g + i])
            if colour:
                if c % 3 == 0:
                    acc = 0
                acc += v
                v = acc
                clo = min(clo, v)
                chi = max(chi, v)
            if use_extra:
                v += extra[i, c]
            if add_base:
                v += base[base_rows[i], col0 + c]
            lo = min(lo, v)
            hi = max(hi, v)
            out[r, col0 + c] = v
    return clo, chi, lo, hi


@njit(cache=True, nogil=True)
def _add_stream_serial(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows, out, col0):
    clo, chi, lo, hi = _add_rows(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows,
                                 out, col0, 0, g)
    if not colour or g * width == 0:
        clo, chi = 0, 0
    return clo, chi, lo, hi


@njit(cache=True, parallel=True)
def _add_stream_blocks(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows, out, col0):
    n_blocks = (g + ADD_BLOCK - 1) // ADD_BLOCK
    ranges = np.empty((n_blocks, 4), np.int64)
    for b in prange(n_blocks):
        r0, r1, r2, r3 = _add_rows(values, g, width, gaussian_major, colour, base, base_rows, add_base, extra, rows,
                                   out, col0, b * ADD_BLOCK, min(g, (b + 1) * ADD_BLOCK))
        ranges[b, 0], ranges[b, 1], ranges[b, 2], ranges[b, 3] = r0, r1, r2, r3
    big = np.int64(1) << 62
    clo, chi, lo, hi = big, -big, big, -big
    for b in range(n_blocks):
        clo, chi = min(clo, ranges[b, 0]), max(chi, ranges[b, 1])
        lo, hi = min(lo, ranges[b, 2]), max(hi, ranges[b, 3])
    if not colour or g * width == 0:
        clo, chi = 0, 0
    return clo, chi, lo, hi


@njit(cache=True, nogil=True)
def prefix_sum(values, g, width, out):
    """out[i, c] = sum of value(j, c), j <= i, of a component-major stream (int64 sums written as int32; intra
    positions). Returns (lo, hi) of the sums for the caller's range check."""
    big = np.int64(1) << 62
    lo, hi = big, -big
    for c in range(width):
        acc = np.int64(0)
        for i in range(g):
            acc += values[c * g + i]
            lo = min(lo, acc)
            hi = max(hi, acc)
            out[i, c] = acc
    return lo, hi
