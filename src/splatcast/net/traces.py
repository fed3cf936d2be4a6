"""Throughput traces (Pensieve format) and the link-capacity arithmetic shared by the shaper and the simulator.

A trace file has one sample per line, ``time_s  Mbit_per_s`` (whitespace separated; the FCC and Norway HSDPA sets
in ../shared/data/traces/pensieve/). Sample i holds from its time until the next sample's; the last sample holds
for the previous interval (1 s for a one-line trace), and the whole trace then loops. A one-line trace ``0 10``
is a constant 10 Mbit/s. ``scale`` multiplies every rate (the Pensieve means are 0.2-2.8 Mbit/s; x10 gives
multi-megabit links).

All functions are pure and work in bits and seconds, so the server's token bucket (shaping.py) and the
``--simulate`` timeline (simulate.py) use exactly the same link model.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from dataclasses import dataclass

from splatcast.errors import SplatcastError

MAX_TRACE_BYTES = 8 * 1024 * 1024
MAX_TRACE_SAMPLES = 1_000_000


class TraceError(SplatcastError):
    """A bandwidth trace file is malformed (bad number, times not increasing, no capacity at all)."""


@dataclass(frozen=True)
class Trace:
    """A looping piecewise-constant link rate. times_s[0] == 0, strictly increasing; rates_bps >= 0."""

    times_s: tuple[float, ...]
    rates_bps: tuple[float, ...]
    period_s: float

    def __post_init__(self):
        if not self.times_s or len(self.times_s) != len(self.rates_bps):
            raise TraceError("trace: expected as many rates as times, at least one")
        if self.times_s[0] != 0.0 or any(b <= a for a, b in zip(self.times_s, self.times_s[1:])):
            raise TraceError("trace: times must start at 0 and strictly increase")
        if not self.period_s > self.times_s[-1]:
            raise TraceError(f"trace: period {self.period_s} must exceed the last time {self.times_s[-1]}")
        if any(not (math.isfinite(r) and r >= 0) for r in self.rates_bps):
            raise TraceError("trace: rates must be finite and >= 0")
        # bits deliverable from 0 to each sample time, and over one period
        cum = [0.0]
        for i, r in enumerate(self.rates_bps):
            end = self.times_s[i + 1] if i + 1 < len(self.times_s) else self.period_s
            cum.append(cum[-1] + r * (end - self.times_s[i]))
        if cum[-1] <= 0:
            raise TraceError("trace: every rate is 0, nothing could ever be delivered")
        object.__setattr__(self, "_cum_bits", tuple(cum))

    @classmethod
    def constant(cls, mbit_per_s: float) -> Trace:
        return cls((0.0,), (float(mbit_per_s) * 1e6,), 1.0)

    @property
    def bits_per_period(self) -> float:
        return self._cum_bits[-1]

    @property
    def mean_bps(self) -> float:
        return self.bits_per_period / self.period_s

    def rate_at(self, t_s: float) -> float:
        tau = t_s % self.period_s
        return self.rates_bps[bisect.bisect_right(self.times_s, tau) - 1]

    def bits_until(self, t_s: float) -> float:
        """Cumulative bits the link could carry from time 0 to t_s (t_s >= 0)."""
        n, tau = divmod(t_s, self.period_s)
        i = bisect.bisect_right(self.times_s, tau) - 1
        return n * self.bits_per_period + self._cum_bits[i] + self.rates_bps[i] * (tau - self.times_s[i])

    def time_for_bits(self, start_s: float, bits: float) -> float:
        """Earliest t >= start_s with bits_until(t) - bits_until(start_s) >= bits (inverse of the capacity)."""
        if bits <= 0:
            return start_s
        target = self.bits_until(start_s) + bits
        n, rem = divmod(target, self.bits_per_period)
        if rem == 0 and n > 0:  # exactly at a period boundary: finish inside the previous period
            n, rem = n - 1, self.bits_per_period
        # piece i with cum[i] < rem <= cum[i + 1]; its rate is > 0 since the cumulative sum grows across it
        i = bisect.bisect_left(self._cum_bits, rem) - 1
        t = n * self.period_s + self.times_s[i] + (rem - self._cum_bits[i]) / self.rates_bps[i]
        return max(t, start_s)


def parse_trace(text: str, scale: float = 1.0, where: str = "trace") -> Trace:
    """Pensieve text -> Trace (rates in bit/s, times shifted to start at 0, each rate multiplied by `scale`)."""
    if not (math.isfinite(scale) and scale > 0):
        raise TraceError(f"{where}: scale must be > 0, got {scale}")
    times: list[float] = []
    rates: list[float] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2:
            raise TraceError(f"{where} line {lineno}: expected 'time_s Mbit_per_s', got {line.strip()!r}")
        try:
            t, mbps = float(parts[0]), float(parts[1])
        except ValueError:
            raise TraceError(f"{where} line {lineno}: expected two numbers, got {line.strip()!r}") from None
        if not (math.isfinite(t) and math.isfinite(mbps)) or mbps < 0:
            raise TraceError(f"{where} line {lineno}: expected finite time and rate >= 0, got {line.strip()!r}")
        if times and t <= times[-1]:
            raise TraceError(f"{where} line {lineno}: time {t} does not increase (previous {times[-1]})")
        times.append(t)
        rates.append(mbps * 1e6 * scale)
        if len(times) > MAX_TRACE_SAMPLES:
            raise TraceError(f"{where}: more than {MAX_TRACE_SAMPLES} samples")
    if not times:
        raise TraceError(f"{where}: no samples")
    t0 = times[0]
    rel = tuple(t - t0 for t in times)
    last_interval = rel[-1] - rel[-2] if len(rel) > 1 else 1.0
    return Trace(rel, tuple(rates), rel[-1] + last_interval)


def load_trace(path: str | os.PathLike, scale: float = 1.0) -> Trace:
    size = os.path.getsize(path)
    if size > MAX_TRACE_BYTES:
        raise TraceError(f"{path}: {size} bytes exceeds the trace size limit {MAX_TRACE_BYTES}")
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_trace(f.read(), scale=scale, where=str(path))


_INLINE = re.compile(r"^[\s0-9.eE+,;-]+$")


def trace_argument(value: str, scale: float = 1.0) -> Trace:
    """A command line's ``--trace``: a trace file, or inline ``TIME MBPS`` pairs (``"0 10"``, ``"0 10 5 2"``, also
    separated by commas or semicolons) when no such file exists."""
    if os.path.exists(value):
        return load_trace(value, scale)
    if _INLINE.match(value):
        numbers = value.replace(",", " ").replace(";", " ").split()
        if len(numbers) % 2:
            raise TraceError(f"--trace {value!r}: inline traces are TIME MBPS pairs, got {len(numbers)} numbers")
        pairs = "\n".join(f"{numbers[i]} {numbers[i + 1]}" for i in range(0, len(numbers), 2))
        return parse_trace(pairs, scale, where=f"--trace {value!r}")
    raise FileNotFoundError(2, "No such trace file (inline traces are 'TIME MBPS' pairs, e.g. '0 10')", value)
