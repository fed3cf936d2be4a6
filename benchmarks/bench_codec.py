"""Codec benchmark on real layers: rate per layer (scalable+VQ, scalable no-VQ, MDC), fidelity, encode and decode
speed. Baseline for decode speed: reading the same layer from a raw INRIA PLY in the same run (ratio printed).

    python -m benchmarks.bench_codec [--entropy lzma zstd rans] [--scene playbot|small] [--chunk-psnr] [--json [PATH]]

Needs ../shared/data/scenes/playbot-lod/. Prints one JSON object per line (sorted keys) plus a readable table.
``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene (``--scene``) holding ``rows`` (the
per-layer objects printed), ``files`` (one per configuration and back-end: bytes, encode_s, top_fidelity_psnr,
entropy_ms_per_kgaussian), ``chunk_fidelity`` (with --chunk-psnr) and ``entropy_speedup_vs_lzma``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._results import BenchResults, add_json_argument

SCENES = {
    "playbot": ["2_0", "1_0", "0_0"],  # 125k -> 250k -> 500k
    "small": ["4_0", "3_0", "2_0"],  # 8.4k -> 31k -> 125k (a quick run)
    "statue": ["angel top 25%", "angel top 50%", "angel all"],  # nested importance prefixes of the angel scan
}
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scenes"
DATA = SHARED / "playbot-lod"


def load_layers(scene: str):
    from splatcast.scene.formats import read_scene

    if scene == "statue":
        cloud = read_scene(SHARED / "statues" / "angel.sog")
        order = cloud.importance_order()
        return [cloud[np.sort(order[: int(round(f * len(cloud)))])] for f in (0.25, 0.5, 1.0)]
    return [read_scene(DATA / n) for n in SCENES[scene]]
CONFIGS = [("scalable+vq", "scalable", "auto"), ("scalable-novq", "scalable", "off"), ("mdc", "mdc", "off")]


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entropy", nargs="+", default=["lzma"])
    ap.add_argument("--scene", default="playbot", choices=sorted(SCENES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--chunk-psnr", action="store_true", help="fidelity after every chunk of the top layer")
    ap.add_argument("--configs", nargs="+", default=[c[0] for c in CONFIGS])
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_codec", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    from benchmarks.bench_backends import entropy_clock
    from splatcast.codec import EncoderConfig, encode_with_stats
    from splatcast.codec.decoder import decode, decode_progressive, warm_up
    from splatcast.render.metrics import Fidelity
    from splatcast.scene.formats import read_scene, write_scene

    source = ("angel.sog as nested importance prefixes 25/50/100 %" if args.scene == "statue"
              else "playbot-lod " + " -> ".join(SCENES[args.scene]))
    if not DATA.exists():
        print(f"skip: {DATA} not found")
        results.skip(args.scene, f"{DATA} not found", source)
        return
    names = SCENES[args.scene]
    layers = load_layers(args.scene)
    warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        ply_s = []
        for j, cloud in enumerate(layers):
            path = Path(tmp) / f"L{j}.ply"
            write_scene(cloud, path)
            ply_s.append(_median_time(lambda: read_scene(path), args.repeats))

    top_fidelity = Fidelity(layers[-1], args.views, 256)  # the top layer's views rendered once for every file
    rows, files, chunk_fidelity = [], [], {}
    entropy_ms = {}  # entropy decoding alone (the part the paper's Table I reports), per (config, back-end)
    for entropy in args.entropy:
        for label, mode, vq in CONFIGS:
            if label not in args.configs:
                continue
            cfg = EncoderConfig(mode=mode, vq=vq, entropy=entropy)
            t0 = time.perf_counter()
            data, stats = encode_with_stats(layers, cfg)
            enc_total = time.perf_counter() - t0
            # decode: per layer, median over repeats of the layer's own decode time (lower layers decoded first)
            per_layer = [[] for _ in layers]
            per_file_entropy = []
            with entropy_clock() as clock:
                for _ in range(args.repeats):
                    clock[0] = 0.0
                    dec = decode_progressive(data)
                    per_file_entropy.append(clock[0])
                    for j in range(len(layers)):
                        per_layer[j].append(dec.layer_decode_s(j))
            total_g = sum(s["gaussians"] for s in stats)
            entropy_ms[(label, entropy)] = statistics.median(per_file_entropy) / total_g * 1e6
            top = decode(data)
            fid = {"psnr": top_fidelity.psnr(top)}
            for j, s in enumerate(stats):
                dec_s = statistics.median(per_layer[j])
                row = {
                    "scene": args.scene,
                    "layer": names[j],
                    "config": label,
                    "entropy": entropy,
                    "index": j,
                    "gaussians": s["gaussians"],
                    "bytes": s["bytes"],
                    "dc_bytes": s["dc_bytes"],
                    "bits_per_gaussian": round(s["bits_per_gaussian"], 3),
                    "mode_entropy_bits": s["mode_entropy_bits"] and round(s["mode_entropy_bits"], 3),
                    "codebook_size": s["codebook_size"],
                    "intra_groups": s.get("intra_groups"),
                    "display_from": s.get("display_from"),
                    "joint": bool(s.get("joint")),
                    "fidelity_db": s.get("fidelity_db"),
                    "fidelity_s": s.get("fidelity_s"),  # the whole file's state measurement (codec/fidelity.py)
                    "encode_s": round(s["encode_s"], 3),
                    "encode_s_per_mgaussian": round(s["encode_s"] / max(s["gaussians"], 1) * 1e6, 2),
                    "decode_ms_per_kgaussian": round(dec_s / max(s["gaussians"], 1) * 1e6, 4),
                    "ply_read_ms_per_kgaussian": round(ply_s[j] / max(s["gaussians"], 1) * 1e6, 4),
                    "decode_vs_ply_read": round(dec_s / ply_s[j], 3),
                    "stream_bits_per_gaussian": {
                        k: round(8 * v / max(s["gaussians"], 1), 2) for k, v in sorted(s["stream_bytes"].items())
                    },
                }
                if j == len(layers) - 1:
                    row["top_fidelity_psnr"] = round(fid["psnr"], 3)
                rows.append(row)
                print(json.dumps(row, sort_keys=True), flush=True)
            files.append({"config": label, "entropy": entropy, "bytes": len(data), "encode_s": enc_total,
                          "top_fidelity_psnr": fid["psnr"],
                          "entropy_ms_per_kgaussian": entropy_ms[(label, entropy)]})
            print(f"# {label} {entropy}: {len(data)} bytes, encode {enc_total:.1f} s, top-layer fidelity "
                  f"{fid['psnr']:.2f} dB, entropy decoding {entropy_ms[(label, entropy)]:.3f} ms per 1000 Gaussians "
                  f"of the file", flush=True)
            if args.chunk_psnr and label == "scalable+vq":
                j = len(layers) - 1
                n_chunks = stats[j]["chunks"]
                curve = []
                for c in range(n_chunks + 1):
                    for refine in ("dc", "full") if c else ("full",):
                        out = decode(data, layer=j, chunks=c, refine=refine)
                        p = top_fidelity.psnr(out)  # layer j is the top layer: the same orbit
                        curve.append({"chunks": c, "refine": refine, "gaussians": len(out), "psnr": round(p, 3)})
                chunk_fidelity[f"{label} {entropy}"] = curve
                print(json.dumps({"config": label, "entropy": entropy, "chunk_fidelity": curve}, sort_keys=True))
    speedup = {}
    for (label, entropy), ms in sorted(entropy_ms.items()):
        if entropy != "lzma" and (label, "lzma") in entropy_ms:
            speedup[f"{label} {entropy}"] = entropy_ms[(label, "lzma")] / ms
            print(f"# {label}: {entropy} entropy decoding {entropy_ms[(label, 'lzma')] / ms:.2f}x as fast as lzma")
    results.add(args.scene, {"rows": rows, "files": files, "chunk_fidelity": chunk_fidelity,
                             "entropy_speedup_vs_lzma": speedup}, source)


if __name__ == "__main__":
    raise SystemExit(main())
