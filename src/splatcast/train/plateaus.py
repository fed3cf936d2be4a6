"""Pick quality-layer iterations from a test-PSNR curve: the ends of its plateaus.

The curve is the test PSNR at evaluation iterations (every E iterations). Rule, deterministic:

1. Smooth out noise with the running maximum (a checkpoint is never worse than an earlier one we could have kept).
2. A point is *flat* when the gain from it to the first point at least ``window`` iterations later is below
   ``min_gain_db``. A plateau is a maximal run of flat points; it *ends* at its last point. The final iteration is
   always the last layer.
3. With more plateau ends than the ``n_layers - 1`` wanted, keep those nearest to PSNR levels evenly spaced between
   the first evaluation and the final one (level i of L-1 is first + i/L of the gain); with fewer, fill the missing
   levels with the first iteration reaching each level (and, on a curve too short or flat for that, with evenly
   spaced earlier evaluations). Iterations are strictly increasing.
"""

from __future__ import annotations

import numpy as np

DEFAULT_WINDOW = 1000
DEFAULT_MIN_GAIN_DB = 0.1


def plateau_ends(
    iterations, psnrs, window: int = DEFAULT_WINDOW, min_gain_db: float = DEFAULT_MIN_GAIN_DB
) -> list[int]:
    """Indices (into the curve) where a plateau ends, excluding the final point."""
    its = np.asarray(iterations, np.int64)
    p = np.maximum.accumulate(np.asarray(psnrs, np.float64))
    n = len(its)
    flat = np.zeros(n, bool)
    for i in range(n):
        later = np.flatnonzero(its >= its[i] + window)
        if len(later):
            flat[i] = p[later[0]] - p[i] < min_gain_db
    return [i for i in range(n - 1) if flat[i] and not flat[i + 1]]


def pick_layers(
    iterations, psnrs, n_layers: int, window: int = DEFAULT_WINDOW, min_gain_db: float = DEFAULT_MIN_GAIN_DB
) -> list[int]:
    """Iterations of ``n_layers`` checkpoints (the last one is the final iteration), coarse to fine."""
    its = [int(i) for i in iterations]
    if n_layers < 1:
        raise ValueError(f"n_layers={n_layers} must be >= 1")
    if not its:
        return []
    p = np.maximum.accumulate(np.nan_to_num(np.asarray(psnrs, np.float64), nan=-np.inf))
    last = len(its) - 1
    if n_layers == 1 or last == 0:
        return [its[last]]
    want = n_layers - 1
    lo, hi = p[0], p[last]
    levels = [lo + (hi - lo) * (k + 1) / n_layers for k in range(want)]
    ends = plateau_ends(its, p, window, min_gain_db)
    chosen: list[int] = []
    for level in levels:
        candidates = [i for i in ends if i not in chosen and (not chosen or i > chosen[-1])]
        if len(ends) >= want and candidates:
            # nearest plateau end to this level that keeps the order
            i = min(candidates, key=lambda i: (abs(p[i] - level), i))
        else:
            reach = [i for i in range(last) if p[i] >= level and (not chosen or i > chosen[-1])]
            if not reach:
                continue
            i = reach[0]
        chosen.append(i)
    chosen = sorted(set(chosen))[:want]
    if len(chosen) < want:  # a short or flat curve: fill with evenly spaced earlier evaluations
        rest = [i for i in range(last) if i not in chosen]
        take = np.linspace(0, len(rest) - 1, min(want - len(chosen), len(rest))).round().astype(int)
        chosen = sorted(set(chosen) | {rest[k] for k in take})
    return [its[i] for i in chosen] + [its[last]]
