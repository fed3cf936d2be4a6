"""Inter-layer predictors on integer features: bilateral blend (mode 0) and nearest-feature copy (mode i = 1..k).

Everything here uses only what the decoder has: the reconstructed lower layer (positions P_low [M, 3] int32,
features F_low [M, C] int32), the enhancement Gaussian's decoded position and its neighbour list.
The bilateral predictor (exact definition, also in docs/format.md), for neighbours n_1..n_k of position x:

    d_j  = |P_low[n_j] - x|^2                               (float64 of an exact integer)
    sd   = (sum_j d_j) / k + 1
    m_c  = (sum_j F_low[n_j, c]) / k                        c = 0, 1, 2 (SH DC)
    f_j  = sum_c (F_low[n_j, c] - m_c)^2
    sf   = (sum_j f_j) / k + 1
    w_j  = 1 / ((1 + d_j / sd) * (1 + f_j / sf))
    pred = floor((sum_j w_j * F_low[n_j, col]) / (sum_j w_j) + 0.5)   for every column

Sums run sequentially over j = 1..k (and c = 0..2) in IEEE double, so any language reproduces them bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

N_COST_COLS = 11  # by default mode choice minimises the L1 integer residual over DC, opacity, scale, rotation


@njit(cache=True)
def _bilateral_row(p_low, f_low, x, nb, out):
    k = nb.shape[0]
    c_n = f_low.shape[1]
    d = np.empty(k)
    f = np.empty(k)
    sd = 0.0
    for j in range(k):
        s = 0.0
        for a in range(3):
            t = float(p_low[nb[j], a]) - float(x[a])
            s += t * t
        d[j] = s
        sd += s
    sd = sd / k + 1.0
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    for j in range(k):
        m0 += float(f_low[nb[j], 0])
        m1 += float(f_low[nb[j], 1])
        m2 += float(f_low[nb[j], 2])
    m0 /= k
    m1 /= k
    m2 /= k
    sf = 0.0
    for j in range(k):
        t0 = float(f_low[nb[j], 0]) - m0
        t1 = float(f_low[nb[j], 1]) - m1
        t2 = float(f_low[nb[j], 2]) - m2
        f[j] = t0 * t0 + t1 * t1 + t2 * t2
        sf += f[j]
    sf = sf / k + 1.0
    w = np.empty(k)
    wsum = 0.0
    for j in range(k):
        w[j] = 1.0 / ((1.0 + d[j] / sd) * (1.0 + f[j] / sf))
        wsum += w[j]
    for c in range(c_n):
        acc = 0.0
        for j in range(k):
            acc += w[j] * float(f_low[nb[j], c])
        out[c] = np.int32(np.floor(acc / wsum + 0.5))


@njit(cache=True, parallel=True)
def bilateral_predict(p_low, f_low, pos, nbr):
    """[N, C] int32 bilateral predictions (mode 0) for positions [N, 3] with neighbours [N, k] (k >= 1)."""
    n = pos.shape[0]
    out = np.empty((n, f_low.shape[1]), np.int32)
    for i in prange(n):
        _bilateral_row(p_low, f_low, pos[i], nbr[i], out[i])
    return out


@njit(cache=True, parallel=True)
def predict_with_modes(p_low, f_low, pos, nbr, modes):
    """[N, C] int32 prediction of each Gaussian by its mode (0 bilateral, i copies neighbour i)."""
    n = pos.shape[0]
    out = np.empty((n, f_low.shape[1]), np.int32)
    for i in prange(n):
        m = modes[i]
        if m == 0:
            _bilateral_row(p_low, f_low, pos[i], nbr[i], out[i])
        else:
            out[i, :] = f_low[nbr[i, m - 1], :]
    return out


def neighbours_read(modes: np.ndarray, k: int) -> np.ndarray:
    """[N] int64: how many leading neighbours each Gaussian's prediction reads (mode 0: all k, mode m: the m-th)."""
    m = modes.astype(np.int64)
    return np.where(m == 0, k, m)


def drop_unread_neighbours(nbr: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """``nbr`` [N, k] with -1 after the neighbours each mode reads (in place; returned): what the decoder searches."""
    k = nbr.shape[1]
    nbr[np.arange(k)[None, :] >= neighbours_read(modes, k)[:, None]] = -1
    return nbr


@njit(cache=True, parallel=True)
def choose_modes(f_low, feat, nbr, bil, cost_cols):
    """[N] uint8 modes minimising sum |feat - pred| over columns ``cost_cols`` (int64 array; ties: lowest mode)."""
    n, k = nbr.shape
    modes = np.zeros(n, np.uint8)
    for i in prange(n):
        best = 0
        for c in cost_cols:
            best += abs(np.int64(feat[i, c]) - np.int64(bil[i, c]))
        bm = 0
        for j in range(k):
            cost = 0
            for c in cost_cols:
                cost += abs(np.int64(feat[i, c]) - np.int64(f_low[nbr[i, j], c]))
            if cost < best:
                best = cost
                bm = j + 1
        modes[i] = bm
    return modes


def bilateral_reference(p_low: np.ndarray, f_low: np.ndarray, pos: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Plain numpy transcription of the bilateral definition, one Gaussian at a time (tests only)."""
    out = np.zeros((len(pos), f_low.shape[1]), np.int32)
    for i in range(len(pos)):
        nb = nbr[i]
        k = len(nb)
        d = [float(sum((float(p_low[j, a]) - float(pos[i, a])) ** 2 for a in range(3))) for j in nb]
        sd = sum(d) / k + 1.0
        m = [sum(float(f_low[j, c]) for j in nb) / k for c in range(3)]
        f = [sum((float(f_low[j, c]) - m[c]) ** 2 for c in range(3)) for j in nb]
        sf = sum(f) / k + 1.0
        w = [1.0 / ((1.0 + d[t] / sd) * (1.0 + f[t] / sf)) for t in range(k)]
        ws = sum(w)
        for c in range(f_low.shape[1]):
            acc = 0.0
            for t in range(k):
                acc += w[t] * float(f_low[nb[t], c])
            out[i, c] = int(np.floor(acc / ws + 0.5))
    return out


def mode_entropy_bits(modes: np.ndarray) -> float:
    """Empirical order-0 entropy of the mode stream, bits per Gaussian."""
    return empirical_entropy_bits(modes) / max(len(modes), 1)


def empirical_entropy_bits(values: np.ndarray) -> float:
    """Total order-0 entropy (bits) of an integer array. Counted with a bincount over the value range when that is
    not much larger than the array (the encoder's streams: O(N), against np.unique's sort), else as the reference;
    both sum the same counts in ascending value order, so the result is the same float."""
    n = values.size
    if n == 0:
        return 0.0
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 4 * n + 4096:
        return empirical_entropy_bits_reference(values)
    counts = np.bincount((values.astype(np.int64) - lo).ravel(), minlength=1)
    counts = counts[counts > 0]
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


def empirical_entropy_bits_reference(values: np.ndarray) -> float:
    """The definition of :func:`empirical_entropy_bits` (np.unique), for tests and wide value ranges."""
    if len(values) == 0:
        return 0.0
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())
