"""Truncated and byte-flipped files: the only exception a reader may raise is FormatError.

A flipped byte inside plain float data can still decode to a valid scene; then the result must be a well-formed,
finite cloud. Truncation must always be detected.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from format_fixtures import DATA, compressed_ply_bytes, random_cloud, sog_files, spz_legacy_bytes

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats import read_scene
from splatcast.scene.formats.ply import vertex_array
from splatcast.scene.formats.splat import splat_bytes
from splatcast.scene.formats.spz import spz_v4_bytes


def _ply_bytes(cloud: GaussianCloud) -> bytes:
    import io

    import plyfile

    buf = io.BytesIO()
    plyfile.PlyData([plyfile.PlyElement.describe(vertex_array(cloud), "vertex")], byte_order="<").write(buf)
    return buf.getvalue()


def _sog_zip_bytes(cloud: GaussianCloud) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sog_files(cloud).items():
            z.writestr(name, data)
    return buf.getvalue()


def synthetic_files() -> dict[str, bytes]:
    cloud = random_cloud(300, 1, seed=7)
    return {
        "scene.ply": _ply_bytes(cloud),
        "scene.compressed.ply": compressed_ply_bytes(cloud),
        "v4.spz": spz_v4_bytes(cloud),
        "v3.spz": spz_legacy_bytes(cloud, 3, "gzip"),
        "v2z.spz": spz_legacy_bytes(cloud, 2, "zstd"),
        "scene.splat": splat_bytes(cloud),
        "scene.sog": _sog_zip_bytes(random_cloud(60, 1, seed=8)),
    }


SYNTHETIC = synthetic_files()
REAL = ["statues/angel.compressed.ply", "statues/trumpet.sog", "biker/biker.spz"]


def _real_bytes(rel: str) -> bytes:
    path = DATA / rel
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path.read_bytes()


def _read_or_format_error(path) -> None:
    try:
        cloud = read_scene(path)
    except FormatError as exc:
        assert str(exc)  # a message, one line
        assert "\n" not in str(exc)
        return
    cloud.validate()


def _cuts(n: int) -> list[int]:
    return sorted({c for c in (0, 1, 3, 5, 15, 17, 31, 33, 100, n // 3, n // 2, n - 33, n - 1) if 0 <= c < n})


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_truncated_synthetic_files_raise_format_error(tmp_path, name):
    data = SYNTHETIC[name]
    for cut in _cuts(len(data)):
        path = tmp_path / name
        path.write_bytes(data[:cut])
        if name.endswith(".splat") and cut % 32 == 0:
            continue  # a shorter whole-record .splat is a valid smaller scene
        with pytest.raises(FormatError):
            read_scene(path)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_flipped_bytes_in_synthetic_files(tmp_path, name):
    rng = np.random.default_rng(0)
    data = SYNTHETIC[name]
    for trial in range(25):
        bad = bytearray(data)
        # half the flips land in the first 64 bytes, where headers live
        for pos in rng.integers(0, min(64, len(data)) if trial % 2 else len(data), size=1 + trial % 3):
            bad[pos] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / name
        path.write_bytes(bytes(bad))
        _read_or_format_error(path)


@pytest.mark.parametrize("rel", REAL)
def test_truncated_and_flipped_real_files(tmp_path, rel):
    data = _real_bytes(rel)
    path = tmp_path / rel.rsplit("/", 1)[-1]
    for cut in (0, 10, 100, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError):
            read_scene(path)
    rng = np.random.default_rng(1)
    for trial in range(6):
        bad = bytearray(data)
        for pos in rng.integers(0, 200 if trial % 2 else len(data), size=4):
            bad[pos] ^= 0xFF
        path.write_bytes(bytes(bad))
        _read_or_format_error(path)


def test_damaged_sog_folder(tmp_path):
    src = DATA / "playbot-lod" / "6_0"
    if not src.is_dir():
        pytest.skip(f"{src} is absent")
    rng = np.random.default_rng(2)
    names = sorted(p.name for p in src.iterdir())
    for name in names:
        folder = tmp_path / name
        shutil.copytree(src, folder)
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(FormatError):
            read_scene(folder)
        bad = bytearray(data)
        for pos in rng.integers(0, len(data), size=3):
            bad[pos] ^= 0x5A
        (folder / name).write_bytes(bytes(bad))
        _read_or_format_error(folder)
