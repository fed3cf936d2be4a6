"""Encoder/decoder: bit-exact round trips, deterministic neighbours, prefixes, progressive decoding, fuzzing."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from splatcast.codec import EncoderConfig, ProgressiveDecoder, decode, read_index
from splatcast.codec.decoder import decode_progressive
from splatcast.codec.encoder import encode_layers
from splatcast.codec.knn import knn, knn_reference
from splatcast.codec.layers import chunk_bounds, morton_codes, morton_codes_reference
from splatcast.codec.predict import bilateral_predict, bilateral_reference
from splatcast.codec.quantize import Grid, dequantize
from splatcast.errors import BitstreamError, ChecksumError, TruncatedError
from splatcast.scene.cloud import GaussianCloud

import spec_reference as spec
from tests.fixtures.synthetic import synthetic_layers

FAST = dict(entropy="zstd", chunks=3)


@pytest.fixture(scope="module")
def encoded(layers3):
    data, stats, recon = encode_layers(layers3, EncoderConfig(vq=16, **FAST))
    return layers3, data, stats, recon


def test_round_trip_is_bit_exact_on_integers(encoded):
    layers, data, stats, recon = encoded
    dec = decode_progressive(data)
    idx = read_index(data)
    for j, q in enumerate(recon):
        pos, feat = dec.layer_arrays(j)
        assert np.array_equal(pos, q.pos) and np.array_equal(feat, q.feat)
        # the decoded layer is the input quantized: rows map back through source_index
        grid = Grid(idx.grid_min, idx.grid_max, idx.pos_bits)
        cloud = dequantize(grid, idx.steps, pos, feat, layers[j].sh_degree)
        src = layers[j][q.source_index]
        assert np.abs(cloud.means - src.means).max() <= grid.step.max() / 2 + 1e-6
        assert np.abs(cloud.sh_dc - src.sh_dc).max() <= idx.steps[0] / 2 + 1e-6
        assert np.abs(cloud.scales - src.scales).max() <= idx.steps[2] / 2 + 1e-6
    assert stats[1]["codebook_size"] == 16 and stats[2]["mode_entropy_bits"] > 0
    out = decode(data)
    assert out.equals(dec.layer_cloud(2)) and len(out) == len(layers[2])


def test_encoder_and_decoder_pick_identical_neighbours(encoded):
    _, data, _, recon = encoded
    dec = decode_progressive(data)
    for j in (1, 2):
        assert np.array_equal(dec.layer_neighbours(j), recon[j].neighbours)
        # the stream's parent is the first neighbour
        assert np.array_equal(recon[j].parents, recon[j].neighbours[:, 0])


def test_knn_matches_brute_force_with_ties():
    rng = np.random.default_rng(0)
    pts = rng.integers(0, 6, size=(300, 3)).astype(np.int32)  # a coarse grid: many exact ties and duplicates
    qs = rng.integers(0, 6, size=(200, 3)).astype(np.int32)
    for k in (1, 8, 20):
        assert np.array_equal(knn(pts, qs, k), knn_reference(pts, qs, k))
    assert knn(pts[:1], qs, 8).shape == (200, 1)
    assert knn(pts[:0], qs, 8).shape == (200, 0)
    assert knn(pts, qs[:0], 8).shape == (0, 8)


def test_bilateral_fast_path_matches_reference():
    rng = np.random.default_rng(0)
    p_low = rng.integers(0, 1000, size=(200, 3)).astype(np.int32)
    f_low = rng.integers(-300, 300, size=(200, 14)).astype(np.int32)
    pos = rng.integers(0, 1000, size=(50, 3)).astype(np.int32)
    nbr = knn(p_low, pos, 8)
    assert np.array_equal(bilateral_predict(p_low, f_low, pos, nbr), bilateral_reference(p_low, f_low, pos, nbr))


def test_morton_and_chunks():
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 1 << 21, size=(100, 3)).astype(np.int32)
    assert np.array_equal(morton_codes(pos), morton_codes_reference(pos))
    assert chunk_bounds(0, 4) == [] and chunk_bounds(1, 4) == [(0, 1)]
    assert chunk_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]


@pytest.mark.parametrize("n,m,g", [(125000, 8, 1.5), (1000, 8, 2.0), (10, 8, 2.0), (8, 8, 4.0), (3, 8, 1.3),
                                   (0, 5, 2.0)])
def test_growing_chunks(n, m, g):
    bounds = chunk_bounds(n, m, g)
    sizes = [b - a for a, b in bounds]
    assert len(sizes) == min(n, m) and sum(sizes) == n and all(s >= 1 for s in sizes)
    assert all(b[0] == a[1] for a, b in zip(bounds, bounds[1:]))  # consecutive
    assert sizes == sorted(sizes)  # the first chunk is the smallest
    if n >= 100000:  # away from rounding and the one-Gaussian floor, each chunk is ~g times the one before
        assert all(abs(b / a - g) < 0.05 * g for a, b in zip(sizes, sizes[1:]))
    for bad in (0.5, 4.5):
        with pytest.raises(ValueError, match="growth"):
            chunk_bounds(n, m, bad)
    with pytest.raises(ValueError, match="chunk_growth"):
        EncoderConfig(chunk_growth=9.0).validate()


def test_growing_chunks_by_hand():
    """Shares 1 : g : g^2 ... of n, cut at floor(n * cumulative share); every chunk keeps at least one item."""
    assert chunk_bounds(70, 3, 2.0) == [(0, 10), (10, 30), (30, 70)]  # 1 : 2 : 4 of 70
    assert chunk_bounds(13, 2, 3.0) == [(0, 3), (3, 13)]  # 13 / 4 = 3.25
    assert chunk_bounds(4, 4, 4.0) == [(0, 1), (1, 2), (2, 3), (3, 4)]  # 4 * 1/85 -> 0: raised to one each
    assert chunk_bounds(7, 3, 1.0) == [(0, 2), (2, 4), (4, 7)]


@pytest.mark.parametrize("sizes", [(0,), (1,), (1, 1), (0, 5), (5, 0, 3), (2, 7)])
def test_tiny_and_empty_layers(sizes):
    """Oracle: each decoded layer is its input quantized by the spec's formulas (docs/format.md section 2), and the
    decoded cloud is their spec dequantization (tests/codec/spec_reference.py), not the encoder's reconstruction."""
    layers = [synthetic_layers(max(n, 1), 1, 0, seed=i)[0][:n] for i, n in enumerate(sizes)]
    data, _, _ = encode_layers(layers, EncoderConfig(**FAST))
    dec = decode_progressive(data)
    idx = read_index(data)
    assert [layer.gaussians for layer in idx.layers] == list(sizes)
    assert [layer.coding for layer in idx.layers] == [0] + [int(a > 0) for a in sizes[:-1]]  # inter above non-empty
    for j, cloud in enumerate(layers):
        pos, feat = dec.layer_arrays(j)
        want_pos = spec.quantize_positions(cloud.means, idx.grid_min, idx.grid_max, idx.pos_bits)
        want_feat = spec.quantize_features(cloud, idx.steps, idx.sh_degree)
        got = sorted(map(tuple, np.concatenate([pos, feat], 1).tolist()))
        assert got == sorted(map(tuple, np.concatenate([want_pos, want_feat], 1).tolist())), j
    out = decode(data)
    pos, feat = dec.layer_arrays(len(sizes) - 1)
    want = spec.dequantize_features(feat, idx.steps, 0)
    want["means"] = spec.dequantize_positions(pos, idx.grid_min, idx.grid_max, idx.pos_bits)
    assert len(out) == sizes[-1] and out.sh_degree == 0
    for name, b in want.items():
        assert np.array_equal(getattr(out, name), b), name


