"""The fast tile renderer against the slow per-pixel reference, plus closed-form checks of single Gaussians."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import camera_at_origin, random_cloud

from splatcast.errors import SceneError
from splatcast.render.camera import orbit_cameras
from splatcast.render.rasterize import blend_weights, render
from splatcast.render.reference import blend_weights_reference, render_reference
from splatcast.scene.cloud import SH_C0, GaussianCloud, logit

TOL = 1e-5  # float32 output of two float64 computations


def assert_same(cloud, camera, background=(0.0, 0.0, 0.0)):
    fast = render(cloud, camera, background)
    slow = render_reference(cloud, camera, background)
    assert fast.shape == slow.shape == (camera.height, camera.width, 3)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=TOL, rtol=0)
    return fast


@pytest.mark.parametrize("sh_degree", [0, 1, 2, 3])
def test_random_scenes_match_reference(rng, sh_degree):
    cloud = random_cloud(150, sh_degree, rng)
    for cam in orbit_cameras(cloud, 3, 45, 34, elevation_deg=30.0, up="+z"):
        img = assert_same(cloud, cam, (0.1, 0.2, 0.3))
        assert img.std() > 0.01  # something was drawn


def test_blend_weights_match_reference(rng):
    """Per-Gaussian blending weights of the tile renderer equal the per-pixel definition, and they add up to the
    image: with white colours and a black background, the pixel sum of the render is their sum."""
    cloud = random_cloud(150, 0, rng)
    for cam in orbit_cameras(cloud, 3, 45, 34, elevation_deg=30.0, up="+z"):
        fast, slow = blend_weights(cloud, cam), blend_weights_reference(cloud, cam)
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)
        assert (fast > 0).sum() > 20 and (fast >= 0).all()
        white = cloud.copy()
        white.sh_dc[:] = (1.0 - 0.5) / SH_C0  # colour exactly 1 in every channel
        image = render_reference(white, cam)
        assert math.isclose(image[..., 0].astype(np.float64).sum(), fast.sum(), rel_tol=1e-5)


def test_view_dependent_colour_changes_with_view(rng):
    cloud = random_cloud(60, 3, rng)
    flat = cloud.with_sh_degree(0)
    cam = orbit_cameras(cloud, 4, 32, 32)[1]
    assert np.abs(render(cloud, cam) - render(flat, cam)).max() > 0.05


def test_empty_scene_is_background():
    cam = camera_at_origin(20, 13)
    img = render(GaussianCloud.empty(2), cam, (0.25, 0.5, 1.0))
    assert img.shape == (13, 20, 3)
    np.testing.assert_array_equal(img, np.broadcast_to(np.float32([0.25, 0.5, 1.0]), img.shape))
    np.testing.assert_array_equal(img, render_reference(GaussianCloud.empty(2), cam, (0.25, 0.5, 1.0)))


def test_single_gaussian_matches_closed_form():
    # isotropic Gaussian on the optical axis at depth z, sigma s: screen sigma^2 = (f s / z)^2 + 0.3 px^2
    f, z, s, o = 50.0, 4.0, 0.2, 0.7
    cam = camera_at_origin(33, 33, f, cx=16.5, cy=16.5)  # mean lands on the centre of pixel (16, 16)
    cloud = GaussianCloud.zeros(1, 0)
    cloud.means[0] = [0, 0, z]
    cloud.scales[0] = math.log(s)
    cloud.opacities[0] = logit(np.float32(o))
    cloud.sh_dc[0] = (np.array([0.9, 0.4, 0.1]) - 0.5) / SH_C0
    bg = np.array([0.0, 0.0, 1.0])
    img = assert_same(cloud, cam, bg)
    var = (f * s / z) ** 2 + 0.3
    for dx in (0, 1, 3):
        alpha = float(np.float32(o)) * math.exp(-0.5 * dx * dx / var)
        expected = alpha * np.array([0.9, 0.4, 0.1]) + (1 - alpha) * bg
        np.testing.assert_allclose(img[16, 16 + dx], expected, atol=2e-6)
    # beyond 3 sigma (d^2 > 9) nothing is drawn, although alpha would still be above 1/255 there
    far = int(math.ceil(3 * math.sqrt(var))) + 1
    np.testing.assert_array_equal(img[16, 16 + far], bg.astype(np.float32))


def test_gaussians_behind_and_across_the_near_plane(rng):
    cam = camera_at_origin(40, 30)
    cloud = random_cloud(160, 1, rng, log_scale=(-3.0, 0.5))
    z = np.concatenate([rng.uniform(-1.0, 1.5, 130), rng.uniform(0.1, 0.3, 30)])  # behind, near z = 0.2, in front
    cloud.means[:] = np.stack([rng.uniform(-0.4, 0.4, 160) * z, rng.uniform(-0.3, 0.3, 160) * z, z], axis=1)
    assert ((z > 0.1) & (z < 0.2)).sum() >= 5 and (z > 0.2).sum() > 50
    assert_same(cloud, cam)
    # the near plane itself: a Gaussian at z = 0.19 is culled, one at z = 0.21 is drawn
    near = GaussianCloud.zeros(1, 0)
    near.scales[:] = math.log(0.002)
    near.opacities[:] = 3.0
    near.means[0] = [0, 0, 0.19]
    np.testing.assert_array_equal(render(near, cam), 0.0)
    near.means[0] = [0, 0, 0.21]
    assert render(near, cam).max() > 0.2  # grey 0.5 at alpha ~0.95, half a pixel off centre
    only_behind = cloud[cloud.means[:, 2] <= 0.2]
    np.testing.assert_array_equal(render(only_behind, cam), 0.0)


def test_huge_and_tiny_gaussians(rng):
    cam = camera_at_origin(37, 29)
    huge = random_cloud(40, 2, rng, spread=0.5, log_scale=(0.5, 0.5), centre=(0, 0, 3))  # cover the whole image
    tiny = random_cloud(80, 2, rng, spread=0.5, log_scale=(-7.0, 0.5), centre=(0, 0, 3))  # well below a pixel
    assert_same(huge, cam)
    assert_same(tiny, cam)
    assert_same(GaussianCloud.concat([huge, tiny]), cam, (1.0, 1.0, 1.0))


def test_tile_boundaries_and_odd_sizes(rng):
    # image sizes that are not multiples of 16, Gaussians centred exactly on tile edges and image borders
    for w, h in [(1, 1), (16, 16), (17, 33), (50, 18)]:
        cam = camera_at_origin(w, h, f=30.0)
        cloud = random_cloud(60, 1, rng, spread=0.4, centre=(0, 0, 2.5))
        edges = np.array([[x, y] for x in (0.0, 16.0, 32.0, w) for y in (0.0, 16.0, h)], np.float64)
        k = min(len(edges), len(cloud))
        cloud.means[:k, 0] = (edges[:k, 0] - cam.cx) / cam.fx * 2.5
        cloud.means[:k, 1] = (edges[:k, 1] - cam.cy) / cam.fy * 2.5
        cloud.means[:k, 2] = 2.5
        assert_same(cloud, cam, (0.3, 0.3, 0.3))


def test_opaque_stack_stops_early_and_matches(rng):
    # 60 almost opaque layers: the transmittance test ends every pixel after a few of them
    cam = camera_at_origin(24, 24)
    cloud = GaussianCloud.zeros(60, 0)
    cloud.means[:, 2] = np.linspace(2.0, 5.0, 60)
    cloud.scales[:] = math.log(0.5)
    cloud.opacities[:] = 6.0
    cloud.sh_dc[:] = rng.normal(0, 1, (60, 3))
    img = assert_same(cloud, cam, (1.0, 0.0, 0.0))
    front = np.maximum(SH_C0 * cloud.sh_dc[0] + 0.5, 0)
    np.testing.assert_allclose(img[12, 12], np.clip(front, 0, 1), atol=0.02)  # front layer (alpha 0.99) dominates


def test_equal_depths_keep_index_order():
    cam = camera_at_origin(16, 16)
    cloud = GaussianCloud.zeros(2, 0)
    cloud.means[:] = [0, 0, 3]
    cloud.scales[:] = math.log(0.3)
    cloud.opacities[:] = 1.0
    cloud.sh_dc[0] = [1, -1, -1]
    cloud.sh_dc[1] = [-1, 1, -1]
    a = assert_same(cloud, cam)
    b = assert_same(cloud[np.array([1, 0])], cam)
    assert a[8, 8, 0] > a[8, 8, 1] and b[8, 8, 1] > b[8, 8, 0]  # the first listed is in front


def test_tiles_do_not_change_pixels(rng):
    # shifting the image window moves the tile grid; every common pixel must stay the same. (Means stay well
    # inside both views, where the field-of-view clamp of the Jacobian, which depends on the window, is inactive.)
    cloud = random_cloud(300, 1, rng)
    cloud.means[:] = rng.uniform([-1.2, -0.9, 3.0], [1.2, 0.9, 4.0], (300, 3))
    full = camera_at_origin(64, 48, f=45.0)
    shifted = camera_at_origin(59, 41, f=45.0, cx=full.cx - 5, cy=full.cy - 7)
    np.testing.assert_allclose(render(cloud, shifted), render(cloud, full)[7:, 5:], atol=1e-6)


def test_non_finite_gaussians_are_skipped(rng):
    cam = camera_at_origin(20, 20)
    cloud = random_cloud(30, 0, rng, spread=0.3, centre=(0, 0, 2))
    good = render(cloud, cam)
    bad = GaussianCloud.concat([cloud, random_cloud(3, 0, rng, centre=(0, 0, 2))])
    bad.means[30] = np.nan
    bad.scales[31] = np.inf
    bad.quats[32] = 0.0
    np.testing.assert_array_equal(render(bad, cam), good)


def test_background_must_be_three_numbers():
    with pytest.raises(SceneError):
        render(GaussianCloud.empty(), camera_at_origin(4, 4), (0.0, 1.0))


def test_output_is_clipped(rng):
    cloud = random_cloud(50, 0, rng, spread=0.2, centre=(0, 0, 2))
    cloud.sh_dc[:] = 10.0
    img = render(cloud, camera_at_origin(16, 16), (2.0, 2.0, 2.0))
    assert img.max() <= 1.0 and img.min() >= 0.0


def test_many_depth_ties_match_reference(rng):
    # depths on three planes: the per-tile stable sort must break ties by index exactly like the reference
    cam = camera_at_origin(40, 40)
    cloud = random_cloud(120, 0, rng, log_scale=(-2.0, 0.3))
    cloud.means[:, 2] = rng.choice([2.0, 2.5, 3.0], 120)
    cloud.means[:, :2] = rng.uniform(-0.8, 0.8, (120, 2))
    assert_same(cloud, cam)


def test_real_scene_matches_reference():
    # playbot's coarsest level of detail (1,873 Gaussians, SH degree 2): real shapes, sizes and opacities
    from conftest import SHARED

    path = SHARED / "scenes/playbot-lod/6_0"
    if not path.is_dir():
        pytest.skip("../shared/data/scenes/playbot-lod absent")
    formats = pytest.importorskip("splatcast.scene.formats")
    cloud = formats.read_scene(path)
    assert cloud.sh_degree == 2
    for cam in orbit_cameras(cloud, 2, 40, 32, up="-y"):
        img = assert_same(cloud, cam, (1.0, 1.0, 1.0))
        assert (img < 0.9).mean() > 0.1  # the robot and its ground fill a good part of the view
