"""Symbol mapping of the ``rans`` back-end: integers of any width -> small token alphabet + raw low bits.

Signed values are zigzag-mapped to unsigned (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...); unsigned values stay as they are.
An unsigned value ``u`` then becomes a *token* coded with the adaptive-free categorical model, plus raw bits stored
verbatim (the "hybrid uint" of JPEG XL, with parameters split exponent ``k`` and ``m`` mantissa bits in the token):

- ``u < 2**k``: token ``u``, no raw bits (small residuals, modes and VQ indices are coded exactly, order-0);
- otherwise, with ``e = floor(log2(u))`` (``e >= k``) and ``nbits = e - m``:
  token ``2**k + ((e - k) << m) + ((u >> nbits) & (2**m - 1))``, raw bits ``u & (2**nbits - 1)``.

So rare large values (residual tails, Morton deltas) cost an exponent bucket from the model plus their low bits, and
the model table stays small. Raw bits are packed LSB-first into one buffer in value order (see docs/entropy.md).
The numba kernels here are the fast path; tests compare them with a plain Python reference.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

MAX_SPLIT_EXPONENT = 16
MAX_MSB_IN_TOKEN = 8
FINE_DIRECT_BITS = 12  # the encoder's parameter search sees values < 2**12 exactly and larger ones by (e, 3 msbs)
FINE_MSBS = 3


def to_unsigned(values: np.ndarray) -> np.ndarray:
    """[N] any int dtype -> [N] uint64; zigzag for signed dtypes."""
    if values.dtype.kind == "i":
        v = values.astype(np.int64)
        return ((v << 1) ^ (v >> 63)).view(np.uint64)
    return values.astype(np.uint64)


def from_unsigned(u: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`to_unsigned`; the caller guarantees that ``u`` fits the dtype's width."""
    if dtype.kind == "i":
        v = (u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))
        return v.view(np.int64).astype(dtype)
    return u.astype(dtype)


def max_token(k: int, m: int, width_bits: int) -> int:
    """Largest token a value of ``width_bits`` bits can produce with parameters (k, m)."""
    top = (1 << width_bits) - 1
    if top < 1 << k:
        return top
    return (1 << k) + ((width_bits - 1 - k) << m) + (1 << m) - 1


@njit(cache=True, nogil=True)
def _split(u, k, m, tokens, nbits, raw):  # u [N] uint64 -> tokens [N] int32, nbits [N] uint8, raw [N] uint64
    base = np.uint64(1) << np.uint64(k)
    for i in range(u.shape[0]):
        v = u[i]
        if v < base:
            tokens[i] = np.int32(v)
            nbits[i] = 0
            raw[i] = 0
        else:
            e = 63
            while (v >> np.uint64(e)) == 0:
                e -= 1
            nb = e - m
            mid = (v >> np.uint64(nb)) & ((np.uint64(1) << np.uint64(m)) - np.uint64(1))
            tokens[i] = np.int32((1 << k) + ((e - k) << m) + np.int64(mid))
            nbits[i] = nb
            raw[i] = v & ((np.uint64(1) << np.uint64(nb)) - np.uint64(1))


