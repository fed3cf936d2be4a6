"""Slow references written from docs/format.md (sections 1-5) and the paper's VQ section, for the codec tests.

Nothing here imports ``splatcast.codec``: these are the definitions transcribed in plain Python / numpy, so a test
that compares the fast code with them does not trust the code under test. ``spec_decode`` is a second decoder for
untiled zstd / lzma files (versions 1-3): header and chunk parsing with ``struct``, payloads with the ``zstandard``
and ``lzma`` modules (docs/entropy.md, "Byte back-ends"), prediction, VQ and dequantization by the spec's formulas.
"""

from __future__ import annotations

import lzma
import math
import struct
from dataclasses import dataclass, field

import numpy as np

FEATURE_LIMIT = (1 << 24) - 1
N_FIXED = 11  # columns 0-2 DC, 3 opacity, 4-6 log scale, 7-10 quaternion; 11.. SH rest


def rest_count(degree: int) -> int:
    return (degree + 1) ** 2 - 1


# ---------------------------------------------------------------------------------------------- section 2: quantizers
def grid_step(lo, hi, bits: int) -> list[float]:
    """step_a = (grid_max_a - grid_min_a) / (2^bits - 1), float64 of the f32 fields (0 for a flat axis)."""
    return [(float(np.float32(h)) - float(np.float32(lo_))) / float(2**bits - 1) for lo_, h in zip(lo, hi)]


def quantize_positions(means, lo, hi, bits: int) -> np.ndarray:
    """q = rint((x - grid_min) / step) clipped to 0..2^bits - 1, value by value (0 on a flat axis)."""
    step = grid_step(lo, hi, bits)
    top = 2**bits - 1
    out = np.zeros((len(means), 3), np.int32)
    for i, row in enumerate(np.asarray(means, np.float32).tolist()):
        for a in range(3):
            if step[a] > 0:
                q = round((row[a] - float(np.float32(lo[a]))) / step[a])  # Python round: half to even, as rint
                out[i, a] = min(max(q, 0), top)
    return out


def dequantize_positions(q, lo, hi, bits: int) -> np.ndarray:
    """grid_min + q * step in float64, then f32."""
    step = grid_step(lo, hi, bits)
    out = np.zeros((len(q), 3), np.float32)
    for i, row in enumerate(np.asarray(q).tolist()):
        for a in range(3):
            out[i, a] = np.float32(float(np.float32(lo[a])) + row[a] * step[a])
    return out


def quantize_features(cloud, steps, degree: int) -> np.ndarray:
    """F[N, 11 + 3 K(degree)] = rint(value / step), clipped to +-(2^24 - 1). The quaternion is normalised (and
    negated where w < 0) first; like every attribute of the cloud it is held as f32 before the division."""
    s = [float(np.float32(x)) for x in steps]
    k = rest_count(degree)
    n = len(cloud)
    q = cloud.quats.astype(np.float64)
    q = q / np.maximum(np.sqrt((q * q).sum(axis=1, keepdims=True)), 1e-12)
    q = np.where(q[:, :1] < 0, -q, q).astype(np.float32)
    rest = np.zeros((n, k, 3), np.float32)
    have = min(k, cloud.sh_rest.shape[1])
    rest[:, :have] = cloud.sh_rest[:, :have]  # truncated or zero-padded to the file's degree
    cols = [(cloud.sh_dc, s[0]), (cloud.opacities[:, None], s[1]), (cloud.scales, s[2]), (q, s[3]),
            (rest.reshape(n, 3 * k), s[4])]
    out = np.zeros((n, N_FIXED + 3 * k), np.int64)
    at = 0
    for values, step in cols:
        v = np.asarray(values, np.float32).astype(np.float64)
        out[:, at : at + v.shape[1]] = np.rint(v / step)
        at += v.shape[1]
    return np.clip(out, -FEATURE_LIMIT, FEATURE_LIMIT).astype(np.int32)


