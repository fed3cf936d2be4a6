"""`splatcast encode L0 L1 [L2 ...] -o scene.splc`: code quality layers into one scalable, prefix-decodable file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "code quality layers L0 L1 ... (coarse to fine) into a scalable .splc bitstream"


def _vq(value: str):
    if value in ("auto", "off"):
        return value
    try:
        k = int(value)
    except ValueError:
        raise ValueError(f"--vq {value!r}: use auto, off or a codebook size") from None
    return k


def add_arguments(parser) -> None:
    parser.add_argument("layers", nargs="+", help="scene files or folders, coarsest first")
    parser.add_argument("-o", "--output", required=True, help=".splc file to write")
    parser.add_argument("--entropy", default="irans", choices=["irans", "rans", "lzma", "paq", "zstd"],
                        help="entropy back-end (default irans: smallest on real streams with rans, fastest to decode "
                             "in Python; both decodable by the web player)")
    parser.add_argument("--vq", default="auto", help="SH-DC residual VQ: auto (rate-chosen K), K, or off")
    parser.add_argument("--vq-lambda", type=float, default=0.0,
                        help="lossy SH-DC VQ: drop a Gaussian's DC refinement (its codeword alone) where the weighted "
                             "squared error in DC steps is below LAMBDA x the bits saved; K by D + LAMBDA x R "
                             "(default 0: exact; inf: VQ-only, no refinement)")
    parser.add_argument("--mode", default="scalable", choices=["scalable", "mdc"],
                        help="scalable (layers predicted from the one below) or mdc (each layer coded on its own)")
    parser.add_argument("--chunks", type=int, default=8, help="importance chunks per layer")
    parser.add_argument("--chunk-growth", type=float, default=1.0,
                        help="chunk i holds ~G**i x the first one's share: G > 1 makes the first chunk small, for a "
                             "sooner first picture when streaming (default 1: equal chunks)")
    from splatcast.codec.ordering import DEFAULT_ORDER, ORDERS

    parser.add_argument("--order", default=DEFAULT_ORDER, choices=ORDERS,
                        help="progressive order of each layer: peel (rendered weight, measured again on what is left "
                             "as the least visible are peeled off), blend (rendered weight, one pass), importance (the "
                             f"paper's sigmoid(o) x volume), opacity, random (default {DEFAULT_ORDER})")
    parser.add_argument("--quality", type=int, default=8, help="0..16; +2 halves every quantizer step")
    parser.add_argument("--knn", type=int, default=8, help="neighbours for inter-layer prediction")
    parser.add_argument("--pos-bits", type=int, default=14, help="position grid bits per axis")
    parser.add_argument("--partial", default="auto", choices=["auto", "replace", "hold"],
                        help="when a partial inter layer is shown: auto (from measured fidelity), replace (at once), "
                             "hold (once complete) (default auto)")
    parser.add_argument("--fidelity", default="on", choices=["on", "off"],
                        help="measure every streaming state's fidelity into the index, so players never show a "
                             "worse state than before; off skips its rendering, the main encode cost (default on)")
    parser.add_argument("--dc-only", default="auto", choices=["auto", "on", "off"],
                        help="dc-only operating points of inter layers: auto (dropped where the measured fidelity "
                             "would fall below the layer below), on, off (default auto)")
    parser.add_argument("--tile-gaussians", type=int, default=0, metavar="N",
                        help="split the scene into spatial tiles of at most about N Gaussians each, streamed in the "
                             "order the viewer needs them (a 4.0 file, docs/format.md 1.7); 0 = untiled (default 0)")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="encode layers even if their bounds say they are not one scene")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (sorted keys)")


def run(args) -> int:
    from splatcast.cli.progress import progress
    from splatcast.codec import EncoderConfig, encode_with_stats
    from splatcast.errors import SplatcastError
    from splatcast.scene.formats import read_scene

    try:
        config = EncoderConfig(
            mode=args.mode,
            entropy=args.entropy,
            vq=_vq(args.vq),
            vq_lambda=args.vq_lambda,
            chunks=args.chunks,
            chunk_growth=args.chunk_growth,
            order=args.order,
            quality=args.quality,
            knn_k=args.knn,
            pos_bits=args.pos_bits,
            partial=args.partial,
            fidelity=args.fidelity == "on",
            dc_only=args.dc_only,
            tile_gaussians=args.tile_gaussians,
        )
        config.validate()
    except ValueError as exc:
        raise SplatcastError(str(exc)) from None
    clouds = [read_scene(p) for p in args.layers]
    from splatcast.codec.layers import check_layer_set

    errors, warnings = check_layer_set(clouds)
    for text in warnings:
        print(f"splatcast encode: warning: {text}", file=sys.stderr)
    if errors and not args.allow_mismatch:
        raise SplatcastError(f"{errors[0]} (--allow-mismatch encodes them anyway)")
    bar = progress(len(clouds), "encode", unit="layer")
    try:
        data, stats = encode_with_stats(clouds, config, progress=lambda i: bar.update(1))
    except ValueError as exc:
        raise SplatcastError(str(exc)) from None
    finally:
        bar.close()
    Path(args.output).write_bytes(data)
    keys = ("index", "gaussians", "bytes", "bits_per_gaussian", "mode_entropy_bits", "codebook_size", "encode_s")
    layers = [
        {k: s[k] for k in keys}
        | {k: s[k] for k in ("display_from", "joint", "fidelity_db", "fidelity_s", "tile_chunks") if k in s}
        | {"dc_bytes": s["dc_bytes"], "input": str(p)}
        for s, p in zip(stats, args.layers)
    ]
    result = {"output": str(args.output), "bytes": len(data), "config": vars(config) | {"vq_candidates": None},
              "layers": layers}
    if args.json:
        print(json.dumps(result, sort_keys=True, default=str))
        return 0
    tiles = len(layers[0].get("tile_chunks", [None])) if layers else 1
    print(f"{args.output}: {len(data)} bytes, {args.mode}, entropy {args.entropy}"
          + (f", {tiles} tiles" if tiles > 1 else ""))
    for s in layers:
        me = "-" if s["mode_entropy_bits"] is None else f"{s['mode_entropy_bits']:.2f}"
        print(
            f"  L{s['index']}: {s['gaussians']} Gaussians, {s['bytes']} bytes, {s['bits_per_gaussian']:.2f} bits/G, "
            f"mode entropy {me} bits, codebook {s['codebook_size']}, {s['encode_s']:.2f} s"
        )
        if "fidelity_db" in s:
            f = s["fidelity_db"]["full"]
            shown = "inf" if f[-1] is None else f"{f[-1]:.2f}"
            print(f"      fidelity {f[0] if f[0] is not None else 'inf'} -> {shown} dB over its chunks"
                  + (f", shown from chunk {s['display_from']}" if "display_from" in s else "")
                  + (", joint (no dc-only states)" if s.get("joint") else ""))
    if layers and "fidelity_s" in layers[0]:
        print(f"  fidelity of every streaming state measured in {layers[0]['fidelity_s']:.1f} s")
    return 0
