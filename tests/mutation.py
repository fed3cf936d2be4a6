"""Mutation check of the codec's tests: does some test fail when one comparison or constant of the code changes?

    .venv/bin/python -m tests.mutation [--only NAME ...] [--list] [--keep]

Not part of the default test run (pytest collects test_*.py only). It copies src/ to a temporary folder, then for
each mutation below applies that ONE edit to the copy, runs the relevant fast test selection with PYTHONPATH
pointing at the copy's src (and a numba cache of its own), restores the file, and prints which tests failed. A
mutation no test notices "survives"; the exit status is 1 if one does (or if the unmutated copy fails its tests).
The working tree's src/ is only read, never written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEC = Path("splatcast") / "codec"

REFS = "tests/codec/test_references.py"
ORACLE = "tests/codec/test_spec_oracle.py"
SELECTIONS = {  # the fast tests that speak for each part (pytest node ids)
    "vq": [f"{REFS}::{t}" for t in (
        "test_assignment_matches_the_brute_force", "test_assignment_ties_and_extremes_by_hand",
        "test_codebook_is_the_distinct_residuals_when_they_are_few",
        "test_codebook_finds_separated_clusters_at_their_rounded_means",
        "test_codebook_is_a_lloyd_fixed_point_as_good_as_the_reference",
        "test_codebook_training_subsamples_large_inputs", "test_vq_rate_and_choice_follow_the_definition")],
    "modes": [f"{REFS}::{t}" for t in (
        "test_mode_choice_matches_the_brute_force", "test_mode_choice_breaks_ties_towards_the_lowest_mode")],
    "bilateral": [f"{REFS}::{t}" for t in (
        "test_bilateral_predictor_matches_the_spec", "test_bilateral_predictor_by_hand",
        "test_bilateral_predictor_small_distances_and_colours_by_hand", "test_predict_with_modes_matches_the_spec")]
    + [ORACLE, "tests/codec/test_codec.py::test_bilateral_fast_path_matches_reference"],
    "quantizer": [f"{REFS}::{t}" for t in (
        "test_steps_follow_the_spec_defaults_and_halve_every_two_qualities",
        "test_grid_matches_the_spec_value_by_value", "test_grid_of_a_flat_axis_and_of_nothing",
        "test_feature_quantizer_and_dequantizer_match_the_spec")]
    + [ORACLE, "tests/codec/test_codec.py::test_tiny_and_empty_layers",
       "tests/codec/test_codec.py::test_dequantize_kernel_is_bit_exact_to_the_numpy_definition"],
}


@dataclass(frozen=True)
class Mutation:
    name: str
    part: str  # key of SELECTIONS
    file: str  # under src/splatcast/codec
    old: str  # must occur exactly once in the file
    new: str


MUTATIONS = [
    # VQ (vq.py)
    Mutation("vq-assign-tie", "vq", "vq.py", "if best < 0 or d < best:", "if best < 0 or d <= best:"),
    Mutation("vq-codeword-floor", "vq", "vq.py", "np.rint(km.cluster_centers_)", "np.floor(km.cluster_centers_)"),
    Mutation("vq-codeword-bits", "vq", "vq.py", "+ 96 * len(codebook)", "+ 16 * len(codebook)"),
    Mutation("vq-choice-max", "vq", "vq.py", "or bits < best[0]:", "or bits > best[0]:"),
    # mode choice (predict.py choose_modes)
    Mutation("mode-tie", "modes", "predict.py", "            if cost < best:", "            if cost <= best:"),
    Mutation("mode-index", "modes", "predict.py", "                bm = j + 1", "                bm = j"),
    Mutation("mode-bilateral-cost", "modes", "predict.py",
             "best += abs(np.int64(feat[i, c]) - np.int64(bil[i, c]))",
             "best += abs(np.int64(feat[i, c]) - np.int64(bil[i, c])) // 2"),
    # bilateral prediction (predict.py _bilateral_row, predict_with_modes)
    Mutation("bilateral-sd-plus-one", "bilateral", "predict.py", "sd = sd / k + 1.0", "sd = sd / k + 2.0"),
    Mutation("bilateral-sf-plus-one", "bilateral", "predict.py", "sf = sf / k + 1.0", "sf = sf / k + 2.0"),
    Mutation("bilateral-round", "bilateral", "predict.py", "np.floor(acc / wsum + 0.5)", "np.floor(acc / wsum)"),
    Mutation("bilateral-colour-weight", "bilateral", "predict.py",
             "w[j] = 1.0 / ((1.0 + d[j] / sd) * (1.0 + f[j] / sf))", "w[j] = 1.0 / (1.0 + d[j] / sd)"),
    Mutation("predict-mode-zero", "bilateral", "predict.py", "        if m == 0:\n", "        if m <= 1:\n"),
    # quantizer (quantize.py)
    Mutation("grid-levels", "quantizer", "quantize.py", "/ float((1 << self.bits) - 1)", "/ float(1 << self.bits)"),
    Mutation("feature-floor", "quantizer", "quantize.py", "q = np.rint(np.concatenate(cols, axis=1))",
             "q = np.floor(np.concatenate(cols, axis=1))"),
    # (a float32 product instead of float64-then-f32 is an equivalent mutant: |F| < 2^24 and f32 steps make the
    # float64 product exact, so both round once; it is not listed)
    Mutation("dequantize-scale-step", "quantizer", "quantize.py", "SCALE.width, s[STEP_SCALE]",
             "SCALE.width, s[STEP_OPACITY]"),
    Mutation("feature-limit", "quantizer", "quantize.py", "= (1 << 24) - 1", "= (1 << 23) - 1"),
    Mutation("quality-halving", "quantizer", "quantize.py", "((DEFAULT_QUALITY - quality) / 2.0)",
             "((DEFAULT_QUALITY - quality) / 3.0)"),
]

FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def run_tests(src: Path, cache: Path, selection: list[str], timeout_s: int) -> tuple[int, list[str], str, float]:
    env = dict(os.environ, PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(cache), OMP_WAIT_POLICY="PASSIVE",
               PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "--no-header", *selection]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
        out, rc = res.stdout + res.stderr, res.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = f"timeout after {timeout_s} s\n{e.stdout or ''}", -1
    return rc, FAILED.findall(out), out, time.perf_counter() - t0


def _collapse(failed: list[str]) -> str:
    """'file::test[a]', 'file::test[b]' -> 'file.py::test (2 cases)', in first-failure order."""
    counts: dict[str, int] = {}
    for f in failed:
        path, _, name = f.partition("::")
        key = f"{Path(path).name}::{name.split('[', 1)[0]}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(k + (f" ({n} cases)" if n > 1 else "") for k, n in counts.items())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="mutation names to run (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per test run")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:26s} {m.part:10s} {m.file}: {m.old.strip()!r} -> {m.new.strip()!r}")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="splatcast-mutation-"))
    src = tmp / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    cache = tmp / "numba-cache"
    survived = []
    try:
        probe = subprocess.run([sys.executable, "-c", "import splatcast; print(splatcast.__file__)"],
                               env=dict(os.environ, PYTHONPATH=str(src)), capture_output=True, text=True)
        if not probe.stdout.strip().startswith(str(src)):
            print(f"the copy is not what Python imports: {probe.stdout.strip()} {probe.stderr.strip()}")
            return 2
        for m in chosen:  # every mutation must apply exactly once before anything runs
            text = (src / CODEC / m.file).read_text()
            if text.count(m.old) != 1:
                print(f"{m.name}: {m.old!r} occurs {text.count(m.old)} times in {m.file}")
                return 2
        union = []
        for part in sorted({m.part for m in chosen}):
            union += SELECTIONS[part]
        print(f"copy: {src}")
        for part in sorted({m.part for m in chosen}):
            rc, failed, out, dt = run_tests(src, cache, SELECTIONS[part], args.timeout)
            print(f"baseline {part:10s} rc={rc} {dt:6.1f} s" + (f" FAILED {failed}" if rc else ""))
            if rc != 0:
                print(out[-3000:])
                return 2
        print(f"\n{'mutation':26s} {'part':10s} {'time':>7s}  killed by")
        for m in chosen:
            path = src / CODEC / m.file
            pristine, stamp = path.read_text(), path.stat()
            path.write_text(pristine.replace(m.old, m.new))
            try:
                rc, failed, out, dt = run_tests(src, cache, SELECTIONS[m.part], args.timeout)
            finally:  # the copy's own original text and timestamp (numba's cache keys on them)
                path.write_text(pristine)
                os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
            if rc == 0:
                survived.append(m.name)
                verdict = "SURVIVED"
            elif failed:
                verdict = _collapse(failed)
            else:
                verdict = f"(rc={rc}, no test named: " + out.strip().splitlines()[-1][:100] + ")"
            print(f"{m.name:26s} {m.part:10s} {dt:6.1f}s  {verdict}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{len(chosen) - len(survived)}/{len(chosen)} mutations killed" +
          (f"; survived: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
