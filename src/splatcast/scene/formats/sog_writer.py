"""Writing PlayCanvas SOG version 2 (a bundled ``.sog`` zip), the layout ``sog.py`` reads (see its docstring).

The Gaussians are stored in Morton order (neighbours in the images are neighbours in space, which is what makes the
lossless WebP images small). Positions are 16-bit per axis after the sign * log1p transform; quaternions are
smallest-three bytes; log scales, SH DC and every SH rest coefficient index 256-entry codebooks fitted by k-means
(scikit-learn, on a sample) and assigned exactly (the nearest entry of a sorted 1-D codebook); opacity is a byte
of alpha. SH rest goes through a palette: one entry per Gaussian up to ``EXACT_PALETTE`` Gaussians, else
``palette`` k-means centroids (MiniBatchKMeans on a sample) with each Gaussian's nearest one as its label.
Images are RGBA lossless WebP through Pillow (``exact``: RGB is kept where alpha is 0).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile

import numpy as np
from PIL import Image

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import logit_to_alpha, morton_sorted, to_u8
from splatcast.scene.formats.sog import PALETTE_ROW

CODEBOOK = 256  # entries of every 1-D codebook (one byte per value)
MAX_PALETTE = 1 << 16  # labels are 16-bit
EXACT_PALETTE = MAX_PALETTE  # up to this many Gaussians, each has its own SH palette entry
DEFAULT_PALETTE = 16384  # k-means palette entries for larger scenes
FIT_SAMPLE = 100_000  # values (or SH vectors) k-means is fitted on


def _codebook(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(sorted codebook [<= 256] float32, byte index of each value): k-means on a sample, exact nearest entry."""
    from sklearn.cluster import KMeans

    flat = np.asarray(values, np.float64).ravel()
    if flat.size == 0:
        return np.zeros(1, np.float32), np.zeros(np.shape(values), np.uint8)
    distinct = np.unique(flat)
    if len(distinct) <= CODEBOOK:
        book = distinct
    else:
        sample = flat if flat.size <= FIT_SAMPLE else rng.choice(flat, FIT_SAMPLE, replace=False)
        km = KMeans(CODEBOOK, n_init=1, random_state=0).fit(sample[:, None])
        book = np.unique(km.cluster_centers_[:, 0])
    book = book.astype(np.float32)
    # nearest entry of a sorted 1-D codebook: compare with the midpoints
    mid = (book[1:].astype(np.float64) + book[:-1]) / 2.0
    return book, np.searchsorted(mid, flat).astype(np.uint8).reshape(np.shape(values))


