"""View-dependent streaming of tiled files (net/viewport.py): the client fetches the tiles in the camera's view
first, re-ranks when the camera turns, still delivers every byte exactly once, and ends on the whole scene.
Oracles: the frustum test against projected sample points, and the stream's own index (which tiles hold what)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from splc_real import make_real_stream

from splatcast.codec import decode, read_index
from splatcast.dash.packager import package
from splatcast.net.client import play_stream
from splatcast.net.simulate import SimTransport, VirtualClock
from splatcast.net.traces import Trace
from splatcast.net.viewport import OUT_OF_VIEW, CameraPath, Keyframe, box_visibility, tile_boxes_in_scene
from splatcast.render.camera import Camera


@pytest.fixture(scope="module")
def tiled():
    data = make_real_stream(n0=300, n_layers=3, chunks=3, seed=1, tile_gaussians=400)
    return data, read_index(data)


def _session(tmp_path, data, path, mbps=1.0):
    src = tmp_path / "scene.splc"
    src.write_bytes(data)
    package(src, tmp_path / "site")
    trace = Trace((0.0,), (mbps * 1e6,), 1.0)

    async def run():
        clock = VirtualClock(count_compute=False)
        return await play_stream(SimTransport(tmp_path / "site", trace, clock), "/manifest.mpd", clock=clock,
                                 pipeline=False, camera_path=path)

    return asyncio.run(run())


def _camera_facing(lo, hi, centre_of_scene, width=128):
    """A camera at the centre of the box (lo, hi), looking away from the scene's centre (outwards)."""
    eye = 0.5 * (np.asarray(lo, np.float64) + np.asarray(hi, np.float64))
    away = eye - centre_of_scene
    away = away / np.linalg.norm(away) if np.linalg.norm(away) > 0 else np.array([0, 0, -1.0])
    up = np.array([0, -1.0, 0]) if abs(away[1]) < 0.9 else np.array([1.0, 0, 0])
    return Camera.look_at(eye, eye + away, up, width, width, fov_deg=20.0)


def test_frustum_test_never_misses_a_visible_box():
    rng = np.random.default_rng(0)
    cam = Camera.look_at([0, 0, -4.0], [0, 0, 0], [0, -1.0, 0], 64, 48, 50.0)
    checked = 0
    for _ in range(300):
        lo = rng.uniform(-6, 6, 3)
        hi = lo + rng.uniform(0.05, 3, 3)
        pts = lo + rng.uniform(0, 1, (400, 3)) * (hi - lo)
        uv, z = cam.project(pts)
        seen = ((z > 1e-3) & (uv[:, 0] >= 0) & (uv[:, 0] < 64) & (uv[:, 1] >= 0) & (uv[:, 1] < 48)).any()
        if seen:  # a box with a visible point is never called out of view (the test is conservative)
            checked += 1
            assert box_visibility(lo, hi, cam) > OUT_OF_VIEW
    assert checked > 20  # the sample does hold visible boxes
    assert box_visibility([-1, -1, -9], [1, 1, -8], cam) == OUT_OF_VIEW  # behind the camera


def test_visible_tiles_arrive_first_and_every_byte_once(tmp_path, tiled):
    data, index = tiled
    boxes = tile_boxes_in_scene(index)
    centre = 0.5 * (index.grid_min.astype(np.float64) + index.grid_max)
    cam = _camera_facing(*boxes[0], centre)
    vis = [box_visibility(lo, hi, cam) > OUT_OF_VIEW for lo, hi in boxes]
    assert vis[0] and not all(vis)
    result = _session(tmp_path, data, CameraPath.fixed(cam))
    tiles = [row["tile"] for row in result.timeline]
    assert vis[tiles[0]]  # the view's tiles first
    last = {t: max(i for i, x in enumerate(tiles) if x == t) for t in set(tiles)}
    assert max(last[t] for t in last if vis[t]) < max(last[t] for t in last if not vis[t])
    # by the time the view is complete, the other tiles got at most their coarsest layer (a picture everywhere)
    view_done = result.timeline[max(last[t] for t in last if vis[t])]["bytes"]
    views = [index.tile_view(t) for t in range(index.tile_count)]
    allowed = index.header_bytes + sum(
        sum(c.full_bytes for layer in v.layers for c in layer.chunks) if vis[t] else
        sum(c.full_bytes for c in v.layers[0].chunks) for t, v in enumerate(views))
    assert view_done <= allowed
    assert result.bytes_received == index.total_bytes  # nothing twice, nothing missing
    assert sorted((p.tile, p.layer, p.chunk, p.kind) for p in result.pieces) == sorted(
        {(p.tile, p.layer, p.chunk, p.kind) for p in result.pieces})
    final = decode(data)
    assert len(result.final_cloud) == len(final) and np.array_equal(result.final_cloud.means, final.means)
    assert result.time_to_full_s is not None


