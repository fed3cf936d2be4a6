"""Encoder: quality layers (GaussianClouds) in, a prefix-decodable .splc file out.

Per layer: quantize on the shared grid, sort by importance into chunks, then
- intra layers (layer 0, every MDC layer): each chunk in Morton order, per-axis position deltas and the
  quantized features as they are;
- inter layers: per Gaussian its parent (nearest reconstructed lower-layer Gaussian, KNN neighbour 1), the
  position residual to the parent, k-NN on integer positions, mode choice (bilateral / nearest-feature),
  SH-DC residual (optionally split by the layer's VQ codebook into index + refinement) -- the chunk's "dc part" --
  followed by the opacity / scale / rotation / SH-rest residuals -- the "rest part".
Stream layout and the exact rules are in docs/format.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from splatcast.codec import container as ct
from splatcast.codec.copies import exact_matches
from splatcast.codec.entropy import encode_stream
from splatcast.codec.features import DC, FEATURE_GROUPS, REFINED_GROUPS, stream_context, to_stream
from splatcast.codec.knn import NeighbourIndex
from splatcast.codec.layers import MAX_CHUNK_GROWTH, chunk_bounds, morton_codes
from splatcast.codec.ordering import DEFAULT_ORDER, ORDERS, progressive_order
from splatcast.codec.predict import (
    N_COST_COLS,
    bilateral_predict,
    choose_modes,
    drop_unread_neighbours,
    empirical_entropy_bits,
    mode_entropy_bits,
    predict_with_modes,
)
from splatcast.codec.quantize import (
    DEFAULT_POS_BITS,
    DEFAULT_QUALITY,
    FEATURE_LIMIT,
    Grid,
    dequantize,
    quantize_features,
    steps_for_quality,
)
from splatcast.codec.tiles import split_tiles, tight_boxes
from splatcast.codec.vq import DEFAULT_CANDIDATES, choose_codebook
from splatcast.scene.cloud import GaussianCloud

MAJOR = ct.VERSION_MAJOR  # the encoder writes the newest version (its stream contexts and colour coding)


@dataclass
class EncoderConfig:
    mode: str = "scalable"  # "scalable" | "mdc"
    # "irans" (rans on interleaved lanes: as small, entropy-decodes ~2x as fast in Python) | "rans" | "lzma" | "paq"
    # | "zstd"
    entropy: str = "irans"
    vq: str | int = "auto"  # "auto" | K | "off"
    chunks: int = 8  # chunks per layer (importance prefixes)
    chunk_growth: float = 1.0  # chunk i of a layer holds ~growth**i x the first one's share (1: equal chunks)
    order: str = DEFAULT_ORDER  # progressive order of each layer's Gaussians (codec/ordering.py)
    quality: int = DEFAULT_QUALITY  # 0..16; +2 halves every quantizer step
    knn_k: int = 8
    pos_bits: int = DEFAULT_POS_BITS  # position grid bits per axis
    seed: int = 0
    vq_candidates: tuple = field(default=DEFAULT_CANDIDATES)
    # lossy SH-DC VQ (codec/vq.py): > 0 drops a Gaussian's DC refinement, leaving its codeword alone, where its
    # weighted squared error in DC steps is below vq_lambda x the bits saved, and picks K by D + vq_lambda x R
    # (weight: sigmoid(opacity) x volume^(2/3), a screen-area proxy, mean 1); 0 = exact (the default); inf = VQ-only
    vq_lambda: float = 0.0
    # partial inter layers: "replace" shows chunks as they come (received Gaussians replace their parents);
    # "hold" shows the layer below until the layer is complete; "auto" picks, from the measured fidelity of the
    # mixtures, the first chunk count after which fidelity never drops ("replace" when fidelity is not measured)
    partial: str = "auto"
    # measure the fidelity of every state a client can show and store it in the index (codec/fidelity.py): renders
    # 4 views of 128 px per state, the encoder's main cost; clients then never show a worse state than before
    fidelity: bool = True
    # dc-only states of inter layers: "auto" keeps them unless the measured fidelity says one would show less than
    # the layer below (the layer is then written joint: dc_bytes == full_bytes); "on" always keeps, "off" never
    dc_only: str = "auto"
    # spatial tiles (docs/format.md 1.7): 0 = untiled (a 3.0 file); N = a k-d split of the grid into tiles of at
    # most about N Gaussians of any layer, each its own progressive stream a client fetches in view order
    tile_gaussians: int = 0

    def validate(self) -> None:
        if self.mode not in ct.MODE_IDS:
            raise ValueError(f"mode={self.mode!r}: choose one of {', '.join(ct.MODE_IDS)}")
        if self.entropy not in ct.ENTROPY_IDS:
            raise ValueError(f"entropy={self.entropy!r}: choose one of {', '.join(ct.ENTROPY_IDS)}")
        if not (self.vq in ("auto", "off") or (isinstance(self.vq, int) and 0 <= self.vq <= ct.MAX_CODEBOOK)):
            raise ValueError(f"vq={self.vq!r}: use 'auto', 'off' or an integer 0..{ct.MAX_CODEBOOK}")
        if not (isinstance(self.vq_lambda, (int, float)) and not math.isnan(self.vq_lambda) and self.vq_lambda >= 0):
            raise ValueError(f"vq_lambda={self.vq_lambda!r}: use a number >= 0 (inf: VQ-only)")
        if not 1 <= self.chunks <= ct.MAX_CHUNKS_PER_LAYER:
            raise ValueError(f"chunks={self.chunks} must be in 1..{ct.MAX_CHUNKS_PER_LAYER}")
        if self.order not in ORDERS:
            raise ValueError(f"order={self.order!r}: choose one of {', '.join(ORDERS)}")
        if not 1.0 <= self.chunk_growth <= MAX_CHUNK_GROWTH:
            raise ValueError(f"chunk_growth={self.chunk_growth} must be in 1..{MAX_CHUNK_GROWTH}")
        if not 1 <= self.knn_k <= 64:
            raise ValueError(f"knn_k={self.knn_k} must be in 1..64")
        steps_for_quality(self.quality)
        if self.dc_only not in ("auto", "on", "off"):
            raise ValueError(f"dc_only={self.dc_only!r}: choose auto, on or off")
        if self.partial not in ("auto", "replace", "hold"):
            raise ValueError(f"partial={self.partial!r}: choose auto, replace or hold")
        if not 1 <= self.pos_bits <= 21:
            raise ValueError(f"pos_bits={self.pos_bits} must be in 1..21")
        if self.tile_gaussians < 0:
            raise ValueError(f"tile_gaussians={self.tile_gaussians} must be 0 (untiled) or a Gaussian count")


@dataclass
class QuantizedLayer:
    """A layer as the decoder will reconstruct it, in stream order (chunk by chunk, the order inside chunks)."""

    pos: np.ndarray  # [N, 3] int32
    feat: np.ndarray  # [N, C] int32
    source_index: np.ndarray  # [N] int64: row of the input cloud
    parents: np.ndarray | None = None  # [N] int32 parent row in the lower layer (inter layers)
    neighbours: np.ndarray | None = None  # [N, k] int32 (inter layers; tests compare with the decoder)
    modes: np.ndarray | None = None  # [N] uint8
    copy: np.ndarray | None = None  # [N] bool: an exact copy of its parent (inter layers)


def _comp_major(a: np.ndarray) -> np.ndarray:
    """[N, C] -> [C * N] int32, all of component 0 first."""
    return np.ascontiguousarray(a.T, dtype=np.int32).reshape(-1)


def _streams(pairs: list[tuple], backend: str, sizes: dict) -> bytes:
    """Entropy-code (stream id, values, context[, intra]) tuples and frame them."""
    out = []
    for sid, values, ctx, *intra in pairs:
        if values.size == 0:
            continue
        code = ct.narrowest_dtype(values)
        payload = encode_stream(values.astype(ct.STREAM_DTYPES[code]), backend, ctx)
        flags = code | (ct.FLAG_INTRA if intra and intra[0] else 0)
        sizes[ct.STREAM_NAMES[sid]] = sizes.get(ct.STREAM_NAMES[sid], 0) + len(payload) + 8
        out.append((sid, flags, payload))
    return ct.pack_streams(out)


def _group_bits(values: np.ndarray) -> float:
    """Order-0 entropy estimate (bits) of a [N, C] group coded column by column."""
    return sum(empirical_entropy_bits(values[:, c]) for c in range(values.shape[1]))


def _encode_intra(pos, feat, chunks, backend, sizes):
    """Chunks of an intra layer: returns (payloads, stream order)."""
    payloads, order = [], []
    for idx in chunks:
        idx = idx[np.argsort(morton_codes(pos[idx]), kind="stable")]
        p = pos[idx].astype(np.int64)
        dpos = np.diff(p, axis=0, prepend=np.zeros((1, 3), np.int64)).astype(np.int32)
        f = feat[idx]
        g, cols = f.shape
        dc = _streams(
            [(ct.STREAM_POS, _comp_major(dpos), stream_context(MAJOR, 3, g))]
            + [
                (fg.stream, to_stream(fg, f),
                 stream_context(MAJOR, fg.stop(cols) - fg.first, g, None, fg.gaussian_major))
                for fg in FEATURE_GROUPS
            ],
            backend,
            sizes,
        )
        payloads.append((dc, b"", len(idx)))
        order.append(idx)
    return payloads, (np.concatenate(order) if order else np.zeros(0, np.int64))


def encode_with_stats(
    layers: list[GaussianCloud], config: EncoderConfig | None = None, progress=None
) -> tuple[bytes, list[dict]]:
    """Encode layers L0..Lm; returns (file bytes, per-layer stats). ``progress(i)`` is called after each layer."""
    data, stats, _ = encode_layers(layers, config, progress)
    return data, stats


def encode(layers: list[GaussianCloud], config: EncoderConfig | None = None) -> bytes:
    return encode_with_stats(layers, config)[0]


def encode_layers(layers: list[GaussianCloud], config: EncoderConfig | None = None, progress=None):
    """Like :func:`encode_with_stats`, also returning each :class:`QuantizedLayer` (what the decoder rebuilds)."""
    config = config or EncoderConfig()
    config.validate()
    if not 1 <= len(layers) <= ct.MAX_LAYERS:
        raise ValueError(f"need 1..{ct.MAX_LAYERS} layers, got {len(layers)}")
    for c in layers:
        c.validate()
    sh_degree = max(c.sh_degree for c in layers)
    grid = Grid.fit(layers, config.pos_bits)
    steps = steps_for_quality(config.quality)
    positions = [grid.quantize(c.means) for c in layers]
    if config.tile_gaussians:  # a tiled file (docs/format.md 1.7): each tile its own progressive stream
        cells, tile_of = split_tiles(positions, config.pos_bits, config.tile_gaussians)
        boxes = tight_boxes(positions, tile_of, len(cells))  # what clients cull against
    else:
        boxes, tile_of = None, [np.zeros(len(c), np.int64) for c in layers]
    n_tiles = 1 if boxes is None else len(boxes)
    members = [[np.flatnonzero(t == k) for k in range(n_tiles)] for t in tile_of]  # [layer][tile] input rows
    views = [ct.StreamIndex(
        header_bytes=0, total_bytes=0, entropy=config.entropy, layers=[], mode=config.mode, sh_degree=sh_degree,
        pos_bits=config.pos_bits, quality=config.quality, grid_min=grid.lo, grid_max=grid.hi, steps=steps,
    ) for _ in range(n_tiles)]
    payloads = [[] for _ in range(n_tiles)]  # [tile][layer] (dc part, rest part, gaussians) per chunk
    recon = [[] for _ in range(n_tiles)]  # [tile][layer] QuantizedLayer (rows local to the tile)
    stats = []
    for li, cloud in enumerate(layers):
        t0 = time.perf_counter()
        feat = quantize_features(cloud, steps, sh_degree)
        chunks = _tile_chunks(cloud, tile_of[li], members[li], config)
        sizes: dict[str, int] = {}
        inter = config.mode == "scalable" and li > 0 and len(layers[li - 1]) > 0
        st = {"index": li, "gaussians": len(cloud), "mode_entropy_bits": None, "codebook_size": 0}
        pos = positions[li]
        if not inter:
            for t, rows in enumerate(members[li]):
                parts, order = _encode_intra(pos[rows], feat[rows], chunks[t], config.entropy, sizes)
                recon[t].append(QuantizedLayer(pos[rows][order], feat[rows][order], rows[order]))
                payloads[t].append(parts)
                views[t].layers.append(ct.LayerIndex(li, len(rows), [], ct.CODING_INTRA, cloud.sh_degree, 0))
        else:
            tiles = [(pos[rows], feat[rows], recon[t][li - 1]) for t, rows in enumerate(members[li])]
            for t, (p, _f, lower) in enumerate(tiles):
                if len(p) and not len(lower.pos):
                    raise ValueError(f"layer {li}: tile {t} has no Gaussians of the layer below to predict from")
            preds = [_inter_prediction(p, f, lower, config) for p, f, lower in tiles]
            weights = [_dc_weights(cloud, rows) for rows in members[li]] if config.vq_lambda > 0 else None
            codebook, vq_idx, dc_sent, st_vq = _layer_codebook(preds, config, weights)
            for t, ((p, f, lower), pred, rows) in enumerate(zip(tiles, preds, members[li])):
                parts, q = _encode_inter(p, f, chunks[t], lower, pred, codebook, vq_idx[t], dc_sent[t], config.entropy,
                                         sizes)
                q.source_index = rows[q.source_index]
                recon[t].append(q)
                payloads[t].append(parts)
                view = ct.LayerIndex(li, len(rows), [], ct.CODING_INTER, cloud.sh_degree, config.knn_k, codebook)
                # "auto" starts as "replace": the measurement below sees the raw mixtures and then sets display_from
                view.display_from = len(chunks[t]) if config.partial == "hold" else 1
                views[t].layers.append(view)
            st.update(_inter_stats(preds, codebook, config.knn_k))
            st["vq_candidates"] = st_vq
        parts = [c for t in range(n_tiles) for c in payloads[t][li]]
        nbytes = sum(len(d) + len(r) for d, r, _ in parts)
        st.update(
            bytes=nbytes,
            dc_bytes=sum(len(d) for d, _, _ in parts),
            bits_per_gaussian=8.0 * nbytes / max(len(cloud), 1),
            stream_bytes=sizes,
            chunks=len(parts),
            encode_s=time.perf_counter() - t0,
        )
        if boxes is not None:
            st["tile_chunks"] = [len(payloads[t][li]) for t in range(n_tiles)]
        stats.append(st)
        if progress is not None:
            progress(li)
    if config.dc_only == "off":
        for li, st in enumerate(stats):
            if views[0].layers[li].coding == ct.CODING_INTER:
                for t in range(n_tiles):
                    payloads[t][li] = _joint(payloads[t][li])
                st["joint"], st["dc_bytes"] = True, st["bytes"]

    def write(fidelity=None) -> tuple[ct.StreamIndex, bytes]:
        # (the views' chunk entries are made by write_file: their counts are the payloads')
        counts = [[len(payloads[t][li]) for t in range(n_tiles)] for li in range(len(layers))]
        index = ct.join_tiles(views, boxes, counts)
        flat = [[c for t in range(n_tiles) for c in payloads[t][li]] for li in range(len(layers))]
        fid = None if fidelity is None else [[e for t in range(n_tiles) for e in fidelity[t][li]]
                                              for li in range(len(layers))]
        return index, ct.write_file(index, flat, fid)

    index, data = write()
    if config.fidelity:
        t0 = time.perf_counter()
        fidelity = []
        for t in range(n_tiles):
            # the decoded top layer of a tile is the encoder's reconstruction of it: no need to decode the file
            top = dequantize(grid, steps, recon[t][-1].pos, recon[t][-1].feat, layers[-1].sh_degree)
            fidelity.append(_tile_fidelity(data, t, views[t], payloads[t], config, stats, top, boxes is not None))
        index, data = write(fidelity)
        for st in stats:
            st["fidelity_s"] = round(time.perf_counter() - t0, 3)  # one measurement for the whole file
    return data, stats, _joined_recon(recon)


def _tile_chunks(cloud: GaussianCloud, tile_of: np.ndarray, members: list[np.ndarray], config) -> list[list]:
    """Per tile, its chunks as index arrays into the tile's rows: one progressive order for the whole layer
    (codec/ordering.py), each tile taking its Gaussians in that order, cut into config.chunks prefixes."""
    ranked = progressive_order(cloud, config.order, config.seed)
    local = np.empty(len(cloud), np.int64)
    out = []
    for t, rows in enumerate(members):
        local[rows] = np.arange(len(rows))
        mine = local[ranked[tile_of[ranked] == t]]
        out.append([mine[a:b] for a, b in chunk_bounds(len(rows), config.chunks, config.chunk_growth)])
    return out


def _joined_recon(recon: list[list[QuantizedLayer]]) -> list[QuantizedLayer]:
    """Per layer, the tiles' reconstructions in decoder output order (tile 0's rows first); parents and
    neighbours renumbered to rows of the joined layer below."""
    if len(recon) == 1:
        return recon[0]
    out = []
    for li in range(len(recon[0])):
        qs = [r[li] for r in recon]
        joined = QuantizedLayer(*(np.concatenate([getattr(q, f) for q in qs]) for f in ("pos", "feat", "source_index")))
        if qs[0].parents is not None:
            starts = np.cumsum([0] + [len(r[li - 1].pos) for r in recon[:-1]])
            joined.parents = np.concatenate([q.parents + s for q, s in zip(qs, starts)]).astype(np.int32)
            k = max(q.neighbours.shape[1] for q in qs)
            nbr = []
            for q, s in zip(qs, starts):
                n = np.full((len(q.pos), k), -1, np.int32)
                n[:, : q.neighbours.shape[1]] = np.where(q.neighbours >= 0, q.neighbours + s, -1)
                nbr.append(n)
            joined.neighbours = np.concatenate(nbr)
            joined.modes = np.concatenate([q.modes for q in qs])
            joined.copy = np.concatenate([q.copy for q in qs])
        out.append(joined)
    return out


PARTIAL_MARGIN_DB = 0.25  # a mixture must beat the layer below by this much to be shown at all (noise of the proxy)


def _tile_fidelity(data: bytes, tile: int, view: ct.StreamIndex, payloads, config: EncoderConfig, stats: list[dict],
                   top, tiled: bool) -> list[list[tuple]]:
    """Measure every client state of one tile of ``data`` (written with display_from = 1 on "auto" layers), choose
    the tile's display_from and joint chunks from it (docs/format.md 1.3 and 5); its fidelity codes per layer."""
    from splatcast.codec.fidelity import measure_states

    states = measure_states(data, reference=top, tile=tile)
    lower_db = None  # fidelity of the complete layer below
    fidelity = []
    for li, (layer, st, fs) in enumerate(zip(view.layers, stats, states)):
        full, dc, upgraded = list(fs.full), list(fs.dc), list(fs.upgraded)
        n = len(full)
        joint = False
        if layer.coding == ct.CODING_INTER and n and lower_db is not None:
            if config.partial == "auto":
                layer.display_from = _display_from([lower_db] + full[:-1])
            for c in range(min(layer.display_from - 1, n)):  # before display_from the layer below is shown
                full[c] = dc[c] = lower_db
            # a dc-only state that shows less than the layer below must not exist: such a layer is sent joint
            split = any(len(r) for _d, r, _g in payloads[li])
            if split and config.dc_only == "auto" and ct.fidelity_code(min(dc)) < ct.fidelity_code(lower_db):
                moved = sum(len(r) for _d, r, _g in payloads[li])
                payloads[li] = _joint(payloads[li])
                dc, upgraded = list(full), [full[-1]] * n
                joint = True
        fidelity.append([tuple(ct.fidelity_code(v) for v in t) for t in zip(full, dc, upgraded)])
        curves = {"full": _rounded(full), "dc": _rounded(dc), "upgraded": _rounded(upgraded)}
        if tiled:  # per-tile details; the layer's joint / dc_bytes summarise every tile
            st.setdefault("tiles", []).append({"display_from": layer.display_from, "joint": joint,
                                               "fidelity_db": curves})
        else:
            if layer.coding == ct.CODING_INTER and lower_db is not None and n:
                st["display_from"] = layer.display_from
            st["fidelity_db"] = curves
        if joint:
            st["joint"] = True
            st["dc_bytes"] += moved  # the tile's rest parts now travel in its dc parts
        if n:
            lower_db = full[-1]
    return fidelity


