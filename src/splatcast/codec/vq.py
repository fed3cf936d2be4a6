"""Vector quantization of SH-DC prediction residuals: a k-means codebook per layer, K chosen by rate.

The residual r (integer, [N, 3]) is split into a codeword index and an integer refinement e = r - codebook[idx],
so the reconstruction is exact: every candidate K gives the same distortion, and the rate-distortion choice
D + lambda * R reduces to the smallest rate R (index + refinement + codebook bits). The rate is measured by
coding the streams with the file's own entropy back-end when the encoder passes ``measure`` (order-0 entropies,
which can disagree with a real coder by a few percent, otherwise). K = 0 means off.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from sklearn.cluster import KMeans

from splatcast.codec.predict import empirical_entropy_bits

DEFAULT_CANDIDATES = (0, 16, 32, 64, 128, 256)
TRAIN_SAMPLES = 20000  # k-means sees at most this many residuals (a fixed-seed subsample)


def train_codebook(resid: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """[K', 3] int32 codebook (K' <= k distinct rounded centres) from residuals [N, 3] int32."""
    n = len(resid)
    if k <= 0 or n == 0:
        return np.zeros((0, 3), np.int32)
    x = resid
    if n > TRAIN_SAMPLES:
        x = resid[np.random.default_rng(seed).choice(n, TRAIN_SAMPLES, replace=False)]
    k_eff = min(k, len(np.unique(x, axis=0)))
    km = KMeans(n_clusters=k_eff, n_init=1, random_state=seed, max_iter=30).fit(x.astype(np.float64))
    cb = np.rint(km.cluster_centers_).astype(np.int32)
    cb = np.unique(cb, axis=0)  # sorted, distinct: a deterministic codebook layout
    return cb


@njit(cache=True, parallel=True)
def assign(resid, codebook):
    """[N] int32 index of the nearest codeword (squared L2 on integers; ties: lowest index)."""
    n = resid.shape[0]
    kk = codebook.shape[0]
    out = np.zeros(n, np.int32)
    for i in prange(n):
        best = -1
        bi = 0
        for j in range(kk):
            d = 0
            for c in range(3):
                t = np.int64(resid[i, c]) - np.int64(codebook[j, c])
                d += t * t
            if best < 0 or d < best:
                best = d
                bi = j
        out[i] = bi
    return out


def rate_bits(resid: np.ndarray, codebook: np.ndarray) -> tuple[float, np.ndarray]:
    """Estimated bits (order-0 entropies + 96 bits per codeword) and the index array for one codebook."""
    if len(codebook) == 0:
        return sum(empirical_entropy_bits(resid[:, c]) for c in range(3)), np.zeros(len(resid), np.int32)
    idx = assign(resid, codebook)
    e = resid - codebook[idx]
    bits = empirical_entropy_bits(idx) + sum(empirical_entropy_bits(e[:, c]) for c in range(3)) + 96 * len(codebook)
    return bits, idx


def choose_codebook(
    resid: np.ndarray, vq: str | int, seed: int = 0, candidates=DEFAULT_CANDIDATES, measure=None
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Pick the codebook for a layer: ``vq`` is "off", "auto" (rate over ``candidates``) or a fixed K.

    ``measure(idx, refinement, codebook) -> bits`` gives the real rate of a candidate (None: estimated).
    Returns (codebook [K, 3] int32, idx [N] int32, per-candidate report [{k, bits}]).
    """
    if vq == "off":
        ks = [0]
    elif vq == "auto":
        ks = list(candidates)
    else:
        ks = [int(vq)]
    best = None
    report = []
    for k in ks:
        cb = train_codebook(resid, k, seed)
        bits, idx = rate_bits(resid, cb)
        if measure is not None and len(ks) > 1:
            bits = measure(idx, resid - cb[idx] if len(cb) else resid, cb)
        report.append({"k": int(len(cb)), "bits": bits})
        if best is None or bits < best[0]:
            best = (bits, cb, idx)
    return best[1], best[2], report
