"""One fuzz target per parser of untrusted input. A target gets arbitrary bytes; the parser may reject them only
with the project's own errors (SplatcastError, or RequestError for the server's request parsing). Anything else
escaping a target is a finding."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

# imported here, not inside the targets: fuzz.run imports this module under atheris' instrumentation, which covers
# only modules imported while it is active
from splatcast.codec import decode as decode_splc
from splatcast.codec.container import read_index
from splatcast.codec.entropy import decode_stream
from splatcast.dash.layout import interpret_mpd
from splatcast.dash.mpd import parse_mpd
from splatcast.errors import SplatcastError
from splatcast.net.files import RequestError, parse_range_header, resolve_path
from splatcast.net.webrtc import Frame, Request
from splatcast.scene.formats import read_scene
from splatcast.scene.formats.gltf import read_gltf_bytes
from splatcast.scene.formats.spz import read_spz_bytes

EXPECTED = (SplatcastError, RequestError)
_TMP = Path(tempfile.mkdtemp(prefix="splatcast-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


def container(data: bytes) -> None:
    """.splc: the index, then decoding whatever the file holds (prefix rules, every layer)."""
    read_index(data)
    decode_splc(data)


def _stream(backend: str, data: bytes) -> None:
    if len(data) < 4:
        return
    count = struct.unpack_from("<H", data)[0] % 4097
    dtype = (np.int8, np.int16, np.int32)[data[2] % 3]
    ctx = None if data[3] & 1 == 0 else (np.arange(count) % (1 + data[3] % 7)).astype(np.int32)
    decode_stream(data[4:], backend, count, dtype, ctx)


def rans(data: bytes) -> None:
    _stream("rans", data)


def irans(data: bytes) -> None:
    _stream("irans", data)


def zstd(data: bytes) -> None:
    _stream("zstd", data)


def lzma(data: bytes) -> None:
    _stream("lzma", data)


def _scene_file(suffix: str, data: bytes) -> None:
    path = _TMP / f"input{suffix}"
    path.write_bytes(data)
    read_scene(path)


def ply(data: bytes) -> None:
    _scene_file(".ply", data)


def compressed_ply(data: bytes) -> None:
    _scene_file(".compressed.ply", data)


def splat(data: bytes) -> None:
    _scene_file(".splat", data)


def spz(data: bytes) -> None:
    read_spz_bytes(data)


def sog(data: bytes) -> None:
    _scene_file(".sog", data)


def gltf(data: bytes) -> None:
    read_gltf_bytes(data)


def mpd(data: bytes) -> None:
    interpret_mpd(parse_mpd(data))


def http_range(data: bytes) -> None:
    """The server's Range header parsing and path confinement."""
    text = data.decode("latin-1")
    head, _, path = text.partition("\n")
    parse_range_header(head, 1 + len(data) * 1000)
    root = _TMP / "root"
    root.mkdir(exist_ok=True)
    (root / "scene.splc").write_bytes(b"x")
    resolve_path(root.resolve(), path)


def webrtc(data: bytes) -> None:
    """Data-channel requests (text) and response frames (binary) as the client reads them."""
    try:
        Request.parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    Frame.parse(data)


TARGETS = {f.__name__: f for f in (container, rans, irans, zstd, lzma, ply, compressed_ply, splat, spz, sog, gltf, mpd,
                                    http_range, webrtc)}
