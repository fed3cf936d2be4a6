"""Stage 1 of the renderer: project every Gaussian to the screen (EWA splatting), cull, colour it.

Per Gaussian (numba, parallel over chunks of Gaussians): view-space mean, near cull (z > 0.2), 3D covariance
R S S^T R^T, perspective Jacobian with x/z and y/z clamped to 1.3 x the field of view (as the INRIA renderer does),
2D covariance + 0.3 px^2 low-pass, its inverse (the "conic"), the pixel box where the Gaussian can reach
alpha >= 1/255 inside its 3-sigma ellipse, and the SH colour, computed only for the survivors.

The geometry helpers (:func:`gaussian_frame`, :func:`screen_jacobian`, :func:`covariance_2d`) are shared with the
trainer's backward pass, which recomputes the same quantities to differentiate them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from splatcast.render.constants import FOV_CLAMP, LOW_PASS, MAX_MAHALANOBIS2, MIN_ALPHA, NEAR_Z
from splatcast.render.sh import MAX_SH_COEFFS, sh_basis, sh_colour
from splatcast.scene.rotation import unit_quat_to_matrix


@dataclass
class Projected:
    """Screen-space Gaussians; rows of culled Gaussians have ``visible == False`` and are otherwise undefined."""

    visible: np.ndarray  # [N] bool
    uv: np.ndarray  # [N, 2] float64 pixel coordinates of the mean (pixel c's centre is c + 0.5)
    depth: np.ndarray  # [N] float64 view-space z
    conic: np.ndarray  # [N, 3] float64 (a, b, c) of the inverse 2D covariance [[a, b], [b, c]]
    opacity: np.ndarray  # [N] float64 sigmoid(opacity logit)
    md2_max: np.ndarray  # [N] float64 squared Mahalanobis radius beyond which alpha < 1/255 or > 3 sigma
    pixel_box: np.ndarray  # [N, 4] int32 first col, last col, first row, last row (inclusive) that can be touched
    colour: np.ndarray  # [N, 3] clamped SH colour (float32 for rendering, float64 for training)
    clamped: np.ndarray  # [N, 3] bool: the colour hit the clamp at 0 (zero gradient)
    radius: np.ndarray  # [N] int32 3-sigma screen radius in pixels of the INRIA renderer (densification), 0 = culled


def project(cloud, camera) -> Projected:
    """Project a :class:`GaussianCloud` (float32 arrays) for rendering."""
    return project_arrays(cloud.means, cloud.scales, cloud.quats, cloud.opacities, cloud.sh_dc, cloud.sh_rest,
                          cloud.sh_degree, camera, np.float32)


def project_arrays(means, scales, quats, opacities, sh_dc, sh_rest, degree: int, camera,
                   colour_dtype=np.float64) -> Projected:
    """Project Gaussians given as the cloud's arrays (float32 or float64; log scales, wxyz quaternions, opacity
    logits), coloured with SH bands up to ``degree`` (sh_rest may hold more)."""
    n = len(means)
    out = Projected(
        visible=np.zeros(n, np.bool_),
        uv=np.empty((n, 2)),
        depth=np.empty(n),
        conic=np.empty((n, 3)),
        opacity=np.empty(n),
        md2_max=np.empty(n),
        pixel_box=np.empty((n, 4), np.int32),
        colour=np.empty((n, 3), colour_dtype),
        clamped=np.zeros((n, 3), np.bool_),
        radius=np.zeros(n, np.int32),
    )
    if n == 0:
        return out
    if not 0 <= degree <= 3 or (degree + 1) ** 2 - 1 > sh_rest.shape[1]:
        raise ValueError(f"SH degree {degree} needs {(degree + 1) ** 2 - 1} sh_rest coefficients, got "
                         f"{sh_rest.shape[1]}")
    _project_kernel(
        means, scales, quats, opacities, sh_dc, sh_rest, degree, *camera_arrays(camera),
        out.visible, out.uv, out.depth, out.conic, out.opacity, out.md2_max, out.pixel_box, out.colour,
        out.clamped, out.radius,
    )
    return out


def camera_arrays(camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world -> camera [4, 4], camera centre [3], (fx, fy, cx, cy, width, height)) as float64 arrays."""
    intr = np.array([camera.fx, camera.fy, camera.cx, camera.cy, camera.width, camera.height], np.float64)
    w2c = np.ascontiguousarray(camera.world_to_camera, np.float64)
    centre = np.ascontiguousarray(-w2c[:3, :3].T @ w2c[:3, 3])
    return w2c, centre, intr


