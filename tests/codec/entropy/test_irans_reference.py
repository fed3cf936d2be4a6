"""The ``irans`` back-end against three oracles that are not its own code: the pure-Python reference written from
docs/entropy.md, constriction's AnsCoder coding each lane, and the ``rans`` back-end (same header and tables)."""

from __future__ import annotations

import constriction
import numpy as np
import pytest
import rans_reference as ref
from entropy_streams import laplace_residuals, modes, morton_deltas, vq_indices

from splatcast.codec.entropy import decode_stream, encode_stream, irans_backend, rans_backend
from splatcast.codec.entropy import rans_model as rm
from splatcast.codec.entropy.varint import ByteReader, write_varint
from splatcast.errors import BitstreamError, BitstreamFormatError

from test_rans_reference import GOLDEN_PAYLOAD, GOLDEN_VALUES


def _cases():
    rng = np.random.default_rng(7)
    yield laplace_residuals(rng, 3000, 1.5), None
    yield laplace_residuals(rng, 4099, 60.0, np.int16), rng.integers(0, 3, 4099)
    m = modes(rng, 5000)
    yield np.rint(rng.laplace(0, 0.2 + 2 * (m > 0))).astype(np.int32), m.astype(np.int64)
    yield vq_indices(rng, 2000, 256).astype(np.uint8), None
    yield morton_deltas(rng, 1500), None
    yield np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0], np.int64), np.array([0, 0, 5])
    yield np.zeros(0, np.int32), None
    yield np.full(5, 3, np.int32), None


CASES = list(_cases())


@pytest.mark.parametrize("lanes", [None, 1, 2, 4, 8])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_reference_decoder_reads_fast_encoder_payloads(case, lanes):
    values, ctx = CASES[case]
    payload = irans_backend.encode(values, ctx, lanes)
    width, signed = values.dtype.itemsize * 8, values.dtype.kind == "i"
    got = ref.decode_irans(payload, values.shape[0], width, signed, None if ctx is None else ctx.tolist())
    assert got == [int(v) for v in values]
    np.testing.assert_array_equal(decode_stream(payload, "irans", values.shape[0], values.dtype, ctx), values)
    np.testing.assert_array_equal(irans_backend.decode(payload, values.shape[0], values.dtype, ctx, reference=True),
                                  values)


def _lane_section(payload: bytes, count: int, dtype) -> tuple[int, int, list[np.ndarray], bytes]:
    """-> (header length, lanes, each lane's words, raw bits), parsed with the rans header reader."""
    reader = ByteReader(payload, "test")
    rans_backend.read_header(reader, count, np.dtype(dtype))
    header = reader.pos
    lanes = reader.u8("lanes")
    counts = [reader.varint("nw", 1 << 40) for _ in range(lanes)]
    words = [np.frombuffer(reader.take(4 * n, "words"), "<u4") for n in counts]
    return header, lanes, words, bytes(reader.take(reader.remaining, "raw"))


def test_lane_count_choice():
    assert [irans_backend.lane_count(n) for n in (0, 1, 8191, 8192, 10**6)] == [1, 1, 1, 4, 4]
    values = laplace_residuals(np.random.default_rng(9), 9000, 3.0)
    assert _lane_section(encode_stream(values, "irans"), 9000, values.dtype)[1] == 4


@pytest.mark.parametrize("lanes", [1, 4, 8])
@pytest.mark.parametrize("case", [0, 1, 2, 4])
def test_each_lane_is_a_constriction_stream(case, lanes):
    """Lane l holds the tokens of values l, l + L, ... coded by constriction with each value's own model."""
    values, ctx = CASES[case]
    n = values.shape[0]
    payload = irans_backend.encode(values, ctx, lanes)
    _, got_lanes, words, _ = _lane_section(payload, n, values.dtype)
    assert got_lanes == lanes
    _, tokens, value_model, tables, _, _ = rans_backend.prepare(values, ctx)
    models = [constriction.stream.model.Categorical(rm.ans_model_weights(f, log), perfect=False) for f, log in tables]
    for lane in range(lanes):
        sym, mod = tokens[lane::lanes], value_model[lane::lanes]
        coder = constriction.stream.stack.AnsCoder()
        # runs of one model, pushed last run first (a stack): the decoder pops them in stream order
        cuts = np.flatnonzero(np.diff(mod)) + 1
        for run_sym, run_mod in reversed(list(zip(np.split(sym, cuts), np.split(mod, cuts)))):
            if run_sym.shape[0]:
                coder.encode_reverse(run_sym.astype(np.int32), models[int(run_mod[0])])
        np.testing.assert_array_equal(words[lane], coder.get_compressed())


@pytest.mark.parametrize("case", range(len(CASES)))
def test_header_and_raw_bits_are_the_rans_payloads(case):
    values, ctx = CASES[case]
    irans, rans = irans_backend.encode(values, ctx, 4), rans_backend.encode(values, ctx)
    n = values.shape[0]
    header, _, _, raw = _lane_section(irans, n, values.dtype)
    assert irans[:header] == rans[:header]
    assert rans.endswith(raw)


