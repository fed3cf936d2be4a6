"""``irans`` back-end (wire id 5): the ``rans`` back-end's tokens, tables and contexts, coded in stream order on
interleaved lanes (docs/entropy.md "irans").

The header (hybrid-uint split, contexts, per-model tables) and the raw-bit section are produced and read by the
``rans`` back-end's own functions, so an ``irans`` payload is its ``rans`` twin with a different word section: value
i is coded by lane i mod L with its own context's model (:mod:`.ans_lanes`). The decoder then runs L rANS states
at once and writes tokens in place, where ``rans`` decodes model after model on one state and scatters.
``reference=True`` decodes with the plain Python definition (:func:`.ans_lanes.decode_lanes_reference`).
"""

from __future__ import annotations

import numpy as np

from splatcast.codec.entropy import ans_lanes
from splatcast.codec.entropy import hybrid_uint as hu
from splatcast.codec.entropy import rans_backend as rb
from splatcast.codec.entropy import rans_model as rm
from splatcast.codec.entropy.varint import ByteReader, write_varint
from splatcast.errors import BitstreamFormatError

WHERE = "irans payload"
# below LANES x this, one lane: each extra lane costs ~10 bytes (its final state and word count), which stays under
# 0.5 % of a payload of 8192 values (real residual streams take 2-6 bits per value); short streams decode fast anyway
MIN_VALUES_PER_LANE = 2048
LANES = 4


def lane_count(n: int) -> int:
    """The encoder's choice of lanes for a stream of n values (not part of the format)."""
    return LANES if n >= LANES * MIN_VALUES_PER_LANE else 1


def encode(values: np.ndarray, context: np.ndarray | None, lanes: int | None = None) -> bytes:
    """[N] int array (+ optional [N] context) -> payload bytes; ``lanes`` overrides the encoder's choice."""
    out, tokens, value_model, tables, nbits, raw = rb.prepare(values, context)
    lanes = lane_count(tokens.shape[0]) if lanes is None else lanes
    if lanes not in ans_lanes.LANE_COUNTS:
        raise ValueError(f"lanes must be one of {ans_lanes.LANE_COUNTS}, got {lanes}")
    freq, cum, offsets = rb.fast_tables(tables, luts=False)  # the decoder's own tables
    words, per_lane = ans_lanes.encode_lanes(tokens.astype(np.int32), value_model.astype(np.int64), freq, cum,
                                             offsets, lanes)
    out.append(lanes)
    for nw in per_lane.tolist():
        write_varint(out, nw)
    out += words.astype("<u4").tobytes()
    out += hu.pack_bits(raw, nbits)
    return bytes(out)


def decode(
    data: bytes, count: int, dtype: np.dtype, context: np.ndarray | None, reference: bool = False
) -> np.ndarray:
    """Payload -> [count] values of ``dtype``; raises only BitstreamError subclasses on bad bytes."""
    reader = ByteReader(data, WHERE)
    k, m, model_of, tables = rb.read_header(reader, count, dtype, WHERE)
    lanes = reader.u8("lane_count")
    if lanes not in ans_lanes.LANE_COUNTS:
        raise BitstreamFormatError(f"{WHERE}: lane_count = {lanes}, expected one of 1, 2, 4, 8")
    lane_words = np.zeros(lanes, np.int64)
    budget = reader.remaining
    for lane in range(lanes):
        lane_words[lane] = reader.varint(f"word_count[{lane}]", budget // 4)
    total = int(lane_words.sum())
    if 4 * total > reader.remaining:
        raise BitstreamFormatError(f"{WHERE}: the lanes hold {total} words, {reader.remaining} bytes remain")
    words = np.frombuffer(reader.take(4 * total, "ans_words"), "<u4").astype(np.uint32)
    ends = np.cumsum(lane_words)
    for lane in range(lanes):
        if lane_words[lane] and words[ends[lane] - 1] == 0:
            raise BitstreamFormatError(f"{WHERE}: lane {lane}'s last word is zero (a final state never ends in 0)")
    raw_buf = bytes(reader.take(reader.remaining, "raw_bits"))
    context = rb.check_context(context, count)
    if reference:
        if context is not None and count and (int(context.min()) < 0 or int(context.max()) >= len(model_of)):
            raise rb.context_error(context, len(model_of), WHERE)
        freqs = [rm.ans_frequencies(f, log) for f, log in tables]
        tokens, ok = ans_lanes.decode_lanes_reference(words, lane_words.tolist(), freqs, context, model_of, count)
    else:
        freq, cum, offsets = rb.fast_tables(tables, luts=False)
        lut, lut_start, lut_shift = ans_lanes.compact_luts(cum, offsets)
        ctx = np.zeros(0, np.int64) if context is None else np.ascontiguousarray(context)
        tokens = np.empty(count, np.int32)
        bad, ored, left = ans_lanes.decode_lanes(words, lane_words, freq, cum, offsets, lut, lut_start, lut_shift,
                                                 ctx, model_of, tokens)
        if bad >= 0:
            raise rb.context_error(context, len(model_of), WHERE)
        ok = ored == 0 and left == 0
    if not ok:
        raise BitstreamFormatError(f"{WHERE}: ANS lanes do not end empty after {count} symbols (corrupt)")
    return rb.finish(tokens, k, m, raw_buf, dtype, WHERE)
