"""Web player benchmark: page load -> first render and -> full quality in headless Chromium over a shaped link,
against downloading the top level of detail as one SPZ file over the same link.

Run: ``python -m benchmarks.bench_player [--levels 2_0,1_0,0_0] [--mbps 10] [--runs 1] [--work out/bench-player]
[--json [PATH]]``

Stream: the PLAYBOT levels of detail ``--levels`` (../shared/data/scenes/playbot-lod, coarse to fine) encoded as
scalable layers (``--entropy``, default irans: the web player's fastest decoder, as `share` and the demo write them;
8 chunks per layer growing by ``--chunk-growth``, 1.5 as the demo serves them: the first chunk is ~2 % of its
layer), packaged with splatcast.dash, cached in ``--work`` (encoding the finest PLAYBOT levels takes minutes on two
cores). Baseline: the finest level written as SPZ (``write_scene``), the way a non-scalable web viewer would fetch
it.

Link: ``splatcast serve --trace`` with a one-line trace ``0 MBPS`` (a constant rate, server-side token bucket per
TCP connection; the player's own assets are not shaped). Times are the page's ``performance.now()`` (0 =
navigation start; ``stream_start_s`` = the MPD request), so they include starting the page, the decode worker,
Spark's shader compilation (SwiftShader here, a software GPU) and decoding in JavaScript. The SPZ time is its
download alone (fetch of the whole file in the same browser, after the page is up), i.e. a lower bound for the
baseline (it still needs decoding and a first frame).
Needs chromium, PyPI playwright and the built player (make player). ``--json``: the splatcast-bench/1 document
(benchmarks/_results.py), one scene (``playbot LEVELS``) holding the printed numbers, every run and the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CHROMIUM_ARGS = [
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def prepare(levels: list[str], work: Path, growth: float, entropy: str = "irans") -> dict:
    """Encode + package the stream and write the SPZ baseline into work/pkg (cached by levels, growth, entropy
    back-end and the bitstream version the encoder writes)."""
    from splatcast.codec import EncoderConfig, encode
    from splatcast.dash.packager import package
    from splatcast.scene.formats import read_scene, write_scene

    pkg = work / "pkg"
    stamp = work / "levels.json"
    spz = pkg / "baseline" / f"{levels[-1]}.spz"
    from splatcast.codec.container import VERSION_MAJOR, VERSION_MINOR

    key = {"levels": levels, "chunks": 8, "chunk_growth": growth, "entropy": entropy,
           "version": [VERSION_MAJOR, VERSION_MINOR]}
    if not (stamp.is_file() and json.loads(stamp.read_text()) == key and spz.is_file()):
        root = SHARED / "scenes" / "playbot-lod"
        t0 = time.perf_counter()
        layers = [read_scene(root / level) for level in levels]
        data = encode(layers, EncoderConfig(entropy=entropy, chunks=8, chunk_growth=growth))
        print(f"encoded {[len(c) for c in layers]} Gaussians -> {len(data)} bytes in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        (work / "src").mkdir(parents=True, exist_ok=True)
        src = work / "src" / "playbot.splc"
        src.write_bytes(data)
        package(src, pkg)
        spz.parent.mkdir(parents=True, exist_ok=True)
        write_scene(layers[-1], spz)
        stamp.write_text(json.dumps(key))
    return {"pkg": pkg, "stream_bytes": (pkg / "playbot.splc").stat().st_size, "spz": spz,
            "spz_bytes": spz.stat().st_size}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(pkg: Path, trace: Path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "splatcast.cli.main", "serve", str(pkg), "--port", str(port),
                             "--trace", str(trace)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("splatcast serve did not start")


def _wait_full(page, timeout_s: float) -> None:
    """Until the page reports fullQuality; its error, if it reports one instead, is raised."""
    page.wait_for_function(
        "window.splatcast && (window.splatcast.error || window.splatcast.events.some(e => e.type === 'fullQuality'))",
        timeout=timeout_s * 1000)
    if page.evaluate("window.splatcast.error"):
        raise RuntimeError(page.evaluate("window.splatcast.error"))


def run_once(browser, origin: str, spz_path: str, timeout_s: float) -> dict:
    page = browser.new_page(viewport={"width": 640, "height": 480}, device_scale_factor=1)
    try:
        page.goto(origin + "/?hud=1")
        _wait_full(page, timeout_s)
        events = page.evaluate("window.splatcast.events")
        stream_start_s = page.evaluate("window.splatcast.state.streamStartMs") / 1000
        spz_s = page.evaluate(
            """async (path) => {
                 const t0 = performance.now();
                 const b = await (await fetch(path, {cache: 'no-store'})).arrayBuffer();
                 return {s: (performance.now() - t0) / 1000, bytes: b.byteLength};
               }""",
            spz_path)
    finally:
        page.close()
    first = next(e for e in events if e["type"] == "firstRender")
    full = next(e for e in events if e["type"] == "fullQuality")
    return {
        "stream_start_s": stream_start_s, "first_render_s": first["t_ms"] / 1000, "first_render_bytes": first["bytes"],
        "first_render_gaussians": first["gaussians"], "full_s": full["t_ms"] / 1000,
        "layer_s": [e["t_ms"] / 1000 for e in events if e["type"] == "layerComplete"], "spz_download_s": spz_s["s"],
    }


def browser_vs_python_psnr(browser, origin: str, pkg: Path, size: int, timeout_s: float, shot: Path | None) -> dict:
    """The fully loaded stream in the browser against splatcast.render of the Python-decoded cloud, same camera
    (render --orbit's view 0, passed as cam=), both size x size."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from splatcast.codec import decode
    from splatcast.render import render
    from splatcast.render.camera import Camera, guess_up_axis, orbit_cameras, parse_up
    from splatcast.render.metrics import psnr

    cloud = decode((pkg / "playbot.splc").read_bytes())
    orbit = orbit_cameras(cloud, 1, size, size, up="auto")[0]
    lo, hi = cloud.robust_bounds()
    target = 0.5 * (lo.astype(np.float64) + hi.astype(np.float64))
    up = parse_up(guess_up_axis(cloud))
    cam = {"eye": orbit.center.tolist(), "target": target.tolist(), "up": up.tolist(), "fov": 50}
    page = browser.new_page(viewport={"width": size, "height": size}, device_scale_factor=1)
    try:
        page.goto(origin + "/?hud=0&cam=" + json.dumps(cam))
        _wait_full(page, timeout_s)
        png = base64.b64decode(page.evaluate("window.splatcast.snapshot()").split(",", 1)[1])
    finally:
        page.close()
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.float32) / 255
    t0 = time.perf_counter()
    look = Camera.look_at(cam["eye"], cam["target"], cam["up"], size, size, cam["fov"])
    reference = np.clip(np.asarray(render(cloud, look), np.float32), 0, 1)
    render_s = time.perf_counter() - t0
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        both = np.concatenate([shown, reference], axis=1)
        Image.fromarray((both * 255 + 0.5).astype(np.uint8)).save(shot)
    return {"psnr_db": float(psnr(reference, shown)), "size": size, "gaussians": len(cloud),
            "python_render_s": render_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="2_0,1_0,0_0")
    ap.add_argument("--mbps", type=float, default=10.0)
    ap.add_argument("--chunk-growth", type=float, default=1.5, help="encoder chunk growth (1: equal chunks)")
    ap.add_argument("--entropy", default="irans", choices=["irans", "rans", "zstd"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--work", default="out/bench-player")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--psnr", action="store_true",
                    help="also compare the fully loaded view with splatcast render of the decoded cloud (512 px)")
    ap.add_argument("--shot", default=None, help="with --psnr: write browser | python side by side to this PNG")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    bench = BenchResults("bench_player", args, argv)
    with bench.tables():
        _run(args, bench)
    bench.emit()
    return 0


def _run(args, bench: BenchResults) -> None:
    from playwright.sync_api import sync_playwright

    from splatcast.player import is_built

    if not is_built():
        raise SystemExit("the web player is not built (make player)")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    info = prepare(args.levels.split(","), work, args.chunk_growth, args.entropy)
    trace = work / "constant.txt"
    trace.write_text(f"0 {args.mbps:g}\n")
    proc, origin = serve(info["pkg"], trace)
    runs = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)
            spz_path = "/" + info["spz"].relative_to(info["pkg"]).as_posix()
            for _ in range(args.runs):
                runs.append(run_once(browser, origin, spz_path, args.timeout))
            fidelity = None
            if args.psnr:
                fidelity = browser_vs_python_psnr(browser, origin, info["pkg"], 512, args.timeout,
                                                  Path(args.shot) if args.shot else None)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(5)
    keys = ("stream_start_s", "first_render_s", "full_s", "spz_download_s")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    result = {
        "levels": args.levels, "mbps": args.mbps, "stream_bytes": info["stream_bytes"], "spz_bytes": info["spz_bytes"],
        "link_only_stream_s": info["stream_bytes"] * 8 / (args.mbps * 1e6),
        "link_only_spz_s": info["spz_bytes"] * 8 / (args.mbps * 1e6), "runs": runs,
        **{f"median_{k}": v for k, v in med.items()},
        "spz_over_first_render": med["spz_download_s"] / med["first_render_s"],
        "full_over_spz": med["full_s"] / med["spz_download_s"], "browser_vs_python": fidelity,
    }
    bench.add(f"playbot {args.levels}", result, source=f"playbot-lod {args.levels} over {args.mbps:g} Mbit/s")
    print(f"PLAYBOT {args.levels} at {args.mbps:g} Mbit/s: stream {info['stream_bytes']:,} B, "
          f"SPZ {info['spz_bytes']:,} B")
    print(f"  first render {med['first_render_s']:.2f} s ({runs[0]['first_render_gaussians']:,} Gaussians, "
          f"{runs[0]['first_render_bytes']:,} B)   full quality {med['full_s']:.2f} s   "
          f"SPZ download {med['spz_download_s']:.2f} s")
    print(f"  (the stream starts {med['stream_start_s']:.2f} s after navigation: page, worker and renderer "
          f"start-up; from there first render {med['first_render_s'] - med['stream_start_s']:.2f} s, "
          f"full {med['full_s'] - med['stream_start_s']:.2f} s)")
    print(f"  SPZ download / first render = {result['spz_over_first_render']:.1f}x   "
          f"full quality / SPZ download = {result['full_over_spz']:.2f}")
    if fidelity:
        print(f"  browser vs splatcast render of the decoded cloud ({fidelity['gaussians']:,} Gaussians, "
              f"{fidelity['size']} px): {fidelity['psnr_db']:.2f} dB")


if __name__ == "__main__":
    sys.exit(main())
