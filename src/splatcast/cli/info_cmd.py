"""`splatcast info FILE`: what a scene file (or a splatcast bitstream) holds."""

from __future__ import annotations

import json
from pathlib import Path

HELP = "describe a scene file or folder (format, count, SH degree, bounds, size) or a .splc bitstream"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="scene file or folder (PLY, compressed PLY, SOG, SPZ, .splat) or .splc")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (sorted keys)")


def _size_bytes(path: Path) -> int:
    """File size, or the total size of the files in a scene folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def describe_scene(path: str | Path) -> dict:
    """The facts `info` prints for a scene: format, count, sh_degree, bounds, bytes, bytes_per_gaussian."""
    from splatcast.scene.formats import detect_format, lod_level_paths, read_scene

    path = Path(path)
    fmt = detect_format(path)
    cloud = read_scene(path)
    lo, hi = cloud.bounds()
    # a LOD folder holds every level; count the bytes of the level that was read (the finest)
    size = _size_bytes(lod_level_paths(path)[0] if fmt == "sog_lod" else path)
    return {
        "format": fmt,
        "count": len(cloud),
        "sh_degree": cloud.sh_degree,
        "bounds": [[float(v) for v in lo], [float(v) for v in hi]],
        "bytes": size,
        "bytes_per_gaussian": size / len(cloud) if len(cloud) else None,
    }


def _describe_bitstream(path: Path) -> dict:
    from splatcast.codec.info import describe

    return describe(str(path))


def _db(value) -> str:
    if value is None:
        return "-"
    return "final" if value == "inf" else f"{value:.2f}"


def print_bitstream(facts: dict) -> None:
    """A .splc as a reader wants it: the file in one line, a table of layers, then each layer's chunks (the
    operating points a client can stop at: full pass, dc-only pass, and a dc chunk upgraded to full)."""
    steps = ", ".join(f"{k} {v:.4g}" for k, v in facts["steps"].items())
    print(f"splatcast bitstream {facts['version']} ({'complete' if facts['complete'] else 'truncated'}): "
          f"{facts['mode']}, {facts['entropy']}, {facts['total_bytes']:,} bytes, header {facts['header_bytes']:,} B, "
          f"SH degree {facts['sh_degree']}, quality {facts['quality']}, {facts['pos_bits']}-bit positions")
    lo, hi = (" ".join(f"{v + 0.0:.4g}" for v in corner) for corner in (facts["grid_min"], facts["grid_max"]))
    print(f"  position grid min {lo}, max {hi}; feature steps {steps}")
    head = f"{'layer':>5} {'coding':>6} {'Gaussians':>10} {'bytes':>11} {'dc bytes':>11} {'bits/G':>7} {'chunks':>6} " \
           f"{'K':>4} {'knn':>3} {'shown from':>10}"
    print(head)
    print("-" * len(head))
    for layer in facts["layers"]:
        print(f"{layer['index']:>5} {layer['coding']:>6} {layer['gaussians']:>10,} {layer['bytes']:>11,} "
              f"{layer['dc_bytes']:>11,} {layer['bits_per_gaussian']:>7.2f} {layer['chunks']:>6} "
              f"{layer['codebook_size']:>4} {layer['knn_k']:>3} "
              f"{layer['display_from'] if layer['tile_chunks'] is None else 'per tile':>10}")
    if facts.get("tiles"):
        print(f"{len(facts['tiles'])} tiles (docs/format.md 1.7): bounds, Gaussians per layer, bytes")
        for tile in facts["tiles"]:
            lo, hi = (" ".join(f"{v + 0.0:.3g}" for v in tile[k]) for k in ("min", "max"))
            print(f"  {tile['index']:>3}: [{lo}] .. [{hi}]  {' / '.join(f'{g:,}' for g in tile['gaussians'])} G  "
                  f"{tile['bytes']:,} B")
    for layer in facts["layers"]:
        print(f"layer {layer['index']} chunks (fidelity dB of the state after each: full pass | dc pass | dc upgraded)")
        for c, chunk in enumerate(layer["chunk_table"]):
            fid = chunk.get("fidelity_db") or {}
            print(f"  {c:>3}: {chunk['gaussians']:>9,} G  bytes {chunk['offset']:>10,} + {chunk['full_bytes']:>9,} "
                  f"(dc {chunk['dc_bytes']:>9,})  {_db(fid.get('full')):>6} | {_db(fid.get('dc')):>6} | "
                  f"{_db(fid.get('upgraded')):>6}")


def run(args) -> int:
    from splatcast.scene.formats import detect_format

    path = Path(args.file)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    facts = _describe_bitstream(path) if detect_format(path) == "splc" else describe_scene(path)
    if args.json:
        print(json.dumps(facts, sort_keys=True))
        return 0
    if facts.get("format") == "splc":
        print_bitstream(facts)
        return 0
    for key in sorted(facts):
        value = facts[key]
        if key == "bounds":
            lo, hi = (" ".join(f"{v + 0.0:.4g}" for v in corner) for corner in value)  # + 0.0: no "-0"
            value = f"min {lo}, max {hi}"
        elif isinstance(value, float):
            value = f"{value:.2f}"
        print(f"{key}: {value}")
    return 0