def _joint(parts: list[tuple]) -> list[tuple]:
    """Chunks written joint: the rest part's streams follow the dc part's in one part (docs/format.md 1.4)."""
    return [(d + r, b"", g) for d, r, g in parts]


def _rounded(values: list[float]) -> list[float | None]:
    return [None if v == float("inf") else round(float(v), 2) for v in values]


def _display_from(curve: list[float]) -> int:
    """curve[c] = fidelity shown with c chunks in (c = 0: the layer below); the layer itself ends it. The smallest
    s with curve[s] clearing the layer below by the margin and no drop from s on; n (hold) if none."""
    n = len(curve)
    s = n
    for cand in range(n - 1, 0, -1):
        if curve[cand] >= curve[0] + PARTIAL_MARGIN_DB and all(curve[c] >= curve[c - 1] for c in range(cand + 1, n)):
            s = cand
        else:
            break
    return s


def _vq_rate(backend: str, modes: np.ndarray):
    """Bits of a VQ candidate as this file would code it: the index and refinement streams (whole layer, with
    their mode contexts) plus 96 bits per codeword."""

    def bits(idx, refinement, codebook) -> float:
        n = 0
        g = len(modes)
        streams = [(to_stream(DC, refinement), stream_context(MAJOR, 3, g, modes))]
        if len(codebook):
            streams.append((idx.astype(np.int32), stream_context(MAJOR, 1, g, modes)))
        for values, ctx in streams:
            n += len(encode_stream(values.astype(ct.STREAM_DTYPES[ct.narrowest_dtype(values)]), backend, ctx))
        return 8.0 * n + 96 * len(codebook)

    return bits


