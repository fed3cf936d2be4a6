"""`splatcast play`: the adaptive streaming client.

Reads the MPD, fetches the .splc header named by ``SegmentBase@indexRange`` (it is the index), then requests exact
byte ranges in decoding order, letting the ABR (abr.py) choose per layer between one "full" pass and a "dc" sweep
plus upgrades; each piece goes straight into the codec's ProgressiveDecoder and a timeline row is logged (t_s,
bytes, layer, chunk, refine, gaussians, shown). A decoded state is shown only if the index records it better
than the one on screen (display.py). No byte is requested twice: a chunk taken "dc" is completed later by exactly
its remainder. Fidelity (PSNR of what is on screen after every step against the final model) is computed
afterwards by replaying the same pieces into a fresh decoder, so rendering never disturbs the timed loop.

Transports share one interface (transport.py), ``await fetch(path, (start, end_exclusive) | None) -> bytes`` on the
clock each was made with: HTTP (aiohttp, one keep-alive connection, optional receiver-side trace shaping), WebRTC
(webrtc.py) and a simulated link (simulate.py) driven by a virtual clock, so ``--simulate`` runs this very code
without sockets.
"""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urljoin, urlparse

import aiohttp

from splatcast.codec.container import fidelity_db
from splatcast.dash.layout import check_index_matches, interpret_mpd
from splatcast.dash.mpd import MAX_MPD_BYTES, parse_mpd
from splatcast.errors import ManifestError, NetworkError
from splatcast.net.abr import DEFAULT_ABR, Abr, ThroughputEstimator, make_abr, split_chunks
from splatcast.net.display import MonotoneDisplay
from splatcast.net.shaping import TraceShaper
from splatcast.net.traces import Trace
from splatcast.net.transport import Clock, RealClock, SessionClock, Transport

READ_PIECE_BYTES = 16 * 1024
STALL_TIMEOUT_S = 30.0  # a response that sends nothing for this long has stalled
MAX_HEADER_BYTES = 64 << 20  # the container's own limit on header + table (splatcast.codec.container)


class StepKind(StrEnum):
    """What one fetched piece does to the decoder. A StrEnum: equal to its string, as web/ and recorded sessions
    spell it."""

    ADD_DC = "add-dc"  # a chunk's dc part, completed later by an UPGRADE
    ADD_FULL = "add-full"  # a whole chunk
    UPGRADE = "upgrade"  # the rest of a chunk taken ADD_DC

    @property
    def refine(self) -> str:
        """The decoder's ``refine`` for an add, and the timeline's "refine" column."""
        return "dc" if self is StepKind.ADD_DC else "full"


def _feed(decoder, layer: int, chunk: int, kind: StepKind, data: bytes, where: dict) -> None:
    if kind is StepKind.UPGRADE:
        decoder.upgrade_chunk(layer, chunk, data, **where)
    else:
        decoder.add_chunk(layer, chunk, data, refine=kind.refine, **where)


class CodecAdapter:
    """The codec entry points the client uses; tests substitute a fake with the same methods: ``read_index(header)``
    and ``decoder(header, index=None)``, whose decoder has add_chunk, upgrade_chunk, state_fidelity,
    visible_gaussians and cloud (and tile(t) for tiled streams)."""

    @staticmethod
    def warm_up(entropy: str = "zstd") -> None:
        """Import the codec and run its JIT-compiled paths once on a tiny in-memory stream, so that a timed session
        measures the network and steady-state decoding, not numba's cache loading (a player does this at start-up).
        """
        import numpy as np

        from splatcast.codec import EncoderConfig, ProgressiveDecoder, decode, encode
        from splatcast.scene.cloud import GaussianCloud

        rng = np.random.default_rng(0)

        def cloud(n):
            return GaussianCloud(
                means=rng.normal(size=(n, 3)),
                scales=rng.normal(-3, 0.3, size=(n, 3)),
                quats=rng.normal(size=(n, 4)),
                opacities=rng.normal(size=n),
                sh_dc=rng.normal(size=(n, 3)),
                sh_rest=np.zeros((n, 3, 3)),
            )

        data = encode([cloud(64), cloud(128)], EncoderConfig(entropy=entropy, chunks=2))
        index = CodecAdapter.read_index(data)
        dec = ProgressiveDecoder.from_index(index)
        for j, layer in enumerate(index.layers):
            for k, c in enumerate(layer.chunks):
                dec.add_chunk(j, k, data[c.offset : c.offset + c.dc_bytes], refine="dc")
                dec.cloud()
            for k, c in enumerate(layer.chunks):
                if c.dc_bytes < c.full_bytes:
                    dec.upgrade_chunk(j, k, data[c.offset + c.dc_bytes : c.offset + c.full_bytes])
        dec.cloud()
        decode(data)

    @staticmethod
    def read_index(header: bytes):
        from splatcast.codec.container import read_index

        return read_index(header)

    @staticmethod
    def decoder(header: bytes, index=None):
        """``index``: the header's, already read (not parsed again)."""
        from splatcast.codec import ProgressiveDecoder

        return ProgressiveDecoder(header) if index is None else ProgressiveDecoder.from_index(index)