def test_without_a_camera_the_file_order_is_kept(tmp_path, tiled):
    data, index = tiled
    result = _session(tmp_path, data, None)
    order = [(row["layer"], row["tile"]) for row in result.timeline]
    assert order == sorted(order)  # layer by layer, tile by tile


def test_turning_the_camera_reranks(tmp_path, tiled):
    data, index = tiled
    boxes = tile_boxes_in_scene(index)
    centre = 0.5 * (index.grid_min.astype(np.float64) + index.grid_max)
    first, last = _camera_facing(*boxes[0], centre), _camera_facing(*boxes[-1], centre)
    turn_s = 0.05
    result = _session(tmp_path, data, CameraPath([Keyframe(0.0, first), Keyframe(turn_s, last)]), mbps=0.5)
    after = [row["tile"] for row in result.timeline if row["t_s"] > turn_s + 0.02]
    vis_last = [box_visibility(lo, hi, last) > OUT_OF_VIEW for lo, hi in boxes]
    assert after and vis_last[after[0]]  # the first pieces after the turn are for tiles the new view sees
    assert result.bytes_received == index.total_bytes


def test_play_cli_camera_paths(tmp_path, tiled, capsys):
    import json

    from splatcast.cli.main import main

    data, index = tiled
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "scene.splc").write_bytes(data)
    package(tmp_path / "src" / "scene.splc", tmp_path / "pkg")
    out = tmp_path / "out.json"
    base = ["play", str(tmp_path / "pkg"), "--simulate", "--trace", "0 2", "--no-psnr", "--json-out", str(out)]
    assert main(base + ["--camera-path", "orbit:3:+z"]) == 0
    rows = json.loads(out.read_text())["timeline"]
    assert rows[-1]["bytes"] == index.total_bytes and {r["tile"] for r in rows} == set(range(index.tile_count))
    # a keyframe file: one fixed view from tile 0's centre, outwards
    lo, hi = tile_boxes_in_scene(index)[0]
    eye = 0.5 * (np.asarray(lo, np.float64) + hi)
    away = eye - 0.5 * (index.grid_min.astype(np.float64) + index.grid_max)
    path = tmp_path / "path.json"
    path.write_text(json.dumps({"fov_deg": 20, "keyframes": [{"t": 0, "eye": eye.tolist(),
                                                              "target": (eye + away).tolist()}]}))
    assert main(base + ["--camera-path", str(path)]) == 0
    assert json.loads(out.read_text())["timeline"][0]["tile"] == 0
    capsys.readouterr()
    for bad in ("orbit:0", "orbit:x", "orbit:5:sideways"):
        assert main(base + ["--camera-path", bad]) == 2
        assert "orbit:SECONDS" in capsys.readouterr().err
    path.write_text('{"keyframes": [{"t": 0, "eye": [0, 0, 0], "target": [0, 0, 0]}]}')  # eye == target
    assert main(base + ["--camera-path", str(path)]) == 2
    assert "coincide" in capsys.readouterr().err
    path.write_text('{"keyframes": [{"t": "soon"}]}')
    assert main(base + ["--camera-path", str(path)]) == 2
    assert "not a camera path" in capsys.readouterr().err


def test_a_camera_path_of_deeply_nested_json_is_refused_with_a_splatcast_error(tmp_path):
    from splatcast.errors import SplatcastError

    path = tmp_path / "deep.json"
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(SplatcastError, match="not a camera path"):
        CameraPath.load(path)
