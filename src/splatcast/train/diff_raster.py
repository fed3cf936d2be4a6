"""Differentiable tile rasterizer of 3D Gaussians for the CPU trainer (numba).

The forward pass follows the reference 3DGS CUDA rasterizer (project, bin into 16x16 tiles, depth-sorted front-to-back
alpha blending) and keeps what the backward pass needs: per-tile depth-sorted lists, the final transmittance and the
number of list entries each pixel went through (``n_contrib``). The backward pass walks each pixel's list back to
front, reconstructing the transmittance by division, as the reference does, and then chains the 2D gradients (mean,
conic, colour, opacity) to the 3D parameters (means, log-scales, quaternions, opacity logits, SH coefficients,
including the means' gradient through the view direction of the SH colour).

Conventions (shared with :mod:`splatcast.render`): OpenCV camera (x right, y down, z forward), a pixel ``(i, j)`` has
its centre at ``(i + 0.5, j + 0.5)`` in the continuous image plane ``u = fx * x / z + cx``; Gaussians with camera
depth <= 0.2 are culled; the 2D covariance gets the reference 0.3 px^2 low-pass; x/z and y/z are clamped for the
Jacobian to the view plus 30% of the half field of view; a Gaussian reaches pixels with squared Mahalanobis distance
d^2 <= min(9, 2 log(255 opacity)) (3 sigma, and where alpha can reach 1/255); alpha = min(0.99, opacity * G),
entries with alpha < 1/255 are skipped and a pixel stops when its transmittance would fall below 1e-4. This is the
per-pixel image that :mod:`splatcast.render.reference` defines; tiles only accelerate.

Within a tile only the pixels of the ellipse's bounding box are visited. The gradient treats
the ellipse cut and the 1/255 cut as fixed (as the reference does); where alpha is clamped to 0.99 it is exact
(zero). The 3-sigma screen radius of the reference is reported for the densifier's size pruning.

Everything is float64 inside (finite-difference tests need it; on CPU it costs little). Per-Gaussian gradient sums
are race free: each (tile, Gaussian) entry writes its own row of a buffer, reduced afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

TILE = 16
NEAR_Z = 0.2
LOWPASS = 0.3
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4
MAX_MD2 = 9.0  # 3 sigma
FOV_CLAMP = 1.3
MAX_SH_COEFFS = 16

# the SH constants are the renderer's, so the trainer's forward matches render() exactly
from splatcast.render.sh import C0 as SH_C0, C1 as SH_C1, C2 as SH_C2, C3 as SH_C3  # noqa: E402

# columns of the per-(tile, Gaussian) gradient buffer
_G_U, _G_V, _G_A, _G_B, _G_C, _G_OP, _G_R = 0, 1, 2, 3, 4, 5, 6  # _G_R.._G_R+2: colour
_N_PAIR_GRADS = 9


# ------------------------------------------------------------------------------------------------- SH colour
@njit(cache=True, inline="always")
def _sh_basis(x, y, z, degree, out):
    """Real SH basis of the reference 3DGS code at unit direction (x, y, z); out [16]."""
    out[0] = SH_C0
    if degree > 0:
        out[1] = -SH_C1 * y
        out[2] = SH_C1 * z
        out[3] = -SH_C1 * x
    if degree > 1:
        xx, yy, zz = x * x, y * y, z * z
        out[4] = SH_C2[0] * x * y
        out[5] = SH_C2[1] * y * z
        out[6] = SH_C2[2] * (2.0 * zz - xx - yy)
        out[7] = SH_C2[3] * x * z
        out[8] = SH_C2[4] * (xx - yy)
        if degree > 2:
            out[9] = SH_C3[0] * y * (3.0 * xx - yy)
            out[10] = SH_C3[1] * x * y * z
            out[11] = SH_C3[2] * y * (4.0 * zz - xx - yy)
            out[12] = SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy)
            out[13] = SH_C3[4] * x * (4.0 * zz - xx - yy)
            out[14] = SH_C3[5] * z * (xx - yy)
            out[15] = SH_C3[6] * x * (xx - 3.0 * yy)


@njit(cache=True, inline="always")
def _sh_basis_grad(x, y, z, degree, gx, gy, gz):
    """Partial derivatives of each basis function w.r.t. x, y, z (treated as independent); [16] each."""
    for k in range(MAX_SH_COEFFS):
        gx[k] = 0.0
        gy[k] = 0.0
        gz[k] = 0.0
    if degree > 0:
        gy[1] = -SH_C1
        gz[2] = SH_C1
        gx[3] = -SH_C1
    if degree > 1:
        xx, yy, zz = x * x, y * y, z * z
        gx[4] = SH_C2[0] * y
        gy[4] = SH_C2[0] * x
        gy[5] = SH_C2[1] * z
        gz[5] = SH_C2[1] * y
        gx[6] = SH_C2[2] * -2.0 * x
        gy[6] = SH_C2[2] * -2.0 * y
        gz[6] = SH_C2[2] * 4.0 * z
        gx[7] = SH_C2[3] * z
        gz[7] = SH_C2[3] * x
        gx[8] = SH_C2[4] * 2.0 * x
        gy[8] = SH_C2[4] * -2.0 * y
        if degree > 2:
            gx[9] = SH_C3[0] * 6.0 * x * y
            gy[9] = SH_C3[0] * (3.0 * xx - 3.0 * yy)
            gx[10] = SH_C3[1] * y * z
            gy[10] = SH_C3[1] * x * z
            gz[10] = SH_C3[1] * x * y
            gx[11] = SH_C3[2] * -2.0 * x * y
            gy[11] = SH_C3[2] * (4.0 * zz - xx - 3.0 * yy)
            gz[11] = SH_C3[2] * 8.0 * y * z
            gx[12] = SH_C3[3] * -6.0 * x * z
            gy[12] = SH_C3[3] * -6.0 * y * z
            gz[12] = SH_C3[3] * (6.0 * zz - 3.0 * xx - 3.0 * yy)
            gx[13] = SH_C3[4] * (4.0 * zz - 3.0 * xx - yy)
            gy[13] = SH_C3[4] * -2.0 * x * y
            gz[13] = SH_C3[4] * 8.0 * x * z
            gx[14] = SH_C3[5] * 2.0 * x * z
            gy[14] = SH_C3[5] * -2.0 * y * z
            gz[14] = SH_C3[5] * (xx - yy)
            gx[15] = SH_C3[6] * (3.0 * xx - 3.0 * yy)
            gy[15] = SH_C3[6] * -6.0 * x * y


@njit(cache=True, inline="always")
def _quat_to_rot(qw, qx, qy, qz, r):
    """Rotation matrix of a *unit* quaternion (w, x, y, z) into r [3, 3]."""
    r[0, 0] = 1.0 - 2.0 * (qy * qy + qz * qz)
    r[0, 1] = 2.0 * (qx * qy - qw * qz)
    r[0, 2] = 2.0 * (qx * qz + qw * qy)
    r[1, 0] = 2.0 * (qx * qy + qw * qz)
    r[1, 1] = 1.0 - 2.0 * (qx * qx + qz * qz)
    r[1, 2] = 2.0 * (qy * qz - qw * qx)
    r[2, 0] = 2.0 * (qx * qz - qw * qy)
    r[2, 1] = 2.0 * (qy * qz + qw * qx)
    r[2, 2] = 1.0 - 2.0 * (qx * qx + qy * qy)


# ------------------------------------------------------------------------------------------------- forward
@njit(cache=True, inline="always")
def _mm(a, b, out):
    """out = a @ b for small matrices (no allocation, no BLAS call)."""
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = 0.0
            for k in range(a.shape[1]):
                acc += a[i, k] * b[k, j]
            out[i, j] = acc


@njit(cache=True, inline="always")
def _mmt(a, b, out):
    """out = a @ b.T"""
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            acc = 0.0
            for k in range(a.shape[1]):
                acc += a[i, k] * b[j, k]
            out[i, j] = acc


@njit(cache=True, inline="always")
def _mtm(a, b, out):
    """out = a.T @ b"""
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            acc = 0.0
            for k in range(a.shape[0]):
                acc += a[k, i] * b[k, j]
            out[i, j] = acc


@njit(cache=True, inline="always")
def _clamp_limits(fx, fy, cx, cy, width, height):
    """Limits of x/z (+, -) and y/z (+, -) for the Jacobian: the visible range plus 30% of the half field of view."""
    half_tan_x = 0.5 * width / fx
    half_tan_y = 0.5 * height / fy
    return (
        (width - cx) / fx + (FOV_CLAMP - 1.0) * half_tan_x,
        cx / fx + (FOV_CLAMP - 1.0) * half_tan_x,
        (height - cy) / fy + (FOV_CLAMP - 1.0) * half_tan_y,
        cy / fy + (FOV_CLAMP - 1.0) * half_tan_y,
    )


@njit(cache=True, parallel=True)
def _preprocess(
    means, log_scales, quats, opacity_logits, sh, degree,  # [N,3] [N,3] [N,4] [N] [N,16,3] float64, int
    viewmat, campos, fx, fy, cx, cy, width, height,  # [4,4] [3] float64, floats, ints
    xy, depth, conic, rgb, clamped, alpha, kmax, radius, box,  # outputs
):
    n = means.shape[0]
    lim_xp, lim_xn, lim_yp, lim_yn = _clamp_limits(fx, fy, cx, cy, width, height)
    n_chunks = min(n, 256)
    for chunk in prange(n_chunks):
        # per-chunk scratch: allocating inside the per-Gaussian loop costs more than the arithmetic
        rot = np.empty((3, 3))
        m = np.empty((3, 3))
        sigma = np.empty((3, 3))
        t = np.empty((2, 3))
        ts = np.empty((2, 3))
        basis = np.empty(MAX_SH_COEFFS)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            radius[i] = 0
            px, py, pz = means[i, 0], means[i, 1], means[i, 2]
            tx = viewmat[0, 0] * px + viewmat[0, 1] * py + viewmat[0, 2] * pz + viewmat[0, 3]
            ty = viewmat[1, 0] * px + viewmat[1, 1] * py + viewmat[1, 2] * pz + viewmat[1, 3]
            tz = viewmat[2, 0] * px + viewmat[2, 1] * py + viewmat[2, 2] * pz + viewmat[2, 3]
            depth[i] = tz
            if tz <= NEAR_Z:
                continue
            op = 1.0 / (1.0 + math.exp(-opacity_logits[i]))
            alpha[i] = op
            if op * 255.0 <= 1.0:  # can never reach alpha >= 1/255
                continue
            # 3D covariance R S S R^T
            qw, qx, qy, qz = quats[i, 0], quats[i, 1], quats[i, 2], quats[i, 3]
            qn = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
            if qn < 1e-12:
                qn = 1e-12
            _quat_to_rot(qw / qn, qx / qn, qy / qn, qz / qn, rot)
            for a in range(3):
                s = math.exp(log_scales[i, a])
                for b in range(3):
                    m[b, a] = rot[b, a] * s
            _mmt(m, m, sigma)
            # Jacobian of the perspective projection, with the reference's clamping of x/z, y/z outside the view
            rx = min(lim_xp, max(-lim_xn, tx / tz))
            ry = min(lim_yp, max(-lim_yn, ty / tz))
            for b in range(3):
                t[0, b] = fx / tz * viewmat[0, b] - fx * rx / tz * viewmat[2, b]
                t[1, b] = fy / tz * viewmat[1, b] - fy * ry / tz * viewmat[2, b]
            _mm(t, sigma, ts)
            ca = ts[0, 0] * t[0, 0] + ts[0, 1] * t[0, 1] + ts[0, 2] * t[0, 2] + LOWPASS
            cb = ts[0, 0] * t[1, 0] + ts[0, 1] * t[1, 1] + ts[0, 2] * t[1, 2]
            cc = ts[1, 0] * t[1, 0] + ts[1, 1] * t[1, 1] + ts[1, 2] * t[1, 2] + LOWPASS
            det = ca * cc - cb * cb
            if not (det > 0.0 and math.isfinite(det)):
                continue
            conic[i, 0] = cc / det
            conic[i, 1] = -cb / det
            conic[i, 2] = ca / det
            mid = 0.5 * (ca + cc)
            lam = mid + math.sqrt(max(0.1, mid * mid - det))
            # squared Mahalanobis radius: 3 sigma, or less where alpha cannot reach 1/255 (widened by 1e-9 so rounding
            # never drops a pixel the exact per-pixel alpha test keeps)
            k = min(MAX_MD2, 2.0 * math.log(255.0 * op) + 1e-9)
            u = fx * tx / tz + cx
            v = fy * ty / tz + cy
            ex = math.sqrt(k * ca)
            ey = math.sqrt(k * cc)
            lo_x = u - ex - 0.5
            hi_x = u + ex - 0.5
            lo_y = v - ey - 0.5
            hi_y = v + ey - 0.5
            if not (hi_x >= 0.0 and lo_x <= width - 1.0 and hi_y >= 0.0 and lo_y <= height - 1.0):
                continue
            c0 = int(math.ceil(max(lo_x, 0.0)))
            c1 = int(math.floor(min(hi_x, width - 1.0)))
            r0 = int(math.ceil(max(lo_y, 0.0)))
            r1 = int(math.floor(min(hi_y, height - 1.0)))
            if c0 > c1 or r0 > r1:
                continue
            xy[i, 0] = u
            xy[i, 1] = v
            kmax[i] = k
            box[i, 0] = c0
            box[i, 1] = c1
            box[i, 2] = r0
            box[i, 3] = r1
            radius[i] = max(1, math.ceil(3.0 * math.sqrt(lam)))
            # view-dependent colour
            dx, dy, dz = px - campos[0], py - campos[1], pz - campos[2]
            dn = math.sqrt(dx * dx + dy * dy + dz * dz)
            if dn < 1e-12:
                dn = 1e-12
            _sh_basis(dx / dn, dy / dn, dz / dn, degree, basis)
            n_coeffs = (degree + 1) * (degree + 1)
            for ch in range(3):
                c = 0.5
                for k in range(n_coeffs):
                    c += basis[k] * sh[i, k, ch]
                clamped[i, ch] = c < 0.0
                rgb[i, ch] = max(c, 0.0)


@njit(cache=True)
def _bin(order, box, tiles_x, n_tiles):
    """Per-tile lists of Gaussian ids, each in ``order`` (front to back). Returns (offsets [T+1], ids [P])."""
    counts = np.zeros(n_tiles + 1, np.int64)
    for g in order:
        for ty in range(box[g, 2] // TILE, box[g, 3] // TILE + 1):
            for tx in range(box[g, 0] // TILE, box[g, 1] // TILE + 1):
                counts[ty * tiles_x + tx + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    ids = np.empty(offsets[-1], np.int64)
    for g in order:
        for ty in range(box[g, 2] // TILE, box[g, 3] // TILE + 1):
            for tx in range(box[g, 0] // TILE, box[g, 1] // TILE + 1):
                t = ty * tiles_x + tx
                ids[fill[t]] = g
                fill[t] += 1
    return offsets, ids


@njit(cache=True, parallel=True, fastmath=True)
def _raster_forward(offsets, ids, xy, conic, rgb, alpha, kmax, box, width, height, background, image, final_t,
                    n_contrib):
    tiles_x = (width + TILE - 1) // TILE
    n_tiles = offsets.shape[0] - 1
    for t in prange(n_tiles):
        x0 = (t % tiles_x) * TILE
        y0 = (t // tiles_x) * TILE
        x1 = min(x0 + TILE, width) - 1  # inclusive
        y1 = min(y0 + TILE, height) - 1
        trans = np.ones(TILE * TILE)
        col = np.zeros((TILE * TILE, 3))
        done = np.zeros(TILE * TILE, np.bool_)
        contrib = np.zeros(TILE * TILE, np.int64)
        alive = (x1 - x0 + 1) * (y1 - y0 + 1)
        start = offsets[t]
        for k in range(start, offsets[t + 1]):
            g = ids[k]
            ux, uy = xy[g, 0], xy[g, 1]
            ca, cb, cc = conic[g, 0], conic[g, 1], conic[g, 2]
            op = alpha[g]
            km = kmax[g]
            c0 = max(box[g, 0], x0)
            c1 = min(box[g, 1], x1)
            for py in range(max(box[g, 2], y0), min(box[g, 3], y1) + 1):
                dy = py + 0.5 - uy
                for px in range(c0, c1 + 1):
                    li = (py - y0) * TILE + (px - x0)
                    if done[li]:
                        continue
                    dx = px + 0.5 - ux
                    md2 = ca * dx * dx + 2.0 * cb * dx * dy + cc * dy * dy
                    if md2 > km:
                        continue
                    a = min(ALPHA_MAX, op * math.exp(-0.5 * md2))
                    if a < ALPHA_MIN:
                        continue
                    test_t = trans[li] * (1.0 - a)
                    if test_t < T_MIN:
                        done[li] = True
                        alive -= 1
                        continue
                    w = a * trans[li]
                    col[li, 0] += rgb[g, 0] * w
                    col[li, 1] += rgb[g, 1] * w
                    col[li, 2] += rgb[g, 2] * w
                    trans[li] = test_t
                    contrib[li] = k - start + 1
            if alive == 0:
                break
        for py in range(y0, y1 + 1):
            for px in range(x0, x1 + 1):
                li = (py - y0) * TILE + (px - x0)
                for ch in range(3):
                    image[py, px, ch] = col[li, ch] + trans[li] * background[ch]
                final_t[py, px] = trans[li]
                n_contrib[py, px] = contrib[li]


# ------------------------------------------------------------------------------------------------- backward
@njit(cache=True, parallel=True, fastmath=True)
def _raster_backward(
    offsets, ids, xy, conic, rgb, alpha, kmax, box, width, height, background, final_t, n_contrib, grad_image,
    pair_grads,
):
    tiles_x = (width + TILE - 1) // TILE
    n_tiles = offsets.shape[0] - 1
    for t in prange(n_tiles):
        x0 = (t % tiles_x) * TILE
        y0 = (t // tiles_x) * TILE
        x1 = min(x0 + TILE, width) - 1
        y1 = min(y0 + TILE, height) - 1
        start = offsets[t]
        # per pixel: transmittance, dL/dpixel, (T_final bg) . dL/dpixel, and behind = sum over the entries behind
        # the current one of (colour . dL/dpixel) alpha T -- enough for dL/dalpha (the gsplat formulation)
        trans = np.zeros(TILE * TILE)
        count = np.zeros(TILE * TILE, np.int64)
        dpix = np.zeros((TILE * TILE, 3))
        bg_term = np.zeros(TILE * TILE)
        behind = np.zeros(TILE * TILE)
        max_count = 0
        for py in range(y0, y1 + 1):
            for px in range(x0, x1 + 1):
                li = (py - y0) * TILE + (px - x0)
                trans[li] = final_t[py, px]
                count[li] = n_contrib[py, px]
                max_count = max(max_count, count[li])
                for ch in range(3):
                    dpix[li, ch] = grad_image[py, px, ch]
                bg_term[li] = final_t[py, px] * (
                    background[0] * grad_image[py, px, 0]
                    + background[1] * grad_image[py, px, 1]
                    + background[2] * grad_image[py, px, 2]
                )
        for k in range(start + max_count - 1, start - 1, -1):
            g = ids[k]
            j = k - start
            ux, uy = xy[g, 0], xy[g, 1]
            ca, cb, cc = conic[g, 0], conic[g, 1], conic[g, 2]
            op = alpha[g]
            km = kmax[g]
            cr, cg, cbl = rgb[g, 0], rgb[g, 1], rgb[g, 2]
            g_u = 0.0
            g_v = 0.0
            g_a = 0.0
            g_b = 0.0
            g_c = 0.0
            g_op = 0.0
            g_r = 0.0
            g_g = 0.0
            g_bl = 0.0
            c0 = max(box[g, 0], x0)
            c1 = min(box[g, 1], x1)
            for py in range(max(box[g, 2], y0), min(box[g, 3], y1) + 1):
                dy = py + 0.5 - uy
                for px in range(c0, c1 + 1):
                    li = (py - y0) * TILE + (px - x0)
                    if j >= count[li]:
                        continue
                    dx = px + 0.5 - ux
                    md2 = ca * dx * dx + 2.0 * cb * dx * dy + cc * dy * dy
                    if md2 > km:
                        continue
                    gauss = math.exp(-0.5 * md2)
                    raw = op * gauss
                    a = min(ALPHA_MAX, raw)
                    if a < ALPHA_MIN:
                        continue
                    inv = 1.0 / (1.0 - a)
                    tr = trans[li] * inv
                    trans[li] = tr
                    w = a * tr
                    d0, d1, d2 = dpix[li, 0], dpix[li, 1], dpix[li, 2]
                    g_r += w * d0
                    g_g += w * d1
                    g_bl += w * d2
                    c_dot = cr * d0 + cg * d1 + cbl * d2
                    # C = sum_k c_k a_k T_k + T_final bg:  dC/da_j = c_j T_j - (behind_j + T_final bg) / (1 - a_j)
                    d_alpha = c_dot * tr - (behind[li] + bg_term[li]) * inv
                    behind[li] += c_dot * w
                    if raw > ALPHA_MAX:  # clamped: alpha does not depend on the Gaussian here
                        continue
                    g_op += gauss * d_alpha
                    d_g = op * d_alpha
                    gdx = gauss * dx
                    gdy = gauss * dy
                    # G = exp(-md2 / 2); d(dx)/d(u) = -1
                    g_u -= d_g * (-gdx * ca - gdy * cb)
                    g_v -= d_g * (-gdy * cc - gdx * cb)
                    g_a += -0.5 * gdx * dx * d_g
                    g_b += -gdx * dy * d_g
                    g_c += -0.5 * gdy * dy * d_g
            pair_grads[k, _G_U] = g_u
            pair_grads[k, _G_V] = g_v
            pair_grads[k, _G_A] = g_a
            pair_grads[k, _G_B] = g_b
            pair_grads[k, _G_C] = g_c
            pair_grads[k, _G_OP] = g_op
            pair_grads[k, _G_R] = g_r
            pair_grads[k, _G_R + 1] = g_g
            pair_grads[k, _G_R + 2] = g_bl
        # entries no pixel reached get zero rows
        for k in range(start + max_count, offsets[t + 1]):
            for c in range(_N_PAIR_GRADS):
                pair_grads[k, c] = 0.0


@njit(cache=True)
def _reduce_pairs(ids, pair_grads, n):
    out = np.zeros((n, _N_PAIR_GRADS))
    for k in range(ids.shape[0]):
        g = ids[k]
        for c in range(_N_PAIR_GRADS):
            out[g, c] += pair_grads[k, c]
    return out


@njit(cache=True, parallel=True)
def _preprocess_backward(
    means, log_scales, quats, opacity_logits, sh, degree,
    viewmat, campos, fx, fy, cx, cy, width, height,
    conic, clamped, alpha, radius, g2d,  # g2d [N, 9] from _reduce_pairs
    d_means, d_log_scales, d_quats, d_opacity_logits, d_sh,  # outputs (zeroed by caller)
):
    n = means.shape[0]
    lim_xp, lim_xn, lim_yp, lim_yn = _clamp_limits(fx, fy, cx, cy, width, height)
    n_chunks = min(n, 256)
    for chunk in prange(n_chunks):
        basis = np.empty(MAX_SH_COEFFS)
        gbx = np.empty(MAX_SH_COEFFS)
        gby = np.empty(MAX_SH_COEFFS)
        gbz = np.empty(MAX_SH_COEFFS)
        rot = np.empty((3, 3))
        sc = np.empty(3)
        m = np.empty((3, 3))
        sigma = np.empty((3, 3))
        t = np.empty((2, 3))
        ts = np.empty((2, 3))
        g2 = np.empty((2, 2))
        tg = np.empty((3, 2))
        d_sigma = np.empty((3, 3))
        d_t = np.empty((2, 3))
        d_m = np.empty((3, 3))
        d_rot = np.empty((3, 3))
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            if radius[i] == 0:
                continue
            px, py, pz = means[i, 0], means[i, 1], means[i, 2]
            # opacity
            op = alpha[i]
            d_opacity_logits[i] = g2d[i, _G_OP] * op * (1.0 - op)
            # colour -> SH coefficients and view direction
            dxw, dyw, dzw = px - campos[0], py - campos[1], pz - campos[2]
            dn = math.sqrt(dxw * dxw + dyw * dyw + dzw * dzw)
            if dn < 1e-12:
                dn = 1e-12
            ux_, uy_, uz_ = dxw / dn, dyw / dn, dzw / dn
            _sh_basis(ux_, uy_, uz_, degree, basis)
            _sh_basis_grad(ux_, uy_, uz_, degree, gbx, gby, gbz)
            n_coeffs = (degree + 1) * (degree + 1)
            d_dir_x = 0.0
            d_dir_y = 0.0
            d_dir_z = 0.0
            for ch in range(3):
                d_c = 0.0 if clamped[i, ch] else g2d[i, _G_R + ch]
                for k in range(n_coeffs):
                    d_sh[i, k, ch] = basis[k] * d_c
                    s = sh[i, k, ch] * d_c
                    d_dir_x += gbx[k] * s
                    d_dir_y += gby[k] * s
                    d_dir_z += gbz[k] * s
            # through the normalisation dir = d / |d|: (I - u u^T) / |d|
            dot = d_dir_x * ux_ + d_dir_y * uy_ + d_dir_z * uz_
            d_means[i, 0] = (d_dir_x - ux_ * dot) / dn
            d_means[i, 1] = (d_dir_y - uy_ * dot) / dn
            d_means[i, 2] = (d_dir_z - uz_ * dot) / dn

            # recompute the forward quantities
            tx = viewmat[0, 0] * px + viewmat[0, 1] * py + viewmat[0, 2] * pz + viewmat[0, 3]
            ty = viewmat[1, 0] * px + viewmat[1, 1] * py + viewmat[1, 2] * pz + viewmat[1, 3]
            tz = viewmat[2, 0] * px + viewmat[2, 1] * py + viewmat[2, 2] * pz + viewmat[2, 3]
            qw, qx, qy, qz = quats[i, 0], quats[i, 1], quats[i, 2], quats[i, 3]
            qn = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
            if qn < 1e-12:
                qn = 1e-12
            qw, qx, qy, qz = qw / qn, qx / qn, qy / qn, qz / qn
            _quat_to_rot(qw, qx, qy, qz, rot)
            for a in range(3):
                sc[a] = math.exp(log_scales[i, a])
                for b in range(3):
                    m[b, a] = rot[b, a] * sc[a]
            _mmt(m, m, sigma)
            rx_raw = tx / tz
            ry_raw = ty / tz
            rx = min(lim_xp, max(-lim_xn, rx_raw))
            ry = min(lim_yp, max(-lim_yn, ry_raw))
            for b in range(3):
                t[0, b] = fx / tz * viewmat[0, b] - fx * rx / tz * viewmat[2, b]
                t[1, b] = fy / tz * viewmat[1, b] - fy * ry / tz * viewmat[2, b]
            _mm(t, sigma, ts)
            ca = ts[0, 0] * t[0, 0] + ts[0, 1] * t[0, 1] + ts[0, 2] * t[0, 2] + LOWPASS
            cb = ts[0, 0] * t[1, 0] + ts[0, 1] * t[1, 1] + ts[0, 2] * t[1, 2]
            cc = ts[1, 0] * t[1, 0] + ts[1, 1] * t[1, 1] + ts[1, 2] * t[1, 2] + LOWPASS
            det = ca * cc - cb * cb
            det2 = det * det
            # conic (A, B, C) = (c, -b, a) / det  ->  covariance entries (a, b, c)
            gA, gB, gC = g2d[i, _G_A], g2d[i, _G_B], g2d[i, _G_C]
            d_ca = (-cc * cc * gA + cb * cc * gB - cb * cb * gC) / det2
            d_cb = (2.0 * cb * cc * gA - (ca * cc + cb * cb) * gB + 2.0 * ca * cb * gC) / det2
            d_cc = (-cb * cb * gA + ca * cb * gB - ca * ca * gC) / det2
            # cov2d = T Sigma T^T; symmetric gradient matrix G2 (off-diagonal carries half of d_cb each)
            g2[0, 0] = d_ca
            g2[0, 1] = 0.5 * d_cb
            g2[1, 0] = 0.5 * d_cb
            g2[1, 1] = d_cc
            _mtm(t, g2, tg)
            _mm(tg, t, d_sigma)  # T^T G2 T [3, 3]
            _mm(g2, ts, d_t)  # dL/dT = 2 G2 T Sigma [2, 3]
            for a in range(2):
                for b in range(3):
                    d_t[a, b] *= 2.0
            # T = J V (V = view rotation): dL/dJ = dL/dT V^T
            d_j00 = d_t[0, 0] * viewmat[0, 0] + d_t[0, 1] * viewmat[0, 1] + d_t[0, 2] * viewmat[0, 2]
            d_j02 = d_t[0, 0] * viewmat[2, 0] + d_t[0, 1] * viewmat[2, 1] + d_t[0, 2] * viewmat[2, 2]
            d_j11 = d_t[1, 0] * viewmat[1, 0] + d_t[1, 1] * viewmat[1, 1] + d_t[1, 2] * viewmat[1, 2]
            d_j12 = d_t[1, 0] * viewmat[2, 0] + d_t[1, 1] * viewmat[2, 1] + d_t[1, 2] * viewmat[2, 2]
            # J00 = fx/z, J02 = -fx rx / z, J11 = fy/z, J12 = -fy ry / z with rx = clamp(tx / z)
            d_tz = -fx / (tz * tz) * d_j00 - fy / (tz * tz) * d_j11
            d_tz += fx * rx / (tz * tz) * d_j02 + fy * ry / (tz * tz) * d_j12
            d_rx = -fx / tz * d_j02
            d_ry = -fy / tz * d_j12
            d_tx = 0.0
            d_ty = 0.0
            if -lim_xn <= rx_raw <= lim_xp:
                d_tx += d_rx / tz
                d_tz -= d_rx * tx / (tz * tz)
            if -lim_yn <= ry_raw <= lim_yp:
                d_ty += d_ry / tz
                d_tz -= d_ry * ty / (tz * tz)
            # projected mean u = fx tx / tz + cx, v = fy ty / tz + cy
            g_u, g_v = g2d[i, _G_U], g2d[i, _G_V]
            d_tx += fx / tz * g_u
            d_ty += fy / tz * g_v
            d_tz -= (fx * tx * g_u + fy * ty * g_v) / (tz * tz)
            for a in range(3):
                d_means[i, a] += viewmat[0, a] * d_tx + viewmat[1, a] * d_ty + viewmat[2, a] * d_tz
            # Sigma = M M^T, M = R diag(s)
            _mm(d_sigma, m, d_m)  # dL/dM = 2 dL/dSigma M
            for a in range(3):
                for b in range(3):
                    d_m[a, b] *= 2.0
            for a in range(3):
                d_s = 0.0
                for b in range(3):
                    d_s += d_m[b, a] * rot[b, a]
                    d_rot[b, a] = d_m[b, a] * sc[a]
                d_log_scales[i, a] = d_s * sc[a]
            dw = 2.0 * (-qz * d_rot[0, 1] + qy * d_rot[0, 2] + qz * d_rot[1, 0] - qx * d_rot[1, 2] - qy * d_rot[2, 0]
                        + qx * d_rot[2, 1])
            dx_ = 2.0 * (qy * d_rot[0, 1] + qz * d_rot[0, 2] + qy * d_rot[1, 0] - 2.0 * qx * d_rot[1, 1]
                         - qw * d_rot[1, 2] + qz * d_rot[2, 0] + qw * d_rot[2, 1] - 2.0 * qx * d_rot[2, 2])
            dy_ = 2.0 * (-2.0 * qy * d_rot[0, 0] + qx * d_rot[0, 1] + qw * d_rot[0, 2] + qx * d_rot[1, 0]
                         + qz * d_rot[1, 2] - qw * d_rot[2, 0] + qz * d_rot[2, 1] - 2.0 * qy * d_rot[2, 2])
            dz_ = 2.0 * (-2.0 * qz * d_rot[0, 0] - qw * d_rot[0, 1] + qx * d_rot[0, 2] + qw * d_rot[1, 0]
                         - 2.0 * qz * d_rot[1, 1] + qy * d_rot[1, 2] + qx * d_rot[2, 0] + qy * d_rot[2, 1])
            # through the normalisation q / |q|
            dq = dw * qw + dx_ * qx + dy_ * qy + dz_ * qz
            d_quats[i, 0] = (dw - qw * dq) / qn
            d_quats[i, 1] = (dx_ - qx * dq) / qn
            d_quats[i, 2] = (dy_ - qy * dq) / qn
            d_quats[i, 3] = (dz_ - qz * dq) / qn


    # ------------------------------------------------------------------------------------------------- public API
@dataclass
class RasterState:
    """What the backward pass needs from one forward pass."""

    means: np.ndarray  # [N, 3] float64
    log_scales: np.ndarray  # [N, 3] float64
    quats: np.ndarray  # [N, 4] float64
    opacity_logits: np.ndarray  # [N] float64
    sh: np.ndarray  # [N, 16, 3] float64 (coefficient 0 is the DC term)
    sh_degree: int
    viewmat: np.ndarray  # [4, 4] float64 world -> camera
    campos: np.ndarray  # [3] float64 camera centre in world
    intrinsics: tuple  # (fx, fy, cx, cy, width, height)
    background: np.ndarray  # [3] float64
    xy: np.ndarray  # [N, 2] projected means, pixels
    conic: np.ndarray  # [N, 3] inverse 2D covariance (a, b, c)
    rgb: np.ndarray  # [N, 3] colour after clamping at 0
    clamped: np.ndarray  # [N, 3] bool
    alpha: np.ndarray  # [N] sigmoid(opacity)
    kmax: np.ndarray  # [N] squared Mahalanobis cut-off
    box: np.ndarray  # [N, 4] int64 first/last column, first/last row reached
    radius: np.ndarray  # [N] int64 3-sigma radius in pixels, 0 = not rendered
    offsets: np.ndarray  # [tiles + 1] int64
    ids: np.ndarray  # [P] int64 Gaussian of each (tile, depth-sorted) entry
    final_t: np.ndarray  # [H, W] float64
    n_contrib: np.ndarray  # [H, W] int64


@dataclass
class Gradients:
    means: np.ndarray  # [N, 3]
    log_scales: np.ndarray  # [N, 3]
    quats: np.ndarray  # [N, 4]
    opacity_logits: np.ndarray  # [N]
    sh: np.ndarray  # [N, 16, 3]
    mean2d_ndc: np.ndarray  # [N, 2] gradient w.r.t. the projected mean in NDC units (densification statistic)
    visible: np.ndarray  # [N] bool, rendered in this view
    radius: np.ndarray  # [N] int64, 3-sigma screen radius (0 when not rendered)


def camera_arrays(camera) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(viewmat [4,4], camera centre [3], (fx, fy, cx, cy, width, height)) of an OpenCV camera."""
    viewmat = np.ascontiguousarray(camera.world_to_camera, dtype=np.float64)
    campos = -viewmat[:3, :3].T @ viewmat[:3, 3]
    intr = (float(camera.fx), float(camera.fy), float(camera.cx), float(camera.cy),
            int(camera.width), int(camera.height))
    return viewmat, np.ascontiguousarray(campos), intr


