"""Test-wide setup: the repository root on sys.path, so every folder imports the shared ``tests.fixtures``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_warmup = None


def pytest_sessionstart(session) -> None:
    """On a cold numba cache, compile every kernel in a background process (tests/numba_warmup.py) while the
    first tests run: most of them use one core, and compiling is a third of a cold run's extra time."""
    global _warmup
    import os
    import subprocess

    cache = os.environ.get("NUMBA_CACHE_DIR")
    if not cache or len(list(Path(cache).glob("*/*.nbi"))) >= 24:  # the warm-up alone writes 24 index files
        return
    _warmup = subprocess.Popen([sys.executable, "-m", "tests.numba_warmup"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _warmup is not None and _warmup.poll() is None:
        _warmup.kill()
        _warmup.wait()
