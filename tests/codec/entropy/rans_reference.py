"""Slow pure-Python reference of the ``rans`` payload, written from docs/entropy.md (not from the fast code).

Used by the tests to check that the fast path (numba kernels + constriction) produces and reads exactly the
documented bytes, so a JavaScript decoder written from the document will agree.
"""

from __future__ import annotations


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def unzigzag(u: int) -> int:
    return (u >> 1) ^ -(u & 1)


def split(u: int, k: int, m: int) -> tuple[int, int, int]:
    """-> (token, raw bit count, raw bits)."""
    if u < 1 << k:
        return u, 0, 0
    e = u.bit_length() - 1
    n = e - m
    return (1 << k) + ((e - k) << m) + ((u >> n) & ((1 << m) - 1)), n, u & ((1 << n) - 1)


def pack_bits(fields: list[tuple[int, int]]) -> bytes:
    """[(n, bits)] -> LSB-first packed bytes."""
    total, acc = 0, 0
    for n, bits in fields:
        acc |= bits << total
        total += n
    return acc.to_bytes((total + 7) // 8, "little")


def ans_frequencies(f: list[int], p: int) -> list[int]:
    free = (1 << 24) - len(f)
    q = [fi * free // (1 << p) for fi in f]
    q[f.index(max(f))] += free - sum(q)
    return [qi + 1 for qi in q]


def read_header(data: bytes, count: int):
    """The fields rans and irans share -> (k, m, model_of, tables [(F, cumulative L)], position after them)."""
    k, m = data[0], data[1]
    pos = 2
    n_values, pos = read_varint(data, pos)
    assert n_values == count
    n_ctx, pos = read_varint(data, pos)
    n_models, pos = read_varint(data, pos)
    model_of = []
    for _ in range(n_ctx):
        j, pos = read_varint(data, pos)
        model_of.append(j)
    tables = []
    for _ in range(n_models):
        t, pos = read_varint(data, pos)
        p = data[pos]
        pos += 1
        f = []
        for _ in range(t):
            fi, pos = read_varint(data, pos)
            f.append(fi)
        assert sum(f) == 1 << p
        freq = ans_frequencies(f, p)
        cum = [0]
        for fi in freq:
            cum.append(cum[-1] + fi)
        tables.append((freq, cum))
    return k, m, model_of, tables, pos


def decode(data: bytes, count: int, width: int, signed: bool, context: list[int] | None) -> list[int]:
    k, m, model_of, tables, pos = read_header(data, count)
    n_words, pos = read_varint(data, pos)
    words = [int.from_bytes(data[pos + 4 * i : pos + 4 * i + 4], "little") for i in range(n_words)]
    pos += 4 * n_words
    raw = data[pos:]

    ctx = context if context is not None else [0] * count
    value_model = [model_of[c] for c in ctx]
    stack = list(words)
    state = 0
    if stack:
        state = stack.pop()
    if stack:
        state = (state << 32) | stack.pop()
    tokens = [0] * count
    for j, (freq, cum) in enumerate(tables):
        for i in range(count):
            if value_model[i] != j:
                continue
            x = state & ((1 << 24) - 1)
            s = next(s for s in range(len(freq)) if cum[s] <= x < cum[s + 1])
            state = (state >> 24) * freq[s] + (x - cum[s])
            if state < 1 << 32 and stack:
                state = (state << 32) | stack.pop()
            tokens[i] = s
    assert state == 0 and not stack, "ANS stream did not end empty"

    return _values(tokens, k, m, raw, width, signed)

def _values(tokens: list[int], k: int, m: int, raw: bytes, width: int, signed: bool) -> list[int]:
    """Tokens + raw bits (stream order, LSB first) -> values, with the section-length check."""
    bitpos = 0
    acc = int.from_bytes(raw, "little")
    out = []
    for t in tokens:
        if t < 1 << k:
            u = t
        else:
            r = t - (1 << k)
            e = k + (r >> m)
            n = e - m
            bits = (acc >> bitpos) & ((1 << n) - 1)
            bitpos += n
            u = (((1 << m) | (r & ((1 << m) - 1))) << n) | bits
        out.append(unzigzag(u) if signed else u)
    assert (bitpos + 7) // 8 == len(raw)
    for v in out:
        assert (-(1 << (width - 1)) <= v < 1 << (width - 1)) if signed else (0 <= v < 1 << width)
    return out


def decode_irans(data: bytes, count: int, width: int, signed: bool, context: list[int] | None) -> list[int]:
    """The ``irans`` payload (docs/entropy.md "irans"): the rans fields, then lanes; value i on lane i mod Lanes."""
    k, m, model_of, tables, pos = read_header(data, count)
    lanes = data[pos]
    pos += 1
    assert lanes in (1, 2, 4, 8)
    counts = []
    for _ in range(lanes):
        nw, pos = read_varint(data, pos)
        counts.append(nw)
    stacks, states = [], []
    for nw in counts:
        words = [int.from_bytes(data[pos + 4 * i : pos + 4 * i + 4], "little") for i in range(nw)]
        pos += 4 * nw
        state = words.pop() if words else 0
        if words:
            state = (state << 32) | words.pop()
        stacks.append(words)
        states.append(state)
    raw = data[pos:]
    tokens = []
    for i in range(count):
        lane = i % lanes
        freq, cum = tables[model_of[context[i] if context is not None else 0]]
        x = states[lane] & ((1 << 24) - 1)
        s = next(s for s in range(len(freq)) if cum[s] <= x < cum[s + 1])
        state = (states[lane] >> 24) * freq[s] + (x - cum[s])
        if state < 1 << 32 and stacks[lane]:
            state = (state << 32) | stacks[lane].pop()
        states[lane] = state
        tokens.append(s)
    assert all(s == 0 for s in states) and not any(stacks), "ANS lanes did not end empty"
    return _values(tokens, k, m, raw, width, signed)
