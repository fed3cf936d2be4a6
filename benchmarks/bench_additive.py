"""Additive layers benchmark: constrained (frozen, nested) training vs free checkpoints, rate and quality.

Run: ``python -m benchmarks.bench_additive [--iterations 3000] [--entropy lzma] [--json [PATH]]``

Scene: the demo's (the built-in lab bench, 24k Gaussians, 48 views at 128 px, every 8th held out, the demo's
trainer settings). Two runs with the same seed: *free* (the reference trainer; layers = checkpoints at the
test-PSNR plateau ends, as `make demo` picks them) and *additive* (the same trainer, each layer frozen when it is
captured at those same iterations, ``Trainer.capture``; densification adds Gaussians beside the frozen ones).
Each run's three layers are encoded scalable (inter-layer prediction), MDC (each layer alone) and as the top layer
alone, with the same quantizer, so every stream of a run reconstructs the same clouds (equal fidelity):
* enhancement / MDC = bytes of layers 1-2 in the scalable stream / in the MDC stream (goal <= 0.25),
* full / single = the whole 3-layer scalable stream / the top layer coded alone (goal <= 1.1),
* top test PSNR, additive minus free (goal >= -0.3 dB).

``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene ``demo`` holding the printed numbers
(capture_iterations, free / additive: test_psnr, gaussians, train_s, the streams' bytes and ratios).
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks._results import BenchResults, add_json_argument

CAPTURE_RULE = "plateau ends of the free run (pick_layers, window = iterations / 6, 0.1 dB)"


def _train(dataset, iterations: int, seed: int, capture_at=None, refine=()):
    from splatcast.train.trainer import TrainConfig, Trainer

    config = TrainConfig(iterations=iterations, seed=seed, init_points=6000, max_sh_degree=1, sh_increase_every=1000,
                         opacity_reset_every=10 * iterations)  # the demo's settings (cli/demo_cmd.py)
    trainer = Trainer(dataset, config)
    eval_every = max(iterations // 20, 1)
    curve, snapshots, captured = [], {}, []
    t0 = time.perf_counter()
    while trainer.iteration < iterations:
        trainer.step()
        it = trainer.iteration
        if capture_at is not None and it in capture_at:
            layer, lineage = trainer.capture(refine)
            captured.append((it, trainer.evaluate(), layer, lineage))
        elif capture_at is None and (it % eval_every == 0 or it == iterations):
            curve.append((it, trainer.evaluate()))
            snapshots[it] = trainer.cloud()
    return curve, snapshots, captured, time.perf_counter() - t0


def _streams(layers, entropy: str) -> dict:
    from splatcast.codec import EncoderConfig, encode_with_stats

    out = {}
    for name, cfg in {"scalable": EncoderConfig(entropy=entropy), "mdc": EncoderConfig(entropy=entropy, mode="mdc",
                                                                                       fidelity=False)}.items():
        data, stats = encode_with_stats(layers, cfg)
        out[name] = {"bytes": len(data), "layer_bytes": [s["bytes"] for s in stats],
                     "bits_per_gaussian": [round(s["bits_per_gaussian"], 2) for s in stats]}
    data, _ = encode_with_stats(layers[-1:], EncoderConfig(entropy=entropy, fidelity=False))
    out["single_top"] = {"bytes": len(data)}
    sc, md = out["scalable"]["layer_bytes"], out["mdc"]["layer_bytes"]
    out["enhancement_over_mdc"] = round(sum(sc[1:]) / sum(md[1:]), 3)
    out["full_over_single"] = round(out["scalable"]["bytes"] / out["single_top"]["bytes"], 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--entropy", default="lzma")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refine", default="opacities,sh_dc",
                    help="parameters captured Gaussians may still refine ('' = frozen entirely)")
    ap.add_argument("--save", default=None, help="write both runs' layers (PLY) and the lineage (.npz) here")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_additive", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    from splatcast.scene.default import lab_bench
    from splatcast.train.plateaus import pick_layers
    from splatcast.train.synthetic import dataset_from_scene

    dataset = dataset_from_scene(lab_bench(24_000, seed=args.seed), 48, 128, "white")
    curve, snapshots, _, free_s = _train(dataset, args.iterations, args.seed)
    its = pick_layers([c[0] for c in curve], [c[1] for c in curve], 3, window=max(args.iterations // 6, 1),
                      min_gain_db=0.1)
    by_it = dict(curve)
    free_layers = [snapshots[it] for it in its]
    refine = tuple(r for r in args.refine.split(",") if r)
    _, _, captured, add_s = _train(dataset, args.iterations, args.seed, capture_at=set(its), refine=refine)
    add_layers = [c[2] for c in captured]
    kept = [int(c[3].kept.sum()) for c in captured]
    if args.save:
        from pathlib import Path

        from splatcast.scene.formats import write_scene

        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for j, (it, _, layer, lineage) in enumerate(captured):
            write_scene(layer, out / f"additive_layer{j}_iteration{it}.ply")
            lineage.save(out / f"additive_layer{j}_iteration{it}.lineage.npz")
            write_scene(free_layers[j], out / f"free_layer{j}_iteration{it}.ply")
    result = {
        "capture_iterations": its, "capture_rule": CAPTURE_RULE, "refine": list(refine),
        "free": {"test_psnr": [round(by_it[it], 2) for it in its], "gaussians": [len(c) for c in free_layers],
                 "train_s": round(free_s, 1), **_streams(free_layers, args.entropy)},
        "additive": {"test_psnr": [round(c[1], 2) for c in captured], "gaussians": [len(c) for c in add_layers],
                     "kept_from_below": kept, "train_s": round(add_s, 1), **_streams(add_layers, args.entropy)},
    }
    top_diff = result["additive"]["test_psnr"][-1] - result["free"]["test_psnr"][-1]
    result["top_psnr_additive_minus_free_db"] = round(top_diff, 2)
    results.add("demo", result, source=f"lab_bench(24000, seed={args.seed}): 48 views at 128 px, every 8th held out")
    print(f"layers captured at iterations {its} ({CAPTURE_RULE}); kept Gaussians refine {list(refine)}; "
          f"entropy {args.entropy}")
    for name in ("free", "additive"):
        r = result[name]
        print(f"{name:9} test PSNR {r['test_psnr']} dB, Gaussians {r['gaussians']}, "
              f"scalable {r['scalable']['bytes']} B, "
              f"MDC {r['mdc']['bytes']} B, top alone {r['single_top']['bytes']} B; enhancement/MDC "
              f"{r['enhancement_over_mdc']} (goal <= 0.25), full/single {r['full_over_single']} (goal <= 1.1), "
              f"bits/G scalable {r['scalable']['bits_per_gaussian']}")
    print(f"top-layer test PSNR, additive - free: {result['top_psnr_additive_minus_free_db']:+.2f} dB (goal >= -0.3)")


if __name__ == "__main__":
    sys.exit(main())
