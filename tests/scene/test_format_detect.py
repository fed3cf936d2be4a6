"""detect_format: content first (magic, PLY header, zip), extension only for headerless .splat."""

from __future__ import annotations

import pytest
from format_fixtures import compressed_ply_bytes, random_cloud, spz_legacy_bytes, write_sog_dir, write_sog_zip

from splatcast.errors import FormatError
from splatcast.scene.formats import FORMATS, detect_format, read_scene, write_scene
from splatcast.scene.formats.spz import spz_v4_bytes


def test_formats_by_content_not_extension(tmp_path):
    cloud = random_cloud(10, 1, seed=1)
    cases = {
        "a.bin": (spz_v4_bytes(cloud), "spz"),
        "b.bin": (spz_legacy_bytes(cloud, 3, "gzip"), "spz"),
        "c.bin": (spz_legacy_bytes(cloud, 2, "zstd"), "spz"),
        "d.ply": (compressed_ply_bytes(cloud), "compressed_ply"),
        "e.data": (b"SPLC\x01\x00" + bytes(30), "splc"),
    }
    for name, (data, fmt) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert detect_format(tmp_path / name) == fmt
        assert fmt in FORMATS
    write_scene(cloud, tmp_path / "f.ply")
    (tmp_path / "f.ply").rename(tmp_path / "f.whatever")
    assert detect_format(tmp_path / "f.whatever") == "ply"
    assert detect_format(write_sog_zip(cloud, tmp_path / "g.zip")) == "sog"
    assert detect_format(write_sog_dir(cloud, tmp_path / "h")) == "sog_dir"
    write_scene(cloud, tmp_path / "i.splat")
    assert detect_format(tmp_path / "i.splat") == "splat"


def test_unknown_content_and_folders_are_format_errors(tmp_path):
    (tmp_path / "x.dat").write_bytes(b"hello world")
    with pytest.raises(FormatError, match="unrecognised"):
        detect_format(tmp_path / "x.dat")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="meta.json"):
        detect_format(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        detect_format(tmp_path / "missing.ply")


def test_splc_is_recognised_but_not_read_here(tmp_path):
    (tmp_path / "s.splc").write_bytes(b"SPLC" + bytes(12))
    with pytest.raises(FormatError, match="splatcast.codec"):
        read_scene(tmp_path / "s.splc")


def test_write_scene_needs_a_writable_format(tmp_path):
    cloud = random_cloud(3, 0)
    with pytest.raises(FormatError, match="cannot write ksplat"):
        write_scene(cloud, tmp_path / "x.ksplat")
    with pytest.raises(FormatError, match="output format"):
        write_scene(cloud, tmp_path / "x.bin")
    with pytest.raises(FormatError, match="cannot write"):
        write_scene(cloud, tmp_path / "x.bin", format="sog_dir")
    write_scene(cloud, tmp_path / "x.bin", format="spz")
    assert detect_format(tmp_path / "x.bin") == "spz"
