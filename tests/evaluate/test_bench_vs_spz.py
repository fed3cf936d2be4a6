"""bench_vs_spz's equal-quality comparison: the scalable stream's bytes at SPZ's fidelity, from its measured points."""

import math

from benchmarks.bench_vs_spz import _bytes_at_fidelity


def test_bytes_at_fidelity_interpolates_in_log_bytes_between_the_points_around_it():
    rows = [{"top_fidelity_db": 40.0, "scalable_bytes": 1000}, {"top_fidelity_db": 50.0, "scalable_bytes": 4000},
            {"top_fidelity_db": 45.0, "scalable_bytes": 2000}]  # any order
    assert math.isclose(_bytes_at_fidelity(rows, 42.5), 1000 * math.sqrt(2))  # halfway in dB: the geometric mean
    assert math.isclose(_bytes_at_fidelity(rows, 50.0), 4000)
    assert _bytes_at_fidelity(rows, 39.9) is None and _bytes_at_fidelity(rows, 50.1) is None  # no extrapolation
