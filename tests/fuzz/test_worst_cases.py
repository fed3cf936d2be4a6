"""Every crafted worst case of fuzz/worst_cases.py stays under 512 MB resident and 5 s of CPU in its own process
and ends in the project's own error (issue 12). The limits are the oracle; the report is `python -m
fuzz.worst_cases`."""

from __future__ import annotations

import pytest

from fuzz import worst_cases


@pytest.mark.timeout(600)
def test_no_crafted_input_of_at_most_1_mb_exceeds_512_mb_or_5_s():
    rows = worst_cases.run()
    measured = [r for r in rows if "skipped" not in r]
    assert len(measured) >= 12  # the SOG cases need ../shared
    bad = [r for r in measured if not r["ok"]]
    assert not bad, bad
    assert {r["parser"] for r in measured} >= {"container", "rans", "zstd", "lzma", "ply", "compressed_ply", "splat",
                                               "gltf", "spz", "mpd", "http_range", "webrtc"}
