"""The suite's fidelity helper against the renderer's fidelity_psnr, and the layer-set derivations."""

import math

import numpy as np
import pytest

from splatcast.evaluate.common import BenchConfig, Fidelity, Unavailable, require
from splatcast.evaluate.layersets import (
    cap_layers,
    checkpoint_like_layers,
    importance_prefix_layers,
    layer_set,
    lego_checkpoints,
)
from splatcast.scene.default import lab_bench


@pytest.fixture(scope="module")
def cloud():
    return lab_bench(800, seed=0)


def test_fidelity_matches_renderer_fidelity_psnr(cloud):
    metrics = pytest.importorskip("splatcast.render.metrics")
    rng = np.random.default_rng(0)
    test = cloud.copy()
    test.sh_dc = (test.sh_dc + rng.normal(0, 0.05, test.sh_dc.shape)).astype(np.float32)
    fid = Fidelity(cloud, n_views=3, size=48)
    ref = metrics.fidelity_psnr(cloud, test, cameras=fid.cameras)
    assert fid.psnr(test) == pytest.approx(ref["psnr"], abs=1e-9)
    # identical clouds: infinite PSNR, as fidelity_psnr defines it
    assert math.isinf(fid.psnr(cloud))
    # a second reference shares the cameras and gives that reference's PSNR
    fid.add_reference("half", cloud[: len(cloud) // 2])
    both = fid.psnrs(test)
    assert both["top"] == pytest.approx(ref["psnr"], abs=1e-9)
    half = metrics.fidelity_psnr(cloud[: len(cloud) // 2], test, cameras=fid.cameras)["psnr"]
    assert both["half"] == pytest.approx(half, abs=1e-9)
    # nothing received yet: a black image, finite PSNR well below the real one
    assert fid.psnr(cloud[:0]) < ref["psnr"]


@pytest.mark.parametrize("n", [1, 2, 7, 800])
def test_importance_prefix_layers_are_nested_prefixes(n):
    c = lab_bench(max(n, 10), seed=1)[:n]
    layers = importance_prefix_layers(c)
    sizes = [len(x) for x in layers]
    assert sizes == sorted(sizes) and sizes[-1] == n and sizes[0] >= 1
    order = c.importance_order()
    for layer in layers:
        assert layer.equals(c[order[: len(layer)]])


def test_checkpoint_like_layers(cloud):
    a = checkpoint_like_layers(cloud, seed=3)
    b = checkpoint_like_layers(cloud, seed=3)
    plain = importance_prefix_layers(cloud)
    assert all(x.equals(y) for x, y in zip(a, b))  # deterministic
    assert a[-1].equals(plain[-1])  # the top layer is the model itself
    for j in range(2):
        # same Gaussians and geometry, only DC colour and opacity carry the error, larger on lower layers
        assert np.array_equal(a[j].means, plain[j].means) and np.array_equal(a[j].scales, plain[j].scales)
        assert not np.array_equal(a[j].sh_dc, plain[j].sh_dc)
    err0 = np.abs(a[0].sh_dc - plain[0].sh_dc).mean()
    err1 = np.abs(a[1].sh_dc[: len(a[0])] - plain[1].sh_dc[: len(a[0])]).mean()
    assert err0 == pytest.approx(2 * err1, rel=1e-4)


def test_cap_layers(cloud):
    layers = importance_prefix_layers(cloud)
    same, note = cap_layers(layers, None)
    assert same is layers and note is None
    capped, note = cap_layers(layers, 200)
    assert len(capped[-1]) == 200 and [len(c) for c in capped] == [50, 100, 200]
    assert "--max-gaussians 200" in note


def test_missing_data_is_unavailable(tmp_path):
    config = BenchConfig(out_dir=tmp_path, shared_root=tmp_path / "no-shared")
    for name in ("playbot", "statue"):
        with pytest.raises(Unavailable, match="absent|not available"):
            layer_set(name, config)
    with pytest.raises(Unavailable, match="--lego-dir"):
        layer_set("lego", config)
    with pytest.raises(Unavailable, match="no .ply"):
        lego_checkpoints(tmp_path)
    with pytest.raises(Unavailable, match="module splatcast.nonexistent"):
        require("splatcast.nonexistent")
    with pytest.raises(Unavailable, match="lacks nothing_here"):
        require("splatcast.evaluate.common", "nothing_here")


def test_lego_checkpoints_sorted_by_iteration(tmp_path):
    formats = pytest.importorskip("splatcast.scene.formats")
    for it, n in ((16000, 300), (2000, 100), (4000, 200)):
        formats.write_scene(lab_bench(n, seed=it % 7), tmp_path / f"iteration_{it}.ply")
    ls = lego_checkpoints(tmp_path)
    assert [len(c) for c in ls.layers] == [100, 200, 300]
    assert "iteration_2000.ply, iteration_4000.ply, iteration_16000.ply" in ls.source


def test_lego_photos_are_held_out_views_on_white(tmp_path):
    from splatcast.evaluate.common import default_shared_root

    dataset = default_shared_root() / "data" / "datasets" / "lego-train"
    if not (dataset / "transforms_train.json").is_file():
        pytest.skip("../shared/data/datasets/lego-train is absent")
    formats = pytest.importorskip("splatcast.scene.formats")
    formats.write_scene(lab_bench(200, seed=0), tmp_path / "iter_2000.ply")
    ls = lego_checkpoints(tmp_path, dataset=dataset, resolution=32, max_views=2)
    assert "every 8th" in ls.describe()["photos"]
    assert len(ls.photos.images) == 2 and ls.photos.images[0].shape == (32, 32, 3)
    img = ls.photos.images[0]
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert np.mean(img[0, :] > 0.99) > 0.9  # the top row is background: white after compositing
    assert 0 < ls.photos.psnr(ls.layers[0]) < 40  # the lab bench is not lego
