"""The HTTP server on loopback: ranges, content types, CORS, confinement, concurrency, shaping, bad SDP."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import aiohttp
import numpy as np
import pytest
from splc_fake import make_fake_stream

from splatcast.dash.packager import package
from splatcast.net.server import start_server
from splatcast.net.traces import parse_trace


def run(coro, timeout_s: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


@pytest.fixture
def served(tmp_path):
    data, index = make_fake_stream((3, 4, 4), seed=0, mean_chunk_bytes=20000)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "scene.splc").write_bytes(data)
    root = tmp_path / "pkg"
    package(tmp_path / "src" / "scene.splc", root, index=index)
    (tmp_path / "secret.txt").write_text("outside")
    return root, data


async def raw_get(port: int, path: str, headers: str = "") -> tuple[int, bytes]:
    """A request line sent byte for byte (no client-side normalisation of '..')."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    return int(response.split(b" ", 2)[1]), response


async def _get(session, url, **kw):
    async with session.get(url, **kw) as r:
        return r.status, dict(r.headers), await r.read()


def test_ranges_types_and_cors(served):
    root, data = served

    async def main():
        server = await start_server(root)
        try:
            async with aiohttp.ClientSession() as s:
                u = server.url
                status, h, body = await _get(s, u + "scene.splc", headers={"Range": "bytes=10-99"})
                assert (status, body) == (206, data[10:100])
                assert h["Content-Range"] == f"bytes 10-99/{len(data)}" and h["Content-Length"] == "90"
                assert h["Content-Type"] == "application/octet-stream" and h["Accept-Ranges"] == "bytes"
                assert h["Access-Control-Allow-Origin"] == "*" and "Content-Range" in h["Access-Control-Expose-Headers"]
                assert (await _get(s, u + "scene.splc", headers={"Range": "bytes=-5"}))[2] == data[-5:]
                assert (await _get(s, u + "scene.splc", headers={"Range": f"bytes={len(data) - 3}-"}))[2] == data[-3:]
                status, h, body = await _get(s, u + "scene.splc", headers={"Range": f"bytes=0-{10 * len(data)}"})
                assert status == 206 and body == data  # last-byte-pos past the end is clamped
                status, h, body = await _get(s, u + "scene.splc")
                assert (status, body) == (200, data)
                status, h, body = await _get(s, u + "manifest.mpd")
                assert status == 200 and h["Content-Type"] == "application/dash+xml" and body.startswith(b"<?xml")
                async with s.head(u + "scene.splc", headers={"Range": "bytes=0-9"}) as r:
                    assert r.status == 206 and r.headers["Content-Length"] == "10" and await r.read() == b""
                async with s.options(u + "scene.splc") as r:
                    assert r.status == 204 and "Range" in r.headers["Access-Control-Allow-Headers"]
                # a unit the server does not know is ignored (RFC 9110): the whole file
                assert (await _get(s, u + "scene.splc", headers={"Range": "items=0-1"}))[0] == 200
        finally:
            await server.stop()

    run(main())


