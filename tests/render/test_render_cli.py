"""``splatcast render`` and ``splatcast compare`` on the built-in scene (no file formats involved)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from splatcast.cli.main import main


def test_render_writes_png_and_times(tmp_path, capsys):
    out = tmp_path / "view.png"
    rc = main(["render", "default", "-o", str(out), "--width", "48", "--height", "32", "--orbit", "4", "--view", "1",
               "--background", "1,1,1", "--repeat", "2", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["width"] == 48 and result["height"] == 32 and result["repeat"] == 2
    assert result["render_s"] > 0 and result["gaussians"] > 0
    pixels = np.asarray(Image.open(out))
    assert pixels.shape == (32, 48, 3)
    assert (pixels == 255).all(axis=2).mean() > 0.3  # white background around the bench
    assert (pixels < 200).any()  # and the bench itself


def test_render_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["render", "default", "--orbit", "4", "--view", "4", "--width", "8"]) == 2
    assert "--view" in capsys.readouterr().err
    assert main(["render", "default", "--background", "1,2", "--width", "8"]) == 2
    assert main(["render", "default", "--up", "sideways", "--width", "8"]) == 2
    assert main(["render", "default", "--transforms", str(tmp_path / "missing.json")]) == 2


def test_render_with_nerf_transforms(tmp_path, capsys):
    c2w = [[1, 0, 0, 0], [0, 0, -1, -3], [0, 1, 0, 0.3], [0, 0, 0, 1]]
    (tmp_path / "t.json").write_text(json.dumps({"camera_angle_x": 0.9, "frames": [
        {"file_path": "a", "transform_matrix": c2w}]}))
    out = tmp_path / "t.png"
    assert main(["render", "default", "--transforms", str(tmp_path / "t.json"), "--frame", "0", "--width", "40",
                 "-o", str(out)]) == 0
    assert Image.open(out).size == (40, 40)
    assert main(["render", "default", "--transforms", str(tmp_path / "t.json"), "--frame", "1"]) == 2


def test_compare_identical_scenes_json(capsys):
    assert main(["compare", "default", "default", "--views", "2", "--width", "24", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["psnr"] is None and result["per_view_psnr"] == [None, None]  # identical: infinite PSNR -> null
    assert result["ssim"] == 1.0 and result["views"] == 2


def test_render_without_output_writes_a_named_image_here(tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    assert main(["render", "default", "--width", "16", "--orbit", "4", "--view", "2"]) == 0
    assert Image.open(tmp_path / "default_view2.png").size == (16, 16)
    assert "default_view2.png" in capsys.readouterr().err
    assert main(["render", "default", "--width", "16", "--no-output", "--view", "1"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default_view2.png"]
