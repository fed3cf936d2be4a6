"""Densification: clone small, split large, prune transparent / oversized, opacity reset."""

from __future__ import annotations

import numpy as np

from splatcast.train.densify import DensifyConfig, DensifyStats, densify_and_prune, reset_opacity
from splatcast.train.trainer import random_init


def _params(n):
    p = random_init(n, 1.0, 0.5, 1, np.random.default_rng(0))
    p["scales"][:] = np.log(0.01)
    return p


def test_clone_split_prune():
    p = _params(6)
    p["scales"][1] = np.log([0.3, 0.1, 0.1])  # large: split
    p["scales"][5] = np.log([0.5, 0.5, 0.5])  # oversized in the world (> 0.1 * extent): pruned if prune_large
    p["opacities"][2] = -8.0  # transparent: pruned
    stats = DensifyStats(6)
    grads = np.zeros((6, 2))
    grads[[0, 1, 2], 0] = 0.001  # above the threshold
    stats.add(grads, np.ones(6, bool), np.array([3, 4, 5, 6, 30, 2]))
    extent = 4.0
    new, source, counts, _, _ = densify_and_prune(p, stats, extent, DensifyConfig(), np.random.default_rng(1), True)
    # kept: 0, 3 (4: screen radius 30 > 20, 5: world size, 2: transparent, 1: split) + clone of 0 + 2 children of 1
    assert counts == {"before": 6, "cloned": 1, "split": 1, "pruned": 3, "after": 5}
    np.testing.assert_array_equal(source, [0, 3, -1, -1, -1])
    np.testing.assert_array_equal(new["means"][2], p["means"][0])  # the clone is an exact copy
    np.testing.assert_allclose(new["scales"][3:], np.repeat(p["scales"][1:2] - np.log(1.6), 2, axis=0))
    offsets = new["means"][3:] - p["means"][1]
    assert np.all(np.abs(offsets) < 5 * 0.3) and not np.allclose(offsets[0], offsets[1])
    # without size pruning 4 and 5 stay
    new2, _, counts2, _, _ = densify_and_prune(p, stats, extent, DensifyConfig(), np.random.default_rng(1), False)
    assert counts2["after"] == 7 and counts2["pruned"] == 1


def test_nothing_to_do_and_empty():
    p = _params(4)
    stats = DensifyStats(4)
    new, source, counts, _, _ = densify_and_prune(p, stats, 4.0, DensifyConfig(), np.random.default_rng(0), True)
    np.testing.assert_array_equal(source, np.arange(4))
    assert counts["after"] == 4 and all(np.array_equal(new[k], p[k]) for k in p)
    p0 = {k: v[:0] for k, v in p.items()}
    new0, source0, counts0, _, _ = densify_and_prune(p0, DensifyStats(0), 4.0, DensifyConfig(), np.random.default_rng(0),
                                               True)
    assert counts0["after"] == 0 and len(source0) == 0


def test_reset_opacity_caps_at_one_percent():
    p = _params(3)
    p["opacities"][:] = [-10.0, 0.0, 5.0]
    reset_opacity(p)
    alpha = 1 / (1 + np.exp(-p["opacities"]))
    np.testing.assert_allclose(alpha, [1 / (1 + np.exp(10.0)), 0.01, 0.01], rtol=1e-9)


def test_frozen_gaussians_stay_and_get_children_beside_them():
    """Additive training: frozen rows are never pruned or split away; their clones and split children are new
    and free; parent rows and the frozen mask follow every row."""
    p = _params(6)
    p["scales"][1] = np.log([0.3, 0.1, 0.1])  # large: would be split
    p["scales"][5] = np.log([0.5, 0.5, 0.5])  # oversized
    p["opacities"][2] = -8.0  # transparent
    stats = DensifyStats(6)
    grads = np.zeros((6, 2))
    grads[[0, 1, 2], 0] = 0.001
    stats.add(grads, np.ones(6, bool), np.array([3, 4, 5, 6, 30, 2]))
    frozen = np.array([True, True, True, False, False, True])
    new, source, counts, parent, new_frozen = densify_and_prune(
        p, stats, 4.0, DensifyConfig(), np.random.default_rng(1), True, frozen
    )
    # kept: 0, 1 (frozen, split but stays), 2 (frozen, transparent but stays), 3, 5 (frozen, oversized but stays);
    # 4 is pruned (screen radius); new: the clone of 0 and the two children of 1
    np.testing.assert_array_equal(parent, [0, 1, 2, 3, 5, 0, 1, 1])
    np.testing.assert_array_equal(new_frozen, [True, True, True, False, True, False, False, False])
    np.testing.assert_array_equal(source, [0, 1, 2, 3, 5, -1, -1, -1])
    for k in p:  # the frozen rows are exactly the old ones, in their order
        np.testing.assert_array_equal(new[k][new_frozen], p[k][frozen])
    assert counts["after"] == 8
    reset_opacity(new, frozen=new_frozen)
    np.testing.assert_array_equal(new["opacities"][new_frozen], p["opacities"][frozen])
    assert (1 / (1 + np.exp(-new["opacities"][~new_frozen])) <= 0.01 + 1e-12).all()