def _webp(pixels: np.ndarray, width: int) -> bytes:
    """[P, 4] uint8 pixels, row-major, as a lossless RGBA WebP ``width`` pixels wide (the last row padded)."""
    rows = max(1, -(-len(pixels) // width))
    image = np.zeros((rows * width, 4), np.uint8)
    image[: len(pixels)] = pixels
    buf = io.BytesIO()
    Image.fromarray(image.reshape(rows, width, 4), "RGBA").save(buf, "WEBP", lossless=True, quality=100, exact=True)
    return buf.getvalue()


def _quat_bytes(quats: np.ndarray) -> np.ndarray:
    """[N, 4] (w, x, y, z) -> [N, 4] uint8 smallest-three: the largest made positive and left out, A = 252 + its
    index."""
    q = quats.astype(np.float64)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    largest = np.argmax(np.abs(q), axis=1)
    q *= np.where(q[np.arange(len(q)), largest] < 0, -1.0, 1.0)[:, None]
    keep = np.array([[j for j in range(4) if j != i] for i in range(4)])[largest]  # [N, 3] slot order
    abc = np.take_along_axis(q, keep, axis=1)
    out = np.empty((len(q), 4), np.uint8)
    out[:, :3] = to_u8((abc * math.sqrt(2.0) + 1.0) / 2.0 * 255.0)
    out[:, 3] = 252 + largest
    return out


def _palette(rest: np.ndarray, palette: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(centroids [P, K, 3], label [N]) of the SH rest vectors [N, K, 3]."""
    n = len(rest)
    if n <= EXACT_PALETTE:
        return rest, np.arange(n)
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import pairwise_distances_argmin

    palette = min(palette, n)
    flat = rest.reshape(n, -1).astype(np.float32)
    sample = flat[rng.choice(n, min(n, max(FIT_SAMPLE, 4 * palette)), replace=False)]
    km = MiniBatchKMeans(palette, n_init=1, random_state=0, batch_size=4096, max_iter=20).fit(sample)
    centroids = km.cluster_centers_.astype(np.float32)
    labels = np.concatenate([pairwise_distances_argmin(flat[i: i + 65536], centroids)
                             for i in range(0, n, 65536)])
    return centroids.reshape(palette, *rest.shape[1:]), labels


def sog_files(cloud: GaussianCloud, palette: int = DEFAULT_PALETTE) -> dict[str, bytes]:
    """The members of a SOG v2 bundle for ``cloud``: meta.json and the WebP images."""
    if not 1 <= palette <= MAX_PALETTE:
        raise FormatError(f"SOG: palette={palette} must be in 1..{MAX_PALETTE}")
    cloud = morton_sorted(cloud.validate())
    n = len(cloud)
    rng = np.random.default_rng(0)
    width = max(1, math.ceil(math.sqrt(n)))
    t = np.sign(cloud.means.astype(np.float64)) * np.log1p(np.abs(cloud.means.astype(np.float64)))
    mins, maxs = (t.min(axis=0), t.max(axis=0)) if n else (np.zeros(3), np.zeros(3))
    span = np.where(maxs > mins, maxs - mins, 1.0)
    q16 = np.clip(np.rint((t - mins) / span * 65535.0), 0, 65535).astype(np.uint32)
    opaque = np.full((n, 1), 255, np.uint8)
    s_book, s_idx = _codebook(cloud.scales, rng)
    c_book, c_idx = _codebook(cloud.sh_dc, rng)
    files = {
        "means_l.webp": _webp(np.concatenate([(q16 & 0xFF).astype(np.uint8), opaque], axis=1), width),
        "means_u.webp": _webp(np.concatenate([(q16 >> 8).astype(np.uint8), opaque], axis=1), width),
        "quats.webp": _webp(_quat_bytes(cloud.quats), width),
        "scales.webp": _webp(np.concatenate([s_idx, opaque], axis=1), width),
        "sh0.webp": _webp(np.concatenate([c_idx, to_u8(logit_to_alpha(cloud.opacities) * 255.0)[:, None]], axis=1),
                          width),
    }
    meta = {
        "version": 2, "count": n,
        "means": {"mins": mins.tolist(), "maxs": maxs.tolist(), "files": ["means_l.webp", "means_u.webp"]},
        "scales": {"codebook": s_book.tolist(), "files": ["scales.webp"]},
        "quats": {"files": ["quats.webp"]},
        "sh0": {"codebook": c_book.tolist(), "files": ["sh0.webp"]},
    }
    k = cloud.sh_rest.shape[1]
    if k and n:
        centroids, labels = _palette(cloud.sh_rest, palette, rng)
        r_book, r_idx = _codebook(centroids, rng)
        cents = np.concatenate([r_idx.reshape(-1, 3), np.full((r_idx.size // 3, 1), 255, np.uint8)], axis=1)
        files["shN_centroids.webp"] = _webp(cents, PALETTE_ROW * k)  # an entry is k pixels, 64 entries a row
        files["shN_labels.webp"] = _webp(
            np.stack([labels & 0xFF, labels >> 8, np.zeros(n, int), np.full(n, 255)], axis=1).astype(np.uint8), width)
        meta["shN"] = {"count": len(centroids), "bands": {3: 1, 8: 2, 15: 3}[k], "codebook": r_book.tolist(),
                       "files": ["shN_centroids.webp", "shN_labels.webp"]}
    files["meta.json"] = json.dumps(meta).encode()
    return files


def write_sog(cloud: GaussianCloud, path: str | os.PathLike, palette: int = DEFAULT_PALETTE) -> None:
    """Write a bundled ``.sog`` (a zip of the members; WebP is compressed already, so they are stored)."""
    files = sog_files(cloud, palette)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)
