"""The web player's HTTP session (web/src/player/session.mjs, abr.mjs, mpd.mjs: what its decode worker runs),
replayed under Node on a directory written by the Python packager: the MPD reads as splatcast.dash reads it, the
fetched ranges tile the file once, the step bookkeeping (layer complete, final) is right, and the cloud decoded
piece by piece equals `splatcast decode` of the whole file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from splatcast.codec.container import read_index
from splatcast.codec.decoder import decode
from splatcast.codec.encoder import EncoderConfig, encode
from splatcast.dash.layout import interpret_mpd
from splatcast.dash.mpd import parse_mpd
from splatcast.dash.packager import package
from splatcast.net.abr import make_abr
from splatcast.net.simulate import simulate_sizes
from splatcast.net.traces import Trace
from splatcast.scene.formats.ply import write_ply

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
REPLAY = WEB / "test" / "tools" / "replay_session.mjs"
NODE = shutil.which("node")
sys.path.insert(0, str(ROOT / "tests" / "codec"))
from codec_synthetic import synthetic_layers  # noqa: E402

pytestmark = pytest.mark.skipif(
    NODE is None or not (WEB / "node_modules" / "@xmldom" / "xmldom").is_dir(), reason="node or web/node_modules missing"
)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg")
    layers = synthetic_layers(n0=200, n_layers=3, sh_degree=1, seed=11)
    data = encode(layers, EncoderConfig(entropy="rans", chunks=4, chunk_growth=1.5, partial="replace", dc_only="on"))
    (out / "src").mkdir()
    src = out / "src" / "scene.splc"
    src.write_bytes(data)
    pkg = out / "pkg"
    package(src, pkg, title="replay")
    return {"dir": pkg, "data": data, "mpd": next(p.name for p in pkg.glob("*.mpd"))}


@pytest.mark.parametrize("abr,mbps", [("fidelity", 0.5), ("throughput", 0.5), ("throughput", 1000), ("dc-first", 10),
                                      ("full", 10)])
def test_replayed_session_matches_python(tmp_path, packaged, abr, mbps):
    res = subprocess.run([NODE, str(REPLAY), str(packaged["dir"]), packaged["mpd"], str(tmp_path / "js.ply"), abr,
                          str(mbps)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    data = packaged["data"]

    manifest = interpret_mpd(parse_mpd((packaged["dir"] / packaged["mpd"]).read_bytes()))
    assert got["manifest"]["headerRange"] == list(manifest.header_range)
    assert got["manifest"]["totalBytes"] == len(data)
    assert got["manifest"]["entropy"] == "rans" and got["manifest"]["mode"] == manifest.mode
    assert [lay["gaussians"] for lay in got["manifest"]["layers"]] == [lay.gaussians for lay in manifest.layers]

    # every byte after the header is fetched exactly once
    spans = sorted(got["fetched"])
    assert spans[0][0] == manifest.header_bytes and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    steps = got["steps"]
    kinds = [s["kind"] for s in steps]
    if abr == "full":
        assert set(kinds) == {"add-full"}
    if abr == "dc-first":  # every inter chunk comes as dc first, upgraded after its layer's dc sweep
        assert "add-full" in kinds[:4] and kinds.count("add-dc") == kinds.count("upgrade") > 0
    assert steps[-1]["bytes"] == len(data) and steps[-1]["final"] and sum(s["final"] for s in steps) == 1
    idx = read_index(data)
    done = [s["completes"] for s in steps if s["completes"]]
    assert done == [[j] for j in range(len(idx.layers))]

    # the same plan as the Python client over the same constant link (both estimate exactly the link's rate)
    py = simulate_sizes(idx, Trace.constant(float(mbps)), make_abr(abr))
    py_kinds = [("upgrade" if r["kind"] == "upgrade" else f"add-{r['refine']}", r["layer"], r["chunk"])
                for r in py["timeline"]]
    assert [(s["kind"], s["layer"], s["chunk"]) for s in steps] == py_kinds

    write_ply(decode(data), tmp_path / "py.ply")
    assert (tmp_path / "js.ply").read_bytes() == (tmp_path / "py.ply").read_bytes()


def test_replayed_session_refuses_a_stream_the_player_cannot_decode(tmp_path, packaged):
    pkg = tmp_path / "lzma"
    src = tmp_path / "l.splc"
    src.write_bytes(encode(synthetic_layers(n0=50, n_layers=1, sh_degree=0, seed=1), EncoderConfig(entropy="lzma")))
    package(src, pkg)  # the library packages anything; `splatcast package` is the one that refuses lzma
    res = subprocess.run([NODE, str(REPLAY), str(pkg), next(p.name for p in pkg.glob("*.mpd")), str(tmp_path / "o.ply"),
                          "throughput", "10"], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "'lzma' entropy back-end" in res.stderr


def _gl_view_proj(cam, near=1e-3, far=1e4):
    """The three.js projection x view matrix (column-major, 16 numbers) of a splatcast (OpenCV) camera: the same
    frustum, so that both schedulers see the same tiles in view."""
    import numpy as np

    w, h = cam.width, cam.height
    proj = np.array([
        [2 * cam.fx / w, 0, 1 - 2 * cam.cx / w, 0],
        [0, 2 * cam.fy / h, 2 * cam.cy / h - 1, 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0],
    ])
    view = np.diag([1.0, -1.0, -1.0, 1.0]) @ cam.world_to_camera  # OpenCV camera axes -> OpenGL's
    return (proj @ view).T.reshape(-1).tolist()


def test_tiled_session_fetches_in_the_python_clients_order(tmp_path):
    """Two implementations of docs/streaming.md's view-aware scheduling, one stream, one fixed camera: the JS
    fetch loop (tiles.mjs) and the Python client (net/viewport.py) request the same pieces in the same order."""
    import asyncio

    import numpy as np

    from splatcast.net.client import play_stream
    from splatcast.net.simulate import SimTransport, VirtualClock
    from splatcast.net.viewport import CameraPath, tile_boxes_in_scene
    from splatcast.render.camera import Camera

    layers = synthetic_layers(n0=300, n_layers=3, sh_degree=1, seed=5)
    data = encode(layers, EncoderConfig(entropy="rans", chunks=3, tile_gaussians=400, dc_only="on"))
    idx = read_index(data)
    assert idx.tile_count >= 4
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "scene.splc").write_bytes(data)
    package(tmp_path / "src" / "scene.splc", tmp_path / "pkg")
    lo, hi = tile_boxes_in_scene(idx)[0]
    eye = 0.5 * (np.asarray(lo, np.float64) + hi)
    centre = 0.5 * (idx.grid_min.astype(np.float64) + idx.grid_max)
    cam = Camera.look_at(eye, eye + (eye - centre), [0, -1.0, 0], 128, 128, 25.0)
    (tmp_path / "cam.json").write_text(json.dumps({"viewProj": _gl_view_proj(cam), "eye": cam.center.tolist()}))
    mbps = 0.5
    res = subprocess.run([NODE, str(REPLAY), str(tmp_path / "pkg"), "manifest.mpd", str(tmp_path / "js.ply"),
                          "fidelity", str(mbps), str(tmp_path / "cam.json")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    js = [(s["tile"], s["layer"], s["chunk"], s["kind"]) for s in json.loads(res.stdout)["steps"]]

    async def run():
        clock = VirtualClock(count_compute=False)
        return await play_stream(SimTransport(tmp_path / "pkg", Trace.constant(mbps), clock), "/manifest.mpd",
                                 abr=make_abr("fidelity"), clock=clock, pipeline=False,
                                 camera_path=CameraPath.fixed(cam))

    py = [(p.tile, p.layer, p.chunk, p.kind) for p in asyncio.run(run()).pieces]
    assert js == py
    file_order = sorted(js, key=lambda s: (s[1], s[0]))  # layer by layer, tile by tile (stable: chunks in order)
    assert js != file_order  # the camera does steer the order
    write_ply(decode(data), tmp_path / "py.ply")
    assert (tmp_path / "js.ply").read_bytes() == (tmp_path / "py.ply").read_bytes()
