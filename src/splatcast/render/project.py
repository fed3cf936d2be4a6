"""Stage 1 of the fast renderer: project every Gaussian to the screen (EWA splatting), cull, colour it.

Per Gaussian (numba, parallel over Gaussians): view-space mean, near cull (z > 0.2), 3D covariance
R S S^T R^T, perspective Jacobian with x/z and y/z clamped to 1.3 x the field of view (as the INRIA
renderer does), 2D covariance + 0.3 px^2 low-pass, its inverse (the "conic"), the pixel box where the Gaussian
can reach alpha >= 1/255 inside its 3-sigma ellipse, and the SH colour, computed only for the survivors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from splatcast.render.sh import sh_colour

NEAR_Z = 0.2  # view-space depth below which a Gaussian is culled
LOW_PASS = 0.3  # px^2 added to the 2D covariance diagonal (anti-aliasing filter of the reference)
FOV_CLAMP = 1.3  # x/z, y/z clamped to this multiple of the half field of view for the Jacobian
MAX_MAHALANOBIS2 = 9.0  # a Gaussian reaches 3 sigma, no further
MIN_ALPHA = 1.0 / 255.0  # contributions below this are skipped
MAX_ALPHA = 0.99
MIN_TRANSMITTANCE = 1e-4  # a pixel stops once its transmittance would drop below this


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
    colour: np.ndarray  # [N, 3] float32 clamped SH colour


def project(cloud, camera) -> Projected:
    n = len(cloud)
    out = Projected(
        visible=np.zeros(n, np.bool_),
        uv=np.empty((n, 2)),
        depth=np.empty(n),
        conic=np.empty((n, 3)),
        opacity=np.empty(n),
        md2_max=np.empty(n),
        pixel_box=np.empty((n, 4), np.int32),
        colour=np.empty((n, 3), np.float32),
    )
    if n == 0:
        return out
    intr = np.array([camera.fx, camera.fy, camera.cx, camera.cy, camera.width, camera.height], np.float64)
    _project_kernel(
        cloud.means,
        cloud.scales,
        cloud.quats,
        cloud.opacities,
        cloud.sh_dc,
        cloud.sh_rest,
        cloud.sh_degree,
        np.ascontiguousarray(camera.world_to_camera, np.float64),
        np.ascontiguousarray(camera.center, np.float64),
        intr,
        out.visible,
        out.uv,
        out.depth,
        out.conic,
        out.opacity,
        out.md2_max,
        out.pixel_box,
        out.colour,
    )
    return out


@njit(cache=True, parallel=True)
def _project_kernel(
    means,  # [N, 3] float32
    scales,  # [N, 3] float32 log
    quats,  # [N, 4] float32 wxyz
    opacities,  # [N] float32 logit
    sh_dc,  # [N, 3] float32
    sh_rest,  # [N, K, 3] float32
    degree,
    w2c,  # [4, 4] float64
    cam_centre,  # [3] float64
    intr,  # [6] fx, fy, cx, cy, width, height
    visible,
    uv,
    depth,
    conic,
    opacity,
    md2_max,
    pixel_box,
    colour,
):
    fx, fy, cx, cy, width, height = intr[0], intr[1], intr[2], intr[3], intr[4], intr[5]
    half_tan_x = 0.5 * width / fx
    half_tan_y = 0.5 * height / fy
    # clamp limits of x/z, y/z: the visible range plus 30% of the half field of view on each side
    lim_x_pos = (width - cx) / fx + (FOV_CLAMP - 1.0) * half_tan_x
    lim_x_neg = cx / fx + (FOV_CLAMP - 1.0) * half_tan_x
    lim_y_pos = (height - cy) / fy + (FOV_CLAMP - 1.0) * half_tan_y
    lim_y_neg = cy / fy + (FOV_CLAMP - 1.0) * half_tan_y
    log_min_alpha = math.log(MIN_ALPHA)
    for i in prange(means.shape[0]):
        visible[i] = False
        mx, my, mz = np.float64(means[i, 0]), np.float64(means[i, 1]), np.float64(means[i, 2])
        tx = w2c[0, 0] * mx + w2c[0, 1] * my + w2c[0, 2] * mz + w2c[0, 3]
        ty = w2c[1, 0] * mx + w2c[1, 1] * my + w2c[1, 2] * mz + w2c[1, 3]
        tz = w2c[2, 0] * mx + w2c[2, 1] * my + w2c[2, 2] * mz + w2c[2, 3]
        if not tz > NEAR_Z:  # also rejects NaN
            continue
        o = 1.0 / (1.0 + math.exp(-np.float64(opacities[i])))
        if not o >= MIN_ALPHA:  # can never pass the alpha test
            continue
        # rotation from the normalised quaternion
        qw, qx, qy, qz = (
            np.float64(quats[i, 0]),
            np.float64(quats[i, 1]),
            np.float64(quats[i, 2]),
            np.float64(quats[i, 3]),
        )
        qn = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        if not qn > 0.0:
            continue
        qw, qx, qy, qz = qw / qn, qx / qn, qy / qn, qz / qn
        r00 = 1.0 - 2.0 * (qy * qy + qz * qz)
        r01 = 2.0 * (qx * qy - qw * qz)
        r02 = 2.0 * (qx * qz + qw * qy)
        r10 = 2.0 * (qx * qy + qw * qz)
        r11 = 1.0 - 2.0 * (qx * qx + qz * qz)
        r12 = 2.0 * (qy * qz - qw * qx)
        r20 = 2.0 * (qx * qz - qw * qy)
        r21 = 2.0 * (qy * qz + qw * qx)
        r22 = 1.0 - 2.0 * (qx * qx + qy * qy)
        s0 = math.exp(np.float64(scales[i, 0]))
        s1 = math.exp(np.float64(scales[i, 1]))
        s2 = math.exp(np.float64(scales[i, 2]))
        # M = R S; Sigma = M M^T (symmetric, 6 entries)
        m00, m01, m02 = r00 * s0, r01 * s1, r02 * s2
        m10, m11, m12 = r10 * s0, r11 * s1, r12 * s2
        m20, m21, m22 = r20 * s0, r21 * s1, r22 * s2
        v00 = m00 * m00 + m01 * m01 + m02 * m02
        v01 = m00 * m10 + m01 * m11 + m02 * m12
        v02 = m00 * m20 + m01 * m21 + m02 * m22
        v11 = m10 * m10 + m11 * m11 + m12 * m12
        v12 = m10 * m20 + m11 * m21 + m12 * m22
        v22 = m20 * m20 + m21 * m21 + m22 * m22
        # Jacobian of the perspective projection at the (clamped) view-space mean
        txc = min(lim_x_pos, max(-lim_x_neg, tx / tz)) * tz
        tyc = min(lim_y_pos, max(-lim_y_neg, ty / tz)) * tz
        j00 = fx / tz
        j02 = -fx * txc / (tz * tz)
        j11 = fy / tz
        j12 = -fy * tyc / (tz * tz)
        # T = J W (2 x 3), W = view rotation
        a0 = j00 * w2c[0, 0] + j02 * w2c[2, 0]
        a1 = j00 * w2c[0, 1] + j02 * w2c[2, 1]
        a2 = j00 * w2c[0, 2] + j02 * w2c[2, 2]
        b0 = j11 * w2c[1, 0] + j12 * w2c[2, 0]
        b1 = j11 * w2c[1, 1] + j12 * w2c[2, 1]
        b2 = j11 * w2c[1, 2] + j12 * w2c[2, 2]
        # Sigma2 = T Sigma T^T
        sa0 = v00 * a0 + v01 * a1 + v02 * a2
        sa1 = v01 * a0 + v11 * a1 + v12 * a2
        sa2 = v02 * a0 + v12 * a1 + v22 * a2
        sb0 = v00 * b0 + v01 * b1 + v02 * b2
        sb1 = v01 * b0 + v11 * b1 + v12 * b2
        sb2 = v02 * b0 + v12 * b1 + v22 * b2
        cxx = a0 * sa0 + a1 * sa1 + a2 * sa2 + LOW_PASS
        cxy = b0 * sa0 + b1 * sa1 + b2 * sa2
        cyy = b0 * sb0 + b1 * sb1 + b2 * sb2 + LOW_PASS
        det = cxx * cyy - cxy * cxy
        if not (det > 0.0 and math.isfinite(det)):
            continue
        # pixel box of the ellipse d^T Sigma2^-1 d <= k, k = the smaller of 3 sigma and the alpha cut-off
        # (the alpha bound is widened by 1e-9 so that rounding never drops a pixel the exact alpha test keeps)
        k = min(MAX_MAHALANOBIS2, 2.0 * (math.log(o) - log_min_alpha) + 1e-9)
        u = fx * tx / tz + cx
        v = fy * ty / tz + cy
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
        dx, dy, dz = mx - cam_centre[0], my - cam_centre[1], mz - cam_centre[2]
        dn = math.sqrt(dx * dx + dy * dy + dz * dz)
        if dn > 0.0:
            dx, dy, dz = dx / dn, dy / dn, dz / dn
        sh_colour(sh_dc, sh_rest, i, degree, dx, dy, dz, colour[i])
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
        visible[i] = True