def split_tokens(u: np.ndarray, k: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N] uint64 -> (tokens [N] int32, raw bit counts [N] uint8, raw bits [N] uint64)."""
    n = u.shape[0]
    tokens = np.empty(n, np.int32)
    nbits = np.empty(n, np.uint8)
    raw = np.empty(n, np.uint64)
    _split(np.ascontiguousarray(u, dtype=np.uint64), k, m, tokens, nbits, raw)
    return tokens, nbits, raw


@njit(cache=True, nogil=True)
def _pack_bits(raw, nbits, out):  # raw [N] uint64, nbits [N] uint8, out [bytes] uint8 zero-filled
    pos = 0
    for i in range(raw.shape[0]):
        nb = np.int64(nbits[i])
        v = raw[i]
        while nb > 0:
            off = pos & 7
            take = min(8 - off, nb)
            out[pos >> 3] |= np.uint8((v & np.uint64((1 << take) - 1)) << np.uint64(off))
            v >>= np.uint64(take)
            nb -= take
            pos += take


def pack_bits(raw: np.ndarray, nbits: np.ndarray) -> bytes:
    """Concatenate ``nbits[i]`` low bits of each ``raw[i]``, LSB-first, into ceil(total/8) bytes (zero padding)."""
    total = int(nbits.sum(dtype=np.int64))
    out = np.zeros((total + 7) // 8, np.uint8)
    if total:
        _pack_bits(raw, nbits, out)
    return out.tobytes()


@njit(cache=True, nogil=True)
def _merge(tokens, k, m, buf, signed, out):  # tokens [N] int32, buf [bytes] uint8 -> out [N] any int; bits read or -1
    base = 1 << k
    limit = buf.shape[0] * 8
    pos = 0
    one = np.uint64(1)
    for i in range(tokens.shape[0]):
        t = np.int64(tokens[i])
        if t < base:
            u = np.uint64(t)
        else:
            r = t - base
            e = k + (r >> m)
            nb = e - m
            if pos + nb > limit:
                return -1
            value = np.uint64(0)
            got = 0
            while got < nb:
                off = pos & 7
                take = min(8 - off, nb - got)
                bits = (np.uint64(buf[pos >> 3]) >> np.uint64(off)) & np.uint64((1 << take) - 1)
                value |= bits << np.uint64(got)
                got += take
                pos += take
            lead = np.uint64((1 << m) | (r & ((1 << m) - 1)))
            u = (lead << np.uint64(nb)) | value
        if signed:  # un-zigzag: 0, 1, 2, 3 -> 0, -1, 1, -2
            out[i] = np.int64(u >> one) ^ -np.int64(u & one)
        else:
            out[i] = u
    return pos


def merge_tokens(tokens: np.ndarray, k: int, m: int, raw_buf: bytes, dtype: np.dtype) -> tuple[np.ndarray, int]:
    """Inverse of split + pack + zigzag: ([N] tokens, packed raw bits) -> ([N] values of dtype, raw bits read or -1).

    Tokens must already be known valid (< max_token + 1 for the dtype's width); the buffer length is untrusted.
    """
    out = np.empty(tokens.shape[0], dtype)
    buf = np.frombuffer(raw_buf, np.uint8)
    used = _merge(np.ascontiguousarray(tokens, dtype=np.int32), k, m, buf, dtype.kind == "i", out)
    return out, int(used)


@njit(cache=True, nogil=True)
def _fine_histogram(u, direct, big):  # u [N] uint64 -> direct [2**12] int64, big [64, 8] int64 (exponent, 3 msbs)
    limit = np.uint64(direct.shape[0])
    for i in range(u.shape[0]):
        v = u[i]
        if v < limit:
            direct[np.int64(v)] += 1
        else:
            e = 63
            while (v >> np.uint64(e)) == 0:
                e -= 1
            big[e, np.int64((v >> np.uint64(e - 3)) & np.uint64(7))] += 1


def fine_histogram(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram detailed enough to evaluate every (k <= 12, m <= 3) parameter pair without re-tokenizing."""
    direct = np.zeros(1 << FINE_DIRECT_BITS, np.int64)
    big = np.zeros((64, 1 << FINE_MSBS), np.int64)
    if u.shape[0]:
        _fine_histogram(np.ascontiguousarray(u, dtype=np.uint64), direct, big)
    return direct, big


@functools.lru_cache(maxsize=None)
def _direct_tokens(k: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(token, raw-bit count) of every value below 2**FINE_DIRECT_BITS under (k, m): the same for every stream, so
    the parameter search computes them once (read-only)."""
    v = np.arange(1 << FINE_DIRECT_BITS, dtype=np.int64)
    e = np.zeros_like(v)
    e[1:] = np.floor(np.log2(v[1:])).astype(np.int64)  # exact for v < 2**12
    esc = v >= 1 << k
    nb = np.where(esc, e - m, 0)
    mid = np.where(esc, (v >> np.maximum(nb, 0)) & ((1 << m) - 1), 0)
    tok = np.where(esc, (1 << k) + ((e - k) << m) + mid, v)
    tok.flags.writeable = False
    nb.flags.writeable = False
    return tok, nb


def token_histogram(direct: np.ndarray, big: np.ndarray, k: int, m: int) -> tuple[np.ndarray, int]:
    """Token counts and total raw bits for parameters (k, m) from a :func:`fine_histogram` (k <= 12, m <= 3, m <= k)."""
    tok_small, nb = _direct_tokens(k, m)
    eb, msb = np.nonzero(big)
    tok_big = (1 << k) + ((eb - k) << m) + (msb >> (FINE_MSBS - m))
    w_big = big[eb, msb]
    size = max(int(tok_small.max()), int(tok_big.max()) if len(tok_big) else 0) + 1
    counts = np.bincount(tok_small, weights=direct, minlength=size)
    if len(tok_big):
        counts += np.bincount(tok_big, weights=w_big, minlength=size)
    counts = counts.astype(np.int64)
    # the counts end at the largest token some value has
    used = np.flatnonzero(counts)
    counts = counts[: used[-1] + 1] if len(used) else counts[:0]
    raw_bits = int((nb * direct).sum() + ((eb - m) * w_big).sum())
    return counts, raw_bits
