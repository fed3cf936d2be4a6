"""``describe(path_or_bytes) -> dict``: what a .splc file holds, from its header alone (used by ``splatcast info``)."""

from __future__ import annotations

from pathlib import Path

from splatcast.codec.container import fidelity_db, read_index


def describe(source) -> dict:
    """JSON-ready summary: version, entropy back-end, mode, grid, steps, and per layer its chunks and bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = Path(source).read_bytes()
    idx = read_index(data)
    layers = []
    for layer in idx.layers:
        nbytes = layer.total_bytes
        layers.append(
            {
                "index": layer.index,
                "gaussians": layer.gaussians,
                "coding": "inter" if layer.coding else "intra",
                "sh_degree": layer.sh_degree,
                "knn_k": layer.knn_k,
                "codebook_size": layer.codebook_size,
                "display_from": layer.display_from,
                "chunks": len(layer.chunks),
                "tile_chunks": layer.tile_chunks,  # tiled files: chunks per tile (tile 0's first); null: untiled
                "tile_display_from": layer.tile_display_from,
                "bytes": nbytes,
                "dc_bytes": sum(c.dc_bytes for c in layer.chunks),
                "bits_per_gaussian": 8.0 * nbytes / max(layer.gaussians, 1),
                "chunk_table": [
                    {"offset": c.offset, "dc_bytes": c.dc_bytes, "full_bytes": c.full_bytes, "gaussians": c.gaussians,
                     # the index's fidelity of the states after this chunk (docs/format.md 1.3; null: not recorded,
                     # "inf": the top layer)
                     "fidelity_db": {k: _db(getattr(c, f"fidelity_{k}")) for k in ("full", "dc", "upgraded")}}
                    for c in layer.chunks
                ],
            }
        )
    return {
        "format": "splc",
        "version": f"{idx.version[0]}.{idx.version[1]}",
        "entropy": idx.entropy,
        "mode": idx.mode,
        "sh_degree": idx.sh_degree,
        "pos_bits": idx.pos_bits,
        "quality": idx.quality,
        "grid_min": [float(v) for v in idx.grid_min],
        "grid_max": [float(v) for v in idx.grid_max],
        "steps": {k: float(v) for k, v in zip(("dc", "opacity", "scale", "quat", "rest"), idx.steps)},
        "header_bytes": idx.header_bytes,
        "total_bytes": idx.total_bytes,
        "complete": len(data) >= idx.total_bytes,
        "layers": layers,
        "tiles": _tiles(idx),
    }


def _tiles(idx) -> list[dict] | None:
    """Tiled files (docs/format.md 1.7): each tile's grid box, its scene-space bounds and Gaussians per layer."""
    if idx.tile_boxes is None:
        return None
    from splatcast.codec.quantize import Grid
    from splatcast.codec.tiles import box_bounds

    grid = Grid(idx.grid_min, idx.grid_max, idx.pos_bits)
    out = []
    for t, box in enumerate(idx.tile_boxes):
        lo, hi = box_bounds(box, grid)
        view = idx.tile_view(t)
        out.append({"index": t, "grid_lo": box[0].tolist(), "grid_hi": box[1].tolist(),
                    "min": [float(v) for v in lo], "max": [float(v) for v in hi],
                    "gaussians": [layer.gaussians for layer in view.layers],
                    "bytes": sum(layer.total_bytes for layer in view.layers)})
    return out


def _db(code: int):
    value = fidelity_db(code)
    return "inf" if value == float("inf") else value