@njit(cache=True, inline="always")
def clamp_limits(intr):
    """Limits of x/z (+, -) and y/z (+, -) for the Jacobian: the visible range plus 30% of the half field of view."""
    fx, fy, cx, cy, width, height = intr[0], intr[1], intr[2], intr[3], intr[4], intr[5]
    half_tan_x = 0.5 * width / fx
    half_tan_y = 0.5 * height / fy
    return (
        (width - cx) / fx + (FOV_CLAMP - 1.0) * half_tan_x,
        cx / fx + (FOV_CLAMP - 1.0) * half_tan_x,
        (height - cy) / fy + (FOV_CLAMP - 1.0) * half_tan_y,
        cy / fy + (FOV_CLAMP - 1.0) * half_tan_y,
    )


@njit(cache=True, inline="always")
def view_space(w2c, means, i):
    """View-space (x, y, z) of Gaussian i's mean."""
    mx, my, mz = np.float64(means[i, 0]), np.float64(means[i, 1]), np.float64(means[i, 2])
    return (
        w2c[0, 0] * mx + w2c[0, 1] * my + w2c[0, 2] * mz + w2c[0, 3],
        w2c[1, 0] * mx + w2c[1, 1] * my + w2c[1, 2] * mz + w2c[1, 3],
        w2c[2, 0] * mx + w2c[2, 1] * my + w2c[2, 2] * mz + w2c[2, 3],
    )


@njit(cache=True, inline="always")
def gaussian_frame(scales, quats, i, rot, m, sigma, sc):
    """Rotation of the normalised quaternion (rot), M = R diag(s) (m), Sigma = M M^T (sigma), s = exp(log scale)
    (sc), all [3, 3] / [3] scratch; returns the quaternion's norm (0: degenerate, nothing written)."""
    qw, qx, qy, qz = np.float64(quats[i, 0]), np.float64(quats[i, 1]), np.float64(quats[i, 2]), np.float64(quats[i, 3])
    qn = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    if not qn > 0.0:
        return 0.0
    unit_quat_to_matrix(qw / qn, qx / qn, qy / qn, qz / qn, rot)
    for a in range(3):
        sc[a] = math.exp(np.float64(scales[i, a]))
        for b in range(3):
            m[b, a] = rot[b, a] * sc[a]
    for a in range(3):
        for b in range(a, 3):
            v = m[a, 0] * m[b, 0] + m[a, 1] * m[b, 1] + m[a, 2] * m[b, 2]
            sigma[a, b] = v
            sigma[b, a] = v
    return qn


@njit(cache=True, inline="always")
def screen_jacobian(tx, ty, tz, w2c, intr, lims, t):
    """T = J W [2, 3] (perspective Jacobian at the clamped mean times the view rotation) into t; returns the
    clamped x/z and y/z (rx, ry)."""
    fx, fy = intr[0], intr[1]
    rx = min(lims[0], max(-lims[1], tx / tz))
    ry = min(lims[2], max(-lims[3], ty / tz))
    for b in range(3):
        t[0, b] = fx / tz * w2c[0, b] - fx * rx / tz * w2c[2, b]
        t[1, b] = fy / tz * w2c[1, b] - fy * ry / tz * w2c[2, b]
    return rx, ry


@njit(cache=True, inline="always")
def covariance_2d(t, sigma, ts):
    """ts = T Sigma [2, 3]; returns the low-passed 2D covariance T Sigma T^T + 0.3 I as (a, b, c)."""
    for a in range(2):
        for b in range(3):
            ts[a, b] = t[a, 0] * sigma[0, b] + t[a, 1] * sigma[1, b] + t[a, 2] * sigma[2, b]
    ca = ts[0, 0] * t[0, 0] + ts[0, 1] * t[0, 1] + ts[0, 2] * t[0, 2] + LOW_PASS
    cb = ts[0, 0] * t[1, 0] + ts[0, 1] * t[1, 1] + ts[0, 2] * t[1, 2]
    cc = ts[1, 0] * t[1, 0] + ts[1, 1] * t[1, 1] + ts[1, 2] * t[1, 2] + LOW_PASS
    return ca, cb, cc


