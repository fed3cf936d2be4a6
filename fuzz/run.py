"""Run one fuzz target under atheris (libFuzzer flags pass through), or replay files through it.

    python -m fuzz.run TARGET [libFuzzer args...]       e.g. -runs=2000 or -max_total_time=60
    python -m fuzz.run TARGET --replay FILE...          (the regression check: each file must not crash)

The corpus is tests/fuzz/corpus/TARGET (seeds checked in; libFuzzer adds what it finds to a scratch copy), crashes
go to tests/fuzz/findings/ (check a fixed one into tests/fuzz/regressions/TARGET/).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
FINDINGS = ROOT / "tests" / "fuzz" / "findings"


def _modules_with_kernels() -> list[str]:
    src = ROOT / "src"
    return sorted(".".join(p.relative_to(src).with_suffix("").parts)
                  for p in (src / "splatcast").rglob("*.py") if "@njit" in p.read_text(encoding="utf-8"))


def _wrap(fn, expected):
    def one_input(data: bytes) -> None:
        try:
            fn(data)
        except expected:
            pass

    return one_input


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    name, rest = argv[0], argv[1:]
    import atheris

    # numba compiles the bytecode of @njit functions itself: instrumented bytecode would not compile, so modules
    # holding kernels stay uninstrumented (their Python callers, where the parsing happens, are covered)
    with atheris.instrument_imports(include=["splatcast"], exclude=_modules_with_kernels()):
        from fuzz.targets import EXPECTED, TARGETS
    if name not in TARGETS:
        print(f"unknown target {name!r}; targets: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    one_input = _wrap(TARGETS[name], EXPECTED)
    if rest and rest[0] == "--replay":
        for f in rest[1:]:
            one_input(Path(f).read_bytes())
        return 0
    scratch = Path(tempfile.mkdtemp(prefix=f"corpus-{name}-"))
    atexit.register(shutil.rmtree, scratch, True)  # libFuzzer exits the process; what it found is not kept
    if (CORPUS / name).is_dir():
        for f in (CORPUS / name).iterdir():
            shutil.copy(f, scratch / f.name)
    FINDINGS.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], *rest, f"-artifact_prefix={FINDINGS}/{name}-", "-rss_limit_mb=1024", "-timeout=10",
            str(scratch)]
    atheris.Setup(args, one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