def rasterize_forward(
    means: np.ndarray,  # [N, 3]
    log_scales: np.ndarray,  # [N, 3]
    quats: np.ndarray,  # [N, 4]
    opacity_logits: np.ndarray,  # [N]
    sh: np.ndarray,  # [N, K, 3] K >= (sh_degree + 1)^2, coefficient 0 is DC
    sh_degree: int,
    camera,
    background=(0.0, 0.0, 0.0),
) -> tuple[np.ndarray, RasterState]:
    """Render; returns (image [H, W, 3] float64, not clipped, and the state for :func:`rasterize_backward`)."""
    f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    means, log_scales, quats, opacity_logits = f64(means), f64(log_scales), f64(quats), f64(opacity_logits)
    sh = f64(sh)
    n = means.shape[0]
    if sh.shape[1] < MAX_SH_COEFFS:  # kernels index a fixed 16-coefficient layout
        sh = np.concatenate([sh, np.zeros((n, MAX_SH_COEFFS - sh.shape[1], 3))], axis=1)
    if sh_degree < 0 or (sh_degree + 1) ** 2 > MAX_SH_COEFFS:
        raise ValueError(f"sh_degree={sh_degree} must be in 0..3")
    viewmat, campos, intr = camera_arrays(camera)
    fx, fy, cx, cy, width, height = intr
    bg = f64(background).reshape(3)
    xy = np.zeros((n, 2))
    depth = np.zeros(n)
    conic = np.zeros((n, 3))
    rgb = np.zeros((n, 3))
    clamped = np.zeros((n, 3), np.bool_)
    alpha = np.zeros(n)
    kmax = np.zeros(n)
    radius = np.zeros(n, np.int64)
    box = np.zeros((n, 4), np.int64)
    _preprocess(
        means, log_scales, quats, opacity_logits, sh, sh_degree, viewmat, campos, fx, fy, cx, cy, width, height,
        xy, depth, conic, rgb, clamped, alpha, kmax, radius, box,
    )
    visible = np.flatnonzero(radius > 0)
    order = visible[np.argsort(depth[visible], kind="stable")]
    tiles_x = (width + TILE - 1) // TILE
    tiles_y = (height + TILE - 1) // TILE
    offsets, ids = _bin(order, box, tiles_x, tiles_x * tiles_y)
    image = np.empty((height, width, 3))
    final_t = np.empty((height, width))
    n_contrib = np.empty((height, width), np.int64)
    # tiles differ a lot in work (the object sits in the middle): schedule them one at a time
    with numba.parallel_chunksize(1):
        _raster_forward(offsets, ids, xy, conic, rgb, alpha, kmax, box, width, height, bg, image, final_t, n_contrib)
    state = RasterState(
        means, log_scales, quats, opacity_logits, sh, sh_degree, viewmat, campos, intr, bg,
        xy, conic, rgb, clamped, alpha, kmax, box, radius, offsets, ids, final_t, n_contrib,
    )
    return image, state


