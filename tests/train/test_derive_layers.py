"""Layers from one finished model: nested importance pruning, SH truncation, rising fidelity."""

from __future__ import annotations

import numpy as np
import pytest

from splatcast.errors import SceneError
from splatcast.codec.ordering import DEFAULT_ORDER, progressive_order
from splatcast.render.metrics import fidelity_psnr
from splatcast.scene.default import lab_bench
from splatcast.train.derive_layers import derive_layers, finetune_layer

from train_helpers import small_scene_cloud


def test_fidelity_rises_with_the_layer_index():
    model = lab_bench(4000, sh_degree=1)
    layers = derive_layers(model, 3)
    assert [len(layer) for layer in layers] == [1000, 2000, 4000]
    assert [layer.sh_degree for layer in layers] == [0, 1, 1]
    assert layers[-1].equals(model)
    fid = [fidelity_psnr(model, layer, n_views=4, width=64, height=64)["psnr"] for layer in layers]
    assert fid[0] < fid[1] < fid[2]
    # nested: every Gaussian of a coarse layer is among the next layer's (positions are untouched)
    for a, b in zip(layers, layers[1:]):
        sa = {tuple(m) for m in a.means}
        assert sa <= {tuple(m) for m in b.means}
    # the coarsest keeps the first quarter of the default (peel) order, and it beats the quarter of the paper's
    # importance order and of the one-pass blend order
    order = progressive_order(model, DEFAULT_ORDER)[:1000]
    assert {tuple(m) for m in model.means[order]} == {tuple(m) for m in layers[0].means}
    paper = derive_layers(model, 3, order="importance")
    assert {tuple(m) for m in model.means[model.importance_order()[:1000]]} == {tuple(m) for m in paper[0].means}
    assert fid[0] > fidelity_psnr(model, paper[0], n_views=4, width=64, height=64)["psnr"]
    one_pass = derive_layers(model, 3, order="blend")
    assert fid[0] > fidelity_psnr(model, one_pass[0], n_views=4, width=64, height=64)["psnr"]
    with pytest.raises(SceneError, match="order"):
        derive_layers(model, 3, order="size")


def test_compensation_and_arguments():
    model = small_scene_cloud(n=40)
    plain = derive_layers(model, 2, compensation=0.0)
    comp = derive_layers(model, 2, compensation=1.0)
    np.testing.assert_allclose(comp[0].scales - plain[0].scales, np.log(2.0) / 3, rtol=1e-5)
    assert comp[1].equals(plain[1])
    assert len(derive_layers(model, 1)[0]) == 40
    with pytest.raises(SceneError):
        derive_layers(model, 0)
    with pytest.raises(SceneError):
        derive_layers(model, 2, fractions=[0.8, 0.5])
    with pytest.raises(SceneError):
        derive_layers(model, 2, sh_degrees=[0, 2])


def test_finetune_moves_a_layer_towards_the_images():
    from splatcast.render.rasterize import render
    from splatcast.train.dataset import Dataset, View

    from train_helpers import orbit

    model = small_scene_cloud(n=120)
    views = [View(c, render(model, c, (1.0, 1.0, 1.0)), str(i), isolated=True) for i, c in enumerate(orbit(6, 24))]
    ds = Dataset(views, views[:2], (1.0, 1.0, 1.0), 3.3)
    coarse = derive_layers(model, 2, compensation=0.0)[0]
    tuned = finetune_layer(coarse, ds, 60)
    assert len(tuned) == len(coarse) and tuned.sh_degree == coarse.sh_degree
    err = lambda c: np.mean([np.mean((render(c, v.camera, (1, 1, 1)) - v.image) ** 2) for v in views])  # noqa: E731
    assert err(tuned) < 0.8 * err(coarse)
