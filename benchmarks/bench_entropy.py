"""Entropy back-end benchmark: rate and speed of lzma / paq / zstd / rans on realistic splatcast streams.

Run: ``python -m benchmarks.bench_entropy [--sizes 100000 1000000] [--repeats 5] [--json [PATH]]``

Streams (seeded, N values each): quantized prediction residuals (Laplacian core + 1% Cauchy tail) at three scales,
the same residuals conditioned on the prediction mode (context = min(mode, 2), used by rans only), prediction modes
0..8 (skewed), VQ indices 0..255 (Zipf-like), and deltas of sorted 48-bit Morton codes of clustered points.

Per back-end: payload bytes, bits per symbol, ratio of size to paq's (baseline for rate), encode and decode time in
ms per million symbols (median of --repeats; above --paq-full-max-n paq is encoded --paq-repeats times and its
decode is not timed, because paq9a runs at ~50-100 KB/s in both directions), decode
speed-up over lzma (baseline for speed), and the order-0 empirical entropy of the values as the floor.
``--json``: the splatcast-bench/1 document (benchmarks/_results.py), one scene per stream holding its ``rows``
(one per N and back-end, the table's columns; a decode not timed is null).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks._results import BenchResults, add_json_argument
from splatcast.codec.entropy import BACKENDS, decode_stream, encode_stream


def laplace_residuals(rng, n, scale):
    core = np.rint(rng.laplace(0.0, scale, n))
    tail = rng.random(n) < 0.01
    core[tail] = np.rint(rng.standard_cauchy(int(tail.sum())) * scale * 20)
    return np.clip(core, -32768, 32767).astype(np.int16)


def modes(rng, n, k=8):
    p = np.array([0.55] + [0.45 * 0.6**i for i in range(k)])
    return rng.choice(k + 1, size=n, p=p / p.sum()).astype(np.uint8)


def vq_indices(rng, n, k=256):
    p = 1.0 / np.arange(1, k + 1) ** 0.8
    return rng.choice(k, size=n, p=p / p.sum()).astype(np.uint8)


def morton_deltas(rng, n, bits=16):
    centers = rng.integers(0, 1 << bits, size=(64, 3))
    pts = centers[rng.integers(0, 64, n)] + np.rint(rng.normal(0, (1 << bits) / 64, size=(n, 3)))
    pts = np.clip(pts, 0, (1 << bits) - 1).astype(np.uint64)
    code = np.zeros(n, np.uint64)
    for b in range(bits):
        for a in range(3):
            code |= ((pts[:, a] >> np.uint64(b)) & np.uint64(1)) << np.uint64(3 * b + a)
    code.sort()
    return np.diff(code, prepend=np.uint64(0)).astype(np.int64)


def make_streams(n: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    rng = np.random.default_rng(seed)
    m = modes(rng, n)
    ctx = np.minimum(m, 2).astype(np.int32)
    scale_by_ctx = np.array([0.5, 2.0, 6.0])[ctx]
    mixed = np.clip(np.rint(rng.laplace(0.0, 1.0, n) * scale_by_ctx), -32768, 32767).astype(np.int16)
    return {
        "residual s=0.7": (laplace_residuals(rng, n, 0.7), None),
        "residual s=4": (laplace_residuals(rng, n, 4.0), None),
        "residual s=40": (laplace_residuals(rng, n, 40.0), None),
        "residual|mode ctx": (mixed, ctx),
        "modes 0..8": (m, None),
        "vq idx 0..255": (vq_indices(rng, n), None),
        "morton delta": (morton_deltas(rng, n), None),
    }


def order0_bits(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    return float(-(counts * np.log2(counts / counts.sum())).sum())


def conditional_bits(values: np.ndarray, ctx: np.ndarray | None) -> float:
    if ctx is None:
        return order0_bits(values)
    return sum(order0_bits(values[ctx == c]) for c in np.unique(ctx))


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3, result


def run(sizes: list[int], repeats: int, paq_repeats: int, paq_full_max_n: int, seed: int) -> list[dict]:
    rows = []
    for backend in BACKENDS:  # warm-up: numba JIT caches, library imports
        encode_stream(np.arange(100, dtype=np.int16), backend)
        decode_stream(encode_stream(np.arange(100, dtype=np.int16), backend), backend, 100, np.int16)
    for n in sizes:
        for name, (values, ctx) in make_streams(n, seed).items():
            floor = conditional_bits(values, ctx)
            for backend in BACKENDS:
                big_paq = backend == "paq" and n > paq_full_max_n
                reps = paq_repeats if big_paq else repeats
                enc_ms, payload = median_ms(lambda: encode_stream(values, backend, ctx), reps)
                if big_paq:  # paq9a is symmetric (decode ~ encode time); skip its minutes-long decode here
                    dec_ms = float("nan")
                else:
                    dec_ms, out = median_ms(lambda: decode_stream(payload, backend, n, values.dtype, ctx), reps)
                    assert np.array_equal(out, values), (name, backend)
                rows.append({
                    "n": n, "stream": name, "backend": backend, "bytes": len(payload),
                    "bits_per_symbol": 8 * len(payload) / n, "entropy_bits_per_symbol": floor / n,
                    "encode_ms_per_msym": enc_ms * 1e6 / n, "decode_ms_per_msym": dec_ms * 1e6 / n,
                    "repeats": reps,
                })
                print(f"  {n} {name:18s} {backend:5s} done", file=sys.stderr)
    by_key = {(r["n"], r["stream"], r["backend"]): r for r in rows}
    for r in rows:
        paq = by_key[(r["n"], r["stream"], "paq")]
        lz = by_key[(r["n"], r["stream"], "lzma")]
        r["size_ratio_to_paq"] = r["bytes"] / paq["bytes"]
        r["decode_speedup_vs_lzma"] = lz["decode_ms_per_msym"] / r["decode_ms_per_msym"]
    return rows


def print_table(rows: list[dict]) -> None:
    print("baselines: rate = paq (size ratio to paq), speed = lzma (decode speed-up over lzma); floor = order-0")
    print("entropy of the values (per context for the mode-conditioned stream; for Morton deltas, whose values are")
    print("mostly unique, the order-0 'floor' is an artefact of the sample size and not a bound)")
    head = f"{'N':>8} {'stream':18} {'backend':7} {'bytes':>9} {'bits/sym':>8} {'floor':>7} {'vs paq':>7} " \
           f"{'enc ms/M':>9} {'dec ms/M':>9} {'dec x lzma':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['n']:>8} {r['stream']:18} {r['backend']:7} {r['bytes']:>9} {r['bits_per_symbol']:>8.4f} "
              f"{r['entropy_bits_per_symbol']:>7.4f} {r['size_ratio_to_paq']:>7.4f} {r['encode_ms_per_msym']:>9.1f} "
              f"{r['decode_ms_per_msym']:>9.1f} {r['decode_speedup_vs_lzma']:>10.2f}")
    print()
    for n in sorted({r["n"] for r in rows}):
        for backend in BACKENDS:
            sel = [r for r in rows if r["n"] == n and r["backend"] == backend]
            total = sum(r["bytes"] for r in sel)
            paq_total = sum(r["bytes"] for r in rows if r["n"] == n and r["backend"] == "paq")
            dec = sum(r["decode_ms_per_msym"] for r in sel)
            if dec != dec:  # NaN: decode not timed
                print(f"N={n:>8} {backend:5s}: all streams {sum(r['bytes'] for r in sel):>9} bytes (decode not timed)")
                continue
            lz = sum(r["decode_ms_per_msym"] for r in rows if r["n"] == n and r["backend"] == "lzma")
            print(f"N={n:>8} {backend:5s}: all streams {total:>9} bytes = {total / paq_total:.4f} x paq; "
                  f"decode {dec:8.1f} ms per M symbols of each stream = {lz / dec:.2f} x lzma speed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paq-repeats", type=int, default=1, help="paq encode repeats above --paq-full-max-n")
    parser.add_argument("--paq-full-max-n", type=int, default=100_000,
                        help="above this N paq is encoded --paq-repeats times and not decoded (~50 KB/s here)")
    parser.add_argument("--seed", type=int, default=0)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    results = BenchResults("bench_entropy", args, argv)
    with results.tables():
        rows = run(args.sizes, args.repeats, args.paq_repeats, args.paq_full_max_n, args.seed)
        print_table(rows)
    for stream in dict.fromkeys(r["stream"] for r in rows):
        results.add(stream, {"rows": [r for r in rows if r["stream"] == stream]},
                    source=f"synthetic, seed {args.seed}, N in {args.sizes}")
    results.emit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
