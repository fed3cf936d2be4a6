"""``splatcast demo``: the main job end to end on the built-in lab-bench scene.

1. build the scene and render its ground-truth views (the "photos"),
2. train 3DGS on CPU from random points, capturing quality layers at test-PSNR plateaus,
3. encode the layers with the scalable codec (+VQ) and, for comparison, as independent layers (MDC),
4. decode every layer and time it, then print a table and write PNG renders of every layer and of progressive
   prefixes of the top layer,
5. re-encode the layers for streaming (irans, growing chunks), package them for DASH and serve them with the web player, printing the URL to open (until Ctrl-C;
   ``--no-serve`` or ``SPLATCAST_DEMO_NO_SERVE=1`` skips serving, for CI and scripts).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HELP = "run the whole pipeline on the built-in lab-bench scene: views, CPU training, layers, coding, renders"


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="demo-out", help="output folder (default demo-out)")
    parser.add_argument("--gaussians", type=int, default=24_000, help="Gaussians in the ground-truth scene")
    parser.add_argument("--iterations", type=int, default=3000, help="training iterations")
    parser.add_argument("--resolution", type=int, default=128, help="training image side in pixels")
    parser.add_argument("--views", type=int, default=48, help="rendered views (every 8th held out for testing)")
    parser.add_argument("--layers", type=int, default=3, help="quality layers to capture")
    parser.add_argument("--entropy", default="irans", choices=["irans", "rans", "lzma", "paq", "zstd"],
                        help="entropy back-end for the comparison streams (default irans)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the table as JSON (sorted keys)")
    parser.add_argument("--no-serve", action="store_true",
                        help="stop after writing the results instead of serving the player "
                             "(also SPLATCAST_DEMO_NO_SERVE=1)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve the player on (0.0.0.0 for a classroom LAN; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve the player on (default 8000)")


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)


def _train(dataset, args, quiet: bool):
    """Train, evaluating every ``eval_every`` iterations; keep a snapshot at each evaluation, pick plateau ends."""
    from splatcast.cli.progress import progress
    from splatcast.train.plateaus import pick_layers
    from splatcast.train.trainer import TrainConfig, Trainer

    config = TrainConfig(
        iterations=args.iterations,
        seed=args.seed,
        init_points=6000,
        max_sh_degree=1,
        sh_increase_every=1000,
        opacity_reset_every=10 * args.iterations,  # a reset in a short run costs more than it gives
    )
    trainer = Trainer(dataset, config)
    eval_every = max(args.iterations // 20, 1)
    snapshots, curve, log = {}, [], []
    start = time.perf_counter()
    with progress(args.iterations, "train", quiet=quiet) as bar:
        while trainer.iteration < args.iterations:
            trainer.step()
            bar.update(1)
            it = trainer.iteration
            if it % eval_every == 0 or it == args.iterations:
                test_psnr = trainer.evaluate()
                curve.append((it, test_psnr))
                snapshots[it] = trainer.cloud()
                log.append({"iteration": it, "test_psnr": test_psnr, "gaussians": len(trainer),
                            "seconds": round(time.perf_counter() - start, 3)})
                bar.set_postfix(test_psnr=f"{test_psnr:.2f}", n=len(trainer))
    chosen = pick_layers([c[0] for c in curve], [c[1] for c in curve], args.layers,
                         window=max(args.iterations // 6, 1), min_gain_db=0.1)
    by_it = dict(curve)
    seconds_per_it = (time.perf_counter() - start) / args.iterations
    return [(it, by_it[it], snapshots[it]) for it in chosen], log, seconds_per_it


def run(args) -> int:
    from splatcast.cli.progress import progress
    from splatcast.codec import EncoderConfig, decode, decode_progressive, encode_with_stats
    from splatcast.codec.decoder import warm_up
    from splatcast.render.metrics import psnr
    from splatcast.render.rasterize import render
    from splatcast.scene.default import lab_bench
    from splatcast.scene.formats import write_scene
    from splatcast.train.synthetic import dataset_from_scene

    quiet = args.json
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))

    t0 = time.perf_counter()
    scene = lab_bench(args.gaussians, seed=args.seed)
    write_scene(scene, out / "ground_truth.ply")
    say(f"[1/5] lab bench: {len(scene)} Gaussians; rendering {args.views} views at {args.resolution}px")
    dataset = dataset_from_scene(scene, args.views, args.resolution, "white")
    test_view = dataset.test[1 % len(dataset.test)]
    _save_png(test_view.image, out / "ground_truth.png")

    say(f"[2/5] training {args.iterations} iterations on CPU, capturing {args.layers} layers at plateaus")
    layers, log, sec_per_it = _train(dataset, args, quiet)
    with open(out / "train_log.jsonl", "w") as f:
        for record in log:
            f.write(json.dumps(record, sort_keys=True) + "\n")
    for j, (it, _, cloud) in enumerate(layers):
        write_scene(cloud, out / f"layer{j}_iteration{it}.ply")
    clouds = [c for _, _, c in layers]

    say("[3/5] encoding: scalable + VQ, scalable without VQ, MDC")
    streams = {}
    for name, cfg in {
        "scalable_vq": EncoderConfig(mode="scalable", vq="auto", entropy=args.entropy),
        # rate comparisons only: no fidelity table needed (its rendering is the encoder's main cost)
        "scalable_novq": EncoderConfig(mode="scalable", vq="off", entropy=args.entropy, fidelity=False),
        "mdc": EncoderConfig(mode="mdc", vq="off", entropy=args.entropy, fidelity=False),
    }.items():
        streams[name] = encode_with_stats(clouds, cfg)
    data = streams["scalable_vq"][0]
    (out / "layers.splc").write_bytes(data)

    say("[4/5] decoding, timing and rendering")
    warm_up()
    rows = []
    bar = progress(len(layers), "decode", unit="layer", quiet=quiet)
    for j, (it, test_psnr, _) in enumerate(layers):
        bar.update(1)
        times = []
        for _ in range(3):
            dec = decode_progressive(data, layer=j)
            times.append(dec.layer_decode_s(j))
        decoded = dec.cloud()
        n_layer = sum(c.gaussians for c in dec.index.layers[j].chunks)
        image = render(decoded, test_view.camera, dataset.background)
        _save_png(image, out / f"layer{j}.png")
        rows.append({
            "layer": j,
            "iteration": it,
            "test_psnr": round(float(test_psnr), 3),
            "decoded_test_psnr": round(float(np.mean([psnr(render(decoded, v.camera, dataset.background), v.image)
                                                      for v in dataset.test])), 3),
            "gaussians": n_layer,
            "bpg_scalable_vq": streams["scalable_vq"][1][j]["bits_per_gaussian"],
            "bpg_scalable_novq": streams["scalable_novq"][1][j]["bits_per_gaussian"],
            "bpg_mdc": streams["mdc"][1][j]["bits_per_gaussian"],
            "codebook_size": streams["scalable_vq"][1][j].get("codebook_size"),
            "mode_entropy_bits": streams["scalable_vq"][1][j].get("mode_entropy_bits"),
            "decode_ms_per_kgaussian": round(1e6 * float(np.median(times)) / max(n_layer, 1), 3),
        })

    bar.close()

    # progressive prefixes of the top layer: what a viewer shows as chunks arrive
    top = len(layers) - 1
    n_chunks = len(dec.index.layers[top].chunks)
    prefixes = []
    for c in sorted({1, max(n_chunks // 4, 1), max(n_chunks // 2, 1), n_chunks}):
        cloud = decode(data, layer=top, chunks=c)
        prefixes.append({"chunks": c, "gaussians": len(cloud),
                         "test_psnr": round(float(psnr(render(cloud, test_view.camera, dataset.background),
                                                       test_view.image)), 3)})
    say("      pictures: contact sheet of layers and streaming states at 512 px, streaming-quality plot")
    figures = _figures(scene, data, test_view.camera, dataset.background, out)

    package_dir = _package_for_player(clouds, args, out)
    summary = {
        "package": str(package_dir),
        "scene_gaussians": len(scene),
        "train_seconds_per_iteration": round(sec_per_it, 4),
        "stream_bytes": len(data),
        "layers": rows,
        "progressive_top_layer": prefixes,
        "figures": figures,
        "seconds": round(time.perf_counter() - t0, 1),
        "out": str(out),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        _print_table(summary, len(dataset.train), len(dataset.test), args.resolution, out)
    if args.no_serve or os.environ.get("SPLATCAST_DEMO_NO_SERVE") == "1":
        return 0
    return _serve(package_dir, args)


SHEET_PX = 512


def _figures(scene, data: bytes, camera, background, out: Path) -> dict:
    """contact_sheet.png: the original, each full layer, and the states a viewer sees while the stream arrives,
    captioned with Gaussians, bytes and PSNR against the original in this view; streaming_quality.png: that PSNR
    after every chunk against the bytes received."""
    from splatcast.codec import decode, read_index
    from splatcast.evaluate.plots import contact_sheet, streaming_quality
    from splatcast.render.metrics import psnr
    from splatcast.render.rasterize import render

    cam = camera.resized(SHEET_PX, SHEET_PX)
    reference = np.clip(render(scene, cam, background), 0, 1)
    index = read_index(data)

    def state(layer: int, chunks: int) -> dict:
        cloud = decode(data, layer=layer, chunks=chunks)
        image = np.clip(render(cloud, cam, background), 0, 1)
        end = index.layers[layer].chunks[chunks - 1]
        return {"layer": layer, "chunks": chunks, "gaussians": len(cloud), "bytes": end.offset + end.full_bytes,
                "psnr": round(float(psnr(image, reference)), 2), "image": image}

    def caption(s: dict, label: str) -> str:
        return f"{label}\n{s['gaussians']:,} Gaussians, {s['bytes'] / 1024:,.1f} kB, {s['psnr']:.1f} dB"

    n = [len(layer.chunks) for layer in index.layers]
    states = [state(j, c) for j in range(len(n)) for c in range(1, n[j] + 1)]
    at = {(s["layer"], s["chunks"]): s for s in states}
    row1 = [(reference, f"original scene\n{len(scene):,} Gaussians")]
    row1 += [(at[(j, n[j])]["image"], caption(at[(j, n[j])], f"layer {j} complete")) for j in range(len(n))]
    # the streaming row: five of the distinct pictures a viewer gets (a held state repeats the one before it)
    distinct = [s for i, s in enumerate(states) if i == 0 or s["gaussians"] != states[i - 1]["gaussians"]]
    picks = [distinct[round(i * (len(distinct) - 1) / 4)] for i in range(5)] if len(distinct) > 5 else distinct
    row2 = [(s["image"], caption(s, f"streaming: layer {s['layer']}, {s['chunks']}/{n[s['layer']]} chunks"))
            for s in {id(s): s for s in picks}.values()]
    sheet = contact_sheet([row1, row2], out / "contact_sheet.png", "splatcast lab bench: layers (top) and what a "
                          "viewer sees while the stream arrives (bottom); PSNR against the original, this view")
    facts = [{k: v for k, v in s.items() if k != "image"} for s in states]
    curve = streaming_quality(facts, out / "streaming_quality.png", "lab bench stream: quality while it arrives")
    return {"contact_sheet": sheet, "streaming_quality": curve, "states": facts}


def _package_for_player(clouds, args, out: Path) -> Path:
    """The layers as a player site in ``out/stream`` (dash/site.py): the stream as the player streams it best, its
    manifest and, when built, the player itself (so the folder also works on a static web server)."""
    from splatcast.dash.site import encode_for_player, write_site
    from splatcast.player import is_built

    package_dir = out / "stream"
    write_site(encode_for_player(clouds), "lab-bench", package_dir, "splatcast lab bench", with_player=is_built())
    return package_dir


def _serve(package_dir: Path, args) -> int:
    from urllib.parse import urlsplit

    from splatcast.net.addresses import reachable_urls
    from splatcast.net.server import serve_forever
    from splatcast.player import is_built

    if not is_built():
        print("the web player is not built (run `make demo`, or `npm --prefix web ci && npm --prefix web run build`);"
              f" serving {package_dir} without it", file=sys.stderr)

    def ready(url: str) -> None:
        urls = reachable_urls(args.host, urlsplit(url).port)
        print(f"\nopen {' or '.join(urls)} in a browser to see the lab bench stream in (Ctrl-C to stop)", flush=True)
        if args.host == "127.0.0.1":
            print("(students on your network: rerun with --host 0.0.0.0, or share any scene with `splatcast share "
                  "FILE --host 0.0.0.0`)", flush=True)

    serve_forever(package_dir, args.host, args.port, None, True, ready=ready)  # returns on Ctrl-C
    return 0


def _print_table(summary: dict, n_train: int, n_test: int, resolution: int, out: Path) -> None:
    rows, prefixes, sec_per_it = summary["layers"], summary["progressive_top_layer"], \
        summary["train_seconds_per_iteration"]
    print(f"\nlab bench: {summary['scene_gaussians']} Gaussians, {n_train} training / {n_test} test views at "
          f"{resolution}px, {sec_per_it:.3f} s per training iteration")
    head = (f"{'layer':>5} {'iter':>6} {'test PSNR':>9} {'decoded':>8} {'Gaussians':>9} {'bpg VQ':>8} {'bpg noVQ':>8} "
            f"{'bpg MDC':>8} {'K':>4} {'modes b':>7} {'dec ms/kG':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        k = r["codebook_size"] if r["codebook_size"] is not None else "-"
        modes = f"{r['mode_entropy_bits']:.2f}" if r["mode_entropy_bits"] else "-"
        print(f"{r['layer']:>5} {r['iteration']:>6} {r['test_psnr']:>9.2f} {r['decoded_test_psnr']:>8.2f} "
              f"{r['gaussians']:>9} {r['bpg_scalable_vq']:>8.1f} {r['bpg_scalable_novq']:>8.1f} {r['bpg_mdc']:>8.1f} "
              f"{k:>4} {modes:>7} {r['decode_ms_per_kgaussian']:>9.3f}")
    print("progressive prefixes of the top layer: "
          + ", ".join(f"{p['chunks']} chunks {p['gaussians']} G {p['test_psnr']:.2f} dB" for p in prefixes))
    print(f"wrote {out}/: contact_sheet.png, streaming_quality.png, layer*.png, ground_truth.png, layers.splc, layer "
          "PLYs, summary.json "
          f"({summary['seconds']} s)")
