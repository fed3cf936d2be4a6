"""LEB128 unsigned varints and a bounds-checked byte reader shared by the entropy back-ends' payload headers.

Every read checks the bytes that remain and raises :class:`TruncatedError` / :class:`BitstreamFormatError` naming the
field and the offset, so back-end parsers never see ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

from splatcast.errors import BitstreamFormatError, LimitError, TruncatedError

MAX_VARINT_BYTES = 10  # enough for any value < 2**64 (7 bits per byte)


def write_varint(out: bytearray, value: int) -> None:
    """Append ``value`` (0 <= value < 2**64) as LEB128: 7 bits per byte, least significant group first."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"varint value {value} out of range [0, 2**64)")
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


class ByteReader:
    """Sequential reader over an untrusted payload; ``where`` names the payload in error messages."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.where = where

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def u8(self, field: str) -> int:
        if self.pos >= len(self.data):
            raise TruncatedError(f"{self.where}: payload ends at offset {self.pos} before field {field!r} (1 byte)")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n: int, field: str) -> memoryview:
        if n < 0 or n > self.remaining:
            raise TruncatedError(
                f"{self.where}: field {field!r} at offset {self.pos} needs {n} bytes, {self.remaining} remain"
            )
        view = self.data[self.pos : self.pos + n]
        self.pos += n
        return view

    def varint(self, field: str, maximum: int) -> int:
        """Read a LEB128 varint and check ``value <= maximum`` (a limit, checked before the caller allocates)."""
        start = self.pos
        value = 0
        for i in range(MAX_VARINT_BYTES):
            if self.pos >= len(self.data):
                raise TruncatedError(f"{self.where}: payload ends inside varint {field!r} starting at offset {start}")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if byte < 0x80:
                if byte == 0 and i > 0:
                    raise BitstreamFormatError(
                        f"{self.where}: varint {field!r} at offset {start} is not minimally encoded"
                    )
                if value > maximum:
                    raise LimitError(f"{self.where}: {field} = {value} at offset {start} exceeds the limit {maximum}")
                return value
        raise BitstreamFormatError(f"{self.where}: varint {field!r} at offset {start} is longer than 10 bytes")
