"""Progress on stderr: a live tqdm bar on a terminal, one line per tenth of the work in a log (CI, pipes, `--json`).

A redirected tqdm bar writes a carriage-return update per refresh: the demo's log once reached 185 kB of them.
"""

from __future__ import annotations

import sys


class LineProgress:
    """tqdm's update / set_postfix / close subset, printing a line each time another 10 % is done."""

    def __init__(self, total: int, desc: str, stream=None):
        self.total, self.desc, self.n = max(int(total), 0), desc, 0
        self.stream = stream or sys.stderr
        self._postfix = ""
        self._next_tenth = 1

    def update(self, n: int = 1) -> None:
        self.n += n
        crossed = False
        while self.total and self._next_tenth <= 10 and self.n * 10 >= self._next_tenth * self.total:
            self._next_tenth += 1
            crossed = True
        if crossed:
            self._line()

    def set_postfix(self, **values) -> None:
        self._postfix = " ".join(f"{k}={v}" for k, v in values.items())

    def _line(self) -> None:
        post = f" {self._postfix}" if self._postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} ({100 * self.n // max(self.total, 1)} %){post}",
              file=self.stream, flush=True)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(total: int, desc: str, unit: str = "it", quiet: bool = False, stream=None):
    """A progress bar for ``total`` steps on stderr; ``quiet`` turns it off entirely."""
    stream = stream or sys.stderr
    if quiet:
        from tqdm import tqdm

        return tqdm(total=total, disable=True)
    if stream.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream)
    return LineProgress(total, desc, stream)
