"""`--simulate`: the client's own code run over a simulated link, no sockets.

:class:`SimTransport` serves files from a local directory (same confinement rules as the server) and advances a
:class:`VirtualClock` by a fixed request latency plus the time the trace needs to carry the body (a link that
sends one response at a time, as one keep-alive connection does). Decode time measured on this machine is added
to the same clock by the client, so a simulated timeline is comparable with a real one.

:func:`simulate_sizes` goes further for sweeps: it needs only a StreamIndex (chunk sizes) and a trace; the
decoder is replaced by one that counts Gaussians from the index, and no compute time is added.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from splatcast.codec.container import tile_views
from splatcast.codec.fidelity import state_fidelity
from splatcast.dash.layout import build_mpd
from splatcast.dash.mpd import write_mpd
from splatcast.errors import NetworkError
from splatcast.net.abr import Abr
from splatcast.net.client import fetch_baseline, play_stream
from splatcast.net.files import RequestError, file_size, resolve_path
from splatcast.net.traces import Trace


class VirtualClock:
    def __init__(self, count_compute: bool = True):
        self.t = 0.0
        self.count_compute = count_compute

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def add_compute(self, seconds: float) -> None:
        if self.count_compute:
            self.t += seconds


class _Link:
    """One request at a time: latency, then the body at the trace's rate from the current virtual time."""

    def __init__(self, trace: Trace, clock: VirtualClock, latency_s: float):
        self.trace, self.clock, self.latency_s = trace, clock, latency_s

    def carry(self, n_bytes: int) -> None:
        self.clock.advance(self.latency_s)
        self.clock.t = self.trace.time_for_bits(self.clock.t, n_bytes * 8.0)


class _LinkTransport:
    """A transport over a simulated link: its clock is the link's."""

    link: _Link

    @property
    def clock(self) -> VirtualClock:
        return self.link.clock

    async def connect(self) -> float:
        return 0.0

    async def close(self) -> None:
        pass


class SimTransport(_LinkTransport):
    def __init__(self, root: str | Path, trace: Trace, clock: VirtualClock, latency_s: float = 0.0):
        self.root = Path(root).resolve(strict=True)
        self.link = _Link(trace, clock, latency_s)

    async def fetch(self, path: str, byte_range=None, max_bytes=None) -> bytes:
        try:
            local = resolve_path(self.root, path)
        except RequestError as exc:
            raise NetworkError(f"{path}: {exc.status} {exc.message}") from None
        size = file_size(local)
        start, end = byte_range if byte_range is not None else (0, size)
        if not 0 <= start < end <= size:
            raise NetworkError(f"{path}: range [{start}, {end}) outside {size} bytes (416)")
        with open(local, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        self.link.carry(len(data))
        return data


class _MemoryTransport(_LinkTransport):
    """Bodies of the right length (zeros) for a stream known only by its index."""

    def __init__(self, files: dict[str, int | bytes], trace: Trace, clock: VirtualClock, latency_s: float):
        self.files = files
        self.link = _Link(trace, clock, latency_s)

    async def fetch(self, path, byte_range=None, max_bytes=None) -> bytes:
        body = self.files[path]
        size = body if isinstance(body, int) else len(body)
        start, end = byte_range if byte_range is not None else (0, size)
        self.link.carry(end - start)
        return body[start:end] if isinstance(body, bytes) else bytes(end - start)


class _CountingDecoder:
    """Stands in for the ProgressiveDecoder in size-only simulation: on screen = the received chunks of the
    highest layer started, or the whole layer below while none has arrived; fidelity from the index. A tiled
    stream has one such counter per tile."""

    def __init__(self, index):
        self.index = index
        self.tiled = getattr(index, "tile_boxes", None) is not None
        self.tiles = [_CountingTile(view) for view in tile_views(index)]

    def tile(self, t):
        return self.tiles[t]

    def add_chunk(self, layer, chunk, data, refine="full", tile=0):
        self.tiles[tile].add_chunk(layer, chunk, data, refine)

    def upgrade_chunk(self, layer, chunk, rest, tile=0):
        self.tiles[tile].upgrade_chunk(layer, chunk, rest)

    def state_fidelity(self, tile=None):
        if tile is None:
            return self.tiles[0].state_fidelity() if len(self.tiles) == 1 else None
        return self.tiles[tile].state_fidelity()

    def cloud(self):
        return range(self.visible_gaussians())

    def visible_gaussians(self):
        return sum(t.visible_gaussians() for t in self.tiles)


class _CountingTile:
    def __init__(self, index):
        self.index = index
        self.got: dict[int, set[int]] = {}
        self.pending: list[set[int]] = [set() for _ in index.layers]

    def add_chunk(self, layer, chunk, data, refine="full"):
        self.got.setdefault(layer, set()).add(chunk)
        chunk_index = self.index.layers[layer].chunks[chunk]
        if refine == "dc" and chunk_index.dc_bytes < chunk_index.full_bytes:
            self.pending[layer].add(chunk)

    def upgrade_chunk(self, layer, chunk, rest):
        self.pending[layer].discard(chunk)

    def state_fidelity(self):
        received = [len(self.got.get(j, ())) for j in range(len(self.index.layers))]
        return state_fidelity(self.index, received, self.pending)

    def cloud(self):
        return range(self.visible_gaussians())

    def visible_gaussians(self):
        if not self.got:
            return 0
        top = max(self.got)
        return sum(self.index.layers[top].chunks[c].gaussians for c in self.got[top])


def simulate_sizes(index, trace: Trace, abr: Abr, latency_s: float = 0.0, baseline_bytes: dict | None = None) -> dict:
    """Timeline of a session for a stream given by its index, plus (optional) baselines {name: file_bytes},
    each simulated from time 0 of the trace like a fresh connection. Deterministic."""
    mpd = write_mpd(build_mpd(index, "stream.splc"))

    class _Codec:
        @staticmethod
        def read_index(h):
            return index

        @staticmethod
        def decoder(h, index_read=None):
            return _CountingDecoder(index)

    async def run():
        clock = VirtualClock(count_compute=False)
        transport = _MemoryTransport({"/manifest.mpd": mpd, "/stream.splc": index.total_bytes}, trace, clock, latency_s)
        result = await play_stream(transport, "/manifest.mpd", codec=_Codec, abr=abr, pipeline=False)
        out = result.to_json()
        out["baselines"] = {}
        for name, n_bytes in (baseline_bytes or {}).items():
            bclock = VirtualClock(count_compute=False)
            bt = _MemoryTransport({"/" + name: n_bytes}, trace, bclock, latency_s)
            out["baselines"][name] = await fetch_baseline(bt, "/" + name, lambda p, d: None)
        return out

    return asyncio.run(run())
