"""Trace parsing, the link-capacity arithmetic (against a slow reference) and the token bucket."""

from __future__ import annotations

import math

import numpy as np
import pytest

from splatcast.net.shaping import TraceShaper
from splatcast.net.traces import Trace, TraceError, load_trace, parse_trace


def bits_until_reference(trace: Trace, t: float, dt: float = 1e-3) -> float:
    """Slow: integrate rate_at over [0, t] on a fine grid (midpoint rule)."""
    n = int(math.ceil(t / dt))
    if n == 0:
        return 0.0
    step = t / n
    return sum(trace.rate_at((i + 0.5) * step) for i in range(n)) * step


def test_one_line_trace_is_constant():
    trace = parse_trace("0 10\n")
    assert trace.rate_at(0) == trace.rate_at(123.4) == 10e6
    assert trace.time_for_bits(2.0, 5e6) == pytest.approx(2.5)
    assert trace.mean_bps == 10e6


def test_scale_and_shift_and_loop():
    trace = parse_trace("100.0 1\n101.0 3\n103.0 2\n", scale=10)
    assert trace.times_s == (0.0, 1.0, 3.0) and trace.period_s == 5.0
    assert trace.rate_at(0.5) == 10e6 and trace.rate_at(2.0) == 30e6 and trace.rate_at(4.0) == 20e6
    assert trace.rate_at(5.5) == 10e6  # looped
    assert trace.bits_per_period == pytest.approx(10e6 + 60e6 + 40e6)


def test_zero_rate_pieces_are_waited_out():
    trace = parse_trace("0 1\n1 0\n3 1\n")  # period 5 s: 1 Mbit/s, 2 s outage, 1 Mbit/s
    assert trace.time_for_bits(0.0, 1.5e6) == pytest.approx(3.5)
    assert trace.time_for_bits(1.0, 1) == pytest.approx(3.0 + 1e-6)


def test_capacity_matches_slow_reference_on_real_traces(pensieve_dir):
    rng = np.random.default_rng(0)
    for folder in ("fcc_train", "norway_train"):
        path = sorted((pensieve_dir / folder).iterdir())[0]
        trace = load_trace(path, scale=10)
        for _ in range(5):
            t = float(rng.uniform(0, 2 * trace.period_s if trace.period_s < 60 else 60))
            assert trace.bits_until(t) == pytest.approx(bits_until_reference(trace, t), rel=2e-3, abs=1e4)


def test_time_for_bits_inverts_bits_until():
    rng = np.random.default_rng(1)
    trace = parse_trace("0 2\n1 0\n1.5 7\n4 0.5\n")
    for _ in range(500):
        start = float(rng.uniform(0, 20))
        bits = float(rng.choice([0.0, rng.uniform(0, 1e8)]))
        end = trace.time_for_bits(start, bits)
        assert end >= start
        assert trace.bits_until(end) - trace.bits_until(start) == pytest.approx(bits, rel=1e-9, abs=1e-3)


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "no samples"),
        ("0 x\n", "two numbers"),
        ("0\n", "time_s"),
        ("0 1\n0 2\n", "does not increase"),
        ("0 -1\n", "rate >= 0"),
        ("0 0\n5 0\n", "every rate is 0"),
        ("0 nan\n", "finite"),
    ],
)
def test_bad_traces(text, match):
    with pytest.raises(TraceError, match=match):
        parse_trace(text)


def test_all_pensieve_traces_load(pensieve_dir):
    paths = sorted(p for p in pensieve_dir.glob("*_train/*") if p.is_file())
    assert len(paths) >= 30
    for p in paths:
        trace = load_trace(p)
        assert 0.05e6 < trace.mean_bps < 10e6


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("trace_text", ["0 10\n", "0 1\n2 8\n3 0\n4 4\n"])
def test_token_bucket_follows_the_trace(trace_text):
    trace = parse_trace(trace_text)
    clock = FakeClock()
    shaper = TraceShaper(trace, burst_bytes=16384, clock=clock)
    total = 0
    for _ in range(400):  # 400 pieces of 16 KiB = 52 Mbit
        clock.t += shaper.reserve(16384)
        total += 16384
        # never ahead of the trace by more than the burst, never behind it (a greedy sender)
        assert total * 8 <= trace.bits_until(clock.t) + shaper.burst_bits + 1e-6
        assert total * 8 >= trace.bits_until(clock.t) - 1e-3
    assert clock.t == pytest.approx(trace.time_for_bits(0, total * 8 - shaper.burst_bits), abs=1e-9)


def test_token_bucket_idle_time_only_refills_the_burst():
    clock = FakeClock()
    shaper = TraceShaper(Trace.constant(8), burst_bytes=1000, clock=clock)  # 1 byte per microsecond
    clock.t = 100.0  # long idle: at most one burst is saved up
    assert shaper.reserve(1000) == 0.0
    assert shaper.reserve(1000) == pytest.approx(1e-3)
