"""Entropy back-ends: lossless coding of one integer stream at a time, selectable per file.

Contract (every back-end, same signature):

- ``encode_stream(values, backend, context=None) -> bytes``: ``values`` is a 1-D integer array (int8..int64,
  uint8..uint64); the payload is self-contained (any model tables travel inside it).
- ``decode_stream(data, backend, count, dtype, context=None) -> np.ndarray``: the container supplies ``count`` and
  ``dtype``; ``context`` (same length as the values, small non-negative ints < 1024, e.g. the prediction mode) must
  be the same array the encoder saw. Only ``rans`` and ``irans`` model contexts; the others ignore it.
- Bad payloads raise :class:`splatcast.errors.BitstreamError` subclasses (TruncatedError, BitstreamFormatError,
  LimitError, ChecksumError), never anything else; ``count`` is checked against :data:`MAX_COUNT` before allocating.

Wire ids are literal values (never list positions): lzma=1, paq=2, zstd=3, rans=4, irans=5. One module per back-end
(``lzma_backend``, ``paq_backend``, ``zstd_backend``, ``rans_backend`` with ``hybrid_uint`` symbol mapping,
``rans_model`` tables and the numba ``ans_decoder``; ``irans_backend``: the same header and tables, words on
interleaved lanes in stream order, ``ans_lanes``); byte layouts in docs/entropy.md. ``rans`` encodes with
constriction's AnsCoder and decodes with a bit-exact numba kernel (constriction is the reference the tests compare
with). ``paq`` is an encoder-side rate anchor: its decoder (paq9a) is guarded by a CRC and size checks and runs in a
time- and memory-limited child process (paq_backend).
"""

from __future__ import annotations

import numpy as np

from splatcast.codec.entropy import irans_backend, lzma_backend, paq_backend, rans_backend, zstd_backend
from splatcast.codec.entropy.byte_layout import from_le_bytes, to_le_bytes
from splatcast.errors import BitstreamFormatError, LimitError

BACKEND_IDS = {"lzma": 1, "paq": 2, "zstd": 3, "rans": 4, "irans": 5}
BACKENDS = tuple(BACKEND_IDS)
BACKEND_NAMES = {wire_id: name for name, wire_id in BACKEND_IDS.items()}
MAX_COUNT = 1 << 28
SUPPORTED_DTYPES = tuple(np.dtype(t) for t in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"))

_BYTE_BACKENDS = {
    "lzma": (lzma_backend.encode, lzma_backend.decode),
    "zstd": (zstd_backend.encode, zstd_backend.decode),
    "paq": (paq_backend.encode, paq_backend.decode),
}


def _check_backend(backend: str) -> None:
    if backend not in BACKEND_IDS:
        raise ValueError(f"unknown entropy back-end {backend!r}; choose one of {', '.join(BACKENDS)}")


def _check_context(context: np.ndarray | None, count: int) -> np.ndarray | None:
    if context is None:
        return None
    context = np.asarray(context)
    if context.shape != (count,) or context.dtype.kind not in "iu":
        raise ValueError(f"context must be a [{count}] integer array, got {context.dtype} with shape {context.shape}")
    if count and (int(context.min()) < 0 or int(context.max()) >= rans_backend.MAX_CONTEXTS):
        raise ValueError(f"context values must lie in 0..{rans_backend.MAX_CONTEXTS - 1}")
    return context


def encode_stream(values: np.ndarray, backend: str, context: np.ndarray | None = None) -> bytes:
    """Losslessly code a [N] integer array with ``backend``; ``context`` ([N] small ints) helps ``rans``/``irans``."""
    _check_backend(backend)
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu" or values.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:
        raise ValueError(f"values must be a 1-D int8..int64/uint8..uint64 array, got {values.dtype} {values.shape}")
    if values.shape[0] > MAX_COUNT:
        raise ValueError(f"stream of {values.shape[0]} values exceeds the limit {MAX_COUNT}")
    values = values.astype(values.dtype.newbyteorder("="), copy=False)
    context = _check_context(context, values.shape[0])
    if backend == "rans":
        return rans_backend.encode(values, context)
    if backend == "irans":
        return irans_backend.encode(values, context)
    return _BYTE_BACKENDS[backend][0](to_le_bytes(values))


def decode_stream(
    data: bytes, backend: str, count: int, dtype, context: np.ndarray | None = None
) -> np.ndarray:
    """Inverse of :func:`encode_stream`: [count] array of ``dtype`` (native byte order)."""
    if backend not in BACKEND_IDS:
        raise BitstreamFormatError(f"unknown entropy back-end {backend!r}")
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"dtype must be one of int8..int64/uint8..uint64, got {dtype}")
    if not 0 <= count <= MAX_COUNT:
        raise LimitError(f"stream count {count} is outside 0..{MAX_COUNT}")
    context = _check_context(context, count)
    if backend == "rans":
        return rans_backend.decode(bytes(data), count, dtype, context)
    if backend == "irans":
        return irans_backend.decode(bytes(data), count, dtype, context)
    raw = _BYTE_BACKENDS[backend][1](bytes(data), count * dtype.itemsize)
    return from_le_bytes(raw, count, dtype, backend)
