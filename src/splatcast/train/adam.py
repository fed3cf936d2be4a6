"""Adam over named parameter arrays whose rows (Gaussians) are added and removed during training.

Matches the reference trainer's torch Adam (betas 0.9 / 0.999, eps 1e-15, one step counter for all). Every row gets
an update each step, even with a zero gradient (torch does the same: momentum keeps moving unseen Gaussians).
Rows created by densification start with zero moments; :meth:`Adam.remap` carries the moments through clone,
split and prune given where each new row came from.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _adam_update(p, g, m, v, lr, b1, b2, eps, bias1, bias2):
    # p, g, m, v: flat float64 views of one parameter array
    step = lr / bias1
    for i in prange(p.shape[0]):
        mi = b1 * m[i] + (1.0 - b1) * g[i]
        vi = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi / (np.sqrt(vi / bias2) + eps)


class Adam:
    """Adam state for ``params`` (name -> [N, ...] float64 array, all with the same N)."""

    def __init__(self, params: dict[str, np.ndarray], betas=(0.9, 0.999), eps: float = 1e-15):
        self.b1, self.b2 = betas
        self.eps = eps
        self.t = 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lrs: dict[str, float]) -> None:
        """One in-place update of every array in ``lrs`` (contiguous float64 arrays)."""
        self.t += 1
        bias1 = 1.0 - self.b1**self.t
        bias2 = 1.0 - self.b2**self.t
        for name, lr in lrs.items():
            p = params[name]
            _adam_update(
                p.reshape(-1), np.ascontiguousarray(grads[name]).reshape(-1), self.m[name].reshape(-1),
                self.v[name].reshape(-1), lr, self.b1, self.b2, self.eps, bias1, bias2,
            )

    def remap(self, source: np.ndarray) -> None:
        """Rows become ``old[source]``; rows with source < 0 are new and start at zero moments."""
        new = source < 0
        src = np.where(new, 0, source)
        for state in (self.m, self.v):
            for name, arr in state.items():
                out = arr[src] if len(arr) else np.zeros((len(source),) + arr.shape[1:])
                out[new] = 0.0
                state[name] = np.ascontiguousarray(out)

    def reset(self, name: str) -> None:
        """Zero the moments of one parameter (after the opacity reset, as the reference does)."""
        self.m[name][...] = 0.0
        self.v[name][...] = 0.0
