"""The same files over a WebRTC data channel (aiortc), signalled over HTTP on the serving app.

Signalling: ``POST /webrtc/offer`` with JSON ``{"type": "offer", "sdp": "..."}`` (what a browser's
``RTCPeerConnection.localDescription`` serialises to); the answer comes back as ``{"type": "answer", "sdp": ...}``
once ICE gathering is complete (no trickle). A body that is not such JSON or whose SDP aiortc cannot apply gets a
400 and the server goes on serving.

Channel: the client opens one data channel labelled ``splatcast``, **reliable and ordered** (no maxRetransmits /
maxPacketLifeTime): every byte of the bitstream is needed, in decoding order, so partial reliability buys nothing
here; the latency win over HTTP comes from SCTP over UDP without a TCP+HTTP request per range and without
head-of-line blocking across channels.

Messages: a request (:class:`Request`) is a text message, JSON
``{"id": u32, "path": "/x.splc", "range": [start, end_exclusive]}`` (``range`` may be null for the whole file). A
response is a sequence of binary messages (:class:`Frame`), each at most :data:`MAX_MESSAGE_BYTES` = 16 KiB (the
size every WebRTC stack interoperates with; larger messages are not portable), made of a 16-byte header
``<u32 id, u16 status, u8 flags (bit 0: last), u8 reserved, u64 total>`` (little-endian; ``total`` = the body's full
length) followed by payload bytes. Status 200/206 carry data; a 4xx carries a UTF-8 message in one message. Because
the channel is ordered, the receiver appends payloads in arrival order and checks the sum against ``total``. Shaping
(``--trace``) applies one token bucket per peer connection.

Limits (:class:`WebRTCConfig`, docs/streaming.md "Limits"): at most ``max_peers`` peer connections; an offer
whose connection is not up within ``handshake_timeout_s`` is closed (so offers that never complete cannot fill the
table), a connected peer idle for ``idle_timeout_s`` too; per client address at most ``max_pending_per_address``
unfinished handshakes and ``offer_burst`` offers, refilled at ``offers_per_s`` (429 beyond). ICE gathers host
candidates on the address the server listens on only (every interface for 0.0.0.0 / ::) and uses no STUN or TURN
server unless configured (``serve --ice-server``): nothing is sent to a third party by default.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from splatcast.errors import NetworkError
from splatcast.net.files import RequestError, check_range, file_size, read_pieces, resolve_path
from splatcast.net.shaping import TraceShaper
from splatcast.net.traces import Trace
from splatcast.net.transport import Clock, RealClock

MAX_MESSAGE_BYTES = 16 * 1024
FRAME = struct.Struct("<IHBBQ")
PAYLOAD_BYTES = MAX_MESSAGE_BYTES - FRAME.size
FLAG_LAST = 1
CHANNEL_LABEL = "splatcast"
MAX_OFFER_BYTES = 64 * 1024
OFFER_BODY_TIMEOUT_S = 10.0  # a slowly dripped offer body is answered 408
# an offer we can answer has a data-channel section, ICE credentials and a DTLS fingerprint
_REQUIRED_SDP = ("m=application", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")
MAX_REQUEST_ID = 0xFFFFFFFF
MAX_TRACKED_ADDRESSES = 4096  # offer-rate buckets kept; the least recently used are dropped beyond
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
# backpressure: stop queueing into SCTP above HIGH, resume below LOW (aiortc buffers without limit otherwise)
BUFFER_HIGH = 1 << 20
BUFFER_LOW = 256 * 1024


@dataclass(frozen=True)
class Frame:
    """One binary message of a response: the 16-byte header, then ``payload`` (a piece of the body, or the whole
    UTF-8 message of a 4xx)."""

    request_id: int
    status: int
    last: bool
    total: int  # the body's full length
    payload: bytes = field(default=b"", repr=False)

    @classmethod
    def parse(cls, message) -> Frame:
        """A received message -> Frame; anything that is not one (text, short, oversized) is a NetworkError."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise NetworkError(f"data channel: expected a binary frame, got a {type(message).__name__} message")
        if len(message) < FRAME.size:
            raise NetworkError(
                f"data channel: frame of {len(message)} bytes is shorter than the {FRAME.size}-byte header")
        if len(message) > MAX_MESSAGE_BYTES:
            raise NetworkError(f"data channel: frame of {len(message)} bytes exceeds {MAX_MESSAGE_BYTES}")
        rid, status, flags, _res, total = FRAME.unpack_from(message, 0)
        return cls(rid, status, bool(flags & FLAG_LAST), total, bytes(message[FRAME.size :]))

    def __bytes__(self) -> bytes:
        return FRAME.pack(self.request_id, self.status, FLAG_LAST if self.last else 0, 0, self.total) + self.payload


