"""Integer arrays <-> the little-endian bytes that the byte-oriented back-ends (lzma, zstd, paq) compress."""

from __future__ import annotations

import numpy as np

from splatcast.errors import BitstreamFormatError


def to_le_bytes(values: np.ndarray) -> bytes:
    """[N] int array -> N * itemsize bytes, each value little-endian two's complement."""
    return np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<"), copy=False).tobytes()


def from_le_bytes(raw: bytes, count: int, dtype: np.dtype, backend: str) -> np.ndarray:
    size = count * dtype.itemsize
    if len(raw) != size:
        raise BitstreamFormatError(
            f"{backend} payload decodes to {len(raw)} bytes, expected {count} x {dtype} = {size}"
        )
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)