@dataclass
class _InterPrediction:
    """One tile's prediction of an inter layer from the same tile of the layer below, before VQ and coding."""

    nbr: np.ndarray  # [N, k'] neighbours in the lower layer
    modes: np.ndarray  # [N] uint8
    resid: np.ndarray  # [N, C] int32 feature residuals (INTRA groups: the residual is unused)
    copy: np.ndarray  # [N] bool exact copies of their parent
    parents: np.ndarray  # [N] parent rows
    intra: set  # stream ids of the feature groups sent INTRA
    groups: dict  # stream id -> (first, stop) columns

    @property
    def live(self) -> np.ndarray:
        return ~self.copy


def _inter_prediction(pos, feat, lower: QuantizedLayer, config: EncoderConfig) -> _InterPrediction:
    if len(pos) == 0:  # a tile without Gaussians of this layer
        e = np.zeros(0, np.int32)
        return _InterPrediction(np.zeros((0, min(config.knn_k, len(lower.pos))), np.int32), e.astype(np.uint8),
                                np.zeros((0, feat.shape[1]), np.int32), e.astype(bool), e, set(), {})
    nbr = NeighbourIndex(lower.pos).query(pos, config.knn_k)  # [N, k']
    bil = bilateral_predict(lower.pos, lower.feat, pos, nbr)
    modes = choose_modes(lower.feat, feat, nbr, bil, np.arange(N_COST_COLS))
    pred = predict_with_modes(lower.pos, lower.feat, pos, nbr, modes)
    resid = feat.astype(np.int64) - pred
    # a feature group whose residuals cost more than its values (layers with no per-Gaussian correspondence,
    # e.g. independently fitted LODs) is coded intra; modes are then chosen on the predicted groups only
    groups = {fg.stream: (fg.first, fg.stop(feat.shape[1])) for fg in REFINED_GROUPS}
    # exact copies of a lower Gaussian (nested layers, additive training): a flag each and their parent, nothing
    # else; the parent of a copy is the lowest lower row equal to it, of any other Gaussian its nearest neighbour
    match = exact_matches(lower.pos, lower.feat, pos, feat, nbr)
    copy = match >= 0
    parents = np.where(copy, match, nbr[:, 0]).astype(nbr.dtype)
    live = ~copy
    intra = set()
    for sid, (a, b) in groups.items():
        if b > a and _group_bits(feat[live, a:b]) < _group_bits(resid[live, a:b]):
            intra.add(sid)
    if intra:
        predicted = [(a, b) for sid, (a, b) in groups.items() if sid not in intra]
        cols = [0, 1, 2] + [c for a, b in predicted for c in range(a, min(b, N_COST_COLS))]
        modes = choose_modes(lower.feat, feat, nbr, bil, np.array(cols, np.int64))
        pred = predict_with_modes(lower.pos, lower.feat, pos, nbr, modes)
        resid = feat.astype(np.int64) - pred
    if np.abs(resid).max(initial=0) >= 1 << 30:
        raise ValueError("feature residual out of int32 range")
    return _InterPrediction(nbr, modes, resid.astype(np.int32), copy, parents, intra, groups)