def dequantize_features(feat, steps, layer_degree: int) -> dict:
    """Every feature float64(F) * float64(step) rounded to f32; SH rest cut to the layer's degree."""
    s = [float(np.float32(x)) for x in steps]
    f = np.asarray(feat, np.int64).astype(np.float64)
    k = rest_count(layer_degree)
    n = len(f)

    def scaled(a, b, step):
        return (f[:, a:b] * step).astype(np.float32)

    return {
        "sh_dc": scaled(0, 3, s[0]),
        "opacities": scaled(3, 4, s[1])[:, 0],
        "scales": scaled(4, 7, s[2]),
        "quats": scaled(7, 11, s[3]),
        "sh_rest": scaled(N_FIXED, N_FIXED + 3 * k, s[4]).reshape(n, k, 3),
    }


# ------------------------------------------------------------------------------------------ section 3.2: prediction
def knn_brute(p_low, x, k: int) -> list[int]:
    """The k' = min(k, M) rows nearest to x by exact squared integer distance, ties by the lower row index."""
    p = np.asarray(p_low, np.int64)
    d2 = ((p - np.asarray(x, np.int64)) ** 2).sum(axis=1)
    return sorted(range(len(p)), key=lambda j: (int(d2[j]), j))[: min(k, len(p))]


def bilateral(p_low, f_low, x, nb) -> list[int]:
    """Mode 0 of section 3.2, in IEEE double with the sums strictly sequential over j (and c = 0, 1, 2)."""
    k = len(nb)
    xs = [float(v) for v in x]
    d = []
    for j in nb:
        s = 0.0
        for a in range(3):
            t = float(p_low[j][a]) - xs[a]
            s += t * t
        d.append(s)
    sd = 0.0
    for v in d:
        sd += v
    sd = sd / k + 1.0
    m = []
    for c in range(3):
        s = 0.0
        for j in nb:
            s += float(f_low[j][c])
        m.append(s / k)
    f = []
    for j in nb:
        s = 0.0
        for c in range(3):
            t = float(f_low[j][c]) - m[c]
            s += t * t
        f.append(s)
    sf = 0.0
    for v in f:
        sf += v
    sf = sf / k + 1.0
    w = [1.0 / ((1.0 + d[t] / sd) * (1.0 + f[t] / sf)) for t in range(k)]
    big_w = 0.0
    for v in w:
        big_w += v
    out = []
    for col in range(len(f_low[nb[0]])):
        acc = 0.0
        for t, j in enumerate(nb):
            acc += w[t] * float(f_low[j][col])
        out.append(math.floor(acc / big_w + 0.5))
    return out


def predict(p_low, f_low, x, nb, mode: int) -> list[int]:
    """pred_i: mode 0 bilateral, mode m >= 1 copies F_low[n_m]."""
    return bilateral(p_low, f_low, x, nb) if mode == 0 else [int(v) for v in f_low[nb[mode - 1]]]


def choose_mode(f_low, feat_row, nb, bil_row, cols) -> int:
    """docs/format.md section 6 / the paper: the mode with the least L1 integer residual over ``cols``, ties to the
    lowest mode (0 bilateral, 1..k nearest-feature copies)."""
    costs = [sum(abs(int(feat_row[c]) - int(bil_row[c])) for c in cols)]
    for j in nb:
        costs.append(sum(abs(int(feat_row[c]) - int(f_low[j][c])) for c in cols))
    return min(range(len(costs)), key=lambda m: (costs[m], m))


# ------------------------------------------------------------------------------------------------ the paper's VQ
def nearest_codeword(r, codebook) -> int:
    """Assignment step: the codeword at the least squared L2 distance (exact integers), ties to the lowest index."""
    best, bi = None, 0
    for j, c in enumerate(codebook):
        d = sum((int(r[a]) - int(c[a])) ** 2 for a in range(3))
        if best is None or d < best:
            best, bi = d, j
    return bi


