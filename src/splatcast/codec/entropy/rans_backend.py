"""``rans`` back-end (wire id 4): static per-stream (and per-context) categorical models + constriction's rANS coder.

Pipeline: values -> zigzag -> hybrid-uint tokens + raw bits (:mod:`.hybrid_uint`) -> one quantized frequency table
per model (:mod:`.rans_model`) -> tokens coded with ``constriction.stream.stack.AnsCoder`` (32-bit words, 64-bit
state, 24-bit probabilities). With a ``context`` array (small non-negative ints, e.g. the prediction mode), each
context value either gets its own model or shares model 0, whichever the encoder estimates smaller. Byte layout:
docs/entropy.md.
"""

from __future__ import annotations

import constriction
import numpy as np

from splatcast.codec.entropy import ans_decoder as ans
from splatcast.codec.entropy import hybrid_uint as hu
from splatcast.codec.entropy import rans_model as rm
from splatcast.codec.entropy.varint import ByteReader, write_varint
from splatcast.errors import BitstreamFormatError, TruncatedError

MAX_CONTEXTS = 1024
Categorical = constriction.stream.model.Categorical  # a compiled module: no submodule imports
AnsCoder = constriction.stream.stack.AnsCoder
WHERE = "rans payload"


def _choose_split(u: np.ndarray) -> tuple[int, int]:
    """Pick hybrid-uint (k, m) minimising the estimated pooled size (model bits + table + raw bits)."""
    direct, big = hu.fine_histogram(u)
    top = int(np.max(u)) if u.shape[0] else 0
    best = None
    for k in range(0, hu.FINE_DIRECT_BITS + 1):
        for m in range(0, min(k, hu.FINE_MSBS) + 1):
            counts, raw_bits = hu.token_histogram(direct, big, k, m)
            bits = rm.estimate_bits(counts) + raw_bits
            if best is None or bits < best[0]:
                best = (bits, k, m)
        if top < 1 << k:  # larger k cannot change anything: every value is already a direct token
            break
    return best[1], best[2]


