"""Progressive orders: which Gaussians of a layer go first, so that every prefix renders as well as it can.

* ``importance``: the paper's closed form w = sigmoid(opacity) * exp(sx + sy + sz), descending.
* ``opacity``: sigmoid(opacity), descending.
* ``blend`` (measured): each Gaussian's blending weight alpha x T summed over the pixels of a set of views, i.e. how
  much of the rendered picture it makes; the significance that pruning work such as LightGaussian ranks by.
  Volume alone rewards large faint Gaussians that are hidden or transparent; opacity alone rewards tiny opaque
  ones; the rendered weight counts what a viewer sees. Views: two rings around the layer's robust bounds
  (:data:`ORDER_RINGS`), placed between the 8 views fidelity is reported on, so the order is not fitted to them.
  Gaussians no view reaches (weight 0) follow in importance order.
* ``random``: a seeded permutation (a baseline).
Ties keep the input order everywhere (stable sorts).
"""

from __future__ import annotations

import numpy as np

ORDERS = ("importance", "opacity", "blend", "random")
DEFAULT_ORDER = "blend"
ORDER_PX = 160
ORDER_RINGS = ((7, 15.0), (5, 50.0))  # (views, elevation in degrees): 12 views, none on the 8-view report orbit


def blend_significance(cloud, size: int = ORDER_PX, rings=ORDER_RINGS) -> np.ndarray:
    """[N] float64: blending weight per Gaussian summed over the views of ``rings``."""
    from splatcast.render.camera import orbit_cameras
    from splatcast.render.rasterize import blend_weights

    total = np.zeros(len(cloud))
    if len(cloud) == 0:
        return total
    for n_views, elevation in rings:
        for cam in orbit_cameras(cloud, n_views, size, size, elevation_deg=elevation):
            total += blend_weights(cloud, cam)
    return total


def progressive_order(cloud, method: str = DEFAULT_ORDER, seed: int = 0) -> np.ndarray:
    """Indices of ``cloud`` in progressive order (first = most worth sending first)."""
    if method == "importance":
        return cloud.importance_order()
    if method == "opacity":
        return np.argsort(-cloud.opacities.astype(np.float64), kind="stable")
    if method == "blend":
        # primary key: measured weight, descending; then the paper's importance; then the input order
        return np.lexsort((np.arange(len(cloud)), -cloud.importance(), -blend_significance(cloud)))
    if method == "random":
        return np.random.default_rng(seed).permutation(len(cloud))
    raise ValueError(f"order={method!r}: choose one of {', '.join(ORDERS)}")
