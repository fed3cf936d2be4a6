"""Progressive orders: which Gaussians of a layer go first, so that every prefix renders as well as it can.

* ``importance``: the paper's closed form w = sigmoid(opacity) * exp(sx + sy + sz), descending.
* ``opacity``: sigmoid(opacity), descending.
* ``blend`` (measured): each Gaussian's blending weight alpha x T summed over the pixels of a set of views, i.e. how
  much of the rendered picture it makes; the significance that pruning work such as LightGaussian ranks by.
  Volume alone rewards large faint Gaussians that are hidden or transparent; opacity alone rewards tiny opaque
  ones; the rendered weight counts what a viewer sees. Views: two rings around the layer's robust bounds
  (:data:`ORDER_RINGS`), placed between the 8 views fidelity is reported on, so the order is not fitted to them.
  Gaussians no view reaches (weight 0) follow in importance order.
* ``peel`` (the default): the blend order measured again on what is left as the least-weighted Gaussians are
  peeled off the end. One pass weighs the Gaussians rendered together with all the others, but a prefix is
  rendered *without* the rest: a Gaussian half hidden behind one that the prefix does not hold shows more than
  its weight says. So: rank the whole layer by blend weight, keep the first :data:`PEEL_FIRST_KEEP`, weigh those
  again rendered alone (same views), keep the first :data:`PEEL_KEEP` of them, and so on down to
  :data:`PEEL_FLOOR` of the layer; the order is the last ranking followed by each peeled-off part, latest first.
  The back half is exactly the blend order's; every shorter prefix is ranked among the Gaussians it will be
  rendered with. Cost: about 1 + PEEL_FIRST_KEEP / (1 - PEEL_KEEP) blend passes (2.7).
* ``random``: a seeded permutation (a baseline).
Ties keep the input order everywhere (stable sorts).
"""

from __future__ import annotations

import numpy as np
from numba import njit

ORDERS = ("importance", "opacity", "blend", "peel", "random")
DEFAULT_ORDER = "peel"
ORDER_PX = 160
ORDER_RINGS = ((7, 15.0), (5, 50.0))  # (views, elevation in degrees): 12 views, none on the 8-view report orbit
# peel schedule (measured on the demo, the angel and playbot 0_0: keeping 0.8 a round gains another 0.1-0.5 dB
# below 50 % for 30 % more passes; 0.5 loses up to 1.8 dB at 25 %)
PEEL_FIRST_KEEP = 0.5
PEEL_KEEP = 0.7
PEEL_FLOOR = 0.02  # of the layer: below this the last ranking stands
PEEL_MIN = 64  # Gaussians: never peel a set this small


def order_cameras(cloud, size: int = ORDER_PX, rings=ORDER_RINGS) -> list:
    """The views the measured orders weigh Gaussians in: ``rings`` of orbit views around ``cloud``'s robust bounds."""
    from splatcast.render.camera import orbit_cameras

    return [cam for n_views, elevation in rings
            for cam in orbit_cameras(cloud, n_views, size, size, elevation_deg=elevation)]


def blend_significance(cloud, size: int = ORDER_PX, rings=ORDER_RINGS, rows=None, cameras=None) -> np.ndarray:
    """[len(rows)] float64: blending weight of each Gaussian of ``cloud[rows]`` (default: all) summed over
    ``cameras`` (default: :func:`order_cameras` of the whole cloud), the Gaussians of ``rows`` rendered alone."""
    if len(cloud) == 0:
        return np.zeros(0)
    cameras = order_cameras(cloud, size, rings) if cameras is None else cameras
    return _PeelViews(cloud, cameras).weights(rows)


