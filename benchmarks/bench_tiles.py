"""View-dependent streaming: a tiled stream against the untiled one, same scene, same link, same client code.

    python -m benchmarks.bench_tiles [--scene playbot|statues] [--mbps 4] [--tile-gaussians 60000] [--out DIR]
                                     [--json [PATH]]

Encodes the scene's layers twice (untiled, 8 chunks per layer; tiled, --tile-chunks per tile), then runs the real
client (`play_stream`) over the simulated link (`--simulate`'s SimTransport, virtual clock, a constant trace):
1. a fixed camera looking at part of the scene (a zoomed orbit view whose frustum holds <= 1/3 of the top
   layer's Gaussians): the view's PSNR against the source model over time, and the time until it is within 0.5 dB
   of its final value;
2. an orbit camera path (one turn over the untiled session's duration): the PSNR of the current view over time,
   tiled minus untiled at the same times;
3. the bytes of both files (the decoded Gaussians are identical: tiles only regroup them);
and the fixed view once more over real HTTP on loopback (`splatcast serve`'s server in-process, shaped to the same
rate, real clock), unless --no-loopback.
Prints one JSON object (sorted keys) and a readable summary, writes the whole report to DIR/bench_tiles.json;
needs ../shared/data/scenes. ``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene
(``--scene``) holding that report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks._results import BenchResults, add_json_argument
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenes"
SCENES = {
    "playbot": [SHARED / "playbot-lod" / n for n in ("2_0", "1_0", "0_0")],
    "statues": [SHARED / "statues" / "angel.sog"],  # one finished model: layers derived from it
}


def _layers(scene: str):
    from splatcast.scene.formats import read_scene
    from splatcast.train.derive_layers import derive_layers

    paths = SCENES[scene]
    if not all(p.exists() for p in paths):
        raise SystemExit(f"bench_tiles: {paths[0].parent} not present")
    clouds = [read_scene(p) for p in paths]
    return clouds if len(clouds) > 1 else derive_layers(clouds[0], 3)


def _encode(layers, tile_gaussians: int, chunks: int, out: Path, reuse: bool = False, growth: float = 1.0) -> bytes:
    from splatcast.codec import EncoderConfig, encode

    path = out / f"tiles{tile_gaussians}_c{chunks}_g{growth:g}.splc"
    if reuse and path.exists():
        return path.read_bytes()
    t0 = time.perf_counter()
    data = encode(layers, EncoderConfig(chunks=chunks, chunk_growth=growth, tile_gaussians=tile_gaussians))
    path.write_bytes(data)
    print(f"encoded {path.name}: {len(data):,} B in {time.perf_counter() - t0:.1f} s", flush=True)
    return data


def _session(data: bytes, out: Path, name: str, mbps: float, camera_path):
    from splatcast.dash.packager import package
    from splatcast.net.client import play_stream
    from splatcast.net.simulate import SimTransport, VirtualClock
    from splatcast.net.traces import Trace

    src = out / f"{name}.splc"
    src.write_bytes(data)
    site = out / f"site-{name}"
    package(src, site)

    async def run():
        clock = VirtualClock(count_compute=False)  # the link alone: deterministic, same for both files
        return await play_stream(SimTransport(site, Trace((0.0,), (mbps * 1e6,), 1.0), clock), "/manifest.mpd",
                                 clock=clock, pipeline=False, camera_path=camera_path)

    return asyncio.run(run())


def _loopback_session(data: bytes, out: Path, name: str, mbps: float, camera_path):
    """The same session over real HTTP on loopback: `splatcast serve`'s server in this process, shaped to the
    constant rate, the client's real clock (decode time included, pipelined as `play` does)."""
    from splatcast.dash.packager import package
    from splatcast.net.client import CodecAdapter, HttpTransport, play_stream, split_url
    from splatcast.net.server import start_server
    from splatcast.net.traces import Trace

    src = out / f"{name}.splc"
    src.write_bytes(data)
    site = out / f"site-{name}"
    package(src, site)
    CodecAdapter.warm_up("rans")

    async def run():
        server = await start_server(site, trace=Trace((0.0,), (mbps * 1e6,), 1.0))
        origin, path = split_url(server.url + "manifest.mpd")
        transport = HttpTransport(origin)
        try:
            return await play_stream(transport, path, camera_path=camera_path)
        finally:
            await transport.close()
            await server.stop()

    return asyncio.run(run())


