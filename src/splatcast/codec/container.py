"""The .splc container: preamble, header with the layer/chunk table, and the chunk payloads' stream framing.

Owns the byte layout (spec: docs/format.md) and its validation; knows nothing about prediction or quantization.
Every multi-byte field is little-endian. Every read is length-checked; counts are compared with the bytes that
remain and with hard limits before anything is allocated. Errors are :class:`splatcast.errors.BitstreamError`
subclasses whose message names the field, its offset, what was expected and what came.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from splatcast.errors import (
    BitstreamFormatError,
    ChecksumError,
    LimitError,
    TruncatedError,
    UnsupportedVersionError,
)

MAGIC = b"SPLC"
VERSION_MAJOR = 3  # written for untiled files; 2.0 added the fidelity table and joint inter chunks, 3.0 component
# contexts and colour differences (docs/format.md 1.5)
TILED_MAJOR = 4  # written for tiled files (4.0 = 3.0 plus the tile table); untiled files stay 3.0 so that every
# 3.0 reader (a browser's cached player) still reads them
VERSION_MINOR = 0
READ_MAJORS = (1, 2, 3, 4)  # an older file is read by its own rules (1.0: no fidelity table, no joint chunks)
PREAMBLE_BYTES = 16

# hard limits for untrusted input, checked before allocating
MAX_LAYERS = 64
MAX_CHUNKS_PER_LAYER = 65536
MAX_GAUSSIANS_PER_LAYER = 1 << 26
# What a file can make a decoder allocate is bounded by the bytes it supplies (a 7 kB file declaring millions of
# Gaussians): a chunk holds at most MAX_GAUSSIANS_PER_DC_BYTE Gaussians per byte of its dc part (real intra chunks
# spend 40-130 bits per Gaussian; this allows 1) plus, in an inter layer, COPIES_PER_LOWER_GAUSSIAN per Gaussian of
# the layer below (exact copies of lower Gaussians, as in nested layers, cost almost nothing) plus a constant.
MAX_GAUSSIANS_PER_DC_BYTE = 8
COPIES_PER_LOWER_GAUSSIAN = 4
GAUSSIANS_PER_CHUNK_FREE = 256


def max_chunk_gaussians(dc_bytes: int, coding: int, lower_gaussians: int) -> int:
    """The most Gaussians a chunk with a `dc_bytes` dc part may declare (docs/format.md 1.6)."""
    copies = COPIES_PER_LOWER_GAUSSIAN * lower_gaussians if coding == CODING_INTER else 0
    return MAX_GAUSSIANS_PER_DC_BYTE * dc_bytes + copies + GAUSSIANS_PER_CHUNK_FREE
MAX_CODEBOOK = 4096
MAX_TILES = 4096
MAX_HEADER_BYTES = 64 << 20
MAX_STREAMS_PER_PART = 64

ENTROPY_IDS = {"lzma": 1, "paq": 2, "zstd": 3, "rans": 4, "irans": 5}
ENTROPY_NAMES = {v: k for k, v in ENTROPY_IDS.items()}
MODE_IDS = {"scalable": 1, "mdc": 2}
MODE_NAMES = {v: k for k, v in MODE_IDS.items()}
CODING_INTRA = 0  # layer coded on its own (layer 0, every MDC layer)
CODING_INTER = 1  # layer predicted from the reconstructed layer below

# stream ids inside a chunk (literal wire values)
STREAM_POS = 1
STREAM_PARENT_DELTA = 2
STREAM_MODE = 3
STREAM_VQ_INDEX = 4
STREAM_DC = 5
STREAM_OPACITY = 6
STREAM_SCALE = 7
STREAM_QUAT = 8
STREAM_REST = 9
STREAM_COPY = 10  # version 2, inter layers: 1 = an exact copy of its parent (no other values for it)
INTRA_CAPABLE = (STREAM_OPACITY, STREAM_SCALE, STREAM_QUAT, STREAM_REST)  # may carry FLAG_INTRA in inter layers
STREAM_NAMES = {
    STREAM_POS: "pos",
    STREAM_PARENT_DELTA: "parent_delta",
    STREAM_MODE: "mode",
    STREAM_VQ_INDEX: "vq_index",
    STREAM_DC: "dc",
    STREAM_OPACITY: "opacity",
    STREAM_SCALE: "scale",
    STREAM_QUAT: "quat",
    STREAM_REST: "rest",
    STREAM_COPY: "copy",
}

_PREAMBLE = struct.Struct("<4sBBHII")  # magic, major, minor, flags, header_bytes, header_crc32
_FILE_FIELDS = struct.Struct("<QBBBBBBH3f3f5f")  # total_bytes .. steps
_LAYER_FIXED = struct.Struct("<IBBBBIIHH")  # record_bytes, coding, sh_degree, knn_k, reserved, gaussians, chunks, K,
# display_from
_CHUNK_ENTRY = struct.Struct("<QIIIIII")  # offset, dc_bytes, full_bytes, gaussians, crc_dc, crc_rest, reserved
_FIDELITY_ENTRY = struct.Struct("<HHH")  # version 2: per chunk, fidelity after it in full / dc / upgraded states
_STREAM_HEAD = struct.Struct("<HHI")  # stream id, flags, payload bytes
_SECTION_HEAD = struct.Struct("<HHI")  # extension section: type, reserved, payload bytes
_TILE_BOX = struct.Struct("<6I")  # version 4: a tile's inclusive box on the position grid, lo xyz then hi xyz
_TILE_ENTRY = struct.Struct("<IHH")  # version 4, per layer and tile: chunk count, display_from, reserved


@dataclass
class ChunkIndex:
    offset: int  # absolute byte offset in the file
    dc_bytes: int  # bytes from offset enough for refine="dc"
    full_bytes: int  # all bytes of the chunk
    gaussians: int
    crc_dc: int = 0  # CRC32 of [offset, offset + dc_bytes)
    crc_rest: int = 0  # CRC32 of [offset + dc_bytes, offset + full_bytes)
    # fidelity codes (centi-dB, FIDELITY_UNKNOWN / FIDELITY_IDENTICAL) of the states after this chunk
    # (docs/format.md 1.3 and 5): one pass in full, the dc sweep, the upgrade sweep
    fidelity_full: int = 0
    fidelity_dc: int = 0
    fidelity_upgraded: int = 0


FIDELITY_UNKNOWN = 0  # not measured: a client shows the state (no monotone guarantee)
FIDELITY_IDENTICAL = 0xFFFF  # the state shows exactly the file's top layer


def fidelity_code(db: float) -> int:
    """u16 wire code of a fidelity in dB: centi-dB rounded down into 1..65534, identical (inf) -> 65535."""
    if db != db:  # NaN: not measured
        return FIDELITY_UNKNOWN
    if db == float("inf"):
        return FIDELITY_IDENTICAL
    return int(min(max(int(db * 100.0 // 1), 1), FIDELITY_IDENTICAL - 1))


def fidelity_db(code: int) -> float | None:
    """dB of a wire code (None: not measured, inf: identical)."""
    if code == FIDELITY_UNKNOWN:
        return None
    return float("inf") if code == FIDELITY_IDENTICAL else code / 100.0


@dataclass
class LayerIndex:
    index: int
    gaussians: int
    chunks: list[ChunkIndex]
    coding: int = CODING_INTRA
    sh_degree: int = 0
    knn_k: int = 0
    codebook: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int32))  # [K, 3] int32
    display_from: int = 1  # a partial inter layer is shown once this many chunks are in (before: the layer below)
    # tiled files (version 4): how many of ``chunks`` belong to each tile (tile 0's first), and each tile's
    # display_from (``display_from`` above is then unused: 0); None in an untiled index
    tile_chunks: list[int] | None = None
    tile_display_from: list[int] | None = None

    @property
    def codebook_size(self) -> int:
        return int(self.codebook.shape[0])

    @property
    def total_bytes(self) -> int:
        return sum(c.full_bytes for c in self.chunks)


@dataclass
class StreamIndex:
    header_bytes: int
    total_bytes: int
    entropy: str
    layers: list[LayerIndex]
    mode: str = "scalable"
    sh_degree: int = 0
    pos_bits: int = 16
    quality: int = 8
    grid_min: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))  # [3] float32
    grid_max: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))  # [3] float32
    steps: np.ndarray = field(default_factory=lambda: np.ones(5, np.float32))  # [5] float32: dc, op, scale, quat, rest
    version: tuple[int, int] = (VERSION_MAJOR, VERSION_MINOR)
    # tiled files (version 4): [T, 2, 3] int64 inclusive boxes (lo, hi) on the position grid; None: untiled
    tile_boxes: np.ndarray | None = None
    # a tile's view (tile_view): the box every decoded position must lie in; None: the whole grid
    box: np.ndarray | None = None

    @property
    def tile_count(self) -> int:
        return 1 if self.tile_boxes is None else len(self.tile_boxes)

    def tile_view(self, t: int) -> StreamIndex:
        """Tile ``t`` as an untiled index: each layer holds that tile's chunks (absolute offsets, shared entries),
        its Gaussian count and display_from; the rules of an untiled file then apply (docs/format.md 1.7).
        An untiled index is its own tile 0."""
        if not 0 <= t < self.tile_count:
            raise ValueError(f"tile {t} outside 0..{self.tile_count - 1}")
        if self.tile_boxes is None:
            return self
        layers = []
        for layer in self.layers:
            a = sum(layer.tile_chunks[:t])
            chunks = layer.chunks[a : a + layer.tile_chunks[t]]
            layers.append(
                LayerIndex(layer.index, sum(c.gaussians for c in chunks), chunks, layer.coding, layer.sh_degree,
                           layer.knn_k, layer.codebook, layer.tile_display_from[t])
            )
        return replace(self, layers=layers, tile_boxes=None, box=self.tile_boxes[t])


def tile_views(index) -> list:
    """Every tile's view of ``index`` (one for an untiled index, or for an object of StreamIndex's shape)."""
    if getattr(index, "tile_boxes", None) is None:
        return [index]
    return [index.tile_view(t) for t in range(index.tile_count)]


def join_tiles(views: list[StreamIndex], boxes: np.ndarray, chunk_counts=None) -> StreamIndex:
    """The tiled index of untiled per-tile indexes (same file fields, layer codings and codebooks); one view and
    no boxes: that view itself (an untiled file). ``chunk_counts[j][t]``: tile t's chunks of layer j, when the
    views' chunk lists are still to be written (write_file makes them); default: their lengths."""
    if boxes is None:
        if len(views) != 1:
            raise ValueError("several tiles need their boxes")
        return views[0]
    first = views[0]
    layers = []
    for j, layer in enumerate(first.layers):
        parts = [v.layers[j] for v in views]
        for p in parts:
            if (p.coding, p.sh_degree, p.knn_k) != (layer.coding, layer.sh_degree, layer.knn_k) or not np.array_equal(
                p.codebook, layer.codebook
            ):
                raise ValueError(f"layer {j}: tiles disagree on coding, SH degree, k or codebook")
        counts = [len(p.chunks) for p in parts] if chunk_counts is None else list(chunk_counts[j])
        layers.append(
            LayerIndex(j, sum(p.gaussians for p in parts), [c for p in parts for c in p.chunks], layer.coding,
                       layer.sh_degree, layer.knn_k, layer.codebook, 0, counts, [p.display_from for p in parts])
        )
    return replace(first, layers=layers, tile_boxes=np.asarray(boxes, np.int64), box=None)


