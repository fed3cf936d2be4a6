"""The web player (web/src/player, bundled into splatcast/player/static) in headless Chromium.

A small real stream (the built-in lab bench, three importance-prefix layers, irans as the player streams use it, so
the WebAssembly kernels run in the browser, 4 chunks per layer) is packaged
with splatcast.dash and served by `splatcast serve` in a subprocess; Playwright drives Debian's chromium (software
WebGL through SwiftShader). Checked: the page plays the stream to full quality (events in order), every request
stays on the serving origin (nothing from a CDN), the WebRTC transport works, an unsupported entropy back-end is
refused with a message, and the final frame matches splatcast's own renderer from the same camera (PSNR floor).

Skips cleanly without chromium, PyPI playwright or the built bundle (`make player`). With
SPLATCAST_WRITE_DOCS_IMG=1 the screenshots go to docs/img/player-*.png.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from splatcast.player import is_built

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZE = 256
# a slow link makes the progressive states visible (the whole stream takes ~2 s at this rate)
TRACE_MBPS = float(os.environ.get("SPLATCAST_PLAYER_TEST_MBPS", "0.25"))
# measured 46.8 dB on the lab bench (docs/player.md, Tests); the goal is >= 25 dB. 40 dB still catches a wrong SH
# coefficient layout (35.1 dB) or a mirrored / flipped view (far lower)
PSNR_FLOOR_DB = 40.0
SPZ_INPUT_FLOOR_DB = 35.0  # vs the scene before SPZ (8-bit colour) and codec: measured 41.7 dB, upside down 11 dB
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

try:
    from playwright import sync_api as playwright_sync
except ImportError:  # the route tests below still run
    playwright_sync = None
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or playwright_sync is None or not is_built(),
    reason="needs chromium (make chromium), PyPI playwright and the built player (make player)",
)

# records, in the page, a snapshot of the canvas right after each event's frame (the drawing buffer is preserved)
SNAPSHOT_SCRIPT = """
window.__shots = [];
for (const type of ['firstRender', 'layerComplete', 'fullQuality']) {
  window.addEventListener(type, (e) => {
    const c = document.getElementById('view');
    window.__shots.push({type, layer: e.detail.layer, gaussians: e.detail.gaussians, png: c.toDataURL('image/png')});
  });
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    from splatcast.codec import EncoderConfig, decode, encode
    from splatcast.dash.packager import package
    from splatcast.evaluate.layersets import importance_prefix_layers
    from splatcast.scene.default import lab_bench

    root = tmp_path_factory.mktemp("player")
    layers = importance_prefix_layers(lab_bench(6000, 0), (0.25, 0.5, 1.0))
    data = encode(layers, EncoderConfig(entropy="irans", chunks=4))
    src = root / "src" / "scene.splc"
    src.parent.mkdir()
    src.write_bytes(data)
    pkg = root / "pkg"
    package(src, pkg)
    # the same stream, announced with an entropy back-end the browser cannot decode
    mpd = (pkg / "manifest.mpd").read_text()
    assert "entropy=irans" in mpd
    (pkg / "paq.mpd").write_text(mpd.replace("entropy=irans", "entropy=paq"))
    final = decode(data)
    return {"dir": pkg, "bytes": len(data), "final": final[-1] if isinstance(final, list) else final}


@pytest.fixture(scope="module")
def server(stream, tmp_path_factory):
    yield from serve(stream["dir"], tmp_path_factory.mktemp("trace"), webrtc=True)


def serve(directory, tmp: Path, mbps: float = TRACE_MBPS, webrtc: bool = False):
    """`splatcast serve DIRECTORY` in a subprocess, shaped to `mbps`; yields its origin, stops it afterwards."""
    trace = tmp / "slow.txt"
    trace.write_text(f"0 {mbps}\n")
    port = _free_port()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "splatcast.cli.main", "serve", str(directory), "--port", str(port),
           "--trace", str(trace)] + (["--webrtc"] if webrtc else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"splatcast serve exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("splatcast serve did not start listening")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _camera(cloud):
    """splatcast render --orbit's view 0 (orbit_cameras, up="auto") as the player's cam= parameter."""
    from splatcast.render.camera import guess_up_axis, orbit_cameras, parse_up

    cam = orbit_cameras(cloud, 1, SIZE, SIZE, up="auto")[0]
    lo, hi = cloud.robust_bounds()
    target = 0.5 * (lo.astype(np.float64) + hi.astype(np.float64))
    up = parse_up(guess_up_axis(cloud))
    return cam, {"eye": cam.center.tolist(), "target": target.tolist(), "up": up.tolist(), "fov": 50}


def _open(browser, url, requests):
    page = browser.new_page(viewport={"width": SIZE, "height": SIZE}, device_scale_factor=1)
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script(SNAPSHOT_SCRIPT)
    page.goto(url)
    return page


def _wait_full(page, timeout_ms=60_000):
    page.wait_for_function(
        "window.splatcast && (window.splatcast.error || window.splatcast.events.some(e => e.type === 'fullQuality'))",
        timeout=timeout_ms,
    )
    error = page.evaluate("window.splatcast.error")
    assert error is None, error


def _png_to_array(data_url: str) -> np.ndarray:
    from PIL import Image

    raw = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), np.float32) / 255