def _on_screen(result):
    """Yield (t, cloud on screen) after every piece of a session (one at a time: a 128-tile session has ~800 states
    of up to 500k Gaussians, too many to hold at once)."""
    from splatcast.net.client import replay_shown

    for row, cloud in zip(result.timeline, replay_shown(result.header, result.pieces)):
        yield row["t_s"], cloud


def _shown_at(result, times):
    """Yield (t, cloud on screen at t) for increasing ``times`` (None before the first state)."""
    states = _on_screen(result)
    current, upcoming = None, next(states, None)
    for t in times:
        while upcoming is not None and upcoming[0] <= t:
            current, upcoming = upcoming[1], next(states, None)
        yield t, current


def _view(reference, fraction: float = 1 / 3, size: int = 160):
    """A zoomed orbit camera whose frustum holds the largest share of the reference's Gaussians <= fraction."""
    from splatcast.render.camera import orbit_cameras

    best = None
    for scale in (0.5, 0.35, 0.25, 0.18):
        for cam in orbit_cameras(reference, 8, size, size, distance_scale=scale):
            uv, z = cam.project(reference.means)
            inside = float(((z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < size) & (uv[:, 1] >= 0)
                            & (uv[:, 1] < size)).mean())
            if 0.05 < inside <= fraction and (best is None or inside > best[0]):
                best = (inside, cam)
        if best is not None:
            return best
    raise SystemExit("bench_tiles: no orbit view holds at most a third of the scene")


def _tiles_met(index, cam) -> dict:
    """How many tiles the camera's frustum meets, and their share of the top layer's Gaussians: about the least
    share of the stream a view must wait for when tiles are culled by their boxes."""
    from splatcast.net.viewport import OUT_OF_VIEW, box_visibility, tile_boxes_in_scene

    met = [box_visibility(lo, hi, cam) > OUT_OF_VIEW for lo, hi in tile_boxes_in_scene(index)]
    top = [index.tile_view(t).layers[-1].gaussians for t in range(index.tile_count)]
    return {"tiles": int(sum(met)), "gaussian_share": sum(g for g, m in zip(top, met) if m) / max(sum(top), 1)}


def _psnr(reference_image, cloud, cam) -> float:
    from splatcast.render.metrics import psnr
    from splatcast.render.rasterize import render

    if len(cloud) == 0:
        return 0.0
    return float(psnr(reference_image, render(cloud, cam)))


def _time_to_within(curve, db: float = 0.5):
    final = curve[-1][1]
    for t, v in curve:
        if v >= final - db:
            return t, final
    return None, final


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", choices=sorted(SCENES), default="playbot")
    ap.add_argument("--mbps", type=float, default=4.0)
    ap.add_argument("--tile-gaussians", type=int, default=60000)
    ap.add_argument("--tile-chunks", type=int, default=4, help="chunks per tile and layer (untiled: 8 per layer)")
    ap.add_argument("--tile-growth", type=float, default=1.0, help="chunk growth inside a tile (encode --chunk-growth)")
    ap.add_argument("--out", default="/tmp/bench_tiles")
    ap.add_argument("--samples", type=int, default=30, help="times at which the orbit run is rendered")
    ap.add_argument("--reuse", action="store_true", help="reuse the encoded files of an earlier run in --out")
    ap.add_argument("--no-loopback", dest="loopback", action="store_false",
                    help="skip the fixed view over real HTTP on loopback (real time: as long as the stream takes)")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    bench = BenchResults("bench_tiles", args, argv)
    with bench.tables():
        _run(args, bench)
    bench.emit()
    return 0


