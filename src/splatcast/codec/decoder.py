"""Decoder: whole files, prefixes, and chunk-by-chunk streaming (:class:`ProgressiveDecoder`).

Rebuilds each layer's integer positions and features exactly as the encoder quantized them, then dequantizes.
What is shown for a partial layer (docs/format.md, "Partial layers"): the complete layer below, minus every
lower-layer Gaussian that is the parent of a received Gaussian, plus the received Gaussians; once the layer's
last chunk arrives this is exactly the layer. The parent (nearest lower Gaussian) is in the stream anyway
(it codes the position), so the replacement rule costs no bytes.
"""

from __future__ import annotations

import time

import numpy as np

from splatcast.codec import container as ct
from splatcast.codec.entropy import decode_stream
from splatcast.codec.features import (
    COLOUR_DELTA_MAJOR,
    DC,
    FEATURE_GROUPS,
    add_stream,
    from_stream,
    prefix_sum,
    stream_context,
)
from splatcast.codec.fidelity import started_layers, state_fidelity
from splatcast.codec.knn import NeighbourIndex
from splatcast.codec.predict import drop_unread_neighbours, neighbours_read, predict_with_modes
from splatcast.codec.quantize import FEATURE_LIMIT, Grid, dequantize, feature_columns
from splatcast.codec.tiles import in_box
from splatcast.errors import BitstreamError, BitstreamFormatError, TruncatedError
from splatcast.scene.cloud import GaussianCloud

REFINES = ("dc", "full")
_INT32 = (-(1 << 31), (1 << 31) - 1)
_NO_EXTRA = np.zeros((0, 3), np.int64)


def _rows_from(low: np.ndarray, parents: np.ndarray, copies: np.ndarray, g: int) -> np.ndarray:
    """[g, C] rows whose ``copies`` hold their parents' rows of ``low``; the other rows are left for the caller to
    write (every one of them is: the live rows of an inter chunk), so they are not gathered first."""
    out = np.empty((g, low.shape[1]), low.dtype)
    if len(copies):
        out[copies] = low[parents[copies]]
    return out


