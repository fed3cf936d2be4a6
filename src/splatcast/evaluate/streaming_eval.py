"""Streaming under bandwidth traces: time to first render, time to full quality and quality over time.

The layer set is coded once (scalable + VQ). For each trace the client's own session logic runs over a simulated
link (``splatcast.net.simulate.simulate_sizes``: chunk sizes from the container index, no sockets, no compute
time), with the non-scalable baselines simulated on the same trace from time 0: the whole top layer as one file of
splatcast's single-layer coding and as SPZ, rendered only once fully downloaded. Quality over time replays the
session's pieces (the same byte ranges, in the same order) through the real ProgressiveDecoder and renders
each state (fidelity PSNR against the original top layer; at most ``MAX_RENDERED_STATES`` states per trace).

Traces: a constant 10 Mbit/s, and Pensieve FCC / Norway HSDPA traces from ../shared scaled by
``config.trace_scale`` (their means are 0.2-2.8 Mbit/s).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from splatcast.codec import EncoderConfig, encode
from splatcast.codec.container import read_index
from splatcast.evaluate.common import BenchConfig, Unavailable, finite_or_none, log
from splatcast.evaluate.layersets import LayerSet
from splatcast.net.abr import make_abr
from splatcast.net.client import CodecAdapter, Piece, replay_states
from splatcast.net.simulate import simulate_sizes
from splatcast.net.traces import Trace, load_trace
from splatcast.scene.formats import write_scene

MAX_RENDERED_STATES = 24
ABR = "throughput"
LATENCY_S = 0.0  # the traces carry throughput only; the simulator's default adds no request latency
RTT_S = 0.02  # a second run per trace adds this per request, to show what sequential requests cost


def traces(config: BenchConfig) -> list[tuple[str, object]]:
    """[(name, Trace)]: constant 10 Mbit/s first, then Pensieve traces when ../shared has them."""
    out = [("constant 10 Mbit/s", Trace.constant(10.0))]
    root = config.shared_root / "data" / "traces" / "pensieve"
    picks = [("fcc_train", 1 if config.quick else 2), ("norway_train", 0 if config.quick else 1)]
    for folder, count in picks:
        files = sorted((root / folder).glob("*")) if (root / folder).is_dir() else []
        for path in files[:count]:
            out.append((f"{folder}/{path.name} x{config.trace_scale:g}", load_trace(path, scale=config.trace_scale)))
    return out


def _pieces(timeline: list[dict], index, data: bytes) -> list[Piece]:
    """The byte ranges the session fetched, rebuilt from its timeline and the index (what simulate_sizes did)."""
    pieces = []
    for row in timeline:
        chunk = index.layers[row["layer"]].chunks[row["chunk"]]
        if row["kind"] == "upgrade":
            start, end, kind = chunk.offset + chunk.dc_bytes, chunk.offset + chunk.full_bytes, "upgrade"
        else:
            n = chunk.dc_bytes if row["refine"] == "dc" else chunk.full_bytes
            start, end, kind = chunk.offset, chunk.offset + n, "add-" + row["refine"]
        pieces.append(Piece(row["layer"], row["chunk"], kind, start, end, data[start:end]))
    return pieces


def _baseline(res: dict, name: str) -> dict:
    base = res.get("baselines") or {}
    return base.get(name) or base.get("/" + name) or {}


def run(layer_set: LayerSet, config: BenchConfig) -> dict:
    layers, top = list(layer_set.layers), layer_set.top
    data = encode(layers, EncoderConfig(mode="scalable", vq="auto"))
    index = read_index(data)
    header = data[: index.header_bytes]
    single = encode([top], EncoderConfig(mode="scalable"))
    with tempfile.TemporaryDirectory(prefix="splatcast-stream-") as tmp:
        spz = Path(tmp) / "top.spz"
        write_scene(top, spz)
        spz_bytes = spz.stat().st_size
    baselines = {"top.splc": len(single), "top.spz": spz_bytes}
    fidelity = layer_set.fidelity(config.fidelity_views, config.fidelity_size)
    runs = []
    for name, trace in traces(config):
        try:
            res = simulate_sizes(index, trace, make_abr(ABR), latency_s=LATENCY_S, baseline_bytes=baselines)
        except Exception as exc:  # noqa: BLE001 - one trace failing leaves the others
            runs.append({"trace": name, "status": "error", "reason": f"{type(exc).__name__}: {exc}"})
            continue
        try:
            res_rtt = simulate_sizes(index, trace, make_abr(ABR), latency_s=RTT_S, baseline_bytes=baselines)
        except Exception:  # noqa: BLE001 - the latency variant is extra information only
            res_rtt = {}
        timeline = res["timeline"]
        pieces = _pieces(timeline, index, data)
        chosen = set()
        if timeline:
            picks = np.linspace(0, len(timeline) - 1, min(len(timeline), MAX_RENDERED_STATES))
            chosen = set(picks.round().astype(int).tolist())
        quality = []
        for i, cloud in enumerate(replay_states(header, pieces, CodecAdapter)):
            if i in chosen:
                row = timeline[i]
                quality.append({"t_s": row["t_s"], "bytes": row["bytes"], "layer": row["layer"], "chunk": row["chunk"],
                                "gaussians": len(cloud), "psnr": finite_or_none(fidelity.psnr(cloud))})
        b_splc, b_spz = _baseline(res, "top.splc"), _baseline(res, "top.spz")
        first = res.get("time_to_first_render_s")
        full = res.get("time_to_full_s")
        baseline_s = b_splc.get("time_to_render_s")
        runs.append(
            {
                "trace": name,
                "status": "ok",
                "reason": None,
                "time_to_first_render_s": first,
                "time_to_full_s": full,
                "layer_times_s": res.get("layer_times_s"),
                "bytes_received": res.get("bytes_received"),
                "stream_bytes": res.get("stream_bytes"),
                "baseline_full_download_s": baseline_s,
                "baseline_spz_s": b_spz.get("time_to_render_s"),
                "first_render_speedup": (baseline_s / first) if first and baseline_s else None,
                "full_vs_baseline": (full / baseline_s) if full and baseline_s else None,
                "with_rtt": {
                    "rtt_s": RTT_S,
                    "time_to_first_render_s": res_rtt.get("time_to_first_render_s"),
                    "time_to_full_s": res_rtt.get("time_to_full_s"),
                    "baseline_full_download_s": _baseline(res_rtt, "top.splc").get("time_to_render_s"),
                    "requests": res_rtt.get("requests"),
                },
                "final_psnr": quality[-1]["psnr"] if quality else None,
                "quality_timeline": quality,
                "timeline_rows": len(timeline),
            }
        )
        log(config, f"streaming {layer_set.name} {name}: first render {first} s, full {full} s")
    if not runs:
        raise Unavailable("no trace available")
    return {
        "abr": ABR,
        "latency_s": LATENCY_S,
        "baseline_bytes": baselines,
        "runs": runs,
        "notes": [
            "simulated link (splatcast.net.simulate.simulate_sizes); decode time not added to the clock",
            f"request latency 0 in the table; with {RTT_S * 1000:.0f} ms per request see with_rtt in results.json",
        ],
    }
