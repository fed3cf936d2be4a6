"""End-to-end training on a tiny synthetic scene, and the ``train`` / ``layers`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splatcast.cli.main import main
from splatcast.render.rasterize import render
from splatcast.scene.formats import read_scene
from splatcast.train.dataset import Dataset, View
from splatcast.train.trainer import TrainConfig, Trainer, cloud_from_params

from train_helpers import orbit, small_scene_cloud, write_nerf_dataset


def _dataset(size=32, n_views=12) -> Dataset:
    cloud = small_scene_cloud()
    views = [View(c, render(cloud, c, (1.0, 1.0, 1.0)), f"v{i}", isolated=True)  # an object alone on white
             for i, c in enumerate(orbit(n_views, size))]
    return Dataset([v for i, v in enumerate(views) if i % 4], [v for i, v in enumerate(views) if i % 4 == 0],
                   (1.0, 1.0, 1.0), 3.3, "synthetic")


def test_training_improves_test_psnr_and_densifies():
    ds = _dataset()
    config = TrainConfig(iterations=240, init_points=400, init_half_size=0.6, densify_from=40, densify_every=40,
                         densify_until=160, opacity_reset_every=10**6, sh_increase_every=100)
    trainer = Trainer(ds, config)
    before = trainer.evaluate()
    counts = []
    for _ in range(config.iterations):
        trainer.step()
        if trainer.last_densify is not None:
            counts.append(trainer.last_densify)
            trainer.last_densify = None
    after = trainer.evaluate()
    assert after > before + 6.0, (before, after)
    assert len(counts) == 3  # at 80, 120, 160 (after densify_from, at most densify_until)
    assert sum(c["cloned"] + c["split"] for c in counts) > 0
    assert trainer.sh_degree == 2
    cloud = trainer.cloud()
    assert cloud.sh_degree == 2 and len(cloud) == len(trainer)
    cloud.validate()
    assert set(trainer.timings) == {"forward", "loss", "backward", "optimizer", "densify"}


def test_additive_capture_keeps_each_layer_inside_the_next(tmp_path):
    """capture() freezes a layer: later steps and densification leave its Gaussians bit-identical, new ones are
    added beside them, and the lineage names the row each one is or comes from."""
    from splatcast.train.trainer import Lineage

    ds = _dataset()
    config = TrainConfig(iterations=240, init_points=300, init_half_size=0.6, densify_from=20, densify_every=30,
                         densify_until=230, opacity_reset_every=120, sh_increase_every=100)
    trainer = Trainer(ds, config)
    layers, lineages = [], []
    for it in range(1, config.iterations + 1):
        trainer.step()
        if it in (60, 150, 240):
            layer, lineage = trainer.capture()
            layers.append(layer)
            lineages.append(lineage)
    assert (lineages[0].parent == -1).all() and not lineages[0].kept.any()
    for low, high, lin in zip(layers, layers[1:], lineages[1:]):
        assert len(high) > len(low)  # densification added Gaussians
        kept = np.flatnonzero(lin.kept)
        np.testing.assert_array_equal(lin.parent[kept], np.arange(len(low)))  # every lower row, in order
        a, b = low.with_sh_degree(high.sh_degree).arrays(), high[kept].arrays()
        assert all(np.array_equal(a[k], b[k]) for k in a)  # bit-identical
        new = np.flatnonzero(~lin.kept)
        assert ((lin.parent[new] >= 0) & (lin.parent[new] < len(low))).all()
    lineages[1].save(tmp_path / "lineage.npz")
    back = Lineage.load(tmp_path / "lineage.npz")
    assert np.array_equal(back.parent, lineages[1].parent) and np.array_equal(back.kept, lineages[1].kept)


def test_train_additive_command_writes_nested_layers_and_lineage(tmp_path, capsys):
    from splatcast.train.trainer import Lineage

    write_nerf_dataset(tmp_path / "ds", small_scene_cloud(), n_views=9, size=32)
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "ds"), "-o", str(out), "--iterations", "60", "--resolution", "24",
                 "--save-at", "30,60", "--additive", "--init-points", "300", "--json"]) == 0
    capsys.readouterr()
    low, high = read_scene(out / "iteration_30.ply"), read_scene(out / "iteration_60.ply")
    lineage = Lineage.load(out / "iteration_60.lineage.npz")
    kept = np.flatnonzero(lineage.kept)
    np.testing.assert_array_equal(lineage.parent[kept], np.arange(len(low)))
    # geometry frozen, opacity and SH-DC refined (train --additive's choice)
    for name in ("means", "scales", "quats"):
        np.testing.assert_array_equal(getattr(high, name)[kept], getattr(low, name))
    assert len(high) >= len(low)
    assert main(["train", str(tmp_path / "ds"), "-o", str(out), "--additive", "--auto-layers", "2"]) == 2


def test_position_lr_schedule_is_log_linear():
    trainer = Trainer(_dataset(size=16, n_views=4), TrainConfig(iterations=100, init_points=10))
    assert trainer.position_lr(0) == pytest.approx(1.6e-4 * 3.3)
    assert trainer.position_lr(100) == pytest.approx(1.6e-6 * 3.3)
    assert trainer.position_lr(50) == pytest.approx(1.6e-5 * 3.3)


def test_params_round_trip_through_a_cloud():
    trainer = Trainer(_dataset(size=16, n_views=4), TrainConfig(iterations=10, init_points=20))
    cloud = cloud_from_params(trainer.params)
    assert cloud.sh_degree == 3 and len(cloud) == 20
    np.testing.assert_allclose(cloud.means, trainer.params["means"], rtol=1e-6)


def test_train_and_layers_commands(tmp_path, capsys):
    write_nerf_dataset(tmp_path / "ds", small_scene_cloud(), n_views=9, size=32)
    out = tmp_path / "run"
    rc = main(["train", str(tmp_path / "ds"), "-o", str(out), "--iterations", "60", "--resolution", "24",
               "--eval-every", "20", "--auto-layers", "2", "--init-points", "300", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert [layer["iteration"] for layer in summary["layers"]][-1] == 60 and len(summary["layers"]) == 2
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [20, 40, 60]
    assert set(log[0]) == {"iteration", "loss", "train_psnr", "test_psnr", "gaussians", "seconds"}
    assert not (out / ".snapshots").exists()
    final = read_scene(out / "iteration_60.ply")
    assert len(final) == log[-1]["gaussians"]

    rc = main(["layers", str(out / "iteration_60.ply"), "-o", str(tmp_path / "layers"), "--layers", "3", "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)["layers"]
    assert [r["gaussians"] for r in rows] == [round(len(final) / 4), round(len(final) / 2), len(final)]
    assert rows[-1]["fidelity_psnr"] is None  # identical to the model
    assert rows[0]["fidelity_psnr"] < rows[1]["fidelity_psnr"]

    rc = main(["layers", str(out / "iteration_60.ply"), "-o", str(tmp_path / "tuned"), "--layers", "2",
               "--images", str(tmp_path / "ds"), "--finetune", "5", "--resolution", "24", "--no-fidelity", "--json"])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)["layers"]
    assert len(rows) == 2 and "fidelity_psnr" not in rows[0]
    assert len(read_scene(tmp_path / "tuned" / "layer_0.ply")) == rows[0]["gaussians"]
    assert main(["layers", str(out / "iteration_60.ply"), "-o", str(tmp_path / "x"), "--finetune", "5"]) == 2


def test_train_command_rejects_bad_arguments(tmp_path, capsys):
    write_nerf_dataset(tmp_path / "ds", small_scene_cloud(), n_views=2, size=16)
    assert main(["train", str(tmp_path / "ds"), "-o", str(tmp_path / "o"), "--save-at", "5,x"]) == 2
    assert main(["train", str(tmp_path / "ds"), "-o", str(tmp_path / "o"), "--iterations", "10",
                 "--save-at", "20"]) == 2
    assert main(["train", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
