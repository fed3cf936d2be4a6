"""What the client fetches through (:class:`Transport`) and the time a session is measured on (:class:`Clock`).

Transports: HTTP (client.HttpTransport), WebRTC (webrtc.WebRTCTransport) and the simulated link
(simulate.SimTransport, whose fetch advances a virtual clock). Each takes its clock at construction, so that the
link and the session timed on it cannot run on two different clocks.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock."""

    def add_compute(self, seconds: float) -> None:
        """Account for decoding time measured on this machine (a virtual clock adds it; real time contains it)."""


class Transport(Protocol):
    clock: Clock  # the time its transfers happen on, given at construction

    async def connect(self) -> float:
        """Set up before the first request (WebRTC: ICE, DTLS, SCTP); returns the seconds it took, 0.0 when there
        is nothing to set up."""

    async def fetch(self, path: str, byte_range: tuple[int, int] | None = None, max_bytes: int | None = None) -> bytes:
        """The bytes [start, end_exclusive) of ``path`` (None: the whole file, at most ``max_bytes``); a failure
        is a NetworkError."""

    async def close(self) -> None:
        ...


class RealClock:
    def __init__(self):
        self._t0 = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self._t0

    def add_compute(self, seconds: float) -> None:  # real time already contains compute
        pass


class SessionClock:
    """A clock read from a session's start: a transport may carry more than one session, and its set-up
    (:meth:`Transport.connect`) is not on the session's time."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._t0 = clock.now()  # (0.0 on a fresh virtual clock: its times stay exact)

    def now(self) -> float:
        return self.clock.now() - self._t0

    def add_compute(self, seconds: float) -> None:
        self.clock.add_compute(seconds)