# ----------------------------------------------------------------------------------------------------- transports
class HttpTransport:
    """GET with a Range header over one keep-alive connection (so server-side shaping sees one connection).
    With `trace`, the body is read no faster than the trace allows (receiver-side shaping)."""

    def __init__(self, origin: str, trace: Trace | None = None, timeout_s: float = 120.0, clock: Clock | None = None):
        self.origin = origin.rstrip("/")
        self.clock = clock or RealClock()
        self.shaper = TraceShaper(trace) if trace is not None else None
        self.timeout_s = timeout_s
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, force_close=False),
            timeout=aiohttp.ClientTimeout(total=timeout_s, sock_read=min(STALL_TIMEOUT_S, timeout_s)),
            auto_decompress=False,
        )

    async def connect(self) -> float:
        return 0.0  # (the connection opens with the first request)

    async def fetch(self, path: str, byte_range: tuple[int, int] | None = None, max_bytes: int | None = None) -> bytes:
        headers = {}
        if byte_range is not None:
            start, end = byte_range
            if not 0 <= start < end:
                raise ValueError(f"bad range {byte_range}")
            headers["Range"] = f"bytes={start}-{end - 1}"
        url = self.origin + path
        try:
            async with self._session.get(url, headers=headers) as resp:
                want_status = 206 if byte_range is not None else 200
                if resp.status != want_status:
                    raise NetworkError(
                        f"GET {path} {headers.get('Range', '')}: HTTP {resp.status}, expected {want_status}"
                    )
                expected = (byte_range[1] - byte_range[0]) if byte_range is not None else resp.content_length
                if expected is not None and max_bytes is not None and expected > max_bytes:
                    # (a server's Content-Length never raises the caller's cap)
                    raise NetworkError(f"GET {path}: {expected} bytes announced, at most {max_bytes} accepted")
                limit = expected if expected is not None else max_bytes
                parts = []
                got = 0
                async for piece in resp.content.iter_chunked(READ_PIECE_BYTES):
                    got += len(piece)
                    if limit is not None and got > limit:
                        raise NetworkError(f"GET {path}: body exceeds {limit} bytes")
                    if self.shaper is not None:
                        await self.shaper.throttle(len(piece))
                    parts.append(piece)
        except aiohttp.ClientError as exc:
            raise NetworkError(f"GET {url}: {exc}") from None
        except asyncio.TimeoutError:
            raise NetworkError(
                f"GET {url}: the server sent nothing for {min(STALL_TIMEOUT_S, self.timeout_s):g} s or did not finish "
                f"within {self.timeout_s:g} s"
            ) from None
        data = b"".join(parts)
        if expected is not None and len(data) != expected:
            raise NetworkError(f"GET {path}: got {len(data)} bytes, expected {expected}")
        return data

    async def close(self) -> None:
        await self._session.close()


# --------------------------------------------------------------------------------------------------------- client
@dataclass
class Piece:
    """One decoder operation as it happened: kept to replay the session offline (fidelity) and for tests."""

    layer: int
    chunk: int
    kind: StepKind  # (a string is taken as its StepKind)
    start: int
    end: int  # exclusive
    data: bytes = field(repr=False)
    tile: int = 0  # tiled streams: the tile (chunk counts that tile's chunks)
    shown: bool = True  # whether the decoded state went on screen (the monotone display rule)

    def __post_init__(self):
        self.kind = StepKind(self.kind)


