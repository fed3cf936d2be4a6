"""Each stage of the rasterizer core against a slow reference written here from docs/rendering.md: the projection
(per Gaussian, plain numpy with scipy's rotations), the tile binning (a Python loop over tiles), the compositor's
saved state (a per-pixel loop), the quaternion rotations and the SH basis derivative."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import random_cloud
from scipy.spatial.transform import Rotation

from splatcast.render.camera import orbit_cameras
from splatcast.render.project import project
from splatcast.render.rasterize import bin_tiles, composite_bins, parse_background
from splatcast.render.reference import sh_basis
from splatcast.scene.rotation import rotation_matrices


def _projection_reference(cloud, cam, i):
    """(u, v, depth, conic, k, box, colour, radius) of Gaussian i, or None when docs/rendering.md culls it."""
    w2c = cam.world_to_camera
    x, y, z = w2c[:3, :3] @ cloud.means[i].astype(np.float64) + w2c[:3, 3]
    opacity = 1.0 / (1.0 + math.exp(-float(cloud.opacities[i])))
    if z <= 0.2 or opacity < 1.0 / 255.0:
        return None
    rot = Rotation.from_quat(cloud.quats[i, [1, 2, 3, 0]].astype(np.float64)).as_matrix()
    cov3 = rot @ np.diag(np.exp(2.0 * cloud.scales[i].astype(np.float64))) @ rot.T
    lim_x = (cam.cx / cam.fx + 0.15 * cam.width / cam.fx, (cam.width - cam.cx) / cam.fx + 0.15 * cam.width / cam.fx)
    lim_y = (cam.cy / cam.fy + 0.15 * cam.height / cam.fy, (cam.height - cam.cy) / cam.fy + 0.15 * cam.height / cam.fy)
    xz, yz = np.clip(x / z, -lim_x[0], lim_x[1]), np.clip(y / z, -lim_y[0], lim_y[1])
    jac = np.array([[cam.fx / z, 0.0, -cam.fx * xz / z], [0.0, cam.fy / z, -cam.fy * yz / z]])
    cov2 = jac @ w2c[:3, :3] @ cov3 @ w2c[:3, :3].T @ jac.T + 0.3 * np.eye(2)
    k = min(9.0, 2.0 * math.log(255.0 * opacity) + 1e-9)
    u, v = cam.fx * x / z + cam.cx, cam.fy * y / z + cam.cy
    ex, ey = math.sqrt(k * cov2[0, 0]), math.sqrt(k * cov2[1, 1])
    box = [math.ceil(max(u - ex - 0.5, 0)), math.floor(min(u + ex - 0.5, cam.width - 1)),
           math.ceil(max(v - ey - 0.5, 0)), math.floor(min(v + ey - 0.5, cam.height - 1))]
    if box[0] > box[1] or box[2] > box[3]:
        return None
    d = cloud.means[i].astype(np.float64) - cam.center
    coeffs = np.concatenate([cloud.sh_dc[i, None], cloud.sh_rest[i]]).astype(np.float64)
    colour = np.maximum(sh_basis((d / np.linalg.norm(d))[None], cloud.sh_degree)[0] @ coeffs + 0.5, 0.0)
    # the INRIA renderer's radius: 3 sqrt of the larger eigenvalue, with its floor of 0.1 under the square root
    mid, det = 0.5 * (cov2[0, 0] + cov2[1, 1]), np.linalg.det(cov2)
    radius = max(1, math.ceil(3.0 * math.sqrt(mid + math.sqrt(max(0.1, mid * mid - det)))))
    return u, v, z, np.linalg.inv(cov2), k, box, colour, radius


@pytest.mark.parametrize("sh_degree", [0, 3])
def test_projection_matches_reference(rng, sh_degree):
    cloud = random_cloud(300, sh_degree, rng, spread=1.5)
    cam = orbit_cameras(cloud, 4, 61, 47, distance_scale=0.6)[1]
    proj = project(cloud, cam)
    culled = 0
    for i in range(len(cloud)):
        ref = _projection_reference(cloud, cam, i)
        assert proj.visible[i] == (ref is not None), i
        if ref is None:
            culled += 1
            continue
        u, v, z, conic, k, box, colour, radius = ref
        np.testing.assert_allclose(proj.uv[i], [u, v], rtol=1e-9)
        assert proj.depth[i] == pytest.approx(z, rel=1e-12)
        np.testing.assert_allclose(proj.conic[i], [conic[0, 0], conic[0, 1], conic[1, 1]], rtol=1e-6, atol=1e-12)
        assert proj.md2_max[i] == pytest.approx(k, rel=1e-9)
        assert list(proj.pixel_box[i]) == box
        np.testing.assert_allclose(proj.colour[i], colour, atol=1e-6)
        np.testing.assert_array_equal(proj.clamped[i], (colour == 0.0))
        assert proj.radius[i] == radius
    assert 0 < culled < len(cloud)  # both branches exercised


def test_binning_matches_a_loop_over_tiles(rng):
    cloud = random_cloud(400, 1, rng, spread=1.2)
    cam = orbit_cameras(cloud, 3, 83, 50)[0]
    proj = project(cloud, cam)
    bins = bin_tiles(proj, cam.width, cam.height)
    tiles_x, tiles_y = math.ceil(cam.width / 16), math.ceil(cam.height / 16)
    assert len(bins.start) == tiles_x * tiles_y + 1
    visible = [i for i in range(len(cloud)) if proj.visible[i]]
    # front to back by float32 depth, ties by index (the INRIA key), per tile every Gaussian whose box reaches it
    order = sorted(visible, key=lambda i: (np.float32(proj.depth[i]), i))
    for ty in range(tiles_y):
        for tx in range(tiles_x):
            t = ty * tiles_x + tx
            c0, c1, r0, r1 = tx * 16, tx * 16 + 15, ty * 16, ty * 16 + 15
            want = [i for i in order if proj.pixel_box[i, 0] <= c1 and proj.pixel_box[i, 1] >= c0
                    and proj.pixel_box[i, 2] <= r1 and proj.pixel_box[i, 3] >= r0]
            assert list(bins.ids[bins.start[t]:bins.start[t + 1]]) == want, (tx, ty)


def test_saved_state_matches_a_per_pixel_loop(rng):
    """final_t and n_contrib (what the backward pass walks) by the per-pixel definition, in float64."""
    cloud = random_cloud(120, 0, rng, spread=0.6)
    cloud.opacities[:] = np.abs(cloud.opacities) + 1.0  # dense enough that pixels stop early
    cam = orbit_cameras(cloud, 2, 37, 29)[0]
    proj = project(cloud, cam)
    bins = bin_tiles(proj, cam.width, cam.height)
    image = np.empty((cam.height, cam.width, 3))
    final_t = np.empty((cam.height, cam.width))
    n_contrib = np.empty((cam.height, cam.width), np.int64)
    bg = parse_background((0.2, 0.3, 0.4))
    composite_bins(proj, bins, bg, image, final_t, n_contrib)
    tiles_x = bins.tiles_x
    stopped = 0
    for r in range(cam.height):
        for c in range(cam.width):
            t = (r // 16) * tiles_x + c // 16
            trans, last, colour = 1.0, 0, np.zeros(3)
            for j, g in enumerate(bins.ids[bins.start[t]:bins.start[t + 1]]):
                d = np.array([c + 0.5, r + 0.5]) - proj.uv[g]
                a, b, cc = proj.conic[g]
                md2 = a * d[0] ** 2 + 2 * b * d[0] * d[1] + cc * d[1] ** 2
                alpha = min(0.99, proj.opacity[g] * math.exp(-0.5 * md2))
                if md2 > proj.md2_max[g] or alpha < 1.0 / 255.0:
                    continue
                if trans * (1.0 - alpha) < 1e-4:
                    stopped += 1
                    break
                colour += proj.colour[g] * alpha * trans
                trans *= 1.0 - alpha
                last = j + 1
            assert final_t[r, c] == pytest.approx(trans, rel=1e-9, abs=1e-15)
            assert n_contrib[r, c] == last
            np.testing.assert_allclose(image[r, c], colour + trans * bg, atol=1e-6)
    assert stopped > 0


def test_rotation_matrices_match_scipy(rng):
    q = rng.normal(size=(200, 4)).astype(np.float32)
    want = Rotation.from_quat(q[:, [1, 2, 3, 0]].astype(np.float64)).as_matrix()
    np.testing.assert_allclose(rotation_matrices(q), want, atol=1e-6)
    np.testing.assert_array_equal(rotation_matrices(np.zeros((1, 4))), np.eye(3)[None])


def test_sh_basis_derivative_matches_finite_differences(rng):
    from numba import njit

    from splatcast.render.sh import sh_basis as basis_kernel
    from splatcast.render.sh import sh_basis_grad

    @njit
    def basis_and_grad(x, y, z):
        out, gx, gy, gz = np.zeros(16), np.zeros(16), np.zeros(16), np.zeros(16)
        basis_kernel(x, y, z, 3, out)
        sh_basis_grad(x, y, z, 3, gx, gy, gz)
        return out, gx, gy, gz

    eps = 1e-6
    for d in rng.normal(size=(5, 3)):
        d /= np.linalg.norm(d)
        values, *grads = basis_and_grad(*d)
        np.testing.assert_allclose(values, sh_basis(d[None], 3)[0], atol=1e-12)  # same basis as the reference
        for axis, grad in enumerate(grads):
            step = np.eye(3)[axis] * eps
            numeric = (basis_and_grad(*(d + step))[0] - basis_and_grad(*(d - step))[0]) / (2 * eps)
            np.testing.assert_allclose(grad, numeric, atol=1e-7)
