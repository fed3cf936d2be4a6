"""`splatcast info` and `splatcast convert`, run in-process through the dispatcher."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from format_fixtures import DATA, random_cloud

from splatcast.cli.main import main
from splatcast.scene.formats import read_scene, write_scene


@pytest.fixture
def ply_file(tmp_path):
    cloud = random_cloud(40, 1, seed=3)
    path = tmp_path / "scene.ply"
    write_scene(cloud, path)
    return path, cloud


def test_info_json(ply_file, capsys):
    path, cloud = ply_file
    assert main(["info", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    facts = json.loads(out)
    assert list(facts) == sorted(facts)
    assert facts["format"] == "ply" and facts["count"] == 40 and facts["sh_degree"] == 1
    lo, hi = cloud.bounds()
    np.testing.assert_allclose(facts["bounds"], [lo, hi], rtol=1e-6)
    assert facts["bytes"] == path.stat().st_size
    assert facts["bytes_per_gaussian"] == pytest.approx(path.stat().st_size / 40)


def test_info_human(ply_file, capsys):
    path, _ = ply_file
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "format: ply" in out and "count: 40" in out and "sh_degree: 1" in out


def test_info_on_real_scene(capsys):
    path = DATA / "playbot-lod" / "6_0"
    if not path.is_dir():
        pytest.skip("../shared/data absent")
    assert main(["info", "--json", str(path)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["format"], facts["count"], facts["sh_degree"]) == ("sog_dir", 1873, 2)


@pytest.mark.parametrize("content", [b"garbage that is no scene", b"ply\nformat ascii 1.0\nend_header\n", b"NGSP\x04"])
def test_bad_file_exits_2_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("splatcast info: error:") and err.count("\n") == 1


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.ply")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_info_on_bitstream_uses_codec_describe(tmp_path, capsys, monkeypatch):
    path = tmp_path / "s.splc"
    path.write_bytes(b"SPLC" + bytes(28))
    fake = types.ModuleType("splatcast.codec.info")
    fake.describe = lambda p: {"magic": "SPLC", "path": p, "layers": 3}
    monkeypatch.setitem(sys.modules, "splatcast.codec.info", fake)
    assert main(["info", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"layers": 3, "magic": "SPLC", "path": str(path)}


@pytest.mark.parametrize("suffix", [".ply", ".spz", ".splat"])
def test_convert(ply_file, tmp_path, capsys, suffix):
    path, cloud = ply_file
    out = tmp_path / f"out{suffix}"
    assert main(["convert", str(path), str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == 40 and result["output_format"] == suffix[1:] and result["bytes"] == out.stat().st_size
    back = read_scene(out)
    assert len(back) == 40
    if suffix == ".ply":
        assert back.equals(cloud)
    else:
        np.testing.assert_allclose(back.means, cloud.means, atol=1e-3)


def test_convert_sh_degree_and_bad_extension(ply_file, tmp_path, capsys):
    path, _ = ply_file
    out = tmp_path / "out.ply"
    assert main(["convert", str(path), str(out), "--sh-degree", "0"]) == 0
    assert read_scene(out).sh_degree == 0
    assert "40 Gaussians" in capsys.readouterr().out
    assert main(["convert", str(path), str(tmp_path / "out.ksplat")]) == 2
    assert "cannot write ksplat" in capsys.readouterr().err
    # a name ending in .ply that asks for another format gets that format, not a plain PLY
    from splatcast.scene.formats import detect_format

    assert main(["convert", str(path), str(tmp_path / "out.compressed.ply")]) == 0
    assert detect_format(tmp_path / "out.compressed.ply") == "compressed_ply"
