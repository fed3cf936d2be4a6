"""`splatcast encode` / `decode` / `info` on small synthetic layers written as PLY."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.cli.main import main

formats = pytest.importorskip("splatcast.scene.formats")


@pytest.fixture(scope="module")
def ply_layers(tmp_path_factory):
    d = tmp_path_factory.mktemp("layers")
    paths = []
    for j, cloud in enumerate(synthetic_layers(150, 2, 1, seed=7)):
        p = d / f"L{j}.ply"
        formats.write_scene(cloud, p)
        paths.append(str(p))
    return paths


def test_encode_decode_info_json(ply_layers, tmp_path, capsys):
    out = tmp_path / "s.splc"
    rc = main(["encode", *ply_layers, "-o", str(out), "--entropy", "zstd", "--chunks", "3", "--vq", "8", "--json"])
    assert rc == 0
    enc = json.loads(capsys.readouterr().out)
    keys = {"index", "gaussians", "bytes", "bits_per_gaussian", "mode_entropy_bits", "codebook_size", "encode_s"}
    assert [set(layer) >= keys for layer in enc["layers"]] == [True, True]
    assert enc["layers"][1]["codebook_size"] <= 8 and enc["layers"][0]["mode_entropy_bits"] is None
    assert sum(layer["bytes"] for layer in enc["layers"]) < out.stat().st_size

    ply = tmp_path / "o.ply"
    assert main(["decode", str(out), "-o", str(ply), "--json"]) == 0
    dec = json.loads(capsys.readouterr().out)
    assert [layer["index"] for layer in dec["layers"]] == [0, 1]
    assert {"index", "gaussians", "decode_s", "ms_per_kgaussian"} <= set(dec["layers"][1])
    cloud = formats.read_scene(ply)
    assert len(cloud) == dec["gaussians"] == 300

    assert main(["decode", str(out), "-o", str(ply), "--layer", "1", "--chunks", "1", "--refine", "dc", "--json"]) == 0
    part = json.loads(capsys.readouterr().out)
    assert part["layers"][1]["chunks"] == 1

    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["layers"][1]["coding"] == "inter" and info["total_bytes"] == out.stat().st_size
    # the readable form: one table row per layer, one line per chunk, no Python reprs
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.split()[:2] in (["0", "intra"], ["1", "inter"])]
    assert [int(r[2].replace(",", "")) for r in rows] == [layer["gaussians"] for layer in info["layers"]]
    chunk_lines = sum(1 for line in text.splitlines() if " G  bytes " in line)
    assert chunk_lines == sum(layer["chunks"] for layer in info["layers"])
    assert "{" not in text and "'" not in text


def test_clean_errors(ply_layers, tmp_path, capsys):
    bad = tmp_path / "bad.splc"
    bad.write_bytes(b"SPLC" + bytes(40))
    assert main(["decode", str(bad), "-o", str(tmp_path / "x.ply")]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["encode", *ply_layers, "-o", str(tmp_path / "y.splc"), "--vq", "lots"]) == 2
    out = tmp_path / "z.splc"
    assert main(["encode", *ply_layers, "-o", str(out), "--entropy", "zstd", "--json"]) == 0
    capsys.readouterr()
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    assert main(["decode", str(out), "-o", str(tmp_path / "p.ply"), "--layer", "1"]) == 2
    assert main(["decode", str(out), "-o", str(tmp_path / "p.ply"), "--json"]) == 0  # a prefix decodes
    capsys.readouterr()
    for flag in ("--chunks", "--layer"):  # once a ValueError traceback
        assert main(["decode", str(out), "-o", str(tmp_path / "p.ply"), flag, "-1"]) == 2
        assert "must be >= 0" in capsys.readouterr().err


def test_hold_policy_shows_the_layer_below_until_complete():
    from splatcast.codec import EncoderConfig, decode
    from splatcast.codec.encoder import encode_layers

    layers = synthetic_layers(200, 2, 0, seed=1)
    data, _, _ = encode_layers(layers, EncoderConfig(entropy="zstd", chunks=3, partial="hold"))
    below = decode(data, layer=0)
    for c in range(3):
        assert decode(data, layer=1, chunks=c).equals(below)
    assert len(decode(data, layer=1, chunks=3)) == len(layers[1])
    assert np.isfinite(decode(data).means).all()


def test_encode_refuses_layers_of_two_scenes_and_warns_on_the_order(tmp_path, capsys):
    from splatcast.scene.default import lab_bench

    small, big = lab_bench(200, seed=1), lab_bench(400, seed=1)
    far = big.copy()
    far.means = far.means + np.float32(100.0)  # the same shape, somewhere else: not this scene's layer
    paths = {}
    for name, cloud in (("small", small), ("big", big), ("far", far)):
        paths[name] = str(tmp_path / f"{name}.ply")
        formats.write_scene(cloud, paths[name])
    out = str(tmp_path / "x.splc")
    assert main(["encode", paths["small"], paths["far"], "-o", out, "--fidelity", "off"]) == 2
    assert "same scene" in capsys.readouterr().err and not (tmp_path / "x.splc").exists()
    assert main(["encode", paths["small"], paths["far"], "-o", out, "--fidelity", "off", "--allow-mismatch"]) == 0
    capsys.readouterr()
    assert main(["encode", paths["big"], paths["small"], "-o", out, "--fidelity", "off"]) == 0
    assert "fewer Gaussians" in capsys.readouterr().err
