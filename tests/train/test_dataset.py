"""NeRF-synthetic loading: cameras, compositing, resizing, the every-8th split, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splatcast.errors import FormatError
from splatcast.train.dataset import load_nerf_synthetic

from train_helpers import small_scene_cloud, write_nerf_dataset

LEGO = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "datasets" / "lego-train"


def test_synthetic_dataset_round_trip(tmp_path):
    cams = write_nerf_dataset(tmp_path, small_scene_cloud(), n_views=10, size=32)
    ds = load_nerf_synthetic(tmp_path, resolution=None, background="black")
    assert [v.name for v in ds.test] == ["r_0", "r_8"]
    assert len(ds.train) == 8 and ds.split_rule.startswith("every 8")
    view = ds.train[0]  # r_1
    np.testing.assert_allclose(view.camera.world_to_camera, cams[1].world_to_camera, atol=1e-6)
    assert view.camera.fx == pytest.approx(cams[1].fx)
    np.testing.assert_array_equal(view.image[:4, :4], 0.0)  # transparent corner -> black background
    white = load_nerf_synthetic(tmp_path, resolution=16, background="white")
    assert white.train[0].image.shape == (16, 16, 3)
    assert white.train[0].camera.width == 16 and white.train[0].camera.fx == pytest.approx(cams[1].fx / 2)
    np.testing.assert_allclose(white.train[0].image[:2, :2], 1.0)
    assert ds.extent == pytest.approx(1.1 * 3.0, rel=1e-6)  # ring of radius 3 around the cameras' mean


def test_bad_inputs(tmp_path):
    with pytest.raises(FormatError, match="no such"):
        load_nerf_synthetic(tmp_path / "missing")
    with pytest.raises(FormatError, match="transforms_train"):
        load_nerf_synthetic(tmp_path)
    write_nerf_dataset(tmp_path, small_scene_cloud(), n_views=2, size=16)
    (tmp_path / "train" / "r_1.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match="r_1"):
        load_nerf_synthetic(tmp_path)
    (tmp_path / "train" / "r_1.png").unlink()
    with pytest.raises(FormatError, match="not found"):
        load_nerf_synthetic(tmp_path)
    with pytest.raises(FormatError, match="background"):
        load_nerf_synthetic(tmp_path, background="green")


@pytest.mark.skipif(not LEGO.exists(), reason="lego dataset not available")
def test_lego_at_low_resolution():
    ds = load_nerf_synthetic(LEGO, resolution=32)
    assert len(ds.train) + len(ds.test) == 100 and len(ds.test) == 13
    assert ds.train[0].image.shape == (32, 32, 3)
    assert 0.5 < ds.train[0].image.mean() < 1.0  # mostly white background
    assert 4.0 < ds.extent < 6.0
