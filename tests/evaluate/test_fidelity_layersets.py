"""The layer sets the suite evaluates and the fidelity they share (splatcast.render.metrics.Fidelity)."""

import math

import numpy as np
import pytest

from splatcast.evaluate.common import BenchConfig, Unavailable
from splatcast.evaluate.layersets import (
    LayerSet,
    cap_layers,
    demo,
    importance_prefix_layers,
    layer_set,
    lego_checkpoints,
)
from splatcast.render.camera import orbit_cameras
from splatcast.render.metrics import psnr
from splatcast.scene.default import lab_bench
from splatcast.train import derive_layers


@pytest.fixture(scope="module")
def cloud():
    return lab_bench(800, seed=0)


def test_a_layer_set_renders_its_top_layer_once_per_view_setting(cloud, monkeypatch):
    from splatcast.render import rasterize

    calls = []
    real = rasterize.render

    def counting(c, cam, background=(0.0, 0.0, 0.0)):
        calls.append(id(c))
        return real(c, cam, background)

    monkeypatch.setattr(rasterize, "render", counting)
    layers = importance_prefix_layers(cloud)
    ls = LayerSet("t", layers, "test")
    fid = ls.fidelity(3, 48)
    assert calls.count(id(ls.top)) == 3
    assert ls.fidelity(3, 48) is fid and calls.count(id(ls.top)) == 3  # a second experiment: no new render
    assert ls.fidelity(2, 32) is not fid and calls.count(id(ls.top)) == 5  # another setting: its own views
    test = layers[0]
    cams = orbit_cameras(ls.top, 3, 48, 48)
    values = [psnr(real(ls.top, c), real(test, c)) for c in cams]
    assert fid.psnr(test) == float(np.mean(values))  # no view of a quarter of the cloud is identical
    assert math.isinf(fid.psnr(ls.top))


def test_demo_layers_are_the_trainers_derive_layers():
    ls = demo(1200, seed=0)
    expected = derive_layers(lab_bench(1200, 0), n_layers=3)
    assert len(ls.layers) == 3 and all(a.equals(b) for a, b in zip(ls.layers, expected))
    assert ls.source == "lab_bench(1200, seed=0) -> 3 layers by splatcast.train.derive_layers"


@pytest.mark.parametrize("n", [1, 2, 7, 800])
def test_importance_prefix_layers_are_nested_prefixes(n):
    c = lab_bench(max(n, 10), seed=1)[:n]
    layers = importance_prefix_layers(c)
    sizes = [len(x) for x in layers]
    assert sizes == sorted(sizes) and sizes[-1] == n and sizes[0] >= 1
    order = c.importance_order()
    for layer in layers:
        assert layer.equals(c[order[: len(layer)]])


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
        with pytest.raises(Unavailable, match="absent"):
            layer_set(name, config)
    with pytest.raises(Unavailable, match="--lego-dir"):
        layer_set("lego", config)
    with pytest.raises(Unavailable, match="no .ply"):
        lego_checkpoints(tmp_path)


def test_lego_checkpoints_sorted_by_iteration(tmp_path):
    from splatcast.scene import formats

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
    from splatcast.scene import formats

    formats.write_scene(lab_bench(200, seed=0), tmp_path / "iter_2000.ply")
    ls = lego_checkpoints(tmp_path, dataset=dataset, resolution=32, max_views=2)
    assert "every 8th" in ls.describe()["photos"]
    assert len(ls.photos.images) == 2 and ls.photos.images[0].shape == (32, 32, 3)
    img = ls.photos.images[0]
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert np.mean(img[0, :] > 0.99) > 0.9  # the top row is background: white after compositing
    assert 0 < ls.photos.psnr(ls.layers[0]) < 40  # the lab bench is not lego
