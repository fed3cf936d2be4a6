"""Load benchmark: many concurrent students over HTTP and WebRTC, with and without an offer flood, on loopback.

Run: ``python -m benchmarks.bench_load [--http 300] [--webrtc 50] [--ranges 4] [--json [PATH]]``

`splatcast serve DIR --webrtc` runs in a subprocess (its own event loop and core); this process plays the clients.
A stream of the built-in lab bench (~0.5 MB) is packaged into DIR. Each HTTP client opens its own connection and
fetches the MPD, then ``--ranges`` byte ranges of the stream; each WebRTC client signals from its own loopback
address (127.0.0.N, as students have their own) and fetches one range over the data channel. Every byte is checked
against the file. The flood: 8 concurrent requesters posting valid offers as fast as the server answers, from
127.0.0.2, for the whole phase. Printed per phase: time to first byte (HTTP: the MPD's first byte; WebRTC: offer
sent to the first frame) p50 / p99 / max, failures, wrong bytes, offers the flood got answered and refused.
``--json``: the splatcast-bench/1 document (benchmarks/_results.py), scenes ``no flood`` and ``with offer flood``
holding each phase's http / webrtc summaries and flood_answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


async def _http_client(url: str, data: bytes, ranges: int, i: int) -> tuple[float, bool]:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
        t0 = time.perf_counter()
        async with s.get(url + "manifest.mpd") as r:
            await r.content.readany()
            ttfb = time.perf_counter() - t0
            await r.read()
        ok = True
        step = len(data) // ranges
        for k in range(ranges):
            a = (i * 7919 + k * step) % (len(data) - 1)
            b = min(len(data), a + step)
            async with s.get(url + "scene.splc", headers={"Range": f"bytes={a}-{b - 1}"}) as r:
                ok &= r.status == 206 and await r.read() == data[a:b]
        return ttfb, ok


async def _webrtc_client(url: str, data: bytes, i: int) -> tuple[float, bool]:
    from splatcast.net.webrtc import WebRTCTransport

    t = WebRTCTransport(url, timeout_s=120, local_addr=f"127.0.0.{10 + i % 240}")
    try:
        t0 = time.perf_counter()
        a = (i * 104729) % (len(data) - 20000)
        body = await t.fetch("/scene.splc", (a, a + 20000))
        return time.perf_counter() - t0, body == data[a:a + 20000]
    finally:
        await t.close()


async def _flood(url: str, stop: asyncio.Event, counts: dict) -> None:
    import aiohttp
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    pc.createDataChannel("splatcast")
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}

    async def worker():
        conn = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=conn) as s:
            while not stop.is_set():
                try:
                    async with s.post(url + "webrtc/offer", json=offer) as r:
                        counts[r.status] = counts.get(r.status, 0) + 1
                except aiohttp.ClientError:
                    counts["error"] = counts.get("error", 0) + 1
    try:
        await asyncio.gather(*(worker() for _ in range(8)))
    finally:
        await pc.close()


async def _phase(url: str, data: bytes, args, flood: bool) -> dict:
    stop, counts = asyncio.Event(), {}
    flooder = asyncio.create_task(_flood(url, stop, counts)) if flood else None
    if flood:
        await asyncio.sleep(1.0)  # the flood is on before the students come
    t0 = time.perf_counter()
    http = await asyncio.gather(*(_http_client(url, data, args.ranges, i) for i in range(args.http)),
                                return_exceptions=True)
    http_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rtc = []
    for batch in range(0, args.webrtc, 10):  # ten handshakes at a time: a class arriving, not one instant
        clients = (_webrtc_client(url, data, i) for i in range(batch, min(args.webrtc, batch + 10)))
        rtc += await asyncio.gather(*clients, return_exceptions=True)
    rtc_s = time.perf_counter() - t0
    stop.set()
    if flooder:
        await flooder

    def summary(results, seconds):
        ok = [r for r in results if not isinstance(r, BaseException)]
        ttfb = [r[0] for r in ok]
        return {"clients": len(results), "failed": len(results) - len(ok),
                "wrong_bytes": sum(1 for r in ok if not r[1]), "seconds": round(seconds, 2),
                "ttfb_p50_ms": round(1e3 * _pct(ttfb, 0.5), 1), "ttfb_p99_ms": round(1e3 * _pct(ttfb, 0.99), 1),
                "ttfb_max_ms": round(1e3 * max(ttfb), 1) if ttfb else None,
                "errors": sorted({f"{type(r).__name__}: {str(r)[:80]}" for r in results
                                  if isinstance(r, BaseException)})}

    return {"flood": flood, "http": summary(http, http_s), "webrtc": summary(rtc, rtc_s),
            "flood_answers": {str(k): v for k, v in sorted(counts.items(), key=str)}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http", type=int, default=300)
    ap.add_argument("--webrtc", type=int, default=50)
    ap.add_argument("--ranges", type=int, default=4)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    bench = BenchResults("bench_load", args, argv)
    with bench.tables():
        _run(args, bench)
    bench.emit()
    return 0


def _run(args, bench: BenchResults) -> None:

    from splatcast.codec import EncoderConfig, encode
    from splatcast.dash.packager import package
    from splatcast.evaluate.layersets import importance_prefix_layers
    from splatcast.scene.default import lab_bench

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "scene.splc"
        data = encode(importance_prefix_layers(lab_bench(12000, 0), (0.25, 0.5, 1.0)), EncoderConfig(fidelity=False))
        src.write_bytes(data)
        pkg = Path(tmp) / "pkg"
        package(src, pkg)
        port = _free_port()
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        server = subprocess.Popen([sys.executable, "-m", "splatcast.cli.main", "serve", str(pkg), "--webrtc",
                                   "--quiet", "--port", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"server did not start: {server.stderr.read().decode()[-500:]}")
                    time.sleep(0.1)
            url = f"http://127.0.0.1:{port}/"
            results = [asyncio.run(_phase(url, data, args, flood)) for flood in (False, True)]
        finally:
            server.terminate()
            server.wait(10)
    print(f"stream {len(data):,} bytes; HTTP clients fetch the MPD and {args.ranges} ranges covering the stream, "
          "WebRTC clients one 20 kB range")
    for r in results:
        tag = "with offer flood" if r["flood"] else "no flood"
        bench.add(tag, r, seconds=r["http"]["seconds"] + r["webrtc"]["seconds"],
                  source=f"lab_bench(12000) stream of {len(data)} bytes served by `splatcast serve --webrtc`")
        for kind in ("http", "webrtc"):
            s = r[kind]
            print(f"{tag:16s} {kind:6s} {s['clients']:>4} clients in {s['seconds']:6.2f} s: TTFB p50 "
                  f"{s['ttfb_p50_ms']} ms, p99 {s['ttfb_p99_ms']} ms, max {s['ttfb_max_ms']} ms; "
                  f"failed {s['failed']}, wrong bytes {s['wrong_bytes']} {s['errors'][:2] if s['errors'] else ''}")
        if r["flood"]:
            print(f"{'':16s} flood answers: {r['flood_answers']}")


if __name__ == "__main__":
    raise SystemExit(main())
