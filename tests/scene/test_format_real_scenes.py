"""Every scene under ../shared/data/scenes: counts and SH degrees from DATA.md, and sanity of decoded values."""

from __future__ import annotations

import numpy as np
import pytest
from format_fixtures import DATA

from splatcast.scene.formats import detect_format, lod_level_paths, read_scene, read_sog_lod

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/scenes is absent")

EXPECTED = [
    ("statues/angel.sog", "sog", 71359, 0),
    ("statues/angel-kneeling.sog", "sog", 83547, 0),
    ("statues/angel-with-candlestick.sog", "sog", 80821, 0),
    ("statues/trumpet.sog", "sog", 89292, 0),
    ("statues/angel.compressed.ply", "compressed_ply", 71377, 0),
    ("biker/biker.spz", "spz", 152746, 0),
    ("biker/biker.compressed.ply", "compressed_ply", 152746, 0),
    ("guitar/guitar.compressed.ply", "compressed_ply", 90854, 0),
    ("playbot-lod/0_0", "sog_dir", 500000, 2),
    ("playbot-lod/1_0", "sog_dir", 250000, 2),
    ("playbot-lod/2_0", "sog_dir", 125000, 2),
    ("playbot-lod/3_0", "sog_dir", 31000, 2),
    ("playbot-lod/4_0", "sog_dir", 8406, 2),
    ("playbot-lod/5_0", "sog_dir", 3000, 2),
    ("playbot-lod/6_0", "sog_dir", 1873, 2),
]

_cache: dict[str, object] = {}


def load(rel: str):
    if rel not in _cache:
        _cache[rel] = read_scene(DATA / rel)
    return _cache[rel]


@pytest.mark.parametrize("rel, fmt, count, degree", EXPECTED)
def test_count_degree_and_sane_values(rel, fmt, count, degree):
    assert detect_format(DATA / rel) == fmt
    cloud = load(rel)
    assert len(cloud) == count
    assert cloud.sh_degree == degree
    cloud.validate()  # every value finite
    np.testing.assert_allclose(np.linalg.norm(cloud.quats, axis=1), 1.0, atol=1e-5)
    assert (cloud.scales > -30).all() and (cloud.scales < 10).all()
    lo, hi = cloud.robust_bounds()
    assert ((hi - lo) > 0.05).all() and ((hi - lo) < 20).all()  # a scene metres across, not a point or a blow-up
    colour = 0.5 + 0.28209479 * cloud.sh_dc
    assert 0.05 < np.median(colour) < 0.95


def test_lod_levels_shrink_and_cover_the_same_object():
    levels = lod_level_paths(DATA / "playbot-lod")
    assert [p.name for p in levels] == ["0_0", "1_0", "2_0", "3_0", "4_0", "5_0", "6_0"]
    coarse = read_sog_lod(DATA / "playbot-lod", 6)
    fine = load("playbot-lod/0_0")
    assert coarse.equals(read_scene(DATA / "playbot-lod/6_0"))
    # both levels fill the tree bound that lod-meta.json states
    box_lo, box_hi = np.array([-1.033496, -1.083135, -1.039343]), np.array([1.03509, 0.05205518, 1.042389])
    for cloud in (coarse, fine):
        lo, hi = cloud.bounds()
        assert (lo >= box_lo - 1e-3).all() and (hi <= box_hi + 1e-3).all()
        assert ((hi - lo) > 0.9 * (box_hi - box_lo)).all()
    assert len(coarse) < len(fine)


def test_biker_spz_matches_biker_compressed_ply():
    """Same scene, two encoders: SPZ (RUB axes, turned back to RDF) and compressed PLY must agree per Gaussian."""
    spz, cply = load("biker/biker.spz"), load("biker/biker.compressed.ply")
    # position error: SPZ 1/8192, compressed PLY 11/10 bits per 256-Gaussian chunk
    d = np.abs(spz.means - cply.means)
    assert np.median(d) < 1e-3 and np.quantile(d, 0.99) < 5e-3
    assert np.median(np.abs(spz.sh_dc - cply.sh_dc)) < 0.05
    assert np.median(np.abs(spz.alphas() - cply.alphas())) < 0.01
    dots = np.abs((spz.normalized_quats() * cply.normalized_quats()).sum(1))
    assert np.median(dots) > 0.999


def test_angel_sog_and_compressed_ply_agree():
    """The angel ships as SOG and as compressed PLY (18 more Gaussians). The .sog's coordinates are the PLY's turned
    180 degrees about z (x, y negated: PlayCanvas engine frame vs PLY frame); bounds and colours agree after that."""
    sog, cply = load("statues/angel.sog"), load("statues/angel.compressed.ply")
    turned = sog.means * np.array([-1.0, -1.0, 1.0], np.float32)
    for q in (0.001, 0.01, 0.5, 0.99, 0.999):
        np.testing.assert_allclose(np.quantile(turned, q, axis=0), np.quantile(cply.means, q, axis=0), atol=0.01)
    np.testing.assert_allclose(np.median(sog.sh_dc, axis=0), np.median(cply.sh_dc, axis=0), atol=0.03)
    np.testing.assert_allclose(np.median(sog.scales, axis=0), np.median(cply.scales, axis=0), atol=0.05)
    np.testing.assert_allclose(np.median(sog.alphas()), np.median(cply.alphas()), atol=0.02)
