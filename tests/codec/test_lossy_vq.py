"""Lossy SH-DC VQ (``EncoderConfig.vq_lambda``, codec/vq.py): refinements dropped by a rate-distortion rule.

Oracles: the input quantized by the documented quantizer (every column but SH-DC must come back exactly, whatever
lambda), the decoder's own reconstruction (the encoder must predict the next layer from what the decoder rebuilds,
not from the exact input), and the rule itself recomputed from its definition on small arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

from splatcast.codec import EncoderConfig
from splatcast.codec.decoder import decode_progressive
from splatcast.codec.encoder import encode_layers
from splatcast.codec.quantize import quantize_features, steps_for_quality
from splatcast.codec.vq import choose_codebook, refine_rd
from tests.fixtures.synthetic import synthetic_layers

FAST = dict(entropy="zstd", chunks=3, fidelity=False)


@pytest.fixture(scope="module")
def layers():
    return synthetic_layers(n0=1500, n_layers=3, sh_degree=1, seed=21)


@pytest.fixture(scope="module")
def streams(layers):
    # VQ-only with a small fixed K: an auto K (chosen by distortion) can hold every distinct residual of so small
    # a layer, which would make it exact
    return {lam: encode_layers(layers, EncoderConfig(vq="auto" if lam < 10 else 16, vq_lambda=lam, **FAST))
            for lam in (0.0, 2.0, float("inf"))}


def test_lambda_zero_is_the_exact_codec(layers, streams):
    data, _, _ = streams[0.0]
    assert data == encode_layers(layers, EncoderConfig(vq="auto", **FAST))[0]


@pytest.mark.parametrize("lam", [2.0, float("inf")])
def test_decoder_rebuilds_what_the_encoder_predicted_from(layers, streams, lam):
    data, stats, recon = streams[lam]
    dec = decode_progressive(data)
    steps = steps_for_quality(8)
    for j, q in enumerate(recon):
        pos, feat = dec.layer_arrays(j)
        assert np.array_equal(pos, q.pos) and np.array_equal(feat, q.feat), j
        source = quantize_features(layers[j], steps, layers[j].sh_degree)[q.source_index]
        # only SH-DC is lossy: opacity, scale, rotation and SH rest come back exactly
        assert np.array_equal(feat[:, 3:], source[:, 3:]), j
        off = (feat[:, 0:3] != source[:, 0:3]).any(axis=1)
        if j == 0:
            assert not off.any()  # the intra layer is not touched
        else:
            assert off.mean() > 0.05, (j, off.mean())  # the tool does drop refinements
    exact = streams[0.0][0]
    assert len(data) < len(exact)


def test_vq_only_sends_no_refinement(streams):
    data, stats, _ = streams[float("inf")]
    for st in stats[1:]:
        assert st["codebook_size"] > 0
        # an all-zero refinement stream is one symbol: a few bytes per chunk
        assert st["stream_bytes"]["dc"] < 200 * st["chunks"], st["stream_bytes"]


def test_rd_rule_from_its_definition():
    rng = np.random.default_rng(3)
    e = np.rint(rng.laplace(0, 1.5, (400, 3))).astype(np.int32)
    w = rng.uniform(0.2, 3.0, 400)
    for lam in (0.3, 1.0, 5.0):
        got = refine_rd(e, w, lam)
        # bits of a row under the per-channel order-0 histograms of e; bits(0) as the rule estimates it
        bits = np.zeros(400)
        for c in range(3):
            vals, counts = np.unique(e[:, c], return_counts=True)
            p = dict(zip(vals.tolist(), (counts / 400).tolist()))
            bits += np.array([-np.log2(p[v]) for v in e[:, c].tolist()])
        zero_bits = np.median(bits[~e.any(axis=1)])
        drop = w * (e.astype(float) ** 2).sum(axis=1) < lam * (bits - zero_bits)
        assert np.array_equal(got[drop], np.zeros((drop.sum(), 3))) and np.array_equal(got[~drop], e[~drop])
        assert 0 < drop.sum() < 400
    assert np.array_equal(refine_rd(e, w, 0.0), e)
    assert not refine_rd(e, w, float("inf")).any()


def test_k_minimises_distortion_plus_lambda_rate():
    rng = np.random.default_rng(4)
    resid = np.rint(rng.laplace(0, 3, (3000, 3))).astype(np.int32)
    lam = 1.0
    cb, idx, sent, report = choose_codebook(resid, "auto", candidates=(0, 16, 64), lam=lam)
    costs = [r["distortion"] + lam * r["bits"] for r in report]
    assert report[int(np.argmin(costs))]["k"] == len(cb)
    dist = float((((resid - (cb[idx] if len(cb) else 0)) - sent).astype(float) ** 2).sum())
    assert dist == pytest.approx(report[int(np.argmin(costs))]["distortion"])


def test_bad_lambda_is_refused():
    for bad in (-1.0, float("nan"), "x"):
        with pytest.raises(ValueError):
            EncoderConfig(vq_lambda=bad).validate()


def test_dropped_refinements_never_leave_the_feature_range():
    """SH-DC at the edge of the quantizer's range: a codeword alone could rebuild a value outside it, which the
    decoder refuses; those Gaussians keep their exact refinement, and the file decodes to the encoder's rebuild."""
    from splatcast.codec.quantize import FEATURE_LIMIT

    layers = synthetic_layers(n0=800, n_layers=2, sh_degree=0, seed=5)
    step = steps_for_quality(8)[0]
    rng = np.random.default_rng(6)
    for c in layers:
        c.sh_dc[:] = np.float32((FEATURE_LIMIT - 2) * step) + rng.integers(-3, 4, c.sh_dc.shape) * np.float32(step)
    data, _, recon = encode_layers(layers, EncoderConfig(vq=16, vq_lambda=float("inf"), **FAST))
    dec = decode_progressive(data)
    for j, q in enumerate(recon):
        assert np.array_equal(dec.layer_arrays(j)[1], q.feat)
    assert np.abs(recon[1].feat).max() <= FEATURE_LIMIT