@dataclass
class PlayResult:
    timeline: list[dict]
    time_to_first_render_s: float | None
    time_to_full_s: float | None
    layer_times_s: list[float | None]
    bytes_received: int  # media bytes (header + chunk pieces)
    stream_bytes: int  # size of the .splc file
    manifest_bytes: int
    requests: int
    abr: str
    connect_s: float = 0.0  # transport set-up done before the clock started (WebRTC ICE/DTLS/SCTP)
    pieces: list[Piece] = field(repr=False, default_factory=list)
    header: bytes = field(repr=False, default=b"")
    final_cloud: object = field(repr=False, default=None)

    def to_json(self) -> dict:
        return {
            "time_to_first_render_s": self.time_to_first_render_s,
            "time_to_full_s": self.time_to_full_s,
            "layer_times_s": self.layer_times_s,
            "bytes_received": self.bytes_received,
            "stream_bytes": self.stream_bytes,
            "manifest_bytes": self.manifest_bytes,
            "requests": self.requests,
            "abr": self.abr,
            "connect_s": self.connect_s,
            "timeline": self.timeline,
        }


def split_url(url: str) -> tuple[str, str]:
    """'http://h:p/dir/manifest.mpd' -> ('http://h:p', '/dir/manifest.mpd'); a URL ending in '/' names the
    directory and gets 'manifest.mpd' appended."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise NetworkError(f"URL: expected http://host:port/path, got {url!r}")
    path = parsed.path or "/"
    if path.endswith("/"):
        path += "manifest.mpd"
    return f"{parsed.scheme}://{parsed.netloc}", path


def media_path(mpd_path: str, media_url: str) -> str:
    """Resolve the MPD's BaseURL against the MPD's path; only same-origin relative URLs are followed."""
    joined = urljoin("http://origin.invalid" + mpd_path, media_url)
    parsed = urlparse(joined)
    if parsed.netloc != "origin.invalid":
        raise ManifestError(f"BaseURL {media_url!r}: only URLs relative to the MPD are supported")
    return parsed.path


@dataclass(frozen=True)
class _Step:
    layer: int
    chunk: int
    kind: StepKind
    start: int
    end: int  # exclusive
    tile: int = 0


def _passes(index, n_layers: int, abr: Abr, estimator: ThroughputEstimator, tile: int = 0):
    """Each layer's pass, as the list of its fetch steps in decoding order (of one tile's view, for a tiled
    stream); the pass ("dc" sweep then upgrades, or "full") is chosen when the list is drawn, i.e. with the
    throughput measured up to the layer's first piece (abr.py)."""
    for j in range(n_layers):
        pending = []
        layer = index.layers[j]
        refine = "full"
        if split_chunks(layer):
            low = index.layers[j - 1].chunks if j else []
            lower_db = fidelity_db(low[-1].fidelity_full) if low else None
            refine = abr.choose_pass(layer, estimator.estimate_bps(), lower_db)
        steps = []
        for k, chunk in enumerate(layer.chunks):
            if refine == "dc" and chunk.dc_bytes < chunk.full_bytes:
                pending.append(k)
                steps.append(_Step(j, k, StepKind.ADD_DC, chunk.offset, chunk.offset + chunk.dc_bytes, tile))
            else:
                steps.append(_Step(j, k, StepKind.ADD_FULL, chunk.offset, chunk.offset + chunk.full_bytes, tile))
        for k in pending:
            chunk = index.layers[j].chunks[k]
            steps.append(_Step(j, k, StepKind.UPGRADE, chunk.offset + chunk.dc_bytes, chunk.offset + chunk.full_bytes,
                               tile))
        yield steps


def _later_layers(views, n_layers: int):
    """later(tile, j): the steps of the tile's layers j+1.. as full passes (what the scheduler looks ahead over)."""
    cache: dict[tuple[int, int], list[_Step]] = {}

    def later(tile: int, j: int) -> list[_Step]:
        if (tile, j) not in cache:
            cache[tile, j] = [_Step(k, c, StepKind.ADD_FULL, ce.offset, ce.offset + ce.full_bytes, tile)
                              for k in range(j + 1, n_layers) for c, ce in enumerate(views[tile].layers[k].chunks)]
        return cache[tile, j]

    return later


def _plan(index, n_layers: int, abr: Abr, estimator: ThroughputEstimator):
    """Fetch steps in decoding order, layer pass after layer pass (_passes)."""
    for steps in _passes(index, n_layers, abr, estimator):
        yield from steps


