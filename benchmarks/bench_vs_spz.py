"""The whole scalable stream against SPZ of its top layer alone, by quality (issue 10: playbot's 3-layer stream at
>= 40 dB fidelity no bigger than SPZ v4 of 0_0, and enhancement / MDC <= 0.8).

    python -m benchmarks.bench_vs_spz [--scene playbot|small|statue] [--qualities 5 6 7 8 10] [--entropy irans]
        [--views 8] [--size 256] [--install-npm] [--json [PATH]]

For each ``--qualities`` (quantizer setting; +2 halves every step) the layers are coded three ways, with no
fidelity measurement inside the encoder (sizes do not depend on it): the scalable stream (every layer, as
``splatcast encode`` does), MDC (each layer on its own) and the top layer alone. Printed per quality: bytes of
each; scalable / SPZ; enhancement / MDC (bytes of layers 1.. in the scalable stream over the same layers coded on
their own); the fidelity PSNR of the decoded top layer against the original top layer (``--views`` orbit views of
``--size`` px, one reference render for every file). The baseline, in the same run: SPZ v4 of the top layer as
written by ``@playcanvas/splat-transform`` 3.7.0 (the tool people use; with ``--install-npm`` it is installed into
~/.cache/splatcast-npm, else only when already there) and by splatcast's own writer, each read back and scored
the same way. The summary: the lowest quality whose top-layer fidelity reaches 40 dB with its scalable / SPZ
ratio, and, for an equal-quality comparison, the scalable stream's bytes at SPZ's own fidelity (interpolated
linearly in log-bytes between the two qualities around it) over SPZ's bytes. Needs ../shared/data/scenes/.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument
from benchmarks.bench_codec import DATA, SHARED, load_layers

FIDELITY_GOAL_DB = 40.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="playbot", choices=["playbot", "small", "statue"])
    ap.add_argument("--qualities", type=int, nargs="+", default=[5, 6, 7, 8, 10])
    ap.add_argument("--entropy", default="irans")
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--install-npm", action="store_true", help="install splat-transform 3.7.0 if it is absent")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_vs_spz", args, argv)
    with results.tables():
        _run(args, results)
    results.emit()
    return 0


def _run(args, results: BenchResults) -> None:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.codec.decoder import decode_progressive
    from splatcast.codec.container import read_index
    from splatcast.render.metrics import Fidelity, orbit_cameras

    needed = SHARED / "statues" if args.scene == "statue" else DATA
    if not needed.exists():
        print(f"skipped: {needed} not found")
        results.skip(args.scene, f"{needed} not found")
        return
    layers = load_layers(args.scene)
    top = layers[-1]
    score = Fidelity(top, cameras=orbit_cameras(top, args.views, args.size, args.size)).compare
    print(f"# {args.scene}: layers of {', '.join(str(len(c)) for c in layers)} Gaussians; fidelity over "
          f"{args.views} views of {args.size} px against the original top layer")

    spz = _spz_baselines(top, score, args.install_npm)
    for name, row in spz.items():
        print(f"SPZ v4 of the top layer ({name}): {row['bytes']:,} bytes, {row['fidelity_db']} dB")
    reference = spz.get("splat-transform") or spz["splatcast"]

    rows = []
    for q in args.qualities:
        t0 = time.perf_counter()
        scalable = encode(layers, EncoderConfig(quality=q, entropy=args.entropy, fidelity=False))
        mdc = encode(layers, EncoderConfig(quality=q, entropy=args.entropy, fidelity=False, mode="mdc"))
        single = encode([top], EncoderConfig(quality=q, entropy=args.entropy, fidelity=False))
        fid = float(score(decode_progressive(scalable).cloud())["psnr"])
        enh = sum(li.total_bytes for li in read_index(scalable).layers[1:])
        enh_mdc = sum(li.total_bytes for li in read_index(mdc).layers[1:])
        row = {"quality": q, "scalable_bytes": len(scalable), "mdc_bytes": len(mdc), "single_top_bytes": len(single),
               "scalable_over_spz": round(len(scalable) / reference["bytes"], 4),
               "scalable_over_single_top": round(len(scalable) / len(single), 4),
               "enhancement_over_mdc": round(enh / enh_mdc, 4) if enh_mdc else None,
               "top_fidelity_db": round(fid, 2), "seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(f"quality {q:2d}: scalable {len(scalable):>11,} B = {row['scalable_over_spz']:.3f} x SPZ "
              f"({row['scalable_over_single_top']:.3f} x the top layer alone, {len(single):,} B), "
              f"enhancement / MDC {row['enhancement_over_mdc']}, top-layer fidelity {row['top_fidelity_db']} dB")

    reaching = [r for r in rows if r["top_fidelity_db"] >= FIDELITY_GOAL_DB]
    lowest = min(reaching, key=lambda r: r["scalable_bytes"]) if reaching else None
    at_spz = _bytes_at_fidelity(rows, reference["fidelity_db"])
    summary = {"spz_reference": "splat-transform" if "splat-transform" in spz else "splatcast",
               "spz_bytes": reference["bytes"], "spz_fidelity_db": reference["fidelity_db"],
               "smallest_reaching_40db": lowest,
               "scalable_over_spz_at_spz_fidelity": round(at_spz / reference["bytes"], 4) if at_spz else None}
    if lowest:
        print(f"# >= {FIDELITY_GOAL_DB:.0f} dB: quality {lowest['quality']} is the smallest, "
              f"{lowest['scalable_over_spz']:.3f} x SPZ (goal <= 1), enhancement / MDC {lowest['enhancement_over_mdc']}"
              f" (goal <= 0.8)")
    else:
        print(f"# no quality tried reaches {FIDELITY_GOAL_DB:.0f} dB")
    if at_spz:
        print(f"# at SPZ's own fidelity ({reference['fidelity_db']} dB) the scalable stream would be "
              f"{summary['scalable_over_spz_at_spz_fidelity']:.3f} x SPZ")
    else:
        print(f"# SPZ's fidelity ({reference['fidelity_db']} dB) is outside the qualities tried")
    results.add(args.scene, {"rows": rows, "spz": spz, "summary": summary},
                source=f"{needed.name}: {len(layers)} layers")


def _spz_baselines(top, score, install: bool) -> dict:
    """{writer: {bytes, fidelity_db}} for SPZ v4 of ``top`` by splat-transform (when available) and splatcast."""
    from splatcast.evaluate.common import BenchConfig, Unavailable
    from splatcast.evaluate.formats_compare import splat_transform
    from splatcast.scene.formats import read_scene, write_scene

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours = tmp / "ours.spz"
        write_scene(top, ours)
        fid = round(float(score(read_scene(ours))["psnr"]), 2)
        out["splatcast"] = {"bytes": ours.stat().st_size, "fidelity_db": fid}
        try:
            exe = splat_transform(BenchConfig(out_dir=tmp, npm_install=install))
        except Unavailable as exc:
            print(f"# splat-transform unavailable ({exc}); SPZ by splatcast's writer is the baseline")
            return out
        ply, theirs = tmp / "top.ply", tmp / "theirs.spz"
        write_scene(top, ply)
        proc = subprocess.run([str(exe), "-w", "-q", str(ply), str(theirs)], capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0 or not theirs.exists():
            print(f"# splat-transform failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
            return out
        # splat-transform writes SPZ unconverted and declares no frame: read it raw, as it means it
        back = read_scene(theirs, spz_axes="raw")
        out["splat-transform"] = {"bytes": theirs.stat().st_size, "fidelity_db": round(float(score(back)["psnr"]), 2)}
    return out


def _bytes_at_fidelity(rows: list[dict], target_db: float) -> float | None:
    """Scalable bytes at ``target_db``, linear in log-bytes between the two measured qualities around it."""
    pts = sorted((r["top_fidelity_db"], math.log(r["scalable_bytes"])) for r in rows)
    for (f0, b0), (f1, b1) in zip(pts, pts[1:]):
        if f0 <= target_db <= f1 and f1 > f0:
            return math.exp(b0 + (b1 - b0) * (target_db - f0) / (f1 - f0))
    return None


if __name__ == "__main__":
    raise SystemExit(main())
