"""`splatcast package`: turn one .splc file into a DASH directory (``manifest.mpd`` + the .splc media itself).

The media is the .splc file unchanged (hard-linked when the file system allows, else copied): every
operating point is a set of byte ranges of it, fetched with HTTP Range requests, so no re-muxing is needed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from splatcast.dash.layout import build_mpd
from splatcast.dash.mpd import write_mpd
from splatcast.errors import SplatcastError

MANIFEST_NAME = "manifest.mpd"


def read_splc_index(path: Path):
    """Read only the preamble and header of a .splc file (never the whole file) -> StreamIndex."""
    from splatcast.codec.container import PREAMBLE_BYTES, header_length, read_index

    with open(path, "rb") as f:
        preamble = f.read(PREAMBLE_BYTES)
        n = header_length(preamble)
        f.seek(0)
        header = f.read(n)
    index = read_index(header)
    size = os.path.getsize(path)
    if index.total_bytes != size:
        raise SplatcastError(f"{path}: header says total_bytes={index.total_bytes}, file has {size} bytes")
    return index


def package(
    splc_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    title: str | None = None,
    nominal_duration_s: float = 1.0,
    index=None,
) -> Path:
    """Write ``out_dir/manifest.mpd`` and ``out_dir/<name>.splc``; returns the manifest path.

    `index` (a StreamIndex) may be passed when it is already known; otherwise the file's header is read.
    """
    src = Path(splc_path)
    out = Path(out_dir)
    if index is None:
        index = read_splc_index(src)
    out.mkdir(parents=True, exist_ok=True)
    media = out / src.name
    if media.resolve() != src.resolve():
        if media.exists():
            media.unlink()
        try:
            os.link(src, media)
        except OSError:
            shutil.copyfile(src, media)
    mpd = build_mpd(index, media_url=media.name, title=title or src.stem, nominal_duration_s=nominal_duration_s)
    manifest = out / MANIFEST_NAME
    manifest.write_bytes(write_mpd(mpd))
    return manifest
