"""Run every fuzz target for a while and report executions, coverage and findings per target (`make fuzz`).

    python -m fuzz.campaign [--seconds 130] [--targets container,rans,...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

from fuzz.run import FINDINGS

STATS = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+)")


def main(argv=None) -> int:
    from fuzz.targets import TARGETS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=130)
    ap.add_argument("--targets", default=",".join(TARGETS))
    args = ap.parse_args(argv)
    before = set(FINDINGS.glob("*")) if FINDINGS.is_dir() else set()
    rows, failed = [], 0
    for name in args.targets.split(","):
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "fuzz.run", name, f"-max_total_time={args.seconds:g}",
                              "-print_final_stats=1"], capture_output=True, text=True,
                             timeout=args.seconds * 3 + 120)
        out = res.stdout + res.stderr
        m = STATS.search(out)
        runs, cov, ft = (int(g) for g in m.groups()) if m else (0, 0, 0)
        found = sorted(p.name for p in FINDINGS.glob(f"{name}-*")) if FINDINGS.is_dir() else []
        ok = res.returncode == 0 and not found
        failed += not ok
        rows.append((name, runs, cov, ft, time.monotonic() - t0, "ok" if ok else f"FINDINGS {found or res.returncode}"))
        print(f"{name:15s} {runs:>10,} execs  cov {cov:>6}  ft {ft:>6}  {rows[-1][4]:6.0f} s  {rows[-1][5]}",
              flush=True)
    total = sum(r[1] for r in rows)
    print(f"total {total:,} executions in {sum(r[4] for r in rows):.0f} s; "
          f"{failed} target(s) with findings" + (f" (new files in {FINDINGS})" if set(FINDINGS.glob('*')) - before else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
