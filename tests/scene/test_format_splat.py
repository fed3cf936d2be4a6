""".splat (antimatter15): 32-byte records, round trip within byte quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from format_fixtures import quat_angle_deg, random_cloud

from splatcast.errors import FormatError
from splatcast.scene.cloud import SH_C0
from splatcast.scene.formats import detect_format, read_scene, write_scene
from splatcast.scene.formats.splat import read_splat_bytes, splat_bytes


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_round_trip(tmp_path, n):
    cloud = random_cloud(n, 2, seed=n)
    path = tmp_path / "scene.splat"
    write_scene(cloud, path)
    assert path.stat().st_size == 32 * n
    assert detect_format(path) == "splat"
    back = read_scene(path)
    assert len(back) == n and back.sh_degree == 0  # the format has no higher SH
    np.testing.assert_array_equal(back.means, cloud.means)
    np.testing.assert_allclose(back.scales, cloud.scales, atol=1e-5)
    colour = np.clip(0.5 + SH_C0 * cloud.sh_dc, 0, 1)
    np.testing.assert_allclose(0.5 + SH_C0 * back.sh_dc, colour, atol=0.5 / 255 + 1e-5)
    np.testing.assert_allclose(back.alphas(), cloud.alphas(), atol=0.5 / 255 + 1e-5)
    assert quat_angle_deg(back.quats, cloud.quats).max(initial=0.0) < 1.5


def test_record_layout():
    cloud = random_cloud(1, 0, seed=1)
    rec = splat_bytes(cloud)
    np.testing.assert_array_equal(np.frombuffer(rec[:12], "<f4"), cloud.means[0])
    np.testing.assert_allclose(np.frombuffer(rec[12:24], "<f4"), np.exp(cloud.scales[0]), rtol=1e-6)
    q = cloud.normalized_quats()[0]
    np.testing.assert_array_equal(np.frombuffer(rec[28:32], np.uint8), np.clip(np.rint(q * 128 + 128), 0, 255))


def test_partial_record_and_bad_scale_are_format_errors():
    data = splat_bytes(random_cloud(3, 0))
    with pytest.raises(FormatError, match="32-byte records"):
        read_splat_bytes(data[:-1])
    bad = bytearray(data)
    bad[32 + 12 : 32 + 16] = np.float32(-1.0).tobytes()
    with pytest.raises(FormatError, match="record 1 has a non-positive scale"):
        read_splat_bytes(bytes(bad))
