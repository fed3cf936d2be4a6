"""The client against hostile servers and manifests (issue 12, finding 4): a huge Content-Length does not raise the
MPD cap, a stalled response ends in a NetworkError (not a raw TimeoutError), 16 MiB of empty <Period/> elements is
refused at once."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from splatcast.dash.mpd import MAX_MPD_BYTES, parse_mpd
from splatcast.errors import ManifestError, NetworkError
from splatcast.net.client import HttpTransport


async def _serve(handler):
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    return runner, f"http://127.0.0.1:{port}"


async def _fetch_expecting(handler, timeout_s: float, match: str, *fetch_args) -> float:
    """Fetch from a server running `handler`: it must fail with a NetworkError matching `match`; seconds taken."""
    runner, origin = await _serve(handler)
    client = HttpTransport(origin, timeout_s=timeout_s)
    try:
        t0 = time.monotonic()
        with pytest.raises(NetworkError, match=match):
            await client.fetch(*fetch_args)
        return time.monotonic() - t0
    finally:
        await client.close()
        await runner.cleanup()


def test_announced_length_beyond_the_cap_is_refused_before_reading():
    async def huge(request):
        resp = web.StreamResponse(headers={"Content-Length": str(2 * 1024**3)})
        await resp.prepare(request)
        for _ in range(64):  # it would go on; the client must not wait for (or buffer) 2 GiB
            await resp.write(b"<" * 65536)
        return resp

    elapsed = asyncio.run(_fetch_expecting(huge, 20, "announced", "/manifest.mpd", None, MAX_MPD_BYTES))
    assert elapsed < 5


def test_a_stalled_response_is_a_network_error():
    async def stall(request):
        resp = web.StreamResponse(status=206, headers={"Content-Length": "1000", "Content-Range": "bytes 0-999/1000"})
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        await asyncio.sleep(30)  # never finishes
        return resp

    elapsed = asyncio.run(asyncio.wait_for(_fetch_expecting(stall, 1.5, "sent nothing", "/scene.splc", (0, 1000)), 60))
    assert elapsed < 10


def test_a_manifest_of_a_million_empty_periods_is_refused_quickly():
    head = (b'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" minBufferTime="PT1S" '
            b'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" mediaPresentationDuration="PT1S">')
    body = head + b"<Period/>" * 1_000_000 + b"</MPD>"
    assert len(body) < MAX_MPD_BYTES
    t0 = time.perf_counter()
    with pytest.raises(ManifestError, match="elements"):
        parse_mpd(body)
    assert time.perf_counter() - t0 < 2.0  # was accepted after ~5-12 s
    with pytest.raises(ManifestError, match="Period"):
        parse_mpd(head + b"<Period/>" * 100 + b"</MPD>")
