"""Deterministic k-nearest neighbours on integer positions: identical sets on encoder and decoder.

Order of neighbours: ascending squared distance (exact, int64), ties by ascending index in the reference set.
The fast path uses scipy's cKDTree over Morton-sorted points and repairs rows whose k-th distance ties with
points the tree may have left out; :func:`knn_reference` is the brute-force definition the tests compare with.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy.spatial import cKDTree

from splatcast.codec.layers import morton_order


class NeighbourIndex:
    """A KD-tree over reference positions [M, 3] int32, queried with :meth:`query`."""

    def __init__(self, points: np.ndarray):
        self.points = np.ascontiguousarray(points, dtype=np.int32)  # [M, 3]
        self.perm = morton_order(self.points) if len(points) else np.zeros(0, np.int64)
        self.tree = cKDTree(self.points[self.perm].astype(np.float64)) if len(points) else None

    def query(self, queries: np.ndarray, k: int) -> np.ndarray:
        """[N, min(k, M)] int32 neighbour indices into the reference set, ordered by (d^2, index)."""
        m = len(self.points)
        kk = min(k, m)
        n = len(queries)
        if kk == 0 or n == 0:
            return np.zeros((n, kk), np.int32)
        kq = min(kk + 1, m)  # one extra: tells whether the k-th distance ties with points beyond the list
        _, idx = self.tree.query(queries.astype(np.float64), k=kq, workers=-1)
        idx, d2 = _sorted_rows(self.points, np.ascontiguousarray(queries, np.int32), self.perm[idx.reshape(n, kq)])
        out = idx[:, :kk].copy()
        if kq > kk:
            tied = np.nonzero(d2[:, kk - 1] == d2[:, kq - 1])[0]
            for i in tied:  # rare: collect every point at the boundary distance, then apply the tie-break
                r = float(np.sqrt(d2[i, kk - 1])) * (1 + 1e-9) + 1e-9
                cand = self.perm[np.asarray(self.tree.query_ball_point(queries[i].astype(np.float64), r), np.int64)]
                cd2 = _sq_dist(self.points, queries[i : i + 1], cand[None, :])[0]
                o = np.lexsort((cand, cd2))[:kk]
                out[i] = cand[o]
        return out


@njit(cache=True, parallel=True)
def _sorted_rows(points, queries, idx):
    """Exact int64 squared distances of each row's candidates, rows sorted by (d^2, index) (insertion sort)."""
    n, k = idx.shape
    out_i = np.empty((n, k), np.int32)
    out_d = np.empty((n, k), np.int64)
    for r in prange(n):
        for j in range(k):
            p = idx[r, j]
            d = np.int64(0)
            for a in range(3):
                t = np.int64(points[p, a]) - np.int64(queries[r, a])
                d += t * t
            t = j
            while t > 0 and (out_d[r, t - 1] > d or (out_d[r, t - 1] == d and out_i[r, t - 1] > p)):
                out_d[r, t] = out_d[r, t - 1]
                out_i[r, t] = out_i[r, t - 1]
                t -= 1
            out_d[r, t] = d
            out_i[r, t] = p
    return out_i, out_d


def _sq_dist(points: np.ndarray, queries: np.ndarray, idx: np.ndarray) -> np.ndarray:
    diff = points[idx].astype(np.int64) - queries[:, None, :].astype(np.int64)
    return (diff * diff).sum(axis=2)


def knn(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """[N, min(k, M)] int32: the k nearest of ``points`` [M, 3] for each of ``queries`` [N, 3] (int32)."""
    return NeighbourIndex(points).query(queries, k)


def knn_reference(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Brute force: sort all points by (d^2, index) for each query. For tests on small inputs."""
    m = len(points)
    kk = min(k, m)
    out = np.zeros((len(queries), kk), np.int32)
    ids = np.arange(m)
    for i, q in enumerate(queries.astype(np.int64)):
        d2 = ((points.astype(np.int64) - q) ** 2).sum(axis=1)
        out[i] = np.lexsort((ids, d2))[:kk]
    return out