class _LayerState:
    def __init__(self, n_chunks: int):
        self.pos: list[np.ndarray] = []  # per chunk [g, 3] int32
        self.feat: list[np.ndarray] = []  # per chunk [g, C] int32
        self.parents: list[np.ndarray] = []  # per chunk [g] int32 (inter layers)
        self.neighbours: list[np.ndarray] = []  # per chunk [g, k] int32 (inter layers)
        self.pending: dict[int, tuple] = {}  # chunk -> (prediction [g, C], modes) while only its dc part is in
        self.n_chunks = n_chunks
        self.decode_s = 0.0
        self._cat = None

    @property
    def received(self) -> int:
        return len(self.pos)

    @property
    def complete(self) -> bool:
        return self.received == self.n_chunks and not self.pending

    def arrays(self, c_cols: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cat is None or self._cat[0] != (self.received, len(self.pending)):
            pos = np.concatenate(self.pos) if self.pos else np.zeros((0, 3), np.int32)
            feat = np.concatenate(self.feat) if self.feat else np.zeros((0, c_cols), np.int32)
            self._cat = ((self.received, len(self.pending)), pos, feat)
        return self._cat[1], self._cat[2]


class ProgressiveDecoder:
    """Decode a .splc stream chunk by chunk, as a streaming client receives it.

    ``header`` holds at least the first ``header_bytes`` bytes of the file. Chunks of a layer arrive in order
    (:meth:`add_chunk`); an inter-coded layer needs the layer below complete in full refinement; a chunk added
    with ``refine="dc"`` is completed later with :meth:`upgrade_chunk`. :meth:`cloud` is what to show now.

    A tiled file (docs/format.md 1.7) is one independent stream per tile: every call names its ``tile`` (0 in an
    untiled file) and chunk numbers count that tile's chunks of the layer; what is shown is every tile's state,
    tile 0's rows first.

    ``reference=True`` decodes every chunk with the plain numpy definitions (TileDecoder.*_reference) instead of the
    fused kernels; the tests compare both.
    """

    def __init__(self, header: bytes, reference: bool = False):
        self._start(ct.read_index(header), reference)

    @classmethod
    def from_index(cls, index: ct.StreamIndex, reference: bool = False) -> "ProgressiveDecoder":
        """A decoder over an index already read from the header (a client checks it against its manifest first and
        need not parse it again)."""
        dec = cls.__new__(cls)
        dec._start(index, reference)
        return dec

    def _start(self, index: ct.StreamIndex, reference: bool = False) -> None:
        self.index = index
        self.stats = {"bytes": 0, "chunks": 0, "decode_s": 0.0}
        self.tiles = [TileDecoder(view, self.stats, reference) for view in ct.tile_views(self.index)]

    @property
    def tiled(self) -> bool:
        return self.index.tile_boxes is not None

    def tile(self, tile: int) -> "TileDecoder":
        if not 0 <= tile < len(self.tiles):
            raise BitstreamFormatError(f"tile {tile} does not exist (the file has {len(self.tiles)})")
        return self.tiles[tile]

    def add_chunk(self, layer: int, chunk: int, data: bytes, refine: str = "full", tile: int = 0) -> None:
        self.tile(tile).add_chunk(layer, chunk, data, refine)

    def upgrade_chunk(self, layer: int, chunk: int, rest: bytes, tile: int = 0) -> None:
        """Add the rest part (bytes [dc_bytes, full_bytes) of the chunk) to a chunk received with refine="dc"."""
        self.tile(tile).upgrade_chunk(layer, chunk, rest)

    def layer_complete(self, layer: int) -> bool:
        return all(t.layer_complete(layer) for t in self.tiles)

    def chunks_received(self, layer: int, tile: int = 0) -> int:
        return self.tile(tile).chunks_received(layer)

    def layer_decode_s(self, layer: int) -> float:
        return sum(t.layer_decode_s(layer) for t in self.tiles)

    def layer_arrays(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Integer (positions [N, 3], features [N, C]) of the chunks received so far, in output order."""
        parts = [t.layer_arrays(layer) for t in self.tiles]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p for p, _ in parts]), np.concatenate([f for _, f in parts])

    def layer_neighbours(self, layer: int) -> np.ndarray:
        """[N, k] neighbour rows (in the output order of the layer below; -1: none) of an inter layer."""
        if len(self.tiles) == 1:
            return self.tiles[0].layer_neighbours(layer)
        k = max(self.index.layers[layer].knn_k, 1)
        out, start = [], 0
        for t in self.tiles:
            n = t.layer_neighbours(layer)
            block = np.full((len(t.layer_arrays(layer)[0]), k), -1, np.int32)
            block[:, : n.shape[1]] = np.where(n >= 0, n + start, -1) if n.size else block[:, :0]
            out.append(block)
            start += len(t.layer_arrays(layer - 1)[0])
        return np.concatenate(out)

    def layer_cloud(self, layer: int) -> GaussianCloud:
        pos, feat = self.layer_arrays(layer)
        return dequantize(self.tiles[0].grid, self.index.steps, pos, feat, self.index.layers[layer].sh_degree)

    def cloud(self) -> GaussianCloud:
        """What to show now: every tile's state (see docs/format.md, "Partial layers"), tile 0 first."""
        clouds = [t.cloud() for t in self.tiles]
        return clouds[0] if len(clouds) == 1 else GaussianCloud.concat(clouds)

    def visible_gaussians(self) -> int:
        """``len(self.cloud())`` without dequantizing (a client counts what is on screen after every piece)."""
        return sum(t.visible_gaussians() for t in self.tiles)

    def state_fidelity(self, tile: int | None = None) -> float | None:
        """The index's fidelity (dB, inf = the tile's top layer) of what the tile shows now; None when the file does
        not say or the state is none of the measured ones (docs/format.md section 5). A tiled file's fidelity is
        per tile (``tile`` None there: None)."""
        if tile is None:
            return self.tiles[0].state_fidelity() if len(self.tiles) == 1 else None
        return self.tile(tile).state_fidelity()


class TileDecoder:
    """One tile's progressive stream (an untiled file is its own tile 0): the rules of an untiled file over the
    tile's view of the index (:meth:`StreamIndex.tile_view`), positions checked against the tile's box."""

    def __init__(self, index: ct.StreamIndex, stats: dict, reference: bool = False):
        self.index = index
        self.reference = reference  # the plain numpy decode (tests); else fused kernels that fall back to it
        self.grid = Grid(self.index.grid_min, self.index.grid_max, self.index.pos_bits)
        self.steps = self.index.steps
        self.cols = feature_columns(self.index.sh_degree)
        self._newer = self.index.version[1] > ct.VERSION_MINOR
        self.major = self.index.version[0]  # the stream rules (contexts, colour coding) depend on it
        self._layers = [_LayerState(len(li.chunks)) for li in self.index.layers]
        self._nindex: dict[int, NeighbourIndex] = {}
        self._replaced: dict[int, tuple[int, np.ndarray]] = {}  # layer -> (chunks folded in, parents seen so far)
        self.stats = stats

    # ------------------------------------------------------------------------------------------- feeding
    def add_chunk(self, layer: int, chunk: int, data: bytes, refine: str = "full") -> None:
        li = self._layer_index(layer)
        st = self._layers[layer]
        if refine not in REFINES:
            raise ValueError(f"refine={refine!r}: choose dc or full")
        if chunk != st.received:
            raise BitstreamFormatError(f"layer {layer}: chunk {chunk} arrived, expected chunk {st.received} next")
        if chunk >= len(li.chunks):
            raise BitstreamFormatError(f"layer {layer} has {len(li.chunks)} chunks, got chunk {chunk}")
        ce = li.chunks[chunk]
        what = f"layer {layer} chunk {chunk}"
        if refine == "full" or ce.full_bytes == ce.dc_bytes:
            want = ce.full_bytes
        else:
            want = ce.dc_bytes
        if len(data) < want:
            raise TruncatedError(f"{what}: needs {want} bytes for refine={refine}, got {len(data)}")
        local = ct.ChunkIndex(0, ce.dc_bytes, ce.full_bytes, ce.gaussians, ce.crc_dc, ce.crc_rest)
        dc, rest = ct.chunk_part(data[:want], local, refine, what)
        t0 = time.perf_counter()
        if li.coding == ct.CODING_INTRA:
            pos, feat = self._decode_intra(dc, ce.gaussians, what)
            st.pos.append(pos)
            st.feat.append(feat)
        else:
            self._decode_inter(layer, chunk, dc, rest, what)
        dt = time.perf_counter() - t0
        st.decode_s += dt
        self.stats["decode_s"] += dt
        self.stats["bytes"] += want
        self.stats["chunks"] += 1

    def upgrade_chunk(self, layer: int, chunk: int, rest: bytes) -> None:
        """Add the rest part (bytes [dc_bytes, full_bytes) of the chunk) to a chunk received with refine="dc"."""
        li = self._layer_index(layer)
        st = self._layers[layer]
        what = f"layer {layer} chunk {chunk}"
        if chunk not in st.pending:
            raise BitstreamFormatError(f"{what}: nothing to upgrade (not received in dc refinement)")
        ce = li.chunks[chunk]
        need = ce.full_bytes - ce.dc_bytes
        if len(rest) < need:
            raise TruncatedError(f"{what}: rest part needs {need} bytes, got {len(rest)}")
        rest = bytes(rest[:need])
        ct.check_crc(rest, ce.crc_rest, f"{what} rest part")
        t0 = time.perf_counter()
        pred, modes, live = st.pending[chunk]
        streams = ct.unpack_streams(rest, what + " rest part", self._newer)
        st.feat[chunk] = self._rest_residuals(streams, pred, modes, st.feat[chunk], what, live)
        del st.pending[chunk]
        st._cat = None
        dt = time.perf_counter() - t0
        st.decode_s += dt
        self.stats["decode_s"] += dt
        self.stats["bytes"] += need

    # ------------------------------------------------------------------------------------------- queries
    def layer_complete(self, layer: int) -> bool:
        return self._layers[layer].complete

    def chunks_received(self, layer: int) -> int:
        return self._layers[layer].received

    def layer_decode_s(self, layer: int) -> float:
        return self._layers[layer].decode_s

    def layer_arrays(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Integer (positions [N, 3], features [N, C]) of the chunks received so far, in stream order."""
        return self._layers[layer].arrays(self.cols)

    def layer_neighbours(self, layer: int) -> np.ndarray:
        st = self._layers[layer]
        return np.concatenate(st.neighbours) if st.neighbours else np.zeros((0, 0), np.int32)

    def layer_cloud(self, layer: int) -> GaussianCloud:
        pos, feat = self.layer_arrays(layer)
        return dequantize(self.grid, self.steps, pos, feat, self.index.layers[layer].sh_degree)

    def cloud(self) -> GaussianCloud:
        """What to show now (see the module docstring and docs/format.md, "Partial layers")."""
        layer, mixed = self._shown()
        if layer is None:
            return GaussianCloud.empty(self.index.sh_degree)
        if not mixed:
            return self.layer_cloud(layer)
        low = self.layer_cloud(layer - 1)
        keep = np.ones(len(low), bool)
        keep[np.concatenate(self._layers[layer].parents)] = False
        return GaussianCloud.concat([low[keep], self.layer_cloud(layer)])

    def visible_gaussians(self) -> int:
        """``len(self.cloud())`` by the same rules, from counts alone (no dequantizing, no concatenation)."""
        layer, mixed = self._shown()
        if layer is None:
            return 0
        if not mixed:
            return self._count(layer)
        return self._count(layer - 1) - self._parents_replaced(layer) + self._count(layer)

    def _shown(self) -> tuple[int | None, bool]:
        """What the display rule shows now: (layer, mixed). ``mixed``: the received Gaussians of ``layer`` in place
        of the lower-layer rows they replace; else ``layer`` alone (None: nothing received)."""
        t = self._top_started()
        if t is None:
            return None, False
        if self._layers[t].received == self._layers[t].n_chunks:
            return t, False
        if self.index.mode == "mdc":
            done = [j for j in self._started() if self._layers[j].received == self._layers[j].n_chunks]
            return (done[-1] if done else t), False
        if self.index.layers[t].coding == ct.CODING_INTRA:
            return t, False
        if self._layers[t].received < self.index.layers[t].display_from:
            return t - 1, False  # the encoder measured that mixing fewer chunks in would lower fidelity
        return t, True

    def _count(self, layer: int) -> int:
        return sum(len(p) for p in self._layers[layer].pos)

    def _parents_replaced(self, layer: int) -> int:
        """Distinct lower-layer rows that received Gaussians of ``layer`` replace (folded in chunk by chunk)."""
        parents = self._layers[layer].parents
        done, seen = self._replaced.get(layer, (0, None))
        if seen is None:
            seen = np.zeros(self._count(layer - 1), bool)
        for p in parents[done:]:
            seen[p] = True
        self._replaced[layer] = (len(parents), seen)
        return int(np.count_nonzero(seen))

    def state_fidelity(self) -> float | None:
        """The index's fidelity (dB, inf = the top layer) of what :meth:`cloud` shows now; None when the file does
        not say (version 1, not measured) or the state is none of the measured ones (docs/format.md section 5)."""
        return state_fidelity(self.index, [s.received for s in self._layers], [s.pending for s in self._layers])

    def _started(self) -> list[int]:
        return started_layers(self.index, [s.received for s in self._layers])

    def _top_started(self) -> int | None:
        started = self._started()
        return started[-1] if started else None

    # ------------------------------------------------------------------------------------------- internals
    def _layer_index(self, layer: int) -> ct.LayerIndex:
        if not 0 <= layer < len(self.index.layers):
            raise BitstreamFormatError(f"layer {layer} does not exist (file has {len(self.index.layers)})")
        li = self.index.layers[layer]
        if li.coding == ct.CODING_INTER and not self._layers[layer - 1].complete:
            raise BitstreamFormatError(
                f"layer {layer} is predicted from layer {layer - 1}, which is not complete in full refinement"
            )
        return li

    def _get(self, streams: dict, sid: int, count: int, what: str, ctx=None) -> np.ndarray:
        return self._values(streams, sid, count, what, ctx).astype(np.int32)

    def _values(self, streams: dict, sid: int, count: int, what: str, ctx=None) -> np.ndarray:
        """A stream's values in its own dtype (int8..int32; :meth:`_get` widens them to int32)."""
        if count == 0:
            return np.zeros(0, np.int32)
        if sid not in streams:
            raise BitstreamFormatError(f"{what}: stream {ct.STREAM_NAMES[sid]} is missing")
        dtype, _intra, payload = streams[sid]
        try:
            return decode_stream(payload, self.index.entropy, count, dtype, ctx)
        except BitstreamError as exc:
            raise type(exc)(f"{what} stream {ct.STREAM_NAMES[sid]}: {exc}") from None

    def _group(self, streams, fg, g: int, width: int, what: str, modes=None) -> np.ndarray:
        """[g, width] values of feature group ``fg`` from its stream (contexts and colour coding of this version)."""
        ctx = stream_context(self.major, width, g, modes, fg.gaussian_major)
        v = self._get(streams, fg.stream, width * g, what, ctx)
        try:
            return from_stream(fg, v, g, width, self.major)
        except BitstreamFormatError as exc:
            raise BitstreamFormatError(f"{what} stream {ct.STREAM_NAMES[fg.stream]}: {exc}") from None

    def _features(self, streams, g, what, first_col, ctx_modes=None):
        """Columns first_col.. from their streams: ([g, C - first_col] int32 values, [C - first_col] bool intra)."""
        out = np.empty((g, self.cols - first_col), np.int32)
        intra = np.zeros(self.cols - first_col, bool)
        for fg in FEATURE_GROUPS:
            c0, n = fg.first, fg.stop(self.cols) - fg.first
            if c0 < first_col or n == 0:
                continue
            sid = fg.stream
            out[:, c0 - first_col : c0 - first_col + n] = self._group(streams, fg, g, n, what, ctx_modes)
            if g and streams[sid][1]:
                intra[c0 - first_col : c0 - first_col + n] = True
        return out, intra

    def _check_range(self, arr: np.ndarray, lo: int, hi: int, field: str, what: str) -> None:
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise BitstreamFormatError(f"{what}: {field} outside {lo}..{hi} (got {arr.min()}..{arr.max()})")

    def _check_positions(self, pos: np.ndarray, what: str) -> None:
        """Inside the grid, and in a tile's view inside the tile's box (docs/format.md 1.7)."""
        self._check_range(pos, 0, (1 << self.grid.bits) - 1, "position", what)
        box = self.index.box
        if box is not None and len(pos) and not in_box(pos, box).all():
            bad = pos[~in_box(pos, box)][0].tolist()
            raise BitstreamFormatError(f"{what}: position {bad} outside its tile's box {box.tolist()}")

    # Fast paths: the same streams decoded in the same order, but each group's values go through one fused kernel
    # (stream layout, colour sums, prediction, int32 write) that returns the ranges the checks need. Whenever a
    # range is off, the chunk is decoded again by the *_reference method, which raises exactly its error; nothing
    # is stored before that decision.
    def _decode_intra(self, dc: bytes, g: int, what: str):
        if self.reference:
            return self._decode_intra_reference(dc, g, what)
        streams = ct.unpack_streams(dc, what, self._newer)
        dpos = self._values(streams, ct.STREAM_POS, 3 * g, what, stream_context(self.major, 3, g))
        pos = np.empty((g, 3), np.int32)
        lo, hi = prefix_sum(dpos, g, 3, pos)
        if not self._positions_ok(pos, lo, hi):
            return self._decode_intra_reference(dc, g, what)
        feat = np.empty((g, self.cols), np.int32)
        rows = np.arange(g)
        if not self._groups_into(streams, FEATURE_GROUPS, g, None, None, rows, feat, what):
            return self._decode_intra_reference(dc, g, what)
        return pos, feat

    def _decode_inter(self, layer: int, chunk: int, dc: bytes, rest: bytes | None, what: str) -> None:
        if self.reference:
            return self._decode_inter_reference(layer, chunk, dc, rest, what)
        li = self.index.layers[layer]
        st = self._layers[layer]
        low_pos, low_feat = self.layer_arrays(layer - 1)
        m = len(low_pos)
        ce = li.chunks[chunk]
        g = ce.gaussians
        joint = ce.dc_bytes == ce.full_bytes
        streams = ct.unpack_streams(dc, what, self._newer)
        dpar = self._values(streams, ct.STREAM_PARENT_DELTA, g, what)
        self._check_range(dpar, 0, max(m - 1, 0), "parent delta", what)
        parents = np.cumsum(dpar, dtype=np.int64)
        self._check_range(parents, 0, m - 1, "parent", what)
        copy = np.zeros(g, bool)
        if ct.STREAM_COPY in streams:
            if self.index.version[0] < 2:
                raise BitstreamFormatError(f"{what}: stream copy needs version 2")
            flags = self._values(streams, ct.STREAM_COPY, g, what)
            self._check_range(flags, 0, 1, "copy flag", what)
            copy = flags.astype(bool)
        live = np.flatnonzero(~copy)
        n = len(live)
        dpos = self._values(streams, ct.STREAM_POS, 3 * n, what, stream_context(self.major, 3, n))
        copies = np.flatnonzero(copy)
        sel = live if len(copies) else slice(None)  # the live rows (all of them, as a view, when none is a copy)
        pos = _rows_from(low_pos, parents, copies, g)  # copies keep their parent's position; the rest come below
        _, _, lo, hi = add_stream(dpos, n, 3, False, False, low_pos, parents[sel], True, _NO_EXTRA, live, pos, 0)
        if not self._positions_ok(pos, lo, hi):
            return self._decode_inter_reference(layer, chunk, dc, rest, what)
        k = min(li.knn_k, m)
        modes = self._values(streams, ct.STREAM_MODE, n, what)
        self._check_range(modes, 0, k, "mode", what)
        modes = modes.astype(np.uint8)
        if layer - 1 not in self._nindex:
            self._nindex[layer - 1] = NeighbourIndex(low_pos)
        live_pos = pos[sel]
        # only the neighbours each mode reads (-1 after them): the same prefix of the k nearest, found sooner
        live_nbr = self._nindex[layer - 1].query(live_pos, li.knn_k, neighbours_read(modes, k))
        pred = predict_with_modes(low_pos, low_feat, live_pos, live_nbr, modes)
        feat = _rows_from(low_feat, parents, copies, g)  # copies: their parent's features; live rows come below
        rows = np.arange(n)
        dc_raw = self._values(streams, ct.STREAM_DC, 3 * n, what, stream_context(self.major, 3, n, modes))
        colour = self.major >= COLOUR_DELTA_MAJOR
        if li.codebook_size:
            dc_res = np.empty((n, 3), np.int64)
            clo, chi, _, _ = add_stream(dc_raw, n, 3, False, colour, pred, rows, False, _NO_EXTRA, rows, dc_res, 0)
            if clo < _INT32[0] or chi > _INT32[1]:
                return self._decode_inter_reference(layer, chunk, dc, rest, what)
            vq = self._get(streams, ct.STREAM_VQ_INDEX, n, what, stream_context(self.major, 1, n, modes))
            self._check_range(vq, 0, li.codebook_size - 1, "vq index", what)
            dc_val = pred[:, 0:3].astype(np.int64) + dc_res + li.codebook[vq]
            self._check_range(dc_val, -FEATURE_LIMIT, FEATURE_LIMIT, "sh_dc", what)
            feat[sel, 0:3] = dc_val
        else:
            clo, chi, lo, hi = add_stream(dc_raw, n, 3, False, colour, pred, rows, True, _NO_EXTRA, live, feat, 0)
            if clo < _INT32[0] or chi > _INT32[1] or lo < -FEATURE_LIMIT or hi > FEATURE_LIMIT:
                return self._decode_inter_reference(layer, chunk, dc, rest, what)
        if joint or rest is not None:
            part = streams if joint else ct.unpack_streams(rest, what + " rest part", self._newer)
            if not self._groups_into(part, FEATURE_GROUPS[1:], n, pred, modes, live, feat, what):
                return self._decode_inter_reference(layer, chunk, dc, rest, what)
        else:
            feat[sel, 3:] = pred[:, 3:]
            st.pending[chunk] = (pred, modes, live)
        if len(copies):
            nbr = np.full((g, k), -1, np.int32)  # copies: no search, only their parent
            nbr[:, 0] = parents
            nbr[live] = live_nbr
        else:
            nbr = live_nbr
        st.pos.append(pos)
        st.feat.append(feat)
        st.parents.append(parents.astype(np.int32))
        st.neighbours.append(nbr)

    def _rest_residuals(self, streams: dict, pred, modes, feat, what, live) -> np.ndarray:
        """Columns 3.. of the rows ``live`` (the chunk's Gaussians that are not copies) from the rest streams."""
        if not self.reference:
            out = feat.copy()
            if self._groups_into(streams, FEATURE_GROUPS[1:], len(pred), pred, modes, live, out, what):
                return out
        return self._rest_residuals_reference(streams, pred, modes, feat, what, live)

    def _positions_ok(self, pos: np.ndarray, lo: int, hi: int) -> bool:
        """The checks of :meth:`_check_positions` from the kernel's range of the decoded rows (the others are
        positions of the layer below, already checked)."""
        if lo < 0 or hi > (1 << self.grid.bits) - 1:
            return False
        box = self.index.box
        return box is None or not len(pos) or bool(in_box(pos, box).all())

    def _groups_into(self, streams, groups, n, pred, modes, rows, out, what) -> bool:
        """Feature groups into out[rows] (plus ``pred`` unless a stream is INTRA-flagged; ``pred`` None: intra);
        False where a colour sum leaves int32 or a feature leaves +-FEATURE_LIMIT."""
        lo, hi = 0, 0
        ar = np.arange(n)
        for fg in groups:
            c0, width = fg.first, fg.stop(self.cols) - fg.first
            if width == 0:
                continue
            v = self._values(streams, fg.stream, width * n, what, stream_context(self.major, width, n, modes,
                                                                                   fg.gaussian_major))
            add = pred is not None and not (n and streams[fg.stream][1])
            colour = fg.colour and self.major >= COLOUR_DELTA_MAJOR
            clo, chi, glo, ghi = add_stream(v, n, width, fg.gaussian_major, colour, out if pred is None else pred, ar,
                                            add, _NO_EXTRA, rows, out, c0)
            if clo < _INT32[0] or chi > _INT32[1]:
                return False
            lo, hi = min(lo, glo), max(hi, ghi)
        return -FEATURE_LIMIT <= lo and hi <= FEATURE_LIMIT

    def _decode_intra_reference(self, dc: bytes, g: int, what: str):
        """The plain numpy decode of an intra chunk: the definition :meth:`_decode_intra` is tested against, and what
        produces its errors."""
        streams = ct.unpack_streams(dc, what, self._newer)
        dpos = self._get(streams, ct.STREAM_POS, 3 * g, what, stream_context(self.major, 3, g)).reshape(3, g).T
        pos = np.cumsum(dpos.astype(np.int64), axis=0)
        self._check_positions(pos, what)
        feat, _ = self._features(streams, g, what, 0)
        self._check_range(feat, -FEATURE_LIMIT, FEATURE_LIMIT, "feature", what)
        return pos.astype(np.int32), feat

    def _decode_inter_reference(self, layer: int, chunk: int, dc: bytes, rest: bytes | None, what: str) -> None:
        """The plain numpy decode of an inter chunk: the definition :meth:`_decode_inter` is tested against, and what
        produces its errors."""
        li = self.index.layers[layer]
        st = self._layers[layer]
        low_pos, low_feat = self.layer_arrays(layer - 1)
        m = len(low_pos)
        ce = self.index.layers[layer].chunks[chunk]
        g = ce.gaussians
        joint = ce.dc_bytes == ce.full_bytes  # version 2: one part holds the rest streams too
        streams = ct.unpack_streams(dc, what, self._newer)
        dpar = self._get(streams, ct.STREAM_PARENT_DELTA, g, what)
        self._check_range(dpar, 0, max(m - 1, 0), "parent delta", what)
        parents = np.cumsum(dpar.astype(np.int64))
        self._check_range(parents, 0, m - 1, "parent", what)
        # version 2: exact copies of their parent carry a flag and nothing else (docs/format.md 3.2)
        copy = np.zeros(g, bool)
        if ct.STREAM_COPY in streams:
            if self.index.version[0] < 2:
                raise BitstreamFormatError(f"{what}: stream copy needs version 2")
            flags = self._get(streams, ct.STREAM_COPY, g, what)
            self._check_range(flags, 0, 1, "copy flag", what)
            copy = flags.astype(bool)
        live = np.flatnonzero(~copy)
        n = len(live)
        dpos = self._get(streams, ct.STREAM_POS, 3 * n, what, stream_context(self.major, 3, n)).reshape(3, n).T
        pos = low_pos[parents].astype(np.int64)
        pos[live] += dpos
        self._check_positions(pos, what)
        pos = pos.astype(np.int32)
        k = min(li.knn_k, m)
        modes = self._get(streams, ct.STREAM_MODE, n, what)
        self._check_range(modes, 0, k, "mode", what)
        modes = modes.astype(np.uint8)
        if layer - 1 not in self._nindex:
            self._nindex[layer - 1] = NeighbourIndex(low_pos)
        live_nbr = drop_unread_neighbours(self._nindex[layer - 1].query(pos[live], li.knn_k), modes)  # all k first
        pred = predict_with_modes(low_pos, low_feat, pos[live], live_nbr, modes)
        dc_res = self._group(streams, DC, n, 3, what, modes)
        if li.codebook_size:
            vq = self._get(streams, ct.STREAM_VQ_INDEX, n, what, stream_context(self.major, 1, n, modes))
            self._check_range(vq, 0, li.codebook_size - 1, "vq index", what)
            dc_res = dc_res.astype(np.int64) + li.codebook[vq]
        dc_val = pred[:, 0:3].astype(np.int64) + dc_res
        self._check_range(dc_val, -FEATURE_LIMIT, FEATURE_LIMIT, "sh_dc", what)
        feat = low_feat[parents].copy()  # copies: their parent's features; the others get predicted ones
        feat[live] = pred
        feat[live, 0:3] = dc_val
        if joint:
            feat = self._rest_residuals_reference(streams, pred, modes, feat, what, live)
        elif rest is None:
            st.pending[chunk] = (pred, modes, live)
        else:
            rest_streams = ct.unpack_streams(rest, what + " rest part", self._newer)
            feat = self._rest_residuals_reference(rest_streams, pred, modes, feat, what, live)
        nbr = np.full((g, k), -1, np.int32)  # copies: no search, only their parent
        nbr[:, 0] = parents
        nbr[live] = live_nbr
        st.pos.append(pos)
        st.feat.append(feat)
        st.parents.append(parents.astype(np.int32))
        st.neighbours.append(nbr)

    def _rest_residuals_reference(self, streams: dict, pred, modes, feat, what, live) -> np.ndarray:
        """The plain numpy :meth:`_rest_residuals`. Columns 3.. of the rows ``live`` (the chunk's Gaussians that
        are not copies) from the rest streams."""
        r, intra = self._features(streams, len(pred), what, 3, modes)
        val = np.where(intra[None, :], r, pred[:, 3:].astype(np.int64) + r)
        self._check_range(val, -FEATURE_LIMIT, FEATURE_LIMIT, "feature", what)
        out = feat.copy()
        out[live, 3:] = val
        return out


# ----------------------------------------------------------------------------------------------- whole files
def decode_progressive(
    data: bytes, layer: int | None = None, chunks: int | None = None, refine: str = "full"
) -> ProgressiveDecoder:
    """Feed ``data`` (a whole file or a prefix) into a :class:`ProgressiveDecoder` up to an operating point.

    ``layer`` None: the top layer the data holds (a prefix stops at its last complete chunk). Layers below the
    target are decoded in full (MDC: only the target layer is needed); ``chunks`` counts chunks of the target.
    """
    if refine not in REFINES:
        raise ValueError(f"refine={refine!r}: choose dc or full")
    dec = ProgressiveDecoder(data)
    idx = dec.index
    n_layers = len(idx.layers)
    explicit = layer is not None
    target = n_layers - 1 if layer is None else layer
    if not 0 <= target < n_layers:
        raise BitstreamFormatError(f"layer {target} requested, the file has {n_layers} layers")
    if chunks is not None and chunks < 0:
        raise ValueError(f"chunks={chunks} must be >= 0")
    if idx.mode == "mdc" and explicit:
        todo = [target]
    else:
        todo = list(range(target + 1))
    if chunks is not None and idx.tile_count > 1:  # per tile; a tile with fewer chunks takes all of its own
        most = max(idx.layers[target].tile_chunks, default=0)
        if chunks > most:
            raise BitstreamFormatError(f"layer {target}: its tiles have at most {most} chunks, {chunks} requested")
    for tile in range(idx.tile_count):
        view = idx.tile_view(tile)
        for j in todo:
            li = view.layers[j]
            n_c = len(li.chunks)
            if j == target and chunks is not None:
                if chunks > n_c and idx.tile_count == 1:
                    raise BitstreamFormatError(f"layer {j} has {n_c} chunks, {chunks} requested")
                n_c = min(chunks, n_c)
            r = refine if j == target else "full"
            complete = True
            for c in range(n_c):
                ce = li.chunks[c]
                end = ce.offset + (ce.dc_bytes if r == "dc" else ce.full_bytes)
                if len(data) < end and not explicit:
                    complete = False  # a prefix: this tile stops at its last complete chunk
                    break
                dec.add_chunk(j, c, data[ce.offset : end], r, tile)
            if not complete:
                break
    return dec


def decode(data: bytes, layer: int | None = None, chunks: int | None = None, refine: str = "full") -> GaussianCloud:
    """Decode a file or prefix to the cloud shown at the operating point (layer, chunks, refine)."""
    return decode_progressive(data, layer, chunks, refine).cloud()


def warm_up() -> None:
    """Load the compiled kernels (numba cache) so timed decodes measure decoding, not start-up."""
    p = np.zeros((2, 3), np.int32)
    f = np.zeros((2, 14), np.int32)
    nbr = NeighbourIndex(p).query(p, 2)
    predict_with_modes(p, f, p, nbr, np.zeros(2, np.uint8))
