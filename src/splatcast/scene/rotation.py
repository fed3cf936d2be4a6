"""Quaternion (w, x, y, z) -> rotation matrix: the one implementation the renderer, the trainer and the scene use
(``render/reference.py`` alone takes scipy's, as an independent check)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def unit_quat_to_matrix(qw, qx, qy, qz, r):
    """Rotation matrix of a *unit* quaternion into r [3, 3]."""
    r[0, 0] = 1.0 - 2.0 * (qy * qy + qz * qz)
    r[0, 1] = 2.0 * (qx * qy - qw * qz)
    r[0, 2] = 2.0 * (qx * qz + qw * qy)
    r[1, 0] = 2.0 * (qx * qy + qw * qz)
    r[1, 1] = 1.0 - 2.0 * (qx * qx + qz * qz)
    r[1, 2] = 2.0 * (qy * qz - qw * qx)
    r[2, 0] = 2.0 * (qx * qz - qw * qy)
    r[2, 1] = 2.0 * (qy * qz + qw * qx)
    r[2, 2] = 1.0 - 2.0 * (qx * qx + qy * qy)


@njit(cache=True, parallel=True)
def _matrices(quats, out):
    for i in prange(quats.shape[0]):
        qw, qx, qy, qz = np.float64(quats[i, 0]), np.float64(quats[i, 1]), np.float64(quats[i, 2]), np.float64(
            quats[i, 3])
        qn = max(math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), 1e-12)
        unit_quat_to_matrix(qw / qn, qx / qn, qy / qn, qz / qn, out[i])


def rotation_matrices(quats: np.ndarray) -> np.ndarray:
    """[N, 3, 3] float64 rotations of [N, 4] quaternions, normalised first (a zero quaternion gives the identity)."""
    quats = np.ascontiguousarray(quats)
    out = np.empty((len(quats), 3, 3))
    if len(quats):
        _matrices(quats, out)
    return out