def _same_origin(requests, origin, stream_over_http=True):
    if stream_over_http:  # the check must see the stream itself: the decode worker's range requests are listed too
        assert any(u.split("?")[0].endswith((".mpd", ".splc")) for u in requests), requests
    for url in requests:
        if url.startswith(("data:", "blob:" + origin + "/")):
            continue  # in-page resources (Spark's inlined worker), not network requests
        assert url.startswith(origin + "/"), f"request left the serving origin: {url}"


@needs_browser
@pytest.mark.timeout(180)
def test_player_streams_to_full_quality_and_matches_the_python_renderer(stream, server, browser):
    from PIL import Image

    from splatcast.render import render
    from splatcast.render.camera import Camera
    from splatcast.render.metrics import psnr

    cloud = stream["final"]
    orbit, cam = _camera(cloud)
    requests = []
    t0 = time.monotonic()
    page = _open(browser, f"{server}/?cam={json.dumps(cam)}&hud=0", requests)
    try:
        _wait_full(page)
        wall = time.monotonic() - t0
        events = page.evaluate("window.splatcast.events")
        state = page.evaluate("window.splatcast.state")
        fetched = page.evaluate("window.splatcast.fetched")
        shots = page.evaluate("window.__shots")
        framing = page.evaluate("window.splatcast.framing")
        shown_fidelity = page.evaluate("window.splatcast.shownFidelity")
    finally:
        page.close()
    held = [e for e in events if e["type"] == "held"]
    events = [e for e in events if e["type"] != "held"]  # decoded states held back: not drawn (below)
    types = [e["type"] for e in events]
    assert types[0] == "firstRender" and types[-1] == "fullQuality", types
    assert types.count("layerComplete") == 3
    first = events[0]
    full = events[-1]
    # monotone display: every state drawn is recorded strictly better than the one before, the last is the top
    # layer; states that are not (this stream has several, e.g. before display_from) were held, never drawn
    assert shown_fidelity[-1] == float("inf") and all(b > a for a, b in zip(shown_fidelity, shown_fidelity[1:]))
    assert len(held) == state["held"] > 0
    assert 0 < first["gaussians"] <= full["gaussians"] == len(cloud)
    assert first["t_ms"] <= full["t_ms"] and full["bytes"] == stream["bytes"] == state["bytes"]
    # the chunk ranges tile the media after the header: nothing is fetched twice
    spans = sorted(fetched)
    assert spans[0][0] > 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and spans[-1][1] == stream["bytes"]
    _same_origin(requests, server)
    assert framing["up"] == "+z"  # the lab bench is z-up, as splatcast render --orbit guesses

    # the same camera in splatcast's renderer, of the Python-decoded cloud
    look = Camera.look_at(cam["eye"], cam["target"], cam["up"], SIZE, SIZE, cam["fov"])
    assert np.allclose(look.world_to_camera, orbit.world_to_camera, atol=1e-6)
    reference = np.clip(np.asarray(render(cloud, look), np.float32), 0, 1)
    final = _png_to_array(shots[-1]["png"])
    value = psnr(reference, final)
    print(f"\nplayer vs splatcast.render PSNR {value:.2f} dB; firstRender {first['t_ms']:.0f} ms "
          f"({first['gaussians']} Gaussians, {first['bytes']} B), fullQuality {full['t_ms']:.0f} ms, wall {wall:.1f} s")
    if os.environ.get("SPLATCAST_WRITE_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            name = {"firstRender": "player-first-chunk", "fullQuality": "player-final"}.get(shot["type"])
            name = name or f"player-layer-{shot['layer']}"
            Image.fromarray((_png_to_array(shot["png"]) * 255 + 0.5).astype(np.uint8)).save(DOCS_IMG / f"{name}.png")
        Image.fromarray((reference * 255 + 0.5).astype(np.uint8)).save(DOCS_IMG / "player-python-reference.png")
    assert value >= PSNR_FLOOR_DB, f"player vs splatcast.render: {value:.2f} dB < {PSNR_FLOOR_DB} dB"


def _frames_when_still(page, quiet_s=1.0, timeout_s=30.0) -> int:
    """The page's frame count once no frame has been drawn for quiet_s (on-demand rendering settles)."""
    deadline = time.monotonic() + timeout_s
    last, since = page.evaluate("window.splatcast.state.frames"), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = page.evaluate("window.splatcast.state.frames")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    pytest.fail(f"the page kept drawing frames for {timeout_s} s with nothing changing")


@needs_browser
@pytest.mark.timeout(180)
def test_player_orbits_with_the_mouse_and_draws_only_when_something_changes(server, browser):
    page = _open(browser, f"{server}/?hud=0", [])
    try:
        _wait_full(page)
        frames = _frames_when_still(page)
        before = _png_to_array(page.evaluate("window.splatcast.snapshot()"))
        time.sleep(1.0)
        assert page.evaluate("window.splatcast.state.frames") == frames  # a still view draws nothing
        page.mouse.move(SIZE / 2, SIZE / 2)
        page.mouse.down()
        page.mouse.move(SIZE / 2 + 60, SIZE / 2 + 10, steps=6)
        page.mouse.up()
        after_frames = _frames_when_still(page)
        after = _png_to_array(page.evaluate("window.splatcast.snapshot()"))
    finally:
        page.close()
    assert after_frames > frames  # the drag was drawn (OrbitControls' change, then Spark's re-sort)
    assert np.abs(after - before).mean() > 0.01  # and the view turned


@needs_browser
@pytest.mark.timeout(180)
def test_player_over_webrtc(stream, server, browser):
    requests = []
    page = _open(browser, f"{server}/?transport=webrtc&hud=0", requests)
    try:
        _wait_full(page)
        state = page.evaluate("window.splatcast.state")
    finally:
        page.close()
    assert state["transport"] == "webrtc", state
    assert state["bytes"] == stream["bytes"]
    _same_origin(requests, server, stream_over_http=False)
    # over the data channel, the only HTTP requests are the page, its assets and the signalling
    media = [u for u in requests if u.endswith((".splc", ".mpd"))]
    assert media == [], media


@needs_browser
@pytest.mark.timeout(180)
def test_player_refuses_an_unsupported_entropy_backend(server, browser):
    requests = []
    page = _open(browser, f"{server}/?mpd=paq.mpd", requests)
    try:
        page.wait_for_function("window.splatcast && window.splatcast.error", timeout=30_000)
        message = page.inner_text("#message")
    finally:
        page.close()
    assert "paq" in message and "cannot decode" in message
    assert not any(u.endswith(".splc") for u in requests)  # refused before any media byte


@needs_browser
@pytest.mark.timeout(180)
def test_player_routes_do_not_shadow_the_directory(server):
    import urllib.request

    with urllib.request.urlopen(server + "/_player/streams.json") as r:
        listing = json.load(r)
    assert listing["default"] == "manifest.mpd" and "paq.mpd" in listing["streams"]
    with urllib.request.urlopen(server + "/") as r:
        assert r.headers["Content-Type"].startswith("text/html") and b"_player/player.js" in r.read()
    with urllib.request.urlopen(server + "/manifest.mpd") as r:
        assert r.headers["Content-Type"] == "application/dash+xml"


def _run_async(coro):
    """asyncio.run in a fresh thread: Playwright's sync API keeps an event loop running in this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_routes_without_a_built_player_answer_503_and_keep_serving_files(tmp_path, monkeypatch):
    import aiohttp

    from splatcast.net import player_routes
    from splatcast.net.server import start_server

    monkeypatch.setattr(player_routes, "is_built", lambda: False)
    (tmp_path / "a.mpd").write_text("<MPD/>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "manifest.mpd").write_text("<MPD/>")

    async def main():
        server = await start_server(tmp_path)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(server.url) as r:
                    assert r.status == 503 and "not built" in await r.text()
                async with session.get(server.url + "_player/player.js") as r:
                    assert r.status == 503
                async with session.get(server.url + "_player/streams.json") as r:
                    assert await r.json() == {"streams": ["a.mpd", "sub/manifest.mpd"], "default": "a.mpd"}
                async with session.get(server.url + "a.mpd", headers={"Range": "bytes=0-1"}) as r:
                    assert r.status == 206 and await r.read() == b"<M"
        finally:
            await server.stop()

    _run_async(main())


def test_player_assets_are_confined_to_the_static_folder(tmp_path, monkeypatch):
    import aiohttp

    from splatcast.net import player_routes
    from splatcast.net.server import start_server

    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<html>player</html>")
    (static / "player.js").write_text("export {};")
    (tmp_path / "secret.txt").write_text("secret")
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setattr(player_routes, "STATIC_DIR", static)
    monkeypatch.setattr(player_routes, "is_built", lambda: True)

    async def main():
        server = await start_server(served)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(server.url) as r:
                    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
                async with session.get(server.url + "_player/player.js") as r:
                    assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
                for path in ["_player/..%2Fsecret.txt", "_player/missing.js", "_player/%2e%2e/secret.txt"]:
                    async with session.get(server.url + path) as r:
                        assert r.status in (403, 404) and "secret" not in await r.text(), path
                async with session.get(server.url + "_player/streams.json") as r:
                    assert await r.json() == {"streams": [], "default": None}
        finally:
            await server.stop()

    _run_async(main())


@pytest.fixture(scope="module")
def static_site(tmp_path_factory):
    """`splatcast share x.spz --out DIR --no-serve`, served by a plain static file server (aiohttp's, which answers
    Range requests as nginx or a CDN would): none of splatcast's own routes."""
    import threading

    from aiohttp import web

    from splatcast.cli.main import main
    from splatcast.scene.default import lab_bench
    from splatcast.scene.formats import write_scene

    root = tmp_path_factory.mktemp("share")
    scene = root / "bench.spz"
    write_scene(lab_bench(6000, 0), scene)
    site = root / "site"
    assert main(["share", str(scene), "--out", str(site), "--no-serve", "--json"]) == 0
    port = _free_port()
    started = threading.Event()

    async def index(request):
        return web.FileResponse(site / "index.html")

    def run():
        app = web.Application()
        app.router.add_get("/", index)
        app.router.add_static("/", site)
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    assert started.wait(10)
    return {"url": f"http://127.0.0.1:{port}", "scene": scene, "site": site}


@needs_browser
@pytest.mark.timeout(180)
def test_a_shared_site_plays_from_a_plain_static_server_upright(static_site, browser):
    """The folder `share --out` writes needs no splatcast server; the SPZ input shows as splatcast renders it."""
    from splatcast.codec import decode
    from splatcast.render import render
    from splatcast.render.camera import Camera
    from splatcast.render.metrics import psnr

    media = next(static_site["site"].glob("*.splc"))
    cloud = decode(media.read_bytes())
    _, cam = _camera(cloud)
    requests = []
    page = _open(browser, f"{static_site['url']}/?cam={json.dumps(cam)}&hud=0", requests)
    try:
        _wait_full(page)
        shots = page.evaluate("window.__shots")
    finally:
        page.close()
    _same_origin(requests, static_site["url"])
    look = Camera.look_at(cam["eye"], cam["target"], cam["up"], SIZE, SIZE, cam["fov"])
    reference = np.clip(np.asarray(render(cloud, look), np.float32), 0, 1)
    final = _png_to_array(shots[-1]["png"])
    value = psnr(reference, final)
    # and the scene as it was before SPZ and the codec: the same way up (SPZ's RUB axes were converted on reading)
    from splatcast.scene.default import lab_bench

    original = np.clip(np.asarray(render(lab_bench(6000, 0), look), np.float32), 0, 1)
    to_input, upside_down = psnr(original, final), psnr(original[::-1], final)
    print(f"\nshared site vs splatcast.render {value:.2f} dB; vs the input scene {to_input:.2f} dB "
          f"(upside down {upside_down:.2f} dB)")
    assert value >= PSNR_FLOOR_DB, value
    assert to_input >= SPZ_INPUT_FLOOR_DB and to_input > upside_down + 5, (to_input, upside_down)
