"""How a splatcast stream maps onto DASH: StreamIndex -> MPD model (packager side) and MPD -> StreamManifest
(client side). Pure functions over the model in ``mpd.py``; no file or socket I/O. See docs/streaming.md.

Mapping (one Period, one AdaptationSet, one media file shared by every Representation):

* Representation ``L{j}`` = quality layer j, ``dependencyId`` = every lower layer (``"L0 L1"`` for L2, as in the
  standard's SVC example G.5), ``bandwidth`` = all bytes needed for layer j complete (header + layers <= j).
* Inside layer j, chunk k (importance order) is split into two *levels*: level ``2k`` = its DC part
  ``[offset, offset + dc_bytes)``, level ``2k + 1`` = the rest ``[offset + dc_bytes, offset + full_bytes)``
  (empty on layer 0, whose chunks have no DC-only mode).
* SubRepresentation with ``level = 2k`` is operating point (layer j, first k+1 chunks, refine="dc"): its
  ``dependencyLevel`` lists the DC levels of the earlier chunks. ``level = 2k + 1`` is (j, k+1, "full"):
  ``dependencyLevel`` lists every level below it.
* ``bandwidth`` of a SubRepresentation = ceil(8 * bytes a client must receive to reach that operating point,
  header and lower layers included / nominal duration). The nominal duration (``mediaPresentationDuration``,
  default 1 s) reads as "a link of this many bit/s delivers the operating point in one nominal duration".
* Byte ranges come from the index: ``SegmentBase@indexRange`` (and ``Initialization@range``) point at the .splc
  header, whose chunk table *is* the segment index; a client fetches it, reads it with
  ``splatcast.codec.container.read_index`` and from then on requests exact byte ranges.
* splatcast-specific facts are in descriptors with splatcast scheme URIs: an ``EssentialProperty``
  (:data:`SCHEME_STREAM`) on the AdaptationSet (clients that do not know it must skip the set), a
  ``SupplementalProperty`` (:data:`SCHEME_LAYER`) per Representation and (:data:`SCHEME_OPERATING_POINT`) per
  SubRepresentation carrying literal layer / chunk / refine / Gaussian counts, so nothing depends on list positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from splatcast.dash.mpd import (
    MAX_INT_DIGITS,
    MPD,
    UINT_MAX,
    AdaptationSet,
    Descriptor,
    Period,
    Representation,
    SegmentBase,
    SubRepresentation,
    URLType,
)
from splatcast.codec.container import fidelity_db
from splatcast.errors import ManifestError

PROFILE = "urn:splatcast:dash:profile:scalable-gs:2025"
SCHEME_STREAM = "urn:splatcast:dash:stream:2025"
SCHEME_LAYER = "urn:splatcast:dash:layer:2025"
SCHEME_OPERATING_POINT = "urn:splatcast:dash:operating-point:2025"
SCHEME_TILE = "urn:splatcast:dash:tile:2026"  # tiled streams (docs/format.md 1.7): one AdaptationSet per tile
STREAM_MAPPING_VERSION = "1"
MIME_TYPE = "application/octet-stream"
CODECS = "splc"
REFINES = ("dc", "full")
# hard limits for what a manifest may claim, checked before building anything from it
MAX_LAYERS = 64
MAX_CHUNKS = 65536
MAX_TILES = 4096


@dataclass(frozen=True)
class OperatingPoint:
    """(layer, first `chunks` chunks, refine) with the bytes a client needs to reach it."""

    layer: int
    chunks: int  # >= 1
    refine: str  # "dc" | "full"
    level: int
    dependency_level: tuple[int, ...]
    bandwidth_bps: int
    gaussians: int  # Gaussians on screen at this operating point (lower layers' counts excluded: layers refine)
    fidelity_db: float | None = None  # the index's fidelity of what is shown here (inf: the top layer); None: unknown


@dataclass
class ManifestLayer:
    layer: int
    representation_id: str
    dependency_ids: list[str]
    bandwidth_bps: int
    chunks: int
    gaussians: int
    operating_points: list[OperatingPoint] = field(default_factory=list)


@dataclass
class ManifestTile:
    """One tile of a tiled stream (one AdaptationSet): its scene-space box and its layers (the tile's view)."""

    tile: int
    box_min: tuple[float, float, float]
    box_max: tuple[float, float, float]
    layers: list[ManifestLayer]


@dataclass
class StreamManifest:
    """What a splatcast client needs from an MPD."""

    media_url: str  # relative to the MPD's URL
    header_range: tuple[int, int]  # inclusive byte range of the .splc header (= the index)
    nominal_duration_s: float
    layers: list[ManifestLayer]  # an untiled stream's layers; a tiled one's: tile 0's (see ``tiles``)
    title: str | None = None
    mode: str = "scalable"  # "scalable": layer j needs layers < j; "mdc": layers are independent
    tiles: list[ManifestTile] | None = None  # tiled streams: every tile, in tile order; None: untiled

    @property
    def header_bytes(self) -> int:
        return self.header_range[1] - self.header_range[0] + 1


# ------------------------------------------------------------------------------------------------ packager side
def _kv(text: str | None, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ManifestError(f"{where}: expected 'key=value' items separated by ',', got {text!r}")
        out[key.strip()] = value.strip()
    return out


def _fmt_kv(**items) -> str:
    return ",".join(f"{k}={v}" for k, v in items.items())


def _op_fidelity_code(chunk, refine: str) -> int:
    """The index's fidelity code of the operating point ending at `chunk` (docs/format.md 1.3)."""
    return chunk.fidelity_dc if refine == "dc" else chunk.fidelity_full


def _fidelity_item(chunk, refine: str) -> dict:
    """``fidelity=dB`` (2 decimals, ``inf`` for the top layer) when the index records it, else nothing."""
    db = fidelity_db(_op_fidelity_code(chunk, refine))
    return {} if db is None else {"fidelity": "inf" if math.isinf(db) else f"{db:.2f}"}


def _parse_fidelity(kv: dict, where: str) -> float | None:
    text = kv.get("fidelity")
    if text is None:
        return None
    if text == "inf":
        return math.inf
    try:
        value = float(text) if len(text) <= 16 else math.nan
    except ValueError:
        value = math.nan
    if not 0.0 < value < 655.35:  # "1e999" is not a way to write inf
        raise ManifestError(f"{where}: fidelity expected dB in (0, 655.35) or inf, got {text!r}")
    return value


def layers_depend(index) -> bool:
    """Scalable streams predict each layer from the one below; MDC streams code every layer on its own."""
    return getattr(index, "mode", "scalable") != "mdc"


def operating_point_bytes(index, layer: int, chunks: int, refine: str) -> int:
    """Bytes a client receives to reach (layer, chunks, refine): header + lower layers in full (scalable mode
    only) + the prefix."""
    total = index.header_bytes
    for lower in index.layers[:layer] if layers_depend(index) else []:
        total += sum(c.full_bytes for c in lower.chunks)
    for c in index.layers[layer].chunks[:chunks]:
        total += c.dc_bytes if refine == "dc" else c.full_bytes
    return total


def _bandwidth(n_bytes: int, duration_s: float) -> int:
    return int(math.ceil(n_bytes * 8 / duration_s))


def nominal_duration_for(index, requested_s: float = 1.0) -> float:
    """The requested nominal duration, stretched (to whole seconds) if the largest operating point would overflow
    the xs:unsignedInt @bandwidth at it."""
    if not (requested_s > 0 and math.isfinite(requested_s)):
        raise ValueError(f"nominal duration must be > 0, got {requested_s}")
    top = 0
    if index.layers:
        top = operating_point_bytes(index, len(index.layers) - 1, len(index.layers[-1].chunks), "full")
    needed = top * 8 / UINT_MAX
    return float(requested_s) if needed <= requested_s else float(math.ceil(needed))


def build_mpd(index, media_url: str, title: str | None = None, nominal_duration_s: float = 1.0) -> MPD:
    """The MPD for one .splc stream; `index` is a StreamIndex (splatcast.codec.container) or any object of its shape.

    A tiled stream (docs/format.md 1.7) gets one AdaptationSet per tile, built from the tile's view of the index
    exactly as an untiled stream's set, with Representation ids ``T{t}L{j}`` and a SupplementalProperty
    :data:`SCHEME_TILE` carrying the tile's scene-space box (like DASH SRD's spatial regions, in 3D)."""
    if not index.layers:
        raise ManifestError("stream: expected at least one layer, got 0")
    duration = nominal_duration_for(index, nominal_duration_s)
    tiles = getattr(index, "tile_boxes", None)
    if tiles is None:
        sets = [_adaptation_set(index, media_url, duration, 0, "")]
    else:
        from splatcast.codec.tiles import box_bounds
        from splatcast.codec.quantize import Grid

        grid = Grid(index.grid_min, index.grid_max, index.pos_bits)
        sets = []
        for t, box in enumerate(tiles):
            lo, hi = box_bounds(box, grid)
            prop = Descriptor(SCHEME_TILE, _fmt_kv(tile=t, tiles=len(tiles), min=_xyz(lo), max=_xyz(hi)))
            sets.append(_adaptation_set(index.tile_view(t), media_url, duration, t, f"T{t}", prop, sub_reps=False))
    return MPD(
        profiles=[PROFILE],
        min_buffer_time_s=duration,
        media_presentation_duration_s=duration,
        title=title,
        periods=[Period(id="0", start_s=0.0, duration_s=duration, adaptation_sets=sets)],
    )


def _xyz(v) -> str:
    """A 3-vector in a descriptor value: space-separated, shortest round-tripping float32 text."""
    return " ".join(repr(float(np.float32(x))) for x in v)


def _adaptation_set(index, media_url: str, duration: float, set_id: int, prefix: str, tile_prop=None,
                    sub_reps: bool = True):
    """One stream's (or one tile view's) AdaptationSet: a Representation per layer and (``sub_reps``) a
    SubRepresentation per (chunk, refine) operating point. A tile's set lists no operating points: the index's
    chunk table (the segment index) has them, and listing them for every tile made a 64-tile playbot MPD 399 kB,
    3 % of the stream and 0.8 s at 4 Mbit/s before the first piece."""
    reps = []
    for j, layer in enumerate(index.layers):
        if layer.index != j:
            raise ManifestError(f"stream layer {j}: index field says {layer.index}")
        if not layer.chunks:
            raise ManifestError(f"stream layer {j}: expected at least one chunk, got 0")
        subs = []
        for k, chunk in enumerate(layer.chunks if sub_reps else []):
            for r, refine in enumerate(REFINES):
                level = 2 * k + r
                deps = [2 * i for i in range(k)] if refine == "dc" else list(range(level))
                subs.append(
                    SubRepresentation(
                        level=level,
                        dependency_level=deps,
                        bandwidth=_bandwidth(operating_point_bytes(index, j, k + 1, refine), duration),
                        supplemental_properties=[
                            Descriptor(
                                SCHEME_OPERATING_POINT,
                                _fmt_kv(
                                    chunks=k + 1,
                                    refine=refine,
                                    gaussians=sum(c.gaussians for c in layer.chunks[: k + 1]),
                                    **_fidelity_item(chunk, refine),
                                ),
                            )
                        ],
                    )
                )
        reps.append(
            Representation(
                id=f"{prefix}L{j}",
                bandwidth=_bandwidth(operating_point_bytes(index, j, len(layer.chunks), "full"), duration),
                dependency_id=[f"{prefix}L{i}" for i in range(j)] if layers_depend(index) else [],
                quality_ranking=len(index.layers) - j,  # lower value = higher quality (DASH semantics)
                supplemental_properties=[
                    Descriptor(SCHEME_LAYER, _fmt_kv(layer=j, chunks=len(layer.chunks), gaussians=layer.gaussians))
                ],
                base_urls=[media_url],
                sub_representations=subs,
                segment_base=SegmentBase(
                    index_range=(0, index.header_bytes - 1),
                    index_range_exact=True,
                    initialization=URLType(range=(0, index.header_bytes - 1)),
                ),
            )
        )
    return AdaptationSet(
        id=set_id,
        mime_type=MIME_TYPE,
        codecs=CODECS,
        subsegment_alignment=True,
        essential_properties=[
            Descriptor(
                SCHEME_STREAM,
                _fmt_kv(
                    mapping=STREAM_MAPPING_VERSION,
                    mode=getattr(index, "mode", "scalable"),
                    entropy=index.entropy,
                    total_bytes=index.total_bytes,
                    header_bytes=index.header_bytes,
                ),
            )
        ],
        supplemental_properties=[tile_prop] if tile_prop is not None else [],
        representations=reps,
    )


# -------------------------------------------------------------------------------------------------- client side
def _int(kv: dict, key: str, where: str, minimum: int = 0, maximum: int | None = None) -> int:
    if key not in kv:
        raise ManifestError(f"{where}: missing '{key}=' in the descriptor value")
    text = kv[key]
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_INT_DIGITS:
        raise ManifestError(f"{where}: '{key}' expected an unsigned integer, got {text[:40]!r}")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        raise ManifestError(f"{where}: '{key}' expected in [{minimum}, {maximum}], got {value}")
    return value


def _find(descriptors, scheme: str):
    for d in descriptors:
        if d.scheme_id_uri == scheme:
            return d
    return None


def interpret_mpd(mpd: MPD) -> StreamManifest:
    """Extract the splatcast stream from a parsed MPD; ManifestError if it is not one (or contradicts itself).

    An untiled stream is one AdaptationSet with EssentialProperty :data:`SCHEME_STREAM`; a tiled one is one such
    set per tile, each with SupplementalProperty :data:`SCHEME_TILE`, all naming the same media and header."""
    sets = [
        a for p in mpd.periods for a in p.adaptation_sets if _find(a.essential_properties, SCHEME_STREAM) is not None
    ]
    tiled = [a for a in sets if _find(a.supplemental_properties, SCHEME_TILE) is not None]
    if not sets or (len(sets) > 1 and len(tiled) != len(sets)) or len(sets) > MAX_TILES:
        raise ManifestError(
            f"MPD: expected exactly one AdaptationSet with EssentialProperty {SCHEME_STREAM}, or one per tile (each "
            f"with SupplementalProperty {SCHEME_TILE}, at most {MAX_TILES}), got {len(sets)} ({len(tiled)} tiles)"
        )
    values = {_find(a.essential_properties, SCHEME_STREAM).value for a in sets}
    if len(values) != 1:
        raise ManifestError(f"EssentialProperty {SCHEME_STREAM}: the tiles' AdaptationSets describe different streams")
    stream = _kv(values.pop(), f"EssentialProperty {SCHEME_STREAM}")
    if stream.get("mapping") != STREAM_MAPPING_VERSION:
        raise ManifestError(
            f"EssentialProperty {SCHEME_STREAM}: mapping expected {STREAM_MAPPING_VERSION!r}, "
            f"got {stream.get('mapping')!r}"
        )
    mode = stream.get("mode", "scalable")
    if mode not in ("scalable", "mdc"):
        raise ManifestError(f"EssentialProperty {SCHEME_STREAM}: mode expected 'scalable' or 'mdc', got {mode!r}")
    duration = mpd.media_presentation_duration_s
    if duration is None or not duration > 0:
        raise ManifestError(f"MPD @mediaPresentationDuration: expected > 0 (nominal duration), got {duration}")
    parsed = [_interpret_set(a, mode, operating_points=not tiled) for a in sets]
    if len({(m, h) for m, h, _ in parsed}) != 1:
        raise ManifestError("AdaptationSets: the tiles name different BaseURLs or indexRanges")
    media_url, header_range, layers = parsed[0]
    tiles = None
    if tiled:
        by_tile: dict[int, ManifestTile] = {}
        for aset, (_m, _h, tile_layers) in zip(sets, parsed):
            where = f"AdaptationSet {aset.id} SupplementalProperty {SCHEME_TILE}"
            kv = _kv(_find(aset.supplemental_properties, SCHEME_TILE).value, where)
            t = _int(kv, "tile", where, 0, len(sets) - 1)
            if _int(kv, "tiles", where, 1, MAX_TILES) != len(sets) or t in by_tile:
                raise ManifestError(f"{where}: tile {t} of tiles={kv.get('tiles')} with {len(sets)} tile sets")
            by_tile[t] = ManifestTile(t, _vec3(kv, "min", where), _vec3(kv, "max", where), tile_layers)
        tiles = [by_tile[t] for t in range(len(sets))]
        if len({len(t.layers) for t in tiles}) != 1:
            raise ManifestError("AdaptationSets: the tiles have different numbers of layers")
        layers = tiles[0].layers
    return StreamManifest(
        media_url=media_url,
        header_range=header_range,
        nominal_duration_s=duration,
        layers=layers,
        title=mpd.title,
        mode=mode,
        tiles=tiles,
    )


def _vec3(kv: dict, key: str, where: str) -> tuple[float, float, float]:
    text = kv.get(key, "")
    parts = text.split()
    try:
        values = tuple(float(p) for p in parts) if len(text) <= 128 else ()
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ManifestError(f"{where}: '{key}' expected three finite numbers, got {text[:60]!r}")
    return values


def _interpret_set(aset, mode: str, operating_points: bool = True):
    """(media url, header range, layers) of one stream AdaptationSet (an untiled stream's, or one tile's; a tile's
    set has no SubRepresentations: ``operating_points`` False)."""
    if len(aset.representations) > MAX_LAYERS:
        raise ManifestError(f"AdaptationSet: {len(aset.representations)} Representations exceed the limit {MAX_LAYERS}")
    by_layer: dict[int, ManifestLayer] = {}
    media_url = header_range = None
    for rep in aset.representations:
        where = f"Representation {rep.id!r}"
        d = _find(rep.supplemental_properties, SCHEME_LAYER)
        if d is None:
            raise ManifestError(f"{where}: missing SupplementalProperty {SCHEME_LAYER}")
        kv = _kv(d.value, where)
        j = _int(kv, "layer", where, 0, MAX_LAYERS - 1)
        n_chunks = _int(kv, "chunks", where, 1, MAX_CHUNKS)
        if j in by_layer:
            raise ManifestError(f"{where}: layer {j} appears twice")
        if len(rep.base_urls) != 1 or not rep.base_urls[0]:
            raise ManifestError(f"{where}: expected exactly one BaseURL (the .splc file), got {len(rep.base_urls)}")
        if media_url not in (None, rep.base_urls[0]):
            raise ManifestError(f"{where}: BaseURL {rep.base_urls[0]!r} differs from {media_url!r}")
        media_url = rep.base_urls[0]
        sb = rep.segment_base
        if sb is None or sb.index_range is None or sb.index_range[0] != 0:
            raise ManifestError(f"{where}: expected SegmentBase@indexRange '0-N' (the .splc header)")
        if header_range not in (None, sb.index_range):
            raise ManifestError(f"{where}: indexRange {sb.index_range} differs from {header_range}")
        header_range = sb.index_range
        layer = ManifestLayer(
            layer=j,
            representation_id=rep.id,
            dependency_ids=list(rep.dependency_id),
            bandwidth_bps=rep.bandwidth,
            chunks=n_chunks,
            gaussians=_int(kv, "gaussians", where),
        )
        if not operating_points:
            if rep.sub_representations:
                raise ManifestError(f"{where}: a tile's Representation lists no SubRepresentations (the index does)")
            by_layer[j] = layer
            continue
        if len(rep.sub_representations) != 2 * n_chunks:
            raise ManifestError(
                f"{where}: expected {2 * n_chunks} SubRepresentations (chunks x dc/full), "
                f"got {len(rep.sub_representations)}"
            )
        for sub in rep.sub_representations:
            swhere = f"{where} SubRepresentation level={sub.level}"
            sd = _find(sub.supplemental_properties, SCHEME_OPERATING_POINT)
            if sd is None or sub.level is None or sub.bandwidth is None:
                raise ManifestError(
                    f"{swhere}: expected @level, @bandwidth and SupplementalProperty {SCHEME_OPERATING_POINT}"
                )
            skv = _kv(sd.value, swhere)
            chunks = _int(skv, "chunks", swhere, 1, n_chunks)
            refine = skv.get("refine")
            if refine not in REFINES:
                raise ManifestError(f"{swhere}: refine expected one of {REFINES}, got {refine!r}")
            expected_level = 2 * (chunks - 1) + REFINES.index(refine)
            if sub.level != expected_level:
                raise ManifestError(f"{swhere}: chunks={chunks} refine={refine} expected level {expected_level}")
            layer.operating_points.append(
                OperatingPoint(
                    layer=j,
                    chunks=chunks,
                    refine=refine,
                    level=sub.level,
                    dependency_level=tuple(sub.dependency_level),
                    bandwidth_bps=sub.bandwidth,
                    gaussians=_int(skv, "gaussians", swhere),
                    fidelity_db=_parse_fidelity(skv, swhere),
                )
            )
        layer.operating_points.sort(key=lambda op: op.level)
        if [op.level for op in layer.operating_points] != list(range(2 * n_chunks)):
            raise ManifestError(f"{where}: SubRepresentation levels must be 0..{2 * n_chunks - 1}, each once")
        by_layer[j] = layer
    if sorted(by_layer) != list(range(len(by_layer))):
        raise ManifestError(f"AdaptationSet: layers must be 0..{len(by_layer) - 1}, got {sorted(by_layer)}")
    layers = [by_layer[j] for j in range(len(by_layer))]
    for layer in layers:
        expected = [layers[i].representation_id for i in range(layer.layer)] if mode == "scalable" else []
        if sorted(layer.dependency_ids) != sorted(expected):
            raise ManifestError(
                f"Representation {layer.representation_id!r} @dependencyId: expected {expected}, "
                f"got {layer.dependency_ids}"
            )
    if media_url is None:
        raise ManifestError(f"AdaptationSet {aset.id}: no Representation")
    return media_url, header_range, layers


def check_index_matches(manifest: StreamManifest, index) -> None:
    """The header's table must describe the stream the MPD announces (same layers, chunks, operating-point sizes;
    for a tiled stream the same tiles, each tile's view against its AdaptationSet)."""
    if index.header_bytes != manifest.header_bytes:
        raise ManifestError(
            f"index: header_bytes expected {manifest.header_bytes} (MPD indexRange), got {index.header_bytes}"
        )
    n_tiles = getattr(index, "tile_count", 1) if getattr(index, "tile_boxes", None) is not None else None
    if (manifest.tiles is None) != (n_tiles is None) or (n_tiles is not None and n_tiles != len(manifest.tiles)):
        raise ManifestError(
            f"index: {n_tiles or 'no'} tiles, the MPD announces {len(manifest.tiles) if manifest.tiles else 'none'}"
        )
    if n_tiles is not None:
        for t, tile in enumerate(manifest.tiles):
            _check_layers(tile.layers, index.tile_view(t), manifest.nominal_duration_s, f"index tile {t} ")
    else:
        _check_layers(manifest.layers, index, manifest.nominal_duration_s, "index ")


def _check_layers(manifest_layers, index, duration_s: float, what: str) -> None:
    if len(index.layers) != len(manifest_layers):
        raise ManifestError(f"{what.strip()}: expected {len(manifest_layers)} layers (MPD), got {len(index.layers)}")
    for ml, il in zip(manifest_layers, index.layers):
        if len(il.chunks) != ml.chunks:
            raise ManifestError(f"{what}layer {ml.layer}: expected {ml.chunks} chunks (MPD), got {len(il.chunks)}")
        for op in ml.operating_points:
            want = _bandwidth(operating_point_bytes(index, ml.layer, op.chunks, op.refine), duration_s)
            if want != op.bandwidth_bps:
                raise ManifestError(
                    f"{what}layer {ml.layer} level {op.level}: MPD bandwidth {op.bandwidth_bps} "
                    f"!= {want} from the index"
                )
            recorded = fidelity_db(_op_fidelity_code(il.chunks[op.chunks - 1], op.refine))
            if op.fidelity_db is not None and (recorded is None or abs(recorded - op.fidelity_db) > 0.005):
                raise ManifestError(
                    f"{what}layer {ml.layer} level {op.level}: MPD fidelity {op.fidelity_db} != {recorded} from the "
                    "index"
                )