def _run(args, bench: BenchResults) -> None:
    from splatcast.codec import read_index
    from splatcast.net.viewport import CameraPath
    from splatcast.render.camera import guess_up_axis, parse_up
    from splatcast.render.rasterize import render

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    layers = _layers(args.scene)
    source = layers[-1]
    plain = _encode(layers, 0, 8, out, args.reuse)
    tiled = _encode(layers, args.tile_gaussians, args.tile_chunks, out, args.reuse, args.tile_growth)
    report = {"scene": args.scene, "mbps": args.mbps, "bytes_untiled": len(plain), "bytes_tiled": len(tiled),
              "tiles": read_index(tiled).tile_count, "byte_ratio": len(tiled) / len(plain)}

    # 1. a fixed view of part of the scene
    share, cam = _view(source)
    ref = render(source, cam)
    met = _tiles_met(read_index(tiled), cam)
    report["tiles_met"] = met
    print(f"the fixed view's frustum meets {met['tiles']} of {report['tiles']} tiles, holding "
          f"{met['gaussian_share']:.0%} of the top layer's Gaussians ({share:.0%} are in view)", flush=True)
    fixed = {}
    for name, data in (("untiled", plain), ("tiled", tiled)):
        result = _session(data, out, name, args.mbps, CameraPath.fixed(cam))
        curve = [(t, _psnr(ref, cloud, cam)) for t, cloud in _on_screen(result)]
        t_within, final = _time_to_within(curve)
        fixed[name] = {"time_within_0.5dB_s": t_within, "final_psnr_db": final, "time_to_full_s": result.time_to_full_s,
                       "curve": [(round(t, 3), round(v, 2)) for t, v in curve]}
        print(f"fixed view ({share:.0%} of the Gaussians in view), {name}: within 0.5 dB of {final:.2f} dB after "
              f"{t_within:.2f} s (all {result.time_to_full_s:.2f} s)", flush=True)
    ratio = fixed["tiled"]["time_within_0.5dB_s"] / fixed["untiled"]["time_within_0.5dB_s"]
    report["fixed_view"] = fixed | {"share_in_view": share, "ratio": ratio}
    if args.loopback:
        loop = {}
        for name, data in (("untiled", plain), ("tiled", tiled)):
            result = _loopback_session(data, out, f"{name}-loopback", args.mbps, CameraPath.fixed(cam))
            curve = [(t, _psnr(ref, cloud, cam)) for t, cloud in _on_screen(result)]
            t_within, final = _time_to_within(curve)
            loop[name] = {"time_within_0.5dB_s": t_within, "final_psnr_db": final,
                          "time_to_full_s": result.time_to_full_s}
            print(f"fixed view over loopback HTTP, {name}: within 0.5 dB of {final:.2f} dB after {t_within:.2f} s "
                  f"(all {result.time_to_full_s:.2f} s)", flush=True)
        loop["ratio"] = loop["tiled"]["time_within_0.5dB_s"] / loop["untiled"]["time_within_0.5dB_s"]
        report["fixed_view_loopback"] = loop

    # 2. an orbit: one turn over the untiled session's duration
    period = fixed["untiled"]["time_to_full_s"]
    lo, hi = source.robust_bounds()
    path = CameraPath.orbit(lo, hi, period, steps=24, width=128, height=128, up=parse_up(guess_up_axis(source)))
    sessions = {name: _session(data, out, f"{name}-orbit", args.mbps, path)
                for name, data in (("untiled", plain), ("tiled", tiled))}
    end = max(r.timeline[-1]["t_s"] for r in sessions.values())  # both sessions complete at the last sample
    times = np.linspace(0.0, end, args.samples)
    refs = {}
    rows = [{"t_s": round(float(t), 3)} for t in times]
    for name, result in sessions.items():
        for row, (t, shown) in zip(rows, _shown_at(result, times)):
            cam_t = path.at(t)
            if id(cam_t) not in refs:
                refs[id(cam_t)] = render(source, cam_t)
            row[name] = _psnr(refs[id(cam_t)], shown, cam_t) if shown is not None else 0.0
    diffs = [r["tiled"] - r["untiled"] for r in rows if r["untiled"] > 0 or r["tiled"] > 0]
    report["orbit"] = {"rows": rows, "min_diff_db": min(diffs), "mean_diff_db": float(np.mean(diffs)),
                       "mean_untiled_db": float(np.mean([r["untiled"] for r in rows])),
                       "mean_tiled_db": float(np.mean([r["tiled"] for r in rows]))}
    print(f"orbit: tiled - untiled PSNR of the current view, min {min(diffs):+.2f} dB, mean {np.mean(diffs):+.2f} dB "
          f"over {len(diffs)} times", flush=True)
    print(f"bytes: tiled {len(tiled):,} / untiled {len(plain):,} = {len(tiled) / len(plain):.4f} "
          f"({report['tiles']} tiles)")
    print(f"fixed view: time to within 0.5 dB, tiled / untiled = {report['fixed_view']['ratio']:.3f} (simulated)"
          + (f", {report['fixed_view_loopback']['ratio']:.3f} (loopback HTTP)" if args.loopback else ""))
    (out / "bench_tiles.json").write_text(json.dumps(report, sort_keys=True, default=_json))
    print(json.dumps({k: v for k, v in report.items() if k not in ("orbit", "fixed_view")}, sort_keys=True))
    bench.add(args.scene, json.loads(json.dumps(report, default=_json)),
              source=" -> ".join(p.name for p in SCENES[args.scene]), plots=[])


def _json(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return float(v)


if __name__ == "__main__":
    raise SystemExit(main())
