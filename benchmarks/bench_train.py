"""Training-step benchmark: seconds per iteration of the CPU trainer, split per stage.

Run: ``python -m benchmarks.bench_train [--gaussians 30000] [--resolution 200] [--iterations 20] [--json [PATH]]``

Scene: the lego training views at --resolution on white (``../shared/data/datasets/lego-train``; synthetic views of a
random cloud rendered with the renderer when absent), --gaussians random Gaussians in the reference init
([-1.3, 1.3]^3, opacity 0.1, 3-NN scales). Two states are timed, --iterations steps each after 2 warm-up steps, no
densification (its cost is reported from one explicit densify call):

- ``init``: the random init, the slowest state (every pixel blends ~800 faint Gaussians);
- ``sharpened``: the same Gaussians with opacity 0.5 and scales halved, a stand-in for a partly trained model.

Baseline: one forward render of the same Gaussians with the plain renderer ``splatcast.render.render``; the ratio
says how many renders one training iteration costs. Medians are quoted. ``--json``: the splatcast-bench/1 document
(benchmarks/_results.py), one scene (the dataset) holding ``resolution`` and ``results`` ({state: the table's
numbers}).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks._results import BenchResults, add_json_argument
from splatcast.render.rasterize import render
from splatcast.train.dataset import Dataset, View, load_nerf_synthetic
from splatcast.train.densify import densify_and_prune
from splatcast.train.trainer import STAGES, TrainConfig, Trainer, cloud_from_params

LEGO = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "datasets" / "lego-train"


def synthetic_dataset(resolution: int) -> Dataset:
    from splatcast.render.camera import orbit_cameras
    from splatcast.train.trainer import random_init

    rng = np.random.default_rng(1)
    cloud = cloud_from_params(random_init(3000, 1.0, 0.8, 0, rng))
    cams = orbit_cameras(cloud, 16, resolution, resolution)
    views = [View(c, render(cloud, c, (1.0, 1.0, 1.0)), f"v{i}", isolated=True) for i, c in enumerate(cams)]
    return Dataset(views[2:], views[:2], (1.0, 1.0, 1.0), 4.0, "synthetic")


def time_state(trainer: Trainer, iterations: int) -> dict:
    for _ in range(2):
        trainer.step()
    per_iter = []
    stages = {s: [] for s in STAGES}
    for _ in range(iterations):
        before = dict(trainer.timings)
        t0 = time.perf_counter()
        trainer.step()
        per_iter.append(time.perf_counter() - t0)
        for s in STAGES:
            stages[s].append(trainer.timings[s] - before[s])
    cloud = trainer.cloud()
    cam = trainer.dataset.train[0].camera
    renders = []
    for _ in range(3):
        t0 = time.perf_counter()
        render(cloud, cam, trainer.dataset.background)
        renders.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    densify_and_prune(trainer.params, trainer.stats, trainer.dataset.extent, trainer.config.densify,
                      np.random.default_rng(0), True)
    densify_s = time.perf_counter() - t0
    med = float(np.median(per_iter))
    return {
        "seconds_per_iteration": med,
        "stages": {s: float(np.median(v)) for s, v in stages.items()},
        "densify_call_seconds": densify_s,
        "render_seconds": float(np.median(renders)),
        "iteration_over_render": med / float(np.median(renders)),
        "gaussians": len(trainer),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gaussians", type=int, default=30000)
    ap.add_argument("--resolution", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=20)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_train", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, bench: BenchResults) -> None:
    if LEGO.exists():
        dataset, source = load_nerf_synthetic(LEGO, args.resolution, "white"), "lego-train"
    else:
        dataset, source = synthetic_dataset(args.resolution), "synthetic"
    config = TrainConfig(iterations=10**6, init_points=args.gaussians, densify_from=10**7)
    results = {}
    trainer = Trainer(dataset, config)
    results["init"] = time_state(trainer, args.iterations)
    trainer = Trainer(dataset, config)
    trainer.params["opacities"][:] = 0.0
    trainer.params["scales"] -= np.log(2.0)
    results["sharpened"] = time_state(trainer, args.iterations)
    bench.add(source, {"resolution": args.resolution, "results": results},
              source=f"{source} at {args.resolution} px, {args.gaussians} random Gaussians")
    print(f"dataset {source} at {args.resolution}px, {args.gaussians} Gaussians, median of {args.iterations} steps")
    header = f"{'state':<10} {'s/iter':>7} " + " ".join(f"{s:>9}" for s in STAGES)
    print(header + f" {'render s':>9} {'iter/render':>11}")
    for name, r in results.items():
        print(f"{name:<10} {r['seconds_per_iteration']:7.3f} " + " ".join(f"{r['stages'][s]:9.4f}" for s in STAGES)
              + f" {r['render_seconds']:9.3f} {r['iteration_over_render']:11.2f}")
    print("densify column: per-step statistics only; one densify_and_prune call took "
          + ", ".join(f"{r['densify_call_seconds']:.3f} s ({n})" for n, r in results.items()))


if __name__ == "__main__":
    raise SystemExit(main())
