"""Monotone display (docs/streaming.md): along a `play --simulate` session under real throughput traces, the
fidelity of what is on screen never decreases, on the built-in lab bench (nested layers), playbot LODs and a
statue; and the rule is what makes it so (without it, a dc sweep shows drops).

The fidelity on the timeline is `add_fidelity`'s: the session's pieces replayed into a fresh decoder and rendered
against the final model, independent of the numbers the encoder wrote into the index."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from splatcast.codec.decoder import ProgressiveDecoder
from splatcast.codec.encoder import EncoderConfig, encode
from splatcast.dash.packager import package
from splatcast.net.abr import make_abr
from splatcast.net.client import add_fidelity, play_stream, replay_states
from splatcast.net.simulate import SimTransport, VirtualClock
from splatcast.net.traces import load_trace
from splatcast.render.metrics import fidelity_psnr
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import read_scene
from splatcast.train.derive_layers import derive_layers

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TRACES = ["fcc_train/trace_10322_http---edition.cnn.com", "fcc_train/trace_13092_http---www.amazon.com",
          "norway_train/" ]  # the third: the first Norway trace on disk
TARGET_MBPS = (1.0, 2.5, 4.0)  # each trace scaled to this mean rate


def _traces():
    base = SHARED / "traces" / "pensieve"
    if not base.is_dir():
        pytest.skip("../shared/data/traces/pensieve not present")
    paths = [base / TRACES[0], base / TRACES[1], sorted((base / TRACES[2]).iterdir())[0]]
    out = []
    for path, mbps in zip(paths, TARGET_MBPS):
        raw = load_trace(path)
        out.append(load_trace(path, scale=mbps * 1e6 / raw.mean_bps))
    return out


def _session(tmp_path, data: bytes, trace, abr: str):
    (tmp_path / "src").mkdir(parents=True, exist_ok=True)
    src = tmp_path / "src" / "scene.splc"
    src.write_bytes(data)
    root = tmp_path / f"pkg-{abr}"
    package(src, root)

    async def run():
        clock = VirtualClock(count_compute=False)
        return await play_stream(SimTransport(root, trace, clock), "/manifest.mpd", abr=make_abr(abr), clock=clock,
                                 pipeline=False)

    result = asyncio.run(run())
    add_fidelity(result)
    return result


def _db(v):
    return math.inf if v is None else v


def assert_never_drops(result):
    shown = [_db(row["psnr_db"]) for row in result.timeline]
    for i, (a, b) in enumerate(zip(shown, shown[1:])):
        assert b >= a, f"step {i + 1}: fidelity on screen fell from {a:.3f} to {b:.3f} dB ({result.timeline[i + 1]})"
    assert shown[-1] == math.inf  # the session ends on the top layer itself


def _streams():
    yield "lab-bench", derive_layers(lab_bench(6000, seed=1), 3)
    playbot = SHARED / "scenes" / "playbot-lod"
    if playbot.is_dir():
        yield "playbot", [read_scene(playbot / lod) for lod in ("5_0", "4_0", "3_0")]
    statue = SHARED / "scenes" / "statues" / "trumpet.sog"
    if statue.is_file():
        yield "trumpet", derive_layers(read_scene(statue), 3, fractions=[0.1, 0.25, 0.5])


@pytest.fixture(scope="module")
def streams():
    return {name: encode(layers, EncoderConfig(entropy="zstd", chunks=6)) for name, layers in _streams()}


@pytest.mark.parametrize("abr", ["fidelity", "dc-first"])
def test_fidelity_on_screen_never_drops_under_real_traces(tmp_path, streams, abr):
    for name, data in streams.items():
        for k, trace in enumerate(_traces()):
            result = _session(tmp_path / f"{name}-{k}", data, trace, abr)
            assert_never_drops(result)
            assert result.bytes_received == result.stream_bytes


def test_without_the_rule_a_dc_sweep_shows_drops(streams):
    """The decoded states themselves do drop (dc-only states of independently fitted LODs): the rule matters."""
    drops = 0
    for name, data in streams.items():
        dec = ProgressiveDecoder(data)
        index = dec.index
        reference = None
        pieces = []
        for j, layer in enumerate(index.layers):
            for c, ce in enumerate(layer.chunks):
                split = ce.dc_bytes < ce.full_bytes
                end = ce.offset + (ce.dc_bytes if split else ce.full_bytes)
                pieces.append((j, c, "add-dc" if split else "add-full", data[ce.offset : end]))
            for c, ce in enumerate(layer.chunks):
                if ce.dc_bytes < ce.full_bytes:
                    pieces.append((j, c, "upgrade", data[ce.offset + ce.dc_bytes : ce.offset + ce.full_bytes]))

        class P:  # the shape replay_states takes
            def __init__(self, t):
                self.layer, self.chunk, self.kind, self.data = t

        states = list(replay_states(data[: index.header_bytes], [P(t) for t in pieces]))
        reference = states[-1]
        values = [fidelity_psnr(reference, s, n_views=4, width=128, height=128)["psnr"] for s in states if len(s)]
        drops += sum(b < a - 0.05 for a, b in zip(values, values[1:]))
    assert drops > 0
