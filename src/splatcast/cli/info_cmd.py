"""`splatcast info FILE`: what a scene file (or a splatcast bitstream) holds."""

from __future__ import annotations

import json
from pathlib import Path

from splatcast.errors import SplatcastError

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
    try:
        from splatcast.codec.info import describe
    except ImportError as exc:
        raise SplatcastError(f"{path} is a splatcast bitstream, but splatcast.codec.info is unavailable ({exc})")
    return describe(str(path))


def run(args) -> int:
    from splatcast.scene.formats import detect_format

    path = Path(args.file)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    facts = _describe_bitstream(path) if detect_format(path) == "splc" else describe_scene(path)
    if args.json:
        print(json.dumps(facts, sort_keys=True))
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