class _TileStates:
    """Per tile: chunks received per layer and those only by their dc part, to know each step's recorded
    fidelity before fetching it (the scheduler's gain) and after applying it."""

    def __init__(self, index):
        from splatcast.codec.container import tile_views

        self.views = tile_views(index)
        self.received = [[0] * len(index.layers) for _ in self.views]
        self.pending = [[set() for _ in index.layers] for _ in self.views]

    def fidelity_after(self, tile: int, steps: list[_Step]) -> list[float | None]:
        """The recorded fidelity of the tile's state after each of ``steps`` in turn (None: not recorded)."""
        from splatcast.codec.fidelity import state_fidelity

        received = list(self.received[tile])
        pending = [set(p) for p in self.pending[tile]]
        out = []
        for step in steps:
            _advance(received, pending, step)
            out.append(state_fidelity(self.views[tile], received, pending))
        return out

    def apply(self, step: _Step) -> None:
        _advance(self.received[step.tile], self.pending[step.tile], step)

    def layer_complete(self, j: int) -> bool:
        return all(r[j] == len(v.layers[j].chunks) and not p[j]
                   for v, r, p in zip(self.views, self.received, self.pending))


def _advance(received: list[int], pending: list[set], step: _Step) -> None:
    if step.kind is StepKind.ADD_DC:
        pending[step.layer].add(step.chunk)
    elif step.kind is StepKind.UPGRADE:
        pending[step.layer].discard(step.chunk)
    if step.kind is not StepKind.UPGRADE:
        received[step.layer] += 1


async def play_stream(
    transport: Transport,
    mpd_path: str,
    codec=CodecAdapter,
    abr: Abr | None = None,
    clock: Clock | None = None,
    max_layer: int | None = None,
    pipeline: bool = True,
    monotone: bool = True,
    camera_path=None,
) -> PlayResult:
    """Run one streaming session over `transport`; returns the timeline and the decoded final model.

    Times are the transport's clock from the session's start (``clock``, if given, must be that clock). With
    `pipeline`, the next range is requested before the current piece is decoded (decoding runs in a worker
    thread), so the link does not idle while the decoder works; without it, fetch and decode alternate (what a
    virtual clock that adds compute time can model exactly). ``monotone=False`` shows every decoded state (for
    comparison: the monotone display rule is the default). A tiled stream is fetched in the order of the
    viewer's needs along ``camera_path`` (viewport.py; None: the file's order), each tile with its own display.
    """
    if clock is not None and clock is not transport.clock:
        raise ValueError("play_stream: clock must be the transport's own (the one its link runs on)")
    session = _Session(transport, codec, abr or make_abr(DEFAULT_ABR), monotone)
    await session.open(mpd_path)
    n_layers = len(session.index.layers) if max_layer is None else min(max_layer + 1, len(session.index.layers))
    await session.stream(session.plan(n_layers, camera_path), pipeline)
    return session.result(n_layers)


