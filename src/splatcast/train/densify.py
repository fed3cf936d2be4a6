"""Adaptive density control of the reference 3DGS trainer: clone, split, prune, opacity reset.

Statistics gathered every iteration for the Gaussians rendered in that view: the norm of the gradient w.r.t. the
projected mean in NDC units (the reference's "view-space positional gradient"; NDC units make it roughly independent
of the image resolution, so the reference threshold 0.0002 is kept at 200 x 200) and the largest screen radius.

At a densification step, for Gaussians whose mean gradient norm >= threshold:
- *clone* those with max scale <= percent_dense * extent (an exact copy; the next steps pull the two apart),
- *split* those with larger scale into 2, each at a sample of N(mean, scale) rotated into the world, with scales
  divided by 1.6 (= 0.8 * 2), the original removed.
Then prune alpha < min_opacity, and (after the first opacity reset) Gaussians whose screen radius exceeded
``max_screen_px`` or whose world scale exceeds 0.1 * extent.

Frozen Gaussians (additive training: the Gaussians of an already captured layer) are never pruned and never
removed by a split: a frozen one that would be split keeps its place and gets its two children beside it, and a
frozen one that would be cloned gets its (free) clone. So every captured layer stays a subset of the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splatcast.scene.rotation import rotation_matrices


@dataclass
class DensifyConfig:
    grad_threshold: float = 0.0002
    percent_dense: float = 0.01
    min_opacity: float = 0.005
    max_screen_px: float = 20.0
    max_world_fraction: float = 0.1
    split_count: int = 2


class DensifyStats:
    """Running view-space gradient statistics per Gaussian."""

    def __init__(self, n: int):
        self.grad_accum = np.zeros(n)
        self.denom = np.zeros(n)
        self.max_radius = np.zeros(n)

    def add(self, mean2d_ndc: np.ndarray, visible: np.ndarray, radius: np.ndarray) -> None:
        self.grad_accum[visible] += np.linalg.norm(mean2d_ndc[visible], axis=1)
        self.denom[visible] += 1.0
        self.max_radius[visible] = np.maximum(self.max_radius[visible], radius[visible])

    def mean_grad(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            g = self.grad_accum / self.denom
        return np.nan_to_num(g, nan=0.0, posinf=0.0)


def densify_and_prune(
    params: dict[str, np.ndarray],
    stats: DensifyStats,
    extent: float,
    config: DensifyConfig,
    rng: np.random.Generator,
    prune_large: bool,
    frozen: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, int], np.ndarray, np.ndarray]:
    """Return (new params, source row of each new row or -1 for a new Gaussian (fresh optimizer state), counts of
    what happened, parent row of every new row (itself for a kept one), frozen mask of the new rows)."""
    n = len(params["means"])
    frozen = np.zeros(n, bool) if frozen is None else np.asarray(frozen, bool)
    grads = stats.mean_grad()
    big_grad = grads >= config.grad_threshold
    max_scale = np.exp(params["scales"]).max(axis=1)
    small = max_scale <= config.percent_dense * extent
    alpha = 1.0 / (1.0 + np.exp(-params["opacities"]))
    transparent = alpha < config.min_opacity
    clone = np.flatnonzero(big_grad & small & ~transparent)
    split = np.flatnonzero(big_grad & ~small & ~transparent)  # children would inherit a prunable opacity
    k = config.split_count
    # split children: N(0, scale) samples rotated into the world around the mean
    sel_scale = np.exp(params["scales"][split])  # [S, 3]
    samples = rng.normal(size=(len(split), k, 3)) * sel_scale[:, None, :]
    rots = rotation_matrices(params["quats"][split])  # [S, 3, 3]
    child_means = (np.einsum("sij,skj->ski", rots, samples) + params["means"][split][:, None, :]).reshape(-1, 3)
    child_rows = np.repeat(split, k)
    # prune (computed on the originals; children of a split inherit its opacity and are checked next time)
    prune = transparent.copy()
    if prune_large:
        prune |= stats.max_radius > config.max_screen_px
        prune |= max_scale > config.max_world_fraction * extent
    prune &= ~frozen
    keep_orig = ~prune
    keep_orig[split[~frozen[split]]] = False
    keep_idx = np.flatnonzero(keep_orig)
    # clones of a Gaussian pruned for size are dropped too
    clone_kept = clone[~prune[clone]]
    out = {}
    for name, arr in params.items():
        parts = [arr[keep_idx], arr[clone_kept]]
        if name == "means":
            parts.append(child_means)
        elif name == "scales":
            parts.append(arr[child_rows] - np.log(0.8 * k))
        else:
            parts.append(arr[child_rows])
        out[name] = np.ascontiguousarray(np.concatenate(parts))
    source = np.concatenate([keep_idx, clone_kept, np.full(len(child_rows), -1)]).astype(np.int64)
    # the reference gives clones fresh optimizer state as well
    source[len(keep_idx):] = -1
    parent = np.concatenate([keep_idx, clone_kept, child_rows]).astype(np.int64)
    new_frozen = np.concatenate([frozen[keep_idx], np.zeros(len(clone_kept) + len(child_rows), bool)])
    counts = {
        "before": n,
        "cloned": int(len(clone_kept)),
        "split": int(len(split)),
        "pruned": int(np.count_nonzero(prune)),
        "after": int(len(out["means"])),
    }
    return out, source, counts, parent, new_frozen


def reset_opacity(params: dict[str, np.ndarray], max_alpha: float = 0.01, frozen: np.ndarray | None = None) -> None:
    """Clamp every opacity (but the frozen ones) to at most ``max_alpha`` (in logit space), in place."""
    cap = np.log(max_alpha / (1.0 - max_alpha))
    o = params["opacities"]
    if frozen is None:
        np.minimum(o, cap, out=o)
    else:
        o[~frozen] = np.minimum(o[~frozen], cap)