def _dc_weights(cloud: GaussianCloud, rows: np.ndarray) -> np.ndarray:
    """Distortion weight of each Gaussian's SH-DC error (lossy VQ): sigmoid(opacity) x volume^(2/3), a proxy for
    its share of the pixels, normalised to mean 1 over the layer and capped at 100 (a huge floater must not decide
    for the whole layer)."""
    o = cloud.opacities.astype(np.float64)
    with np.errstate(over="ignore"):
        w = np.exp(-np.logaddexp(0.0, -o) + cloud.scales.astype(np.float64).sum(axis=1) * (2.0 / 3.0))
    w = np.minimum(w / max(float(np.mean(w[np.isfinite(w)])) if np.isfinite(w).any() else 1.0, 1e-30), 100.0)
    return np.nan_to_num(w, nan=100.0, posinf=100.0)[rows]


def _layer_codebook(preds: list[_InterPrediction], config: EncoderConfig, weights=None):
    """One VQ codebook for the layer (the layer record holds one), chosen on every tile's live SH-DC residuals;
    returns (codebook, per tile [N_t] int32 indices, per tile [N_t, 3] DC refinements to send (rows of copies 0),
    the candidates' report)."""
    live_res = np.concatenate([p.resid[p.live, 0:3] for p in preds])
    live_modes = np.concatenate([p.modes[p.live] for p in preds])
    live_w = None if weights is None else np.concatenate([w[p.live] for w, p in zip(weights, preds)])
    measure = None if config.entropy == "paq" else _vq_rate(config.entropy, live_modes)  # paq: too slow per candidate
    codebook, live_idx, live_sent, vq_report = choose_codebook(
        live_res, config.vq, config.seed, config.vq_candidates, measure, config.vq_lambda, live_w)
    out, sent, at = [], [], 0
    for p in preds:
        idx = np.zeros(len(p.modes), np.int32)
        dc = np.zeros((len(p.modes), 3), np.int32)
        n = int(p.live.sum())
        idx[p.live] = live_idx[at : at + n]
        dc[p.live] = live_sent[at : at + n]
        at += n
        out.append(idx)
        sent.append(dc)
    return codebook, out, sent, vq_report


