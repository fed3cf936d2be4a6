"""The RD bookkeeping (BD summaries, claims), the monotonicity check and the formats comparison, on made-up
points whose answers are known."""

import math

import pytest

from splatcast.evaluate.progressive import non_decreasing
from splatcast.evaluate.rd import bd_summary, claims
from splatcast.evaluate.report import compare_to_curve, markdown

QUALITIES = (4, 6, 8, 10, 12)
SCALE = {"scalable_vq": 0.4, "scalable_novq": 0.5, "mdc": 1.0}  # enhancement-layer bits relative to MDC


def _points():
    pts = []
    for variant, scale in SCALE.items():
        for q in QUALITIES:
            psnr = 30 + 2.0 * q
            cumulative = 0.0
            for layer, n in enumerate((100, 200, 400)):
                bpg = 50.0 * 2 ** (q / 4) * (1.0 if layer == 0 else scale)  # base layer coded alike everywhere
                cumulative += bpg * n / 8
                pts.append({"variant": variant, "quality": q, "layer": layer, "gaussians": n,
                            "layer_bytes": bpg * n / 8, "cumulative_bytes": cumulative, "bpg_layer": bpg,
                            "bpg_cumulative": 8 * cumulative / n, "psnr_vs_layer": psnr,
                            "psnr_vs_top": psnr - 2 * (2 - layer), "psnr_vs_photos": None})
    return pts


def test_bd_summary_and_claims_on_known_curves():
    pts = _points()
    bd = bd_summary(pts, 3)
    enh = bd["enhancement"]
    # equal PSNR at every quality, rates in a fixed ratio: BD-rate is exactly that ratio
    assert enh["scalable_novq"]["mean"] == pytest.approx((0.4 / 0.5 - 1) * 100)
    assert enh["mdc"]["layers"]["L1"]["value"] == pytest.approx(-60.0)
    assert enh["mdc"]["layers"]["L2"]["value"] == pytest.approx(-60.0)
    assert bd["top_progressive"]["mdc"]["value"] < 0
    assert "photos_progressive" not in bd
    c = claims(pts, bd, 3)
    assert c["vq_below_novq"] is True and c["novq_below_mdc"] is True
    assert c["bd_novq_vs_mdc_pct"] == pytest.approx(-50.0)
    # swap the roles: the claim must turn false
    swapped = [dict(p, variant={"scalable_vq": "scalable_novq", "scalable_novq": "scalable_vq"}.get(p["variant"],
                                                                                                   p["variant"]))
               for p in pts]
    assert claims(swapped, bd_summary(swapped, 3), 3)["vq_below_novq"] is False


def test_claims_undecided_without_overlap():
    pts = _points()
    for p in pts:
        if p["variant"] == "mdc":
            p["psnr_vs_layer"] += 100  # no common quality range
    c = claims(pts, bd_summary(pts, 3), 3)
    assert c["novq_below_mdc"] is None and c["bd_novq_vs_mdc_pct"] is None
    assert c["vq_below_novq"] is True


def test_markdown_renders_rd_section():
    pts = _points()
    results = {
        "schema": "splatcast-bench/1", "date": "d", "wall_s": 1.0, "machine": {"cpu_count": 2, "platform": "p",
                                                                            "python": "3"},
        "versions": {"numpy": "1"}, "settings": {"quick": True, "fidelity": {"views": 1, "width": 8, "height": 8},
                                                 "qualities": list(QUALITIES)},
        "scenes": {"s": {"status": "ok", "reason": None, "layer_set": {"source": "src", "gaussians": [100, 200, 400]}}},
        "experiments": {"rd": {"s": {"status": "ok", "reason": None, "points": pts, "bd_rate": bd_summary(pts, 3),
                                     "claims": claims(pts, bd_summary(pts, 3), 3), "plots": ["rd_s.png"],
                                     "layer_set": {"gaussians": [100, 200, 400]}}}},
        "skipped": [], "errors": [],
    }
    md = markdown(results)
    assert "| mdc | -60.0 % | L1: -60.0 %, L2: -60.0 % |" in md
    assert "![rd s](rd_s.png)" in md
    assert "BD-rate -60.0 %" in md and "MET: s: enhancement layers" in md and "the paper's > 85 % saving not met" in md


def test_non_decreasing_tolerates_noise_only():
    assert non_decreasing([10.0, 12.0, 12.0, 20.0, None])
    assert non_decreasing([10.0, 9.9995])
    assert not non_decreasing([10.0, 9.99])
    assert non_decreasing([])


def test_compare_to_curve():
    curve = [(100.0, 40.0), (400.0, 50.0)]
    assert compare_to_curve(200.0, 48.0, curve) == pytest.approx(48.0 - 45.0)  # log-midpoint
    assert compare_to_curve(50.0, 41.0, curve) == pytest.approx(1.0)  # smaller and better
    assert compare_to_curve(800.0, 49.0, curve) == pytest.approx(-1.0)  # larger and worse
    assert compare_to_curve(50.0, 39.0, curve) is None  # smaller but worse: undecided
    assert compare_to_curve(800.0, 55.0, curve) is None
    assert math.isclose(compare_to_curve(100.0, 40.0, [(100.0, 40.0)]), 0.0)
