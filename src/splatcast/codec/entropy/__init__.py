"""Entropy back-ends: lossless coding of one integer stream at a time, selectable per file.

Contract (every back-end, same signature):

- ``encode_stream(values, backend, context=None) -> bytes``: ``values`` is a 1-D integer array; the payload is
  self-contained (any model tables travel inside it).
- ``decode_stream(data, backend, count, dtype, context=None) -> np.ndarray``: the container supplies ``count`` and
  ``dtype``; ``context`` (same length as the values, small non-negative ints, e.g. the prediction mode) must be the
  same array the encoder saw. Back-ends that do not model contexts ignore it.
- Bad payloads raise :class:`splatcast.errors.BitstreamError` subclasses, never anything else; ``count`` is checked
  against :data:`MAX_COUNT` before allocating.

Wire ids are literal values (never list positions): lzma=1, paq=2, zstd=3, rans=4.
"""

from __future__ import annotations

import lzma

import numpy as np
import zstandard

from splatcast.errors import BitstreamFormatError, LimitError

BACKEND_IDS = {"lzma": 1, "paq": 2, "zstd": 3, "rans": 4}
BACKENDS = tuple(BACKEND_IDS)
MAX_COUNT = 1 << 28


def _as_bytes(values: np.ndarray) -> tuple[bytes, np.dtype]:
    values = np.ascontiguousarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise ValueError(f"values must be a 1-D integer array, got {values.dtype} with shape {values.shape}")
    return values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes(), values.dtype


def encode_stream(values: np.ndarray, backend: str, context: np.ndarray | None = None) -> bytes:
    raw, _ = _as_bytes(values)
    if backend == "lzma":
        return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 9}])
    if backend == "zstd":
        return zstandard.ZstdCompressor(level=19).compress(raw)
    raise ValueError(f"unknown entropy back-end {backend!r}; choose one of {', '.join(BACKENDS)}")


def decode_stream(
    data: bytes, backend: str, count: int, dtype, context: np.ndarray | None = None
) -> np.ndarray:
    dtype = np.dtype(dtype).newbyteorder("<")
    if not 0 <= count <= MAX_COUNT:
        raise LimitError(f"stream count {count} exceeds the limit {MAX_COUNT}")
    size = count * dtype.itemsize
    try:
        if backend == "lzma":
            dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}])
            raw = dec.decompress(bytes(data), max_length=size + 1)
        elif backend == "zstd":
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(bytes(data))[: size + 1]
        else:
            raise BitstreamFormatError(f"unknown entropy back-end {backend!r}")
    except (lzma.LZMAError, zstandard.ZstdError) as exc:
        raise BitstreamFormatError(f"{backend} stream is corrupt: {exc}") from None
    if len(raw) != size:
        raise BitstreamFormatError(f"{backend} stream decodes to {len(raw)} bytes, expected {size}")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
