"""A stand-in for a .splc stream with the codec's container API (the real StreamIndex / LayerIndex / ChunkIndex,
a fake read_index and ProgressiveDecoder), for testing packaging and transport byte-exactly without the codec.

Layout of a fake stream: ``b"FAKE" + u32 json_length + json(index)`` padded to ``header_bytes``, then each chunk's
bytes (seeded random) at its offset. Unlike the real codec, the fake decoder only checks that each piece has the
right length, arrives in order and carries exactly the bytes of the file; it hands back the pieces.
"""

from __future__ import annotations

import json
import struct
import numpy as np

from splatcast.codec.container import ChunkIndex, LayerIndex, StreamIndex
from splatcast.errors import BitstreamFormatError


PREAMBLE_BYTES = 8


def header_length(preamble: bytes) -> int:
    if preamble[:4] != b"FAKE":
        raise BitstreamFormatError("fake preamble: bad magic")
    return 8 + struct.unpack("<I", preamble[4:8])[0]


def make_fake_stream(chunks_per_layer=(3, 4, 4), seed: int = 0, mean_chunk_bytes: int = 3000):
    """-> (data: bytes, index: StreamIndex). Layer 0 chunks have dc_bytes == full_bytes."""
    rng = np.random.default_rng(seed)
    sizes = []
    for j, n in enumerate(chunks_per_layer):
        layer = []
        for _ in range(n):
            full = int(rng.integers(mean_chunk_bytes // 2, mean_chunk_bytes * 3 // 2 + 1))
            dc = full if j == 0 else int(rng.integers(1, full))
            layer.append((dc, full, int(rng.integers(10, 1000))))
        sizes.append(layer)

    def build(header_bytes: int) -> StreamIndex:
        off = header_bytes
        layers = []
        for j, layer in enumerate(sizes):
            chunks = []
            for dc, full, g in layer:
                chunks.append(ChunkIndex(off, dc, full, g))
                off += full
            layers.append(LayerIndex(j, sum(c.gaussians for c in chunks), chunks))
        return StreamIndex(header_bytes, off, "fake", layers)

    header_bytes = 0
    for _ in range(10):  # the header's size depends on the offsets it lists: iterate to a fixed point
        payload = json.dumps(_to_json(build(header_bytes)), sort_keys=True).encode()
        if 8 + len(payload) == header_bytes:
            break
        header_bytes = 8 + len(payload)
    index = build(header_bytes)
    header = b"FAKE" + struct.pack("<I", len(payload)) + payload
    body = rng.integers(0, 256, index.total_bytes - header_bytes, dtype=np.uint8).tobytes()
    return header + body, index


def _to_json(index: StreamIndex) -> dict:
    return {
        "header_bytes": index.header_bytes,
        "total_bytes": index.total_bytes,
        "entropy": index.entropy,
        "layers": [
            {
                "index": layer.index,
                "gaussians": layer.gaussians,
                "chunks": [[c.offset, c.dc_bytes, c.full_bytes, c.gaussians] for c in layer.chunks],
            }
            for layer in index.layers
        ],
    }


def read_index(data: bytes) -> StreamIndex:
    n = header_length(data[:8])
    if len(data) < n:
        raise BitstreamFormatError("fake header truncated")
    obj = json.loads(data[8:n])
    return StreamIndex(
        obj["header_bytes"],
        obj["total_bytes"],
        obj["entropy"],
        [LayerIndex(x["index"], x["gaussians"], [ChunkIndex(*c) for c in x["chunks"]]) for x in obj["layers"]],
    )


class FakeCloud(list):
    """Stands for a GaussianCloud: its len() is the number of Gaussians on screen."""


class FakeDecoder:
    """Checks order and sizes like the ProgressiveDecoder contract; keeps the received pieces by (layer, chunk)."""

    def __init__(self, header: bytes):
        self.index = read_index(header)
        self.pieces: dict[tuple[int, int], bytes] = {}
        self.modes: dict[tuple[int, int], str] = {}
        self.stats = {}

    def add_chunk(self, layer: int, chunk: int, data: bytes, refine: str = "full") -> None:
        info = self.index.layers[layer].chunks[chunk]
        if (layer, chunk) in self.pieces:
            raise AssertionError(f"chunk {(layer, chunk)} added twice")
        if chunk > 0 and (layer, chunk - 1) not in self.pieces:
            raise AssertionError(f"chunk {(layer, chunk)} before chunk {chunk - 1}")
        for c in range(len(self.index.layers[layer - 1].chunks) if layer else 0):
            if self.modes.get((layer - 1, c)) != "full":
                raise AssertionError(f"layer {layer} before layer {layer - 1} complete")
        want = info.dc_bytes if refine == "dc" else info.full_bytes
        if len(data) != want:
            raise AssertionError(f"chunk {(layer, chunk)} {refine}: {len(data)} bytes, expected {want}")
        self.pieces[(layer, chunk)] = bytes(data)
        self.modes[(layer, chunk)] = refine

    def upgrade_chunk(self, layer: int, chunk: int, rest: bytes) -> None:
        info = self.index.layers[layer].chunks[chunk]
        if self.modes.get((layer, chunk)) != "dc":
            raise AssertionError(f"upgrade of {(layer, chunk)} that is not in dc mode")
        if len(rest) != info.full_bytes - info.dc_bytes:
            raise AssertionError(f"upgrade of {(layer, chunk)}: {len(rest)} bytes")
        self.pieces[(layer, chunk)] += bytes(rest)
        self.modes[(layer, chunk)] = "full"

    def state_fidelity(self) -> None:
        return None  # a fake stream records no fidelity: every state is shown

    def visible_gaussians(self) -> int:
        top = max((layer for layer, _ in self.pieces), default=None)
        if top is None:
            return 0
        return sum(self.index.layers[top].chunks[c].gaussians for (layer, c) in self.pieces if layer == top)

    def cloud(self) -> FakeCloud:
        return FakeCloud([0] * self.visible_gaussians())

    def assembled(self) -> bytes:
        """The body bytes in file order (only meaningful once everything arrived)."""
        return b"".join(self.pieces[k] for k in sorted(self.pieces))


class FakeCodec:
    """The adapter the client takes (``codec=``): read_index + decoder factory."""

    read_index = staticmethod(read_index)

    @staticmethod
    def decoder(header: bytes, index=None) -> FakeDecoder:  # the fake header is cheap: read again
        return FakeDecoder(header)
