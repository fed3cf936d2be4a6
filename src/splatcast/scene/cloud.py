"""The in-memory model of a 3DGS scene: a structure of arrays, one row per Gaussian.

Conventions (the same as the INRIA reference trainer, so PLY round trips are lossless):

- ``means``      [N, 3] float32, world units
- ``scales``     [N, 3] float32, *log* of the per-axis standard deviation
- ``quats``      [N, 4] float32, rotation quaternion (w, x, y, z); normalised on use, stored as given
- ``opacities``  [N]    float32, opacity *logit* (alpha = sigmoid(opacity))
- ``sh_dc``      [N, 3] float32, degree-0 SH coefficient per colour channel (colour = 0.5 + C0 * sh_dc)
- ``sh_rest``    [N, K, 3] float32, SH coefficients of degree 1..d, K = (d + 1)^2 - 1 in {0, 3, 8, 15}
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from splatcast.errors import SceneError

SH_C0 = 0.28209479177387814
MAX_SH_DEGREE = 3
_REST_TO_DEGREE = {0: 0, 3: 1, 8: 2, 15: 3}


def sh_rest_count(degree: int) -> int:
    """Number of SH coefficients per channel above degree 0 for SH degree ``degree``."""
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise SceneError(f"sh_degree={degree} must be in 0..{MAX_SH_DEGREE}")
    return (degree + 1) ** 2 - 1


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1.0 - p))


@dataclass(eq=False)
class GaussianCloud:
    means: np.ndarray  # [N, 3] float32
    scales: np.ndarray  # [N, 3] float32, log scale
    quats: np.ndarray  # [N, 4] float32, (w, x, y, z)
    opacities: np.ndarray  # [N] float32, logit
    sh_dc: np.ndarray  # [N, 3] float32
    sh_rest: np.ndarray  # [N, K, 3] float32

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, np.ascontiguousarray(getattr(self, f.name), dtype=np.float32))
        if self.sh_rest.ndim == 2 and self.sh_rest.shape[1] == 0:
            self.sh_rest = self.sh_rest.reshape(len(self.sh_rest), 0, 3)
        self._check_shapes()

    # ----------------------------------------------------------------------------------------------- construction
    @classmethod
    def empty(cls, sh_degree: int = 0) -> "GaussianCloud":
        return cls.zeros(0, sh_degree)

    @classmethod
    def zeros(cls, n: int, sh_degree: int = 0) -> "GaussianCloud":
        quats = np.zeros((n, 4), np.float32)
        quats[:, 0] = 1.0
        return cls(
            means=np.zeros((n, 3)),
            scales=np.zeros((n, 3)),
            quats=quats,
            opacities=np.zeros(n),
            sh_dc=np.zeros((n, 3)),
            sh_rest=np.zeros((n, sh_rest_count(sh_degree), 3)),
        )

    @classmethod
    def concat(cls, clouds: "list[GaussianCloud]") -> "GaussianCloud":
        """Concatenate clouds; lower SH degrees are zero-padded to the highest one."""
        if not clouds:
            raise SceneError("concat needs at least one cloud")
        degree = max(c.sh_degree for c in clouds)
        padded = [c.with_sh_degree(degree) for c in clouds]
        return cls(**{f.name: np.concatenate([getattr(c, f.name) for c in padded]) for f in fields(cls)})

    # ----------------------------------------------------------------------------------------------- properties
    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return _REST_TO_DEGREE[self.sh_rest.shape[1]]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def _check_shapes(self) -> None:
        n = self.means.shape[0] if self.means.ndim == 2 else -1
        expected = {
            "means": (n, 3),
            "scales": (n, 3),
            "quats": (n, 4),
            "opacities": (n,),
            "sh_dc": (n, 3),
        }
        for name, shape in expected.items():
            got = getattr(self, name).shape
            if n < 0 or got != shape:
                raise SceneError(f"{name} has shape {got}, expected {shape}")
        rest = self.sh_rest
        if rest.ndim != 3 or rest.shape[0] != n or rest.shape[2] != 3 or rest.shape[1] not in _REST_TO_DEGREE:
            raise SceneError(f"sh_rest has shape {rest.shape}, expected ({n}, K, 3) with K in 0, 3, 8, 15")

    def validate(self) -> "GaussianCloud":
        """Check shapes and that every value is finite; return self so calls chain."""
        self._check_shapes()
        for name, arr in self.arrays().items():
            if arr.size and not np.isfinite(arr).all():
                bad = int(np.argwhere(~np.isfinite(arr.reshape(len(self), -1)))[0, 0])
                raise SceneError(f"{name} has a non-finite value at Gaussian {bad}")
        return self

    # ----------------------------------------------------------------------------------------------- selection
    def __getitem__(self, index) -> "GaussianCloud":
        """Select Gaussians by slice, integer index array or boolean mask."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 if int(index) != -1 else None)
        return GaussianCloud(**{k: v[index] for k, v in self.arrays().items()})

    def permute(self, order: np.ndarray) -> "GaussianCloud":
        order = np.asarray(order)
        if order.shape != (len(self),) or not np.array_equal(np.sort(order), np.arange(len(self))):
            raise SceneError(f"permute needs a permutation of 0..{len(self) - 1}")
        return self[order]

    def copy(self) -> "GaussianCloud":
        return GaussianCloud(**{k: v.copy() for k, v in self.arrays().items()})

    def with_sh_degree(self, degree: int) -> "GaussianCloud":
        """Truncate or zero-pad the SH coefficients to ``degree``."""
        k = sh_rest_count(degree)
        rest = self.sh_rest[:, :k]
        if rest.shape[1] < k:
            rest = np.concatenate([rest, np.zeros((len(self), k - rest.shape[1], 3), np.float32)], axis=1)
        out = self.copy()
        out.sh_rest = np.ascontiguousarray(rest)
        return out

    # ----------------------------------------------------------------------------------------------- geometry
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds of the means, ([3] min, [3] max); zeros for an empty cloud."""
        if len(self) == 0:
            return np.zeros(3, np.float32), np.zeros(3, np.float32)
        return self.means.min(axis=0), self.means.max(axis=0)

    def robust_bounds(self, quantile: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
        """Bounds that ignore the outer ``quantile`` of means per axis (floaters far from the subject)."""
        if len(self) == 0:
            return self.bounds()
        return (
            np.quantile(self.means, quantile, axis=0).astype(np.float32),
            np.quantile(self.means, 1 - quantile, axis=0).astype(np.float32),
        )

    def alphas(self) -> np.ndarray:
        """Opacity in (0, 1): sigmoid of the stored logit. [N] float32"""
        return sigmoid(self.opacities.astype(np.float64)).astype(np.float32)

    def importance(self) -> np.ndarray:
        """The paper's importance w = sigmoid(opacity) * exp(sx + sy + sz), [N] float64 (eq. 5-6)."""
        o = self.opacities.astype(np.float64)
        log_volume = self.scales.astype(np.float64).sum(axis=1)
        # log(sigmoid(o)) + log-volume, exponentiated once; a volume beyond float64 saturates to inf, which sorts
        # first as it should
        with np.errstate(over="ignore"):
            return np.exp(-np.logaddexp(0.0, -o) + log_volume)

    def importance_order(self) -> np.ndarray:
        """Indices sorting the Gaussians by descending importance; ties keep their original order."""
        return np.argsort(-self.importance(), kind="stable")

    def rotation_matrices(self) -> np.ndarray:
        """[N, 3, 3] float32 rotation matrices of the normalised quaternions."""
        from splatcast.scene.rotation import rotation_matrices  # numba: loaded on first use

        return rotation_matrices(self.quats).astype(np.float32)

    def normalized_quats(self) -> np.ndarray:
        """[N, 4] unit quaternions with w >= 0 (q and -q are the same rotation)."""
        q = self.quats.astype(np.float64)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        q = np.where(q[:, :1] < 0, -q, q)
        return q.astype(np.float32)

    # ----------------------------------------------------------------------------------------------- comparison
    def equals(self, other: "GaussianCloud") -> bool:
        """Bit-exact equality of every array."""
        return all(np.array_equal(a, b) for a, b in zip(self.arrays().values(), other.arrays().values())) and (
            self.sh_rest.shape == other.sh_rest.shape
        )

    def __repr__(self) -> str:
        return f"GaussianCloud(n={len(self)}, sh_degree={self.sh_degree})"