def encode_frames(request_id: int, status: int, body_pieces, total: int):
    """Yield the binary messages of one response (payload pieces must be <= PAYLOAD_BYTES each)."""
    pending = None  # hold one piece back so the last frame can carry FLAG_LAST
    for piece in body_pieces:
        if pending is not None:
            yield bytes(Frame(request_id, status, False, total, pending))
        pending = piece
    yield bytes(Frame(request_id, status, True, total, pending or b""))


async def _wait_buffer(channel) -> None:
    if channel.bufferedAmount <= BUFFER_HIGH:
        return
    low = asyncio.Event()
    channel.bufferedAmountLowThreshold = BUFFER_LOW
    channel.once("bufferedamountlow", low.set)  # pyee once-listener
    while channel.bufferedAmount > BUFFER_LOW and channel.readyState == "open":
        try:
            await asyncio.wait_for(low.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


@dataclass
class WebRTCConfig:
    """Server-side WebRTC settings (the module docstring says what each limit protects)."""

    ice_servers: list[str] = field(default_factory=list)  # stun:/turn: URLs; none by default
    ice_username: str | None = None  # for TURN servers
    ice_credential: str | None = None
    host: str | None = None  # ICE host candidates on this address only; None or a wildcard: every interface
    max_peers: int = 256
    max_pending_per_address: int = 8
    offers_per_s: float = 2.0
    offer_burst: int = 16
    handshake_timeout_s: float = 10.0
    idle_timeout_s: float = 300.0

    def rtc_configuration(self):
        from aiortc import RTCConfiguration, RTCIceServer

        servers = [RTCIceServer(urls=u, username=self.ice_username, credential=self.ice_credential)
                   for u in self.ice_servers]
        return RTCConfiguration(iceServers=servers)  # an explicit empty list: aiortc's default is a public STUN


def restrict_ice_host(host: str | None) -> None:
    """Gather ICE host candidates on `host` only (aioice offers no per-connection setting, so this sets the
    process's gathering function; every peer connection of this process then uses that address)."""
    import aioice.ice

    if host is None or host in WILDCARD_HOSTS:
        return
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [host]


@dataclass
class _Peer:
    address: str
    created: float
    connected: bool = False
    last_active: float = 0.0


@dataclass(frozen=True)
class Request:
    """A request: a text message, JSON ``{"id": u32, "path": str, "range": [start, end_exclusive] | null}``."""

    request_id: int
    path: str
    byte_range: tuple[int, int] | None = None

    @classmethod
    def parse(cls, message) -> Request:
        """A received message -> Request; anything else is a RequestError carrying the request's id (0 when the id
        itself is unusable), answered with its status."""
        if not isinstance(message, str) or len(message) > 4096:
            raise RequestError(400, "request must be a JSON text message")
        try:
            req = json.loads(message)
            rid, path, rng = req["id"], req["path"], req.get("range")
        except (ValueError, KeyError, TypeError, RecursionError):
            raise RequestError(400, "request must be JSON {id, path, range}") from None
        if not (type(rid) is int and 0 <= rid <= MAX_REQUEST_ID):  # (not bool, not 1e999)
            raise RequestError(400, f"id must be an integer 0..{MAX_REQUEST_ID}")
        if not isinstance(path, str):
            err = RequestError(400, "path must be a string")
            err.request_id = rid
            raise err
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2 and all(type(x) is int for x in rng)):
            err = RequestError(416, "range must be [start, end_exclusive]")
            err.request_id = rid
            raise err
        return cls(rid, path, (rng[0], rng[1]) if rng is not None else None)

    def __str__(self) -> str:  # the text message (a binary one is refused)
        rng = list(self.byte_range) if self.byte_range else None
        return json.dumps({"id": self.request_id, "path": self.path, "range": rng})


