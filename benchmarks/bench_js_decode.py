"""JavaScript decoder (Node) vs Python decoder on playbot-lod 2_0 -> 1_0 -> 0_0 (3-layer scalable streams).

    python -m benchmarks.bench_js_decode [--entropy rans zstd] [--repeats 3] [--levels 2_0 1_0 0_0] [--json [PATH]]

Per back-end: encodes once, then times (median of --repeats) the Python `decode` (in process, numba warm; and in a
child process with NUMBA_NUM_THREADS=1, since the JS decoder runs on one thread) and the JS CLI
`web/src/cli/decode.mjs --json` (its in-process decode time, and the whole `node` process wall time), alternating
with the same CLI on its JavaScript references (``--reference-kernels``: no WebAssembly), prints ms per 1000
Gaussians and the JS/Python and reference/kernel ratios, and checks the three PLY files are byte-identical.
``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene per back-end
(``playbot LEVELS ENTROPY``) holding the printed row.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._results import BenchResults, add_json_argument

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "scenes" / "playbot-lod"
CLI = ROOT / "web" / "src" / "cli" / "decode.mjs"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entropy", nargs="+", default=["rans", "irans", "zstd"])
    ap.add_argument("--levels", nargs="+", default=["2_0", "1_0", "0_0"])
    ap.add_argument("--repeats", type=int, default=3)
    add_json_argument(ap)
    args = ap.parse_args(argv)
    results = BenchResults("bench_js_decode", args, argv)
    with results.tables():
        rc = _run(args, results)
    results.emit()
    return rc


def _run(args, results: BenchResults) -> int:
    node = shutil.which("node")
    if node is None or not DATA.is_dir():
        print("needs node and ../shared/data/scenes/playbot-lod", file=sys.stderr)
        results.skip("playbot " + "->".join(args.levels), "needs node and ../shared/data/scenes/playbot-lod")
        return 1
    from splatcast.codec.decoder import decode, warm_up
    from splatcast.codec.encoder import EncoderConfig, encode
    from splatcast.scene.formats import read_scene
    from splatcast.scene.formats.ply import write_ply

    layers = [read_scene(DATA / lv) for lv in args.levels]
    warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for entropy in args.entropy:
            results.start_scene()
            t0 = time.perf_counter()
            data = encode(layers, EncoderConfig(entropy=entropy, partial="replace"))
            enc_s = time.perf_counter() - t0
            src = tmp / f"pb_{entropy}.splc"
            src.write_bytes(data)
            py_t, js_t, js_wall = [], [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                cloud = decode(data)
                py_t.append(time.perf_counter() - t0)
            write_ply(cloud, tmp / "py.ply")
            js_ref = []
            for _ in range(args.repeats):  # the kernels and the JavaScript references alternating
                for ref in (False, True):
                    out = tmp / ("js_ref.ply" if ref else "js.ply")
                    t0 = time.perf_counter()
                    res = subprocess.run([node, str(CLI), str(src), str(out), "--json"]
                                         + (["--reference-kernels"] if ref else []), capture_output=True, text=True)
                    wall = time.perf_counter() - t0
                    if res.returncode:
                        print(res.stderr, file=sys.stderr)
                        return 1
                    (js_ref if ref else js_t).append(json.loads(res.stdout)["decode_ms"] / 1000)
                    if not ref:
                        js_wall.append(wall)
            py1 = _python_one_thread(src, args.repeats)
            want = (tmp / "py.ply").read_bytes()
            same = want == (tmp / "js.ply").read_bytes() == (tmp / "js_ref.ply").read_bytes()
            n = len(cloud)
            py, js, jw = statistics.median(py_t), statistics.median(js_t), statistics.median(js_wall)
            row = {
                "entropy": entropy, "layers": "->".join(args.levels), "gaussians_top": n,
                "gaussians_all": sum(len(c) for c in layers), "bytes": len(data), "encode_s": round(enc_s, 2),
                "python_ms": round(py * 1000, 1), "js_ms": round(js * 1000, 1), "js_process_ms": round(jw * 1000, 1),
                "python_ms_per_1k": round(py * 1e6 / n, 3), "js_ms_per_1k": round(js * 1e6 / n, 3),
                "js_over_python": round(js / py, 2), "ply_identical": same,
                "python_1thread_ms": round(py1 * 1000, 1), "js_over_python_1thread": round(js / py1, 2),
                "js_reference_kernels_ms": round(statistics.median(js_ref) * 1000, 1),
                "reference_over_kernels": round(statistics.median(js_ref) / js, 2),
            }
            print(json.dumps(row, sort_keys=True))
            results.add(f"playbot {row['layers']} {entropy}", row,
                        source=f"playbot-lod {' -> '.join(args.levels)}, 3-layer scalable, {entropy}")
            if not same:
                return 1
    return 0


_ONE_THREAD = """
import statistics, sys, time
from pathlib import Path
from splatcast.codec.decoder import decode, warm_up
data = Path(sys.argv[1]).read_bytes()
warm_up()
decode(data)
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    decode(data)
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
"""


def _python_one_thread(path: Path, repeats: int) -> float:
    """Median seconds of the Python decode of ``path`` with numba on one thread (a child process: the thread count
    is fixed when numba starts)."""
    import os

    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    res = subprocess.run([sys.executable, "-c", _ONE_THREAD, str(path), str(repeats)], capture_output=True, text=True,
                         env=env, check=True)
    return float(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    raise SystemExit(main())