def test_mdc_layers_decode_on_their_own(layers3):
    data, stats, recon = encode_layers(layers3, EncoderConfig(mode="mdc", **FAST))
    assert all(s["mode_entropy_bits"] is None for s in stats)
    dec = decode_progressive(data, layer=2)
    assert dec.chunks_received(0) == 0 and np.array_equal(dec.layer_arrays(2)[1], recon[2].feat)


def test_prefixes_decode_to_the_chunks_they_hold(encoded):
    _, data, _, _ = encoded
    idx = read_index(data)
    ends = [c.offset + c.full_bytes for layer in idx.layers for c in layer.chunks]
    for n_chunks, end in enumerate(ends, start=1):
        dec = decode_progressive(data[:end])
        assert sum(dec.chunks_received(j) for j in range(3)) == n_chunks
        dec_short = decode_progressive(data[: end - 1])
        assert sum(dec_short.chunks_received(j) for j in range(3)) == n_chunks - 1
    with pytest.raises(TruncatedError):
        decode(data[: ends[-1] - 1], layer=2)
    assert len(decode(data[: idx.header_bytes])) == 0


def test_progressive_dc_then_upgrade_equals_full(encoded):
    _, data, _, recon = encoded
    idx = read_index(data)
    dec = ProgressiveDecoder(data[: idx.header_bytes])
    for j, layer in enumerate(idx.layers):
        for c, ch in enumerate(layer.chunks):
            if j < 2:
                dec.add_chunk(j, c, data[ch.offset : ch.offset + ch.full_bytes])
            else:
                dec.add_chunk(j, c, data[ch.offset : ch.offset + ch.dc_bytes], refine="dc")
    pos, feat = dec.layer_arrays(2)
    assert np.array_equal(feat[:, :3], recon[2].feat[:, :3])  # dc mode: exact SH DC and positions
    assert np.array_equal(pos, recon[2].pos)
    for c, ch in enumerate(idx.layers[2].chunks):
        dec.upgrade_chunk(2, c, data[ch.offset + ch.dc_bytes : ch.offset + ch.full_bytes])
    assert np.array_equal(dec.layer_arrays(2)[1], recon[2].feat)
    with pytest.raises(BitstreamError, match="expected chunk"):
        dec.add_chunk(2, 0, b"")


