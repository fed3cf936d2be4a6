"""The backward pass of the renderer, for the CPU trainer: gradients of a loss on the image w.r.t. every parameter.

The forward pass is the renderer's own (:mod:`splatcast.render.project` -> :mod:`splatcast.render.rasterize`, run in
float64); :func:`rasterize_forward` keeps what the backward pass needs: the projected Gaussians, the per-tile
depth-sorted lists, the final transmittance and the number of list entries each pixel went through (``n_contrib``).
The backward pass walks each pixel's list back to front, reconstructing the transmittance by division, as the
reference CUDA rasterizer does, and then chains the 2D gradients (mean, conic, colour, opacity) to the 3D
parameters (means, log-scales, quaternions, opacity logits, SH coefficients, including the means' gradient through
the view direction of the SH colour), recomputing the geometry with the projection stage's own helpers.

The gradient treats the ellipse cut and the 1/255 cut as fixed (as the reference does); where alpha is clamped to
0.99 it is exact (zero). Per-Gaussian gradient sums are race free: each (tile, Gaussian) entry writes its own row
of a buffer, reduced afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from splatcast.render.constants import MAX_ALPHA, MIN_ALPHA, PIXEL_FASTMATH, TILE
from splatcast.render.project import (Projected, camera_arrays, clamp_limits, covariance_2d, gaussian_frame,
                                      project_arrays, screen_jacobian, view_space)
from splatcast.render.rasterize import Bins, bin_tiles, composite_bins
from splatcast.render.sh import MAX_SH_COEFFS, sh_basis, sh_basis_grad

PARAM_NAMES = ("means", "scales", "quats", "opacities", "sh_dc", "sh_rest")  # a GaussianCloud's, in float64

# columns of the per-(tile, Gaussian) gradient buffer
_G_U, _G_V, _G_A, _G_B, _G_C, _G_OP, _G_R = 0, 1, 2, 3, 4, 5, 6  # _G_R.._G_R+2: colour
_N_PAIR_GRADS = 9


@dataclass
class RasterState:
    """What the backward pass needs from one forward pass."""

    params: dict  # name (PARAM_NAMES) -> float64 array, the cloud's shapes
    sh_degree: int
    camera: tuple  # camera_arrays(): world -> camera [4, 4], centre [3], intrinsics [6]
    background: np.ndarray  # [3] float64
    proj: Projected
    bins: Bins
    final_t: np.ndarray  # [H, W] float64
    n_contrib: np.ndarray  # [H, W] int64


@dataclass
class Gradients:
    """d loss / d each parameter (the cloud's names and shapes), and the densifier's statistics."""

    means: np.ndarray
    scales: np.ndarray
    quats: np.ndarray
    opacities: np.ndarray
    sh_dc: np.ndarray
    sh_rest: np.ndarray
    mean2d_ndc: np.ndarray  # [N, 2] gradient w.r.t. the projected mean in NDC units (densification statistic)
    visible: np.ndarray  # [N] bool, rendered in this view
    radius: np.ndarray  # [N] int32, 3-sigma screen radius (0 when not rendered)

    def by_name(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in PARAM_NAMES}


def rasterize_forward(params: dict, sh_degree: int, camera, background=(0.0, 0.0, 0.0)):
    """Render float64 parameters; returns (image [H, W, 3] float64, not clipped, state for the backward pass)."""
    p = {name: np.ascontiguousarray(params[name], dtype=np.float64) for name in PARAM_NAMES}
    proj = project_arrays(*p.values(), sh_degree, camera, np.float64)
    bins = bin_tiles(proj, camera.width, camera.height)
    image = np.empty((camera.height, camera.width, 3))
    final_t = np.empty((camera.height, camera.width))
    n_contrib = np.empty((camera.height, camera.width), np.int64)
    bg = np.asarray(background, np.float64).reshape(3)
    composite_bins(proj, bins, bg, image, final_t, n_contrib)
    return image, RasterState(p, sh_degree, camera_arrays(camera), bg, proj, bins, final_t, n_contrib)


def rasterize_backward(state: RasterState, grad_image: np.ndarray) -> Gradients:
    """Gradients of a scalar loss w.r.t. every parameter, given dLoss/dimage [H, W, 3]."""
    s, proj, bins = state, state.proj, state.bins
    width, height = bins.width, bins.height
    grad_image = np.ascontiguousarray(grad_image, dtype=np.float64)
    if grad_image.shape != (height, width, 3):
        raise ValueError(f"grad_image has shape {grad_image.shape}, expected {(height, width, 3)}")
    n = len(s.params["means"])
    pair_grads = np.empty((len(bins.ids), _N_PAIR_GRADS))
    # tiles differ a lot in work (the object sits in the middle): schedule them one at a time
    with numba.parallel_chunksize(1):
        _raster_backward(
            bins.start, bins.ids, proj.uv, proj.conic, proj.colour, proj.opacity, proj.md2_max, proj.pixel_box,
            width, height, s.background, s.final_t, s.n_contrib, grad_image, pair_grads,
        )
    g2d = _reduce_pairs(bins.ids, pair_grads, n)
    grads = {name: np.zeros_like(value) for name, value in s.params.items()}
    _preprocess_backward(*s.params.values(), s.sh_degree, *s.camera, proj.clamped, proj.opacity, proj.visible, g2d,
                         *grads.values())
    mean2d_ndc = np.stack([g2d[:, _G_U] * (0.5 * width), g2d[:, _G_V] * (0.5 * height)], axis=1)
    return Gradients(**grads, mean2d_ndc=mean2d_ndc, visible=proj.visible.copy(), radius=proj.radius.copy())


@njit(cache=True, inline="always")
def _mm(a, b, out):
    """out = a @ b for small matrices (no allocation, no BLAS call; a may be a transposed view)."""
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = 0.0
            for k in range(a.shape[1]):
                acc += a[i, k] * b[k, j]
            out[i, j] = acc


# ------------------------------------------------------------------------------------------------- backward
@njit(cache=True, parallel=True, fastmath=PIXEL_FASTMATH)
def _raster_backward(
    offsets, ids, xy, conic, rgb, alpha, kmax, box,  # Bins.start, .ids; Projected.uv, .conic, .colour, ...
    width, height, background, final_t, n_contrib, grad_image,
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
                    a = min(MAX_ALPHA, raw)
                    if a < MIN_ALPHA:
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
                    if raw > MAX_ALPHA:  # clamped: alpha does not depend on the Gaussian here
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
    means, scales, quats, opacities, sh_dc, sh_rest, degree,
    viewmat, campos, intr,  # camera_arrays()
    clamped, alpha, visible, g2d,  # Projected.clamped, .opacity, .visible; g2d [N, 9] from _reduce_pairs
    d_means, d_scales, d_quats, d_opacities, d_sh_dc, d_sh_rest,  # outputs (zeroed by caller)
):
    n = means.shape[0]
    fx, fy = intr[0], intr[1]
    lims = clamp_limits(intr)
    lim_xp, lim_xn, lim_yp, lim_yn = lims
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
            if not visible[i]:
                continue
            # opacity
            op = alpha[i]
            d_opacities[i] = g2d[i, _G_OP] * op * (1.0 - op)
            # colour -> SH coefficients and view direction
            dxw, dyw, dzw = means[i, 0] - campos[0], means[i, 1] - campos[1], means[i, 2] - campos[2]
            dn = math.sqrt(dxw * dxw + dyw * dyw + dzw * dzw)  # > 0 for a visible Gaussian
            ux_, uy_, uz_ = dxw / dn, dyw / dn, dzw / dn
            sh_basis(ux_, uy_, uz_, degree, basis)
            sh_basis_grad(ux_, uy_, uz_, degree, gbx, gby, gbz)
            n_coeffs = (degree + 1) * (degree + 1)
            d_dir_x = 0.0
            d_dir_y = 0.0
            d_dir_z = 0.0
            for ch in range(3):
                d_c = 0.0 if clamped[i, ch] else g2d[i, _G_R + ch]
                d_sh_dc[i, ch] = basis[0] * d_c  # basis 0 is constant: no direction term
                for k in range(1, n_coeffs):
                    d_sh_rest[i, k - 1, ch] = basis[k] * d_c
                    s = sh_rest[i, k - 1, ch] * d_c
                    d_dir_x += gbx[k] * s
                    d_dir_y += gby[k] * s
                    d_dir_z += gbz[k] * s
            # through the normalisation dir = d / |d|: (I - u u^T) / |d|
            dot = d_dir_x * ux_ + d_dir_y * uy_ + d_dir_z * uz_
            d_means[i, 0] = (d_dir_x - ux_ * dot) / dn
            d_means[i, 1] = (d_dir_y - uy_ * dot) / dn
            d_means[i, 2] = (d_dir_z - uz_ * dot) / dn

            # recompute the forward quantities with the projection stage's helpers
            tx, ty, tz = view_space(viewmat, means, i)
            qn = gaussian_frame(scales, quats, i, rot, m, sigma, sc)
            qw, qx, qy, qz = quats[i, 0] / qn, quats[i, 1] / qn, quats[i, 2] / qn, quats[i, 3] / qn
            rx_raw = tx / tz
            ry_raw = ty / tz
            rx, ry = screen_jacobian(tx, ty, tz, viewmat, intr, lims, t)
            ca, cb, cc = covariance_2d(t, sigma, ts)
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
            _mm(t.T, g2, tg)
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
                d_scales[i, a] = d_s * sc[a]
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


