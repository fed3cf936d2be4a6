"""``paq`` back-end (wire id 2): PyPI ``paq`` (a paq9a binding), the paper's slow, strong rate anchor.

Payload: ``u32 LE crc32`` of the rest, then paq9a's own stream: one or more blocks ``0x00``, ``'c'`` (0x63),
``u32 BE`` uncompressed size, ``u32 BE`` compressed size, compressed bytes (the model carries over between blocks).
paq9a itself is not safe on bad input: a truncated or altered stream can make it loop for ~4 GiB of output (measured:
a 2-byte prefix hangs) or produce garbage, and it holds the GIL, so it cannot be interrupted. Before calling it we
therefore check the CRC32 (catches accidental corruption) and that the block headers tile the payload exactly with
uncompressed sizes summing to count * itemsize (bounds its work to the expected output). Limitation: a payload
crafted to pass these checks still reaches paq9a's unchecked decoder; use ``rans`` / ``lzma`` for untrusted input.
"""

from __future__ import annotations

import struct
import zlib

from splatcast.errors import BitstreamFormatError, ChecksumError, TruncatedError

HEADER = struct.Struct("<I")
PAQ_PREFIX = b"\x00c"
PAQ_BLOCK_HEADER = struct.Struct(">2sII")  # 0x00 'c', uncompressed size, compressed size


def _paq():
    try:
        import paq
    except ImportError as exc:  # optional dependency (needs cython to build)
        raise BitstreamFormatError(f"the paq back-end needs the optional 'paq' package: {exc}") from None
    return paq


def encode(raw: bytes) -> bytes:
    body = _paq().compress(raw)
    return HEADER.pack(zlib.crc32(body)) + body


def decode(data: bytes, size: int) -> bytes:
    data = bytes(data)
    if len(data) < HEADER.size + PAQ_BLOCK_HEADER.size:
        raise TruncatedError(f"paq payload is {len(data)} bytes, shorter than its 14-byte header")
    (crc,) = HEADER.unpack_from(data)
    body = data[HEADER.size :]
    actual = zlib.crc32(body)
    if actual != crc:
        raise ChecksumError(f"paq payload CRC32 is {actual:#010x}, header says {crc:#010x}")
    pos, total = 0, 0
    while pos < len(body):
        if len(body) - pos < PAQ_BLOCK_HEADER.size:
            raise TruncatedError(f"paq payload ends inside a block header at offset {HEADER.size + pos}")
        prefix, usize, csize = PAQ_BLOCK_HEADER.unpack_from(body, pos)
        if prefix != PAQ_PREFIX:
            raise BitstreamFormatError(f"paq block at offset {HEADER.size + pos} starts with {prefix.hex()}, not 0063")
        pos += PAQ_BLOCK_HEADER.size + csize
        total += usize
        if pos > len(body) or total > size:
            raise BitstreamFormatError(
                f"paq block at offset {HEADER.size + pos}: sizes exceed the payload or the expected {size} bytes"
            )
    if total != size:
        raise BitstreamFormatError(f"paq blocks declare {total} bytes, expected {size}")
    raw = _paq().decompress(body)
    if len(raw) != size:
        raise BitstreamFormatError(f"paq payload decodes to {len(raw)} bytes, expected {size}")
    return raw