class WebRTCGateway:
    """Server side: answers offers, then serves data-channel requests from `root`."""

    def __init__(self, root: Path, trace: Trace | None = None, config: WebRTCConfig | None = None):
        self.root = root
        self.trace = trace
        self.config = config or WebRTCConfig()
        restrict_ice_host(self.config.host)
        self.peers: dict = {}  # RTCPeerConnection -> _Peer
        self._buckets: dict[str, list[float]] = {}  # address -> [tokens, last refill], insertion = LRU order
        self._sweeper: asyncio.Task | None = None

    def _take_offer_token(self, address: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.pop(address, (float(self.config.offer_burst), now))
        tokens = min(float(self.config.offer_burst), tokens + (now - last) * self.config.offers_per_s)
        ok = tokens >= 1.0
        self._buckets[address] = [tokens - 1.0 if ok else tokens, now]
        while len(self._buckets) > MAX_TRACKED_ADDRESSES:
            del self._buckets[next(iter(self._buckets))]
        return ok

    async def _drop(self, pc) -> None:
        self.peers.pop(pc, None)
        await pc.close()

    async def _sweep(self) -> None:
        """Close peers whose handshake did not finish in time and connected peers idle for too long."""
        cfg = self.config
        while True:
            await asyncio.sleep(min(1.0, cfg.handshake_timeout_s / 4))
            now = time.monotonic()
            stale = [pc for pc, p in self.peers.items()
                     if (not p.connected and now - p.created > cfg.handshake_timeout_s)
                     or (p.connected and now - p.last_active > cfg.idle_timeout_s)]
            await asyncio.gather(*(self._drop(pc) for pc in stale), return_exceptions=True)

    async def handle_offer(self, request: web.Request) -> web.Response:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        if request.content_length is not None and request.content_length > MAX_OFFER_BYTES:
            return web.Response(status=413, text="offer too large\n")
        try:
            raw = await asyncio.wait_for(request.content.read(MAX_OFFER_BYTES + 1), OFFER_BODY_TIMEOUT_S)
        except asyncio.TimeoutError:
            return web.Response(status=408, text=f"offer body not received within {OFFER_BODY_TIMEOUT_S:g} s\n")
        if len(raw) > MAX_OFFER_BYTES:
            return web.Response(status=413, text="offer too large\n")
        try:
            offer = json.loads(raw)
            sdp, kind = offer["sdp"], offer["type"]
            if kind != "offer" or not isinstance(sdp, str):
                raise ValueError("type must be 'offer' and sdp a string")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # (RecursionError: deeply nested JSON)
            return web.Response(status=400, text=f"expected JSON {{'type': 'offer', 'sdp': ...}}: {exc}\n")
        missing = [a for a in _REQUIRED_SDP if a not in sdp]
        if missing:  # aiortc accepts such an offer, but no connection could ever come of it
            return web.Response(status=400, text=f"offer lacks {', '.join(missing)}\n")
        cfg = self.config
        address = request.remote or "?"
        if not self._take_offer_token(address):
            return web.Response(status=429, text="too many offers from this address\n", headers={"Retry-After": "1"})
        pending = sum(1 for p in self.peers.values() if p.address == address and not p.connected)
        if pending >= cfg.max_pending_per_address:
            return web.Response(status=429, text="too many unfinished handshakes from this address\n",
                                headers={"Retry-After": str(int(cfg.handshake_timeout_s))})
        if len(self.peers) >= cfg.max_peers:
            return web.Response(status=503, text="too many peers\n", headers={"Retry-After": "5"})
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())
        pc = RTCPeerConnection(configuration=cfg.rtc_configuration())
        peer = _Peer(address, time.monotonic())
        self.peers[pc] = peer
        shaper = TraceShaper(self.trace) if self.trace is not None else None

        @pc.on("datachannel")
        def on_datachannel(channel):
            lock = asyncio.Lock()  # one response at a time per channel: frames of two responses never interleave

            @channel.on("message")
            def on_message(message):
                peer.last_active = time.monotonic()
                asyncio.ensure_future(self._answer(channel, message, shaper, lock))

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState == "connected":
                peer.connected, peer.last_active = True, time.monotonic()
            elif pc.connectionState in ("failed", "closed"):
                await self._drop(pc)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc raises ValueError and others on SDP it cannot apply
            await self._drop(pc)
            return web.Response(status=400, text=f"cannot apply the offer: {type(exc).__name__}: {exc}\n")
        answer = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
        return web.json_response(answer)

    async def _answer(self, channel, message, shaper, lock) -> None:
        rid = 0
        try:
            req = Request.parse(message)
            rid, rng = req.request_id, req.byte_range
            local = resolve_path(self.root, req.path)
            size = file_size(local)
            if rng is None:
                status, byte_range = 200, check_range(0, size, size) if size else None
            else:
                status, byte_range = 206, check_range(rng[0], rng[1], size)
        except RequestError as exc:
            rid = exc.request_id or rid  # (parse errors carry the id, later ones leave the parsed one)
            if channel.readyState == "open":
                channel.send(next(encode_frames(rid, exc.status, [exc.message.encode()], len(exc.message.encode()))))
            return
        async with lock:
            total = byte_range.length if byte_range else 0
            pieces = read_pieces(local, byte_range, PAYLOAD_BYTES) if byte_range else iter(())
            for frame in encode_frames(rid, status, pieces, total):
                if channel.readyState != "open":
                    return
                if shaper is not None:
                    await shaper.throttle(len(frame))
                await _wait_buffer(channel)
                channel.send(frame)

    async def close(self, app=None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        peers, self.peers = list(self.peers), {}
        await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)


