"""Fast paths of the rans decoder against their slow references: the batch varint reader, the one-kernel tables."""

from __future__ import annotations

import re

import numpy as np
import pytest

from splatcast.codec.entropy.varint import ByteReader, write_varint
from splatcast.errors import BitstreamError


def _one_by_one(data: bytes, n: int, maximum: int):
    r = ByteReader(data, "t")
    try:
        return [r.varint(f"v[{i}]", maximum) for i in range(n)], r.pos, None
    except BitstreamError as exc:
        return None, None, (type(exc), str(exc))


def _batch(data: bytes, n: int, maximum: int):
    r = ByteReader(data, "t")
    try:
        return r.varints(n, "v", maximum).tolist(), r.pos, None
    except BitstreamError as exc:
        return None, None, (type(exc), str(exc))


def test_batch_equals_one_by_one_on_random_and_damaged_input():
    rng = np.random.default_rng(1)
    for trial in range(400):
        values = rng.integers(0, 1 << int(rng.integers(1, 40)), size=int(rng.integers(0, 30))).tolist()
        out = bytearray()
        for v in values:
            write_varint(out, v)
        data = bytes(out)
        if trial % 3 == 1 and data:  # damage: flip a byte, truncate, or add a non-minimal zero tail
            i = int(rng.integers(0, len(data)))
            data = data[:i] + bytes([data[i] ^ 0x80]) + data[i + 1:]
        elif trial % 3 == 2:
            data = data[: max(0, len(data) - int(rng.integers(0, 3)))]
        maximum = int(rng.choice([1 << 20, 1 << 40, max(values, default=0)]))
        n = len(values)
        a, b = _one_by_one(data, n, maximum), _batch(data, n, maximum)
        if a[2] is None:
            assert a == b
        else:  # the same error class, naming the field (the batch may refuse a short payload up front)
            assert b[2] is not None and b[2][0] is a[2][0], (a, b)
            assert re.search(r"\bv\[\d+\]|'v'", b[2][1]), b


def test_batch_refuses_more_values_than_bytes_before_allocating():
    with pytest.raises(BitstreamError, match="need >= 1000000000"):
        ByteReader(b"\x01\x02", "t").varints(10**9, "v", 10)


def test_model_tables_in_one_kernel_equal_the_per_model_reference():
    """ans_decoder.prepare_models (every table of a payload in one numba pass) against build_tables of
    rans_model.ans_frequencies, table by table (the slow definition of docs/entropy.md)."""
    from splatcast.codec.entropy import ans_decoder as ans
    from splatcast.codec.entropy import rans_model as rm

    rng = np.random.default_rng(3)
    tables = []
    for _ in range(40):
        t = int(rng.integers(2, 300))
        log = int(rng.integers(int(np.ceil(np.log2(t))), 21))
        counts = rng.integers(0, 1000, t) * (rng.random(t) < 0.7)
        counts[int(rng.integers(0, t))] += 1
        f = rm.quantize_counts(counts.astype(np.int64), log)
        if f is not None:
            tables.append((f, log))
    offsets = np.zeros(len(tables) + 1, np.int64)
    offsets[1:] = np.cumsum([f.shape[0] for f, _ in tables])
    got = ans.prepare_models(np.concatenate([f for f, _ in tables]).astype(np.int64), offsets,
                             np.array([log for _, log in tables], np.int64))
    want = ans.build_tables([rm.ans_frequencies(f, log) for f, log in tables])
    for g, w in zip(got, (want[0], want[1], want[3])):
        assert np.array_equal(g, w)