# --------------------------------------------------------------------------------------------------- reading
class _Reader:
    """Length-checked little-endian reads from ``data`` starting at ``pos``; errors name the field and offset."""

    def __init__(self, data: bytes, pos: int, end: int):
        self.data, self.pos, self.end = data, pos, end

    def take(self, st: struct.Struct, what: str) -> tuple:
        if self.pos + st.size > self.end:
            raise TruncatedError(
                f"{what} at offset {self.pos} needs {st.size} bytes, only {max(self.end - self.pos, 0)} remain"
            )
        out = st.unpack_from(self.data, self.pos)
        self.pos += st.size
        return out

    def remaining(self) -> int:
        return self.end - self.pos


def header_length(preamble: bytes) -> int:
    """Bytes of preamble + header + table, from the first :data:`PREAMBLE_BYTES` bytes of a file."""
    return _parse_preamble(preamble)[2]


def _reserved_zero(value: int, where: str, version: tuple[int, int]) -> None:
    """Reserved fields are written 0; a file of a newer minor may use them (ignored), one of ours may not."""
    if value and version[1] <= VERSION_MINOR:
        raise BitstreamFormatError(f"{where}: reserved, expected 0 in a version {version[0]}.{version[1]} file, got {value}")


def _parse_preamble(data: bytes) -> tuple[int, int, int, int]:
    if len(data) < PREAMBLE_BYTES:
        raise TruncatedError(f"preamble needs {PREAMBLE_BYTES} bytes, got {len(data)}")
    magic, major, minor, flags, header_bytes, header_crc = _PREAMBLE.unpack_from(data, 0)
    if magic != MAGIC:
        raise BitstreamFormatError(f"magic at offset 0: expected {MAGIC!r}, got {bytes(magic)!r}")
    if major not in READ_MAJORS:
        raise UnsupportedVersionError(
            f"version at offset 4: major {major} (minor {minor}) is not supported; this decoder reads major "
            f"{' and '.join(map(str, READ_MAJORS))}"
        )
    _reserved_zero(flags, "flags at offset 6", (major, minor))
    if not PREAMBLE_BYTES + _FILE_FIELDS.size <= header_bytes <= MAX_HEADER_BYTES:
        raise LimitError(
            f"header_bytes at offset 8: {header_bytes} outside {PREAMBLE_BYTES + _FILE_FIELDS.size}.."
            f"{MAX_HEADER_BYTES}"
        )
    return major, minor, header_bytes, header_crc


