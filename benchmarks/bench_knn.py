"""Neighbour search (splatcast.codec.knn) on the geometries that used to be slow, against a brute-force sample.

    python -m benchmarks.bench_knn [--n 1000000] [--json [PATH]]

Prints seconds per case (index build + query of every point, k = 8), each checked exactly on a sample of rows:
all points at one position, a dense cluster plus two far outliers (floaters), a uniform volume. ``--json``: the
splatcast-bench/1 document (benchmarks/_results.py), one scene per case with the printed fields.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks._results import BenchResults, add_json_argument
from splatcast.codec.knn import NeighbourIndex, knn_reference


def _case(points: np.ndarray, rng) -> dict:
    t0 = time.perf_counter()
    nbr = NeighbourIndex(points).query(points, 8)
    seconds = time.perf_counter() - t0
    sample = np.concatenate([rng.integers(0, len(points), 100), [len(points) - 1]])
    exact = bool(np.array_equal(nbr[sample], knn_reference(points, points[sample], 8)))
    return {"points": len(points), "seconds": round(seconds, 3), "exact_on_sample": exact}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_knn", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    rng = np.random.default_rng(0)
    NeighbourIndex(np.zeros((2, 3), np.int32)).query(np.zeros((2, 3), np.int32), 2)  # load the compiled kernels
    n = args.n
    cluster = rng.integers(0, max(2, round((n / 0.125) ** (1 / 3))), (n, 3))
    cases = {
        "co-located": np.zeros((n, 3), np.int32),
        "cluster+2 outliers": np.concatenate([cluster, [[(1 << 21) - 1] * 3, [0, (1 << 21) - 1, 5]]]).astype(np.int32),
        "uniform volume": rng.integers(0, 1 << 14, (n, 3)).astype(np.int32),
    }
    for name, points in cases.items():
        results.start_scene()
        row = _case(points, rng)
        print(json.dumps({"case": name, **row}))
        results.add(name, row, source=f"{len(points)} synthetic integer points: {name}")


if __name__ == "__main__":
    raise SystemExit(main())
