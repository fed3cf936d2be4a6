"""Monotone display benchmark: does the fidelity of what a student sees ever drop while a scene streams?

Run: ``python -m benchmarks.bench_monotone [--scenes playbot,statues,demo] [--real] [--json [PATH]]``

Streams (scalable, zstd, 8 chunks, the encoder's defaults: fidelity table, display_from and joint layers from the
measurement): playbot 2_0 -> 1_0 -> 0_0 (../shared), each statue as nested layers from one model (`splatcast
layers`: 25 / 50 / 100 %), and the demo's training checkpoints (``demo-out/layer*_iteration*.ply`` from
``make demo``, when present). Links: three Pensieve traces scaled to a mean of 1, 2.5 and 4 Mbit/s.

For each stream and link, ``play --simulate`` (the client's own code over a virtual link) runs twice: with the
monotone display rule (the default) and with ``--show-every-state``. Printed per run: the largest drop of the
on-screen fidelity between consecutive steps (``add_fidelity``: 4 views, 128 px, each state re-rendered against the
final model), the number of held states, and time to full quality. ``--real`` adds the real client over loopback
HTTP with server-side shaping on the first link for the smaller streams. Also printed: the encoder's fidelity
measurement time per stream. ``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene per
stream holding the stream's facts and its ``runs`` (one per link, client and rule: the table's columns).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO = Path(__file__).resolve().parents[1] / "demo-out"
TRACES = [("fcc_train/trace_10322_http---edition.cnn.com", 1.0), ("fcc_train/trace_13092_http---www.amazon.com", 2.5),
          ("norway_train", 4.0)]


def _traces():
    from splatcast.net.traces import load_trace

    base = SHARED / "traces" / "pensieve"
    out = []
    for rel, mbps in TRACES:
        path = base / rel
        if path.is_dir():
            path = sorted(path.iterdir())[0]
        raw = load_trace(path)
        out.append((path.name, mbps, load_trace(path, scale=mbps * 1e6 / raw.mean_bps)))
    return out


def _streams(names: list[str]):
    from splatcast.scene.formats import read_scene
    from splatcast.train.derive_layers import derive_layers

    if "playbot" in names and (SHARED / "scenes" / "playbot-lod").is_dir():
        root = SHARED / "scenes" / "playbot-lod"
        yield "playbot 2_0>1_0>0_0", [read_scene(root / lod) for lod in ("2_0", "1_0", "0_0")]
    if "statues" in names and (SHARED / "scenes" / "statues").is_dir():
        for path in sorted((SHARED / "scenes" / "statues").glob("*.sog")):
            yield f"{path.stem} nested", derive_layers(read_scene(path), 3, fractions=[0.25, 0.5, 1.0])
    if "demo" in names:
        plys = sorted(DEMO.glob("layer*_iteration*.ply"), key=lambda p: int(p.name.split("_")[0][5:]))
        if plys:
            yield "demo checkpoints", [read_scene(p) for p in plys]


def _play(root: Path, trace, monotone: bool, real: bool):
    from splatcast.net.client import HttpTransport, add_fidelity, play_stream, split_url
    from splatcast.net.server import start_server
    from splatcast.net.simulate import SimTransport, VirtualClock

    async def simulated():
        clock = VirtualClock()
        return await play_stream(SimTransport(root, trace, clock), "/manifest.mpd", clock=clock, pipeline=False,
                                 monotone=monotone)

    async def over_http():
        server = await start_server(root, trace=trace)
        origin, path = split_url(server.url)
        transport = HttpTransport(origin)
        try:
            return await play_stream(transport, path, monotone=monotone)
        finally:
            await transport.close()
            await server.stop()

    result = asyncio.run(over_http() if real else simulated())
    add_fidelity(result)
    shown = [math.inf if r["psnr_db"] is None else r["psnr_db"] for r in result.timeline]
    drops = [a - b for a, b in zip(shown, shown[1:]) if b < a]
    return {
        "max_drop_db": round(max(drops, default=0.0), 3),
        "drops": len(drops),
        "held": sum(not r.get("shown", True) for r in result.timeline),
        "steps": len(result.timeline),
        "first_render_s": round(result.time_to_first_render_s, 3),
        "full_s": round(result.time_to_full_s, 2),
        "passes": sorted({r["refine"] for r in result.timeline if r["layer"] > 0}),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", default="playbot,statues,demo")
    ap.add_argument("--real", action="store_true", help="also the real client over loopback HTTP (first link)")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    bench = BenchResults("bench_monotone", args, argv)
    with bench.tables():
        ok = _run(args, bench)
    bench.emit()
    return 0 if ok else 1


def _run(args, bench: BenchResults) -> bool:
    from splatcast.codec import EncoderConfig, encode_with_stats
    from splatcast.codec.decoder import warm_up
    from splatcast.dash.packager import package

    warm_up()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, layers in _streams(args.scenes.split(",")):
            bench.start_scene()
            t0 = time.perf_counter()
            data, stats = encode_with_stats(layers, EncoderConfig(entropy="zstd", chunks=8))
            encode_s = time.perf_counter() - t0
            src = Path(tmp) / f"{len(rows)}" / "src" / "scene.splc"
            src.parent.mkdir(parents=True)
            src.write_bytes(data)
            root = src.parent.parent / "pkg"
            package(src, root)
            info = {"stream": name, "gaussians": [len(c) for c in layers], "bytes": len(data),
                    "encode_s": round(encode_s, 1), "fidelity_s": stats[0].get("fidelity_s"),
                    "display_from": [s.get("display_from") for s in stats],
                    "joint": [bool(s.get("joint")) for s in stats]}
            for k, (trace_name, mbps, trace) in enumerate(_traces()):
                for monotone in (True, False):
                    row = dict(info, link=f"{trace_name} @ {mbps} Mbit/s", monotone=monotone, client="simulate")
                    row.update(_play(root, trace, monotone, real=False))
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
                if args.real and k == 0 and len(data) < 8_000_000:
                    row = dict(info, link=f"{trace_name} @ {mbps} Mbit/s", monotone=True, client="http")
                    row.update(_play(root, trace, True, real=True))
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
            runs = [{k: v for k, v in r.items() if k not in info} for r in rows if r["stream"] == name]
            bench.add(name, {**{k: v for k, v in info.items() if k != "stream"}, "runs": runs},
                      source=f"{name}: scalable, zstd, 8 chunks")
    if not rows:
        bench.skip(args.scenes, f"no stream found for --scenes {args.scenes} (../shared/data/scenes, demo-out/)")
    print(f"{'stream':24} {'link':44} {'client':8} {'rule':9} {'max drop dB':>11} {'drops':>5} {'held':>4} "
          f"{'first s':>7} {'full s':>7}")
    for r in rows:
        print(f"{r['stream']:24} {r['link']:44} {r['client']:8} {'monotone' if r['monotone'] else 'every':9} "
              f"{r['max_drop_db']:11.3f} {r['drops']:5d} {r['held']:4d} {r['first_render_s']:7.3f} {r['full_s']:7.2f}")
    ok = all(r["max_drop_db"] == 0 for r in rows if r["monotone"])
    print(f"\nmonotone rule: {'no drop in any run' if ok else 'DROPS FOUND'}; encode incl. fidelity measurement: "
          + ", ".join(f"{r['stream']} {r['encode_s']} s ({r['fidelity_s']} s)"
                      for r in {r["stream"]: r for r in rows}.values()))
    return ok


if __name__ == "__main__":
    sys.exit(main())
