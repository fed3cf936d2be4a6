"""Shared plumbing of the evaluation suite: the run context, timing and JSON-safe numbers.

An experiment that needs a file of ../shared that is absent, or a tool that is not installed (node, the npm
package, an entropy back-end's extension), raises :class:`Unavailable` with a reason; the suite records the
reason in the report and goes on with the next experiment. Fidelity PSNR is
:class:`splatcast.render.metrics.Fidelity`. Nothing here writes files.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class Unavailable(Exception):
    """An experiment cannot run here (missing data or tool); the message is the reason recorded."""


def repo_root() -> Path:
    """The checkout this package runs from (src layout: src/splatcast/evaluate/common.py -> repo)."""
    return Path(__file__).resolve().parents[3]


def default_shared_root() -> Path:
    """``../shared`` beside the repository (CI clones the repo next to a copy of shared/)."""
    env = os.environ.get("SPLATCAST_SHARED")
    if env:
        return Path(env)
    for base in (Path.cwd(), repo_root()):
        candidate = (base / ".." / "shared").resolve()
        if candidate.is_dir():
            return candidate
    return (repo_root() / ".." / "shared").resolve()


@dataclass
class BenchConfig:
    """Settings of one bench run; ``quick`` picks small values everywhere."""

    out_dir: Path
    quick: bool = False
    seed: int = 0
    shared_root: Path = field(default_factory=default_shared_root)
    qualities: tuple[int, ...] = (4, 6, 8, 10, 12)
    fidelity_views: int = 8
    fidelity_size: int = 256
    decode_repeats: int = 5
    max_gaussians: int | None = None  # cap of the top layer of every layer set (importance prefixes), None = all
    decode_max_gaussians: int | None = 100_000  # decode-time experiment's cap of the top layer
    lego_dir: Path | None = None
    lego_dataset: Path | None = None  # NeRF-synthetic folder: held-out views give test-view PSNR for lego
    lego_resolution: int = 200  # must match the resolution the checkpoints were trained at
    lego_background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    npm_cache: Path = field(default_factory=lambda: Path.home() / ".cache" / "splatcast-npm")
    npm_install: bool = False  # install @playcanvas/splat-transform into npm_cache when absent
    sog_iterations: int = 3  # cap of SOG's k-means iterations (its CPU k-means is very slow)
    trace_scale: float = 10.0
    progress: bool = True

    @classmethod
    def quick_defaults(cls, out_dir: Path, **kw) -> "BenchConfig":
        base = dict(qualities=(4, 6, 8, 10), fidelity_views=3, fidelity_size=96, decode_repeats=3)
        base.update(kw)
        return cls(out_dir=out_dir, quick=True, **base)

    def as_dict(self) -> dict:
        return {
            "quick": self.quick,
            "seed": self.seed,
            "qualities": list(self.qualities),
            "fidelity": {"views": self.fidelity_views, "width": self.fidelity_size, "height": self.fidelity_size},
            "decode_repeats": self.decode_repeats,
            "max_gaussians": self.max_gaussians,
            "decode_max_gaussians": self.decode_max_gaussians,
            "sog_iterations": self.sog_iterations,
            "trace_scale": self.trace_scale,
        }


def log(config: BenchConfig, message: str) -> None:
    if config.progress:
        print(f"[bench] {message}", file=sys.stderr, flush=True)


def median_time_s(fn, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs (seconds) and all the samples."""
    samples = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples


def finite_or_none(value):
    """JSON-safe number: None for inf / nan."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