def wcss(x, centres) -> float:
    """Within-cluster sum of squared errors of points x [N, 3] against their nearest centre."""
    x = np.asarray(x, np.float64)
    c = np.asarray(centres, np.float64)
    return float(((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).min(axis=1).sum())


def lloyd(x, k: int, seed: int = 0, restarts: int = 4, iters: int = 50) -> np.ndarray:
    """The paper's Lloyd-Max procedure: k-means++ seeding, assignment / centroid steps to convergence, best of a few
    restarts. Float centres [k, 3]."""
    x = np.asarray(x, np.float64)
    rng = np.random.default_rng(seed)
    best, best_c = None, None
    for _ in range(restarts):
        c = [x[rng.integers(len(x))]]
        for _ in range(1, k):
            d2 = ((x[:, None, :] - np.array(c)[None]) ** 2).sum(axis=2).min(axis=1)
            c.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))])
        c = np.array(c)
        for _ in range(iters):
            lab = ((x[:, None, :] - c[None]) ** 2).sum(axis=2).argmin(axis=1)
            new = np.array([x[lab == j].mean(axis=0) if (lab == j).any() else c[j] for j in range(k)])
            if np.allclose(new, c):
                break
            c = new
        e = wcss(x, c)
        if best is None or e < best:
            best, best_c = e, c
    return best_c


# ------------------------------------------------------------------------------------ sections 1 and 3: the decoder
@dataclass
class Chunk:
    offset: int
    dc_bytes: int
    full_bytes: int
    gaussians: int


@dataclass
class Layer:
    coding: int
    sh_degree: int
    knn_k: int
    gaussians: int
    display_from: int
    codebook: list
    chunks: list = field(default_factory=list)


@dataclass
class File:
    major: int
    header_bytes: int
    entropy: int
    mode: int
    sh_degree: int
    pos_bits: int
    grid_min: list
    grid_max: list
    steps: list
    layers: list


ENTROPY_LZMA, ENTROPY_ZSTD = 1, 3
INTRA_FLAG = 0x100


def parse(data: bytes) -> File:
    """Preamble (1.1), file fields (1.2) and layer records (1.3) of an untiled file."""
    assert data[:4] == b"SPLC"
    major, _minor, _flags, header_bytes, _crc = struct.unpack_from("<BBHII", data, 4)
    total, entropy, mode, sh_degree, n_layers, pos_bits, _q, tiles = struct.unpack_from("<QBBBBBBH", data, 16)
    assert tiles == 0 and total == len(data), "untiled, complete files only"
    gmin = struct.unpack_from("<3f", data, 32)
    gmax = struct.unpack_from("<3f", data, 44)
    steps = struct.unpack_from("<5f", data, 56)
    at = 76
    layers = []
    for _ in range(n_layers):
        rec, coding, deg, knn_k, _r, g, n_chunks, kk, display_from = struct.unpack_from("<IBBBBIIHH", data, at)
        p = at + 20
        cb = [list(struct.unpack_from("<3i", data, p + 12 * i)) for i in range(kk)]
        p += 12 * kk
        layer = Layer(coding, deg, knn_k, g, display_from, cb)
        for i in range(n_chunks):
            off, dc, full, cg = struct.unpack_from("<QIII", data, p + 32 * i)
            layer.chunks.append(Chunk(off, dc, full, cg))
        layers.append(layer)
        at += rec
    return File(major, header_bytes, entropy, mode, sh_degree, pos_bits, list(gmin), list(gmax), list(steps), layers)


