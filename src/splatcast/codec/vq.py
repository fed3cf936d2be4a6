"""Vector quantization of SH-DC prediction residuals: a k-means codebook per layer, K chosen by rate.

The residual r (integer, [N, 3]) is split into a codeword index and an integer refinement e = r - codebook[idx].
With ``lam = 0`` (the default) the refinement is sent whole and the reconstruction is exact: every candidate K gives
the same distortion, and the rate-distortion choice D + lambda * R reduces to the smallest rate R (index +
refinement + codebook bits). With ``lam > 0`` the VQ becomes lossy, the paper's rate-distortion tool: a Gaussian's
refinement is dropped (the codeword alone stands for its residual) where the distortion that adds, its weight x
|e|^2 in squared DC quantizer steps, is below ``lam`` x the bits the refinement would cost
(:func:`refine_rd`), and K minimises D + lam * R over the candidates; ``lam = inf`` is VQ-only (no refinement at
all, K by distortion). The rate is measured by coding the streams
with the file's own entropy back-end when the encoder passes ``measure`` (order-0 entropies, which can disagree
with a real coder by a few percent, otherwise). K = 0 means off.
"""

from __future__ import annotations

import math

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
    idx, refinement = _split(resid, codebook)
    return _estimated_bits(idx, refinement, codebook), idx


def _split(resid: np.ndarray, codebook: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index [N] int32, exact refinement [N, 3]) of each residual under ``codebook`` (no codebook: 0, the residual)."""
    if not len(codebook):
        return np.zeros(len(resid), np.int32), resid
    idx = assign(resid, codebook)
    return idx, resid - codebook[idx]


def _estimated_bits(idx: np.ndarray, refinement: np.ndarray, codebook: np.ndarray) -> float:
    bits = sum(empirical_entropy_bits(refinement[:, c]) for c in range(3))
    if len(codebook):
        bits += empirical_entropy_bits(idx) + 96 * len(codebook)
    return bits


def symbol_bits(e: np.ndarray) -> np.ndarray:
    """[N] order-0 bits of each row of e [N, 3] under the per-channel value histograms of e itself."""
    bits = np.zeros(len(e))
    for c in range(3):
        _, inverse, counts = np.unique(e[:, c], return_inverse=True, return_counts=True)
        bits += -np.log2(counts / len(e))[inverse.reshape(-1)]
    return bits


def refine_rd(e: np.ndarray, weights: np.ndarray, lam: float) -> np.ndarray:
    """The refinement to send for exact refinements e [N, 3] (int): row i is dropped to 0 where
    weights[i] * |e_i|^2 < lam * (bits(e_i) - bits(0)), bits from the order-0 histograms of e (the rows already 0
    make the estimate of bits(0)). lam = 0: e unchanged; lam = inf (VQ-only): every row 0."""
    if lam <= 0 or len(e) == 0:
        return e
    if math.isinf(lam):
        return np.zeros_like(e)
    bits = symbol_bits(e)
    zero = ~e.any(axis=1)
    zero_bits = float(np.median(bits[zero])) if zero.any() else float(bits.min())
    err = (e.astype(np.float64) ** 2).sum(axis=1)
    drop = weights * err < lam * (bits - zero_bits)
    out = e.copy()
    out[drop] = 0
    return out


def choose_codebook(
    resid: np.ndarray, vq: str | int, seed: int = 0, candidates=DEFAULT_CANDIDATES, measure=None,
    lam: float = 0.0, weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Pick the codebook for a layer: ``vq`` is "off", "auto" (over ``candidates``) or a fixed K.

    ``measure(idx, refinement, codebook) -> bits`` gives the real rate of a candidate (None: estimated). ``lam``,
    ``weights`` ([N], default 1): see the module docstring; each candidate's cost is D + lam * R (R alone at lam 0).
    Returns (codebook [K, 3] int32, idx [N] int32, refinement [N, 3] to send, per-candidate report
    [{k, bits, distortion}]).
    """
    if vq == "off":
        ks = [0]
    elif vq == "auto":
        ks = list(candidates)
    else:
        ks = [int(vq)]
    w = np.ones(len(resid)) if weights is None else np.asarray(weights, np.float64)
    best = None
    report = []
    for k in ks:
        cb = train_codebook(resid, k, seed)
        idx, exact = _split(resid, cb)
        sent = refine_rd(exact, w, lam)
        bits = _estimated_bits(idx, sent, cb)
        if measure is not None and (len(ks) > 1 or lam > 0):
            bits = measure(idx, sent, cb)
        dist = float((w * ((exact - sent).astype(np.float64) ** 2).sum(axis=1)).sum())
        # D + lam R, scaled by 1 / lam (R alone when exact); VQ-only (lam inf): D, ties by R
        cost = (dist, bits) if math.isinf(lam) else (bits + (dist / lam if lam > 0 else 0.0), 0.0)
        report.append({"k": int(len(cb)), "bits": bits, "distortion": dist,
                       "dropped": int((sent != exact).any(axis=1).sum())})
        if best is None or cost < best[0]:
            best = (cost, cb, idx, sent)
    return best[1], best[2], best[3], report
