"""The client's typed state: step kinds, the transport's own clock (sessions timed from their start on it), and
the Gaussian counts of the timeline against the replayed clouds."""

from __future__ import annotations

import asyncio
import json

import pytest
from splc_real import make_real_stream

from splatcast.dash.packager import package
from splatcast.net.client import Piece, StepKind, play_stream, replay_shown
from splatcast.net.simulate import SimTransport, VirtualClock
from splatcast.net.traces import Trace


def test_step_kinds_are_the_strings_web_and_recorded_sessions_use():
    assert [k.value for k in StepKind] == ["add-dc", "add-full", "upgrade"]
    assert StepKind("upgrade") is StepKind.UPGRADE and StepKind.ADD_DC == "add-dc"
    assert str(StepKind.ADD_FULL) == "add-full" and json.dumps([StepKind.UPGRADE]) == '["upgrade"]'
    assert [k.refine for k in StepKind] == ["dc", "full", "full"]
    assert Piece(0, 0, "add-dc", 0, 1, b"x").kind is StepKind.ADD_DC  # (evaluate/ builds pieces from strings)
    with pytest.raises(ValueError):
        Piece(0, 0, "add", 0, 1, b"x")


@pytest.fixture(scope="module", params=[0, 400], ids=["untiled", "tiled"])
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    (tmp / "scene.splc").write_bytes(make_real_stream(n0=300, n_layers=3, chunks=3, seed=1,
                                                      tile_gaussians=request.param))
    package(tmp / "scene.splc", tmp / "pkg")
    return tmp / "pkg"


def _play(transport, **kw):
    return asyncio.run(play_stream(transport, "/manifest.mpd", pipeline=False, **kw))


@pytest.mark.parametrize("monotone", [True, False])
def test_timeline_counts_what_the_replay_shows(site, monotone):
    result = _play(SimTransport(site, Trace.constant(1.0), VirtualClock(count_compute=False)), monotone=monotone)
    counts = [len(cloud) for cloud in replay_shown(result.header, result.pieces)]
    assert [row["gaussians"] for row in result.timeline] == counts
    assert counts[-1] == len(result.final_cloud) > 0


def test_sessions_are_timed_from_their_start_on_the_transports_clock(site):
    clock = VirtualClock(count_compute=False)
    transport = SimTransport(site, Trace.constant(1.0), clock)
    first = _play(transport, clock=clock)  # (passing the transport's own clock is allowed)
    assert clock.now() == first.timeline[-1]["t_s"] > 0  # a fresh virtual clock: session time is its time
    clock.t = 1000.0  # a constant trace: the same session again takes the same time
    again = _play(transport)
    assert [r["t_s"] for r in again.timeline] == pytest.approx([r["t_s"] for r in first.timeline])
    with pytest.raises(ValueError, match="transport's own"):
        _play(transport, clock=VirtualClock())


def test_play_cli_simulated_baseline_on_its_own_clock(site, tmp_path):
    from splatcast.cli.main import main

    out = tmp_path / "out.json"
    size = (site / "scene.splc").stat().st_size
    argv = ["play", str(site), "--simulate", "--trace", "0 10", "--no-psnr", "--json-out", str(out),
            "--baseline", "scene.splc"]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    base = result["baselines"]["scene.splc"]
    assert result["connect_s"] == 0.0 and result["transport"] == "simulated"
    assert base["bytes"] == size and base["download_s"] == pytest.approx(size * 8 / 10e6)  # from 0, its own link
    assert base["time_to_render_s"] >= base["download_s"]