def _counts(tokens: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(tokens, minlength=size).astype(np.int64)


def _cross_bits(counts: np.ndarray, f: np.ndarray, table_log: int) -> float:
    freq = rm.ans_frequencies(f, table_log)
    used = counts > 0
    return float(-(counts[used] * np.log2(freq[used] / float(1 << rm.ANS_PRECISION))).sum())


def _assign_models(tokens: np.ndarray, context: np.ndarray, n_contexts: int) -> np.ndarray:
    """[C] model index per context value: own model where it beats the pooled one by more than its table."""
    size = max(2, int(tokens.max()) + 1)
    pooled = _counts(tokens, size)
    f_pool, log_pool, _ = rm.best_table(pooled)
    per_context = np.bincount(context * size + tokens, minlength=n_contexts * size).reshape(n_contexts, size)
    used = per_context.sum(axis=1) > 0
    own = np.zeros(n_contexts, bool)
    for c in np.flatnonzero(used):
        counts = per_context[c].astype(np.int64)
        own[c] = rm.estimate_bits(counts) < _cross_bits(counts, f_pool, log_pool)
    has_shared = bool((used & ~own).any())  # model 0 pools every context without its own model
    model_of = np.zeros(n_contexts, np.int64)
    model_of[own] = np.arange(int(own.sum())) + int(has_shared)
    return model_of


def prepare(values: np.ndarray, context: np.ndarray | None):
    """The part of the payload shared with ``irans``: values -> (header bytes up to the last table, tokens [N],
    each value's model [N], per-model tables [(f, table_log)], raw-bit counts, raw bits)."""
    u = hu.to_unsigned(values)
    n = u.shape[0]
    k, m = _choose_split(u)
    tokens, nbits, raw = hu.split_tokens(u, k, m)
    if context is None or n == 0:
        ctx = np.zeros(n, np.int64)
        n_contexts = 1
        model_of = np.zeros(1, np.int64)
    else:
        ctx = context.astype(np.int64)
        n_contexts = int(ctx.max()) + 1
        model_of = _assign_models(tokens, ctx, n_contexts)
    n_models = int(model_of.max()) + 1
    value_model = model_of[ctx]

    out = bytearray([k, m])
    write_varint(out, n)
    write_varint(out, n_contexts)
    write_varint(out, n_models)
    for j in model_of.tolist():
        write_varint(out, j)
    # every model's token histogram in one pass: its table spans its own largest token (at least 2 entries)
    width = int(tokens.max()) + 1 if n else 1
    hist = np.bincount(value_model * width + tokens, minlength=n_models * width).reshape(n_models, width)
    tables = []
    for j in range(n_models):
        used = np.flatnonzero(hist[j])
        size = max(2, int(used[-1]) + 1 if used.shape[0] else 2)
        counts = np.zeros(size, np.int64)
        counts[: min(size, width)] = hist[j, :size]
        f, table_log, _ = rm.best_table(counts)
        rm.write_table(out, f, table_log)
        tables.append((f, table_log))
    return out, tokens, value_model, tables, nbits, raw


def encode(values: np.ndarray, context: np.ndarray | None) -> bytes:
    """[N] int array (+ optional [N] context) -> payload bytes."""
    out, tokens, value_model, tables, nbits, raw = prepare(values, context)
    n_models = len(tables)
    if n_models > 1:  # each model's sub-stream: its values' tokens in stream order
        order = np.argsort(value_model, kind="stable")
        subs = np.split(tokens[order], np.cumsum(np.bincount(value_model, minlength=n_models))[:-1])
    else:
        subs = [tokens]
    coder = AnsCoder()
    for sub, (f, table_log) in reversed(list(zip(subs, tables))):  # a stack: the last pushed is the first decoded
        if sub.shape[0]:
            coder.encode_reverse(sub, Categorical(rm.ans_model_weights(f, table_log), perfect=False))
    words = coder.get_compressed().astype("<u4")
    write_varint(out, words.shape[0])
    out += words.tobytes()
    out += hu.pack_bits(raw, nbits)
    return bytes(out)


def context_error(context: np.ndarray, n_contexts: int, where: str = WHERE) -> BitstreamFormatError:
    return BitstreamFormatError(f"{where}: context values span {int(context.min())}..{int(context.max())}, payload "
                                f"models 0..{n_contexts - 1}")


def fast_tables(tables, luts: bool = True):
    """Every table of a payload prepared in one numba pass -> (freq, cum, offsets, lut) of :mod:`.ans_decoder`
    (``luts=False``: (freq, cum, offsets), no lookup tables)."""
    t_offsets = np.zeros(len(tables) + 1, np.int64)
    t_offsets[1:] = np.cumsum([f.shape[0] for f, _ in tables])
    f_flat = np.concatenate([f for f, _ in tables]).astype(np.int64)
    logs = np.array([log for _, log in tables], np.int64)
    freq, cum, lut = ans.prepare_models(f_flat, t_offsets, logs, luts)
    return (freq, cum, t_offsets, lut) if luts else (freq, cum, t_offsets)


def _decode_tokens(words, tables, context, model_of, n_models, count, reference):
    """ANS words -> [count] tokens in stream order; ``context`` None: every value uses ``model_of[0]``.

    Fast path: every table prepared in one numba pass and, with contexts, decoding scattered to stream order in the
    same kernel call. ``reference``: the per-model Python tables and constriction's decoder (the slow oracle)."""
    if reference:
        if context is not None and count and (int(context.min()) < 0 or int(context.max()) >= len(model_of)):
            raise context_error(context, len(model_of))
        value_model = model_of[context.astype(np.int64)] if context is not None else np.full(count, model_of[0])
        sizes = np.bincount(value_model, minlength=n_models).astype(np.int64)
        freqs = [rm.ans_frequencies(f, table_log) for f, table_log in tables]
        coder = AnsCoder(words)
        parts = [coder.decode(Categorical((fr - 1).astype(np.float64), perfect=False), int(n))
                 for fr, n in zip(freqs, sizes) if n]
        grouped = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        if not coder.is_empty():
            raise BitstreamFormatError(f"{WHERE}: ANS stream does not end empty after {count} symbols (corrupt)")
        tokens = np.empty(count, np.int32)
        ans.scatter_by_model(grouped, value_model.astype(np.int64), sizes, tokens)
        return tokens
    freq, cum, t_offsets, lut = fast_tables(tables)
    tokens = np.empty(count, np.int32)
    if context is None:
        sizes = np.zeros(n_models, np.int64)
        sizes[model_of[0]] = count
        state_left, words_left = ans.decode_tokens(words, freq, cum, t_offsets, lut, sizes, tokens)
    else:
        bad, state_left, words_left = ans.decode_tokens_by_context(
            words, freq, cum, t_offsets, lut, np.ascontiguousarray(context), model_of, tokens)
        if bad >= 0:
            raise context_error(context, len(model_of))
    if state_left != 0 or words_left != 0:
        raise BitstreamFormatError(f"{WHERE}: ANS stream does not end empty after {count} symbols (corrupt)")
    return tokens


def read_header(reader: ByteReader, count: int, dtype: np.dtype, where: str = WHERE):
    """The fields shared with ``irans`` -> (k, m, model_of [C], tables [(f, table_log)])."""
    k = reader.u8("split_exponent")
    m = reader.u8("msb_in_token")
    if k > hu.MAX_SPLIT_EXPONENT or m > min(k, hu.MAX_MSB_IN_TOKEN):
        raise BitstreamFormatError(
            f"{where}: split_exponent={k}, msb_in_token={m}; expected k <= {hu.MAX_SPLIT_EXPONENT}, m <= min(k, 8)"
        )
    width = dtype.itemsize * 8
    token_limit = hu.max_token(k, m, width) + 1
    coded = reader.varint("value_count", 1 << 64)
    if coded != count:
        raise BitstreamFormatError(f"{where}: value_count = {coded} at offset 2, the container expects {count}")
    n_contexts = reader.varint("context_count", MAX_CONTEXTS)
    if n_contexts < 1:
        raise BitstreamFormatError(f"{where}: context_count = 0, expected >= 1")
    n_models = reader.varint("model_count", n_contexts)
    if n_models < 1:
        raise BitstreamFormatError(f"{where}: model_count = 0, expected >= 1")
    model_of = reader.varints(n_contexts, "model_of", n_models - 1)
    tables = [rm.read_table(reader, token_limit, f"model[{j}]") for j in range(n_models)]
    return k, m, model_of, tables


def check_context(context: np.ndarray | None, count: int) -> np.ndarray | None:
    if context is not None:
        ctx = np.asarray(context)
        if ctx.shape != (count,) or ctx.dtype.kind not in "iu":
            raise ValueError(f"context must be a [count={count}] integer array, got {ctx.dtype} {ctx.shape}")
        context = ctx
    return context


def finish(tokens: np.ndarray, k: int, m: int, raw_buf: bytes, dtype: np.dtype, where: str = WHERE) -> np.ndarray:
    """Tokens + the raw-bit section -> values, with the section's length and padding checks."""
    values, used_bits = hu.merge_tokens(tokens, k, m, raw_buf, dtype)
    if used_bits < 0:
        raise TruncatedError(f"{where}: raw-bit section ({len(raw_buf)} bytes) ends before the last escaped value")
    if (used_bits + 7) // 8 != len(raw_buf):
        raise BitstreamFormatError(
            f"{where}: raw-bit section is {len(raw_buf)} bytes, the tokens need {(used_bits + 7) // 8}"
        )
    if used_bits & 7 and raw_buf[-1] >> (used_bits & 7):
        raise BitstreamFormatError(f"{where}: nonzero padding bits after the last raw bit")
    return values


def decode(
    data: bytes, count: int, dtype: np.dtype, context: np.ndarray | None, reference: bool = False
) -> np.ndarray:
    """Payload -> [count] values of ``dtype``; raises only BitstreamError subclasses on bad bytes.

    ``reference=True`` decodes the ANS words with constriction instead of the numba kernel (tests compare both).
    """
    reader = ByteReader(data, WHERE)
    k, m, model_of, tables = read_header(reader, count, dtype)
    n_words = reader.varint("ans_word_count", reader.remaining // 4)
    words = np.frombuffer(reader.take(4 * n_words, "ans_words"), "<u4").astype(np.uint32)
    if n_words and words[-1] == 0:
        raise BitstreamFormatError(f"{WHERE}: last ANS word is zero (the coder's final state never ends in 0)")
    raw_buf = bytes(reader.take(reader.remaining, "raw_bits"))
    context = check_context(context, count)
    tokens = _decode_tokens(words, tables, context, model_of, len(tables), count, reference)
    return finish(tokens, k, m, raw_buf, dtype)
