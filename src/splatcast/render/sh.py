"""Real spherical harmonics to degree 3, with the constants and sign conventions of the INRIA 3DGS renderer.

Colour of a Gaussian seen along unit direction d = (x, y, z) (from the camera centre to the mean):
``max(sum_k basis_k(d) * sh_k + 0.5, 0)`` per channel, with basis_0 = C0 and the higher bands below.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
def sh_colour(sh_dc, sh_rest, i, degree, x, y, z, out):
    """Write the clamped colour of Gaussian ``i`` into ``out`` [3]; (x, y, z) is the unit view direction.

    sh_dc [N, 3] float32, sh_rest [N, K, 3] float32.
    """
    for c in range(3):
        v = C0 * sh_dc[i, c]
        if degree > 0:
            v += -C1 * y * sh_rest[i, 0, c] + C1 * z * sh_rest[i, 1, c] - C1 * x * sh_rest[i, 2, c]
            if degree > 1:
                xx, yy, zz = x * x, y * y, z * z
                xy, yz, xz = x * y, y * z, x * z
                v += (
                    C2[0] * xy * sh_rest[i, 3, c]
                    + C2[1] * yz * sh_rest[i, 4, c]
                    + C2[2] * (2.0 * zz - xx - yy) * sh_rest[i, 5, c]
                    + C2[3] * xz * sh_rest[i, 6, c]
                    + C2[4] * (xx - yy) * sh_rest[i, 7, c]
                )
                if degree > 2:
                    v += (
                        C3[0] * y * (3.0 * xx - yy) * sh_rest[i, 8, c]
                        + C3[1] * xy * z * sh_rest[i, 9, c]
                        + C3[2] * y * (4.0 * zz - xx - yy) * sh_rest[i, 10, c]
                        + C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * sh_rest[i, 11, c]
                        + C3[4] * x * (4.0 * zz - xx - yy) * sh_rest[i, 12, c]
                        + C3[5] * z * (xx - yy) * sh_rest[i, 13, c]
                        + C3[6] * x * (xx - 3.0 * yy) * sh_rest[i, 14, c]
                    )
        v += 0.5
        out[c] = v if v > 0.0 else 0.0
