"""Python decode speed of the playbot 3-layer stream, stage by stage (issue 11's goal: <= 1.0 ms per 1000 Gaussians).

    python -m benchmarks.bench_decode [--entropy irans] [--repeats 5] [--scene playbot|small] [--file F.splc]
        [--json [PATH]]

Encodes playbot-lod 2_0 -> 1_0 -> 0_0 (125k -> 250k -> 500k, SH degree 2) once, or reads ``--file``, then times
``decode_progressive`` (numba warm) ``--repeats`` times and prints the median total and per stage: entropy (every
decode_stream call), neighbour index build, neighbour queries, prediction, and the rest (stream layout, range
checks, bookkeeping), each in seconds and ms per 1000 Gaussians of the file (all layers). In the same run, the
baseline of issue 11: splatcast's own SPZ reader (``read_scene``) on the decoded top layer written as SPZ v4, timed
the same way (median of --repeats; ms per 1000 Gaussians of that layer). Needs
../shared/data/scenes/playbot-lod/ unless ``--file`` is given. ``--json``: the splatcast-bench/1 document
(benchmarks/_results.py), one scene holding the printed fields.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument
from benchmarks.bench_codec import DATA, SCENES, load_layers

STAGES = ("entropy", "knn_index", "knn_query", "predict")


@contextlib.contextmanager
def stage_clocks():
    """Times the decoder's calls into each stage; yields {stage: seconds} (reset it between runs)."""
    from splatcast.codec import decoder as dm

    clocks = dict.fromkeys(STAGES, 0.0)

    def timed(stage, fn):
        def run(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                clocks[stage] += time.perf_counter() - t
        return run

    plain = (dm.decode_stream, dm.predict_with_modes, dm.NeighbourIndex.__init__, dm.NeighbourIndex.query)
    dm.decode_stream = timed("entropy", plain[0])
    dm.predict_with_modes = timed("predict", plain[1])
    dm.NeighbourIndex.__init__ = timed("knn_index", plain[2])
    dm.NeighbourIndex.query = timed("knn_query", plain[3])
    try:
        yield clocks
    finally:
        dm.decode_stream, dm.predict_with_modes, dm.NeighbourIndex.__init__, dm.NeighbourIndex.query = plain


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entropy", default="irans")
    ap.add_argument("--scene", default="playbot", choices=["playbot", "small"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--file", default=None, help="decode this .splc instead of encoding the scene")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_decode", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.codec.decoder import decode_progressive, warm_up

    if args.file:
        data, source = Path(args.file).read_bytes(), args.file
    else:
        source = "playbot-lod " + " -> ".join(SCENES[args.scene])
        if not DATA.exists():
            print(f"skipped: {DATA} not found")
            results.skip(args.scene, f"{DATA} not found", source=source)
            return
        t0 = time.perf_counter()
        data = encode(load_layers(args.scene), EncoderConfig(entropy=args.entropy, fidelity=False))
        print(f"# encoded {len(data)} bytes in {time.perf_counter() - t0:.1f} s")
    warm_up()
    dec = decode_progressive(data)  # untimed: loads every kernel specialisation
    gaussians = sum(li.gaussians for li in dec.index.layers)
    totals, stages = [], {s: [] for s in STAGES}
    with stage_clocks() as clocks:
        for _ in range(args.repeats):
            for s in STAGES:
                clocks[s] = 0.0
            t0 = time.perf_counter()
            decode_progressive(data)
            totals.append(time.perf_counter() - t0)
            for s in STAGES:
                stages[s].append(clocks[s])
    spz_s = _spz_read_seconds(dec.cloud(), args.repeats)
    total = statistics.median(totals)
    row = {s: statistics.median(v) for s, v in stages.items()}
    row["other"] = max(total - sum(row.values()), 0.0)
    row["total"] = total

    def per_k(sec: float) -> float:
        return sec / gaussians * 1e6

    print(f"# {gaussians} Gaussians in {len(dec.index.layers)} layers, {len(data)} bytes, median of {args.repeats}")
    print(f"{'stage':<10} {'seconds':>8} {'ms/kG':>7}")
    for name, sec in row.items():
        print(f"{name:<10} {sec:8.3f} {per_k(sec):7.3f}")
    top = dec.index.layers[-1].gaussians
    print(f"# baseline: read_scene of the top layer ({top} Gaussians) as SPZ v4: {spz_s:.3f} s, "
          f"{spz_s / top * 1e6:.3f} ms/kG of that layer; full decode / SPZ read = {total / spz_s:.2f}")
    fields = {"gaussians": gaussians, "bytes": len(data), "repeats": args.repeats,
              "seconds": {k: round(v, 4) for k, v in row.items()},
              "ms_per_kgaussian": {k: round(per_k(v), 4) for k, v in row.items()},
              "totals_s": [round(t, 4) for t in totals],
              "spz_read_top_layer_s": round(spz_s, 4), "spz_read_ms_per_kgaussian": round(spz_s / top * 1e6, 4),
              "decode_over_spz_read": round(total / spz_s, 3)}
    results.add(args.scene if not args.file else Path(args.file).name, fields, source=source)


def _spz_read_seconds(cloud, repeats: int) -> float:
    """Median seconds of splatcast's SPZ reader on ``cloud`` written as SPZ v4 (the format people ship)."""
    import tempfile

    from splatcast.scene.formats import read_scene, write_scene

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "top.spz"
        write_scene(cloud, path)
        read_scene(path)  # warm
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            read_scene(path)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    raise SystemExit(main())