@njit(cache=True, parallel=True)
def _project_kernel(
    means, scales, quats, opacities, sh_dc, sh_rest, degree,  # the cloud's arrays
    w2c, cam_centre, intr,  # [4, 4], [3], [6] float64
    visible, uv, depth, conic, opacity, md2_max, pixel_box, colour, clamped, radius,  # outputs
):
    width, height = intr[4], intr[5]
    lims = clamp_limits(intr)
    log_min_alpha = math.log(MIN_ALPHA)
    n = means.shape[0]
    n_chunks = min(n, 256)
    for chunk in prange(n_chunks):
        # per-chunk scratch: allocating inside the per-Gaussian loop costs more than the arithmetic
        rot = np.empty((3, 3))
        m = np.empty((3, 3))
        sigma = np.empty((3, 3))
        sc = np.empty(3)
        t = np.empty((2, 3))
        ts = np.empty((2, 3))
        basis = np.empty(MAX_SH_COEFFS)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            visible[i] = False
            radius[i] = 0
            tx, ty, tz = view_space(w2c, means, i)
            if not tz > NEAR_Z:  # also rejects NaN
                continue
            o = 1.0 / (1.0 + math.exp(-np.float64(opacities[i])))
            if not o >= MIN_ALPHA:  # can never pass the alpha test
                continue
            if gaussian_frame(scales, quats, i, rot, m, sigma, sc) == 0.0:
                continue
            screen_jacobian(tx, ty, tz, w2c, intr, lims, t)
            cxx, cxy, cyy = covariance_2d(t, sigma, ts)
            det = cxx * cyy - cxy * cxy
            if not (det > 0.0 and math.isfinite(det)):
                continue
            # pixel box of the ellipse d^T Sigma2^-1 d <= k, k = the smaller of 3 sigma and the alpha cut-off
            # (the alpha bound is widened by 1e-9 so that rounding never drops a pixel the exact alpha test keeps)
            k = min(MAX_MAHALANOBIS2, 2.0 * (math.log(o) - log_min_alpha) + 1e-9)
            u = intr[0] * tx / tz + intr[2]
            v = intr[1] * ty / tz + intr[3]
            ex = math.sqrt(k * cxx)
            ey = math.sqrt(k * cyy)
            # pixel c is touched when |c + 0.5 - u| <= ex
            lo_x = u - ex - 0.5
            hi_x = u + ex - 0.5
            lo_y = v - ey - 0.5
            hi_y = v + ey - 0.5
            if not (hi_x >= 0.0 and lo_x <= width - 1.0 and hi_y >= 0.0 and lo_y <= height - 1.0):
                continue  # also rejects NaN / inf
            c0 = int(math.ceil(max(lo_x, 0.0)))
            c1 = int(math.floor(min(hi_x, width - 1.0)))
            r0 = int(math.ceil(max(lo_y, 0.0)))
            r1 = int(math.floor(min(hi_y, height - 1.0)))
            if c0 > c1 or r0 > r1:
                continue
            # colour along the view direction (camera centre -> mean), only for survivors
            dx = np.float64(means[i, 0]) - cam_centre[0]
            dy = np.float64(means[i, 1]) - cam_centre[1]
            dz = np.float64(means[i, 2]) - cam_centre[2]
            dn = math.sqrt(dx * dx + dy * dy + dz * dz)  # > 0: the mean is in front of the camera
            sh_basis(dx / dn, dy / dn, dz / dn, degree, basis)
            sh_colour(basis, sh_dc, sh_rest, i, degree, colour[i], clamped[i])
            if not (math.isfinite(colour[i, 0]) and math.isfinite(colour[i, 1]) and math.isfinite(colour[i, 2])):
                continue
            inv = 1.0 / det
            conic[i, 0] = cyy * inv
            conic[i, 1] = -cxy * inv
            conic[i, 2] = cxx * inv
            uv[i, 0] = u
            uv[i, 1] = v
            depth[i] = tz
            opacity[i] = o
            md2_max[i] = k
            pixel_box[i, 0] = c0
            pixel_box[i, 1] = c1
            pixel_box[i, 2] = r0
            pixel_box[i, 3] = r1
            mid = 0.5 * (cxx + cyy)
            radius[i] = max(1, math.ceil(3.0 * math.sqrt(mid + math.sqrt(max(0.1, mid * mid - det)))))
            visible[i] = True
