"""The fidelity table (docs/format.md 1.3, 5): what the encoder records, joint chunks, the state rule, the MPD.

Oracles: an independent render of each decoded state (fidelity_psnr over the same 4 x 128 px orbit, computed here
with the metrics module, not with codec.fidelity), the decoder's own clouds of a split and a joint file, and the
byte layout of docs/format.md."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.codec import container as ct
from splatcast.codec.decoder import ProgressiveDecoder, decode, decode_progressive
from splatcast.codec.encoder import EncoderConfig, encode, encode_with_stats
from splatcast.dash.layout import build_mpd, check_index_matches, interpret_mpd
from splatcast.dash.mpd import parse_mpd, write_mpd
from splatcast.errors import BitstreamFormatError, ManifestError
from splatcast.render.metrics import fidelity_psnr


@pytest.fixture(scope="module")
def layers():
    return synthetic_layers(n0=150, n_layers=3, sh_degree=1, seed=5)


@pytest.fixture(scope="module")
def split(layers):
    return encode(layers, EncoderConfig(entropy="zstd", chunks=3, dc_only="on"))


def _fidelity(reference, cloud) -> float:
    return fidelity_psnr(reference, cloud, n_views=4, width=128, height=128)["psnr"]


def test_recorded_fidelity_is_that_of_the_state_shown(split):
    """Every full-pass and dc-sweep state: the code is floor(100 x the fidelity of what decoder.cloud() shows)."""
    index = ct.read_index(split)
    assert index.version == (ct.VERSION_MAJOR, ct.VERSION_MINOR)
    reference = decode(split)
    dec = ProgressiveDecoder(split)
    for j, layer in enumerate(index.layers):
        for c, ce in enumerate(layer.chunks):
            dec.add_chunk(j, c, split[ce.offset : ce.offset + ce.full_bytes])
            value = _fidelity(reference, dec.cloud())
            want = ct.FIDELITY_IDENTICAL if math.isinf(value) else math.floor(100 * value)
            assert abs(ce.fidelity_full - want) <= 1, (j, c, ce.fidelity_full, value)  # float rounding at a boundary
            assert dec.state_fidelity() == ct.fidelity_db(ce.fidelity_full)
    assert index.layers[-1].chunks[-1].fidelity_full == ct.FIDELITY_IDENTICAL
    # the dc sweep and the upgrade sweep of layer 2
    two = decode_progressive(split, 2, 3, "dc")
    chunks = index.layers[2].chunks
    assert two.state_fidelity() == ct.fidelity_db(chunks[-1].fidelity_dc)
    assert abs(math.floor(100 * _fidelity(reference, two.cloud())) - chunks[-1].fidelity_dc) <= 1
    two.upgrade_chunk(2, 0, split[chunks[0].offset + chunks[0].dc_bytes : chunks[0].offset + chunks[0].full_bytes])
    assert two.state_fidelity() == ct.fidelity_db(chunks[0].fidelity_upgraded)
    assert abs(math.floor(100 * _fidelity(reference, two.cloud())) - chunks[0].fidelity_upgraded) <= 1


def test_states_outside_the_three_families_are_not_measured(split):
    index = ct.read_index(split)
    dec = decode_progressive(split, 1, 1, "full")
    ce = index.layers[1].chunks[1]
    dec.add_chunk(1, 1, split[ce.offset : ce.offset + ce.dc_bytes], "dc")  # chunk 0 full, chunk 1 dc only
    assert dec.state_fidelity() is None
    mdc = encode(synthetic_layers(n0=80, n_layers=2, seed=2), EncoderConfig(entropy="zstd", chunks=2, mode="mdc"))
    assert decode_progressive(mdc, 1, 2).state_fidelity() is None  # layer 0 skipped: not a streaming state
    assert math.isinf(decode_progressive(mdc).state_fidelity())


def test_display_from_states_show_the_layer_below(layers):
    data, stats = encode_with_stats(layers, EncoderConfig(entropy="zstd", chunks=4, partial="hold", dc_only="on"))
    index = ct.read_index(data)
    for j in (1, 2):
        below = index.layers[j - 1].chunks[-1].fidelity_full
        assert index.layers[j].display_from == 4
        assert [c.fidelity_full for c in index.layers[j].chunks[:3]] == [below] * 3
        assert [c.fidelity_dc for c in index.layers[j].chunks[:3]] == [below] * 3
        assert stats[j]["display_from"] == 4


def test_joint_layers_decode_to_the_same_clouds_without_dc_states(layers, split):
    joint = encode(layers, EncoderConfig(entropy="zstd", chunks=3, dc_only="off"))
    assert len(joint) == len(split)  # the same streams, one part per chunk
    index = ct.read_index(joint)
    assert all(c.dc_bytes == c.full_bytes and c.crc_rest == 0 for layer in index.layers[1:] for c in layer.chunks)
    for op in [(None, None, "full"), (1, 2, "full"), (2, 1, "full")]:
        a, b = decode(joint, *op), decode(split, *op)
        assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))
    # a dc request of a joint chunk takes the whole chunk: the operating point is the full one
    a, b = decode(joint, 2, 2, "dc"), decode(split, 2, 2, "full")
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))


def test_auto_drops_dc_states_worse_than_the_layer_below(layers):
    """dc_only=auto writes a layer joint exactly when one of its measured dc states is below the layer below."""
    _, stats = encode_with_stats(layers, EncoderConfig(entropy="zstd", chunks=3, dc_only="on"))
    data, auto_stats = encode_with_stats(layers, EncoderConfig(entropy="zstd", chunks=3))
    index = ct.read_index(data)
    for j in (1, 2):
        below = stats[j - 1]["fidelity_db"]["full"][-1]
        worse = min(stats[j]["fidelity_db"]["dc"]) < below - 0.005
        joint = all(c.dc_bytes == c.full_bytes for c in index.layers[j].chunks)
        assert joint == worse == bool(auto_stats[j].get("joint")), (j, stats[j]["fidelity_db"], below)
        if not joint:
            assert min(c.fidelity_dc for c in index.layers[j].chunks) >= index.layers[j - 1].chunks[-1].fidelity_full


def test_version_1_rules():
    """Version 1 has no fidelity table; an inter chunk with dc_bytes == full_bytes is an error there. The file is the
    frozen 2.0 golden stream rebuilt as 1.0 (their stream rules are the same; 3.0 changed them)."""
    split = (Path(__file__).resolve().parents[2] / "web" / "test" / "golden" / "rans_scalable_v2.splc").read_bytes()
    index = ct.read_index(split)
    assert index.version == (2, 0) and any(c.fidelity_full for layer in index.layers for c in layer.chunks)
    assert ct.fidelity_code(math.inf) == 0xFFFF and ct.fidelity_code(12.349) == 1234 and ct.fidelity_code(0.001) == 1
    assert ct.fidelity_db(0) is None and ct.fidelity_db(2345) == 23.45
    # rebuild the header as version 1.0 (no fidelity entries), with a joint inter chunk
    hb1 = index.header_bytes - sum(6 * len(layer.chunks) for layer in index.layers)
    body = bytearray(split[16 : 16 + 60])
    shift = index.header_bytes - hb1
    struct.pack_into("<Q", body, 0, index.total_bytes - shift)
    for layer in index.layers:
        k = layer.codebook_size
        body += struct.pack("<IBBBBIIHH", 20 + 12 * k + 32 * len(layer.chunks), layer.coding, layer.sh_degree,
                            layer.knn_k, 0, layer.gaussians, len(layer.chunks), k, layer.display_from)
        body += layer.codebook.astype("<i4").tobytes()
        for c in layer.chunks:
            body += struct.pack("<QIIIIII", c.offset - shift, c.dc_bytes, c.full_bytes, c.gaussians, c.crc_dc,
                                c.crc_rest, 0)
    v1 = struct.pack("<4sBBHII", b"SPLC", 1, 0, 0, hb1, __import__("zlib").crc32(body)) + bytes(body)
    v1 += split[index.header_bytes :]
    old = ct.read_index(v1)
    assert old.version == (1, 0) and all(c.fidelity_full == 0 for layer in old.layers for c in layer.chunks)
    a, b = decode(v1), decode(split)
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))
    assert ProgressiveDecoder(v1).state_fidelity() is None


def test_mpd_carries_the_fidelity_and_a_client_checks_it(split):
    index = ct.read_index(split)
    text = write_mpd(build_mpd(index, "scene.splc")).decode()
    manifest = interpret_mpd(parse_mpd(text.encode()))
    ops = manifest.layers[1].operating_points
    assert [op.fidelity_db for op in ops] == [ct.fidelity_db(getattr(c, f"fidelity_{r}"))
                                              for c in index.layers[1].chunks for r in ("dc", "full")]
    assert manifest.layers[-1].operating_points[-1].fidelity_db == math.inf
    check_index_matches(manifest, index)
    first = ops[1].fidelity_db
    tampered = text.replace(f"fidelity={first:.2f}", f"fidelity={first + 1:.2f}", 1)
    with pytest.raises(ManifestError, match="fidelity"):
        check_index_matches(interpret_mpd(parse_mpd(tampered.encode())), index)
    with pytest.raises(ManifestError, match="fidelity"):
        interpret_mpd(parse_mpd(text.replace(f"fidelity={first:.2f}", "fidelity=1e999", 1).encode()))


def test_fidelity_off_writes_unknown_codes(layers):
    data = encode(layers, EncoderConfig(entropy="zstd", chunks=3, fidelity=False))
    index = ct.read_index(data)
    assert all(c.fidelity_full == c.fidelity_dc == c.fidelity_upgraded == 0 for la in index.layers for c in la.chunks)
    assert all(layer.display_from == 1 for layer in index.layers)  # auto without measurement: replace
    assert ProgressiveDecoder(data).state_fidelity() is None


def test_a_version_1_reading_of_a_version_2_header_fails_cleanly(split):
    """The fidelity table is not skippable as a 1.0 layer record's trailing bytes: hence the new major."""
    with pytest.raises(BitstreamFormatError, match="trailing bytes"):
        ct.read_index(split[:4] + b"\x01" + split[5:])
