"""Static categorical models of the ``rans`` back-end: count quantization, table (de)serialization, 24-bit ANS model.

A table is sent as ``varint T`` (alphabet size, tokens ``0..T-1``), ``u8 P`` (log2 of the table total) and ``T``
varints ``f_i`` with ``sum(f_i) == 2**P``. Both sides then derive the 24-bit frequencies used by the ANS coder with
integer arithmetic only (so a JavaScript decoder reproduces them exactly):

    q_i = floor(f_i * (2**24 - T) / 2**P);  q_j += (2**24 - T) - sum(q)  for j = first index of max(f)
    F_i = q_i + 1        (every token gets a nonzero probability, sum(F) == 2**24)

constriction's ``Categorical(q, perfect=False)`` realises exactly these F_i: its fast quantizer gives symbol ``i``
the left cumulative ``floor(cum_q_i * (2**24 - T) / sum(q)) + i`` which, with ``sum(q) == 2**24 - T``, is
``cum_q_i + i`` (all integers below 2**24, exact in float32 and float64).
"""

from __future__ import annotations

import numpy as np

from splatcast.codec.entropy.varint import ByteReader, write_varint
from splatcast.errors import BitstreamFormatError, LimitError

ANS_PRECISION = 24
MAX_TABLE_LOG = 20
MIN_TABLE_LOG = 1


def quantize_counts(counts: np.ndarray, table_log: int) -> np.ndarray | None:
    """[T] int64 counts -> [T] int64 frequencies summing to 2**table_log, nonzero exactly where counts are.

    Returns None when the used symbols do not fit (more used symbols than 2**table_log).
    """
    target = 1 << table_log
    used = counts > 0
    n_used = int(used.sum())
    total = int(counts.sum())
    if n_used == 0 or n_used > target:
        return None
    f = np.where(used, np.maximum(1, np.rint(counts * (target / total))), 0).astype(np.int64)
    diff = target - int(f.sum())
    while diff != 0:
        order = np.argsort(-f, kind="stable")  # largest first, ties by index: deterministic
        if diff > 0:
            f[order[0]] += diff
            break
        shrinkable = order[f[order] > 1][: -diff]
        f[shrinkable] -= 1
        diff += shrinkable.shape[0]
    return f


def ans_frequencies(f: np.ndarray, table_log: int) -> np.ndarray:
    """[T] table frequencies (sum 2**table_log) -> [T] int64 ANS frequencies F_i = q_i + 1 summing to 2**24."""
    t = f.shape[0]
    free = (1 << ANS_PRECISION) - t
    q = (f * free) >> table_log
    q[int(np.argmax(f))] += free - int(q.sum())
    return q + 1


def ans_model_weights(f: np.ndarray, table_log: int) -> np.ndarray:
    """The float64 weights that make constriction's fast Categorical equal :func:`ans_frequencies` (q_i above)."""
    return (ans_frequencies(f, table_log) - 1).astype(np.float64)


def write_table(out: bytearray, f: np.ndarray, table_log: int) -> None:
    write_varint(out, f.shape[0])
    out.append(table_log)
    for value in f.tolist():
        write_varint(out, value)


def table_bytes(f: np.ndarray, table_log: int) -> int:
    """Serialized size of a table without building it (varint of x takes max(1, ceil(bits/7)) bytes)."""
    bits = np.zeros(f.shape[0], np.int64)
    nz = f > 0
    bits[nz] = np.floor(np.log2(f[nz])).astype(np.int64) + 1
    return len(_varint_len_table(f.shape[0])) + 1 + int(np.maximum(1, (bits + 6) // 7).sum())


def _varint_len_table(value: int) -> bytes:
    out = bytearray()
    write_varint(out, value)
    return bytes(out)


def read_table(reader: ByteReader, max_tokens: int, field: str) -> tuple[np.ndarray, int]:
    """Parse one table; checks 2 <= T <= max_tokens (before allocating), 1 <= P <= 20 and sum(f) == 2**P."""
    t = reader.varint(f"{field}.alphabet_size", max_tokens)
    if t < 2:
        raise BitstreamFormatError(f"{reader.where}: {field}.alphabet_size = {t} at offset {reader.pos}, expected >= 2")
    if t > reader.remaining:  # every frequency takes at least one byte
        raise LimitError(
            f"{reader.where}: {field}.alphabet_size = {t} needs >= {t} bytes, {reader.remaining} remain"
        )
    table_log = reader.u8(f"{field}.table_log")
    if not MIN_TABLE_LOG <= table_log <= MAX_TABLE_LOG:
        raise BitstreamFormatError(
            f"{reader.where}: {field}.table_log = {table_log}, expected {MIN_TABLE_LOG}..{MAX_TABLE_LOG}"
        )
    target = 1 << table_log
    f = reader.varints(t, f"{field}.frequency", target)
    total = int(f.sum())
    if total != target:
        raise BitstreamFormatError(f"{reader.where}: {field} frequencies sum to {total}, expected 2**{table_log}")
    return f, table_log


def estimate_bits(counts: np.ndarray) -> float:
    """Cheap size estimate (order-0 entropy + table bytes at full count precision) for parameter searches."""
    used = counts[counts > 0]
    n = int(used.sum())
    if n == 0:
        return 8.0 * (counts.shape[0] + 2)
    entropy = float(-(used * np.log2(used / n)).sum())
    extra = int((np.maximum(1, (np.floor(np.log2(used)).astype(np.int64) + 7) // 7) - 1).sum())
    return entropy + 8.0 * (max(counts.shape[0], 2) + extra + 2)


def best_table(counts: np.ndarray) -> tuple[np.ndarray, int, float]:
    """Choose the table precision minimising table bytes + coded bits; returns (f, table_log, estimated bits)."""
    n = int(counts.sum())
    if counts.shape[0] < 2:
        counts = np.concatenate([counts, np.zeros(2 - counts.shape[0], np.int64)])
    if n == 0:
        f = np.zeros(counts.shape[0], np.int64)
        f[0] = 2
        return f, 1, 8.0 * table_bytes(f, 1)
    n_used = int((counts > 0).sum())
    best = None
    lo = max(MIN_TABLE_LOG, int(np.ceil(np.log2(max(n_used, 2)))))
    hi = min(MAX_TABLE_LOG, max(lo, int(np.ceil(np.log2(n))) + 2))
    for table_log in sorted({max(lo, hi - step) for step in (0, 2, 4, 7)}):  # the optimum is flat: few probes
        f = quantize_counts(counts, table_log)
        if f is None:
            continue
        freq = ans_frequencies(f, table_log)
        used = counts > 0
        bits = float(-(counts[used] * np.log2(freq[used] / float(1 << ANS_PRECISION))).sum())
        bits += 8.0 * table_bytes(f, table_log)
        if best is None or bits < best[2]:
            best = (f, table_log, bits)
    assert best is not None
    return best
