"""Progressive order benchmark: fidelity of 10 % .. 90 % prefixes of a model in each order of codec/ordering.py.

Run: ``python -m benchmarks.bench_order [FILES...] [--views 8] [--size 192] [--json [PATH]]``

Default files: the demo's top layer (``demo-out/layer2_*.ply`` after ``make demo``), every statue, playbot 0_0,
biker and guitar from ../shared. Each prefix (the first k Gaussians of the order, kept in input order) is rendered
over an orbit of ``--views`` views at ``--size`` px fitted to the whole model and compared with the whole model
(fidelity PSNR). The measured orders' own views (two rings of 7 and 5, codec/ordering.py) are not these views.
Printed: the curve of each order, and the default order (peel) minus the best other order at every prefix (goal:
>= 0 everywhere).
``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene per file with gaussians, curves
(dB per order at each of ``fractions``), order_s, default_order and default_minus_best_other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._results import BenchResults, add_json_argument

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenes"
DEMO = Path(__file__).resolve().parents[1] / "demo-out"
FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def default_files() -> list[Path]:
    files = sorted(DEMO.glob("layer2_*.ply"))[-1:]
    files += sorted((SHARED / "statues").glob("*.sog"))
    files += [p for p in (SHARED / "playbot-lod" / "0_0", SHARED / "biker" / "biker.spz",
                          SHARED / "guitar" / "guitar.compressed.ply") if p.exists()]
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=192)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_order", args, argv)
    with results.tables():
        ok = _run(args, results)
    results.emit()
    return 0 if ok else 1


def _run(args, results: BenchResults) -> bool:
    from splatcast.codec.ordering import DEFAULT_ORDER, ORDERS, progressive_order
    from splatcast.render.metrics import Fidelity
    from splatcast.scene.formats import read_scene

    rows = []
    for path in [Path(f) for f in args.files] or default_files():
        results.start_scene()
        cloud = read_scene(path)
        fidelity = Fidelity(cloud, args.views, args.size)
        curves, seconds = {}, {}
        for name in ORDERS:
            t0 = time.perf_counter()
            order = progressive_order(cloud, name)
            seconds[name] = round(time.perf_counter() - t0, 2)
            curves[name] = [round(fidelity.psnr(cloud[np.sort(order[: max(1, int(f * len(cloud)))])]), 2)
                            for f in FRACTIONS]
        best_other = [max(curves[o][i] for o in ORDERS if o != DEFAULT_ORDER) for i in range(len(FRACTIONS))]
        margin = [round(b - o, 2) for b, o in zip(curves[DEFAULT_ORDER], best_other)]
        rows.append({"scene": path.name, "gaussians": len(cloud), "curves": curves, "order_s": seconds,
                     "default_minus_best_other": margin})
        results.add(path.name, {"gaussians": len(cloud), "fractions": FRACTIONS, "curves": curves,
                                "order_s": seconds, "default_order": DEFAULT_ORDER,
                                "default_minus_best_other": margin}, source=str(path))
        print(f"{path.name} ({len(cloud)} Gaussians), fidelity dB at " + ", ".join(f"{f:.0%}" for f in FRACTIONS))
        for name in ORDERS:
            print(f"  {name:10} {curves[name]}  ({seconds[name]} s)")
        print(f"  {DEFAULT_ORDER} (the default) - best other: {margin}", flush=True)
    ok = all(m >= 0 for r in rows for m in r["default_minus_best_other"])
    print(f"{DEFAULT_ORDER} >= every other order at every prefix on every scene: {ok}", file=sys.stderr)
    return ok


if __name__ == "__main__":
    sys.exit(main())