@pytest.mark.parametrize(
    "rng",
    ["bytes=999999999-", "bytes=5-2", "bytes=abc", "bytes=-0", "bytes=0-1,5-9", "bytes=-", "bytes=1-2-3",
     "bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "1" * 21],  # (int() of 4300+ digits: HTTP 500)
)
def test_bad_ranges_get_416_and_the_server_keeps_serving(served, rng):
    root, data = served

    async def main():
        server = await start_server(root)
        try:
            async with aiohttp.ClientSession() as s:
                status, h, _ = await _get(s, server.url + "scene.splc", headers={"Range": rng})
                assert status == 416 and h["Content-Range"] == f"bytes */{len(data)}"
                assert h["Access-Control-Allow-Origin"] == "*"
                assert (await _get(s, server.url + "scene.splc", headers={"Range": "bytes=0-3"}))[2] == data[:4]
        finally:
            await server.stop()

    run(main())


def test_paths_outside_the_directory_are_refused(served, tmp_path):
    root, data = served
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(root / "scene.splc", root / "link-in.splc")
    (root / "sub").mkdir()

    async def main():
        server = await start_server(root)
        try:
            for path in [
                "/../secret.txt",
                "/%2e%2e/secret.txt",
                "/sub/../../secret.txt",
                "/..%2fsecret.txt",
                "/link-out.txt",
                "/%2Fetc%2Fpasswd",
                "//etc/passwd",
                "/sub",
                "/missing.mpd",
                "/scene.splc%00.mpd",
            ]:
                status, response = await raw_get(server.port, path)
                assert 400 <= status < 500, (path, status)
                assert b"outside" not in response and b"root:" not in response
            status, response = await raw_get(server.port, "/link-in.splc")  # a link that stays inside is fine
            assert status == 200 and response.endswith(data)
        finally:
            await server.stop()

    run(main())


def test_fifty_concurrent_clients_get_every_byte_right(served):
    root, data = served
    rng = np.random.default_rng(0)
    ranges = []
    for _ in range(50):
        a = int(rng.integers(0, len(data) - 1))
        b = int(rng.integers(a + 1, min(len(data), a + 60000) + 1))
        ranges.append((a, b))

    async def client(url, a, b):
        async with aiohttp.ClientSession() as s:  # one connection per client
            got = []
            for lo in range(a, b, 7000):  # several range requests per client
                hi = min(b, lo + 7000)
                status, _, body = await _get(s, url, headers={"Range": f"bytes={lo}-{hi - 1}"})
                assert status == 206
                got.append(body)
            return b"".join(got)

    async def main():
        server = await start_server(root)
        try:
            t0 = time.perf_counter()
            bodies = await asyncio.gather(*(client(server.url + "scene.splc", a, b) for a, b in ranges))
            elapsed = time.perf_counter() - t0
        finally:
            await server.stop()
        return bodies, elapsed

    bodies, elapsed = run(main(), timeout_s=60)
    for (a, b), body in zip(ranges, bodies):
        assert body == data[a:b]
    assert elapsed < 30


def test_server_side_shaping_follows_the_trace(served):
    root, _ = served
    data = np.random.default_rng(5).integers(0, 256, 400_000, dtype=np.uint8).tobytes()
    (root / "big.bin").write_bytes(data)
    trace = parse_trace("0 1\n0.5 4\n")  # 1 Mbit/s for 0.5 s, then 4 Mbit/s for 0.5 s, looping: mean 2.5 Mbit/s

    async def main():
        server = await start_server(root, trace=trace)
        try:
            async with aiohttp.ClientSession() as s:
                t0 = time.perf_counter()
                status, _, body = await _get(s, server.url + "big.bin", headers={"Range": "bytes=0-299999"})
                elapsed = time.perf_counter() - t0
        finally:
            await server.stop()
        return status, body, elapsed

    status, body, elapsed = run(main())
    assert status == 206 and body == data[:300000]
    expected = trace.time_for_bits(0.0, 300000 * 8 - 16384 * 8)  # the first burst goes at once
    assert expected == pytest.approx(0.96, abs=0.02)
    assert expected * 0.9 - 0.02 < elapsed < expected * 1.1 + 0.25


def test_malformed_sdp_gets_400_and_the_server_keeps_serving(served):
    root, data = served

    async def main():
        server = await start_server(root, webrtc=True)
        try:
            async with aiohttp.ClientSession() as s:
                url = server.url + "webrtc/offer"
                for body in [
                    b"not json",
                    b"{}",
                    b'{"type": "answer", "sdp": "v=0"}',
                    b'{"type": "offer", "sdp": 5}',
                    b'{"type": "offer", "sdp": "v=0\\r\\nthis is not sdp\\r\\n"}',
                    b'{"type": "offer", "sdp": "v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\ns=-\\r\\nt=0 0\\r\\n'
                    b'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\n"}',
                ]:
                    async with s.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                        assert r.status == 400, (body, r.status, await r.text())
                async with s.post(url, data=b"x" * 100_000) as r:
                    assert r.status == 413
                assert (await _get(s, server.url + "scene.splc", headers={"Range": "bytes=0-3"}))[2] == data[:4]
        finally:
            await server.stop()

    run(main())


def test_server_port_is_released_after_stop(served):
    root, _ = served

    async def main():
        server = await start_server(root)
        port = server.port
        await server.stop()
        return port

    port = run(main())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_serve_cli_starts_answers_and_stops(served):
    """`splatcast serve DIR --port 0` in a subprocess: it announces its URL on stderr and serves the MPD."""
    import subprocess
    import sys
    import urllib.request

    root, _ = served
    proc = subprocess.Popen(
        [sys.executable, "-m", "splatcast.cli.main", "serve", str(root), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()  # "serving DIR at http://127.0.0.1:PORT/ ..."
        url = line.split(" at ", 1)[1].split()[0].rstrip(",")
        with urllib.request.urlopen(url + "manifest.mpd", timeout=10) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/dash+xml"
    finally:
        proc.terminate()
        proc.wait(10)


def test_slowloris_connections_are_closed_and_others_served(served):
    """100 connections dripping header bytes (issue 12, finding 8: they stayed open indefinitely) are closed after
    the idle timeout, and a normal client is served meanwhile."""
    root, data = served

    async def main():
        server = await start_server(root, idle_timeout_s=1.0)
        conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(100)]
        try:
            for _, w in conns:
                w.write(b"GET /scene.splc HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            async with aiohttp.ClientSession() as s:
                assert (await _get(s, server.url + "scene.splc", headers={"Range": "bytes=0-3"}))[2] == data[:4]
            open_after = None
            for _ in range(40):
                await asyncio.sleep(0.25)
                for _, w in conns:
                    if not w.is_closing():
                        w.write(b"X-Drip: 1\r\n")  # keep dripping: the timer is not reset by partial headers
                if all(r.at_eof() for r, _ in conns):
                    open_after = time.monotonic() - t0
                    break
            assert open_after is not None and open_after < 4.0, open_after
        finally:
            for _, w in conns:
                w.close()
            await server.stop()

    run(main())


def test_connections_beyond_the_cap_get_503_and_the_server_keeps_serving(tmp_path):
    """Idle connections cannot exhaust the server: over the cap a new connection is answered 503 and closed;
    once one closes, requests are served again."""
    import socket as socketlib

    (tmp_path / "a.bin").write_bytes(b"0123456789")

    async def main():
        from splatcast.net.server import start_server

        server = await start_server(tmp_path, max_connections=4)
        loop = asyncio.get_running_loop()
        idle = []
        try:
            for _ in range(4):
                s = socketlib.create_connection(("127.0.0.1", server.port))
                idle.append(s)
            await asyncio.sleep(0.2)  # let the server accept them

            def ask():
                with socketlib.create_connection(("127.0.0.1", server.port), timeout=5) as c:
                    c.sendall(b"GET /a.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while chunk := c.recv(4096):
                        data += chunk
                    return data

            over = await loop.run_in_executor(None, ask)
            assert over.startswith(b"HTTP/1.1 503") and server.refused_connections == 1
            idle.pop().close()
            await asyncio.sleep(0.2)
            ok = await loop.run_in_executor(None, ask)
            assert ok.startswith(b"HTTP/1.1 200") and ok.endswith(b"0123456789")
        finally:
            for s in idle:
                s.close()
            await server.stop()

    asyncio.run(main())
