"""LEB128 unsigned varints and a bounds-checked byte reader shared by the entropy back-ends' payload headers.

Every read checks the bytes that remain and raises :class:`TruncatedError` / :class:`BitstreamFormatError` naming the
field and the offset, so back-end parsers never see ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


@njit(cache=True, nogil=True)
def _read_varints(buf, pos, n, maximum, out):  # -> (position after the last good value, values read)
    """Up to n minimally encoded varints <= maximum (< 2**62) from buf[pos:]; stops at the first bad one."""
    for i in range(n):
        value = 0
        shift = 0
        good = False
        for b in range(9):  # 9 x 7 = 63 bits: anything longer exceeds every maximum used here
            if pos + b >= buf.shape[0]:
                return pos, i
            byte = np.int64(buf[pos + b])
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                good = not (byte == 0 and b > 0) and value <= maximum
                if good:
                    pos += b + 1
                break
            shift += 7
        if not good:
            return pos, i
        out[i] = value
    return pos, n


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

    def varints(self, n: int, field: str, maximum: int) -> np.ndarray:
        """``n`` varints, each checked ``<= maximum`` (< 2**62): one numba pass; the first bad value is re-read by
        :meth:`varint`, which raises the error naming it (the slow reference reads them one by one)."""
        if n > self.remaining:  # every varint takes at least one byte: refused before allocating
            raise TruncatedError(f"{self.where}: {n} values of {field!r} need >= {n} bytes, {self.remaining} remain")
        out = np.empty(n, np.int64)
        buf = np.frombuffer(self.data, np.uint8)
        pos, got = _read_varints(buf, self.pos, n, maximum, out)
        self.pos = int(pos)
        if got < n:
            self.varint(f"{field}[{got}]", maximum)  # raises for this value
            raise AssertionError("varint kernel and reference disagree")  # pragma: no cover (a bug, not input)
        return out

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
