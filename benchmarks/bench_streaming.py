"""Streaming benchmark: time to first render and to full quality of the scalable stream vs the non-scalable baseline.

Run: ``python -m benchmarks.bench_streaming [--stream X.splc] [--levels 5_0,4_0,3_0] [--scale 10] [--real N]
[--json [PATH]]``

Stream: ``--stream`` or the PLAYBOT levels of detail ``--levels`` (../shared/data/scenes/playbot-lod, coarse to fine)
encoded as scalable layers (lzma, 8 chunks per layer). Baselines (the non-scalable way: download the whole top
layer, then decode and render): the top layer re-encoded as one single-layer .splc, and as SPZ v4.

Links: a constant 10 Mbit/s and three Pensieve traces (two FCC, one Norway HSDPA) with rates x``--scale``.
Simulated (``simulate_sizes``: chunk sizes over the trace, deterministic) plus decode time measured here (median of
3) added on both sides: first render = network time of MPD + header + first chunk + that chunk's decode; baseline =
network time of the whole file + its full decode. ``--real N`` also runs the real client over loopback HTTP against
an in-process server on the same links (receiver-side shaping), N times each, and quotes medians.
Ratios printed: baseline / first render (goal >= 10) and full / baseline (goal <= 1.1). ``--json``: the
splatcast-bench/1 document (benchmarks/_results.py), one scene (the stream) holding stream_bytes, layers,
chunks_per_layer, baseline_bytes, decode_s, ``simulated`` (one row per link) and real_http_median.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRACES = [
    ("fcc_train", "trace_10322_http---edition.cnn.com"),
    ("fcc_train", "trace_5294_http---www.youtube.com"),
    ("norway_train", None),  # the first Norway trace in sorted order
]


def _median_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build_stream(levels: list[str]) -> bytes:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.scene.formats import read_scene

    root = SHARED / "scenes" / "playbot-lod"
    layers = [read_scene(root / level) for level in levels]
    return encode(layers, EncoderConfig(entropy="lzma", chunks=8))


def build_baselines(stream: bytes, tmp: Path) -> dict[str, bytes]:
    from splatcast.codec import EncoderConfig, decode, encode, read_index
    from splatcast.scene.formats import write_scene

    index = read_index(stream)
    top = decode(stream)
    single = encode([top], EncoderConfig(entropy=index.entropy, quality=index.quality, chunks=1))
    write_scene(top, tmp / "top.spz")
    return {"top.single.splc": single, "top.spz": (tmp / "top.spz").read_bytes()}


def decode_times(stream: bytes, baselines: dict[str, bytes], tmp: Path) -> dict[str, float]:
    from splatcast.codec import ProgressiveDecoder, decode, read_index
    from splatcast.scene.formats import read_scene

    index = read_index(stream)
    c0 = index.layers[0].chunks[0]

    def first_chunk():
        dec = ProgressiveDecoder(stream[: index.header_bytes])
        dec.add_chunk(0, 0, stream[c0.offset : c0.offset + c0.full_bytes])
        dec.cloud()

    (tmp / "b.spz").write_bytes(baselines["top.spz"])
    return {
        "first_chunk": _median_time(first_chunk),
        "top.single.splc": _median_time(lambda: decode(baselines["top.single.splc"])),
        "top.spz": _median_time(lambda: read_scene(tmp / "b.spz")),
    }


def make_links(scale: float) -> list:
    from splatcast.net.traces import Trace, load_trace

    links = [("constant 10 Mbit/s", Trace.constant(10))]
    pensieve = SHARED / "traces" / "pensieve"
    for folder, name in TRACES:
        path = pensieve / folder / name if name else sorted((pensieve / folder).iterdir())[0]
        if path.is_file():
            links.append((f"{folder}/{path.name[:28]} x{scale:g}", load_trace(path, scale)))
    return links


def simulate(stream: bytes, baselines: dict[str, bytes], decode_s: dict[str, float], links) -> list[dict]:
    from splatcast.codec import read_index
    from splatcast.net.abr import make_abr
    from splatcast.net.simulate import simulate_sizes

    index = read_index(stream)
    rows = []
    for label, trace in links:
        sizes = {k: len(v) for k, v in baselines.items()}
        out = simulate_sizes(index, trace, make_abr("throughput"), baseline_bytes=sizes)
        first = out["time_to_first_render_s"] + decode_s["first_chunk"]
        full = out["time_to_full_s"] + decode_s["first_chunk"]  # upper bound of the last chunk's decode
        row = {"link": label, "mean_mbps": trace.mean_bps / 1e6, "first_render_s": first, "full_s": full}
        for name in baselines:
            base = out["baselines"][name]["time_to_render_s"] + decode_s[name]
            row[name] = {"render_s": base, "first_render_speedup": base / first, "full_ratio": full / base}
        rows.append(row)
    return rows


def real_http(stream: bytes, baselines: dict[str, bytes], tmp: Path, repeats: int, links) -> list[dict]:
    from splatcast.dash.packager import package
    from splatcast.net.client import CodecAdapter, HttpTransport, decode_any, fetch_baseline, play_stream, split_url
    from splatcast.net.server import start_server

    (tmp / "scene.splc").write_bytes(stream)
    root = tmp / "pkg"
    package(tmp / "scene.splc", root)
    for name, data in baselines.items():
        (root / name).write_bytes(data)
    CodecAdapter.warm_up("lzma")

    async def once(trace):
        server = await start_server(root)
        origin, path = split_url(server.url)
        try:
            t = HttpTransport(origin, trace=trace)
            result = await play_stream(t, path)
            await t.close()
            out = {"first_render_s": result.time_to_first_render_s, "full_s": result.time_to_full_s}
            for name in baselines:
                bt = HttpTransport(origin, trace=trace)
                b = await fetch_baseline(bt, "/" + name, decode_any)
                await bt.close()
                out[name] = b["time_to_render_s"]
            return out
        finally:
            await server.stop()

    rows = []
    for label, trace in links:
        runs = [asyncio.run(once(trace)) for _ in range(repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        row = {"link": label, "mean_mbps": trace.mean_bps / 1e6}
        row.update(first_render_s=med["first_render_s"], full_s=med["full_s"])
        for name in baselines:
            row[name] = {
                "render_s": med[name],
                "first_render_speedup": med[name] / med["first_render_s"],
                "full_ratio": med["full_s"] / med[name],
            }
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default=None, help=".splc to stream (default: encode --levels)")
    parser.add_argument("--levels", default="5_0,4_0,3_0", help="PLAYBOT LODs, coarse to fine (default 5_0,4_0,3_0)")
    parser.add_argument("--scale", type=float, default=10.0, help="Pensieve rate multiplier (default 10)")
    parser.add_argument("--real", type=int, default=0, metavar="N", help="also N real loopback HTTP runs at 10 Mbit/s")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    bench = BenchResults("bench_streaming", args, argv)
    with bench.tables():
        rc = _run(args, bench)
    bench.emit()
    return rc


def _run(args, bench: BenchResults) -> int:

    if args.stream:
        stream = Path(args.stream).read_bytes()
        source = args.stream
    else:
        if not (SHARED / "scenes" / "playbot-lod").is_dir():
            print("../shared/data/scenes/playbot-lod not present; pass --stream", file=sys.stderr)
            bench.skip(f"playbot {args.levels}", "../shared/data/scenes/playbot-lod not present; pass --stream")
            return 1
        t0 = time.perf_counter()
        stream = build_stream(args.levels.split(","))
        source = f"playbot LODs {args.levels} (encoded in {time.perf_counter() - t0:.1f} s)"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        baselines = build_baselines(stream, tmp)
        decode_s = decode_times(stream, baselines, tmp)
        links = make_links(args.scale)
        rows = simulate(stream, baselines, decode_s, links)
        real = real_http(stream, baselines, tmp, args.real, links) if args.real else None
    from splatcast.codec import read_index

    index = read_index(stream)
    summary = {
        "source": source,
        "stream_bytes": len(stream),
        "layers": [layer.gaussians for layer in index.layers],
        "chunks_per_layer": [len(layer.chunks) for layer in index.layers],
        "baseline_bytes": {k: len(v) for k, v in baselines.items()},
        "decode_s": decode_s,
        "simulated": rows,
        "real_http_median": real,
    }
    bench.add(Path(args.stream).name if args.stream else f"playbot {args.levels}",
              {k: v for k, v in summary.items() if k != "source"}, source=source)
    print(f"stream: {source}: {len(stream)} bytes, layers {summary['layers']} Gaussians, "
          f"chunks {summary['chunks_per_layer']}")
    sizes = summary["baseline_bytes"].items()
    print("baselines: " + ", ".join(f"{k} {v} bytes (decode {decode_s[k] * 1e3:.0f} ms)" for k, v in sizes))
    print(f"scalable first chunk decode {decode_s['first_chunk'] * 1e3:.1f} ms")
    head = f"{'link':44s} {'Mbit/s':>7s} {'first':>7s} {'full':>7s}"
    for name in baselines:
        head += f" | {name + ' s':>17s} {'x sooner':>8s} {'full/base':>9s}"
    tables = [("simulated (sizes over the trace + measured decode time)", rows)]
    if real:
        tables.append((f"real loopback HTTP, client-side shaping, medians of {args.real} runs", real))
    for title, table in tables:
        print(title)
        print(head)
        for r in table:
            line = f"{r['link']:44s} {r['mean_mbps']:7.2f} {r['first_render_s']:7.3f} {r['full_s']:7.3f}"
            for name in baselines:
                b = r[name]
                line += f" | {b['render_s']:17.3f} {b['first_render_speedup']:8.1f} {b['full_ratio']:9.2f}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