def read_index(data: bytes) -> StreamIndex:
    """Parse the preamble, header and layer/chunk table; ``data`` needs only the first ``header_bytes`` bytes."""
    data = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data
    major, minor, header_bytes, header_crc = _parse_preamble(data)
    version = (major, minor)
    if len(data) < header_bytes:
        raise TruncatedError(f"header needs {header_bytes} bytes, got {len(data)}")
    got_crc = zlib.crc32(data[PREAMBLE_BYTES:header_bytes])
    if got_crc != header_crc:
        raise ChecksumError(f"header CRC32 at offset 12: expected {header_crc:#010x}, computed {got_crc:#010x}")
    newer = minor > VERSION_MINOR
    r = _Reader(data, PREAMBLE_BYTES, header_bytes)
    (total, entropy_id, mode_id, sh_degree, n_layers, pos_bits, quality, res, *floats) = r.take(
        _FILE_FIELDS, "file fields"
    )
    tiled = major >= TILED_MAJOR
    if tiled:  # version 4: the u16 at 30 is tile_count, the tile boxes follow the file fields
        if not 1 <= res <= MAX_TILES:
            raise LimitError(f"tile_count at offset 30: {res} outside 1..{MAX_TILES}")
    else:
        _reserved_zero(res, "reserved u16 at offset 30", version)
    if entropy_id not in ENTROPY_NAMES:
        raise BitstreamFormatError(
            f"entropy id at offset 24: expected one of {sorted(ENTROPY_NAMES)}, got {entropy_id}"
        )
    if mode_id not in MODE_NAMES:
        raise BitstreamFormatError(f"mode id at offset 25: expected one of {sorted(MODE_NAMES)}, got {mode_id}")
    if sh_degree > 3:
        raise BitstreamFormatError(f"sh_degree at offset 26: expected 0..3, got {sh_degree}")
    if not 1 <= n_layers <= MAX_LAYERS:
        raise LimitError(f"layer_count at offset 27: {n_layers} outside 1..{MAX_LAYERS}")
    if not 1 <= pos_bits <= 21:
        raise BitstreamFormatError(f"pos_bits at offset 28: expected 1..21, got {pos_bits}")
    if total < header_bytes:
        raise BitstreamFormatError(f"total_bytes at offset 16: {total} is smaller than header_bytes {header_bytes}")
    grid_min = np.array(floats[0:3], np.float32)
    grid_max = np.array(floats[3:6], np.float32)
    steps = np.array(floats[6:11], np.float32)
    if not (np.isfinite(grid_min).all() and np.isfinite(grid_max).all() and (grid_max >= grid_min).all()):
        raise BitstreamFormatError(f"position grid at offset 32: min {grid_min} max {grid_max} is not a finite box")
    if not (np.isfinite(steps).all() and (steps > 0).all()):
        raise BitstreamFormatError(f"quantizer steps at offset 56: expected finite positive, got {steps}")

    tile_boxes = None
    n_tiles = res if tiled else 1
    if tiled:
        tile_boxes = np.zeros((n_tiles, 2, 3), np.int64)
        for t in range(n_tiles):
            at = r.pos
            box = np.array(r.take(_TILE_BOX, f"tile {t} box"), np.int64).reshape(2, 3)
            if not ((box[0] <= box[1]).all() and (box[1] < 1 << pos_bits).all()):
                raise BitstreamFormatError(
                    f"tile {t} box at offset {at}: lo {box[0].tolist()} hi {box[1].tolist()} is not a box inside the "
                    f"{pos_bits}-bit grid"
                )
            tile_boxes[t] = box
    layers: list[LayerIndex] = []
    expected_offset = header_bytes
    lower_tile_g = [0] * n_tiles  # Gaussians of the layer below, per tile (the copy allowance of 1.6)
    for li in range(n_layers):
        start = r.pos
        record_bytes, coding, lsh, knn_k, res, gaussians, n_chunks, k_cb, display_from = r.take(
            _LAYER_FIXED, f"layer {li} record"
        )
        where = f"layer {li} record at offset {start}"
        _reserved_zero(res, f"{where}: reserved u8 at +7", version)
        if record_bytes < _LAYER_FIXED.size or start + record_bytes > header_bytes:
            raise BitstreamFormatError(
                f"{where}: record_bytes {record_bytes} outside {_LAYER_FIXED.size}..{header_bytes - start}"
            )
        if coding not in (CODING_INTRA, CODING_INTER) or (coding == CODING_INTER and li == 0):
            raise BitstreamFormatError(f"{where}: coding {coding} is not valid for this layer")
        if lsh > sh_degree:
            raise BitstreamFormatError(f"{where}: sh_degree {lsh} exceeds the file's {sh_degree}")
        if gaussians > MAX_GAUSSIANS_PER_LAYER:
            raise LimitError(f"{where}: gaussians {gaussians} exceeds {MAX_GAUSSIANS_PER_LAYER}")
        if n_chunks > MAX_CHUNKS_PER_LAYER:
            raise LimitError(f"{where}: chunk_count {n_chunks} exceeds {MAX_CHUNKS_PER_LAYER}")
        if tiled:
            _reserved_zero(display_from, f"{where}: display_from (per tile in version 4) at +18", version)
        elif display_from > max(n_chunks, 1):
            raise BitstreamFormatError(f"{where}: display_from {display_from} exceeds chunk_count {n_chunks}")
        if k_cb > MAX_CODEBOOK:
            raise LimitError(f"{where}: codebook_size {k_cb} exceeds {MAX_CODEBOOK}")
        if coding == CODING_INTER and not 1 <= knn_k <= 64:
            raise BitstreamFormatError(f"{where}: knn_k {knn_k} outside 1..64")
        if coding == CODING_INTRA and (knn_k or k_cb):
            raise BitstreamFormatError(f"{where}: an intra layer has knn_k 0 and no codebook, got {knn_k} and {k_cb}")
        need = _LAYER_FIXED.size + 12 * k_cb + _chunk_record_bytes(major) * n_chunks + (
            _TILE_ENTRY.size * n_tiles if tiled else 0)
        if need > record_bytes:
            raise BitstreamFormatError(f"{where}: record_bytes {record_bytes} < {need} needed by its counts")
        cb = np.frombuffer(bytes(data[r.pos : r.pos + 12 * k_cb]), dtype="<i4").reshape(k_cb, 3).astype(np.int32)
        r.pos += 12 * k_cb
        tile_chunks = tile_display = None
        chunk_tile = np.zeros(n_chunks, np.int64)  # the tile of each chunk
        if tiled:
            entries = [r.take(_TILE_ENTRY, f"layer {li} tile {t} entry") for t in range(n_tiles)]
            tile_chunks = [e[0] for e in entries]
            tile_display = [e[1] for e in entries]
            if sum(tile_chunks) != n_chunks:
                raise BitstreamFormatError(f"{where}: tiles hold {sum(tile_chunks)} chunks, the layer {n_chunks}")
            for t, (tc, tdf, tres) in enumerate(entries):
                _reserved_zero(tres, f"{where}: tile {t} entry reserved u16", version)
                if tdf > max(tc, 1):
                    raise BitstreamFormatError(f"{where}: tile {t} display_from {tdf} exceeds its {tc} chunks")
            chunk_tile = np.repeat(np.arange(n_tiles), tile_chunks)
        tile_g = [0] * n_tiles
        chunks = []
        total_g = 0
        for ci in range(n_chunks):
            off, dcb, fb, g, crc_dc, crc_rest, res = r.take(_CHUNK_ENTRY, f"layer {li} chunk {ci} entry")
            cw = f"layer {li} chunk {ci} entry"
            _reserved_zero(res, f"{cw}: reserved u32 at +28", version)
            if coding == CODING_INTRA and crc_rest != 0:
                raise BitstreamFormatError(f"{cw}: an intra chunk has no rest part, crc_rest must be 0, got {crc_rest}")
            if off != expected_offset:
                raise BitstreamFormatError(f"{cw}: offset expected {expected_offset}, got {off}")
            if not dcb <= fb or (coding == CODING_INTRA and dcb != fb):
                raise BitstreamFormatError(f"{cw}: dc_bytes {dcb} / full_bytes {fb} inconsistent")
            # an inter chunk with dc_bytes == full_bytes is joint (version 2): its one part holds every stream
            if coding == CODING_INTER and dcb == fb and major == 1:
                raise BitstreamFormatError(f"{cw}: dc_bytes == full_bytes {fb} (a joint chunk) needs version 2")
            if off + fb > total:
                raise BitstreamFormatError(f"{cw}: ends at {off + fb}, beyond total_bytes {total}")
            if g == 0 and gaussians > 0 or g > gaussians:
                raise BitstreamFormatError(f"{cw}: gaussians {g} invalid for a layer of {gaussians}")
            tile = int(chunk_tile[ci])
            most = max_chunk_gaussians(dcb, coding, lower_tile_g[tile])
            if g > most:
                raise LimitError(f"{cw}: {g} Gaussians in a {dcb}-byte dc part, more than the {most} its bytes allow")
            total_g += g
            tile_g[tile] += g
            expected_offset = off + fb
            if coding == CODING_INTER and dcb == fb and crc_rest != 0:
                raise BitstreamFormatError(f"{cw}: a joint chunk has no rest part, crc_rest must be 0, got {crc_rest}")
            chunks.append(ChunkIndex(off, dcb, fb, g, crc_dc, crc_rest))
        if major >= 2:
            for ci, ce in enumerate(chunks):
                ce.fidelity_full, ce.fidelity_dc, ce.fidelity_upgraded = r.take(
                    _FIDELITY_ENTRY, f"layer {li} chunk {ci} fidelity entry"
                )
        if total_g != gaussians:
            raise BitstreamFormatError(f"{where}: chunks hold {total_g} Gaussians, layer claims {gaussians}")
        extra = start + record_bytes - r.pos
        if extra and not newer:
            raise BitstreamFormatError(f"{where}: {extra} unknown trailing bytes in a version {major}.{minor} file")
        r.pos = start + record_bytes
        lower_tile_g = tile_g
        layers.append(
            LayerIndex(li, gaussians, chunks, coding, lsh, knn_k, cb, display_from, tile_chunks, tile_display)
        )
    # extension sections of a newer minor are skipped by their length
    while r.remaining() > 0:
        at = r.pos
        stype, _res2, length = r.take(_SECTION_HEAD, "extension section")
        if not newer:
            raise BitstreamFormatError(
                f"unknown header section type {stype} at offset {at} in a version {major}.{minor} file"
            )
        if length > r.remaining():
            raise TruncatedError(f"extension section at offset {at} claims {length} bytes, {r.remaining()} remain")
        r.pos += length
    if expected_offset != total:
        raise BitstreamFormatError(f"total_bytes {total} does not match the end of the last chunk {expected_offset}")
    return StreamIndex(
        header_bytes=header_bytes,
        total_bytes=int(total),
        entropy=ENTROPY_NAMES[entropy_id],
        layers=layers,
        mode=MODE_NAMES[mode_id],
        sh_degree=sh_degree,
        pos_bits=pos_bits,
        quality=quality,
        grid_min=grid_min,
        grid_max=grid_max,
        steps=steps,
        version=version,
        tile_boxes=tile_boxes,
    )


