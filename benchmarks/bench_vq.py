"""Lossy SH-DC VQ as a rate-distortion tool (issue 10, item 2): rate and quality of the VQ operating points.

    python -m benchmarks.bench_vq [--scene demo small playbot] [--lambdas 0 0.5 2 8] [--vq-only 64 256]
        [--views 8] [--size 256] [--json [PATH]]

Per scene (demo: the built-in lab bench as 3 derived layers; small: playbot-lod 4_0 -> 3_0 -> 2_0; playbot:
2_0 -> 1_0 -> 0_0, independently fitted levels where VQ matters most), encodes the 3-layer scalable stream with
``--vq auto`` at each ``vq_lambda`` (0 = exact: the full operating point; > 0: refinements dropped where the
weighted error is below lambda x the bits saved, K by D + lambda R), and "VQ-only" with a fixed K whose every DC
refinement is dropped (lambda inf). Printed per point: enhancement-layer bytes (layers 1-2) and their ratio to the
exact stream's, the bytes of their dc and vq_index streams (what VQ changes), the K chosen per layer, the
Gaussians whose refinement changed, and the fidelity PSNR of the decoded top layer against the exact stream's
decoded top layer (``--views`` orbit views of ``--size`` px). No fidelity
measurement inside the encoder (``fidelity=False``): the streams' sizes do not depend on it.
"""

from __future__ import annotations

import argparse
import time

from benchmarks._results import BenchResults, add_json_argument

LAMBDA_VQ_ONLY = float("inf")


def _layers(scene: str):
    from benchmarks.bench_codec import DATA, load_layers

    if scene == "demo":
        from splatcast.evaluate.layersets import demo

        return demo().layers
    if not DATA.exists():
        return None
    return load_layers(scene)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", nargs="+", default=["demo", "small", "playbot"])
    ap.add_argument("--lambdas", nargs="+", type=float, default=[0.0, 0.5, 2.0, 8.0])
    ap.add_argument("--vq-only", nargs="+", type=int, default=[64, 256])
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_vq", args, argv)
    with results.tables():
        for scene in args.scene:
            _run(scene, args, results)
    results.emit()
    return 0


def _run(scene: str, args, results: BenchResults) -> None:
    from splatcast.codec import EncoderConfig
    from splatcast.codec.decoder import decode
    from splatcast.codec.encoder import encode_with_stats
    from splatcast.render.metrics import Fidelity

    layers = _layers(scene)
    if layers is None:
        print(f"{scene}: skipped (../shared/data/scenes/playbot-lod absent)")
        results.skip(scene, "../shared/data/scenes/playbot-lod absent")
        return
    results.start_scene()
    points = [(f"lambda {lam:g}", "auto", lam) for lam in args.lambdas]
    points += [(f"VQ-only K={k}", k, LAMBDA_VQ_ONLY) for k in args.vq_only]
    if points[0][2] != 0.0:
        points.insert(0, ("lambda 0", "auto", 0.0))
    score, exact_bytes, rows = None, None, []
    print(f"# {scene}: {' -> '.join(str(len(c)) for c in layers)} Gaussians")
    for name, vq, lam in points:
        t0 = time.perf_counter()
        data, stats = encode_with_stats(layers, EncoderConfig(vq=vq, vq_lambda=lam, fidelity=False))
        enc_s = time.perf_counter() - t0
        top = decode(data)
        if score is None:  # the exact stream's top layer is the reference of every point
            score = Fidelity(top, args.views, args.size)
        enh = sum(st["bytes"] for st in stats[1:])
        exact_bytes = enh if exact_bytes is None else exact_bytes
        row = {
            "point": name, "vq": vq, "vq_lambda": lam, "bytes": len(data), "enhancement_bytes": enh,
            "enhancement_vs_exact": round(enh / exact_bytes, 4),
            "dc_vq_bytes": sum(st["stream_bytes"].get(k, 0) for st in stats[1:] for k in ("dc", "vq_index")),
            "codebook_sizes": [st.get("codebook_size", 0) for st in stats[1:]],
            "dropped": [_dropped(st) for st in stats[1:]],
            "fidelity_db": round(float(score(top)), 2), "encode_s": round(enc_s, 1),
        }
        rows.append(row)
        print(f"{name:<16} enh {enh:>10,} B  x{row['enhancement_vs_exact']:.3f} (dc + vq_index streams "
              f"{row['dc_vq_bytes']:>9,} B)  K {row['codebook_sizes']}  "
              f"dropped {row['dropped']}  top-layer fidelity {row['fidelity_db']} dB")
        results.add(f"{scene} {name}", row, source=f"{scene}, 3-layer scalable, vq={vq}, vq_lambda={lam:g}")


def _dropped(st: dict) -> int:
    chosen = [c for c in st.get("vq_candidates", []) if c["k"] == st.get("codebook_size", 0)]
    return chosen[0].get("dropped", 0) if chosen else 0


if __name__ == "__main__":
    raise SystemExit(main())
