"""Receiver-side adaptation: in which pass to fetch each layer, from the index's fidelity or measured throughput.

The order of a session is fixed by the codec (layers bottom-up, chunks in importance order); what adapts is, per
layer > 0 whose chunks have a dc-only part, the pass: "full" (each chunk whole, one pass) or "dc" (every chunk's
dc part, then the remainders: the upgrade sweep). Taking DC parts first spreads a new layer's Gaussians over the
scene sooner at the cost of a second pass. The pass is chosen once per layer, when its first piece is drawn, so
that every state the client passes through is one whose fidelity the index records (docs/streaming.md,
"Monotone display"); mixing passes within a layer would reach states nobody measured.

Policies (``--abr NAME``):
* ``fidelity`` (default): the pass whose shown fidelity, integrated over the layer's bytes, is larger (the same
  bytes arrive in either pass, so this is "better pictures sooner" at any constant rate); ``throughput`` when the
  file records no fidelity (version 1, or encoded with ``--fidelity off``).
* ``throughput``: "full" when the layer's first split chunk arrives whole within `step_budget_s` at the estimated
  throughput (harmonic mean of the last `window` samples x `safety`), else "dc" (and "dc" before any sample).
* ``full``: always one pass.
* ``dc-first``: always the dc sweep first.
Layer-0 chunks (and joint inter chunks) have no dc-only part, so every policy takes them whole.
"""

from __future__ import annotations

import math
from collections import deque

from splatcast.codec.container import fidelity_db


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


def split_chunks(layer) -> list:
    """Chunks of a layer that have a dc-only part (dc_bytes < full_bytes)."""
    return [c for c in layer.chunks if c.dc_bytes < c.full_bytes]


def pass_pieces(layer, refine: str) -> list[tuple[int, float | None]]:
    """(bytes, fidelity code's dB after the piece) of each piece of a layer's pass, in fetch order."""
    chunks = layer.chunks
    if refine == "full" or not split_chunks(layer):
        return [(c.full_bytes, fidelity_db(c.fidelity_full)) for c in chunks]
    sweep = [(c.dc_bytes, fidelity_db(c.fidelity_dc if c.dc_bytes < c.full_bytes else c.fidelity_full))
             for c in chunks]
    # the upgrade sweep: chunks without a dc-only part need no second piece
    upgrades = [(c.full_bytes - c.dc_bytes, fidelity_db(c.fidelity_upgraded))
                for c in chunks if c.dc_bytes < c.full_bytes]
    return sweep + upgrades


def shown_area(pieces: list[tuple[int, float | None]], start_db: float) -> float | None:
    """Sum over the pieces of (fidelity on screen while the piece arrives) x its bytes, with the monotone display
    rule (a state is shown only if it is better than the one on screen); None if a value is missing."""
    shown, area = start_db, 0.0
    for n_bytes, db in pieces:
        if db is None:
            return None
        area += shown * n_bytes
        if db > shown:
            shown = db
    return area


class Abr:
    name = "base"

    def choose_pass(self, layer, estimate_bps: float | None, lower_db: float | None) -> str:
        """'full' or 'dc' for a layer with a dc-only part; ``lower_db``: fidelity of the complete layer below."""
        raise NotImplementedError


class FullAbr(Abr):
    name = "full"

    def choose_pass(self, layer, estimate_bps, lower_db):
        return "full"


class DcFirstAbr(Abr):
    name = "dc-first"

    def choose_pass(self, layer, estimate_bps, lower_db):
        return "dc"


class ThroughputAbr(Abr):
    name = "throughput"

    def __init__(self, step_budget_s: float = 0.25, safety: float = 0.9):
        self.step_budget_s = step_budget_s
        self.safety = safety

    def choose_pass(self, layer, estimate_bps, lower_db):
        if estimate_bps is None:
            return "dc"  # nothing measured yet: be cautious
        first = split_chunks(layer)[0]
        seconds_full = first.full_bytes * 8 / (estimate_bps * self.safety)
        return "full" if seconds_full <= self.step_budget_s else "dc"


class FidelityAbr(Abr):
    name = "fidelity"

    def __init__(self):
        self.fallback = ThroughputAbr()

    def choose_pass(self, layer, estimate_bps, lower_db):
        if lower_db is None or math.isinf(lower_db):
            return self.fallback.choose_pass(layer, estimate_bps, lower_db)
        full = shown_area(pass_pieces(layer, "full"), lower_db)
        dc = shown_area(pass_pieces(layer, "dc"), lower_db)
        if full is None or dc is None:
            return self.fallback.choose_pass(layer, estimate_bps, lower_db)
        return "dc" if dc > full else "full"


ABRS = {"fidelity": FidelityAbr, "throughput": ThroughputAbr, "full": FullAbr, "dc-first": DcFirstAbr}
DEFAULT_ABR = "fidelity"


def make_abr(name: str) -> Abr:
    from splatcast.errors import SplatcastError

    if name not in ABRS:
        raise SplatcastError(f"--abr: expected one of {sorted(ABRS)}, got {name!r}")
    return ABRS[name]()