def _inter_stats(preds: list[_InterPrediction], codebook, knn_k: int) -> dict:
    modes = np.concatenate([p.modes[p.live] for p in preds])
    k = max((p.nbr.shape[1] for p in preds), default=knn_k)
    return {
        "copies": int(sum(p.copy.sum() for p in preds)),
        "mode_entropy_bits": mode_entropy_bits(modes),
        "mode_histogram": np.bincount(modes, minlength=k + 1).tolist(),
        "codebook_size": int(len(codebook)),
        "intra_groups": sorted({ct.STREAM_NAMES[sid] for p in preds for sid in p.intra}),
    }


def _encode_inter(pos, feat, chunks, lower: QuantizedLayer, p: _InterPrediction, codebook, vq_idx, dc_res, backend,
                  sizes):
    """The chunks of one tile of an inter layer: (payloads, QuantizedLayer with rows local to the tile, holding the
    features the decoder reconstructs). ``dc_res``: the DC refinement sent per row (lossy VQ may drop some)."""
    parents, copy, live, modes, resid, nbr = p.parents, p.copy, p.live, p.modes, p.resid, p.nbr
    exact = resid[:, 0:3] - codebook[vq_idx] if len(codebook) else resid[:, 0:3]
    if not np.array_equal(exact[live], dc_res[live]):  # lossy VQ: what the decoder rebuilds predicts the next layer
        rebuilt = feat[:, 0:3].astype(np.int64) - (exact - dc_res)
        outside = live & (np.abs(rebuilt) > FEATURE_LIMIT).any(axis=1)  # the decoder would refuse them: keep exact
        dc_res = np.where(outside[:, None], exact, dc_res)
        feat = feat.copy()
        feat[live, 0:3] -= (exact[live] - dc_res[live]).astype(feat.dtype)
    payloads, order = [], []
    for idx in chunks:
        # parent ascending (small non-negative deltas), then Morton order of the position
        idx = idx[np.lexsort((morton_codes(pos[idx]), parents[idx]))]
        par = parents[idx].astype(np.int64)
        dpar = np.diff(par, prepend=0).astype(np.int32)
        dc_streams = [(ct.STREAM_PARENT_DELTA, dpar, None)]
        if copy[idx].any():
            dc_streams.append((ct.STREAM_COPY, copy[idx].astype(np.int32), None))
        sel = idx[live[idx]]  # every other stream carries the Gaussians that are not copies
        dpos = (pos[sel].astype(np.int64) - lower.pos[parents[sel]]).astype(np.int32)
        m = modes[sel]
        ns = len(sel)
        dc_streams += [
            (ct.STREAM_POS, _comp_major(dpos), stream_context(MAJOR, 3, ns)),
            (ct.STREAM_MODE, m.astype(np.int32), None),
        ]
        if len(codebook):
            dc_streams.append((ct.STREAM_VQ_INDEX, vq_idx[sel].astype(np.int32), stream_context(MAJOR, 1, ns, m)))
        dc_streams.append((ct.STREAM_DC, to_stream(DC, dc_res[sel]), stream_context(MAJOR, 3, ns, m)))
        r, f = resid[sel], feat[sel]
        rest_streams = []
        for fg in REFINED_GROUPS:  # SH rest is Gaussian-major: LZ coders find the repeated coefficient sets
            a, b = p.groups[fg.stream]
            ctx = stream_context(MAJOR, b - a, ns, m, fg.gaussian_major)
            intra = fg.stream in p.intra
            rest_streams.append((fg.stream, to_stream(fg, f if intra else r), ctx, intra))
        payloads.append((_streams(dc_streams, backend, sizes), _streams(rest_streams, backend, sizes), len(idx)))
        order.append(idx)
    order = np.concatenate(order) if order else np.zeros(0, np.int64)
    shown_nbr = drop_unread_neighbours(nbr.copy(), modes)  # what the decoder searches
    shown_nbr[copy, 0] = parents[copy]
    shown_nbr[copy, 1:] = -1  # a copy has no neighbour search: only its parent
    q = QuantizedLayer(pos[order], feat[order], order, parents[order], shown_nbr[order], modes[order], copy[order])
    return payloads, q
