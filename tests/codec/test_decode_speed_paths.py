"""The decoder's fused kernels (TileDecoder._decode_intra/_decode_inter/_rest_residuals) against the plain numpy
definitions they replace (the *_reference methods, ``reference=True``): the same arrays on valid streams, and on
streams with out-of-range values the same exception type and message."""

from __future__ import annotations

import numpy as np
import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.codec import container as ct
from splatcast.codec.decoder import ProgressiveDecoder, decode_progressive
from splatcast.codec.encoder import EncoderConfig, encode_with_stats
from splatcast.codec.entropy import decode_stream, encode_stream
from splatcast.codec.quantize import FEATURE_LIMIT
from splatcast.errors import BitstreamError


def _encode(sh_degree=1, n_layers=3, **cfg):
    layers = synthetic_layers(n0=300, n_layers=n_layers, sh_degree=sh_degree, seed=sh_degree)
    return encode_with_stats(layers, EncoderConfig(fidelity=False, chunks=3, **cfg))[0]


def _same(fast: ProgressiveDecoder, ref: ProgressiveDecoder) -> None:
    for j in range(len(fast.index.layers)):
        for a, b in zip(fast.layer_arrays(j), ref.layer_arrays(j)):
            assert a.dtype == b.dtype and np.array_equal(a, b), j
        if j and fast.index.layers[j].coding == ct.CODING_INTER:
            assert np.array_equal(fast.layer_neighbours(j), ref.layer_neighbours(j))
    for name, v in vars(fast.cloud()).items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(v, getattr(ref.cloud(), name)), name


@pytest.mark.parametrize("cfg", [
    dict(sh_degree=0, vq="off"),
    dict(sh_degree=1, vq="auto"),
    dict(sh_degree=2, vq=16, entropy="zstd"),
    dict(sh_degree=3, vq="off", dc_only="on"),
    dict(sh_degree=1, vq="off", tile_gaussians=200),
    dict(sh_degree=1, vq="off", mode="mdc"),
])
def test_fused_decode_equals_reference(cfg):
    sh = cfg.pop("sh_degree")
    data = _encode(sh, **cfg)
    for refine in ("full", "dc"):
        fast = decode_progressive(data, refine=refine)
        ref = decode_progressive(data, refine=refine)
        ref_dec = ProgressiveDecoder(data, reference=True)
        for t in range(ref.index.tile_count):  # replay the same chunks through the reference decoder
            view = ref.index.tile_view(t)
            for j, li in enumerate(view.layers):
                for c in range(fast.chunks_received(j, t)):
                    ce = li.chunks[c]
                    r = refine if j == len(view.layers) - 1 else "full"
                    end = ce.offset + (ce.dc_bytes if r == "dc" else ce.full_bytes)
                    ref_dec.add_chunk(j, c, data[ce.offset:end], r, t)
        _same(fast, ref_dec)
        if refine == "dc":  # then the rest parts through upgrade_chunk
            top = len(fast.index.layers) - 1
            for t in range(fast.index.tile_count):
                li = fast.index.tile_view(t).layers[top]
                for c in range(fast.chunks_received(top, t)):
                    ce = li.chunks[c]
                    if ce.full_bytes > ce.dc_bytes:
                        rest = data[ce.offset + ce.dc_bytes:ce.offset + ce.full_bytes]
                        fast.upgrade_chunk(top, c, rest, t)
                        ref_dec.upgrade_chunk(top, c, rest, t)
            _same(fast, ref_dec)


def _mutated(part: bytes, sid: int, edit, count: int) -> bytes:
    """The chunk part with stream ``sid``'s values (zstd: no contexts) replaced by ``edit(values)`` (int32)."""
    streams = ct.unpack_streams(part, "t")
    out = []
    for s, (dtype, intra, payload) in streams.items():
        flags = dtype.itemsize | (ct.FLAG_INTRA if intra else 0)
        if s == sid:
            v = edit(decode_stream(payload, "zstd", count, dtype).astype(np.int32))
            payload, flags = encode_stream(v, "zstd"), 4 | (ct.FLAG_INTRA if intra else 0)
        out.append((s, flags, payload))
    return ct.pack_streams(out)


def _error(data: bytes, layer: int, part: bytes, reference: bool, tile: int = 0):
    dec = ProgressiveDecoder(data, reference=reference)
    td = dec.tile(tile)
    view = dec.index.tile_view(tile)
    for j in range(layer):
        for c, ce in enumerate(view.layers[j].chunks):
            td.add_chunk(j, c, data[ce.offset:ce.offset + ce.full_bytes])
    g = view.layers[layer].chunks[0].gaussians
    try:
        if layer == 0:
            td._decode_intra(part, g, "x")
        else:
            td._decode_inter(layer, 0, part, None, "x")
    except BitstreamError as exc:
        return type(exc), str(exc)
    return None


