"""The fast ``rans`` path (numba kernels + constriction) against the pure-Python reference written from the spec."""

from __future__ import annotations

import numpy as np
import pytest
import rans_reference as ref
from entropy_streams import laplace_residuals, modes, morton_deltas, vq_indices
from hypothesis import given, settings
from hypothesis import strategies as st

from splatcast.codec.entropy import decode_stream, encode_stream
from splatcast.codec.entropy import hybrid_uint as hu
from splatcast.codec.entropy import rans_backend
from splatcast.codec.entropy import rans_model as rm
from splatcast.errors import BitstreamError

DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_zigzag_and_split_match_reference(dtype):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    values = np.concatenate([rng.integers(info.min, info.max, 300, dtype=dtype, endpoint=True),
                             np.array([info.min, info.max, 0, 1], dtype)])
    values = np.concatenate([values, np.rint(rng.laplace(0, 3, 300)).clip(info.min, info.max).astype(dtype)])
    u = hu.to_unsigned(values)
    signed = values.dtype.kind == "i"
    expected_u = [ref.zigzag(int(v)) if signed else int(v) for v in values]
    assert [int(x) for x in u] == expected_u
    np.testing.assert_array_equal(hu.from_unsigned(u, values.dtype), values)
    for k, m in [(0, 0), (3, 1), (8, 2), (12, 3), (16, 8)]:
        tokens, nbits, raw = hu.split_tokens(u, k, m)
        for i, x in enumerate(expected_u):
            assert (int(tokens[i]), int(nbits[i]), int(raw[i])) == ref.split(x, k, m)
        width = values.dtype.itemsize * 8
        assert int(tokens.max()) <= hu.max_token(k, m, width)
        packed = hu.pack_bits(raw, nbits)
        assert packed == ref.pack_bits(list(zip(nbits.tolist(), raw.tolist())))
        back, used = hu.merge_tokens(tokens, k, m, packed, values.dtype)
        assert used == int(nbits.sum())
        np.testing.assert_array_equal(back, values)


def test_token_histogram_matches_direct_tokenization():
    rng = np.random.default_rng(1)
    u = hu.to_unsigned(np.concatenate([laplace_residuals(rng, 5000, 40.0), morton_deltas(rng, 2000)]))
    direct, big = hu.fine_histogram(u)
    for k in range(0, 13):
        for m in range(0, min(k, 3) + 1):
            counts, raw_bits = hu.token_histogram(direct, big, k, m)
            tokens, nbits, _ = hu.split_tokens(u, k, m)
            np.testing.assert_array_equal(counts, np.bincount(tokens))
            assert raw_bits == int(nbits.sum())


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(0, 10**6), min_size=1, max_size=300), table_log=st.integers(1, 20))
def test_quantized_tables_never_zero_a_used_symbol(counts, table_log):
    c = np.array(counts, np.int64)
    f = rm.quantize_counts(c, table_log)
    if f is None:
        assert (c > 0).sum() == 0 or (c > 0).sum() > 1 << table_log
        return
    assert int(f.sum()) == 1 << table_log
    assert ((f > 0) == (c > 0)).all()
    if f.shape[0] >= 2:
        freq = rm.ans_frequencies(f, table_log)
        assert freq.tolist() == ref.ans_frequencies(f.tolist(), table_log)
        assert int(freq.sum()) == 1 << 24 and freq.min() >= 1


def test_table_serialization_matches_reference_and_size_estimate():
    rng = np.random.default_rng(2)
    for _ in range(50):
        counts = rng.integers(0, 5000, rng.integers(2, 200)) * (rng.random() < 0.5)
        counts[0] += 1
        f, table_log, _ = rm.best_table(counts.astype(np.int64))
        out = bytearray()
        rm.write_table(out, f, table_log)
        assert len(out) == rm.table_bytes(f, table_log)
        t, pos = ref.read_varint(bytes(out), 0)
        assert t == f.shape[0] and out[pos] == table_log
        pos += 1
        parsed = []
        for _ in range(t):
            v, pos = ref.read_varint(bytes(out), pos)
            parsed.append(v)
        assert parsed == f.tolist() and pos == len(out)


def _cases():
    rng = np.random.default_rng(3)
    yield laplace_residuals(rng, 3000, 1.5), None
    yield laplace_residuals(rng, 3000, 60.0, np.int16), rng.integers(0, 3, 3000)
    m = modes(rng, 3000)
    yield np.rint(rng.laplace(0, 0.2 + 2 * (m > 0))).astype(np.int32), m.astype(np.int64)
    yield modes(rng, 2000), None
    yield vq_indices(rng, 2000, 256).astype(np.uint8), None
    yield morton_deltas(rng, 1500), None
    yield np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0], np.int64), np.array([0, 0, 5])
    yield np.array([np.iinfo(np.uint64).max, 7], np.uint64), None
    yield np.zeros(0, np.int32), None
    yield np.full(500, 3, np.int32), None


@pytest.mark.parametrize("case", range(10))
def test_reference_decoder_reads_fast_encoder_payloads(case):
    values, ctx = list(_cases())[case]
    payload = encode_stream(values, "rans", ctx)
    width, signed = values.dtype.itemsize * 8, values.dtype.kind == "i"
    got = ref.decode(payload, values.shape[0], width, signed, None if ctx is None else ctx.tolist())
    assert got == [int(v) for v in values]
    fast = decode_stream(payload, "rans", values.shape[0], values.dtype, ctx)
    np.testing.assert_array_equal(fast, values)


def _outcome(fn):
    try:
        return ("ok", fn().tolist())
    except BitstreamError as exc:
        return ("error", type(exc).__name__)


def test_numba_ans_decoder_matches_constriction_on_valid_and_corrupt_payloads():
    rng = np.random.default_rng(4)
    cases = [(values, ctx, encode_stream(values, "rans", ctx)) for values, ctx in _cases()]
    for i in range(400):
        values, ctx, valid = cases[i % len(cases)]
        payload = bytearray(valid)
        if i % 3 and payload:
            for _ in range(int(rng.integers(1, 3))):
                payload[int(rng.integers(0, len(payload)))] ^= 1 << int(rng.integers(0, 8))
        data = bytes(payload)
        fast = _outcome(lambda: rans_backend.decode(data, values.shape[0], values.dtype, ctx))
        slow = _outcome(lambda: rans_backend.decode(data, values.shape[0], values.dtype, ctx, reference=True))
        assert fast == slow


GOLDEN_VALUES = np.array([0, -1, 1, 0, 0, 2, -3, 0, 700, 0], np.int16)
GOLDEN_PAYLOAD = bytes.fromhex("00000a0101000c06210606 0d00000000000000 06022d1921fb6c000000082f".replace(" ", ""))


def test_golden_payload_from_the_spec():
    """The worked example of docs/entropy.md: the encoder must keep producing exactly these bytes."""
    assert encode_stream(GOLDEN_VALUES, "rans") == GOLDEN_PAYLOAD
    assert ref.decode(GOLDEN_PAYLOAD, 10, 16, True, None) == GOLDEN_VALUES.tolist()
    np.testing.assert_array_equal(decode_stream(GOLDEN_PAYLOAD, "rans", 10, np.int16), GOLDEN_VALUES)