class WebRTCTransport:
    """Client side: connects through `origin`/webrtc/offer; `fetch` sends one request and reassembles frames.
    With `trace`, frames are taken from the channel no faster than the trace (receiver-side shaping)."""

    def __init__(self, origin: str, trace: Trace | None = None, timeout_s: float = 120.0,
                 local_addr: str | None = None, clock: Clock | None = None):
        self.origin = origin.rstrip("/")
        self.clock = clock or RealClock()
        self.local_addr = local_addr  # source address of the signalling request (None: the system's choice)
        self.shaper = TraceShaper(trace) if trace is not None else None
        self.timeout_s = timeout_s
        self.pc = None
        self.channel = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._next_id = 1

    async def connect(self) -> float:
        """ICE, DTLS and SCTP set-up; returns the seconds it took (a session's set-up cost, timed apart)."""
        t0 = time.perf_counter()  # (before the imports: loading aiortc is part of the set-up, as it always was)
        import aiohttp
        from aiortc import RTCPeerConnection, RTCSessionDescription

        self.pc = RTCPeerConnection(configuration=WebRTCConfig().rtc_configuration())  # no third-party STUN
        self.channel = self.pc.createDataChannel(CHANNEL_LABEL, ordered=True)
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.channel.on("message", self._queue.put_nowait)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": self.pc.localDescription.type, "sdp": self.pc.localDescription.sdp}
        connector = aiohttp.TCPConnector(local_addr=(self.local_addr, 0)) if self.local_addr else None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                                         connector=connector) as session:
            async with session.post(self.origin + "/webrtc/offer", json=offer) as resp:
                if resp.status != 200:
                    raise NetworkError(f"POST /webrtc/offer: HTTP {resp.status}: {(await resp.text()).strip()}")
                answer = await resp.json()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        try:
            await asyncio.wait_for(opened.wait(), self.timeout_s)
        except asyncio.TimeoutError:
            raise NetworkError(f"data channel did not open within {self.timeout_s} s") from None
        return time.perf_counter() - t0

    async def fetch(self, path: str, byte_range=None, max_bytes=None) -> bytes:
        if self.channel is None:
            await self.connect()
        rid = self._next_id
        self._next_id += 1
        self.channel.send(str(Request(rid, path, tuple(byte_range) if byte_range else None)))
        parts: list[bytes] = []
        got = 0
        while True:
            try:
                message = await asyncio.wait_for(self._queue.get(), self.timeout_s)
            except asyncio.TimeoutError:
                raise NetworkError(f"{path}: no data for {self.timeout_s} s") from None
            frame = Frame.parse(message)
            if frame.request_id != rid:
                raise NetworkError(f"{path}: frame for request {frame.request_id} while waiting for {rid}")
            if frame.status >= 400:
                raise NetworkError(f"{path}: status {frame.status}: {frame.payload.decode(errors='replace')}")
            limit = (byte_range[1] - byte_range[0]) if byte_range else max_bytes
            total = frame.total
            if limit is not None and total > limit:
                raise NetworkError(f"{path}: response of {total} bytes, expected at most {limit}")
            if self.shaper is not None:
                await self.shaper.throttle(len(message))
            parts.append(frame.payload)
            got += len(frame.payload)
            if got > total:
                raise NetworkError(f"{path}: {got} bytes received, header said {total}")
            if frame.last:
                break
        if got != total:
            raise NetworkError(f"{path}: {got} bytes received, header said {total}")
        return b"".join(parts)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
