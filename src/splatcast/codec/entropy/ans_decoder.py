"""Fast rANS decoder (numba) for constriction's ``AnsCoder`` format: 32-bit words, 64-bit state, 24-bit precision.

constriction encodes (and stays the reference decoder in the tests); its Python ``decode`` binary-searches the CDF at
~30 ns/symbol. This kernel decodes the same words bit-exactly with a 4096-entry lookup table per model (index: top
12 bits of the 24-bit quantile, then a short forward scan), which is several times faster. The algorithm is the one
in docs/entropy.md. Kernels release the GIL, so a caller may decode several streams on threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

PRECISION = 24
LUT_BITS = 12


def build_tables(freqs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-model 24-bit frequencies -> (freq_flat, cum_flat, offsets, lut_flat) for :func:`decode_tokens`."""
    offsets = np.zeros(len(freqs) + 1, np.int64)
    for j, f in enumerate(freqs):
        offsets[j + 1] = offsets[j] + f.shape[0]
    freq_flat = np.concatenate(freqs).astype(np.uint64)
    cum_flat = np.empty(offsets[-1] + len(freqs), np.uint64)  # each model's cum has T + 1 entries
    lut = np.empty((len(freqs), 1 << LUT_BITS), np.int32)
    shift = PRECISION - LUT_BITS
    for j, f in enumerate(freqs):
        cum = np.concatenate([[0], np.cumsum(f)]).astype(np.uint64)
        cum_flat[offsets[j] + j : offsets[j + 1] + j + 1] = cum
        starts = np.arange(1 << LUT_BITS, dtype=np.uint64) << np.uint64(shift)
        lut[j] = np.searchsorted(cum, starts, side="right") - 1  # symbol holding each bucket's first quantile
    return freq_flat, cum_flat, offsets, lut


@njit(cache=True, nogil=True)
def decode_tokens(words, freq_flat, cum_flat, offsets, lut, model_sizes, out):
    """Pop sum(model_sizes) tokens: model 0's first. Returns (final state, unread words) — both 0 when valid.

    words [Nw] uint32; model_sizes [M] int64; out [sum] int32 (model j's tokens contiguous, in order).
    """
    idx = words.shape[0]
    state = np.uint64(0)
    if idx >= 1:
        state = np.uint64(words[idx - 1])
        idx -= 1
    if idx >= 1:
        state = (state << np.uint64(32)) | np.uint64(words[idx - 1])
        idx -= 1
    mask = np.uint64((1 << PRECISION) - 1)
    shift = np.uint64(PRECISION - LUT_BITS)
    low = np.uint64(1) << np.uint64(32)
    pos = 0
    for j in range(model_sizes.shape[0]):
        base = offsets[j]
        cbase = offsets[j] + j
        table = lut[j]
        for _ in range(model_sizes[j]):
            x = state & mask
            s = np.int64(table[np.int64(x >> shift)])
            while cum_flat[cbase + s + 1] <= x:
                s += 1
            state = (state >> np.uint64(PRECISION)) * freq_flat[base + s] + (x - cum_flat[cbase + s])
            if state < low and idx > 0:
                state = (state << np.uint64(32)) | np.uint64(words[idx - 1])
                idx -= 1
            out[pos] = s
            pos += 1
    return state, idx


@njit(cache=True, nogil=True)
def scatter_by_model(grouped, value_model, model_sizes, out):
    """Grouped tokens (model 0's first, each model's in stream order) -> out [N] in stream order."""
    next_pos = np.empty(model_sizes.shape[0], np.int64)
    acc = 0
    for j in range(model_sizes.shape[0]):
        next_pos[j] = acc
        acc += model_sizes[j]
    for i in range(value_model.shape[0]):
        j = value_model[i]
        out[i] = grouped[next_pos[j]]
        next_pos[j] += 1


@njit(cache=True, nogil=True)
def prepare_models(f_flat, t_offsets, table_logs, with_lut=True):
    """All of a payload's tables at once: table frequencies (sum 2**P each) -> (freq_flat, cum_flat, lut) as
    :func:`build_tables` of :func:`rans_model.ans_frequencies` gives them (the slow reference, compared in tests).
    ``with_lut=False``: lut is empty (irans builds smaller ones, :func:`.ans_lanes.compact_luts`)."""
    n_models = table_logs.shape[0]
    total = t_offsets[n_models]
    freq = np.empty(total, np.uint64)
    cum = np.empty(total + n_models, np.uint64)
    lut = np.empty((n_models, (1 << LUT_BITS) if with_lut else 0), np.int32)
    shift = PRECISION - LUT_BITS
    for j in range(n_models):
        a, b = t_offsets[j], t_offsets[j + 1]
        free = (1 << PRECISION) - (b - a)
        q_sum = 0
        first_max = a
        for i in range(a, b):
            q = (f_flat[i] * free) >> table_logs[j]
            freq[i] = np.uint64(q)
            q_sum += q
            if f_flat[i] > f_flat[first_max]:
                first_max = i
        freq[first_max] += np.uint64(free - q_sum)
        c = a + j  # model j's cumulative table starts here (T + 1 entries)
        acc = np.uint64(0)
        for i in range(a, b):
            freq[i] += np.uint64(1)
            cum[c + i - a] = acc
            acc += freq[i]
        cum[c + b - a] = acc
        s = 0
        for k in range(lut.shape[1]):
            x = np.uint64(k) << np.uint64(shift)
            while cum[c + s + 1] <= x:
                s += 1
            lut[j, k] = s
    return freq, cum, lut


@njit(cache=True, nogil=True)
def decode_tokens_by_context(words, freq_flat, cum_flat, offsets, lut, context, model_of, out):
    """:func:`decode_tokens` + :func:`scatter_by_model` in one pass for values with contexts: model j decodes the
    tokens of the values whose context maps to j, written straight to their place in stream order.

    Returns (first context out of range or -1, final state, unread words)."""
    n, n_contexts, n_models = context.shape[0], model_of.shape[0], offsets.shape[0] - 1
    next_pos = np.zeros(n_models + 1, np.int64)
    for i in range(n):
        c = context[i]
        if c < 0 or c >= n_contexts:
            return i, np.uint64(0), 0
        next_pos[model_of[c] + 1] += 1
    for j in range(n_models):
        next_pos[j + 1] += next_pos[j]
    sizes = np.empty(n_models, np.int64)
    for j in range(n_models):
        sizes[j] = next_pos[j + 1] - next_pos[j]
    perm = np.empty(n, np.int64)  # stream positions of model 0's values, then model 1's, ...
    for i in range(n):
        j = model_of[context[i]]
        perm[next_pos[j]] = i
        next_pos[j] += 1
    grouped = np.empty(n, np.int32)
    state, idx = decode_tokens(words, freq_flat, cum_flat, offsets, lut, sizes, grouped)
    for p in range(n):
        out[perm[p]] = grouped[p]
    return -1, state, idx
