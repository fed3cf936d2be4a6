"""Neighbour search (splatcast.codec.knn) on the geometries that used to be slow, against a brute-force sample.

    python -m benchmarks.bench_knn [--n 1000000]

Prints seconds per case (index build + query of every point, k = 8), each checked exactly on a sample of rows:
all points at one position, a dense cluster plus two far outliers (floaters), a uniform volume.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

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
    args = ap.parse_args(argv)
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
        print(json.dumps({"case": name, **_case(points, rng)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
