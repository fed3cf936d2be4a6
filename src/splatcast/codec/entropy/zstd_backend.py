"""``zstd`` back-end (wire id 3): one standard Zstandard frame (RFC 8878), level 19 by default.

Payload: a single zstd frame with the content size in its header and no checksum (the container has chunk CRCs).
Decoding is bounded: the frame's declared content size must equal count * itemsize, the window is capped, and the
streaming reader never produces more than size + 1 bytes.
"""

from __future__ import annotations

import zstandard

from splatcast.errors import BitstreamFormatError, TruncatedError

MAX_WINDOW_BYTES = 1 << 27
DEFAULT_LEVEL = 19


def encode(raw: bytes, level: int = DEFAULT_LEVEL) -> bytes:
    return zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False).compress(raw)


def decode(data: bytes, size: int) -> bytes:
    data = bytes(data)
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError as exc:
        if len(data) < 18:
            raise TruncatedError(f"zstd payload of {len(data)} bytes ends inside the frame header: {exc}") from None
        raise BitstreamFormatError(f"zstd payload has no valid frame header: {exc}") from None
    if params.content_size != size:
        raise BitstreamFormatError(f"zstd frame declares {params.content_size} content bytes, expected {size}")
    try:
        dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW_BYTES)
        dobj = dctx.decompressobj()
        raw = dobj.decompress(data)  # the declared content size is bounded by the caller's limit (checked above)
        eof = dobj.eof
        unused = dobj.unused_data
    except zstandard.ZstdError as exc:
        raise BitstreamFormatError(f"zstd payload is corrupt: {exc}") from None
    if len(raw) > size:
        raise BitstreamFormatError(f"zstd payload decodes to more than the expected {size} bytes")
    if not eof:
        raise TruncatedError(f"zstd payload ends inside its frame ({len(raw)} of {size} bytes decoded)")
    if unused:
        raise BitstreamFormatError(f"zstd payload has {len(unused)} bytes after its frame")
    return raw
