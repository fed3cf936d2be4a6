"""Camera conventions: OpenCV axes, pixel centres, orbits fitted to a scene, NeRF transforms, up-axis guess."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import camera_at_origin, random_cloud

from splatcast.errors import FormatError, SceneError
from splatcast.render.camera import Camera, guess_up_axis, load_nerf_transforms, orbit_cameras
from splatcast.render.rasterize import render
from splatcast.scene.cloud import GaussianCloud


def dot_at(point, colour=(1.0, 1.0, 1.0)) -> GaussianCloud:
    cloud = GaussianCloud.zeros(1, 0)
    cloud.means[0] = point
    cloud.scales[:] = math.log(0.002)
    cloud.opacities[:] = 5.0
    cloud.sh_dc[0] = (np.asarray(colour) - 0.5) / 0.28209479177387814
    return cloud


def pix(cam, point) -> tuple[float, float, float]:
    """(u, v, depth) of one world point."""
    uv, z = cam.project(np.asarray(point, np.float64).reshape(1, 3))
    return float(uv[0, 0]), float(uv[0, 1]), float(z[0])


def brightest_pixel(image) -> tuple[int, int]:
    r, c = np.unravel_index(np.argmax(image.sum(axis=2)), image.shape[:2])
    return int(r), int(c)


def test_point_lands_on_expected_pixel():
    cam = camera_at_origin(64, 48, f=100.0)  # cx = 32, cy = 24
    # u = 100 * 0.0525 + 32 = 37.25 -> column 37; v = 100 * (-0.0475) + 24 = 19.25 -> row 19 (y is down)
    point = np.array([0.0525, -0.0475, 1.0]) * 2.0
    u, v, z = pix(cam, point)
    assert (u, v) == pytest.approx((37.25, 19.25)) and z == pytest.approx(2.0)
    assert brightest_pixel(render(dot_at(point), cam)) == (19, 37)


def test_look_at_keeps_up_up_and_right_right():
    cam = Camera.look_at(eye=[0, -5, 0], target=[0, 0, 0], up=[0, 0, 1], width=40, height=40)
    np.testing.assert_allclose(cam.center, [0, -5, 0], atol=1e-12)
    np.testing.assert_allclose(cam.forward, [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(cam.rotation), 1.0)  # a rotation, never a mirror
    uc, vc, _ = pix(cam, [0, 0, 0])
    assert (uc, vc) == pytest.approx((20, 20))
    # looking along +y with +z up, +x is on the right and +z above
    ux, _, _ = pix(cam, [0.5, 0, 0])
    _, vz, _ = pix(cam, [0, 0, 0.5])
    assert ux > 20 and vz < 20
    row, col = brightest_pixel(render(dot_at([0.8, 0, 0.8]), cam))
    assert col > 20 and row < 20


def test_look_at_rejects_degenerate_poses():
    with pytest.raises(SceneError):
        Camera.look_at([0, 0, 0], [0, 0, 0], [0, 0, 1], 8, 8)
    with pytest.raises(SceneError):
        Camera.look_at([0, 0, 5], [0, 0, 0], [0, 0, 1], 8, 8)


def test_orbit_cameras_look_at_the_centre(rng):
    cloud = random_cloud(500, 0, rng, spread=1.0, centre=(3.0, -1.0, 2.0))
    cams = orbit_cameras(cloud, 6, 80, 60, elevation_deg=25.0, up="+z")
    lo, hi = cloud.robust_bounds()
    centre = (lo + hi) / 2.0
    distances = [np.linalg.norm(c.center - centre) for c in cams]
    np.testing.assert_allclose(distances, distances[0])
    for cam in cams:
        u, v, z = pix(cam, centre)
        assert (u, v) == pytest.approx((40, 30))
        assert z > 0
        elevation = math.degrees(math.asin((cam.center - centre)[2] / np.linalg.norm(cam.center - centre)))
        assert elevation == pytest.approx(25.0)
        _, v_up, _ = pix(cam, centre + [0, 0, 0.3])
        assert v_up < 30  # up is up on screen
        # the robust bounding box is fully in view
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        uv, _ = cam.project(corners)
        assert (uv >= 0).all() and (uv[:, 0] <= 80).all() and (uv[:, 1] <= 60).all()
    again = orbit_cameras(cloud, 6, 80, 60, elevation_deg=25.0, up="+z")
    assert all(np.array_equal(a.world_to_camera, b.world_to_camera) for a, b in zip(cams, again))


def test_orbit_up_argument_forms(rng):
    cloud = random_cloud(100, 0, rng)
    a = orbit_cameras(cloud, 2, 16, 16, up="-y")
    b = orbit_cameras(cloud, 2, 16, 16, up=(0.0, -2.0, 0.0))
    assert all(np.allclose(x.world_to_camera, y.world_to_camera) for x, y in zip(a, b))
    for bad in ("w", (0, 0, 0), (1, 2)):
        with pytest.raises(SceneError):
            orbit_cameras(cloud, 2, 16, 16, up=bad)
    with pytest.raises(SceneError):
        orbit_cameras(cloud, 0, 16, 16)


def test_guess_up_axis_on_built_in_scene():
    from splatcast.scene.default import lab_bench

    assert guess_up_axis(lab_bench(2000)) == "+z"


def test_guess_up_axis_on_real_scenes(shared_data):
    pytest.importorskip("splatcast.scene.formats")
    from splatcast.scene.formats import read_scene

    assert guess_up_axis(read_scene(shared_data / "scenes/statues/angel.sog")) == "-y"  # tall statue, y down
    assert guess_up_axis(read_scene(shared_data / "scenes/playbot-lod/6_0")) == "-y"  # ground plane, y down


def test_camera_validation():
    with pytest.raises(SceneError):
        Camera(0, 10, 1, 1, 0, 0, np.eye(4))
    with pytest.raises(SceneError):
        Camera(10, 10, -1, 1, 0, 0, np.eye(4))
    with pytest.raises(SceneError):
        Camera(10, 10, 1, 1, np.nan, 0, np.eye(4))


def test_resized_camera_keeps_the_view():
    cam = Camera.look_at([1, 2, 3], [0, 0, 0], [0, 0, 1], 100, 50)
    small = cam.resized(50, 25)
    p = np.array([[0.1, -0.2, 0.3]])
    np.testing.assert_allclose(small.project(p)[0], cam.project(p)[0] / 2)


def write_transforms(path, frames, angle_x=0.7):
    path.write_text(json.dumps({"camera_angle_x": angle_x, "frames": frames}))
    return path


def test_nerf_transforms_blender_axes(tmp_path):
    # Blender camera at (0, -4, 0) looking along +y (its -z axis) with +z world up (its +y axis)
    c2w = np.array([[1, 0, 0, 0], [0, 0, -1, -4], [0, 1, 0, 0], [0, 0, 0, 1]], float).tolist()
    path = write_transforms(tmp_path / "transforms.json", [{"file_path": "./r_0", "transform_matrix": c2w}])
    cams, images = load_nerf_transforms(path, 200, 100)
    (cam,) = cams
    assert images == [(tmp_path / "r_0.png").resolve()]
    assert (cam.width, cam.height, cam.cx, cam.cy) == (200, 100, 100, 50)
    assert cam.fx == pytest.approx(100 / math.tan(0.35)) and cam.fy == cam.fx
    np.testing.assert_allclose(cam.center, [0, -4, 0], atol=1e-12)
    u0, v0, z0 = pix(cam, [0, 0, 0])
    assert (u0, v0, z0) == pytest.approx((100, 50, 4))  # the origin is straight ahead, 4 in front
    ux, _, _ = pix(cam, [0.5, 0, 0])
    _, vz, _ = pix(cam, [0, 0, 0.5])
    assert ux > 100 and vz < 50  # Blender's +x is right, +z (camera +y) is up


def test_nerf_transforms_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError):
        load_nerf_transforms(bad, 8, 8)
    write_transforms(bad, [{"file_path": "a", "transform_matrix": [[1, 0], [0, 1]]}])
    with pytest.raises(FormatError, match="transform_matrix"):
        load_nerf_transforms(bad, 8, 8)
    bad.write_text(json.dumps({"frames": []}))
    with pytest.raises(FormatError, match="camera_angle_x"):
        load_nerf_transforms(bad, 8, 8)


def test_lego_transforms(shared_data):
    path = shared_data / "datasets/lego-train/transforms_train.json"
    if not path.is_file():
        pytest.skip("lego transforms absent")
    cams, images = load_nerf_transforms(path)
    assert len(cams) == len(images) == 100
    assert images[0].is_file() and images[0].name == "r_0.png"
    assert (cams[0].width, cams[0].height) == (800, 800)  # read from the first image
    meta = json.loads(path.read_text())
    for cam, frame in zip(cams, meta["frames"]):
        c2w = np.array(frame["transform_matrix"])
        np.testing.assert_allclose(cam.center, c2w[:3, 3], atol=1e-6)
        # the dataset's cameras all aim at the world origin, with Blender's +z up on screen
        u, v, z = pix(cam, [0, 0, 0])
        assert z > 0 and abs(u - 400) < 40 and abs(v - 400) < 40
        _, v_up, _ = pix(cam, [0, 0, 0.5])
        assert v_up < v
