"""serve + play on loopback (HTTP and WebRTC), the simulated link, the CLI; real codec streams and a fake one."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from splc_fake import FakeCodec, make_fake_stream

from splatcast.dash.packager import package
from splatcast.net.abr import ABRS, make_abr
from splatcast.net.client import HttpTransport, play_stream, split_url
from splatcast.net.server import start_server
from splatcast.net.simulate import SimTransport, VirtualClock, simulate_sizes
from splatcast.net.traces import Trace, parse_trace


JSON_KEYS = {"time_to_first_render_s", "time_to_full_s", "layer_times_s", "bytes_received", "stream_bytes", "timeline"}
ROW_KEYS = {"t_s", "bytes", "layer", "chunk", "gaussians"}


def run(coro, timeout_s: float = 90.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


def bit_equal(a, b) -> bool:
    pairs = zip(a.arrays().values(), b.arrays().values())
    return len(a) == len(b) and all(x.tobytes() == y.tobytes() for x, y in pairs)


def assert_pieces_cover_file_once(result, header_bytes: int, total_bytes: int):
    """Every byte after the header fetched exactly once: sorted piece ranges tile [header_bytes, total)."""
    spans = sorted((p.start, p.end) for p in result.pieces)
    pos = header_bytes
    for start, end in spans:
        assert start == pos, f"gap or overlap at {pos}: next piece starts at {start}"
        pos = end
    assert pos == total_bytes
    assert result.bytes_received == total_bytes == result.stream_bytes


def _package(tmp_path, data, index=None):
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "scene.splc").write_bytes(data)
    root = tmp_path / "pkg"
    package(tmp_path / "src" / "scene.splc", root, index=index)
    return root


def test_http_play_at_10_mbit_decodes_bit_exactly(tmp_path, real_stream):
    from splatcast.codec import decode, read_index
    from splatcast.net.client import CodecAdapter

    CodecAdapter.warm_up()
    root = _package(tmp_path, real_stream)
    index = read_index(real_stream)

    async def main():
        server = await start_server(root)
        origin, path = split_url(server.url)
        transport = HttpTransport(origin, trace=parse_trace("0 10\n"))
        try:
            return await play_stream(transport, path)
        finally:
            await transport.close()
            await server.stop()

    result = run(main())
    assert bit_equal(result.final_cloud, decode(real_stream))
    assert_pieces_cover_file_once(result, index.header_bytes, len(real_stream))
    out = json.loads(json.dumps(result.to_json()))
    assert JSON_KEYS <= set(out)
    assert all(ROW_KEYS <= set(row) for row in out["timeline"])
    times = [row["t_s"] for row in out["timeline"]]
    assert times == sorted(times) and out["time_to_first_render_s"] == times[0] > 0
    assert out["layer_times_s"] == sorted(out["layer_times_s"]) and out["time_to_full_s"] == out["layer_times_s"][-1]
    assert out["timeline"][-1]["gaussians"] == len(result.final_cloud) == index.layers[-1].gaussians
    # 10 Mbit/s: the whole stream (plus the MPD) cannot arrive sooner than the link allows
    floor_s = (len(real_stream) + out["manifest_bytes"] - 2 * 16384) * 8 / 10e6
    assert floor_s < out["time_to_full_s"] < floor_s + 3.0


@pytest.mark.parametrize("abr", sorted(ABRS))
def test_every_abr_fetches_each_byte_once_in_decoder_order(tmp_path, abr):
    data, index = make_fake_stream((3, 5, 4), seed=7, mean_chunk_bytes=4000)
    root = _package(tmp_path, data, index)

    async def main():
        server = await start_server(root)
        origin, path = split_url(server.url)
        transport = HttpTransport(origin)
        try:
            return await play_stream(transport, path, codec=FakeCodec, abr=make_abr(abr))
        finally:
            await transport.close()
            await server.stop()

    result = run(main())
    assert_pieces_cover_file_once(result, index.header_bytes, len(data))
    # the fake decoder checked order and sizes; the bytes it got are the file's
    assert b"".join(p.data for p in sorted(result.pieces, key=lambda p: p.start)) == data[index.header_bytes :]
    refines = {row["refine"] for row in result.timeline if row["layer"] > 0 and row["kind"] == "add"}
    if abr == "dc-first":
        assert refines == {"dc"}
    if abr == "full":
        assert refines == {"full"} and all(row["kind"] == "add" for row in result.timeline)


def test_throughput_abr_takes_dc_parts_on_a_slow_link_and_full_chunks_on_a_fast_one():
    _, index = make_fake_stream((2, 6), seed=3, mean_chunk_bytes=50_000)
    slow = simulate_sizes(index, Trace.constant(0.5), make_abr("throughput"))
    fast = simulate_sizes(index, Trace.constant(500), make_abr("throughput"))
    assert {r["refine"] for r in slow["timeline"] if r["layer"] == 1 and r["kind"] == "add"} == {"dc"}
    assert {r["refine"] for r in fast["timeline"] if r["layer"] == 1} == {"full"}


def test_simulated_timeline_is_exact_on_a_constant_link():
    _, index = make_fake_stream((3, 4), seed=1)
    out = simulate_sizes(index, Trace.constant(10), make_abr("full"), baseline_bytes={"top.splc": 123_456})
    mpd_bytes = out["manifest_bytes"]
    assert out["time_to_full_s"] == pytest.approx((mpd_bytes + index.total_bytes) * 8 / 10e6)
    first = index.header_bytes + index.layers[0].chunks[0].full_bytes
    assert out["time_to_first_render_s"] == pytest.approx((mpd_bytes + first) * 8 / 10e6)
    assert out["baselines"]["top.splc"]["time_to_render_s"] == pytest.approx(123_456 * 8 / 10e6)
    again = simulate_sizes(index, Trace.constant(10), make_abr("full"), baseline_bytes={"top.splc": 123_456})
    assert again == out  # deterministic


def test_simulated_transport_runs_the_real_client_and_decoder(tmp_path, real_stream, pensieve_dir):
    from splatcast.codec import decode

    root = _package(tmp_path, real_stream)
    trace_path = sorted((pensieve_dir / "norway_train").iterdir())[0]
    from splatcast.net.traces import load_trace

    trace = load_trace(trace_path, scale=10)

    async def main():
        clock = VirtualClock(count_compute=False)
        return await play_stream(SimTransport(root, trace, clock), "/manifest.mpd", clock=clock)

    result = run(main())
    assert bit_equal(result.final_cloud, decode(real_stream))
    # network-only virtual time: the session ends exactly when the trace has carried every byte
    total_bits = (result.manifest_bytes + result.bytes_received) * 8
    assert result.time_to_full_s == pytest.approx(trace.time_for_bits(0.0, total_bits))


@pytest.fixture
def loopback_ice(monkeypatch):
    """Gather ICE host candidates on 127.0.0.1 only: the test needs no network interface besides loopback."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


