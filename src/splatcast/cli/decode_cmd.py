"""`splatcast decode scene.splc -o out.ply`: decode an operating point (layer, chunks, refinement) to a scene file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "decode a .splc bitstream (or a prefix of one) at an operating point to a scene file"


def add_arguments(parser) -> None:
    parser.add_argument("input", help=".splc file (a truncated file decodes to the chunks it holds)")
    parser.add_argument("-o", "--output", required=True, help="scene file to write (.ply, .splat, .spz)")
    parser.add_argument("--layer", type=int, default=None, help="target layer (default: the top one available)")
    parser.add_argument("--chunks", type=int, default=None, help="chunks of the target layer (default: all)")
    parser.add_argument("--refine", default="full", choices=["dc", "full"], help="refinement of the target layer")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (sorted keys)")


def run(args) -> int:
    from splatcast.codec.decoder import decode_progressive, warm_up
    from splatcast.errors import SplatcastError
    from splatcast.scene.formats import write_scene

    if args.chunks is not None and args.chunks < 0:
        raise SplatcastError(f"--chunks={args.chunks} must be >= 0")
    if args.layer is not None and args.layer < 0:
        raise SplatcastError(f"--layer={args.layer} must be >= 0")
    data = Path(args.input).read_bytes()
    warm_up()
    dec = decode_progressive(data, args.layer, args.chunks, args.refine)
    cloud = dec.cloud()
    write_scene(cloud, args.output)
    layers = []
    for j, li in enumerate(dec.index.layers):
        if dec.chunks_received(j) == 0:
            continue
        g = int(sum(c.gaussians for c in li.chunks[: dec.chunks_received(j)]))
        s = dec.layer_decode_s(j)
        layers.append(
            {
                "index": j,
                "gaussians": g,
                "chunks": dec.chunks_received(j),
                "decode_s": s,
                "ms_per_kgaussian": 1e6 * s / g if g else None,
            }
        )
    result = {"input": str(args.input), "output": str(args.output), "gaussians": len(cloud), "refine": args.refine,
              "layers": layers}
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    print(f"{args.output}: {len(cloud)} Gaussians", file=sys.stdout)
    for s in layers:
        print(f"  L{s['index']}: {s['gaussians']} Gaussians in {s['chunks']} chunks, {s['decode_s'] * 1e3:.1f} ms "
              f"({s['ms_per_kgaussian']:.3f} ms per thousand)")
    return 0
