"""Progress off a terminal: one line per tenth of the work, never more (logs stay small)."""

from __future__ import annotations

import io

from splatcast.cli.progress import LineProgress, progress


def test_one_line_per_tenth_and_none_repeated():
    out = io.StringIO()
    bar = LineProgress(3000, "train", out)
    bar.set_postfix(psnr="30.1")
    for _ in range(3000):
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[0] == "train: 300/3000 (10 %) psnr=30.1" and lines[-1].startswith("train: 3000/")
    small = io.StringIO()
    b = LineProgress(3, "encode", small)
    for _ in range(3):
        b.update(1)
    assert small.getvalue().splitlines() == ["encode: 1/3 (33 %)", "encode: 2/3 (66 %)", "encode: 3/3 (100 %)"]


def test_a_pipe_gets_line_progress():
    assert isinstance(progress(5, "x", stream=io.StringIO()), LineProgress)