def test_webrtc_delivers_the_same_bytes_as_http(tmp_path, loopback_ice):
    from splatcast.net.webrtc import WebRTCTransport

    data, index = make_fake_stream((2, 3), seed=11, mean_chunk_bytes=40_000)  # ranges span many 16 KiB frames
    root = _package(tmp_path, data, index)
    ranges = [None, (0, 1), (5, 16368), (5, 16369), (100, 70_000), (len(data) - 10, len(data))]

    async def main():
        server = await start_server(root, webrtc=True)
        origin, path = split_url(server.url)
        http, rtc = HttpTransport(origin), WebRTCTransport(origin, timeout_s=30)
        try:
            await rtc.connect()
            pairs = []
            for rng in ranges:
                pairs.append((await http.fetch("/scene.splc", rng), await rtc.fetch("/scene.splc", rng)))
            result = await play_stream(rtc, path, codec=FakeCodec)
            errors = []
            for bad in [("/../secret", None), ("/scene.splc", (0, len(data) + 1)), ("/nothing", None)]:
                try:
                    await rtc.fetch(*bad)
                except Exception as exc:  # noqa: BLE001 - the message is what is checked
                    errors.append(str(exc))
            still = await rtc.fetch("/scene.splc", (0, 4))  # the channel survives errors
            return pairs, result, errors, still
        finally:
            await rtc.close()
            await http.close()
            await server.stop()

    pairs, result, errors, still = run(main(), timeout_s=60)
    for (h, w), rng in zip(pairs, ranges):
        assert h == w == (data if rng is None else data[rng[0] : rng[1]])
    assert_pieces_cover_file_once(result, index.header_bytes, len(data))
    assert "403" in errors[0] and "416" in errors[1] and "404" in errors[2]
    assert still == data[:4]


