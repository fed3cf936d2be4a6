"""NeRF-synthetic loading: cameras, compositing, resizing, the every-8th split, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from train_helpers import small_scene_cloud, write_nerf_dataset

from splatcast.errors import FormatError
from splatcast.train.dataset import load_nerf_synthetic

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
    with pytest.raises(FormatError, match="transforms_train.json or transforms.json"):
        load_nerf_synthetic(tmp_path)
    write_nerf_dataset(tmp_path, small_scene_cloud(), n_views=2, size=16)
    (tmp_path / "train" / "r_1.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match="r_1"):
        load_nerf_synthetic(tmp_path)
    (tmp_path / "train" / "r_1.png").unlink()  # a listed frame without its image: skipped, counted
    with pytest.raises(FormatError, match="no training views left"):
        load_nerf_synthetic(tmp_path)  # r_0 is the held-out view, r_1 is gone
    (tmp_path / "train" / "r_0.png").unlink()
    with pytest.raises(FormatError, match="2 listed images are missing"):
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


def _instant_ngp_folder(tmp_path, keep: int, missing: list[int], cx_shift: float):
    """A lego subset re-described as instant-ngp / nerfstudio write it: one transforms.json, pixel intrinsics
    (fl_x from camera_angle_x, an off-centre principal point), distortion keys, frames whose image is gone."""
    import json
    import math
    import shutil

    meta = json.loads((LEGO / "transforms_train.json").read_text())
    fl = 0.5 * 800 / math.tan(0.5 * meta["camera_angle_x"])
    frames = []
    (tmp_path / "images").mkdir()
    for i, frame in enumerate(meta["frames"][:keep]):
        name = f"images/frame_{i:03d}.png"
        if i not in missing:
            shutil.copyfile(LEGO / (frame["file_path"] + ".png"), tmp_path / name)
        frames.append({"file_path": name, "transform_matrix": frame["transform_matrix"]})
    out = {"fl_x": fl, "fl_y": fl, "cx": 400 + cx_shift, "cy": 400, "w": 800, "h": 800, "k1": -0.01, "p1": 0.001,
           "camera_model": "OPENCV", "frames": frames}
    (tmp_path / "transforms.json").write_text(json.dumps(out))
    return fl


@pytest.mark.skipif(not LEGO.exists(), reason="lego dataset not available")
def test_an_instant_ngp_folder_with_missing_frames_and_distortion(tmp_path):
    fl = _instant_ngp_folder(tmp_path, keep=12, missing=[3, 7], cx_shift=40)
    ds = load_nerf_synthetic(tmp_path, resolution=40)
    assert len(ds.train) + len(ds.test) == 10 and len(ds.skipped) == 2
    assert any("distortion (k1, p1)" in n for n in ds.notes) and any("2 listed frames" in n for n in ds.notes)
    cam = ds.train[0].camera  # 800 px -> 40 px: intrinsics scale by 1/20, the principal point stays off centre
    assert cam.width == 40 and cam.fx == pytest.approx(fl / 20) and cam.cx == pytest.approx(440 / 20)


@pytest.mark.skipif(not LEGO.exists(), reason="lego dataset not available")
def test_train_command_on_an_instant_ngp_folder(tmp_path, capsys):
    import json

    from splatcast.cli.main import main

    (tmp_path / "capture").mkdir()
    _instant_ngp_folder(tmp_path / "capture", keep=10, missing=[2], cx_shift=0)
    out = tmp_path / "model"
    args = ["train", str(tmp_path / "capture"), "-o", str(out), "--iterations", "20", "--resolution", "24",
            "--init-points", "500", "--eval-every", "10", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["skipped_frames"] == 1 and "distortion" in captured.err and (out / "iteration_20.ply").is_file()
    # a run that cannot start leaves no output folder behind
    for image in (tmp_path / "capture" / "images").iterdir():
        image.unlink()
    assert main(args[:3] + [str(tmp_path / "model2")] + args[4:]) == 2
    assert not (tmp_path / "model2").exists()


def _write_colmap_text(folder, cloud, cams, distortion=False):
    """A COLMAP text model as `colmap model_converter --output_type TXT` writes it: one camera, the orbit's poses
    (world-to-camera quaternion + translation, OpenCV axes), the scene's means as sparse points; images rendered."""
    from PIL import Image
    from scipy.spatial.transform import Rotation

    from splatcast.render.rasterize import render

    sparse = folder / "sparse" / "0"
    sparse.mkdir(parents=True)
    (folder / "images").mkdir()
    c = cams[0]
    model = f"OPENCV {c.width} {c.height} {c.fx} {c.fy} {c.cx} {c.cy} 0.01 0 0 0" if distortion else \
        f"PINHOLE {c.width} {c.height} {c.fx} {c.fy} {c.cx} {c.cy}"
    (sparse / "cameras.txt").write_text(f"# Camera list\n1 {model}\n")
    lines = ["# Image list"]
    for i, cam in enumerate(cams):
        qx, qy, qz, qw = Rotation.from_matrix(cam.world_to_camera[:3, :3]).as_quat()
        t = cam.world_to_camera[:3, 3]
        lines += [f"{i + 1} {qw} {qx} {qy} {qz} {t[0]} {t[1]} {t[2]} 1 view_{i:02d}.png", ""]
        rgb = np.clip(np.asarray(render(cloud, cam, (1.0, 1.0, 1.0))), 0, 1)
        Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(folder / "images" / f"view_{i:02d}.png")
    (sparse / "images.txt").write_text("\n".join(lines) + "\n")
    pts = [f"{j + 1} {x} {y} {z} 128 64 32 0.5" for j, (x, y, z) in enumerate(cloud.means[:50].tolist())]
    (sparse / "points3D.txt").write_text("# 3D point list\n" + "\n".join(pts) + "\n")


