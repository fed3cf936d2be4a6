"""rANS on interleaved lanes in stream order (the ``irans`` back-end, docs/entropy.md "irans"), numba kernels.

Value i is coded by lane i mod L, each lane the rans back-end's coder (32-bit words, 64-bit state, 24-bit
precision) with the model of value i's own context. Decoding keeps L states in flight: consecutive values belong to
different lanes, so their dependency chains (table lookup, multiply, renormalise) overlap instead of running one
after the other, and tokens land in stream order with no scatter. :func:`decode_lanes_reference` is the plain
one-symbol-at-a-time definition the tests compare with (besides constriction and the spec-written reference).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from splatcast.codec.entropy.ans_decoder import LUT_BITS, PRECISION

LANE_COUNTS = (1, 2, 4, 8)
# below this, starting a second thread costs more than it saves (statue payloads of 10-30k values ran ~15 % slower)
PAIRS_MIN_VALUES = 1 << 17


@njit(cache=True, nogil=True)
def encode_lanes(tokens, value_model, freq_flat, cum_flat, offsets, lanes):
    """Tokens [N] int32 with their models [N] int64 -> (words [sum] uint32 lane after lane, words per lane [L]).

    freq_flat / cum_flat / offsets as :func:`ans_decoder.build_tables` lays them out (uint64). The rans back-end
    encodes with constriction's AnsCoder; here the model changes at every value, which constriction takes only as
    one model per symbol (a table per value), so this kernel applies the same coding rule (docs/entropy.md) and the
    tests check every lane's words against constriction."""
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
def _decode_four(words, state, top, base, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context, model_of,
                 has_context, out):
    """The first n - n mod 4 symbols of a four-lane payload (the encoder's choice for long streams): states and word
    positions in registers, the lanes unrolled (~20 % faster than the generic loop on playbot's payloads). Updates
    state / top in place."""
    n = out.shape[0]
    mask = np.uint64((1 << PRECISION) - 1)
    low = np.uint64(1) << np.uint64(32)
    prec = np.uint64(PRECISION)
    w32 = np.uint64(32)
    j0 = j1 = j2 = j3 = model_of[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    t0, t1, t2, t3 = top[0], top[1], top[2], top[3]
    b0, b1, b2, b3 = base[0], base[1], base[2], base[3]
    for i in range(0, n - 3, 4):
        if has_context:
            j0 = model_of[context[i]]
            j1 = model_of[context[i + 1]]
            j2 = model_of[context[i + 2]]
            j3 = model_of[context[i + 3]]
        x0, x1, x2, x3 = s0 & mask, s1 & mask, s2 & mask, s3 & mask
        a0 = np.int64(lut[lut_start[j0] + np.int64(x0 >> np.uint64(lut_shift[j0]))])
        a1 = np.int64(lut[lut_start[j1] + np.int64(x1 >> np.uint64(lut_shift[j1]))])
        a2 = np.int64(lut[lut_start[j2] + np.int64(x2 >> np.uint64(lut_shift[j2]))])
        a3 = np.int64(lut[lut_start[j3] + np.int64(x3 >> np.uint64(lut_shift[j3]))])
        c0, c1, c2, c3 = offsets[j0] + j0, offsets[j1] + j1, offsets[j2] + j2, offsets[j3] + j3
        while cum_flat[c0 + a0 + 1] <= x0:
            a0 += 1
        while cum_flat[c1 + a1 + 1] <= x1:
            a1 += 1
        while cum_flat[c2 + a2 + 1] <= x2:
            a2 += 1
        while cum_flat[c3 + a3 + 1] <= x3:
            a3 += 1
        s0 = (s0 >> prec) * freq_flat[offsets[j0] + a0] + (x0 - cum_flat[c0 + a0])
        s1 = (s1 >> prec) * freq_flat[offsets[j1] + a1] + (x1 - cum_flat[c1 + a1])
        s2 = (s2 >> prec) * freq_flat[offsets[j2] + a2] + (x2 - cum_flat[c2 + a2])
        s3 = (s3 >> prec) * freq_flat[offsets[j3] + a3] + (x3 - cum_flat[c3 + a3])
        if s0 < low and t0 > b0:
            s0 = (s0 << w32) | np.uint64(words[t0 - 1])
            t0 -= 1
        if s1 < low and t1 > b1:
            s1 = (s1 << w32) | np.uint64(words[t1 - 1])
            t1 -= 1
        if s2 < low and t2 > b2:
            s2 = (s2 << w32) | np.uint64(words[t2 - 1])
            t2 -= 1
        if s3 < low and t3 > b3:
            s3 = (s3 << w32) | np.uint64(words[t3 - 1])
            t3 -= 1
        out[i] = a0
        out[i + 1] = a1
        out[i + 2] = a2
        out[i + 3] = a3
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    top[0], top[1], top[2], top[3] = t0, t1, t2, t3


@njit(cache=True, parallel=True)
def _decode_four_pairs(words, state, top, base, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context,
                       model_of, has_context, out):
    """:func:`_decode_four` on two threads: lanes 0 and 1 on one, lanes 2 and 3 on the other, each pair unrolled
    (lanes are independent streams, so they need not wait for each other; on playbot 0.12 s against 0.19 s)."""
    n = out.shape[0]
    mask = np.uint64((1 << PRECISION) - 1)
    low = np.uint64(1) << np.uint64(32)
    prec = np.uint64(PRECISION)
    w32 = np.uint64(32)
    for pair in prange(2):
        la, lb = 2 * pair, 2 * pair + 1
        s0, s1 = state[la], state[lb]
        t0, t1 = top[la], top[lb]
        b0, b1 = base[la], base[lb]
        j0 = j1 = model_of[0]
        for i4 in range(0, n - 3, 4):
            i = i4 + la
            if has_context:
                j0 = model_of[context[i]]
                j1 = model_of[context[i + 1]]
            x0, x1 = s0 & mask, s1 & mask
            a0 = np.int64(lut[lut_start[j0] + np.int64(x0 >> np.uint64(lut_shift[j0]))])
            a1 = np.int64(lut[lut_start[j1] + np.int64(x1 >> np.uint64(lut_shift[j1]))])
            c0, c1 = offsets[j0] + j0, offsets[j1] + j1
            while cum_flat[c0 + a0 + 1] <= x0:
                a0 += 1
            while cum_flat[c1 + a1 + 1] <= x1:
                a1 += 1
            s0 = (s0 >> prec) * freq_flat[offsets[j0] + a0] + (x0 - cum_flat[c0 + a0])
            s1 = (s1 >> prec) * freq_flat[offsets[j1] + a1] + (x1 - cum_flat[c1 + a1])
            if s0 < low and t0 > b0:
                s0 = (s0 << w32) | np.uint64(words[t0 - 1])
                t0 -= 1
            if s1 < low and t1 > b1:
                s1 = (s1 << w32) | np.uint64(words[t1 - 1])
                t1 -= 1
            out[i] = a0
            out[i + 1] = a1
        state[la], state[lb] = s0, s1
        top[la], top[lb] = t0, t1


@njit(cache=True, nogil=True)
def _first_bad_context(context, n_contexts):
    """Index of the first context value outside 0..n_contexts-1, or -1: one branch-free (vectorised) pass, the
    position searched only if there is one."""
    bad = False
    for i in range(context.shape[0]):
        bad |= (context[i] < 0) | (context[i] >= n_contexts)
    if bad:
        for i in range(context.shape[0]):
            if context[i] < 0 or context[i] >= n_contexts:
                return i
    return -1


@njit(cache=True, nogil=True)
def _decode_from(words, state, top, base, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context,
                 model_of, has_context, out, start):
    """Symbols start..N-1, one at a time, any lane count; returns (OR of the final states, words left unread)."""
    n = out.shape[0]
    lanes = state.shape[0]
    mask = np.uint64((1 << PRECISION) - 1)
    low = np.uint64(1) << np.uint64(32)
    prec = np.uint64(PRECISION)
    w32 = np.uint64(32)
    j = model_of[0]
    for i in range(start, n):
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
        st = (st >> prec) * freq_flat[b + s] + (x - cum_flat[cb + s])
        if st < low and top[lane] > base[lane]:
            st = (st << w32) | np.uint64(words[top[lane] - 1])
            top[lane] -= 1
        state[lane] = st
        out[i] = s
    ored = np.uint64(0)
    left = 0
    for lane in range(lanes):
        ored |= state[lane]
        left += top[lane] - base[lane]
    return ored, left


def decode_lanes(words, lane_words, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context, model_of, out,
                 threads: int | None = None):
    """Decode len(out) tokens in stream order; ``context`` [N] int (or a length-0 array: every value context 0);
    lut / lut_start / lut_shift from :func:`compact_luts`. Four lanes (the encoder's choice for long streams) run
    two per thread when numba has two threads and the payload is long (``threads`` given: as it says), else four
    unrolled on one; other lane counts go symbol by symbol.

    Returns (first value whose context is out of range or -1, OR of the final states, words left unread): a valid
    payload gives (-1, 0, 0)."""
    n = out.shape[0]
    has_context = context.shape[0] == n and n > 0
    if has_context:
        bad = _first_bad_context(context, model_of.shape[0])
        if bad >= 0:
            return bad, np.uint64(0), 0
    state, top, base = _init_lanes(words, lane_words)
    start = 0
    if lane_words.shape[0] == 4 and n >= 4:
        two = (numba.get_num_threads() if threads is None else threads) >= 2 and (threads or n >= PAIRS_MIN_VALUES)
        kernel = _decode_four_pairs if two else _decode_four
        kernel(words, state, top, base, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift, context, model_of,
               has_context, out)
        start = n - n % 4
    ored, left = _decode_from(words, state, top, base, freq_flat, cum_flat, offsets, lut, lut_start, lut_shift,
                              context, model_of, has_context, out, start)
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
