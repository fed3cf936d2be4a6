"""The SOG v2 writer: its files read back by the reader (tested on its own against hand-made files in
test_format_sog.py) close to the scene, rendered; the exact and the k-means SH palettes; the codebook assignment
against a brute-force nearest entry."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from splatcast.render.metrics import fidelity_psnr
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import detect_format, read_scene, write_scene
from splatcast.scene.formats import sog_writer
from splatcast.scene.formats.sog_writer import _codebook, _quat_bytes
from splatcast.scene.formats.sog import decode_quats


@pytest.fixture(scope="module")
def scene():
    cloud = lab_bench(3000, seed=7, sh_degree=2)
    cloud.sh_rest[:] = np.random.default_rng(7).normal(0.0, 0.2, cloud.sh_rest.shape)
    return cloud


def _fidelity(a, b) -> float:
    return fidelity_psnr(a, b, n_views=4, width=128, height=128)["psnr"]


def test_round_trip_through_the_reader(scene, tmp_path):
    path = tmp_path / "x.sog"
    write_scene(scene, path)
    assert detect_format(path) == "sog"
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("meta.json"))
        assert all(info.compress_type == zipfile.ZIP_STORED for info in z.infolist())
    assert meta["version"] == 2 and meta["count"] == len(scene) and meta["shN"]["bands"] == 2
    assert meta["shN"]["count"] == len(scene)  # small scene: one palette entry per Gaussian
    back = read_scene(path)
    assert len(back) == len(scene) and back.sh_degree == 2
    value = _fidelity(scene, back)
    print(f"\nSOG round trip: {value:.2f} dB, {path.stat().st_size / len(scene):.1f} bytes per Gaussian")
    assert value >= 40.0, value
    # the same Gaussians, in Morton order: positions within the 16-bit grid of the log-transformed bounds
    np.testing.assert_allclose(np.sort(back.means, axis=0), np.sort(scene.means, axis=0), atol=2e-4)
    assert len(np.unique(back.means[:, 0])) > 0.9 * len(np.unique(scene.means[:, 0]))


def test_kmeans_palette_for_large_scenes(scene, tmp_path, monkeypatch):
    monkeypatch.setattr(sog_writer, "EXACT_PALETTE", 1000)  # as if the scene were large
    path = tmp_path / "k.sog"
    sog_writer.write_sog(scene, path, palette=256)
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("meta.json"))["shN"]["count"] == 256
    back = read_scene(path)
    exact = tmp_path / "e.sog"
    write_scene(scene, exact)
    # the clustered palette loses view-dependent detail, not the scene
    assert 30.0 <= _fidelity(scene, back) <= _fidelity(scene, read_scene(exact))


def test_codebook_assigns_the_nearest_entry():
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1, (5000, 3)).astype(np.float32)
    book, idx = _codebook(values, rng)
    assert len(book) <= 256 and np.all(np.diff(book) > 0)
    brute = np.abs(values[..., None].astype(np.float64) - book.astype(np.float64)).argmin(axis=-1)
    dist = np.abs(values - book[idx])
    np.testing.assert_allclose(dist, np.abs(values - book[brute]), atol=1e-7)  # ties may pick either entry
    few = np.array([0.5, -1.0, 0.5, 2.0])
    book, idx = _codebook(few, rng)
    np.testing.assert_array_equal(book[idx], few)  # few distinct values: exact


def test_quaternion_bytes_decode_to_the_same_rotation():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(2000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    back = decode_quats(_quat_bytes(q.astype(np.float32))).astype(np.float64)
    dots = np.abs((back / np.linalg.norm(back, axis=1, keepdims=True) * q).sum(axis=1))
    assert dots.min() > 0.999


def test_empty_and_shless_scenes(tmp_path):
    flat = lab_bench(500, seed=3).with_sh_degree(0)
    write_scene(flat, tmp_path / "f.sog")
    assert read_scene(tmp_path / "f.sog").sh_degree == 0
    write_scene(flat[:0], tmp_path / "e.sog")
    assert len(read_scene(tmp_path / "e.sog")) == 0
