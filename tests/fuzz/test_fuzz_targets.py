"""The fuzz targets (fuzz/targets.py) on their seed corpora and on every regression input found so far, in process,
then a short coverage-guided atheris run per target (`make fuzz` runs them for longer)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from fuzz.targets import EXPECTED, TARGETS  # noqa: E402

HERE = Path(__file__).resolve().parent
INPUTS = [(t, p) for t in TARGETS for d in ("corpus", "regressions") for p in sorted((HERE / d / t).glob("*"))]


def test_every_target_has_seeds():
    assert {t for t, _ in INPUTS} == set(TARGETS)


@pytest.mark.parametrize("target,path", INPUTS, ids=[f"{t}/{p.parent.parent.name}/{p.name}" for t, p in INPUTS])
def test_seed_and_regression_inputs_raise_only_project_errors(target, path):
    try:
        TARGETS[target](path.read_bytes())
    except EXPECTED:
        pass


@pytest.fixture(scope="module")
def short_runs():
    """Every target's short run, two processes at a time (each is mostly interpreter and import start-up, one core
    each): {target: CompletedProcess}."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")

    def run(target):
        return subprocess.run([sys.executable, "-m", "fuzz.run", target, "-runs=400", "-seed=1"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(sorted(TARGETS), pool.map(run, sorted(TARGETS))))


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_short_fuzz_run_finds_nothing(target, short_runs):
    res = short_runs[target]
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
