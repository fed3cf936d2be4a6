"""Chunking a layer into consecutive prefixes of its progressive order, and Morton codes for the order inside a
chunk."""

from __future__ import annotations

import numpy as np

from splatcast.codec.ordering import DEFAULT_ORDER, progressive_order
from splatcast.scene.cloud import GaussianCloud

MAX_CHUNK_GROWTH = 4.0  # beyond this the first chunks of a layer hold a handful of Gaussians


def chunk_bounds(n: int, n_chunks: int, growth: float = 1.0) -> list[tuple[int, int]]:
    """Split ``n`` items into min(n_chunks, n) consecutive non-empty ranges (none for n = 0).

    ``growth`` 1: near-equal sizes. ``growth`` g > 1: chunk i holds about g**i times the first one's share, so the
    first chunk of a layer (what a viewer waits for before anything appears) is small and later ones are large.
    """
    if n_chunks < 1:
        raise ValueError(f"chunks={n_chunks} must be >= 1")
    if not 1.0 <= growth <= MAX_CHUNK_GROWTH:
        raise ValueError(f"chunk growth={growth} must be in 1..{MAX_CHUNK_GROWTH}")
    m = min(n_chunks, n)
    if m == 0:
        return []
    if growth == 1.0:
        edges = [(n * i) // m for i in range(m + 1)]
    else:
        weights = np.cumsum(growth ** np.arange(m, dtype=np.float64))
        edges = [0] + [int(n * w // weights[-1]) for w in weights[:-1]] + [n]
        for i in range(1, m):  # every chunk keeps >= 1 item, and room for the ones after it
            edges[i] = min(max(edges[i], edges[i - 1] + 1), n - (m - i))
    return [(edges[i], edges[i + 1]) for i in range(m)]


def progressive_chunks(
    cloud: GaussianCloud, n_chunks: int, growth: float = 1.0, order: str = DEFAULT_ORDER, seed: int = 0
) -> list[np.ndarray]:
    """Index arrays of each chunk: consecutive slices of the layer in progressive order (ordering.py)."""
    ranked = progressive_order(cloud, order, seed)
    return [ranked[a:b] for a, b in chunk_bounds(len(cloud), n_chunks, growth)]


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Insert two zero bits between each of the low 21 bits of ``v`` (uint64)."""
    v = v.astype(np.uint64) & np.uint64(0x1FFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


def morton_codes(pos: np.ndarray) -> np.ndarray:
    """[N] uint64 Morton (Z-order) codes of non-negative integer positions [N, 3] (x in the lowest bit)."""
    x, y, z = (_spread_bits(pos[:, a]) for a in range(3))
    return x | (y << np.uint64(1)) | (z << np.uint64(2))


def morton_codes_reference(pos: np.ndarray) -> np.ndarray:
    """Bit-by-bit reference of :func:`morton_codes`."""
    out = np.zeros(len(pos), np.uint64)
    for i, (x, y, z) in enumerate(pos.astype(np.int64)):
        code = 0
        for b in range(21):
            for a, v in enumerate((int(x), int(y), int(z))):
                code |= ((v >> b) & 1) << (3 * b + a)
        out[i] = code
    return out


def morton_order(pos: np.ndarray) -> np.ndarray:
    """Stable permutation sorting integer positions [N, 3] by Morton code (ties keep their order)."""
    return np.argsort(morton_codes(pos), kind="stable")


MIN_SHARED_BOX = 0.25  # of the smaller layer's robust box: layers of one scene share far more (LOD levels: > 0.9)


def check_layer_set(layers: list[GaussianCloud]) -> tuple[list[str], list[str]]:
    """What is wrong with ``layers`` as one scene's coarse-to-fine set: (errors, warnings).

    Error: two consecutive layers whose robust boxes share less than MIN_SHARED_BOX of the smaller one's volume
    (files of two different scenes, or a mirrored export: inter-layer prediction would find no neighbours).
    Warning: a layer with fewer Gaussians than the one below (the files are probably in the wrong order)."""
    errors, warnings = [], []
    for j in range(1, len(layers)):
        a, b = layers[j - 1], layers[j]
        if len(a) == 0 or len(b) == 0:
            continue
        (alo, ahi), (blo, bhi) = a.robust_bounds(), b.robust_bounds()
        eps = 1e-6 * max(float(np.abs(np.concatenate([alo, ahi, blo, bhi])).max()), 1.0)  # flat scenes
        inter = np.clip(np.minimum(ahi, bhi) - np.maximum(alo, blo), 0, None) + eps
        vol_a, vol_b = np.prod(ahi - alo + eps), np.prod(bhi - blo + eps)
        shared = float(np.prod(inter) / min(vol_a, vol_b))
        if shared < MIN_SHARED_BOX:
            errors.append(f"layers {j - 1} and {j} share {100 * shared:.0f} % of their bounding boxes: are they the "
                          "same scene, in the same axes?")
        if len(b) < len(a):
            warnings.append(f"layer {j} has fewer Gaussians ({len(b):,}) than layer {j - 1} ({len(a):,}): layers go "
                            "coarse to fine, is the order right?")
    return errors, warnings