BIG = (1 << 31) - 1
CASES = [  # (stream, edit) -> the range check it trips
    (ct.STREAM_POS, lambda v: v + (1 << 22)),  # position outside the grid
    (ct.STREAM_DC, lambda v: np.full_like(v, BIG)),  # colour sum outside int32
    (ct.STREAM_DC, lambda v: v + FEATURE_LIMIT),  # sh_dc / feature outside the limit
    (ct.STREAM_OPACITY, lambda v: v - 2 * FEATURE_LIMIT),
    (ct.STREAM_REST, lambda v: np.full_like(v, BIG)),
    (ct.STREAM_REST, lambda v: v + 3 * FEATURE_LIMIT // 2),
]


@pytest.mark.parametrize("vq", ["off", 16])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_out_of_range_values_raise_the_reference_errors(case, vq):
    data = _encode(1, n_layers=2, vq=vq, entropy="zstd", dc_only="off")
    idx = ct.read_index(data)
    sid, edit = CASES[case]
    for layer in (0, 1):
        ce = idx.layers[layer].chunks[0]
        g = ce.gaussians
        width = {ct.STREAM_POS: 3, ct.STREAM_DC: 3, ct.STREAM_OPACITY: 1, ct.STREAM_REST: 9}[sid]
        part = _mutated(data[ce.offset:ce.offset + ce.full_bytes], sid, edit, width * g)
        fast, ref = _error(data, layer, part, False), _error(data, layer, part, True)
        assert ref is not None, (layer, case)
        assert fast == ref, (layer, case)


def test_position_outside_its_tile_raises_the_reference_error():
    data = _encode(1, n_layers=2, vq="off", entropy="zstd", tile_gaussians=200, dc_only="off")
    idx = ct.read_index(data)
    assert idx.tile_count > 1
    for layer in (0, 1):
        view = idx.tile_view(1)
        ce = view.layers[layer].chunks[0]
        part = _mutated(data[ce.offset:ce.offset + ce.full_bytes], ct.STREAM_POS,
                        lambda v: np.where(np.arange(len(v)) == 0, v + 600_000, v), 3 * ce.gaussians)
        fast, ref = _error(data, layer, part, False, 1), _error(data, layer, part, True, 1)
        assert ref is not None and ("box" in ref[1] or "position" in ref[1])
        assert fast == ref


@pytest.mark.parametrize("kernel", ["_add_stream_serial", "_add_stream_blocks"])
@pytest.mark.parametrize("gaussian_major,colour,add_base,extra", [
    (False, True, True, False), (True, True, False, True), (False, False, True, True), (True, False, False, False)])
def test_add_stream_equals_numpy(gaussian_major, colour, add_base, extra, kernel):
    """The fused kernel add_stream (both its serial and its parallel-block form: add_stream picks one by size)
    against its definition in numpy, on every combination of its options."""
    from splatcast.codec import features

    add_stream = getattr(features, kernel)

    rng = np.random.default_rng(9)
    g, width, col0, m = 70000, 6, 2, 80000
    values = rng.integers(-50, 50, g * width).astype(np.int32)
    base = rng.integers(-1000, 1000, (m, 10)).astype(np.int32)
    base_rows = rng.integers(0, m, g)
    rows = rng.permutation(m)[:g]
    ext = rng.integers(-5, 5, (g, width)).astype(np.int64) if extra else np.zeros((0, width), np.int64)
    out = np.zeros((m, 10), np.int32)
    clo, chi, lo, hi = add_stream(values, g, width, gaussian_major, colour, base, base_rows, add_base, ext, rows, out,
                                  col0)
    v = (values.reshape(g, width) if gaussian_major else values.reshape(width, g).T).astype(np.int64)
    if colour:
        v = np.cumsum(v.reshape(g, width // 3, 3), axis=2).reshape(g, width)
        want_c = (v.min(), v.max())
    else:
        want_c = (0, 0)
    if extra:
        v = v + ext
    if add_base:
        v = v + base[base_rows, col0 : col0 + width]
    want = np.zeros((m, 10), np.int32)
    want[rows, col0 : col0 + width] = v
    assert np.array_equal(out, want)
    assert (clo, chi, lo, hi) == (*want_c, v.min(), v.max())
