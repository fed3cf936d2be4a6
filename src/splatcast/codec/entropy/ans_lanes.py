"""rANS on interleaved lanes in stream order (the ``irans`` back-end, docs/entropy.md "irans"), numba kernels.

Value i is coded by lane i mod L, each lane the rans back-end's coder (32-bit words, 64-bit state, 24-bit
precision) with the model of value i's own context. Decoding keeps L states in flight: consecutive values belong to
different lanes, so their dependency chains (table lookup, multiply, renormalise) overlap instead of running one
after the other, and tokens land in stream order with no scatter. :func:`decode_lanes_reference` is the plain
one-symbol-at-a-time definition the tests compare with (besides constriction and the spec-written reference).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from splatcast.codec.entropy.ans_decoder import LUT_BITS, PRECISION

LANE_COUNTS = (1, 2, 4, 8)


@njit(cache=True, nogil=True)
def encode_lanes(tokens, value_model, freq_flat, cum_flat, offsets, lanes):
    """Tokens [N] int32 with their models [N] int64 -> (words [sum] uint32 lane after lane, words per lane [L]).

    freq_flat / cum_flat / offsets as :func:`ans_decoder.build_tables` lays them out (uint64)."""
    n = tokens.shape[0]
    per_lane = (n + lanes - 1) // lanes + 2  # a symbol emits at most one word, the final state two
    buf = np.empty((lanes, per_lane), np.uint32)
    count = np.zeros(lanes, np.int64)
    state = np.zeros(lanes, np.uint64)
    low32 = np.uint64(0xFFFFFFFF)
    for i in range(n - 1, -1, -1):
        lane = i % lanes
        j = value_model[i]
        s = tokens[i]
        f = freq_flat[offsets[j] + s]
        c = cum_flat[offsets[j] + j + s]
        st = state[lane]
        if (st >> np.uint64(40)) >= f:
            buf[lane, count[lane]] = np.uint32(st & low32)
            count[lane] += 1
            st >>= np.uint64(32)
        state[lane] = ((st // f) << np.uint64(PRECISION)) | (st % f + c)
    for lane in range(lanes):
        st = state[lane]
        if st != 0:
            buf[lane, count[lane]] = np.uint32(st & low32)
            count[lane] += 1
            if (st >> np.uint64(32)) != 0:
                buf[lane, count[lane]] = np.uint32(st >> np.uint64(32))
                count[lane] += 1
    words = np.empty(count.sum(), np.uint32)
    at = 0
    for lane in range(lanes):
        words[at:at + count[lane]] = buf[lane, :count[lane]]
        at += count[lane]
    return words, count


@njit(cache=True, nogil=True)
def _init_lanes(words, lane_words):
    """Per-lane state from its last two words, and the index of the next word to pop (exclusive) / its first word."""
    lanes = lane_words.shape[0]
    state = np.zeros(lanes, np.uint64)
    top = np.zeros(lanes, np.int64)
    base = np.zeros(lanes, np.int64)
    at = 0
    for lane in range(lanes):
        base[lane] = at
        idx = at + lane_words[lane]
        st = np.uint64(0)
        if idx > at:
            st = np.uint64(words[idx - 1])
            idx -= 1
        if idx > at:
            st = (st << np.uint64(32)) | np.uint64(words[idx - 1])
            idx -= 1
        state[lane] = st
        top[lane] = idx
        at += lane_words[lane]
    return state, top, base


@njit(cache=True, nogil=True)
def compact_luts(cum_flat, offsets):
    """Per-model symbol lookup tables sized to each alphabet: 2^b entries with b = clamp(ceil(log2 T) + 2, 4, 12),
    entry e = the symbol holding quantile e << (24 - b). In stream order every value may switch model, so the
    tables of all models are live at once: fixed 4096-entry tables (16 KiB each, 72 models on playbot) thrash the
    cache, tables of ~4T entries keep the forward scan from an entry short and all of them in L1/L2.

    -> (lut_flat [sum 2^b] int32, lut_start [M] int64, lut_shift [M] int64)."""
    n_models = offsets.shape[0] - 1
    lut_start = np.zeros(n_models + 1, np.int64)
    lut_shift = np.zeros(n_models, np.int64)
    for j in range(n_models):
        t = offsets[j + 1] - offsets[j]
        b = 4
        while b < LUT_BITS and (1 << (b - 2)) < t:
            b += 1
        lut_shift[j] = PRECISION - b
        lut_start[j + 1] = lut_start[j] + (1 << b)
    lut = np.empty(lut_start[n_models], np.int32)
    for j in range(n_models):
        c = offsets[j] + j
        s = 0
        for e in range(lut_start[j + 1] - lut_start[j]):
            x = np.uint64(e) << np.uint64(lut_shift[j])
            while cum_flat[c + s + 1] <= x:
                s += 1
            lut[lut_start[j] + e] = s
    return lut, lut_start[:n_models], lut_shift


@njit(cache=True, nogil=True)
def decode_lanes(words, lane_words, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context, model_of, out):
    """Decode len(out) tokens in stream order; ``context`` [N] int (or a length-0 array: every value context 0);
    lut / lut_start / lut_shift from :func:`compact_luts`.

    Returns (first value whose context is out of range or -1, OR of the final states, words left unread): a valid
    payload gives (-1, 0, 0)."""
    n = out.shape[0]
    lanes = lane_words.shape[0]
    n_contexts = model_of.shape[0]
    has_context = context.shape[0] == n and n > 0
    if has_context:
        for i in range(n):
            c = context[i]
            if c < 0 or c >= n_contexts:
                return i, np.uint64(0), 0
    state, top, base = _init_lanes(words, lane_words)
    mask = np.uint64((1 << PRECISION) - 1)
    low = np.uint64(1) << np.uint64(32)
    j = model_of[0]
    for i in range(n):
        lane = i & (lanes - 1)  # lanes is a power of two
        if has_context:
            j = model_of[context[i]]
        b = offsets[j]
        cb = b + j
        st = state[lane]
        x = st & mask
        s = np.int64(lut[lut_start[j] + np.int64(x >> np.uint64(lut_shift[j]))])
        while cum_flat[cb + s + 1] <= x:
            s += 1
        st = (st >> np.uint64(PRECISION)) * freq_flat[b + s] + (x - cum_flat[cb + s])
        if st < low and top[lane] > base[lane]:
            st = (st << np.uint64(32)) | np.uint64(words[top[lane] - 1])
            top[lane] -= 1
        state[lane] = st
        out[i] = s
    ored = np.uint64(0)
    left = 0
    for lane in range(lanes):
        ored |= state[lane]
        left += top[lane] - base[lane]
    return -1, ored, left


def decode_lanes_reference(words, lane_words, freqs, context, model_of, count):
    """The definition, in Python: per-model 24-bit frequency arrays ``freqs``; returns (tokens, ok)."""
    cums = [np.concatenate([[0], np.cumsum(f)]).astype(np.int64) for f in freqs]
    lanes = len(lane_words)
    stacks, states, at = [], [], 0
    for nw in lane_words:
        stack = [int(w) for w in words[at:at + nw]]
        at += nw
        st = stack.pop() if stack else 0
        if stack:
            st = (st << 32) | stack.pop()
        stacks.append(stack)
        states.append(st)
    tokens = np.empty(count, np.int32)
    for i in range(count):
        lane = i % lanes
        j = int(model_of[int(context[i])]) if context is not None else int(model_of[0])
        f, cum = freqs[j], cums[j]
        x = states[lane] & ((1 << PRECISION) - 1)
        s = int(np.searchsorted(cum, x, side="right")) - 1
        st = (states[lane] >> PRECISION) * int(f[s]) + (x - int(cum[s]))
        if st < 1 << 32 and stacks[lane]:
            st = (st << 32) | stacks[lane].pop()
        states[lane] = st
        tokens[i] = s
    ok = all(st == 0 for st in states) and not any(stacks)
    return tokens, ok
