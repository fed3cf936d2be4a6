"""Token-bucket shaping that follows a throughput trace: the server uses one bucket per connection (and per
WebRTC peer), the client one per session (receiver-side shaping: it reads from the socket no faster than the trace,
TCP flow control then slows the sender). Pure arithmetic over :class:`~splatcast.net.traces.Trace`; the caller
sleeps for the delay it is given.

Why in the application and not Linux ``tc`` in a network namespace: tc needs CAP_NET_ADMIN (not available in CI
containers or here), cannot follow a per-connection trace from time 0 of each connection, and is Linux-only.
"""

from __future__ import annotations

import asyncio
import time

from splatcast.net.traces import Trace

DEFAULT_BURST_BYTES = 16 * 1024  # one piece of the server's writes; small so the trace is followed closely


class TraceShaper:
    """Tokens (bits) accrue at the trace's rate from the bucket's creation, capped at `burst_bytes`; sending n bytes
    takes n*8 tokens, and a deficit is waited out along the trace (FIFO: later sends queue behind earlier ones)."""

    def __init__(self, trace: Trace, burst_bytes: int = DEFAULT_BURST_BYTES, clock=time.monotonic):
        if burst_bytes <= 0:
            raise ValueError(f"burst_bytes must be > 0, got {burst_bytes}")
        self.trace = trace
        self.burst_bits = burst_bytes * 8.0
        self.clock = clock
        self.t0 = clock()
        self._tokens = self.burst_bits
        self._t_last = 0.0  # trace time of the last update

    def now(self) -> float:
        """Seconds since the bucket started (= position in the trace)."""
        return self.clock() - self.t0

    def reserve(self, n_bytes: int, at_s: float | None = None) -> float:
        """Take n_bytes from the bucket at trace time `at_s` (default now); returns seconds to wait before sending."""
        now = self.now() if at_s is None else at_s
        if now > self._t_last:
            gained = self.trace.bits_until(now) - self.trace.bits_until(self._t_last)
            self._tokens = min(self.burst_bits, self._tokens + gained)
            self._t_last = now
        self._tokens -= n_bytes * 8.0
        if self._tokens >= 0:
            return 0.0
        ready = self.trace.time_for_bits(self._t_last, -self._tokens)
        return max(0.0, ready - now)

    async def throttle(self, n_bytes: int) -> None:
        delay = self.reserve(n_bytes)
        if delay > 0:
            await asyncio.sleep(delay)
