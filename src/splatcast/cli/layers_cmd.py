"""``splatcast layers``: coarse-to-fine quality layers from one finished model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from splatcast.errors import SplatcastError

HELP = "derive coarse-to-fine quality layers from one finished model (importance pruning + SH truncation)"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="trained model (any format splatcast reads)")
    parser.add_argument("-o", "--out", required=True, help="output folder for layer_0.ply .. layer_{L-1}.ply")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--fractions", default=None, help="comma-separated kept fractions, e.g. 0.25,0.5,1")
    parser.add_argument("--compensation", type=float, default=0.0,
                        help="scale compensation of pruned layers (default 0 = off)")
    from splatcast.codec.ordering import DEFAULT_ORDER, ORDERS

    parser.add_argument("--order", default=DEFAULT_ORDER, choices=ORDERS,
                        help="which Gaussians a coarse layer keeps: peel (rendered weight over two rings of views, "
                             "measured again as the least visible are peeled off), blend (the same, one pass), "
                             f"importance (the paper's sigmoid(o) x volume), opacity, random (default {DEFAULT_ORDER})")
    parser.add_argument("--images", default=None, help="NeRF-synthetic dataset for an optional fine-tune")
    parser.add_argument("--finetune", type=int, default=0, help="fine-tune iterations per layer (needs --images)")
    parser.add_argument("--resolution", type=int, default=200, help="fine-tune image resolution (longer side)")
    parser.add_argument("--background", default="white", choices=["white", "black"])
    parser.add_argument("--no-fidelity", action="store_true", help="skip the fidelity PSNR of each layer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from tqdm import tqdm

    from splatcast.scene.formats import read_scene, write_scene
    from splatcast.train.derive_layers import derive_layers, finetune_layer

    if args.layers < 1:
        raise SplatcastError(f"--layers={args.layers} must be >= 1")
    if args.finetune < 0:
        raise SplatcastError(f"--finetune={args.finetune} must be >= 0")
    if args.finetune and not args.images:
        raise SplatcastError("--finetune needs --images DATASET")
    fractions = None
    if args.fractions:
        try:
            fractions = [float(f) for f in args.fractions.split(",")]
        except ValueError:
            raise SplatcastError(f"--fractions={args.fractions!r} must be comma-separated numbers") from None
    model = read_scene(args.model)
    if len(model) == 0:
        raise SplatcastError(f"{args.model}: the model has no Gaussians")
    layers = derive_layers(model, args.layers, fractions=fractions, compensation=args.compensation, order=args.order)
    if args.finetune:
        from splatcast.train.dataset import load_nerf_synthetic

        dataset = load_nerf_synthetic(args.images, args.resolution, args.background)
        layers = [finetune_layer(layer, dataset, args.finetune, args.seed)
                  for layer in tqdm(layers, desc="fine-tune", disable=args.json, file=sys.stderr)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.no_fidelity:
        from splatcast.render.metrics import Fidelity

        fidelity = Fidelity(model, n_views=8, width=128, height=128)  # the model's views rendered once
    for i, layer in enumerate(layers):
        path = out / f"layer_{i}.ply"
        write_scene(layer, path)
        row = {"layer": i, "gaussians": len(layer), "sh_degree": layer.sh_degree, "path": str(path)}
        if not args.no_fidelity:
            value = fidelity.psnr(layer)
            row["fidelity_psnr"] = value if value != float("inf") else None
        rows.append(row)
    if args.json:
        print(json.dumps({"model": str(args.model), "layers": rows}, sort_keys=True))
    else:
        for r in rows:
            fid = r.get("fidelity_psnr")
            fid_txt = "" if "fidelity_psnr" not in r else (" identical" if fid is None else f" {fid:6.2f} dB")
            print(f"layer {r['layer']}: {r['gaussians']:>8} Gaussians, SH {r['sh_degree']}{fid_txt}  {r['path']}")
    return 0
