"""Realistic integer streams for the entropy tests (seeded; the benchmark has larger versions of the same kinds)."""

from __future__ import annotations

import numpy as np


def laplace_residuals(rng: np.random.Generator, n: int, scale: float, dtype=np.int32) -> np.ndarray:
    """[n] quantized residuals: Laplacian core with a 1% heavy tail (what prediction residuals look like)."""
    core = np.rint(rng.laplace(0.0, scale, n))
    tail = rng.random(n) < 0.01
    core[tail] = np.rint(rng.standard_cauchy(int(tail.sum())) * scale * 20)
    info = np.iinfo(dtype)
    return np.clip(core, info.min, info.max).astype(dtype)


def modes(rng: np.random.Generator, n: int, k: int = 8) -> np.ndarray:
    """[n] prediction modes 0..k, skewed: bilateral (0) most of the time, then nearest neighbours by rank."""
    p = np.array([0.55] + [0.45 * 0.6**i for i in range(k)])
    return rng.choice(k + 1, size=n, p=p / p.sum()).astype(np.uint8)


def vq_indices(rng: np.random.Generator, n: int, k: int = 64) -> np.ndarray:
    """[n] VQ indices 0..k-1 with a Zipf-like usage profile."""
    p = 1.0 / np.arange(1, k + 1) ** 0.8
    return rng.choice(k, size=n, p=p / p.sum()).astype(np.int32)


def morton_deltas(rng: np.random.Generator, n: int, bits_per_axis: int = 16) -> np.ndarray:
    """[n] deltas of sorted 3*bits Morton codes of clustered points (first value absolute)."""
    centers = rng.integers(0, 1 << bits_per_axis, size=(32, 3))
    pts = centers[rng.integers(0, 32, n)] + np.rint(rng.normal(0, (1 << bits_per_axis) / 64, size=(n, 3)))
    pts = np.clip(pts, 0, (1 << bits_per_axis) - 1).astype(np.uint64)
    code = np.zeros(n, np.uint64)
    for b in range(bits_per_axis):
        for a in range(3):
            code |= ((pts[:, a] >> np.uint64(b)) & np.uint64(1)) << np.uint64(3 * b + a)
    code.sort()
    return np.diff(code, prepend=np.uint64(0)).astype(np.int64)
