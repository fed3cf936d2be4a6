"""Entropy back-ends on real streams: file size and entropy-decoding time of rans / zstd against lzma, in one run.

Run: ``python -m benchmarks.bench_backends [--backends lzma rans zstd] [--repeats 3] [--json [PATH]]``

Streams: playbot 2_0 -> 1_0 -> 0_0 (three real levels of detail), and every statue, biker and guitar from ../shared
as three nested importance prefixes (25 %, 50 %, 100 %), scalable + VQ at the default quality, no fidelity
measurement (it does not change the streams' sizes). Decoding time is the decoder's calls into the back-end only
(the part the paper's Table I reports), median of --repeats whole-file decodes, per 1000 Gaussians of the file.
Printed per stream and back-end: bytes, size / lzma's, entropy ms/kG, lzma's time / this one's (issue 11's goal:
rans no larger than lzma and >= 5x as fast). ``--json``: the splatcast-bench/1 document (benchmarks/_results.py),
one scene per stream holding ``gaussians``, ``layers`` and ``backends`` ({back-end: bytes, size_vs_lzma,
entropy_ms_per_kgaussian, speedup_vs_lzma}).
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks._results import BenchResults, add_json_argument

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenes"


@contextmanager
def entropy_clock():
    """Times every call the decoder makes into an entropy back-end; yields a one-element list of seconds."""
    from splatcast.codec import decoder as decoder_module

    clock = [0.0]
    plain = decoder_module.decode_stream

    def timed(*a, **kw):
        t = time.perf_counter()
        try:
            return plain(*a, **kw)
        finally:
            clock[0] += time.perf_counter() - t

    decoder_module.decode_stream = timed
    try:
        yield clock
    finally:
        decoder_module.decode_stream = plain


def streams() -> list[tuple[str, list]]:
    from splatcast.scene.formats import read_scene

    out = []
    playbot = SHARED / "playbot-lod"
    if playbot.exists():
        out.append(("playbot 2_0>1_0>0_0", [read_scene(playbot / n) for n in ("2_0", "1_0", "0_0")]))
    files = sorted((SHARED / "statues").glob("*.sog")) + [SHARED / "biker" / "biker.spz"]
    files += [SHARED / "guitar" / "guitar.compressed.ply"]
    for f in files:
        if not f.exists():
            continue
        cloud = read_scene(f)
        order = cloud.importance_order()
        out.append((f.name, [cloud[np.sort(order[: int(round(x * len(cloud)))])] for x in (0.25, 0.5, 1.0)]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["lzma", "rans", "irans", "zstd"])
    ap.add_argument("--repeats", type=int, default=3)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_backends", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.codec.decoder import decode_progressive, warm_up

    todo = streams()
    if not todo:
        print(f"skip: no scenes under {SHARED}")
        results.skip("shared scenes", f"no scenes under {SHARED}")
        return
    warm_up()
    backends = ["lzma"] + [b for b in args.backends if b != "lzma"]  # lzma is the baseline of every ratio
    rows = []
    for name, layers in todo:
        results.start_scene()
        total_g = sum(len(c) for c in layers)
        base = None
        for be in backends:
            data = encode(layers, EncoderConfig(entropy=be, fidelity=False))
            times = []
            with entropy_clock() as clock:
                for _ in range(args.repeats):
                    clock[0] = 0.0
                    decode_progressive(data)
                    times.append(clock[0])
            ms = statistics.median(times) / total_g * 1e6
            base = base or (len(data), ms)
            row = {"stream": name, "gaussians": total_g, "backend": be, "bytes": len(data),
                   "size_vs_lzma": round(len(data) / base[0], 4), "entropy_ms_per_kgaussian": round(ms, 4),
                   "speedup_vs_lzma": round(base[1] / ms, 2)}
            rows.append(row)
            print(f"{name:28s} {be:5s} {len(data):>10,d} B  size/lzma {row['size_vs_lzma']:.3f}  "
                  f"entropy {ms:.3f} ms/kG  x{row['speedup_vs_lzma']:.2f} lzma's speed", flush=True)
        mine = {r["backend"]: {k: r[k] for k in ("bytes", "size_vs_lzma", "entropy_ms_per_kgaussian",
                                                  "speedup_vs_lzma")} for r in rows if r["stream"] == name}
        results.add(name, {"gaussians": total_g, "layers": [len(c) for c in layers], "backends": mine},
                    source="3 layers, scalable + VQ, default quality")
    for be in backends[1:]:
        mine = [r for r in rows if r["backend"] == be]
        sizes = [r["size_vs_lzma"] for r in mine]
        print(f"# {be}: size/lzma {min(sizes):.3f}..{max(sizes):.3f}"
              f", speed x{min(r['speedup_vs_lzma'] for r in mine):.2f}..x{max(r['speedup_vs_lzma'] for r in mine):.2f}"
              f" over {len(mine)} streams")


if __name__ == "__main__":
    raise SystemExit(main())