def rasterize_backward(state: RasterState, grad_image: np.ndarray) -> Gradients:
    """Gradients of a scalar loss w.r.t. every parameter, given dLoss/dimage [H, W, 3]."""
    s = state
    fx, fy, cx, cy, width, height = s.intrinsics
    grad_image = np.ascontiguousarray(grad_image, dtype=np.float64)
    if grad_image.shape != (height, width, 3):
        raise ValueError(f"grad_image has shape {grad_image.shape}, expected {(height, width, 3)}")
    n = s.means.shape[0]
    pair_grads = np.empty((s.ids.shape[0], _N_PAIR_GRADS))
    with numba.parallel_chunksize(1):
        _raster_backward(
            s.offsets, s.ids, s.xy, s.conic, s.rgb, s.alpha, s.kmax, s.box, width, height, s.background, s.final_t,
            s.n_contrib, grad_image, pair_grads,
        )
    g2d = _reduce_pairs(s.ids, pair_grads, n)
    d_means = np.zeros((n, 3))
    d_log_scales = np.zeros((n, 3))
    d_quats = np.zeros((n, 4))
    d_opacity = np.zeros(n)
    d_sh = np.zeros_like(s.sh)
    _preprocess_backward(
        s.means, s.log_scales, s.quats, s.opacity_logits, s.sh, s.sh_degree, s.viewmat, s.campos,
        fx, fy, cx, cy, width, height, s.conic, s.clamped, s.alpha, s.radius, g2d,
        d_means, d_log_scales, d_quats, d_opacity, d_sh,
    )
    mean2d_ndc = np.stack([g2d[:, _G_U] * (0.5 * width), g2d[:, _G_V] * (0.5 * height)], axis=1)
    return Gradients(d_means, d_log_scales, d_quats, d_opacity, d_sh, mean2d_ndc, s.radius > 0, s.radius.copy())
