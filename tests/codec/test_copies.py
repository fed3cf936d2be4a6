"""Exact copies (stream 10, docs/format.md 3.2): nested layers code each kept Gaussian as a flag.

Oracles: the input layers quantized directly (quantize_features / Grid, not the encoder's reconstruction) and the
layer below's rows, which every copy must equal bit for bit; the copy search against a brute-force comparison of
every pair."""

from __future__ import annotations

import numpy as np
import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.codec import container as ct
from splatcast.codec.copies import exact_matches, exact_matches_reference
from splatcast.codec.decoder import decode_progressive
from splatcast.codec.encoder import EncoderConfig, encode_layers, encode_with_stats
from splatcast.codec.knn import NeighbourIndex
from splatcast.codec.quantize import Grid, quantize_features, steps_for_quality
from splatcast.scene.cloud import GaussianCloud


def _nested(seed=4):
    base = synthetic_layers(n0=300, n_layers=3, sh_degree=1, seed=seed)
    nested = [base[0]]
    for extra in base[1:]:
        nested.append(GaussianCloud.concat([nested[-1], extra[: len(extra) // 2]]))
    return nested


def test_nested_layers_decode_exactly_and_kept_gaussians_cost_a_flag():
    layers = _nested()
    for entropy in ("zstd", "rans"):
        data, stats = encode_with_stats(layers, EncoderConfig(entropy=entropy, chunks=4, fidelity=False))
        assert [s.get("copies") for s in stats[1:]] == [len(layers[0]), len(layers[1])]
        dec = decode_progressive(data)
        index = ct.read_index(data)
        grid = Grid(index.grid_min, index.grid_max, index.pos_bits)
        steps = steps_for_quality(index.quality)
        for j, layer in enumerate(layers):
            pos, feat = dec.layer_arrays(j)
            want_pos, want_feat = grid.quantize(layer.means), quantize_features(layer, steps, index.sh_degree)
            got = sorted(map(tuple, np.concatenate([pos, feat], 1).tolist()))
            assert got == sorted(map(tuple, np.concatenate([want_pos, want_feat], 1).tolist()))
        # what the kept Gaussians cost: layer 1 holds 300 copies and 300 new Gaussians; coded without the copies
        # (the new ones predicted from the same layer below) it is hardly smaller: under a byte per copy
        new_only, _ = encode_with_stats([layers[0], layers[1][len(layers[0]):]],
                                        EncoderConfig(entropy=entropy, chunks=4, fidelity=False))
        alone = ct.read_index(new_only).layers[1].total_bytes
        with_copies = index.layers[1].total_bytes
        assert with_copies < alone + len(layers[0]), (entropy, with_copies, alone)


def test_copies_are_their_parents_and_have_no_neighbour_search():
    layers = _nested(seed=9)
    data, _, recon = encode_layers(layers, EncoderConfig(entropy="zstd", chunks=3, fidelity=False))
    dec = decode_progressive(data)
    low_pos, low_feat = dec.layer_arrays(0)
    pos, feat = dec.layer_arrays(1)
    nbr = dec.layer_neighbours(1)
    parents = nbr[:, 0]
    copies = recon[1].copy
    assert copies.sum() == len(layers[0])
    assert (nbr[copies, 1:] == -1).all()  # the decoder searched nothing for them
    assert np.array_equal(pos[copies], low_pos[parents[copies]])
    assert np.array_equal(feat[copies], low_feat[parents[copies]])
    # a dc-only request leaves copies complete (they have nothing in the rest part)
    partial = decode_progressive(data, 1, 3, "dc")
    ppos, pfeat = partial.layer_arrays(1)
    assert np.array_equal(pfeat[copies], feat[copies])


def _brute_matches(low_pos, low_feat, pos, feat):
    """The lowest lower row equal to each row, by comparing every pair (the oracle of exact_matches)."""
    low = np.concatenate([low_pos, low_feat], 1)
    rows = np.concatenate([pos, feat], 1)
    eq = (rows[:, None, :] == low[None, :, :]).all(axis=2)
    return np.where(eq.any(axis=1), eq.argmax(axis=1), -1)


@pytest.mark.parametrize("k", [1, 4, 8])
def test_exact_matches_from_neighbour_lists_equal_the_brute_force_with_crowds(k):
    # a lower layer of 500 Gaussians on 60 sites (crowds of co-located rows, features mostly distinct), and
    # queries that copy a crowd's last member, copy nothing at a crowded position, or lie elsewhere
    rng = np.random.default_rng(k)
    sites = rng.integers(0, 40, (60, 3))
    low_pos = sites[rng.integers(0, len(sites), 500)].astype(np.int32)
    low_feat = rng.integers(-2, 3, (500, 5)).astype(np.int32)
    low_feat[::7] = low_feat[3]  # repeated rows too: the lowest must win
    low_pos[::7] = low_pos[3]
    pick = rng.integers(0, 500, 300)
    pos, feat = low_pos[pick].copy(), low_feat[pick].copy()
    feat[::3, 0] += 7  # co-located with a crowd, equal to none of it
    pos[1::5] = rng.integers(40, 60, (len(pos[1::5]), 3))  # elsewhere
    nbr = NeighbourIndex(low_pos).query(pos, k)
    want = _brute_matches(low_pos, low_feat, pos, feat)
    assert (want >= 0).sum() > 100 and (want < 0).sum() > 100
    assert np.array_equal(exact_matches(low_pos, low_feat, pos, feat, nbr), want)
    assert np.array_equal(exact_matches_reference(low_pos, low_feat, pos, feat), want)