def test_a_colmap_text_model(tmp_path):
    from train_helpers import orbit

    cloud = small_scene_cloud()
    cams = orbit(9, 32)
    _write_colmap_text(tmp_path, cloud, cams)
    (tmp_path / "images" / "view_04.png").unlink()  # registered, but its file is gone
    ds = load_nerf_synthetic(tmp_path, resolution=None)
    views = ds.train + ds.test
    assert len(views) == 8 and len(ds.skipped) == 1 and ds.split_rule.startswith("every 8")
    by_name = {v.name: v for v in views}
    for i in (0, 3, 8):  # the poses come back as written (oracle: the orbit's own cameras)
        got = by_name[f"view_{i:02d}"].camera
        np.testing.assert_allclose(got.world_to_camera, cams[i].world_to_camera, atol=1e-9)
        assert (got.fx, got.cx) == pytest.approx((cams[i].fx, cams[i].cx))
    np.testing.assert_allclose(ds.points, cloud.means[:50], atol=1e-6)
    np.testing.assert_allclose(ds.point_colors[0], [128 / 255, 64 / 255, 32 / 255])


def test_a_distorted_colmap_camera_is_noted_and_training_starts_from_its_points(tmp_path):
    from train_helpers import orbit

    from splatcast.train.trainer import TrainConfig, Trainer

    cloud = small_scene_cloud()
    _write_colmap_text(tmp_path, cloud, orbit(9, 24), distortion=True)
    ds = load_nerf_synthetic(tmp_path)
    assert any("OPENCV" in n and "distortion" in n for n in ds.notes)
    trainer = Trainer(ds, TrainConfig(iterations=3, seed=0))
    np.testing.assert_allclose(trainer.params["means"], cloud.means[:50], atol=1e-6)
    trainer.step()
    from splatcast.cli.main import main

    out = tmp_path / "model"
    assert main(["train", str(tmp_path), "-o", str(out), "--iterations", "10", "--eval-every", "5", "--json"]) == 0
    assert (out / "iteration_10.ply").is_file()
