"""Shared plumbing of the evaluation suite: the run context, optional-part probes, timing and fidelity.

An experiment that needs a part of splatcast that has not landed, a file of ../shared that is absent, or a tool
that is not installed raises :class:`Unavailable` with a reason; the suite records the reason in the report and
goes on with the next experiment. Nothing here writes files.
"""

from __future__ import annotations

import importlib
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcast.scene.cloud import GaussianCloud


class Unavailable(Exception):
    """An experiment cannot run here (missing module, data or tool); the message is the reason recorded."""


def require(module: str, *names: str):
    """Import ``module`` (and check it defines ``names``) or raise :class:`Unavailable` naming what is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:  # the module, or something it imports, is not there yet
        raise Unavailable(f"module {module} is not available ({exc})") from exc
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise Unavailable(f"module {module} lacks {', '.join(missing)}")
    return mod


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


class Fidelity:
    """Fidelity PSNR of test clouds against named references, each reference's views rendered only once.

    Same definition as :func:`splatcast.render.metrics.fidelity_psnr` (an orbit fitted to the main reference,
    mean per-view PSNR with identical views capped), which a test checks. All references share the cameras, so a
    test cloud is rendered once per view whatever the number of references. Cameras use the guessed up axis so
    that scenes stored y-down (SOG/PlayCanvas) are seen upright.
    """

    def __init__(self, reference: GaussianCloud, n_views: int, size: int, up="auto", cameras=None):
        cam_mod = require("splatcast.render.camera", "orbit_cameras")
        ras = require("splatcast.render.rasterize", "render")
        met = require("splatcast.render.metrics", "psnr", "mean_psnr")
        self._render, self._psnr, self._mean = ras.render, met.psnr, met.mean_psnr
        if cameras is None:
            cameras = cam_mod.orbit_cameras(reference, n_views, size, size, up=up)
        self.cameras = list(cameras)
        self.references: dict[str, list[np.ndarray]] = {}
        self.add_reference("top", reference)

    def add_reference(self, name: str, cloud: GaussianCloud) -> None:
        self.references[name] = self.render_views(cloud)

    def render_views(self, cloud: GaussianCloud) -> list[np.ndarray]:
        if len(cloud) == 0:
            return [np.zeros((c.height, c.width, 3), np.float32) for c in self.cameras]
        return [self._render(cloud, cam) for cam in self.cameras]

    def psnrs(self, test: GaussianCloud, against=None) -> dict[str, float]:
        """{reference name: mean PSNR of ``test``} for the named references (all by default)."""
        images = self.render_views(test)
        names = list(self.references) if against is None else list(against)
        return {
            n: float(self._mean([self._psnr(r, t) for r, t in zip(self.references[n], images)])) for n in names
        }

    def psnr(self, test: GaussianCloud, against: str = "top") -> float:
        return self.psnrs(test, [against])[against]
