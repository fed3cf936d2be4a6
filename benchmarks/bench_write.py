"""Writer benchmark: every format splatcast writes, on one real scene: time, bytes per Gaussian, fidelity read back.

Run: ``python -m benchmarks.bench_write [--scene PATH] [--json [PATH]]``

Scene: playbot LOD 0_0 from ../shared/data (500,000 Gaussians, SH degree 2), or the built-in lab bench (24,000) when
that is absent or ``--scene default``. Per format: wall time of one write (no warm-up: the k-means and WebP work of
SOG is the cost a user waits for), file bytes per Gaussian, and the fidelity of what splatcast reads back against
the scene (4 orbit views at 256 px; inf when identical). One run per format: the machine is shared, expect noise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument
from splatcast.render.metrics import fidelity_psnr, json_number
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import read_scene, write_scene

PLAYBOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scenes" / "playbot-lod" / "0_0"
NAMES = ("x.ply", "x.compressed.ply", "x.sog", "x.spz", "x.splat", "x.glb")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=None, help="a scene file or folder, or 'default' (the lab bench)")
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_write", args, argv)
    with results.tables():
        if args.scene == "default" or (args.scene is None and not PLAYBOT.is_dir()):
            cloud, source = lab_bench(), "built-in lab bench"
        else:
            source = str(args.scene or PLAYBOT)
            cloud = read_scene(source)
        print(f"{source}: {len(cloud)} Gaussians, SH degree {cloud.sh_degree}")
        print(f"{'format':<18} {'write s':>8} {'B/G':>7} {'fidelity dB':>12}")
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for name in NAMES:
                path = Path(tmp) / name
                t = time.perf_counter()
                write_scene(cloud, path)
                seconds = time.perf_counter() - t
                back = read_scene(path)
                db = fidelity_psnr(cloud, back, n_views=4, width=256, height=256)["psnr"]
                bpg = path.stat().st_size / max(1, len(cloud))
                rows.append({"format": name[2:], "write_s": seconds, "bytes_per_gaussian": bpg,
                             "fidelity_db": json_number(db)})
                print(f"{name[2:]:<18} {seconds:8.2f} {bpg:7.1f} {db:12.2f}", flush=True)
        results.add("playbot 0_0" if source != "built-in lab bench" else "lab bench", {"rows": rows}, source=source)
    results.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
