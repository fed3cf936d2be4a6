"""`splatcast play URL`: stream a packaged scene adaptively, log the timeline, optionally compare with baselines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

HELP = "stream a scene from `splatcast serve` (or --simulate a link): timeline, time to first render, fidelity"


def add_arguments(parser) -> None:
    parser.add_argument(
        "url", help="http://host:port/manifest.mpd (with --simulate: a local manifest.mpd or its directory)"
    )
    parser.add_argument("--transport", choices=("http", "webrtc"), default="http", help="delivery (default http)")
    parser.add_argument(
        "--trace", default=None, metavar="FILE_OR_PAIRS",
        help="receiver-side shaping along a Pensieve trace file, or inline 'TIME MBPS' pairs: '0 10' = a constant "
             "10 Mbit/s, '0 10 5 2' = 10 Mbit/s then 2 from t = 5 s"
    )
    parser.add_argument("--trace-scale", type=float, default=1.0, help="multiply the trace's rates (default 1)")
    parser.add_argument("--abr", default="fidelity",
                        help="adaptation policy per layer: fidelity (default: the pass the index says looks better "
                             "sooner), throughput, full, dc-first")
    parser.add_argument("--show-every-state", action="store_true",
                        help="show every decoded state, also those the index records as worse than the one on "
                             "screen (default: monotone display, docs/streaming.md)")
    parser.add_argument("--simulate", action="store_true", help="no sockets: simulate the link from the trace")
    parser.add_argument("--latency", type=float, default=0.0, help="--simulate: seconds of latency per request")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="PATH",
        help="also time downloading this file whole (relative to the MPD) then decoding it; repeatable",
    )
    parser.add_argument(
        "--camera-path", default=None, metavar="FILE|orbit:SECONDS[:UP]",
        help="tiled streams: the viewer's cameras over time, fetched for in view order: a JSON keyframe file "
             "(docs/streaming.md) or 'orbit:20' (one turn around the scene's box in 20 s; up -y, or e.g. "
             "orbit:20:+z); default: the file's order")
    parser.add_argument("--max-layer", type=int, default=None, help="stop after this layer")
    parser.add_argument("--no-psnr", action="store_true", help="skip the fidelity PSNR of the logged states")
    parser.add_argument("--psnr-views", type=int, default=4, help="views for fidelity PSNR (default 4)")
    parser.add_argument("--psnr-size", type=int, default=128, help="render size for fidelity PSNR (default 128)")
    parser.add_argument("--save", default=None, help="write the final model to this scene file (.ply, .spz, .splat)")
    parser.add_argument("--json", action="store_true", help="print the session as JSON (sorted keys) on stdout")
    parser.add_argument("--json-out", default=None, metavar="FILE", help="also write the JSON session to FILE")


def _local_target(url: str) -> tuple[Path, str]:
    p = Path(url)
    if p.is_dir():
        return p, "/manifest.mpd"
    if p.is_file():
        return p.parent, "/" + p.name
    raise FileNotFoundError(2, "No such file or directory", url)


async def _session(args, trace, abr):
    from splatcast.net.client import decode_any, fetch_baseline, media_path, play_stream, split_url

    if args.simulate:
        from splatcast.net.simulate import SimTransport, VirtualClock

        root, mpd_path = _local_target(args.url)

        def new():
            return SimTransport(root, trace, VirtualClock(), latency_s=args.latency)
    else:
        from splatcast.net.client import HttpTransport

        origin, mpd_path = split_url(args.url)
        if args.transport == "webrtc":
            from splatcast.net.webrtc import WebRTCTransport

            def new():
                return WebRTCTransport(origin, trace)
        else:

            def new():
                return HttpTransport(origin, trace)

    transport = new()  # with its own clock (a simulated link starts at 0)
    connect_s = await transport.connect()  # WebRTC: ICE + DTLS + SCTP set-up, timed apart (a session set-up cost)
    try:
        result = await play_stream(
            transport, mpd_path, abr=abr, max_layer=args.max_layer, pipeline=not args.simulate,
            monotone=not args.show_every_state, camera_path=_camera_path(args.camera_path),
        )
    finally:
        await transport.close()
    result.connect_s = connect_s
    baselines = {}
    for rel in args.baseline:
        path = media_path(mpd_path, rel)
        bt = new()
        await bt.connect()
        try:
            baselines[rel] = await fetch_baseline(bt, path, decode_any)
        finally:
            await bt.close()
    return result, baselines


def _camera_path(text: str | None):
    """None, a CameraPath from a JSON file, or (orbit:SECONDS) a function of the stream's index that makes one."""
    from splatcast.errors import SplatcastError
    from splatcast.net.viewport import CameraPath

    if text is None:
        return None
    if text.startswith("orbit:"):
        from splatcast.render.camera import parse_up

        seconds, _, up = text.removeprefix("orbit:").partition(":")
        try:
            period = float(seconds)
            up_axis = parse_up(up or "-y")
        except (ValueError, SplatcastError):
            period = float("nan")
        if not 0 < period < 1e6:
            raise SplatcastError(f"--camera-path {text!r}: expected orbit:SECONDS[:UP] with SECONDS > 0, UP e.g. +z")
        return lambda index: CameraPath.orbit(index.grid_min, index.grid_max, period, up=up_axis)
    return CameraPath.load(text)


def run(args) -> int:
    from splatcast.errors import SplatcastError
    from splatcast.net.abr import make_abr
    from splatcast.net.client import add_fidelity
    from splatcast.net.traces import trace_argument

    abr = make_abr(args.abr)
    trace = trace_argument(args.trace, args.trace_scale) if args.trace else None
    if args.simulate and trace is None:
        raise SplatcastError("--simulate needs --trace (a file with the line '0 10' is a constant 10 Mbit/s)")
    from splatcast.net.client import CodecAdapter

    CodecAdapter.warm_up()  # untimed: JIT/cache loading is start-up cost, not streaming latency
    result, baselines = asyncio.run(_session(args, trace, abr))
    if not args.no_psnr and result.final_cloud is not None:
        add_fidelity(result, n_views=args.psnr_views, size=args.psnr_size)
    out = result.to_json()
    out["transport"] = "simulated" if args.simulate else args.transport
    out["trace"] = args.trace
    out["trace_scale"] = args.trace_scale
    out["baselines"] = baselines
    if baselines and result.time_to_first_render_s:
        for b in baselines.values():
            b["first_render_speedup"] = b["time_to_render_s"] / result.time_to_first_render_s
            if result.time_to_full_s:
                b["full_time_ratio"] = result.time_to_full_s / b["time_to_render_s"]
    if args.save:
        from splatcast.scene.formats import write_scene

        write_scene(result.final_cloud, args.save)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, sort_keys=True, indent=1) + "\n")
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        def sec(t):
            return "-" if t is None else f"{t:.3f}"

        print(
            f"first render {sec(result.time_to_first_render_s)} s, full {sec(result.time_to_full_s)} s, layers "
            + ", ".join(f"{t:.3f}" for t in result.layer_times_s if t is not None)
            + f" s; {result.bytes_received}/{result.stream_bytes} bytes in {result.requests} requests",
        )
        for name, b in baselines.items():
            print(f"baseline {name}: {b['bytes']} bytes, rendered at {b['time_to_render_s']:.3f} s "
                  f"({b.get('first_render_speedup', 0):.1f}x later than first render)")
    return 0
