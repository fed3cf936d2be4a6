"""Plateau picking from a test-PSNR curve."""

from __future__ import annotations

import numpy as np

from splatcast.train.plateaus import pick_layers, plateau_ends


def _staircase():
    # rises to 30 by 1500, flat to 3000, rises to 32 by 4000, flat to 6000, rises to 33 by 7000
    its = np.arange(500, 7001, 500)
    p = np.interp(its, [500, 1500, 3000, 4000, 6000, 7000], [20, 30, 30.05, 32, 32.05, 33])
    return its, p


def test_plateau_ends_found_on_a_staircase():
    its, p = _staircase()
    ends = [int(its[i]) for i in plateau_ends(its, p, window=1000, min_gain_db=0.1)]
    assert ends == [2000, 5000]  # last point whose gain over the next 1000 iterations is < 0.1 dB


def test_pick_layers_takes_plateaus_and_the_last_iteration():
    its, p = _staircase()
    assert pick_layers(its, p, 3) == [2000, 5000, 7000]
    two = pick_layers(its, p, 2)
    assert len(two) == 2 and two[-1] == 7000 and two[0] in (2000, 5000)


def test_pick_layers_on_short_or_noisy_curves():
    assert pick_layers([100], [10.0], 3) == [100]
    assert pick_layers([], [], 3) == []
    assert pick_layers([100, 200], [10.0, 12.0], 2) == [100, 200]
    rng = np.random.default_rng(0)
    its = np.arange(100, 3001, 100)
    p = 20 + 5 * (1 - np.exp(-its / 800)) + rng.normal(0, 0.05, len(its))
    chosen = pick_layers(its, p, 4)
    assert len(chosen) == 4 and chosen == sorted(set(chosen)) and chosen[-1] == 3000
    best = np.maximum.accumulate(p)
    levels = [best[list(its).index(c)] for c in chosen]
    assert levels == sorted(levels)
