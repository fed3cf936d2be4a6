"""Real spherical harmonics to degree 3, with the constants and sign conventions of the INRIA 3DGS renderer: the one
basis (and its derivative) that rendering and training share.

Colour of a Gaussian seen along unit direction d = (x, y, z) (from the camera centre to the mean):
``max(sum_k basis_k(d) * sh_k + 0.5, 0)`` per channel, sh_0 = sh_dc and sh_1.. = sh_rest.
"""

from __future__ import annotations

from numba import njit

MAX_SH_COEFFS = 16  # degree 3
C0 = 0.28209479177387814
C1 = 0.4886025119029199
C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


@njit(cache=True, inline="always")
def sh_basis(x, y, z, degree, out):
    """The (degree + 1)^2 basis values at unit direction (x, y, z) into out [16]."""
    out[0] = C0
    if degree > 0:
        out[1] = -C1 * y
        out[2] = C1 * z
        out[3] = -C1 * x
    if degree > 1:
        xx, yy, zz = x * x, y * y, z * z
        out[4] = C2[0] * x * y
        out[5] = C2[1] * y * z
        out[6] = C2[2] * (2.0 * zz - xx - yy)
        out[7] = C2[3] * x * z
        out[8] = C2[4] * (xx - yy)
        if degree > 2:
            out[9] = C3[0] * y * (3.0 * xx - yy)
            out[10] = C3[1] * x * y * z
            out[11] = C3[2] * y * (4.0 * zz - xx - yy)
            out[12] = C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy)
            out[13] = C3[4] * x * (4.0 * zz - xx - yy)
            out[14] = C3[5] * z * (xx - yy)
            out[15] = C3[6] * x * (xx - 3.0 * yy)


@njit(cache=True, inline="always")
def sh_basis_grad(x, y, z, degree, gx, gy, gz):
    """Partial derivatives of each basis value w.r.t. x, y, z (taken as independent) into gx, gy, gz [16]."""
    for k in range(MAX_SH_COEFFS):
        gx[k] = 0.0
        gy[k] = 0.0
        gz[k] = 0.0
    if degree > 0:
        gy[1] = -C1
        gz[2] = C1
        gx[3] = -C1
    if degree > 1:
        xx, yy, zz = x * x, y * y, z * z
        gx[4] = C2[0] * y
        gy[4] = C2[0] * x
        gy[5] = C2[1] * z
        gz[5] = C2[1] * y
        gx[6] = C2[2] * -2.0 * x
        gy[6] = C2[2] * -2.0 * y
        gz[6] = C2[2] * 4.0 * z
        gx[7] = C2[3] * z
        gz[7] = C2[3] * x
        gx[8] = C2[4] * 2.0 * x
        gy[8] = C2[4] * -2.0 * y
        if degree > 2:
            gx[9] = C3[0] * 6.0 * x * y
            gy[9] = C3[0] * (3.0 * xx - 3.0 * yy)
            gx[10] = C3[1] * y * z
            gy[10] = C3[1] * x * z
            gz[10] = C3[1] * x * y
            gx[11] = C3[2] * -2.0 * x * y
            gy[11] = C3[2] * (4.0 * zz - xx - 3.0 * yy)
            gz[11] = C3[2] * 8.0 * y * z
            gx[12] = C3[3] * -6.0 * x * z
            gy[12] = C3[3] * -6.0 * y * z
            gz[12] = C3[3] * (6.0 * zz - 3.0 * xx - 3.0 * yy)
            gx[13] = C3[4] * (4.0 * zz - 3.0 * xx - yy)
            gy[13] = C3[4] * -2.0 * x * y
            gz[13] = C3[4] * 8.0 * x * z
            gx[14] = C3[5] * 2.0 * x * z
            gy[14] = C3[5] * -2.0 * y * z
            gz[14] = C3[5] * (xx - yy)
            gx[15] = C3[6] * (3.0 * xx - 3.0 * yy)
            gy[15] = C3[6] * -6.0 * x * y


@njit(cache=True, inline="always")
def sh_colour(basis, sh_dc, sh_rest, i, degree, out, clamped):
    """Colour of Gaussian ``i`` from the basis values: out [3] gets the clamped colour, clamped [3] whether the
    clamp at 0 was hit (its gradient is zero there). sh_dc [N, 3], sh_rest [N, K, 3]."""
    n = (degree + 1) * (degree + 1)
    for c in range(3):
        v = basis[0] * sh_dc[i, c] + 0.5
        for k in range(1, n):
            v += basis[k] * sh_rest[i, k - 1, c]
        clamped[c] = v < 0.0
        out[c] = v if v > 0.0 else 0.0
