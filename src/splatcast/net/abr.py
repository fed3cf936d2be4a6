"""Receiver-side adaptation: which refinement mode to fetch each chunk in, from measured throughput.

The order of a session is fixed by the codec (layers bottom-up, chunks in importance order, a DC-only part
upgraded later by its remainder); what adapts is, per chunk of a layer > 0, whether to take it "full" at once or
its "dc" part first and the remainder after the layer's DC sweep. Taking DC parts first spreads a new layer's
Gaussians over the scene sooner at the cost of a second pass; it pays when a chunk is slow to arrive.

Policies (``--abr NAME``):
* ``throughput`` (default): "full" when the chunk's full bytes arrive within `step_budget_s` at the estimated
  throughput (harmonic mean of the last `window` samples x `safety`), else "dc".
* ``full``: always "full" (one pass).
* ``dc-first``: always "dc" when the chunk has a DC-only part.
Layer-0 chunks have no DC-only part (dc_bytes == full_bytes), so every policy takes them whole.
"""

from __future__ import annotations

from collections import deque


class ThroughputEstimator:
    """Harmonic mean of the last `window` samples (bytes over seconds, per fetch): robust to one fast outlier."""

    def __init__(self, window: int = 5):
        self.samples: deque[float] = deque(maxlen=window)

    def add(self, n_bytes: int, seconds: float) -> None:
        if n_bytes > 0 and seconds > 0:
            self.samples.append(n_bytes * 8 / seconds)

    def estimate_bps(self) -> float | None:
        if not self.samples:
            return None
        return len(self.samples) / sum(1.0 / s for s in self.samples)


class Abr:
    name = "base"

    def choose(self, chunk, estimate_bps: float | None) -> str:
        raise NotImplementedError


class FullAbr(Abr):
    name = "full"

    def choose(self, chunk, estimate_bps):
        return "full"


class DcFirstAbr(Abr):
    name = "dc-first"

    def choose(self, chunk, estimate_bps):
        return "dc" if chunk.dc_bytes < chunk.full_bytes else "full"


class ThroughputAbr(Abr):
    name = "throughput"

    def __init__(self, step_budget_s: float = 0.25, safety: float = 0.9):
        self.step_budget_s = step_budget_s
        self.safety = safety

    def choose(self, chunk, estimate_bps):
        if chunk.dc_bytes >= chunk.full_bytes:
            return "full"
        if estimate_bps is None:
            return "dc"  # nothing measured yet: be cautious
        seconds_full = chunk.full_bytes * 8 / (estimate_bps * self.safety)
        return "full" if seconds_full <= self.step_budget_s else "dc"


ABRS = {"throughput": ThroughputAbr, "full": FullAbr, "dc-first": DcFirstAbr}


def make_abr(name: str) -> Abr:
    from splatcast.errors import SplatcastError

    if name not in ABRS:
        raise SplatcastError(f"--abr: expected one of {sorted(ABRS)}, got {name!r}")
    return ABRS[name]()
