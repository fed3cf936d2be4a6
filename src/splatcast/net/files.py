"""What the server may hand out and which bytes: path confinement to the served directory and byte-range parsing
(RFC 9110 section 14). Shared by the HTTP handler and the WebRTC data-channel handler so both answer identically.
Pure logic plus ``stat``/``open``; no sockets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from splatcast.errors import NetworkError

CONTENT_TYPES = {".mpd": "application/dash+xml", ".json": "application/json"}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_PATH_CHARS = 1024


class RequestError(NetworkError):
    """A request the server answers with a 4xx: `status` and a one-line message (`request_id`: the WebRTC request's
    id, 0 when it is unknown). A NetworkError, so that bad input from outside is one hierarchy (splatcast.errors)."""

    request_id = 0

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), DEFAULT_CONTENT_TYPE)


def resolve_path(root: Path, url_path: str) -> Path:
    """Map a decoded URL path onto a regular file inside `root` (already resolved). Refuses '..' segments, NUL,
    absolute tricks and symlinks whose target leaves `root` (the resolved path must stay inside it)."""
    if len(url_path) > MAX_PATH_CHARS or "\x00" in url_path:
        raise RequestError(400, "bad path")
    parts = [p for p in url_path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise RequestError(403, "path leaves the served directory")
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise RequestError(404, "not found") from None
    except (OSError, RuntimeError):  # symlink loops, permission problems
        raise RequestError(403, "not accessible") from None
    if real != root and root not in real.parents:
        raise RequestError(403, "path leaves the served directory")
    if not real.is_file():
        raise RequestError(404, "not found")
    return real


# at most 20 digits per number (any u64): longer ones are malformed, never handed to int() (which raises a bare
# ValueError beyond 4300 digits and costs quadratic time below that)
_RANGE_RE = re.compile(r"^\s*(\d{0,20})\s*-\s*(\d{0,20})\s*$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


def parse_range_header(value: str | None, size: int) -> ByteRange | None:
    """`Range` header -> the one satisfiable range, None for "send the whole file" (no header, other unit).

    Raises RequestError(416) for malformed, unsatisfiable or multiple ranges (multipart answers are not
    implemented; a client of this server asks for one range at a time)."""
    if value is None:
        return None
    unit, sep, spec = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None  # RFC 9110: a range unit the server does not understand is ignored
    if "," in spec:
        raise RequestError(416, "multiple ranges are not supported")
    m = _RANGE_RE.match(spec)
    if m is None or (m.group(1) == "" and m.group(2) == ""):
        raise RequestError(416, f"malformed range {value[:64]!r}")
    first, last = m.group(1), m.group(2)
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RequestError(416, f"unsatisfiable range {value[:64]!r} for {size} bytes")
        return ByteRange(max(0, size - n), size)
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        raise RequestError(416, f"malformed range {value[:64]!r}: last < first")
    if start >= size:
        raise RequestError(416, f"unsatisfiable range {value[:64]!r} for {size} bytes")
    return ByteRange(start, end)


def check_range(start: int, end_exclusive: int, size: int) -> ByteRange:
    """A range given as numbers (WebRTC requests): must lie inside the file and be non-empty."""
    if not (0 <= start < end_exclusive <= size):
        raise RequestError(416, f"unsatisfiable range [{start}, {end_exclusive}) for {size} bytes")
    return ByteRange(start, end_exclusive)


def read_pieces(path: Path, rng: ByteRange, piece_bytes: int):
    """Yield the bytes of `rng` of the file in pieces of at most piece_bytes (page-cache reads are fast enough
    to do inline in the event loop for the sizes served here)."""
    with open(path, "rb") as f:
        f.seek(rng.start)
        left = rng.length
        while left > 0:
            piece = f.read(min(piece_bytes, left))
            if not piece:
                raise RequestError(500, "file shrank while being served")
            left -= len(piece)
            yield piece


def file_size(path: Path) -> int:
    return os.stat(path).st_size