def _ranked(rows: np.ndarray, importance: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``rows`` (ascending) by their blend ``weight`` rendered alone, descending; ties by importance, then index."""
    return rows[np.lexsort((rows, -importance[rows], -weight))]


class _PeelViews:
    """Blend weights of shrinking subsets of one cloud in fixed views, each subset rendered alone. A view's tile
    lists of a subset are its previous subset's lists with the dropped Gaussians taken out: binning sorts by
    depth with ties in row order and puts a Gaussian in the tiles its own box touches, so filtering the lists
    gives exactly what binning the subset anew would, without its depth sort and scatter. The projection is
    redone per subset (caching it for every view would hold ~80 bytes per Gaussian and view)."""

    def __init__(self, cloud, cameras):
        self.cloud, self.cameras = cloud, cameras
        self.rows = None  # the previous subset (ascending), whose tile lists self.bins hold
        self.bins = []

    def weights(self, rows=None) -> np.ndarray:
        """[len(rows)] float64 blend weights of ``cloud[rows]`` (None: all) rendered alone; ``rows`` ascending, a
        subset of the previous call's (the first call: any)."""
        from splatcast.render.project import project_arrays
        from splatcast.render.rasterize import Bins, bin_tiles, composite_bins, parse_background

        arrays = (self.cloud.means, self.cloud.scales, self.cloud.quats, self.cloud.opacities)
        if rows is None:
            rows = np.arange(len(self.cloud))
        else:
            arrays = tuple(a[rows] for a in arrays)
        means, scales, quats, opac = arrays
        n = len(rows)
        total = np.zeros(n)
        if n == 0:
            self.rows, self.bins = rows, [None] * len(self.cameras)
            return total
        # weights do not depend on colour: project with a constant one and no SH (saves gathering and evaluating it)
        dc = np.zeros((n, 3), np.float32)
        rest = np.zeros((n, 0, 3), np.float32)
        black = parse_background((0.0, 0.0, 0.0))
        if self.rows is not None:  # previous-subset position -> position in this one (-1: dropped)
            local = np.full(len(self.rows), -1, np.int32)
            local[np.searchsorted(self.rows, rows)] = np.arange(n, dtype=np.int32)
        bins = []
        for v, cam in enumerate(self.cameras):
            proj = project_arrays(means, scales, quats, opac, dc, rest, 0, cam, np.float32)
            if self.rows is None:
                b = bin_tiles(proj, cam.width, cam.height)
            else:
                start, ids = _filter_bins(self.bins[v].start, self.bins[v].ids, local)
                b = Bins(cam.width, cam.height, start, ids)
            image = np.empty((cam.height, cam.width, 3), np.float32)
            pair = np.zeros(len(b.ids))
            composite_bins(proj, b, black, image, pair_weight=pair)
            total += np.bincount(b.ids, weights=pair, minlength=n)
            bins.append(b)
        self.rows, self.bins = rows, bins
        return total


@njit(cache=True)
def _filter_bins(start, ids, local):
    """Tile lists without the entries whose ``local[id]`` is -1, ids renumbered to ``local[id]``, order kept."""
    n_tiles = start.shape[0] - 1
    new_start = np.zeros(n_tiles + 1, np.int64)
    out = np.empty(ids.shape[0], np.int32)
    at = 0
    for t in range(n_tiles):
        for j in range(start[t], start[t + 1]):
            g = local[ids[j]]
            if g >= 0:
                out[at] = g
                at += 1
        new_start[t + 1] = at
    return new_start, out[:at].copy()


def peel_order(cloud, size: int = ORDER_PX, rings=ORDER_RINGS, first_keep: float = PEEL_FIRST_KEEP,
               keep: float = PEEL_KEEP, floor: float = PEEL_FLOOR, reference: bool = False) -> np.ndarray:
    """The ``peel`` order (module docstring): indices of ``cloud``, first = most worth sending first.
    ``reference``: every round binned from scratch (blend_significance), for tests of the tile-list reuse."""
    n = len(cloud)
    cameras = order_cameras(cloud, size, rings) if n else []  # the whole layer's views, every round
    importance = cloud.importance()
    views = _PeelViews(cloud, cameras)
    live, tail, fraction = np.arange(n), [], first_keep
    while True:
        weight = (blend_significance(cloud, rows=live, cameras=cameras) if reference else views.weights(live))
        ranked = _ranked(live, importance, weight)
        k = int(np.ceil(len(live) * fraction))
        if len(live) <= max(PEEL_MIN, floor * n) or k >= len(live):
            return np.concatenate([ranked] + tail[::-1])
        tail.append(ranked[k:])
        live = np.sort(ranked[:k])
        fraction = keep


def progressive_order(cloud, method: str = DEFAULT_ORDER, seed: int = 0) -> np.ndarray:
    """Indices of ``cloud`` in progressive order (first = most worth sending first)."""
    if method == "importance":
        return cloud.importance_order()
    if method == "opacity":
        return np.argsort(-cloud.opacities.astype(np.float64), kind="stable")
    if method == "blend":
        # primary key: measured weight, descending; then the paper's importance; then the input order
        return np.lexsort((np.arange(len(cloud)), -cloud.importance(), -blend_significance(cloud)))
    if method == "peel":
        return peel_order(cloud)
    if method == "random":
        return np.random.default_rng(seed).permutation(len(cloud))
    raise ValueError(f"order={method!r}: choose one of {', '.join(ORDERS)}")
