"""A/B speed of this checkout against an earlier commit, in one run: a 500k-Gaussian render and a training step.

Run: ``python -m benchmarks.bench_ab --base REV [--rounds 3] [--repeat 5] [--json [PATH]]``

The commit ``REV`` is exported with ``git archive`` into a temporary folder (its own numba cache, warmed before
timing). Each round runs one child process per tree, alternating, so that the shared machine's drift hits both
alike; a child times, through the public API that both trees have (``render.rasterize.render``,
``train.trainer.Trainer.step``):

- render: playbot LOD 0_0 (500,000 Gaussians, ../shared/data) at 800x800 from orbit view 0, median of --repeat;
- train step: the lego training views at 200 px (synthetic views when ../shared is absent), 30,000 random
  Gaussians, no densification, median of --repeat steps after 2 warm-up steps.

Printed: the median over rounds of each child's medians of wall time and of CPU time (all threads; less disturbed
by other processes on a shared machine), and speed = base time / this time (> 1: this is faster). ``--json``: the
splatcast-bench/1 document (benchmarks/_results.py), one scene (``base REV vs this``) holding ``metrics`` ({key:
base_s, this_s, speed}) and every round's child results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"

CHILD = r"""
import json, os, statistics, sys, time
from pathlib import Path
import numpy as np
from splatcast.render.camera import orbit_cameras
from splatcast.render.rasterize import render
from splatcast.train.trainer import TrainConfig, Trainer
shared, repeat = Path(sys.argv[1]), int(sys.argv[2])
out = {}
playbot = shared / "scenes" / "playbot-lod" / "0_0"
if playbot.is_dir():
    from splatcast.scene.formats import read_scene
    cloud = read_scene(playbot)
    cam = orbit_cameras(cloud, 8, 800, 800)[0]
    render(cloud, cam)
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        render(cloud, cam)
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    out["render_500k_s"] = statistics.median(times)
    out["render_500k_cpu_s"] = statistics.median(cpu)
lego = shared / "datasets" / "lego-train"
if lego.is_dir():
    from splatcast.train.dataset import load_nerf_synthetic
    dataset = load_nerf_synthetic(lego, 200, "white")
else:
    from splatcast.scene.default import lab_bench
    from splatcast.train.dataset import Dataset, View
    c = lab_bench()
    cams = orbit_cameras(c, 12, 200, 200)
    alone = {"isolated": True} if "isolated" in View.__dataclass_fields__ else {}  # the same init in both trees
    views = [View(k, render(c, k, (1, 1, 1)), str(i), **alone) for i, k in enumerate(cams)]
    dataset = Dataset(views, [], (1.0, 1.0, 1.0), 4.0, "default")
trainer = Trainer(dataset, TrainConfig(iterations=10**6, init_points=30000, densify_from=10**7))
for _ in range(2):
    trainer.step()
times, cpu = [], []
for _ in range(repeat):
    t, c = time.perf_counter(), time.process_time()
    trainer.step()
    times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
out["train_step_s"] = statistics.median(times)
out["train_step_cpu_s"] = statistics.median(cpu)
print(json.dumps(out))
"""


def run_child(src: Path, cache: Path, repeat: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(cache), OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run([sys.executable, "-c", CHILD, str(SHARED), str(repeat)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the commit to compare with (any git revision)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    bench = BenchResults("bench_ab", args, argv)
    with bench.tables():
        _run(args, bench)
    bench.emit()
    return 0


def _run(args, bench: BenchResults) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        trees = {"base": (base / "src", Path(tmp) / "cache-base"),
                 "this": (ROOT / "src", Path(tmp) / "cache-this")}
        for src, cache in trees.values():  # JIT compile and cache outside the timed rounds
            run_child(src, cache, 1)
        results = {name: [] for name in trees}
        for r in range(args.rounds):
            for name, (src, cache) in trees.items():
                results[name].append(run_child(src, cache, args.repeat))
                print(f"round {r + 1} {name}: {results[name][-1]}", flush=True)
    print(f"base {args.base} vs this checkout, median over {args.rounds} rounds of medians of {args.repeat}:")
    metrics = {}
    for key in results["this"][0]:
        b = statistics.median(x[key] for x in results["base"])
        t = statistics.median(x[key] for x in results["this"])
        metrics[key] = {"base_s": b, "this_s": t, "speed": b / t}
        print(f"  {key:<19} base {b:.3f} s  this {t:.3f} s  speed {b / t:.3f}x")
    bench.add(f"base {args.base} vs this", {"metrics": metrics, "rounds": results},
              source="playbot 0_0 render at 800 px and a 30k-Gaussian training step, per tree")


if __name__ == "__main__":
    raise SystemExit(main())