def test_layer_needs_the_layer_below_in_full(encoded):
    _, data, _, _ = encoded
    idx = read_index(data)
    dec = ProgressiveDecoder(data)
    ch = idx.layers[1].chunks[0]
    with pytest.raises(BitstreamError, match="not complete"):
        dec.add_chunk(1, 0, data[ch.offset : ch.offset + ch.full_bytes])


def test_partial_layer_replaces_parents_and_ends_at_the_layer(encoded):
    layers, data, _, _ = encoded
    idx = read_index(data)
    counts = []
    for c in range(len(idx.layers[1].chunks) + 1):
        out = decode(data, layer=1, chunks=c)
        counts.append(len(out))
    assert counts[0] == len(layers[0]) and counts[-1] == len(layers[1])
    assert decode(data, layer=1).equals(decode_progressive(data, layer=1).layer_cloud(1))


def test_fidelity_never_drops_as_chunks_arrive():
    metrics = pytest.importorskip("splatcast.render.metrics")
    layers = synthetic_layers(1500, 2, 1, seed=3)
    data, _, _ = encode_layers(layers, EncoderConfig(entropy="zstd", chunks=4))
    ref = layers[-1]
    from splatcast.render.camera import orbit_cameras

    cams = orbit_cameras(ref, 3, 96, 96)
    psnrs = []
    for c in range(5):
        out = decode(data, layer=1, chunks=c)
        psnrs.append(metrics.fidelity_psnr(ref, out, cameras=cams)["psnr"])
    assert all(b >= a - 0.05 for a, b in zip(psnrs, psnrs[1:])), psnrs
    assert psnrs[-1] > psnrs[0] + 1.0