# --------------------------------------------------------------------------------------------------- writing
def _chunk_record_bytes(major: int) -> int:
    """Header bytes per chunk: its table entry, plus (version 2) its fidelity entry."""
    return _CHUNK_ENTRY.size + (_FIDELITY_ENTRY.size if major >= 2 else 0)


def _layer_record_bytes(layer: LayerIndex, n_chunks: int, n_tiles: int | None) -> int:
    """Bytes of a layer record as this writer lays it out (``n_tiles`` None: untiled)."""
    tiles = _TILE_ENTRY.size * n_tiles if n_tiles is not None else 0
    return _LAYER_FIXED.size + 12 * layer.codebook_size + tiles + _chunk_record_bytes(VERSION_MAJOR) * n_chunks


def _header_size(layers: list[LayerIndex], chunk_counts: list[int], n_tiles: int | None) -> int:
    n = PREAMBLE_BYTES + _FILE_FIELDS.size + (_TILE_BOX.size * n_tiles if n_tiles is not None else 0)
    for layer, n_chunks in zip(layers, chunk_counts):
        n += _layer_record_bytes(layer, n_chunks, n_tiles)
    return n


def write_file(index: StreamIndex, payloads: list[list[tuple[bytes, bytes, int]]], fidelity=None) -> bytes:
    """Lay out a whole file. ``payloads[layer][chunk] = (dc_part, rest_part, gaussians)``; fills in the table.

    ``fidelity[layer][chunk] = (full, dc, upgraded)`` wire codes (:func:`fidelity_code`); None: not measured.
    An inter chunk given with an empty rest part is written joint (dc_bytes == full_bytes).
    """
    if len(payloads) != len(index.layers) or not 1 <= len(index.layers) <= MAX_LAYERS:
        raise ValueError(f"{len(index.layers)} layers with {len(payloads)} payload lists")
    if fidelity is not None and [len(f) for f in fidelity] != [len(p) for p in payloads]:
        raise ValueError("fidelity needs one (full, dc, upgraded) entry per chunk")
    n_tiles = None if index.tile_boxes is None else len(index.tile_boxes)
    if n_tiles is not None and not 1 <= n_tiles <= MAX_TILES:
        raise ValueError(f"{n_tiles} tiles, the format allows 1..{MAX_TILES}")
    header_bytes = _header_size(index.layers, [len(p) for p in payloads], n_tiles)
    offset = header_bytes
    lower_tile_g = [0] * (n_tiles or 1)
    for layer, parts in zip(index.layers, payloads):
        layer.chunks = []
        if len(parts) > MAX_CHUNKS_PER_LAYER or layer.gaussians > MAX_GAUSSIANS_PER_LAYER:
            raise ValueError(f"layer {layer.index} exceeds the container limits")
        counts = layer.tile_chunks if n_tiles is not None else [len(parts)]
        if sum(counts) != len(parts) or len(counts) != len(lower_tile_g):
            raise ValueError(f"layer {layer.index}: tile chunk counts {counts} do not match {len(parts)} chunks")
        chunk_tile = np.repeat(np.arange(len(counts)), counts)
        tile_g = [0] * len(counts)
        for ci, (dc, rest, g) in enumerate(parts):
            lower = lower_tile_g[chunk_tile[ci]]
            tile_g[chunk_tile[ci]] += g
            if g > max_chunk_gaussians(len(dc), layer.coding, lower):
                raise ValueError(
                    f"layer {layer.index}: a chunk of {g} Gaussians codes to a {len(dc)}-byte dc part, more than "
                    "decoders accept (docs/format.md 1.6; a degenerate layer, e.g. identical Gaussians)"
                )
            codes = fidelity[layer.index][ci] if fidelity is not None else (FIDELITY_UNKNOWN,) * 3
            layer.chunks.append(
                ChunkIndex(offset, len(dc), len(dc) + len(rest), g, zlib.crc32(dc), zlib.crc32(rest), *codes)
            )
            offset += len(dc) + len(rest)
        lower_tile_g = tile_g
    index.header_bytes, index.total_bytes = header_bytes, offset
    body = bytearray()
    body += _FILE_FIELDS.pack(
        offset,
        ENTROPY_IDS[index.entropy],
        MODE_IDS[index.mode],
        index.sh_degree,
        len(index.layers),
        index.pos_bits,
        index.quality,
        n_tiles or 0,  # version 4: tile_count; reserved (0) before
        *[float(v) for v in index.grid_min],
        *[float(v) for v in index.grid_max],
        *[float(v) for v in index.steps],
    )
    if n_tiles is not None:
        for box in np.asarray(index.tile_boxes, np.int64):
            body += _TILE_BOX.pack(*[int(v) for v in box.reshape(-1)])
    for layer in index.layers:
        k = layer.codebook_size
        record = _layer_record_bytes(layer, len(layer.chunks), n_tiles)
        body += _LAYER_FIXED.pack(
            record, layer.coding, layer.sh_degree, layer.knn_k, 0, layer.gaussians, len(layer.chunks), k,
            layer.display_from if n_tiles is None else 0,
        )
        body += np.ascontiguousarray(layer.codebook, dtype="<i4").tobytes()
        if n_tiles is not None:
            for tc, tdf in zip(layer.tile_chunks, layer.tile_display_from):
                body += _TILE_ENTRY.pack(tc, tdf, 0)
        for c in layer.chunks:
            body += _CHUNK_ENTRY.pack(c.offset, c.dc_bytes, c.full_bytes, c.gaussians, c.crc_dc, c.crc_rest, 0)
        for c in layer.chunks:
            body += _FIDELITY_ENTRY.pack(c.fidelity_full, c.fidelity_dc, c.fidelity_upgraded)
    major = VERSION_MAJOR if n_tiles is None else TILED_MAJOR
    index.version = (major, VERSION_MINOR)
    out = bytearray(_PREAMBLE.pack(MAGIC, major, VERSION_MINOR, 0, header_bytes, zlib.crc32(body)))
    out += body
    assert len(out) == header_bytes
    for parts in payloads:
        for dc, rest, _g in parts:
            out += dc
            out += rest
    return bytes(out)


