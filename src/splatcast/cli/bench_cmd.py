"""`splatcast bench`: run the evaluation suite and write report.md, results.json and PNG plots into one folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from splatcast.errors import SplatcastError

HELP = "reproduce the paper's results (RD + BD-rate, decode time, progressive, formats, streaming) into a report"

EXPERIMENT_NAMES = ("rd", "decode_time", "progressive", "formats", "streaming")
SCENE_NAMES = ("demo", "playbot", "statue", "lego")


def add_arguments(parser) -> None:
    parser.add_argument("--scenes", nargs="+", choices=SCENE_NAMES, default=None,
                        help="layer sets to evaluate (default: demo playbot statue, plus lego with --lego-dir; "
                        "--quick: demo)")
    parser.add_argument("--experiments", nargs="+", choices=EXPERIMENT_NAMES, default=None,
                        help="experiments to run (default: all)")
    parser.add_argument("--out", default="docs/results", help="output folder (default: docs/results)")
    parser.add_argument("--quick", action="store_true", help="small scene and settings (< 2 minutes), as CI runs it")
    parser.add_argument("--json", action="store_true", help="print results.json on stdout (sorted keys)")
    parser.add_argument("--shared", default=None, help="the shared/ folder (default: ../shared beside the repo)")
    parser.add_argument("--lego-dir", default=None, help="directory of training checkpoint PLYs (lego layer set)")
    parser.add_argument("--lego-dataset", default=None,
                        help="NeRF-synthetic folder whose held-out views give test-view PSNR for the lego checkpoints "
                        "(default: ../shared/data/datasets/lego-train when it exists)")
    parser.add_argument("--lego-resolution", type=int, default=200, help="resolution the checkpoints were trained at")
    parser.add_argument("--lego-background", choices=("white", "black"), default="white")
    parser.add_argument("--qualities", default=None, help="comma-separated codec quality settings (0..16)")
    parser.add_argument("--max-gaussians", type=int, default=None,
                        help="cap every layer set's top layer at this many Gaussians (importance prefixes)")
    parser.add_argument("--repeats", type=int, default=None, help="decode timing repeats (median; default 5, quick 3)")
    parser.add_argument("--install-npm", action="store_true",
                        help="npm-install @playcanvas/splat-transform into ~/.cache/splatcast-npm if absent")
    parser.add_argument("--sog-iterations", type=int, default=3, help="cap of SOG's SH k-means iterations (default 3)")
    parser.add_argument("--trace-scale", type=float, default=10.0,
                        help="multiply the Pensieve traces' rates (their means are 0.2-2.8 Mbit/s; default x10)")
    parser.add_argument("--decode-max-gaussians", type=int, default=100_000,
                        help="decode-time experiment: cap of the top layer (importance prefixes; PAQ is slow)")
    parser.add_argument("--seed", type=int, default=0)


def _config(args):
    from splatcast.evaluate.common import BenchConfig

    kw = {"seed": args.seed, "npm_install": args.install_npm, "sog_iterations": args.sog_iterations,
          "progress": not args.json}
    if args.shared:
        kw["shared_root"] = Path(args.shared).resolve()
    if args.lego_dir:
        kw["lego_dir"] = Path(args.lego_dir).resolve()
        shared = kw.get("shared_root") or BenchConfig(out_dir=Path(".")).shared_root
        dataset = Path(args.lego_dataset) if args.lego_dataset else shared / "data" / "datasets" / "lego-train"
        kw["lego_dataset"] = dataset.resolve() if dataset.exists() else None
        if args.lego_resolution < 8:
            raise SplatcastError(f"--lego-resolution={args.lego_resolution} should be >= 8")
        kw["lego_resolution"] = args.lego_resolution
        kw["lego_background"] = (1.0, 1.0, 1.0) if args.lego_background == "white" else (0.0, 0.0, 0.0)
    if args.qualities:
        try:
            qs = tuple(int(q) for q in args.qualities.split(","))
        except ValueError:
            raise SplatcastError(f"--qualities={args.qualities!r}: expected comma-separated integers") from None
        if not qs or any(not 0 <= q <= 16 for q in qs):
            raise SplatcastError(f"--qualities={args.qualities!r}: every value must be in 0..16")
        kw["qualities"] = qs
    if not args.trace_scale > 0:
        raise SplatcastError(f"--trace-scale={args.trace_scale} should be > 0")
    kw["trace_scale"] = args.trace_scale
    if args.decode_max_gaussians < 10:
        raise SplatcastError(f"--decode-max-gaussians={args.decode_max_gaussians} should be >= 10")
    kw["decode_max_gaussians"] = args.decode_max_gaussians
    if args.max_gaussians is not None:
        if args.max_gaussians < 10:
            raise SplatcastError(f"--max-gaussians={args.max_gaussians} should be >= 10")
        kw["max_gaussians"] = args.max_gaussians
    if args.repeats is not None:
        if args.repeats < 1:
            raise SplatcastError(f"--repeats={args.repeats} should be >= 1")
        kw["decode_repeats"] = args.repeats
    out = Path(args.out)
    return BenchConfig.quick_defaults(out, **kw) if args.quick else BenchConfig(out_dir=out, **kw)


def run(args) -> int:
    from splatcast.evaluate import run_bench

    config = _config(args)
    if args.scenes:
        scenes = list(args.scenes)
    elif args.quick:
        scenes = ["demo"]
    else:
        scenes = ["demo", "playbot", "statue"] + (["lego"] if args.lego_dir else [])
    command = "splatcast bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "splatcast bench"
    results = run_bench(config, scenes, list(args.experiments) if args.experiments else None, command=command)
    if args.json:
        print(json.dumps(results, sort_keys=True, indent=1, allow_nan=False))
    else:
        from splatcast.evaluate.report import skipped_parts

        parts = skipped_parts(results)
        print(f"wrote {config.out_dir / 'report.md'}, {config.out_dir / 'results.json'} "
              f"({len(results['skipped'])} experiments skipped, {len(parts)} parts skipped, "
              f"{len(results['errors'])} errors, {results['wall_s']:.0f} s)")
        for e in results["skipped"]:
            print(f"skipped: {e['experiment']} / {e['scene']}: {e['reason']}", file=sys.stderr)
        for e in parts:
            print(f"skipped: {e['experiment']} / {e['scene']} / {e['part']}: {e['reason']}", file=sys.stderr)
        for e in results["errors"]:
            print(f"error: {e['experiment']} / {e['scene']}: {e['reason']}", file=sys.stderr)
    return 1 if results["errors"] else 0
