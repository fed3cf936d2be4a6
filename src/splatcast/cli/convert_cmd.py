"""`splatcast convert IN OUT`: read any supported scene, write INRIA PLY, .splat or SPZ v4 (chosen by OUT's suffix)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = ("convert a scene between formats (reads PLY, compressed PLY, SOG, SPZ, .splat; writes .ply, "
        ".compressed.ply, .splat, .spz)")


def add_arguments(parser) -> None:
    parser.add_argument("input", help="scene file or folder to read")
    parser.add_argument("output", help="file to write; its name picks the format (.ply, .compressed.ply, .splat, .spz)")
    parser.add_argument("--sh-degree", type=int, choices=[0, 1, 2, 3], help="truncate or zero-pad SH to this degree")
    parser.add_argument("--spz-axes", default="auto", choices=["auto", "rub", "raw"],
                        help="axes of SPZ read or written: auto = read the frame the file declares (else RUB, the SPZ "
                             "specification), write unconverted and declare it, which the reference library and "
                             "@playcanvas/splat-transform 3.x both read right; rub = RUB always; raw = unconverted and "
                             "undeclared, as splat-transform 3.x writes SPZ")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (sorted keys)")


def run(args) -> int:
    from splatcast.scene.formats import detect_format, output_format, read_scene, write_scene
    from splatcast.scene.formats.spz import undeclared_frame_note

    out = Path(args.output)
    fmt_out = output_format(out)  # refused before anything is read or written
    fmt_in = detect_format(args.input)
    cloud = read_scene(args.input, spz_axes=args.spz_axes)
    note = undeclared_frame_note(args.input, args.spz_axes)
    if note:
        print(f"splatcast convert: note: {note}", file=sys.stderr)
    if args.sh_degree is not None:
        cloud = cloud.with_sh_degree(args.sh_degree)
    write_scene(cloud, out, spz_axes=args.spz_axes)
    result = {
        "input": str(args.input),
        "input_format": fmt_in,
        "output": str(out),
        "output_format": fmt_out,
        "count": len(cloud),
        "sh_degree": cloud.sh_degree,
        "bytes": out.stat().st_size,
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(
            f"{result['input']} ({fmt_in}) -> {result['output']} ({result['output_format']}): "
            f"{len(cloud)} Gaussians, SH degree {cloud.sh_degree}, {result['bytes']} bytes"
        )
    return 0