def test_golden_payload_from_the_spec():
    """docs/entropy.md: the rans worked example with Lanes = 1 is its bytes with Nw `02` -> `01 02`."""
    at = GOLDEN_PAYLOAD.index(bytes.fromhex("022d1921fb"))
    golden = GOLDEN_PAYLOAD[:at] + b"\x01" + GOLDEN_PAYLOAD[at:]
    assert encode_stream(GOLDEN_VALUES, "irans") == golden
    assert ref.decode_irans(golden, 10, 16, True, None) == GOLDEN_VALUES.tolist()
    np.testing.assert_array_equal(decode_stream(golden, "irans", 10, np.int16), GOLDEN_VALUES)


def _outcome(fn):
    try:
        return ("ok", fn().tolist())
    except BitstreamError as exc:
        return ("error", type(exc).__name__)


def test_fast_decoder_matches_the_slow_definition_on_corrupt_payloads():
    rng = np.random.default_rng(8)
    cases = [(v, c, irans_backend.encode(v, c, lanes)) for v, c in CASES[:6] for lanes in (1, 4)]
    for i in range(300):
        values, ctx, valid = cases[i % len(cases)]
        payload = bytearray(valid)
        for _ in range(int(rng.integers(1, 3))):
            payload[int(rng.integers(0, len(payload)))] ^= 1 << int(rng.integers(0, 8))
        data = bytes(payload)
        fast = _outcome(lambda: irans_backend.decode(data, values.shape[0], values.dtype, ctx))
        slow = _outcome(lambda: irans_backend.decode(data, values.shape[0], values.dtype, ctx, reference=True))
        assert fast == slow


def test_lane_fields_are_checked():
    values, ctx = CASES[2]
    n = values.shape[0]
    payload = irans_backend.encode(values, ctx, 4)
    header, lanes, words, raw = _lane_section(payload, n, values.dtype)
    assert lanes == 4
    for bad_lanes in (0, 3, 5, 16, 255):
        with pytest.raises(BitstreamFormatError, match="lane_count"):
            irans_backend.decode(payload[:header] + bytes([bad_lanes]) + payload[header + 1:], n, values.dtype, ctx)
    # a lane claiming more words than the payload holds
    big = payload[:header] + bytes([1]) + b"\xff\xff\xff\x7f" + payload[header + 1:]
    with pytest.raises(BitstreamError):
        irans_backend.decode(big, n, values.dtype, ctx)
    # words moved from one lane to the next: the same bytes, split differently, must not decode
    counts = [w.shape[0] for w in words]
    moved = [counts[0] - 1, counts[1] + 1] + counts[2:]
    body = b"".join(w.tobytes() for w in words)
    fields = bytearray([4])
    for c in moved:
        write_varint(fields, c)
    shifted = payload[:header] + bytes(fields) + body + raw
    with pytest.raises(BitstreamFormatError):
        irans_backend.decode(shifted, n, values.dtype, ctx)


def test_encoder_rejects_other_lane_counts():
    with pytest.raises(ValueError):
        irans_backend.encode(np.arange(10, dtype=np.int32), None, 3)


@pytest.mark.parametrize("case", [1, 2, 4])
def test_four_lanes_on_one_or_two_threads_decode_alike(case):
    """The two-thread kernel (lanes 0-1 | 2-3), the one-thread unrolled one and the plain loop (lanes = 2) agree."""
    from splatcast.codec.entropy import ans_lanes
    from splatcast.codec.entropy.varint import ByteReader

    values, ctx = CASES[case]
    n = values.shape[0]
    payload = irans_backend.encode(values, ctx, 4)
    reader = ByteReader(payload, "test")
    _, _, model_of, tables = rans_backend.read_header(reader, n, values.dtype)
    lanes = reader.u8("lanes")
    lane_words = np.array([reader.varint("nw", 1 << 40) for _ in range(lanes)], np.int64)
    words = np.frombuffer(reader.take(4 * int(lane_words.sum()), "words"), "<u4").astype(np.uint32)
    freq, cum, offsets = rans_backend.fast_tables(tables, luts=False)
    lut, lut_start, lut_shift = ans_lanes.compact_luts(cum, offsets)
    c = np.zeros(0, np.int64) if ctx is None else np.ascontiguousarray(ctx)
    got = []
    for threads in (1, 2):
        out = np.empty(n, np.int32)
        assert ans_lanes.decode_lanes(words, lane_words, freq, cum, offsets, lut, lut_start, lut_shift, c, model_of,
                                      out, threads=threads) == (-1, 0, 0)
        got.append(out)
    _, tokens, _, _, _, _ = rans_backend.prepare(values, ctx)
    np.testing.assert_array_equal(got[0], tokens)
    np.testing.assert_array_equal(got[1], tokens)
