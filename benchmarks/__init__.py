"""Benchmark scripts: run as ``python -m benchmarks.NAME``; each prints medians and a same-run ratio."""
