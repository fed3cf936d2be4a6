"""The slow, obviously-correct renderer that tests compare the fast one (``rasterize.py``) with.

Plain float64 numpy, no tiles, no shared code with the fast path (its own quaternion, covariance, Jacobian and SH
code; scipy for rotations). The image it defines, per pixel centre p = (c + 0.5, r + 0.5):

1. Gaussians with view-space depth z > 0.2, sorted front to back by z rounded to float32 (the INRIA renderer's
   sort key; ties: lower index first).
2. 2D covariance S2 = J W S3 W^T J^T + 0.3 I, J the perspective Jacobian at the mean with x/z, y/z clamped to
   1.3 x the half field of view; d^2 = (p - mu)^T S2^-1 (p - mu).
3. A Gaussian contributes where d^2 <= 9 and alpha = min(0.99, sigmoid(opacity) * exp(-d^2 / 2)) >= 1/255; if the
   transmittance after it would drop below 1e-4 the pixel stops there, without it.
4. colour = max(SH(mean - camera centre) + 0.5, 0); pixel = sum(colour * alpha * T) + T_final * background,
   clipped to [0, 1].

Use only on small images and scenes (memory is pixels x Gaussians).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

_C0 = 0.28209479177387814
_C1 = 0.4886025119029199
_C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396]
_C3 = [
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
]


def sh_basis(dirs: np.ndarray, degree: int) -> np.ndarray:
    """Real SH basis of unit directions [N, 3] -> [N, (degree + 1)^2] float64, INRIA 3DGS ordering and signs."""
    x, y, z = dirs[:, 0], dirs[:, 1], dirs[:, 2]
    cols = [np.full_like(x, _C0)]
    if degree >= 1:
        cols += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        cols += [
            _C2[0] * x * y,
            _C2[1] * y * z,
            _C2[2] * (2 * z * z - x * x - y * y),
            _C2[3] * x * z,
            _C2[4] * (x * x - y * y),
        ]
    if degree >= 3:
        cols += [
            _C3[0] * y * (3 * x * x - y * y),
            _C3[1] * x * y * z,
            _C3[2] * y * (4 * z * z - x * x - y * y),
            _C3[3] * z * (2 * z * z - 3 * x * x - 3 * y * y),
            _C3[4] * x * (4 * z * z - x * x - y * y),
            _C3[5] * z * (x * x - y * y),
            _C3[6] * x * (x * x - 3 * y * y),
        ]
    return np.stack(cols, axis=1)


def render_reference(cloud, camera, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Same contract as :func:`splatcast.render.rasterize.render`: [H, W, 3] float32 in [0, 1]."""
    return _reference(cloud, camera, background)[0]


def blend_weights_reference(cloud, camera) -> np.ndarray:
    """Same contract as :func:`splatcast.render.rasterize.blend_weights`: [N] float64, sum over pixels of the
    weight alpha x T each Gaussian gets in step 4."""
    return _reference(cloud, camera, (0.0, 0.0, 0.0))[1]


def _reference(cloud, camera, background) -> tuple[np.ndarray, np.ndarray]:
    bg = np.asarray(background, np.float64).reshape(3)
    h, w = camera.height, camera.width
    n = len(cloud)
    image = np.empty((h, w, 3))
    image[:] = bg
    weights = np.zeros(n)
    if n == 0:
        return image.astype(np.float32), weights

    means = cloud.means.astype(np.float64)
    view = camera.world_to_camera
    w_rot = view[:3, :3]
    cam = means @ w_rot.T + view[:3, 3]  # [N, 3] view space
    z = cam[:, 2]

    # 3D covariance R diag(s^2) R^T
    q = cloud.quats.astype(np.float64)
    rot = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()  # scipy wants (x, y, z, w); it normalises
    var = np.exp(2 * cloud.scales.astype(np.float64))
    cov3 = np.einsum("nij,nj,nkj->nik", rot, var, rot)

    # perspective Jacobian at the clamped mean
    with np.errstate(divide="ignore", invalid="ignore"):
        half_x, half_y = 0.5 * w / camera.fx, 0.5 * h / camera.fy
        xz = np.clip(cam[:, 0] / z, -(camera.cx / camera.fx + 0.3 * half_x), (w - camera.cx) / camera.fx + 0.3 * half_x)
        yz = np.clip(cam[:, 1] / z, -(camera.cy / camera.fy + 0.3 * half_y), (h - camera.cy) / camera.fy + 0.3 * half_y)
        jac = np.zeros((n, 2, 3))
        jac[:, 0, 0] = camera.fx / z
        jac[:, 0, 2] = -camera.fx * xz / z
        jac[:, 1, 1] = camera.fy / z
        jac[:, 1, 2] = -camera.fy * yz / z
        jw = jac @ w_rot
        cov2 = jw @ cov3 @ jw.transpose(0, 2, 1) + 0.3 * np.eye(2)
        mu = np.stack([camera.fx * cam[:, 0] / z + camera.cx, camera.fy * cam[:, 1] / z + camera.cy], axis=1)

    front = z > 0.2
    idx = np.flatnonzero(front)
    idx = idx[np.argsort(z[idx].astype(np.float32), kind="stable")]
    if len(idx) == 0:
        return np.clip(image, 0, 1).astype(np.float32), weights
    inv = np.linalg.inv(cov2[idx])  # [M, 2, 2]
    alpha_max = 1.0 / (1.0 + np.exp(-cloud.opacities.astype(np.float64)[idx]))

    dirs = means[idx] - camera.center
    dirs /= np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-300)
    coeffs = np.concatenate([cloud.sh_dc[idx, None, :], cloud.sh_rest[idx]], axis=1).astype(np.float64)
    colour = np.maximum(np.einsum("nk,nkc->nc", sh_basis(dirs, cloud.sh_degree), coeffs) + 0.5, 0.0)

    rows, cols = np.mgrid[0:h, 0:w]
    pix = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)  # [P, 2] pixel centres
    trans = np.ones(len(pix))
    acc = np.zeros((len(pix), 3))
    done = np.zeros(len(pix), bool)
    for m in range(len(idx)):  # front to back; every pixel sees every Gaussian
        d = pix - mu[idx[m]]
        d2 = np.einsum("pi,ij,pj->p", d, inv[m], d)
        alpha = np.minimum(0.99, alpha_max[m] * np.exp(-0.5 * d2))
        hit = ~done & (d2 <= 9.0) & (alpha >= 1.0 / 255.0)
        next_t = trans * (1.0 - alpha)
        stop = hit & (next_t < 1e-4)
        done |= stop
        keep = hit & ~stop
        contribution = alpha[keep] * trans[keep]
        acc[keep] += colour[m] * contribution[:, None]
        weights[idx[m]] = contribution.sum()
        trans[keep] = next_t[keep]
    image = acc + trans[:, None] * bg
    return np.clip(image.reshape(h, w, 3), 0.0, 1.0).astype(np.float32), weights