# --------------------------------------------------------------------------------------------------- chunk parts
# stream flags, bits 0-3: bytes per value of the element type (little-endian signed 1, 2 or 4);
# bit 8 (FLAG_INTRA): the values are the quantized features themselves, not residuals against the prediction
STREAM_DTYPES = {1: np.dtype("<i1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
FLAG_INTRA = 0x100


def narrowest_dtype(values: np.ndarray) -> int:
    """Flag (1, 2 or 4: bytes per value) of the narrowest signed type holding every value."""
    if values.size == 0:
        return 1
    lo, hi = int(values.min()), int(values.max())
    for code in (1, 2, 4):
        if -(1 << (8 * code - 1)) <= lo and hi < 1 << (8 * code - 1):
            return code
    raise ValueError(f"stream values {lo}..{hi} do not fit int32")


def pack_streams(streams: list[tuple[int, int, bytes]]) -> bytes:
    """Frame (stream id, flags, payload) triples: u16 id, u16 flags, u32 length, payload."""
    out = bytearray()
    for sid, flags, payload in streams:
        out += _STREAM_HEAD.pack(sid, flags, len(payload))
        out += payload
    return bytes(out)


def unpack_streams(part: bytes, what: str, newer_minor: bool = False) -> dict[int, tuple[np.dtype, bool, bytes]]:
    """Split a chunk part into {stream id: (dtype, intra, payload)}; unknown ids are skipped only in a newer minor."""
    out: dict[int, tuple[np.dtype, bool, bytes]] = {}
    r = _Reader(part, 0, len(part))
    while r.remaining() > 0:
        at = r.pos
        sid, flags, length = r.take(_STREAM_HEAD, f"{what} stream header")
        if length > r.remaining():
            raise TruncatedError(f"{what} stream {sid} at offset {at} claims {length} bytes, {r.remaining()} remain")
        payload = part[r.pos : r.pos + length]
        r.pos += length
        if sid not in STREAM_NAMES:
            if newer_minor:
                continue
            raise BitstreamFormatError(f"{what}: unknown stream id {sid} at offset {at}")
        if flags & ~FLAG_INTRA not in STREAM_DTYPES or (flags & FLAG_INTRA and sid not in INTRA_CAPABLE):
            raise BitstreamFormatError(f"{what}: stream {sid} at offset {at} has invalid flags {flags:#x}")
        if sid in out:
            raise BitstreamFormatError(f"{what}: stream {STREAM_NAMES[sid]} appears twice (offset {at})")
        if len(out) >= MAX_STREAMS_PER_PART:
            raise LimitError(f"{what}: more than {MAX_STREAMS_PER_PART} streams")
        out[sid] = (STREAM_DTYPES[flags & ~FLAG_INTRA], bool(flags & FLAG_INTRA), payload)
    return out


def chunk_part(data: bytes, chunk: ChunkIndex, refine: str, what: str) -> tuple[bytes, bytes | None]:
    """Cut a chunk out of a whole or prefix file and verify its CRCs: (dc part, rest part or None for refine=dc)."""
    end_dc = chunk.offset + chunk.dc_bytes
    if len(data) < end_dc:
        raise TruncatedError(f"{what}: needs bytes up to {end_dc}, the data has {len(data)}")
    dc = bytes(data[chunk.offset : end_dc])
    check_crc(dc, chunk.crc_dc, f"{what} dc part at offset {chunk.offset}")
    if refine == "dc" or chunk.full_bytes == chunk.dc_bytes:
        return dc, (None if refine == "dc" and chunk.full_bytes != chunk.dc_bytes else b"")
    end = chunk.offset + chunk.full_bytes
    if len(data) < end:
        raise TruncatedError(f"{what}: needs bytes up to {end}, the data has {len(data)}")
    rest = bytes(data[end_dc:end])
    check_crc(rest, chunk.crc_rest, f"{what} rest part at offset {end_dc}")
    return dc, rest


def check_crc(part: bytes, expected: int, what: str) -> None:
    got = zlib.crc32(part)
    if got != expected:
        raise ChecksumError(f"{what}: CRC32 expected {expected:#010x}, computed {got:#010x}")
