"""A strict, bounded pre-scan of a PLY header, done before plyfile touches the body.

Owns: recognising a PLY file, listing its elements/properties, and checking that every claimed element count fits
in the bytes that follow the header (so a header claiming 10^12 vertices is rejected before plyfile allocates for
it). plyfile then parses the body; this module never decodes values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from splatcast.errors import FormatError
from splatcast.scene.formats.common import check_count

MAX_HEADER_BYTES = 1 << 20
PLY_TYPE_BYTES = {
    "char": 1, "int8": 1, "uchar": 1, "uint8": 1,
    "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
    "int": 4, "int32": 4, "uint": 4, "uint32": 4,
    "float": 4, "float32": 4, "double": 8, "float64": 8,
}  # fmt: skip
# the shortest text one ascii value can take ("0" and a separator)
_MIN_ASCII_BYTES_PER_VALUE = 2


@dataclass
class PlyElementInfo:
    name: str
    count: int
    properties: list[tuple[str, str]] = field(default_factory=list)  # (name, PLY type)

    @property
    def row_bytes(self) -> int:
        return sum(PLY_TYPE_BYTES[t] for _, t in self.properties)

    def names(self) -> list[str]:
        return [n for n, _ in self.properties]


@dataclass
class PlyHeaderInfo:
    format: str  # "binary_little_endian" | "binary_big_endian" | "ascii"
    header_bytes: int
    elements: list[PlyElementInfo]
    comments: list[str]

    def element(self, name: str) -> PlyElementInfo | None:
        for e in self.elements:
            if e.name == name:
                return e
        return None


def is_ply(prefix: bytes) -> bool:
    return prefix[:4] in (b"ply\n", b"ply\r")


def scan_ply_header(prefix: bytes, file_bytes: int, fmt: str = "PLY") -> PlyHeaderInfo:
    """Parse the header in ``prefix`` (the file's first bytes) and check counts against ``file_bytes``."""
    if not is_ply(prefix):
        raise FormatError(f"{fmt}: bad magic: expected b'ply\\n', got {prefix[:4]!r}")
    end = prefix.find(b"end_header")
    if end < 0:
        raise FormatError(f"{fmt}: no 'end_header' line in the first {len(prefix)} bytes")
    nl = prefix.find(b"\n", end)
    if nl < 0:
        raise FormatError(f"{fmt}: header line 'end_header' is not terminated by a newline")
    header_bytes = nl + 1
    try:
        text = prefix[:end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{fmt}: header has a non-ASCII byte at offset {exc.start}") from None

    fmt_name = None
    elements: list[PlyElementInfo] = []
    comments: list[str] = []
    for lineno, raw in enumerate(text.replace("\r", "").split("\n")[1:], start=2):
        words = raw.split()
        if not words:
            continue
        key = words[0]
        if key in ("comment", "obj_info"):
            comments.append(raw.partition(" ")[2])
        elif key == "format":
            if len(words) != 3 or words[1] not in ("ascii", "binary_little_endian", "binary_big_endian"):
                raise FormatError(f"{fmt}: header line {lineno}: bad format line {raw!r}")
            fmt_name = words[1]
        elif key == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise FormatError(f"{fmt}: header line {lineno}: bad element line {raw!r}")
            elements.append(PlyElementInfo(words[1], check_count(fmt, f"element {words[1]} count", int(words[2]))))
        elif key == "property":
            if not elements:
                raise FormatError(f"{fmt}: header line {lineno}: property before any element")
            if len(words) >= 2 and words[1] == "list":
                raise FormatError(f"{fmt}: header line {lineno}: list properties are not supported ({raw!r})")
            if len(words) != 3 or words[1] not in PLY_TYPE_BYTES:
                raise FormatError(f"{fmt}: header line {lineno}: bad property line {raw!r}")
            if words[2] in elements[-1].names():
                raise FormatError(f"{fmt}: header line {lineno}: duplicate property {words[2]!r}")
            elements[-1].properties.append((words[2], words[1]))
        else:
            raise FormatError(f"{fmt}: header line {lineno}: unknown keyword {key!r}")
    if fmt_name is None:
        raise FormatError(f"{fmt}: header has no 'format' line")

    body = file_bytes - header_bytes
    if fmt_name == "ascii":
        needed = sum(e.count * len(e.properties) * _MIN_ASCII_BYTES_PER_VALUE for e in elements) - 1
    else:
        needed = sum(e.count * e.row_bytes for e in elements)
    if needed > body:
        raise FormatError(
            f"{fmt}: truncated body: header claims "
            + ", ".join(f"{e.count} {e.name}" for e in elements)
            + f" needing {'at least ' if fmt_name == 'ascii' else ''}{needed} bytes, only {body} follow the header"
        )
    return PlyHeaderInfo(fmt_name, header_bytes, elements, comments)


def read_ply_header(path: str | os.PathLike, fmt: str = "PLY") -> PlyHeaderInfo:
    """Read at most the first MiB of ``path`` and scan its header."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(MAX_HEADER_BYTES)
    return scan_ply_header(prefix, size, fmt)


__all__ = ["PlyElementInfo", "PlyHeaderInfo", "is_ply", "read_ply_header", "scan_ply_header"]