def _decode_all(data: bytes) -> None:
    dec = decode_progressive(data)
    dec.cloud()


def test_fuzz_truncations_and_bit_flips_raise_only_bitstream_errors():
    layers = synthetic_layers(40, 3, 1, seed=5)
    data, _, _ = encode_layers(layers, EncoderConfig(entropy="zstd", chunks=2, vq=4))
    idx = read_index(data)
    rng = np.random.default_rng(0)
    seen = {"prefix_ok": 0, "prefix_err": 0, "flip_err": 0, "payload_ok": 0, "payload_err": 0}
    for n in rng.integers(0, len(data), size=600):
        try:
            decode(data[:n], layer=int(rng.integers(0, 3)))
            seen["prefix_ok"] += 1
        except BitstreamError:
            seen["prefix_err"] += 1
        if n >= idx.header_bytes:
            _decode_all(data[:n])  # a prefix holding the header always decodes (to the chunks it holds)
    for _ in range(1200):
        bad = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            bad[int(rng.integers(0, len(bad)))] ^= 1 << int(rng.integers(0, 8))
        try:
            _decode_all(bytes(bad))
        except BitstreamError:
            seen["flip_err"] += 1
    # flips inside chunk payloads with the CRCs repaired: reach the stream and entropy parsers
    chunks = [(c, layer.coding) for layer in idx.layers for c in layer.chunks]
    for _ in range(800):
        c, _coding = chunks[int(rng.integers(0, len(chunks)))]
        bad = bytearray(data)
        i = c.offset + int(rng.integers(0, c.full_bytes))
        bad[i] ^= 1 << int(rng.integers(0, 8))
        dec = ProgressiveDecoder(data)
        try:
            for j, layer in enumerate(idx.layers):
                for ci, ch in enumerate(layer.chunks):
                    dc = bytes(bad[ch.offset : ch.offset + ch.dc_bytes])
                    rest = bytes(bad[ch.offset + ch.dc_bytes : ch.offset + ch.full_bytes])
                    ch.crc_dc, ch.crc_rest = zlib.crc32(dc), zlib.crc32(rest)
                    dec.index.layers[j].chunks[ci].crc_dc = ch.crc_dc
                    dec.index.layers[j].chunks[ci].crc_rest = ch.crc_rest
                    dec.add_chunk(j, ci, dc + rest)
            dec.cloud()
            seen["payload_ok"] += 1
        except ChecksumError:
            raise AssertionError("the CRCs were repaired: a flip must reach the stream parsers")
        except BitstreamError:
            seen["payload_err"] += 1
        finally:
            idx = read_index(data)
            chunks = [(c, layer.coding) for layer in idx.layers for c in layer.chunks]
    # each phase exercised both outcomes (not a loop that only ever took one branch)
    assert min(seen.values()) >= 50, seen


