"""Bjontegaard delta: checked against values published with other implementations, and analytic cases."""

import math

import numpy as np
import pytest

bjontegaard = pytest.importorskip("bjontegaard")

from splatcast.evaluate.bdrate import bd_psnr, bd_rate, rate_at_psnr  # noqa: E402

# IENT/RDPlot, src/rdplot/tests/test_bd.py: four-point curves whose BD values were "compared with Matlab"
# (G. Valenzise's bjontegaard.m): drate = -11.8353612757205 %, dsnr = 0.425738970169449 dB. That Matlab code
# fits the same cubics as VCEG-M33 but integrates over the *union* of the two ranges, not their overlap.
RDPLOT_CURVE1 = [(937.0112, 45.5074), (1405.4792, 47.0002), (3438.7128, 49.9565), (6448.6368, 52.1459)]
RDPLOT_CURVE2 = [(822.0064, 45.7215), (1608.9144, 47.6227), (3086.912, 50.1394), (5784.7696, 52.3339)]
RDPLOT_DRATE_UNION = -11.8353612757205
RDPLOT_DSNR_UNION = 0.425738970169449


def _split(curve):
    r, p = zip(*curve)
    return np.array(r), np.array(p)


def _union_average(x_a, x_t, f_a, f_t):
    lo, hi = min(x_a.min(), x_t.min()), max(x_a.max(), x_t.max())
    return (f_t.integrate(lo, hi) - f_a.integrate(lo, hi)) / (hi - lo)


def test_cubic_fit_matches_published_matlab_values():
    """Our dependency's cubic fits, integrated over the union range, reproduce the published Matlab numbers."""
    r1, p1 = _split(RDPLOT_CURVE1)
    r2, p2 = _split(RDPLOT_CURVE2)
    _, f_a, f_t = bjontegaard.bd_rate(r1, p1, r2, p2, method="cubic", interpolators=True, min_overlap=0)
    drate = (10 ** _union_average(p1, p2, f_a, f_t) - 1) * 100
    assert drate == pytest.approx(RDPLOT_DRATE_UNION, abs=1e-9)
    _, g_a, g_t = bjontegaard.bd_psnr(r1, p1, r2, p2, method="cubic", interpolators=True, min_overlap=0)
    dsnr = _union_average(np.log10(r1), np.log10(r2), g_a, g_t)
    assert dsnr == pytest.approx(RDPLOT_DSNR_UNION, abs=1e-9)


def _vceg_m33_reference(r_a, p_a, r_t, p_t):
    """Slow reference: VCEG-M33 written out (natural log, overlap interval), independent of the package."""
    fa, ft = np.polyfit(p_a, np.log(r_a), 3), np.polyfit(p_t, np.log(r_t), 3)
    lo, hi = max(p_a.min(), p_t.min()), min(p_a.max(), p_t.max())
    ia, it = np.polyint(fa), np.polyint(ft)
    avg = ((np.polyval(it, hi) - np.polyval(it, lo)) - (np.polyval(ia, hi) - np.polyval(ia, lo))) / (hi - lo)
    return (math.exp(avg) - 1) * 100


def test_vceg_m33_overlap_definition():
    r1, p1 = _split(RDPLOT_CURVE1)
    r2, p2 = _split(RDPLOT_CURVE2)
    res = bd_rate(r1, p1, r2, p2)
    assert res.method == "cubic"
    assert res.value == pytest.approx(_vceg_m33_reference(r1, p1, r2, p2), abs=1e-9)
    # overlap is narrower than the union, so the value differs from the Matlab one, but not by much here
    assert res.value == pytest.approx(-11.50294279, abs=1e-6)
    assert 0.9 < res.overlap < 1.0
    # input order must not matter
    assert bd_rate(r1[::-1], p1[::-1], r2, p2).value == pytest.approx(res.value, abs=1e-12)


def test_google_compare_codecs_linear_case():
    """google/compare-codecs lib/visual_metrics_unittest.py: metric = rate vs metric = 2*rate -> BD-rate -50 %
    (+100 % the other way; that test allows 0.5 and 2.0 points, since the two curves are fitted over different
    ranges), and a constant +2 dB offset -> BD-PSNR +2 dB exactly."""
    rates = np.array([10.0, 20.0, 30.0, 40.0])
    assert bd_rate(rates, rates, rates, 2 * rates, "cubic").value == pytest.approx(-50.0, abs=0.5)
    assert bd_rate(rates, 2 * rates, rates, rates, "cubic").value == pytest.approx(100.0, abs=2.0)
    for method in ("cubic", "pchip", "akima"):
        assert bd_psnr(rates, rates, rates, rates + 2, method).value == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize("factor", [0.25, 0.5, 2.0, 3.0])
def test_scaled_rate_is_exact(factor):
    rng = np.random.default_rng(0)
    psnr = np.sort(rng.uniform(25, 40, 5))
    rate = np.exp(0.3 * psnr) * rng.uniform(0.9, 1.1, 5)
    rate = np.maximum.accumulate(rate)
    for method in ("cubic", "pchip", "akima"):
        res = bd_rate(rate, psnr, rate * factor, psnr, method)
        assert res.value == pytest.approx((factor - 1) * 100, rel=1e-9)
        assert res.overlap == pytest.approx(1.0)


def test_identical_curves_give_zero():
    r, p = _split(RDPLOT_CURVE1)
    assert bd_rate(r, p, r, p).value == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(r, p, r, p).value == pytest.approx(0.0, abs=1e-12)


def test_few_points_fall_back_to_pchip_and_degenerate_inputs():
    res = bd_rate([100, 200, 400], [30, 32, 34], [50, 100, 200], [30, 32, 34])
    assert res.method == "pchip"
    assert res.value == pytest.approx(-50.0, abs=1e-9)
    # 0 and 1 points: nothing to integrate
    assert math.isnan(bd_rate([], [], [], []).value)
    assert math.isnan(bd_rate([1.0], [30.0], [2.0], [30.0]).value)
    # no overlap in PSNR: nan, reported as None in JSON
    res = bd_rate([1, 2, 3, 4], [20, 21, 22, 23], [1, 2, 3, 4], [30, 31, 32, 33])
    assert math.isnan(res.value) and res.overlap == 0.0 and res.as_dict()["value"] is None
    with pytest.raises(ValueError, match="rates must be > 0"):
        bd_rate([0, 1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="method"):
        bd_rate([1, 2], [1, 2], [1, 2], [1, 2], method="spline")


def test_rate_at_psnr_interpolates_log_rate():
    assert rate_at_psnr([10, 100], [30, 40], 35) == pytest.approx(math.sqrt(10 * 100))
    assert math.isnan(rate_at_psnr([10, 100], [30, 40], 41))
    assert rate_at_psnr([7], [30], 30) == 7
