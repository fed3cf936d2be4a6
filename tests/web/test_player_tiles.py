"""The web player on a tiled stream (docs/player.md, "Tiles"): it fetches the tiles its camera sees first, and when
the viewer turns the camera the newly visible tiles arrive next. Headless Chromium as in test_player.py.

Oracles: the Python frustum test (splatcast.net.viewport) on the same camera, which must name the same tiles as
the page's own (so the player's camera and splatcast's agree), and the stream's index (every byte once)."""

from __future__ import annotations

import json
import urllib.parse

import numpy as np
import pytest
from test_player import _open, _wait_full, browser, needs_browser, serve  # noqa: F401 (browser: a fixture)

from splatcast.net.viewport import OUT_OF_VIEW, box_visibility, tile_boxes_in_scene
from splatcast.render.camera import Camera

SIZE = 256


@pytest.fixture(scope="module")
def tiled_site(tmp_path_factory):
    from splatcast.codec import EncoderConfig, encode, read_index
    from splatcast.dash.packager import package
    from splatcast.evaluate.layersets import importance_prefix_layers
    from splatcast.scene.default import lab_bench

    root = tmp_path_factory.mktemp("tiled-player")
    layers = importance_prefix_layers(lab_bench(6000, 0), (0.25, 0.5, 1.0))
    data = encode(layers, EncoderConfig(entropy="rans", chunks=2, tile_gaussians=700))
    (root / "src").mkdir()
    (root / "src" / "scene.splc").write_bytes(data)
    package(root / "src" / "scene.splc", root / "pkg")
    return {"dir": root / "pkg", "data": data, "index": read_index(data)}


@pytest.fixture(scope="module")
def tiled_server(tiled_site, tmp_path_factory):
    yield from serve(tiled_site["dir"], tmp_path_factory.mktemp("trace"), mbps=0.12)


def _looking_at(index, tile: int):
    """From the scene's centre, horizontally (up +z) towards tile's centre, a narrow view: (cam param, Camera)."""
    lo, hi = tile_boxes_in_scene(index)[tile]
    centre = 0.5 * (index.grid_min.astype(np.float64) + index.grid_max)
    direction = 0.5 * (np.asarray(lo, np.float64) + hi) - centre
    direction[2] = 0.0
    target = centre + direction
    view = {"eye": centre.tolist(), "target": target.tolist(), "up": [0, 0, 1], "fov": 30}
    return view, Camera.look_at(centre, target, [0, 0, 1], SIZE, SIZE, 30)


def _visible(index, cam) -> set[int]:
    return {t for t, (lo, hi) in enumerate(tile_boxes_in_scene(index)) if box_visibility(lo, hi, cam) > OUT_OF_VIEW}


@needs_browser
@pytest.mark.timeout(240)
def test_turning_the_camera_brings_the_newly_visible_tiles(tiled_site, tiled_server, browser):  # noqa: F811
    index = tiled_site["index"]
    assert index.tile_count >= 6
    centres = [0.5 * (lo + hi) for lo, hi in tile_boxes_in_scene(index)]
    a, b = int(np.argmax([c[0] for c in centres])), int(np.argmin([c[0] for c in centres]))  # the two ends
    view_a, cam_a = _looking_at(index, a)
    view_b, cam_b = _looking_at(index, b)
    seen_a, seen_b = _visible(index, cam_a), _visible(index, cam_b)
    assert a in seen_a and b in seen_b and seen_b - seen_a

    requests: list[str] = []
    page = _open(browser, f"{tiled_server}/?cam={urllib.parse.quote(json.dumps(view_a))}", requests)
    page.wait_for_function("window.splatcast && (window.splatcast.error || window.splatcast.events.some("
                           "e => e.type === 'firstRender'))", timeout=60_000)
    assert page.evaluate("window.splatcast.error") is None
    page.wait_for_timeout(1500)  # the camera reaches the worker, which re-ranks
    in_view = page.evaluate("window.splatcast.tileVisibility()")
    assert {t for t, v in enumerate(in_view) if v > OUT_OF_VIEW} == seen_a  # the page's camera is splatcast's
    before = page.evaluate("window.splatcast.steps.length")
    page.evaluate(f"window.splatcast.setView({json.dumps(view_b)})")
    page.wait_for_timeout(200)
    turned = page.evaluate("window.splatcast.steps.length")
    _wait_full(page, timeout_ms=180_000)
    steps = page.evaluate("window.splatcast.steps")
    total_pieces = len(steps)
    assert before < total_pieces * 0.8, "the stream ended before the camera turned: slow the link down"
    after = [s["tile"] for s in steps[turned + 2:]]  # (one piece may be in flight, one decided)
    pending_b = seen_b - seen_a
    assert after and after[0] in seen_b, (after[:5], seen_b)
    first_new = min(i for i, t in enumerate(after) if t in pending_b)
    assert first_new <= 2, (after[:8], pending_b)  # the newly visible tiles come right away
    # every byte after the header exactly once, and the whole scene in the end
    spans = sorted((s["start"], s["end"]) for s in steps)
    assert spans[0][0] == index.header_bytes and spans[-1][1] == len(tiled_site["data"])
    assert all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
    assert page.evaluate("window.splatcast.state.gaussians") == index.layers[-1].gaussians
    page.close()