class _Session:
    """The state of one play_stream run; its methods are the session's steps, in the order they happen: open
    (manifest, header), plan (the fetch steps), stream (fetch, decode, record each piece), result."""

    def __init__(self, transport: Transport, codec, abr: Abr, monotone: bool):
        self.transport, self.codec, self.abr, self.monotone = transport, codec, abr, monotone
        self.clock = SessionClock(transport.clock)
        self.estimator = ThroughputEstimator()
        self.requests = 0
        self.received = 0  # media bytes: header + pieces
        self.timeline: list[dict] = []
        self.pieces: list[Piece] = []
        self.first_render: float | None = None

    async def fetch(self, path: str, byte_range=None, max_bytes=None) -> bytes:
        t_start = self.clock.now()
        data = await self.transport.fetch(path, byte_range, max_bytes=max_bytes)
        self.requests += 1
        self.estimator.add(len(data), self.clock.now() - t_start)
        return data

    async def open(self, mpd_path: str) -> None:
        """The manifest, then the header it names (the stream's index), then a decoder over that index."""
        self.mpd_bytes = await self.fetch(mpd_path, None, MAX_MPD_BYTES)
        manifest = interpret_mpd(parse_mpd(self.mpd_bytes))
        self.media = media_path(mpd_path, manifest.media_url)
        h0, h1 = manifest.header_range
        if manifest.header_bytes > MAX_HEADER_BYTES:
            raise ManifestError(
                f"indexRange: header of {manifest.header_bytes} bytes exceeds the limit {MAX_HEADER_BYTES}")
        self.header = await self.fetch(self.media, (h0, h1 + 1))
        self.received = len(self.header)
        t_compute = time.perf_counter()
        self.index = self.codec.read_index(self.header)
        check_index_matches(manifest, self.index)
        self.decoder = self.codec.decoder(self.header, self.index)
        self.clock.add_compute(time.perf_counter() - t_compute)

        self.tiled = getattr(self.index, "tile_boxes", None) is not None
        self.applied = _TileStates(self.index)
        self.layer_times: list[float | None] = [None] * len(self.index.layers)
        self.displays = [MonotoneDisplay(view) for view in self.applied.views]  # per tile (one when untiled)
        for display in self.displays:
            display.enabled = display.enabled and self.monotone
        self.shown_per_tile = [0] * len(self.displays)

    def plan(self, n_layers: int, camera_path):
        """The fetch steps in decoding order: layer pass after layer pass, or (tiled) as the viewer needs them."""
        if not self.tiled:
            return _plan(self.index, n_layers, self.abr, self.estimator)
        from splatcast.net.viewport import TileScheduler, tile_boxes_in_scene

        if callable(camera_path):  # made from the stream (e.g. an orbit around its box)
            camera_path = camera_path(self.index)
        drawn = _TileStates(self.index)  # what the scheduler has handed out (ahead of `applied` by a step)
        passes = [_passes(view, n_layers, self.abr, self.estimator, t) for t, view in enumerate(drawn.views)]
        later = _later_layers(drawn.views, n_layers)
        scheduler = TileScheduler(passes, tile_boxes_in_scene(self.index), camera_path, self.clock.now,
                                  drawn.fidelity_after, later)
        return _Drawn(scheduler, drawn)

    async def stream(self, plan, pipeline: bool) -> None:
        """Fetch each step's range, decode it and record it. Pipelined: the next request is out before decoding
        (in a worker thread) starts; otherwise it goes out after."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="splatcast-decode") as worker:
            step = next(plan, None)
            in_flight = self._request(step) if step else None
            try:
                while step is not None:
                    data = await in_flight
                    self.received += len(data)
                    following = next(plan, None)
                    if pipeline and following is not None:
                        in_flight = self._request(following)
                    t_compute = time.perf_counter()
                    if pipeline:
                        outcome = await loop.run_in_executor(worker, self.decode, step, data)
                    else:
                        outcome = self.decode(step, data)
                    self.clock.add_compute(time.perf_counter() - t_compute)
                    self.record(step, data, *outcome)
                    if not pipeline and following is not None:
                        in_flight = self._request(following)
                    step = following
            finally:
                if in_flight is not None and not in_flight.done():
                    in_flight.cancel()

    def _request(self, step: _Step) -> asyncio.Future:
        return asyncio.ensure_future(self.fetch(self.media, (step.start, step.end)))

    def decode(self, step: _Step, data: bytes) -> tuple[int, float | None, bool]:
        """Decoder work for one piece (in the worker thread when pipelining): (Gaussians on screen, recorded
        fidelity of the decoded state, whether it is shown)."""
        where = {"tile": step.tile} if self.tiled else {}  # (fake codecs of untiled tests take no tile)
        _feed(self.decoder, step.layer, step.chunk, step.kind, data, where)
        fid = self.decoder.state_fidelity(**where)
        if not self.displays[step.tile].offer(fid):
            return sum(self.shown_per_tile), fid, False
        counted = self.decoder.tile(step.tile) if self.tiled else self.decoder
        self.shown_per_tile[step.tile] = counted.visible_gaussians()
        return sum(self.shown_per_tile), fid, True

    def record(self, step: _Step, data: bytes, shown: int, fid: float | None, visible: bool) -> None:
        """The piece, its timeline row, and the first render and layer completion times it may set."""
        self.pieces.append(Piece(step.layer, step.chunk, step.kind, step.start, step.end, data, step.tile, visible))
        self.applied.apply(step)
        t = self.clock.now()
        row = {"tile": step.tile} if self.tiled else {}
        self.timeline.append(row | {
            "t_s": t,
            "bytes": self.received,
            "layer": step.layer,
            "chunk": step.chunk,
            "refine": step.kind.refine,
            "kind": "upgrade" if step.kind is StepKind.UPGRADE else "add",
            "gaussians": shown,
            "shown": visible,  # False: held, the decoded state is worse than the one on screen
            "fidelity_db": fid if fid is not None and math.isfinite(fid) else None,  # None: identical
        })
        if self.first_render is None and shown > 0:
            self.first_render = t
        if self.layer_times[step.layer] is None and self.applied.layer_complete(step.layer):
            self.layer_times[step.layer] = t

    def result(self, n_layers: int) -> PlayResult:
        complete = n_layers == len(self.index.layers)
        return PlayResult(
            timeline=self.timeline,
            time_to_first_render_s=self.first_render,
            time_to_full_s=self.layer_times[-1] if complete else None,
            layer_times_s=self.layer_times,
            bytes_received=self.received,
            stream_bytes=self.index.total_bytes,
            manifest_bytes=len(self.mpd_bytes),
            requests=self.requests,
            abr=self.abr.name,
            pieces=self.pieces,
            header=self.header,
            final_cloud=self.decoder.cloud(),
        )


class _Drawn:
    """Iterates a scheduler, advancing the drawn-state bookkeeping its gains are computed from."""

    def __init__(self, scheduler, drawn: _TileStates):
        self.scheduler, self.drawn = scheduler, drawn

    def __iter__(self):
        return self

    def __next__(self) -> _Step:
        step = next(self.scheduler)
        self.drawn.apply(step)
        return step


def replay_shown(header: bytes, pieces: list[Piece], codec=CodecAdapter):
    """Yield what is on screen after each piece of a session, replayed offline: per tile, the last state that was
    shown (a held state keeps the tile's previous picture), tiles concatenated in tile order."""
    from splatcast.scene.cloud import GaussianCloud

    decoder = codec.decoder(header)
    tiled = getattr(decoder, "tiled", False)
    shown = [GaussianCloud.empty(decoder.index.sh_degree) for _ in range(len(getattr(decoder, "tiles", [0])))]
    for p in pieces:
        _feed(decoder, p.layer, p.chunk, StepKind(p.kind), p.data, {"tile": p.tile} if tiled else {})
        if p.shown:
            shown[p.tile] = decoder.tile(p.tile).cloud() if tiled else decoder.cloud()
        yield shown[0] if len(shown) == 1 else GaussianCloud.concat(shown)


def replay_states(header: bytes, pieces: list[Piece], codec=CodecAdapter):
    """Yield the decoder's cloud after each piece, replaying a session offline (for fidelity)."""
    decoder = codec.decoder(header)
    for p in pieces:
        _feed(decoder, p.layer, p.chunk, StepKind(p.kind), p.data, {})
        yield decoder.cloud()


def add_fidelity(result: PlayResult, codec=CodecAdapter, n_views: int = 4, size: int = 128) -> None:
    """Set timeline[i]["psnr_db"] = fidelity PSNR of what is on screen after step i (a held row keeps the shown
    state's value) against the final model (None when identical)."""
    from splatcast.render.metrics import Fidelity

    score = Fidelity(result.final_cloud, n_views, size)  # the reference's views rendered once
    on_screen = None
    if any(p.tile for p in result.pieces):  # tiled: each tile holds its own picture
        for row, cloud in zip(result.timeline, replay_shown(result.header, result.pieces, codec)):
            value = float(score(cloud)) if len(cloud) else None
            row["psnr_db"] = value if value is not None and math.isfinite(value) else None
        return
    for row, cloud in zip(result.timeline, replay_states(result.header, result.pieces, codec)):
        if not row.get("shown", True):
            row["psnr_db"] = on_screen
            continue
        if len(cloud) == 0:
            row["psnr_db"] = on_screen = None
            continue
        value = float(score(cloud))
        row["psnr_db"] = on_screen = value if math.isfinite(value) else None


async def fetch_baseline(transport: Transport, path: str, decode, clock: Clock | None = None) -> dict:
    """The non-scalable way: download one file whole, then decode it; times from the session's start on the
    transport's clock (``clock``, if given, must be that clock)."""
    if clock is not None and clock is not transport.clock:
        raise ValueError("fetch_baseline: clock must be the transport's own (the one its link runs on)")
    clock = SessionClock(transport.clock)
    data = await transport.fetch(path, None, max_bytes=1 << 34)
    t_download = clock.now()
    t_compute = time.perf_counter()
    cloud = decode(path, data)
    clock.add_compute(time.perf_counter() - t_compute)
    return {
        "path": path,
        "bytes": len(data),
        "download_s": t_download,
        "time_to_render_s": clock.now(),
        "gaussians": None if cloud is None else len(cloud),
    }


def decode_any(path: str, data: bytes):
    """Decode a whole baseline file by its extension: .splc with the codec, anything else with read_scene."""
    if path.endswith(".splc"):
        from splatcast.codec import decode

        return decode(data)
    import os
    import tempfile

    from splatcast.scene.formats import read_scene

    suffix = os.path.splitext(path)[1]
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "baseline" + suffix)
        with open(local, "wb") as f:
            f.write(data)
        return read_scene(local)
