"""PlayCanvas compressed PLY on synthetic files written from the format description."""

from __future__ import annotations

import numpy as np
import pytest
from format_fixtures import compressed_ply_bytes, quat_angle_deg, random_cloud, slow_unpack_rotation_compressed_ply

from splatcast.errors import FormatError
from splatcast.scene.cloud import SH_C0
from splatcast.scene.formats import detect_format, read_scene
from splatcast.scene.formats.compressed_ply import unpack_rotation


@pytest.mark.parametrize("n, degree, chunk_colors", [(1, 0, True), (256, 0, False), (600, 1, True), (300, 3, True)])
def test_round_trip_within_quantisation(tmp_path, n, degree, chunk_colors):
    cloud = random_cloud(n, degree, seed=n + degree)
    path = tmp_path / "scene.compressed.ply"
    path.write_bytes(compressed_ply_bytes(cloud, chunk_colors))
    assert detect_format(path) == "compressed_ply"
    back = read_scene(path)
    assert len(back) == n and back.sh_degree == degree
    # per-chunk ranges: 11/10 bits over each chunk's span
    for c in range(-(-n // 256)):
        sl = slice(c * 256, (c + 1) * 256)
        span = cloud.means[sl].max(0) - cloud.means[sl].min(0)
        assert (np.abs(back.means[sl] - cloud.means[sl]) <= span / 1023 / 2 + 1e-6).all()
        sspan = cloud.scales[sl].max(0) - cloud.scales[sl].min(0)
        assert (np.abs(back.scales[sl] - cloud.scales[sl]) <= sspan / 1023 / 2 + 1e-5).all()
    color_err = np.abs((back.sh_dc - cloud.sh_dc) * SH_C0)
    assert color_err.max() <= (0.5 / 255 * (1 if not chunk_colors else 3)) + 1e-5
    np.testing.assert_allclose(back.alphas(), cloud.alphas(), atol=0.5 / 255 + 1e-5)
    assert quat_angle_deg(back.quats, cloud.quats).max() < 0.3
    if degree:
        np.testing.assert_allclose(back.sh_rest, cloud.sh_rest, atol=8 / 256 + 1e-5)


@pytest.mark.parametrize("n, degree", [(1, 0), (700, 1), (300, 3)])
def test_our_writer_reads_back_within_its_quantisation(tmp_path, n, degree):
    """splatcast's own writer, read by the reader above (oracle: the cloud itself; rows come back Morton-sorted)."""
    from scipy.spatial import cKDTree

    from splatcast.scene.formats import write_scene

    cloud = random_cloud(n, degree, seed=3 * n + degree)
    path = tmp_path / "ours.compressed.ply"
    write_scene(cloud, path)
    assert detect_format(path) == "compressed_ply"
    back = read_scene(path)
    assert len(back) == n and back.sh_degree == degree
    dist, idx = cKDTree(cloud.means).query(back.means)
    assert sorted(idx.tolist()) == list(range(n))  # every Gaussian once
    orig = cloud[idx]
    extent = cloud.means.max(0) - cloud.means.min(0)
    assert (np.abs(back.means - orig.means) <= extent / 1023 / 2 + 1e-5).all()  # a chunk spans at most all
    assert (np.abs(back.scales - orig.scales) <= 5.0 / 1023 / 2 + 1e-5).all()  # random_cloud scales span 5
    assert np.abs((back.sh_dc - orig.sh_dc) * SH_C0).max() <= 0.5 / 255 * 3 + 1e-5
    np.testing.assert_allclose(back.alphas(), orig.alphas(), atol=0.5 / 255 + 1e-5)
    assert quat_angle_deg(back.quats, orig.quats).max() < 0.3
    if degree:
        np.testing.assert_allclose(back.sh_rest, np.clip(orig.sh_rest, -4, 4), atol=8 / 256 + 1e-5)


def test_vectorised_rotation_matches_reference():
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 2**32, size=2000, dtype=np.uint64).astype(np.uint32)
    slow = np.array([slow_unpack_rotation_compressed_ply(int(p)) for p in packed])
    np.testing.assert_allclose(unpack_rotation(packed), slow, atol=1e-6)


def test_chunk_count_mismatch_is_a_format_error(tmp_path):
    data = compressed_ply_bytes(random_cloud(300, 0, seed=1))
    path = tmp_path / "bad.compressed.ply"
    path.write_bytes(data.replace(b"element chunk 2\n", b"element chunk 1\n", 1))
    with pytest.raises(FormatError, match="need 2 chunks"):
        read_scene(path)


def test_truncated_body_is_a_format_error(tmp_path):
    data = compressed_ply_bytes(random_cloud(300, 0, seed=1))
    path = tmp_path / "bad.compressed.ply"
    path.write_bytes(data[:-5])
    with pytest.raises(FormatError, match="truncated"):
        read_scene(path)


def test_partial_chunk_colour_range_is_a_format_error(tmp_path):
    """A chunk element with min_r.. but not max_g raised a bare ValueError (no field of name max_g)."""
    data = compressed_ply_bytes(random_cloud(300, 0, seed=1), chunk_colors=True)
    assert b"property float max_g\n" in data
    path = tmp_path / "bad.compressed.ply"
    # renaming keeps the row layout: the file parses, but the colour range is incomplete
    path.write_bytes(data.replace(b"property float max_g\n", b"property float max_q\n", 1))
    with pytest.raises(FormatError, match="colour range"):
        read_scene(path)
