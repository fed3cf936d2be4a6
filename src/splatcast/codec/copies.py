"""Exact copies: the Gaussians of an inter layer that equal a Gaussian of the layer below in position and every
feature (nested layers, additive training). A copy costs a flag and its parent, nothing else (docs/format.md 3.2);
its parent is the lowest lower row equal to it.

The search reads the neighbour lists the encoder computes anyway: a copy lies at distance 0 from its match, and the
lists hold the co-located lower rows first, in ascending row order, so the first equal row in a list is the match.
Only a row whose k neighbours are all co-located and none equal (a crowd of more than k lower Gaussians at one
position) can have its match further on; those few go to the reference."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _match_in_neighbours(low_pos, low_feat, pos, feat, nbr, match, unresolved):
    n, k = nbr.shape
    c = feat.shape[1]
    for i in prange(n):
        match[i] = -1
        crowded = k > 0
        for j in range(k):
            r = nbr[i, j]
            if low_pos[r, 0] != pos[i, 0] or low_pos[r, 1] != pos[i, 1] or low_pos[r, 2] != pos[i, 2]:
                crowded = False  # lists are ordered by distance: no co-located row follows
                break
            same = True
            for t in range(c):
                if low_feat[r, t] != feat[i, t]:
                    same = False
                    break
            if same:
                match[i] = r
                crowded = False
                break
        unresolved[i] = crowded


def exact_matches(low_pos, low_feat, pos, feat, nbr) -> np.ndarray:
    """[N] int64: the lowest row of the lower layer whose position and features equal row i's, or -1. ``nbr``: the
    rows' nearest lower rows, ordered (distance, row) (:class:`splatcast.codec.knn.NeighbourIndex`)."""
    n = len(pos)
    match = np.full(n, -1, np.int64)
    if n == 0 or len(low_pos) == 0:
        return match
    unresolved = np.zeros(n, np.bool_)
    _match_in_neighbours(np.ascontiguousarray(low_pos), np.ascontiguousarray(low_feat), np.ascontiguousarray(pos),
                         np.ascontiguousarray(feat), np.ascontiguousarray(nbr), match, unresolved)
    if nbr.shape[1] >= len(low_pos):  # the lists hold every lower row: nothing lies beyond them
        unresolved[:] = False
    rows = np.flatnonzero(unresolved)
    if len(rows):
        match[rows] = exact_matches_reference(low_pos, low_feat, pos[rows], feat[rows])
    return match


def exact_matches_reference(low_pos, low_feat, pos, feat) -> np.ndarray:
    """The definition of :func:`exact_matches` (a dictionary of every lower row), for tests and crowded rows."""
    def rows(p, f):
        return np.ascontiguousarray(np.concatenate([p, f], axis=1).astype(np.int32)).view(
            np.dtype((np.void, 4 * (p.shape[1] + f.shape[1])))).ravel()

    first: dict[bytes, int] = {}
    for i, key in enumerate(rows(low_pos, low_feat).tolist()):
        first.setdefault(key, i)
    return np.array([first.get(key, -1) for key in rows(pos, feat).tolist()], np.int64)
