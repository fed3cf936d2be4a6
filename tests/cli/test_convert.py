"""`splatcast convert` on SPZ: the frame a file declares is reported, and an undeclared one gets a note on stderr
(issue 13: users got upside-down scenes without a word)."""

from __future__ import annotations

import pytest

from splatcast.cli.main import main
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import read_scene, write_scene


@pytest.mark.parametrize("axes, noted", [("auto", False), ("rub", False), ("raw", True)])
def test_an_spz_without_a_declared_frame_gets_a_note(tmp_path, capsys, axes, noted):
    cloud = lab_bench(200, seed=3)
    spz = tmp_path / "x.spz"
    write_scene(cloud, spz, spz_axes=axes)  # raw: stored unconverted and undeclared, as splat-transform 3.x does
    assert main(["convert", str(spz), str(tmp_path / "x.ply")]) == 0
    err = capsys.readouterr().err
    assert ("declares no coordinate frame" in err) == noted, err
    if noted:
        assert "--spz-axes raw" in err
        assert main(["convert", str(spz), str(tmp_path / "y.ply"), "--spz-axes", "raw"]) == 0
        assert "declares no" not in capsys.readouterr().err  # an explicit choice needs no note
        back = read_scene(tmp_path / "y.ply")
        assert abs(back.means - cloud.means).max() < 1e-3