MUTATIONS = {
    "setup": ("a=setup", "a=setup:bogus"),
    "sctp-port": ("a=sctp-port", "a=sctp-port:xyz"),
    "fingerprint": ("a=fingerprint", "a=fingerprint:sha-256"),
    "candidate": ("a=candidate", "a=candidate:garbage"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_webrtc_offer_that_aiortc_cannot_apply_gets_400(tmp_path, loopback_ice, mutation):
    import aiohttp
    from aiortc import RTCPeerConnection

    data, index = make_fake_stream((1,), seed=2)
    root = _package(tmp_path, data, index)

    async def main():
        server = await start_server(root, webrtc=True)
        pc = RTCPeerConnection()
        try:
            pc.createDataChannel("x")
            await pc.setLocalDescription(await pc.createOffer())
            prefix, replacement = MUTATIONS[mutation]
            sdp = "\r\n".join(
                replacement if line.startswith(prefix) else line
                for line in pc.localDescription.sdp.split("\r\n")
            )
            async with aiohttp.ClientSession() as s:
                async with s.post(server.url + "webrtc/offer", json={"type": "offer", "sdp": sdp}) as r:
                    status = r.status
                async with s.get(server.url + "scene.splc") as r:
                    body = await r.read()
            return status, body
        finally:
            await pc.close()
            await server.stop()

    status, body = run(main(), timeout_s=60)
    assert status == 400 and body == data


def test_play_cli_simulated_json(tmp_path, real_stream, capsys):
    from splatcast.cli.main import main

    root = _package(tmp_path, real_stream)
    trace = tmp_path / "c10.txt"
    trace.write_text("0 10\n")
    out = tmp_path / "out.json"
    argv = ["play", str(root), "--simulate", "--trace", str(trace), "--no-psnr", "--json-out", str(out)]
    assert main(argv + ["--save", str(tmp_path / "final.ply")]) == 0
    result = json.loads(out.read_text())
    assert JSON_KEYS <= set(result) and result["bytes_received"] == result["stream_bytes"] == len(real_stream)
    assert (tmp_path / "final.ply").stat().st_size > 0
    assert main(["play", str(root), "--simulate", "--no-psnr"]) == 2  # --simulate needs a trace
    assert main(["play", "ftp://x/manifest.mpd", "--no-psnr"]) == 2


def test_play_cli_over_http_with_fidelity(tmp_path, real_stream):
    """The CLI against an in-process server, psnr of each state computed after the run."""
    import threading

    from splatcast.cli.main import main

    root = _package(tmp_path, real_stream)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    def serve():
        asyncio.set_event_loop(loop)
        box["server"] = loop.run_until_complete(start_server(root))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        out = tmp_path / "out.json"
        t0 = time.perf_counter()
        url = box["server"].url + "manifest.mpd"
        argv = ["play", url, "--json-out", str(out), "--psnr-views", "2", "--psnr-size", "48"]
        assert main(argv) == 0
        assert time.perf_counter() - t0 < 60
    finally:
        asyncio.run_coroutine_threadsafe(box["server"].stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    rows = json.loads(out.read_text())["timeline"]
    assert rows[-1]["psnr_db"] is None  # the final state is the reference itself
    psnrs = [r["psnr_db"] for r in rows[:-1]]
    assert all(p is not None and 5 < p < 200 for p in psnrs)
    assert psnrs[-1] > psnrs[0]  # refinement brings the view closer to the final model


@pytest.mark.parametrize(
    "mutate,error",
    [
        (lambda root: (root / "manifest.mpd").write_bytes(b"<MPD>not an mpd"), "ManifestError"),
        (lambda root: (root / "scene.splc").unlink(), "NetworkError"),
        (lambda root: (root / "scene.splc").write_bytes(b"\0" * 50), "NetworkError"),
    ],
)
def test_client_reports_bad_servers_with_project_errors(tmp_path, mutate, error):
    data, index = make_fake_stream((2, 2), seed=5)
    root = _package(tmp_path, data, index)
    (root / "scene.splc").unlink()  # the package hard-linked the source: replace, do not write through
    (root / "scene.splc").write_bytes(data)
    mutate(root)

    async def main():
        server = await start_server(root)
        origin, path = split_url(server.url)
        transport = HttpTransport(origin)
        try:
            return await play_stream(transport, path, codec=FakeCodec)
        finally:
            await transport.close()
            await server.stop()

    with pytest.raises(Exception) as info:
        run(main())
    assert type(info.value).__name__ == error, info.value
