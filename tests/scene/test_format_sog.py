"""SOG v1/v2, bundled and unbundled, on synthetic files written from the format description."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from format_fixtures import (
    quat_angle_deg,
    random_cloud,
    slow_decode_sog_quat,
    sog_files,
    sog_tolerances,
    write_sog_dir,
    write_sog_zip,
)

from splatcast.errors import FormatError
from splatcast.scene.formats import detect_format, read_scene
from splatcast.scene.formats.sog import decode_quats


def assert_sog_close(back, cloud, version):
    assert len(back) == len(cloud) and back.sh_degree == cloud.sh_degree
    if not len(cloud):
        return
    tol = sog_tolerances(cloud)
    # 16 bits over the log-transformed range, mapped back through expm1
    span = np.log1p(np.abs(cloud.means)).max() * 2
    np.testing.assert_allclose(back.means, cloud.means, atol=span / 65535 * np.exp(span) + 1e-6)
    np.testing.assert_allclose(back.scales, cloud.scales, atol=tol["scales"])
    np.testing.assert_allclose(back.sh_dc, cloud.sh_dc, atol=tol["sh_dc"])
    if version == 2:
        np.testing.assert_allclose(back.alphas(), cloud.alphas(), atol=0.5 / 255 + 1e-5)
    else:  # v1 stores the logit itself, lerped
        step = (cloud.opacities.max() - cloud.opacities.min()) / 255
        np.testing.assert_allclose(back.opacities, cloud.opacities, atol=step / 2 + 1e-5)
    assert quat_angle_deg(back.quats, cloud.quats).max() < 1.0
    if cloud.sh_degree:
        step = (cloud.sh_rest.max() - cloud.sh_rest.min()) / 255
        np.testing.assert_allclose(back.sh_rest, cloud.sh_rest, atol=step / 2 + 1e-5)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("n, degree", [(0, 0), (1, 0), (300, 1), (130, 3)])
def test_unbundled_round_trip(tmp_path, version, n, degree):
    cloud = random_cloud(n, degree, seed=n + version)
    folder = write_sog_dir(cloud, tmp_path / "scene", version)
    assert detect_format(folder) == "sog_dir"
    assert detect_format(folder / "meta.json") == "sog_dir"
    assert_sog_close(read_scene(folder), cloud, version)
    assert_sog_close(read_scene(folder / "meta.json"), cloud, version)


def test_bundled_round_trip(tmp_path):
    cloud = random_cloud(200, 2, seed=5)
    path = write_sog_zip(cloud, tmp_path / "scene.sog")
    assert detect_format(path) == "sog"
    assert_sog_close(read_scene(path), cloud, 2)


def test_vectorised_quats_match_reference():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, size=(1000, 4)).astype(np.uint8)
    px[:, 3] = rng.integers(252, 256, size=1000)
    slow = np.array([slow_decode_sog_quat(tuple(int(v) for v in p)) for p in px])
    np.testing.assert_allclose(decode_quats(px), slow, atol=1e-6)


def _zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _meta_edit(files, edit):
    meta = json.loads(files["meta.json"])
    edit(meta)
    files["meta.json"] = json.dumps(meta).encode()
    return files


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(version=7), "unsupported meta.json version 7"),
        (lambda m: m.update(count=10**12), "count"),
        (lambda m: m.update(count=5000), "pixels"),
        (lambda m: m["means"].update(mins=[0, "a", 1]), "means.mins"),
        (lambda m: m["scales"].update(files=["../../etc/passwd"]), "invalid file"),
        (lambda m: m["scales"].update(files=["nope.webp"]), "missing member"),
        (lambda m: m["shN"].update(count=3), "label"),
        (lambda m: m["shN"].update(bands=5), "bands"),
        (lambda m: m.pop("quats"), "quats"),
    ],
)
def test_malformed_meta_raises_format_error(tmp_path, edit, message):
    files = _meta_edit(sog_files(random_cloud(40, 1, seed=1)), edit)
    with pytest.raises(FormatError, match=message):
        read_scene(_zip(tmp_path / "bad.sog", files))


def test_invalid_quaternion_tag_raises(tmp_path):
    cloud = random_cloud(10, 0, seed=2)
    files = sog_files(cloud)
    from PIL import Image
    import io

    img = np.array(Image.open(io.BytesIO(files["quats.webp"])).convert("RGBA"))
    img[0, 3, 3] = 17
    buf = io.BytesIO()
    Image.fromarray(img, "RGBA").save(buf, format="WEBP", lossless=True, exact=True)
    files["quats.webp"] = buf.getvalue()
    with pytest.raises(FormatError, match="quats pixel 3 has tag 17"):
        read_scene(_zip(tmp_path / "bad.sog", files))


def test_zip_bomb_member_is_rejected_before_inflating(tmp_path):
    from splatcast.scene.formats import ReaderLimits

    files = sog_files(random_cloud(10, 0, seed=3))
    files["meta.json"] = files["meta.json"] + b" " * 3_000_000  # valid JSON, compresses to almost nothing
    path = _zip(tmp_path / "bomb.sog", files)
    assert path.stat().st_size < 200_000
    with pytest.raises(FormatError, match="meta.json claims 3"):
        read_scene(path, limits=ReaderLimits(max_json_bytes=1_000_000))  # a caller's tighter bound


def test_not_a_zip_is_a_format_error(tmp_path):
    path = tmp_path / "x.sog"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(FormatError, match="zip"):
        read_scene(path)


def test_uniform_giant_image_is_refused_before_decoding(tmp_path):
    """A few hundred bytes of lossless WebP can declare 16M pixels (issue 12: a 918-byte .sog passed 2 GB)."""
    import io
    import time

    from PIL import Image

    files = sog_files(random_cloud(10, 0, seed=3))
    buf = io.BytesIO()
    Image.new("RGBA", (4096, 4096), (7, 7, 7, 255)).save(buf, format="WEBP", lossless=True)
    assert len(buf.getvalue()) < 16_000
    files["means_l.webp"] = buf.getvalue()
    path = _zip(tmp_path / "bomb.sog", files)
    t0 = time.perf_counter()
    with pytest.raises(FormatError, match="decompression bomb"):
        read_scene(path)
    assert time.perf_counter() - t0 < 1.0  # refused from the header, nothing decoded


def test_member_inflating_beyond_any_deflate_ratio_is_refused(tmp_path):
    """An LZMA member can inflate ~7000:1; no real .sog member exceeds deflate's ~1032:1."""
    files = sog_files(random_cloud(10, 0, seed=3))
    meta = json.loads(files["meta.json"])
    meta["means"]["files"][0] = "padding.bin"  # the reader opens it as the first means image
    files["meta.json"] = json.dumps(meta).encode()
    path = tmp_path / "lzma.sog"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("padding.bin", bytes(40_000_000), compress_type=zipfile.ZIP_LZMA)
    assert path.stat().st_size < 100_000
    with pytest.raises(FormatError, match="claims 40000000 bytes"):
        read_scene(path)
