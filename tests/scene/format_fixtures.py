"""Test-only encoders and slow reference decoders for the scene formats.

The encoders write small synthetic files straight from the format descriptions (per-element Python loops, no code
shared with the readers), so every reader is tested even where ../shared/data is absent. The slow decoders are the
per-element references the vectorised readers are compared with.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import zipfile
from pathlib import Path

import numpy as np
import plyfile
from PIL import Image

from splatcast.scene.cloud import SH_C0, GaussianCloud

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scenes"


def random_cloud(n: int, degree: int = 0, seed: int = 0, extent: float = 2.0) -> GaussianCloud:
    rng = np.random.default_rng(seed)
    k = (degree + 1) ** 2 - 1
    return GaussianCloud(
        means=rng.uniform(-extent, extent, (n, 3)),
        scales=rng.uniform(-6.0, -1.0, (n, 3)),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.uniform(-4.0, 4.0, n),
        sh_dc=rng.uniform(-1.5, 1.5, (n, 3)),
        sh_rest=rng.uniform(-0.9, 0.9, (n, k, 3)),
    )


def unit_quats_wxyz(cloud: GaussianCloud) -> np.ndarray:
    return cloud.normalized_quats().astype(np.float64)


def quat_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between the rotations of unit quaternion rows a and b (sign-insensitive), degrees."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    d = np.clip(np.abs((a * b).sum(axis=1)), 0.0, 1.0)
    return np.degrees(2 * np.arccos(d))


# ----------------------------------------------------------------------------------------------- SOG v2 / v1 writer
def _webp(pixels: np.ndarray) -> bytes:
    """[H, W, 4] uint8 -> lossless WebP bytes (exact RGBA, even where alpha is 0)."""
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buf, format="WEBP", lossless=True, exact=True)
    return buf.getvalue()


def _texture(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    n = max(len(rows), 1)
    w = max(4, int(math.ceil(math.sqrt(n) / 4)) * 4)
    h = int(math.ceil(n / w))
    img = np.zeros((h * w, 4), np.uint8)
    for i, px in enumerate(rows):
        img[i] = px
    return img.reshape(h, w, 4)


def _log_t(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x)


def _quat_bytes(q_wxyz) -> tuple[int, int, int, int]:
    q = np.asarray(q_wxyz, np.float64)
    q = q / np.linalg.norm(q)
    m = int(np.argmax(np.abs(q)))
    if q[m] < 0:
        q = -q
    rest = [q[i] for i in range(4) if i != m]
    return tuple(int(round((v * math.sqrt(2) * 0.5 + 0.5) * 255)) for v in rest) + (252 + m,)


def _frac(v, lo, hi) -> float:
    return 0.0 if hi == lo else (float(v) - float(lo)) / (float(hi) - float(lo))


def _codebook(values: np.ndarray) -> np.ndarray:
    return np.linspace(values.min(), values.max(), 256) if values.size else np.zeros(256)


def _nearest(codebook: np.ndarray, v: float) -> int:
    return int(np.argmin(np.abs(codebook - v)))


def sog_files(cloud: GaussianCloud, version: int = 2) -> dict[str, bytes]:
    """Encode ``cloud`` as SOG (v2 codebooks or v1 min/max), the palette being one entry per Gaussian."""
    n = len(cloud)
    t = np.array([[_log_t(float(v)) for v in row] for row in cloud.means]).reshape(n, 3)
    mins, maxs = (t.min(0), t.max(0)) if n else (np.zeros(3), np.zeros(3))
    lo, hi, quats, scales, sh0 = [], [], [], [], []
    span = np.where(maxs - mins == 0, 1, maxs - mins)
    s_cb, c_cb = _codebook(cloud.scales.ravel()), _codebook(cloud.sh_dc.ravel())
    s_min, s_max = (cloud.scales.min(0), cloud.scales.max(0)) if n else (np.zeros(3), np.ones(3))
    c_min = np.append(cloud.sh_dc.min(0) if n else np.zeros(3), cloud.opacities.min() if n else 0)
    c_max = np.append(cloud.sh_dc.max(0) if n else np.ones(3), cloud.opacities.max() if n else 1)
    for i in range(n):
        q16 = [int(round((t[i, a] - mins[a]) / span[a] * 65535)) for a in range(3)]
        lo.append(tuple(v & 0xFF for v in q16) + (255,))
        hi.append(tuple(v >> 8 for v in q16) + (255,))
        quats.append(_quat_bytes(cloud.quats[i]))
        alpha = 1 / (1 + math.exp(-float(cloud.opacities[i])))
        if version == 2:
            scales.append(tuple(_nearest(s_cb, float(v)) for v in cloud.scales[i]) + (255,))
            sh0.append(tuple(_nearest(c_cb, float(v)) for v in cloud.sh_dc[i]) + (int(round(alpha * 255)),))
        else:
            scales.append(
                tuple(int(round(_frac(cloud.scales[i, a], s_min[a], s_max[a]) * 255)) for a in range(3))
                + (255,)
            )
            vals = list(cloud.sh_dc[i]) + [cloud.opacities[i]]
            sh0.append(tuple(int(round(_frac(vals[a], c_min[a], c_max[a]) * 255)) for a in range(4)))
    files = {
        "means_l.webp": _webp(_texture(lo)),
        "means_u.webp": _webp(_texture(hi)),
        "quats.webp": _webp(_texture(quats)),
        "scales.webp": _webp(_texture(scales)),
        "sh0.webp": _webp(_texture(sh0)),
    }
    meta: dict = {
        "means": {"mins": mins.tolist(), "maxs": maxs.tolist(), "files": ["means_l.webp", "means_u.webp"]},
        "quats": {"files": ["quats.webp"]},
    }
    if version == 2:
        meta.update(version=2, count=n)
        meta["scales"] = {"codebook": s_cb.tolist(), "files": ["scales.webp"]}
        meta["sh0"] = {"codebook": c_cb.tolist(), "files": ["sh0.webp"]}
    else:
        meta["means"]["shape"] = [n, 3]
        meta["scales"] = {"mins": s_min.tolist(), "maxs": s_max.tolist(), "files": ["scales.webp"]}
        meta["sh0"] = {"mins": c_min.tolist(), "maxs": c_max.tolist(), "files": ["sh0.webp"]}
    k = cloud.sh_rest.shape[1]
    if k:
        rest_cb = _codebook(cloud.sh_rest.ravel())
        rest_lo, rest_hi = float(cloud.sh_rest.min()), float(cloud.sh_rest.max())
        rows = max(1, math.ceil(n / 64))
        cents = np.zeros((rows, 64 * k, 4), np.uint8)
        labels = []
        for i in range(n):  # palette entry i = Gaussian i
            for j in range(k):
                for c in range(3):
                    v = float(cloud.sh_rest[i, j, c])
                    b = _nearest(rest_cb, v) if version == 2 else int(round(_frac(v, rest_lo, rest_hi) * 255))
                    cents[i // 64, (i % 64) * k + j, c] = b
                cents[i // 64, (i % 64) * k : (i % 64 + 1) * k, 3] = 255
            labels.append((i & 0xFF, i >> 8, 0, 255))
        files["shN_centroids.webp"] = _webp(cents)
        files["shN_labels.webp"] = _webp(_texture(labels))
        shn = {"files": ["shN_centroids.webp", "shN_labels.webp"]}
        if version == 2:
            shn.update(count=n, bands={3: 1, 8: 2, 15: 3}[k], codebook=rest_cb.tolist())
        else:
            shn.update(mins=rest_lo, maxs=rest_hi)
        meta["shN"] = shn
    files["meta.json"] = json.dumps(meta).encode()
    return files


def write_sog_dir(cloud: GaussianCloud, folder: Path, version: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sog_files(cloud, version).items():
        (folder / name).write_bytes(data)
    return folder


def write_sog_zip(cloud: GaussianCloud, path: Path, version: int = 2) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in sog_files(cloud, version).items():
            z.writestr(name, data)
    return path


def sog_tolerances(cloud: GaussianCloud) -> dict[str, float]:
    """Worst-case SOG v2 quantisation error for ``cloud`` (codebook step / 2, 16-bit means)."""
    step = lambda a: (a.max() - a.min()) / 255 if a.size else 0.0  # noqa: E731
    return {"scales": step(cloud.scales) / 2 + 1e-5, "sh_dc": step(cloud.sh_dc) / 2 + 1e-5}


# ----------------------------------------------------------------------------------------------- compressed PLY writer
def _unorm(v: float, bits: int) -> int:
    return int(max(0, min((1 << bits) - 1, math.floor(v * ((1 << bits) - 1) + 0.5))))


def compressed_ply_bytes(cloud: GaussianCloud, chunk_colors: bool = True) -> bytes:
    n = len(cloud)
    nchunks = -(-n // 256)
    names = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z"]
    names += ["min_scale_x", "min_scale_y", "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z"]
    if chunk_colors:
        names += ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]
    chunks = np.zeros(nchunks, [(nm, "<f4") for nm in names])
    vert = np.zeros(n, [(nm, "<u4") for nm in ["packed_position", "packed_rotation", "packed_scale", "packed_color"]])
    color = 0.5 + SH_C0 * cloud.sh_dc.astype(np.float64)
    for c in range(nchunks):
        sl = slice(c * 256, min(n, (c + 1) * 256))
        m, s, col = cloud.means[sl], cloud.scales[sl], color[sl]
        for a, ax in enumerate("xyz"):
            chunks[c][f"min_{ax}"], chunks[c][f"max_{ax}"] = m[:, a].min(), m[:, a].max()
            chunks[c][f"min_scale_{ax}"], chunks[c][f"max_scale_{ax}"] = s[:, a].min(), s[:, a].max()
        if chunk_colors:
            for a, ch in enumerate("rgb"):
                chunks[c][f"min_{ch}"], chunks[c][f"max_{ch}"] = col[:, a].min(), col[:, a].max()
    for i in range(n):
        ch = chunks[i // 256]

        def norm(v, lo, hi):
            return 0.0 if hi == lo else (v - lo) / (hi - lo)

        def pack111011(vals, prefix):
            t = [norm(float(vals[a]), float(ch[f"min_{prefix}{ax}"]), float(ch[f"max_{prefix}{ax}"]))
                 for a, ax in enumerate("xyz")]  # fmt: skip
            return (_unorm(t[0], 11) << 21) | (_unorm(t[1], 10) << 11) | _unorm(t[2], 11)

        vert[i]["packed_position"] = pack111011(cloud.means[i], "")
        vert[i]["packed_scale"] = pack111011(cloud.scales[i], "scale_")
        q = cloud.quats[i].astype(np.float64)
        q /= np.linalg.norm(q)
        big = int(np.argmax(np.abs(q)))
        if q[big] < 0:
            q = -q
        packed = big
        for j in range(4):
            if j != big:
                packed = (packed << 10) | _unorm(q[j] * math.sqrt(2) * 0.5 + 0.5, 10)
        vert[i]["packed_rotation"] = packed
        if chunk_colors:
            rgb = [norm(color[i, a], float(ch[f"min_{c}"]), float(ch[f"max_{c}"])) for a, c in enumerate("rgb")]
        else:
            rgb = [float(v) for v in color[i]]
        alpha = 1 / (1 + math.exp(-float(cloud.opacities[i])))
        vert[i]["packed_color"] = (
            (_unorm(rgb[0], 8) << 24) | (_unorm(rgb[1], 8) << 16) | (_unorm(rgb[2], 8) << 8) | _unorm(alpha, 8)
        )
    elements = [plyfile.PlyElement.describe(chunks, "chunk"), plyfile.PlyElement.describe(vert, "vertex")]
    k = cloud.sh_rest.shape[1]
    if k:
        sh = np.zeros(n, [(f"f_rest_{i}", "u1") for i in range(3 * k)])
        flat = cloud.sh_rest.transpose(0, 2, 1).reshape(n, 3 * k)
        for j in range(3 * k):
            sh[f"f_rest_{j}"] = np.clip(np.floor((flat[:, j] / 8 + 0.5) * 256), 0, 255).astype(np.uint8)
        elements.append(plyfile.PlyElement.describe(sh, "sh"))
    buf = io.BytesIO()
    plyfile.PlyData(elements, text=False, byte_order="<").write(buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------- legacy SPZ writer
def spz_legacy_bytes(cloud: GaussianCloud, version: int = 3, compression: str = "gzip") -> bytes:
    """A v2/v3 SPZ (16-byte header + arrays) written element by element, RDF -> RUB, then compressed."""
    n, deg = len(cloud), cloud.sh_degree
    out = bytearray(struct.pack("<IIIBBBB", 0x5053474E, version, n, deg, 12, 0, 0))
    flip_p = [1, -1, -1]
    for i in range(n):
        for a in range(3):
            v = int(round(flip_p[a] * float(cloud.means[i, a]) * 4096)) & 0xFFFFFF
            out += bytes([v & 0xFF, (v >> 8) & 0xFF, v >> 16])
    for i in range(n):
        a = 1 / (1 + math.exp(-float(cloud.opacities[i])))
        out.append(max(0, min(255, round(a * 255))))
    for i in range(n):
        for c in range(3):
            out.append(max(0, min(255, round(float(cloud.sh_dc[i, c]) * 0.15 * 255 + 127.5))))
    for i in range(n):
        for a in range(3):
            out.append(max(0, min(255, round((float(cloud.scales[i, a]) + 10) * 16))))
    for i in range(n):
        w, x, y, z = (cloud.quats[i] / np.linalg.norm(cloud.quats[i])).astype(np.float64)
        q = [x, -y, -z, w]  # xyzw, turned into RUB
        if version == 2:
            s = -1 if q[3] < 0 else 1
            out += bytes(max(0, min(255, round(s * q[j] * 127.5 + 127.5))) for j in range(3))
        else:
            big = int(np.argmax(np.abs(q)))
            neg = q[big] < 0
            comp = big
            for j in range(4):
                if j != big:
                    mag = min(511, int(511 * abs(q[j]) / math.sqrt(0.5) + 0.5))
                    comp = (comp << 10) | ((int(q[j] < 0) ^ int(neg)) << 9) | mag
            out += struct.pack("<I", comp)
    flips = [-1, -1, 1, -1, 1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1]
    for i in range(n):
        for j in range(cloud.sh_rest.shape[1]):
            for c in range(3):
                out.append(max(0, min(255, round(flips[j] * float(cloud.sh_rest[i, j, c]) * 128) + 128)))
    raw = bytes(out)
    if compression == "gzip":
        return gzip.compress(raw)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw


# ----------------------------------------------------------------------------------------------- slow references
def slow_unpack_rotation_compressed_ply(packed: int) -> list[float]:
    """Per-element reference for the compressed-PLY 2-10-10-10 rotation (rot_0..rot_3)."""
    norm = math.sqrt(2)
    a = ((packed >> 20) & 1023) / 1023
    b = ((packed >> 10) & 1023) / 1023
    c = (packed & 1023) / 1023
    a, b, c = (a - 0.5) * norm, (b - 0.5) * norm, (c - 0.5) * norm
    m = math.sqrt(max(0.0, 1 - (a * a + b * b + c * c)))
    which = packed >> 30
    return [[m, a, b, c], [a, m, b, c], [a, b, m, c], [a, b, c, m]][which]


def slow_unpack_spz_smallest_three(comp: int) -> list[float]:
    """Per-element reference of the SPZ v3 rotation, (x, y, z, w) — the description in the spz README."""
    largest = comp >> 30
    rot = [0.0] * 4
    total = 0.0
    for i in (3, 2, 1, 0):
        if i == largest:
            continue
        mag = comp & 511
        neg = (comp >> 9) & 1
        comp >>= 10
        rot[i] = math.sqrt(0.5) * mag / 511 * (-1 if neg else 1)
        total += rot[i] ** 2
    rot[largest] = math.sqrt(max(0.0, 1 - total))
    return rot


def slow_decode_sog_quat(px: tuple[int, int, int, int]) -> list[float]:
    m = px[3] - 252
    comps = [0.0] * 4
    idx = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]][m]
    for j, c in enumerate(idx):
        comps[c] = (px[j] / 255 * 2 - 1) / math.sqrt(2)
    comps[m] = math.sqrt(max(0.0, 1 - sum(v * v for v in comps)))
    return comps
