"""The WebRTC endpoint under hostile clients (issue 12, finding 3): an offer flood from one address cannot lock
legitimate clients out, unfinished handshakes are reaped, request ids like 1e999 get an error frame, ICE uses
the listening address only and no third-party STUN server."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from splc_fake import make_fake_stream

from splatcast.dash.packager import package
from splatcast.net.server import start_server
from splatcast.net.webrtc import Frame, WebRTCConfig, WebRTCTransport

pytest.importorskip("aiortc")


def run(coro, timeout_s: float = 90.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


@pytest.fixture
def root(tmp_path):
    data, index = make_fake_stream((1, 2), seed=5)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "scene.splc").write_bytes(data)
    package(tmp_path / "src" / "scene.splc", tmp_path / "pkg", index=index)
    return tmp_path / "pkg", data


async def _offer_sdp() -> tuple[object, dict]:
    """A valid offer from a peer that will never complete the handshake (the attacker's)."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection(configuration=WebRTCConfig().rtc_configuration())
    pc.createDataChannel("splatcast")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, {"type": "offer", "sdp": pc.localDescription.sdp}


def test_offer_flood_from_one_address_does_not_lock_out_others(root):
    pkg, data = root
    config = WebRTCConfig(host="127.0.0.1", handshake_timeout_s=1.0)

    async def main():
        server = await start_server(pkg, webrtc=config)
        attacker, offer = await _offer_sdp()
        try:
            # the flood comes from 127.0.0.2 (all of 127/8 is loopback), the student from 127.0.0.1
            flood = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
            statuses = []
            async with aiohttp.ClientSession(connector=flood) as s:
                for _ in range(60):
                    async with s.post(server.url + "webrtc/offer", json=offer) as r:
                        statuses.append(r.status)
            assert statuses.count(200) == config.max_pending_per_address, statuses
            assert set(statuses) == {200, 429}
            student = WebRTCTransport(server.url, timeout_s=20)
            try:
                assert await student.fetch("/scene.splc", (0, 100)) == data[:100]
            finally:
                await student.close()
            # the attacker's unfinished handshakes are reaped within seconds: its address may offer again
            await asyncio.sleep(config.handshake_timeout_s + 1.5)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as s:
                async with s.post(server.url + "webrtc/offer", json=offer) as r:
                    assert r.status == 200, await r.text()
        finally:
            await attacker.close()
            await server.stop()

    run(main())


def test_request_fields_are_validated_with_an_error_frame(root):
    pkg, data = root

    async def main():
        server = await start_server(pkg, webrtc=True)
        client = WebRTCTransport(server.url, timeout_s=20)
        try:
            await client.connect()
            for raw in ['{"id": 1e999, "path": "/scene.splc", "range": null}',  # was an uncaught OverflowError
                        '{"id": true, "path": "/scene.splc"}', '{"id": -1, "path": "/scene.splc"}',
                        '{"id": 7, "path": 5}', '{"id": 7, "path": "/scene.splc", "range": [0, 1.5]}',
                        '{"id": 7, "path": "/scene.splc", "range": [0, ' + "9" * 5000 + "]}", "[" * 5000]:
                client.channel.send(raw)
                frame = Frame.parse(await asyncio.wait_for(client._queue.get(), 10))
                assert frame.status in (400, 416) and frame.last, (raw[:40], frame, frame.payload)
            assert await client.fetch("/scene.splc", (3, 9)) == data[3:9]  # and the channel still serves
        finally:
            await client.close()
            await server.stop()

    run(main())


def test_ice_uses_the_listening_address_and_no_stun_server(root):
    pkg, _ = root
    assert WebRTCConfig().rtc_configuration().iceServers == []  # aiortc's own default is a public STUN server

    async def main():
        server = await start_server(pkg, host="127.0.0.1", webrtc=True)
        pc, offer = await _offer_sdp()
        try:
            async with aiohttp.ClientSession() as s:
                async with s.post(server.url + "webrtc/offer", json=offer) as r:
                    answer = await r.json()
        finally:
            await pc.close()
            await server.stop()
        hosts = re.findall(r"a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ (\w+)", answer["sdp"])
        assert hosts and all(ip == "127.0.0.1" and kind == "host" for ip, kind in hosts), hosts

    run(main())


def test_serve_cli_passes_ice_servers():
    from splatcast.cli.main import build_parser

    args = build_parser().parse_args(["serve", ".", "--webrtc", "--ice-server", "stun:stun.example:3478"])
    assert args.ice_server == ["stun:stun.example:3478"] and args.ice_username is None


def test_a_deeply_nested_offer_body_gets_a_400(root):
    """json.loads raises RecursionError past ~1000 levels, which the offer handler did not catch (HTTP 500)."""
    pkg, _ = root

    async def main():
        server = await start_server(pkg, webrtc=True)
        try:
            async with aiohttp.ClientSession() as s:
                async with s.post(server.url + "webrtc/offer", data="[" * 5000,
                                  headers={"Content-Type": "application/json"}) as r:
                    assert r.status == 400, (r.status, await r.text())
        finally:
            await server.stop()

    run(main())
