"""Render benchmark: median time of the fast renderer on playbot 0_0 and the speed-up over the reference.

Run: ``python -m benchmarks.bench_render [--repeat N] [--json [PATH]]``.

1. playbot LOD 0_0 (500,000 Gaussians, SH degree 2) from ../shared/data, orbit view 0, at 800x800 and 256x256:
   median wall time of N renders after a warm-up (scene loading and JIT cache loading excluded), with the time of
   each stage (project / sort + bin + composite) and the CPU seconds of all threads per render (a measure of work
   that other processes on the machine disturb less than wall time). Skipped if ../shared or the scene reader is absent.
2. Baseline in the same run: the slow per-pixel reference renderer (``render/reference.py``) on a small random
   scene (200 Gaussians, 64x64), against the fast renderer on the same scene: the ratio reference / fast.

The machine is shared (2 cores): quote medians, expect noise. ``--json``: the splatcast-bench/1 document
(benchmarks/_results.py): scene ``playbot 0_0`` ({size: render_s, cpu_s, project_s, composite_s, visible}) and
``small random`` (fast_s, reference_s, reference_over_fast, max_abs_diff).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numba
import numpy as np

from benchmarks._results import BenchResults, add_json_argument
from splatcast.render.camera import orbit_cameras
from splatcast.render.project import project
from splatcast.render.rasterize import composite, parse_background, render
from splatcast.render.reference import render_reference
from splatcast.scene.cloud import GaussianCloud

PLAYBOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scenes" / "playbot-lod" / "0_0"


def median_time(fn, repeat: int, clock=time.perf_counter) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return statistics.median(times)


def random_scene(n: int, seed: int = 0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    cloud = GaussianCloud.zeros(n, 3)
    cloud.means[:] = rng.normal(0, 1, (n, 3))
    cloud.scales[:] = rng.normal(-2.0, 0.7, (n, 3))
    cloud.quats[:] = rng.normal(size=(n, 4))
    cloud.opacities[:] = rng.normal(0.5, 2.5, n)
    cloud.sh_dc[:] = rng.normal(0, 1, (n, 3))
    cloud.sh_rest[:] = rng.normal(0, 0.4, cloud.sh_rest.shape)
    return cloud


def bench_playbot(repeat: int, results: BenchResults) -> None:
    from splatcast.scene.formats import read_scene

    if not PLAYBOT.is_dir():
        print(f"playbot: skipped ({PLAYBOT} absent)")
        results.skip("playbot 0_0", f"{PLAYBOT} absent")
        return
    t = time.perf_counter()
    cloud = read_scene(PLAYBOT)
    load_s = time.perf_counter() - t
    print(f"playbot 0_0: {len(cloud)} Gaussians, SH degree {cloud.sh_degree}, loaded in {load_s:.2f} s")
    bg = parse_background((0.0, 0.0, 0.0))
    sizes = {}
    for size in (800, 256):
        cam = orbit_cameras(cloud, 8, size, size)[0]
        total = median_time(lambda: render(cloud, cam), repeat)
        cpu = median_time(lambda: render(cloud, cam), repeat, time.process_time)  # all threads; robust to load
        proj = project(cloud, cam)
        t_project = median_time(lambda: project(cloud, cam), repeat)
        t_rest = median_time(lambda: composite(proj, size, size, bg), repeat)
        print(
            f"  {size}x{size}: render {total:.3f} s median of {repeat}, {cpu:.3f} CPU-s "
            f"(project {t_project:.3f} s, sort+bin+composite {t_rest:.3f} s; {int(proj.visible.sum())} visible)"
        )
        sizes[f"{size}x{size}"] = {"render_s": total, "cpu_s": cpu, "project_s": t_project, "composite_s": t_rest,
                                   "visible": int(proj.visible.sum())}
    results.add("playbot 0_0", {"gaussians": len(cloud), "sh_degree": cloud.sh_degree, "load_s": load_s,
                                "repeat": repeat, "sizes": sizes}, source=f"{PLAYBOT}, orbit view 0")


def bench_reference_ratio(repeat: int, results: BenchResults) -> None:
    cloud = random_scene(200)
    cam = orbit_cameras(cloud, 4, 64, 64)[1]
    fast = median_time(lambda: render(cloud, cam), repeat)
    slow = median_time(lambda: render_reference(cloud, cam), max(1, repeat // 2))
    diff = float(np.abs(render(cloud, cam) - render_reference(cloud, cam)).max())
    print(
        f"small scene (200 Gaussians, SH3, 64x64): fast {fast * 1e3:.2f} ms, reference {slow * 1e3:.1f} ms, "
        f"reference/fast = {slow / fast:.0f}x, max |diff| = {diff:.1e}"
    )
    results.add("small random", {"fast_s": fast, "reference_s": slow, "reference_over_fast": slow / fast,
                                 "max_abs_diff": diff}, source="200 random Gaussians, SH3, 64x64, orbit view 1")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed renders per measurement (median)")
    parser.add_argument("--skip-playbot", action="store_true", help="only the small reference-ratio scene")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    results = BenchResults("bench_render", args, argv)
    with results.tables():
        print(f"numba threads: {numba.get_num_threads()}")
        if args.skip_playbot:
            results.skip("playbot 0_0", "--skip-playbot")
        else:
            bench_playbot(args.repeat, results)
        results.start_scene()
        bench_reference_ratio(args.repeat, results)
    results.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
