"""Scene file formats: recognise, read and write the files 3DGS tools ship.

Owns: one module per format (``ply`` INRIA 3DGS PLY, ``compressed_ply`` PlayCanvas chunked PLY, ``sog`` PlayCanvas
SOG v1/v2 bundled or unbundled, ``spz`` Niantic SPZ v2-v4, ``splat`` antimatter15, ``gltf`` binary glTF with
KHR_gaussian_splatting), format detection, and the shared
guards for untrusted input (``common``). Every reader returns a :class:`GaussianCloud` in the INRIA convention
(RDF axes, log scales, logit opacity, (w, x, y, z) quaternions, SH DC + rest) and raises
:class:`splatcast.errors.FormatError` on anything malformed. Does not own: splatcast's own bitstream (``.splc``,
recognised here but decoded by :mod:`splatcast.codec`).

Public API::

    read_scene(path) -> GaussianCloud
    write_scene(cloud, path, format=None) -> None  # .ply (INRIA), .compressed.ply, .sog, .splat, .spz (v4), .glb
    detect_format(path) -> str  # "ply" | "compressed_ply" | "sog" | "sog_dir" | "sog_lod" | "spz" | "splat" | "gltf"
                                # | "splc"
"""

from __future__ import annotations

import os
from pathlib import Path

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import ReaderLimits, reader_limits
from splatcast.scene.formats.compressed_ply import is_compressed_header, read_compressed_ply, write_compressed_ply
from splatcast.scene.formats.gltf import read_gltf, write_gltf
from splatcast.scene.formats.ply import read_ply, write_ply
from splatcast.scene.formats.ply_header import MAX_HEADER_BYTES, is_ply, read_ply_header
from splatcast.scene.formats.sog import lod_level_paths, read_sog, read_sog_lod
from splatcast.scene.formats.sog_writer import write_sog
from splatcast.scene.formats.splat import read_splat, read_splat_bytes, splat_bytes, write_splat
from splatcast.scene.formats.spz import read_spz, read_spz_bytes, spz_v4_bytes, write_spz

SPLC_MAGIC = b"SPLC"
FORMATS = ("ply", "compressed_ply", "sog", "sog_dir", "sog_lod", "spz", "splat", "gltf", "splc")
WRITABLE = {".ply": "ply", ".splat": "splat", ".spz": "spz", ".compressed.ply": "compressed_ply", ".glb": "gltf",
            ".sog": "sog"}

_READERS = {
    "ply": read_ply,
    "compressed_ply": read_compressed_ply,
    "sog": read_sog,
    "sog_dir": read_sog,
    "sog_lod": read_sog_lod,
    "spz": read_spz,
    "splat": read_splat,
    "gltf": read_gltf,
}
_WRITERS = {"ply": write_ply, "splat": write_splat, "spz": write_spz, "compressed_ply": write_compressed_ply,
            "gltf": write_gltf, "sog": write_sog}


def detect_format(path: str | os.PathLike) -> str:
    """Name the format of ``path`` from its content (magic bytes, PLY header, zip) and, for .splat, its extension."""
    p = Path(path)
    if p.is_dir():
        if (p / "meta.json").is_file():
            return "sog_dir"
        if (p / "lod-meta.json").is_file():
            return "sog_lod"
        raise FormatError(f"{p} is a folder without meta.json or lod-meta.json")
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", str(p))
    with open(p, "rb") as f:
        prefix = f.read(MAX_HEADER_BYTES)
    if prefix[:4] == SPLC_MAGIC:
        return "splc"
    if is_ply(prefix):
        return "compressed_ply" if is_compressed_header(read_ply_header(p)) else "ply"
    if prefix[:4] == b"glTF":
        return "gltf"
    if prefix[:4] == b"PK\x03\x04":
        return "sog"
    if prefix[:4] == b"NGSP" or prefix[:2] == b"\x1f\x8b" or prefix[:4] == b"\x28\xb5\x2f\xfd":
        return "spz"
    if p.name == "meta.json" and prefix.lstrip()[:1] == b"{":
        return "sog_dir"
    if p.name == "lod-meta.json" and prefix.lstrip()[:1] == b"{":
        return "sog_lod"
    if p.suffix.lower() == ".splat":
        return "splat"
    raise FormatError(f"{p}: unrecognised scene format (starts with {prefix[:8]!r}, extension {p.suffix!r})")


def read_scene(path: str | os.PathLike, spz_axes: str = "auto", limits: ReaderLimits | None = None) -> GaussianCloud:
    """Read any supported scene file or folder into a :class:`GaussianCloud` (``spz_axes``: see formats/spz.py;
    ``limits``: other bounds than the defaults, for a trusted file, common.ReaderLimits)."""
    if limits is not None:
        with reader_limits(limits):
            return read_scene(path, spz_axes)
    fmt = detect_format(path)
    if fmt == "splc":
        raise FormatError(f"{path} is a splatcast bitstream: decode it with splatcast.codec.decode")
    if fmt == "spz":
        return read_spz(path, spz_axes)
    return _READERS[fmt](path)


# names that end in a writable suffix but mean a format we do not write: refused, never written as something else
NOT_WRITABLE = {".gltf": "glTF as JSON (write binary .glb)", ".ksplat": "ksplat"}


def output_format(path: str | os.PathLike) -> str:
    """The format a path's name asks for (a value of WRITABLE); FormatError for every other name. The longest
    matching suffix decides, so ``x.compressed.ply`` is never written as a plain PLY."""
    name = Path(path).name.lower()
    for suffix in sorted({**WRITABLE, **NOT_WRITABLE}, key=len, reverse=True):
        if name.endswith(suffix):
            if suffix in NOT_WRITABLE:
                raise FormatError(f"cannot write {NOT_WRITABLE[suffix]} ({Path(path).name!r}); writable: "
                                  f"{_WRITABLE_TEXT}")
            return WRITABLE[suffix]
    raise FormatError(f"cannot tell the output format from {Path(path).name!r}: use {_WRITABLE_TEXT}")


_WRITABLE_TEXT = (".ply (INRIA), .compressed.ply (PlayCanvas), .sog (PlayCanvas SOG v2), .splat, .spz, "
                  ".glb (glTF KHR_gaussian_splatting)")


def write_scene(cloud: GaussianCloud, path: str | os.PathLike, format: str | None = None,
                spz_axes: str = "auto") -> None:
    """Write ``cloud``; the format is ``format`` ("ply", "splat", "spz") or follows the name (:func:`output_format`)."""
    if format is None:
        format = output_format(path)
    if format not in _WRITERS:
        raise FormatError(f"cannot write format {format!r}; writable: {sorted(_WRITERS)}")
    if format == "spz":
        write_spz(cloud, path, spz_axes)
        return
    _WRITERS[format](cloud, path)


__all__ = [
    "FORMATS",
    "ReaderLimits",
    "detect_format",
    "lod_level_paths",
    "output_format",
    "read_compressed_ply",
    "read_ply",
    "read_scene",
    "read_sog",
    "read_sog_lod",
    "read_splat",
    "read_splat_bytes",
    "read_spz",
    "read_spz_bytes",
    "reader_limits",
    "splat_bytes",
    "spz_v4_bytes",
    "write_compressed_ply",
    "write_ply",
    "write_scene",
    "write_splat",
    "write_spz",
]
