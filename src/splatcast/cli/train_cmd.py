"""``splatcast train``: train a 3DGS model on CPU and save checkpoints as quality layers."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from splatcast.errors import SplatcastError

HELP = "train a 3DGS model on CPU from a NeRF-synthetic dataset, saving PLY checkpoints (quality layers)"
# --additive: saved Gaussians keep their geometry but may still fade and change colour (best measured trade-off,
# docs/training.md "Additive layers")
ADDITIVE_REFINE = ("opacities", "sh_dc")


def add_arguments(parser) -> None:
    parser.add_argument("dataset", help="folder with transforms_train.json or transforms.json (NeRF-synthetic, "
                                        "instant-ngp, nerfstudio), or a transforms JSON file")
    parser.add_argument("-o", "--out", required=True, help="output folder (PLYs + train_log.jsonl)")
    parser.add_argument("--iterations", type=int, default=7000)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--save-at", default=None, help="comma-separated iterations to save, e.g. 2000,4000,7000")
    group.add_argument("--auto-layers", type=int, default=None, metavar="L",
                       help="save L checkpoints at test-PSNR plateaus (see docs/training.md)")
    parser.add_argument("--resolution", type=int, default=200, help="longer image side in pixels (default 200)")
    parser.add_argument("--background", default="white", choices=["white", "black"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-points", type=int, default=20000, help="random initial Gaussians")
    parser.add_argument("--init", choices=["auto", "cube", "cameras"], default="auto",
                        help="where training starts without sparse points: cube = the reference's random cube "
                             "(objects alone, NeRF-synthetic), cameras = what the photos see, coloured from them "
                             "(captures with a background); auto = cube when every image has transparent pixels")
    parser.add_argument("--eval-every", type=int, default=500, help="iterations between test-PSNR evaluations")
    parser.add_argument("--additive", action="store_true",
                        help="with --save-at: freeze each saved layer's Gaussians (all but opacity and SH-DC), so "
                             "every layer holds the one before plus new Gaussians (nested by construction); writes "
                             "iteration_N.lineage.npz beside each PLY (docs/training.md)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def _parse_save_at(text: str, iterations: int) -> list[int]:
    try:
        its = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise SplatcastError(f"--save-at={text!r} must be comma-separated integers") from None
    bad = [i for i in its if not 1 <= i <= iterations]
    if bad:
        raise SplatcastError(f"--save-at iterations {bad} must be in 1..{iterations}")
    return its


def run(args) -> int:
    summary = train(args)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        for layer in summary["layers"]:
            print(f"iteration {layer['iteration']:>6}  test PSNR {layer['test_psnr']:.2f} dB  {layer['path']}")
        print(f"{summary['gaussians']} Gaussians, {summary['seconds_per_iteration']:.3f} s/iteration")
    return 0


def train(args) -> dict:
    """Train as the parsed ``args`` say (also used by ``splatcast share``); returns the summary (saved layers)."""
    from splatcast.train.dataset import load_nerf_synthetic

    if args.iterations < 1:
        raise SplatcastError(f"--iterations={args.iterations} must be >= 1")
    if args.eval_every < 1:
        raise SplatcastError(f"--eval-every={args.eval_every} must be >= 1")
    if args.auto_layers is not None and args.auto_layers < 1:
        raise SplatcastError(f"--auto-layers={args.auto_layers} must be >= 1")
    save_at = _parse_save_at(args.save_at, args.iterations) if args.save_at else []
    if args.additive and not save_at:
        raise SplatcastError("--additive needs --save-at (layers are frozen when they are saved)")
    if args.auto_layers is None and not save_at:
        save_at = [args.iterations]
    out = Path(args.out)
    dataset = load_nerf_synthetic(args.dataset, args.resolution, args.background)  # before anything is written
    for note in dataset.notes:
        print(f"splatcast train: warning: {note}", file=sys.stderr, flush=True)
    fresh = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = _train(args, dataset, out, save_at)
    except BaseException:
        if fresh:  # a failed or interrupted run leaves no half-made folder behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    summary["skipped_frames"] = len(dataset.skipped)
    summary["notes"] = dataset.notes
    return summary


def _train(args, dataset, out: Path, save_at: list[int]) -> dict:
    from splatcast.cli.progress import progress
    from splatcast.scene.formats import write_scene
    from splatcast.train.plateaus import pick_layers
    from splatcast.train.trainer import TrainConfig, Trainer

    config = TrainConfig(iterations=args.iterations, seed=args.seed, init_points=args.init_points, init=args.init)
    trainer = Trainer(dataset, config)
    snapshots = out / ".snapshots"
    eval_its = set(range(args.eval_every, args.iterations + 1, args.eval_every)) | {args.iterations}
    if args.auto_layers is not None:
        snapshots.mkdir(exist_ok=True)
    log_path = out / "train_log.jsonl"
    curve: list[tuple[int, float]] = []
    saved: dict[int, str] = {}
    start = time.perf_counter()
    losses: list[float] = []
    psnrs: list[float] = []
    with open(log_path, "w") as log, progress(args.iterations, "train") as bar:  # stderr, also with --json
        for _ in range(args.iterations):
            loss, train_psnr = trainer.step()
            losses.append(loss)
            psnrs.append(train_psnr)
            it = trainer.iteration
            bar.update(1)
            if it in eval_its or it in save_at:
                test_psnr = trainer.evaluate()
                recent = slice(-min(len(losses), args.eval_every), None)
                record = {
                    "iteration": it,
                    "loss": float(sum(losses[recent]) / len(losses[recent])),
                    "train_psnr": float(sum(psnrs[recent]) / len(psnrs[recent])),
                    "test_psnr": test_psnr,
                    "gaussians": len(trainer),
                    "seconds": round(time.perf_counter() - start, 3),
                }
                log.write(json.dumps(record, sort_keys=True) + "\n")
                log.flush()
                bar.set_postfix(test_psnr=f"{test_psnr:.2f}", n=len(trainer))
                curve.append((it, test_psnr))
                if it in save_at:
                    path = out / f"iteration_{it}.ply"
                    if args.additive:
                        layer, lineage = trainer.capture(ADDITIVE_REFINE)
                        write_scene(layer, path)
                        lineage.save(out / f"iteration_{it}.lineage.npz")
                    else:
                        write_scene(trainer.cloud(), path)
                    saved[it] = str(path)
                if args.auto_layers is not None:
                    write_scene(trainer.cloud(), snapshots / f"iteration_{it}.ply")
    if args.auto_layers is not None:
        chosen = pick_layers([c[0] for c in curve], [c[1] for c in curve], args.auto_layers)
        for it in chosen:
            path = out / f"iteration_{it}.ply"
            shutil.move(str(snapshots / f"iteration_{it}.ply"), path)
            saved[it] = str(path)
        shutil.rmtree(snapshots, ignore_errors=True)
    by_it = dict(curve)
    layers = [{"iteration": it, "path": saved[it], "test_psnr": by_it.get(it)} for it in sorted(saved)]
    summary = {
        "dataset": str(args.dataset),
        "iterations": args.iterations,
        "resolution": args.resolution,
        "background": args.background,
        "train_views": len(dataset.train),
        "test_views": len(dataset.test),
        "split": dataset.split_rule,
        "init": trainer.init,
        "gaussians": len(trainer),
        "seconds": round(time.perf_counter() - start, 3),
        "seconds_per_iteration": round((time.perf_counter() - start) / args.iterations, 4),
        "layers": layers,
        "log": str(log_path),
    }
    return summary