def _payload(raw: bytes, entropy: int) -> bytes:
    if entropy == ENTROPY_ZSTD:
        import zstandard

        return zstandard.ZstdDecompressor().decompress(raw)
    if entropy == ENTROPY_LZMA:
        prop = raw[0]
        dict_size = (2 | (prop & 1)) << (prop // 2 + 11)
        dec = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": dict_size}])
        return dec.decompress(raw[1:])
    raise NotImplementedError(f"entropy id {entropy}: the spec decoder reads zstd and lzma files")


def streams(part: bytes, entropy: int) -> dict:
    """{id: (values as a list of Python ints, intra flag)} of a chunk part (section 1.4)."""
    out = {}
    at = 0
    while at < len(part):
        sid, flags, length = struct.unpack_from("<HHI", part, at)
        raw = _payload(part[at + 8 : at + 8 + length], entropy)
        width = flags & 0xF
        out[sid] = (np.frombuffer(raw, f"<i{width}").astype(np.int64).tolist(), bool(flags & INTRA_FLAG))
        at += 8 + length
    return out


def _undelta(triples: list, major: int) -> list:
    """Version 3 colour coding: (a, b - a, c - b) -> (a, b, c)."""
    if major < 3:
        return triples
    a, b, c = triples
    return [a, a + b, a + b + c]


def _comp_major(values: list, width: int, g: int) -> list:
    """Rows [g][width] of a component-major stream."""
    return [[values[t * g + i] for t in range(width)] for i in range(g)]


def _rest_rows(values: list, n_rest: int, g: int, major: int) -> list:
    rows = [values[i * n_rest : (i + 1) * n_rest] for i in range(g)]
    return [sum((_undelta(r[3 * k : 3 * k + 3], major) for k in range(n_rest // 3)), []) for r in rows]


def _features(s: dict, g: int, n_rest: int, major: int) -> dict:
    """Rows [g] of per-group values (dc, opacity, scale, quat, rest) as read from the streams."""
    dc = [_undelta(r, major) for r in _comp_major(s[5][0], 3, g)] if g else []
    vals = {5: dc}
    for sid, width in ((6, 1), (7, 3), (8, 4)):
        vals[sid] = _comp_major(s[sid][0], width, g) if g else []
    vals[9] = _rest_rows(s[9][0], n_rest, g, major) if n_rest and g else [[] for _ in range(g)]
    return vals


GROUPS = {6: (3, 4), 7: (4, 7), 8: (7, 11)}  # stream id -> feature columns (9: 11..)


@dataclass
class DecodedChunk:
    pos: list  # [g][3]
    feat_full: list  # [g][C] with the rest part
    feat_dc: list  # [g][C] refine = dc
    parents: list  # [g] (inter layers)


def decode_intra_chunk(f: File, data: bytes, ch: Chunk) -> DecodedChunk:
    g = ch.gaussians
    n_rest = 3 * rest_count(f.sh_degree)
    s = streams(data[ch.offset : ch.offset + ch.full_bytes], f.entropy)
    deltas = _comp_major(s[1][0], 3, g)
    pos, prev = [], [0, 0, 0]
    for d in deltas:
        prev = [prev[a] + d[a] for a in range(3)]
        pos.append(prev)
    v = _features(s, g, n_rest, f.major)
    feat = [v[5][i] + v[6][i] + v[7][i] + v[8][i] + v[9][i] for i in range(g)]
    return DecodedChunk(pos, feat, feat, [])


def decode_inter_chunk(f: File, layer: Layer, data: bytes, ch: Chunk, p_low: list, f_low: list) -> DecodedChunk:
    g = ch.gaussians
    n_rest = 3 * rest_count(f.sh_degree)
    c_all = N_FIXED + n_rest
    joint = ch.dc_bytes == ch.full_bytes
    s = streams(data[ch.offset : ch.offset + ch.dc_bytes], f.entropy)
    if not joint:
        s.update(streams(data[ch.offset + ch.dc_bytes : ch.offset + ch.full_bytes], f.entropy))
    parents, acc = [], 0
    for d in s[2][0]:
        acc += d
        parents.append(acc)
    copy = s[10][0] if 10 in s else [0] * g
    live = [i for i in range(g) if not copy[i]]
    gl = len(live)
    res = _comp_major(s[1][0], 3, gl) if gl else []
    modes = s[3][0] if gl else []
    vq = s[4][0] if layer.codebook and gl else [0] * gl
    v = _features(s, gl, n_rest, f.major) if gl else {k: [] for k in (5, 6, 7, 8, 9)}
    pos, full, dc_only = [], [], []
    li = 0
    for i in range(g):
        par = parents[i]
        if copy[i]:
            pos.append(list(p_low[par]))
            full.append(list(f_low[par]))
            dc_only.append(list(f_low[par]))
            continue
        x = [p_low[par][a] + res[li][a] for a in range(3)]
        nb = knn_brute(p_low, x, layer.knn_k)
        pred = predict(p_low, f_low, x, nb, modes[li])
        cw = layer.codebook[vq[li]] if layer.codebook else [0, 0, 0]
        dcv = [pred[c] + v[5][li][c] + cw[c] for c in range(3)]
        row = dcv + pred[3:]
        dc_only.append(list(row))
        for sid, (a, b) in list(GROUPS.items()) + [(9, (N_FIXED, c_all))]:
            if b == a:
                continue
            vals, intra = (v[sid][li], s[sid][1]) if sid in s else ([0] * (b - a), False)
            for t, c in enumerate(range(a, b)):
                row[c] = vals[t] if intra else pred[c] + vals[t]
        pos.append(x)
        full.append(row)
        li += 1
    # a joint chunk's dc bytes are the whole chunk: it has no dc-only operating point (section 1.3)
    return DecodedChunk(pos, full, full if joint else dc_only, parents)


def decode_layers(data: bytes) -> tuple[File, list]:
    """Every chunk of every layer of a scalable / mdc file: (File, [layer][chunk] DecodedChunk)."""
    f = parse(data)
    out = []
    p_low = f_low = None
    for layer in f.layers:
        if layer.coding == 0:
            chunks = [decode_intra_chunk(f, data, ch) for ch in layer.chunks]
        else:
            chunks = [decode_inter_chunk(f, layer, data, ch, p_low, f_low) for ch in layer.chunks]
        out.append(chunks)
        p_low = [p for c in chunks for p in c.pos]
        f_low = [r for c in chunks for r in c.feat_full]
    return f, out


def layer_arrays(chunks: list) -> tuple[np.ndarray, np.ndarray]:
    pos = [p for c in chunks for p in c.pos]
    feat = [r for c in chunks for r in c.feat_full]
    width = len(feat[0]) if feat else 0
    return np.array(pos, np.int64).reshape(-1, 3), np.array(feat, np.int64).reshape(-1, width)


def state(f: File, decoded: list, layer: int, chunks: int, refine: str = "full") -> tuple[list, list, int]:
    """Section 5, scalable files: (positions, features, sh_degree) shown with layers < ``layer`` complete and the
    first ``chunks`` chunks of ``layer`` received (``refine`` parts)."""
    lay = f.layers[layer]
    n = len(lay.chunks)

    def rows(j, upto, ref):
        """Rows of layer j's first chunks, SH rest beyond the layer's own degree zeroed (the padding of a mix)."""
        p = [q for c in decoded[j][:upto] for q in c.pos]
        r = [q for c in decoded[j][:upto] for q in (c.feat_dc if ref == "dc" else c.feat_full)]
        cut = N_FIXED + 3 * rest_count(f.layers[j].sh_degree)
        return p, [q[:cut] + [0] * (len(q) - cut) for q in r]

    if layer == 0 and chunks == 0:  # nothing received yet: an empty cloud of the file's degree
        return [], [], f.sh_degree
    if layer == 0 or lay.coding == 0:
        p, r = rows(layer, chunks, refine)
        return p, r, lay.sh_degree
    if chunks == n:  # c = n: exactly layer j (its rows refined as received)
        p, r = rows(layer, n, refine)
        return p, r, lay.sh_degree
    below_p, below_f = rows(layer - 1, len(f.layers[layer - 1].chunks), "full")
    if chunks < max(lay.display_from, 1):
        return below_p, below_f, f.layers[layer - 1].sh_degree
    got_p, got_f = rows(layer, chunks, refine)
    gone = {par for c in decoded[layer][:chunks] for par in c.parents}
    keep = [i for i in range(len(below_p)) if i not in gone]
    degree = max(lay.sh_degree, f.layers[layer - 1].sh_degree)
    return [below_p[i] for i in keep] + got_p, [below_f[i] for i in keep] + got_f, degree


def cloud_arrays(f: File, pos: list, feat: list, degree: int) -> dict:
    """Section 3.4: the f32 arrays of the output cloud (positions and features dequantized by section 2)."""
    p = np.array(pos, np.int64).reshape(-1, 3)
    q = np.array(feat, np.int64).reshape(len(p), N_FIXED + 3 * rest_count(f.sh_degree))
    out = dequantize_features(q, f.steps, degree)
    out["means"] = dequantize_positions(p, f.grid_min, f.grid_max, f.pos_bits)
    return out
