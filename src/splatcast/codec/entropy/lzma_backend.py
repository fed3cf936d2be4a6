"""``lzma`` back-end (wire id 1, the paper's practical choice): raw LZMA2 behind a one-byte dictionary-size property.

Payload: ``u8 dict_prop`` (the LZMA2 dictionary-size byte of the xz format, 0..40) followed by a raw LZMA2 chunk
stream ending with its 0x00 end marker. The dictionary is sized to the input (>= 4 KiB, <= 64 MiB) so decoders
allocate no more than the data needs. Decoding stops after count * itemsize + 1 bytes (no decompression bombs).
"""

from __future__ import annotations

import lzma

from splatcast.errors import BitstreamFormatError, LimitError, TruncatedError

MIN_DICT_BYTES = 1 << 12
MAX_DICT_BYTES = 1 << 26


def dict_size_from_prop(prop: int) -> int:
    """xz LZMA2 property byte -> dictionary bytes: (2 | (prop & 1)) << (prop // 2 + 11)."""
    return (2 | (prop & 1)) << (prop // 2 + 11)


def _prop_for(size: int) -> int:
    for prop in range(0, 40):
        if dict_size_from_prop(prop) >= min(max(size, MIN_DICT_BYTES), MAX_DICT_BYTES):
            return prop
    raise AssertionError("unreachable")


def encode(raw: bytes, preset: int = 9) -> bytes:
    prop = _prop_for(len(raw))
    filters = [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": dict_size_from_prop(prop)}]
    return bytes([prop]) + lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filters)


def decode(data: bytes, size: int) -> bytes:
    """Payload -> exactly ``size`` bytes (the caller checked size against its limit)."""
    if not data:
        raise TruncatedError("lzma payload is empty; expected the dictionary-size byte")
    prop = data[0]
    if prop > 40:
        raise BitstreamFormatError(f"lzma payload: dict_prop = {prop} at offset 0, expected 0..40")
    dict_bytes = dict_size_from_prop(prop)
    if dict_bytes > MAX_DICT_BYTES:
        raise LimitError(f"lzma payload: dictionary of {dict_bytes} bytes exceeds the limit {MAX_DICT_BYTES}")
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": dict_bytes}])
    try:
        raw = dec.decompress(bytes(data[1:]), max_length=size + 1)
    except lzma.LZMAError as exc:
        raise BitstreamFormatError(f"lzma payload is corrupt: {exc}") from None
    if len(raw) > size:
        raise BitstreamFormatError(f"lzma payload decodes to more than the expected {size} bytes")
    if not dec.eof:
        if len(raw) < size or dec.needs_input:
            raise TruncatedError(f"lzma payload ends before its end marker ({len(raw)} of {size} bytes decoded)")
        raise BitstreamFormatError(f"lzma payload holds more than the expected {size} bytes")
    if dec.unused_data:
        raise BitstreamFormatError(f"lzma payload has {len(dec.unused_data)} bytes after its end marker")
    return raw