def test_encoder_config_validation():
    """Each bad setting is refused with a message naming it (the old last line, isinstance(GaussianCloud.empty(),
    GaussianCloud), could not fail)."""
    with pytest.raises(ValueError, match="mode='x'"):
        EncoderConfig(mode="x").validate()
    with pytest.raises(ValueError, match="vq='sometimes'"):
        EncoderConfig(vq="sometimes").validate()
    with pytest.raises(ValueError, match="vq=5000"):
        EncoderConfig(vq=5000).validate()
    with pytest.raises(ValueError, match="knn_k=0"):
        EncoderConfig(knn_k=0).validate()
    with pytest.raises(ValueError, match="pos_bits=22"):
        EncoderConfig(pos_bits=22).validate()
    with pytest.raises(ValueError, match="quality=17"):
        EncoderConfig(quality=17).validate()
    with pytest.raises(ValueError, match="got 0"):
        encode_layers([], EncoderConfig())
    EncoderConfig(vq=0, knn_k=64, pos_bits=21, quality=16).validate()  # the limits themselves are allowed
    empty = encode_layers([GaussianCloud.empty()], EncoderConfig(**FAST))[0]
    assert len(decode(empty)) == 0 and read_index(empty).layers[0].gaussians == 0


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=3),
    degree=st.integers(0, 2),
    chunks=st.integers(1, 4),
    vq=st.sampled_from(["off", 2, "auto"]),
    mode=st.sampled_from(["scalable", "mdc"]),
    seed=st.integers(0, 1000),
)
def test_property_round_trip(sizes, degree, chunks, vq, mode, seed):
    from tests.fixtures.synthetic import random_cloud

    rng = np.random.default_rng(seed)
    layers = [random_cloud(rng, n, degree) for n in sizes]
    cfg = EncoderConfig(entropy="zstd", chunks=chunks, vq=vq, mode=mode, partial="replace", vq_candidates=(0, 2, 4))
    data, _, recon = encode_layers(layers, cfg)
    dec = decode_progressive(data)
    for j, q in enumerate(recon):
        pos, feat = dec.layer_arrays(j)
        assert np.array_equal(pos, q.pos) and np.array_equal(feat, q.feat)
    assert len(decode(data)) == sizes[-1]


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_dequantize_kernel_is_bit_exact_to_the_numpy_definition(degree):
    from splatcast.codec.quantize import FEATURE_LIMIT, Grid, dequantize, dequantize_reference, feature_columns

    rng = np.random.default_rng(degree)
    n, c = 5000, feature_columns(3)
    feat = rng.integers(-FEATURE_LIMIT, FEATURE_LIMIT + 1, (n, c)).astype(np.int32)
    feat[:10] = FEATURE_LIMIT
    pos = rng.integers(0, 1 << 14, (n, 3)).astype(np.int32)
    grid = Grid(np.array([-3.1, 0.2, -7.0], np.float32), np.array([5.5, 9.1, 2.25], np.float32), 14)
    steps = np.array([0.00731, 0.0193, 0.00413, 1 / 2048, 0.00977], np.float32)
    got, want = dequantize(grid, steps, pos, feat, degree), dequantize_reference(grid, steps, pos, feat, degree)
    for name in ("means", "scales", "quats", "opacities", "sh_dc", "sh_rest"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
        assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), name


@pytest.mark.parametrize("degree,target", [(0, 0), (1, 3), (3, 1), (2, 2)])
def test_quantize_kernel_is_bit_exact_to_the_numpy_definition(degree, target):
    """Including ties (values exactly half a power-of-two step away: round half to even, as np.rint), values past
    the feature limit (clipped) and SH rest padded or cut to the target degree."""
    from splatcast.codec.quantize import FEATURE_LIMIT, quantize_features, quantize_features_reference
    from tests.fixtures.synthetic import random_cloud

    rng = np.random.default_rng(degree)
    cloud = random_cloud(rng, 3000, sh_degree=degree)
    steps = np.array([1 / 64, 0.0193, 1 / 8, 1 / 2048, 0.00977], np.float32)
    cloud.sh_dc[:200] = (rng.integers(-50, 50, (200, 3)) + 0.5) / 64  # exact ties
    cloud.scales[:200] = (rng.integers(-50, 50, (200, 3)) + 0.5) / 8
    cloud.opacities[200:210] = 1e6  # / 0.0193 is past the limit
    cloud.sh_dc[210:220] = -1e6
    got, want = quantize_features(cloud, steps, target), quantize_features_reference(cloud, steps, target)
    assert got.dtype == want.dtype == np.int32 and got.shape == want.shape
    assert np.array_equal(got, want)
    assert (got[200:210, 3] == FEATURE_LIMIT).all() and (got[210:220, :3] == -FEATURE_LIMIT).all()
    assert (got[:200, 0] % 2 == 0).all()  # every tie went to the even neighbour
