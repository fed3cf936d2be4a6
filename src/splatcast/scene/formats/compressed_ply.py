"""PlayCanvas / SuperSplat "compressed PLY": read, and write (so results open in SuperSplat and splat-transform).

Layout (all binary little-endian, parsed by plyfile):

- ``element chunk`` (one row per 256 Gaussians): float ``min_x min_y min_z max_x max_y max_z``,
  ``min_scale_x.. max_scale_z`` and optionally ``min_r min_g min_b max_r max_g max_b``.
- ``element vertex``: uint32 ``packed_position`` and ``packed_scale`` (11-10-11 bits, x in the top bits, unorm lerp
  between the chunk's min and max), ``packed_rotation`` (2 bits index of the largest of rot_0..rot_3, then three
  10-bit unorm components in (-1/sqrt2, 1/sqrt2), remaining order), ``packed_color`` (RGBA8, R in the top byte;
  RGB is a colour lerped through the chunk colour range when present, A is opacity in [0, 1]).
- optional ``element sh``: uint8 ``f_rest_0..`` in INRIA channel-major order, value (b + 0.5) / 256 mapped to
  [-4, 4] (0 and 255 map to the ends exactly).

Colours become SH DC by the INRIA rule (colour - 0.5) / C0; opacity becomes a clamped logit.

The writer sorts the Gaussians in Morton order of their positions (so each 256-Gaussian chunk is compact and its
11-10-11 bits fine), writes every chunk's position, log-scale and colour ranges, and quantizes as the reader reads
(nearest level); the row order of the file is therefore not the cloud's.
"""

from __future__ import annotations

import os

import numpy as np
import plyfile

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import (
    alpha_to_logit,
    check_finite,
    color_to_dc,
    dc_to_color,
    logit_to_alpha,
    morton_sorted,
    place_smallest_three,
)
from splatcast.scene.formats.ply import load_ply_elements
from splatcast.scene.formats.ply_header import PlyHeaderInfo, read_ply_header

FMT = "compressed PLY"
CHUNK_SIZE = 256
_CHUNK_BOUNDS = ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z"]
_CHUNK_SCALES = ["min_scale_x", "min_scale_y", "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z"]
_CHUNK_COLORS = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"]
_PACKED = ["packed_position", "packed_rotation", "packed_scale", "packed_color"]


def is_compressed_header(header: PlyHeaderInfo) -> bool:
    vertex = header.element("vertex")
    return header.element("chunk") is not None and vertex is not None and "packed_position" in vertex.names()


def _check_schema(header: PlyHeaderInfo) -> None:
    if header.format != "binary_little_endian":
        raise FormatError(f"{FMT}: expected binary_little_endian, got {header.format}")
    chunk, vertex, sh = header.element("chunk"), header.element("vertex"), header.element("sh")
    if chunk is None or vertex is None:
        raise FormatError(f"{FMT}: needs 'chunk' and 'vertex' elements")
    types = dict(chunk.properties)
    need = _CHUNK_BOUNDS + _CHUNK_SCALES
    if any(types.get(n) not in ("float", "float32") for n in need):
        raise FormatError(f"{FMT}: chunk element must have float properties {need}")
    colours = [n for n in _CHUNK_COLORS if n in types]
    if colours and (len(colours) != len(_CHUNK_COLORS) or any(types[n] not in ("float", "float32") for n in colours)):
        raise FormatError(f"{FMT}: chunk colour range must be all of float {_CHUNK_COLORS} or none, got {colours}")
    vtypes = dict(vertex.properties)
    if any(vtypes.get(n) not in ("uint", "uint32") for n in _PACKED):
        raise FormatError(f"{FMT}: vertex element must have uint properties {_PACKED}")
    expected_chunks = -(-vertex.count // CHUNK_SIZE)
    if chunk.count != expected_chunks:
        raise FormatError(f"{FMT}: {vertex.count} vertices need {expected_chunks} chunks, header has {chunk.count}")
    if sh is not None:
        if len(sh.properties) not in (9, 24, 45) or sh.count != vertex.count:
            raise FormatError(
                f"{FMT}: sh element must have 9, 24 or 45 properties and {vertex.count} rows, "
                f"got {len(sh.properties)} properties and {sh.count} rows"
            )
        if any(t not in ("uchar", "uint8") for _, t in sh.properties):
            raise FormatError(f"{FMT}: sh properties must be uchar")


def _unorm(value: np.ndarray, shift: int, bits: int) -> np.ndarray:
    mask = (1 << bits) - 1
    return ((value >> np.uint32(shift)) & np.uint32(mask)).astype(np.float32) / np.float32(mask)


def _lerp(lo: np.ndarray, hi: np.ndarray, t: np.ndarray) -> np.ndarray:
    return lo * (1 - t) + hi * t


def unpack_rotation(packed: np.ndarray) -> np.ndarray:
    """[N] uint32 2-10-10-10 smallest-three -> [N, 4] float32 (rot_0..rot_3)."""
    # components span (-1/sqrt2, 1/sqrt2); float64 so the rebuilt largest component is accurate near 0
    abc = np.stack([(_unorm(packed, s, 10).astype(np.float64) - 0.5) * np.sqrt(2.0) for s in (20, 10, 0)], axis=1)
    return place_smallest_three(abc, (packed >> np.uint32(30)).astype(np.int64))


def decode_compressed(chunk: np.ndarray, vertex: np.ndarray, sh: np.ndarray | None) -> GaussianCloud:
    """Decode the three structured arrays of a compressed PLY into a cloud."""
    n = len(vertex)
    ci = np.arange(n) // CHUNK_SIZE

    def chunk_col(name: str) -> np.ndarray:
        return np.asarray(chunk[name], np.float32)[ci]

    pos = vertex["packed_position"].astype(np.uint32)
    scl = vertex["packed_scale"].astype(np.uint32)
    col = vertex["packed_color"].astype(np.uint32)
    t_pos = [_unorm(pos, 21, 11), _unorm(pos, 11, 10), _unorm(pos, 0, 11)]
    t_scl = [_unorm(scl, 21, 11), _unorm(scl, 11, 10), _unorm(scl, 0, 11)]
    means = np.stack([_lerp(chunk_col(f"min_{a}"), chunk_col(f"max_{a}"), t) for a, t in zip("xyz", t_pos)], 1)
    scales = np.stack(
        [_lerp(chunk_col(f"min_scale_{a}"), chunk_col(f"max_scale_{a}"), t) for a, t in zip("xyz", t_scl)], 1
    )
    rgb = [_unorm(col, 24, 8), _unorm(col, 16, 8), _unorm(col, 8, 8)]
    if "min_r" in chunk.dtype.names:
        rgb = [_lerp(chunk_col(f"min_{c}"), chunk_col(f"max_{c}"), t) for c, t in zip("rgb", rgb)]
    sh_dc = color_to_dc(np.stack(rgb, 1))
    opacities = alpha_to_logit(_unorm(col, 0, 8))
    if sh is not None:
        k = len(sh.dtype.names) // 3
        b = np.stack([sh[f"f_rest_{i}"] for i in range(3 * k)], 1).astype(np.float32)  # [N, 3K]
        v = np.where(b == 0, 0.0, np.where(b == 255, 1.0, (b + 0.5) / 256.0))
        sh_rest = ((v - 0.5) * 8.0).astype(np.float32).reshape(n, 3, k).transpose(0, 2, 1)
    else:
        sh_rest = np.zeros((n, 0, 3), np.float32)
    cloud = GaussianCloud(
        means=means,
        scales=scales,
        quats=unpack_rotation(vertex["packed_rotation"].astype(np.uint32)),
        opacities=opacities,
        sh_dc=sh_dc,
        sh_rest=sh_rest,
    )
    return check_finite(cloud, FMT)


def read_compressed_ply(path: str | os.PathLike) -> GaussianCloud:
    header = read_ply_header(path, FMT)
    _check_schema(header)
    if header.element("sh") is not None:
        names = header.element("sh").names()
        if names != [f"f_rest_{i}" for i in range(len(names))]:
            raise FormatError(f"{FMT}: sh properties must be f_rest_0..f_rest_{len(names) - 1} in order")
    el = load_ply_elements(path, header, FMT)
    return decode_compressed(el["chunk"], el["vertex"], el.get("sh"))


# ----------------------------------------------------------------------------------------------- writer
def _to_unorm(t: np.ndarray, bits: int) -> np.ndarray:
    mask = (1 << bits) - 1
    return np.clip(np.rint(np.nan_to_num(t) * mask), 0, mask).astype(np.uint32)


def _pack3(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits=(11, 10, 11), low_bits: int = 0) -> np.ndarray:
    """[N, 3] values in per-row [lo, hi] boxes -> unorm fields of ``bits`` packed in a uint32, the first in the top
    bits, above ``low_bits`` left free (11-10-11 positions and scales; 8-8-8 colour above its 8-bit alpha)."""
    span = hi - lo
    t = np.where(span > 0, (values - lo) / np.where(span > 0, span, 1.0), 0.0)
    packed = np.zeros(len(values), np.uint32)
    shift = low_bits + sum(bits)
    for c, b in enumerate(bits):
        shift -= b
        packed |= _to_unorm(t[:, c], b) << np.uint32(shift)
    return packed


_OTHERS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


def pack_rotation(quats: np.ndarray) -> np.ndarray:
    """[N, 4] (rot_0..rot_3) -> uint32 2-10-10-10 smallest-three, the inverse of :func:`unpack_rotation`."""
    q = quats.astype(np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    largest = np.argmax(np.abs(q), axis=1)
    rows = np.arange(len(q))
    q = np.where(q[rows, largest][:, None] < 0, -q, q)  # q and -q are one rotation: make the dropped one positive
    others = np.take_along_axis(q, _OTHERS[largest], axis=1)  # the three kept components, in order
    t = others / np.sqrt(2.0) + 0.5
    packed = largest.astype(np.uint32) << np.uint32(30)
    for c, shift in enumerate((20, 10, 0)):
        packed |= _to_unorm(t[:, c], 10) << np.uint32(shift)
    return packed


def write_compressed_ply(cloud: GaussianCloud, path: str | os.PathLike) -> None:
    """Write ``cloud`` as a PlayCanvas compressed PLY (Morton-sorted chunks of 256 Gaussians)."""
    cloud = morton_sorted(cloud.validate())
    n = len(cloud)
    n_chunks = -(-n // CHUNK_SIZE)
    ci = np.arange(n) // CHUNK_SIZE
    means = cloud.means.astype(np.float64)
    scales = cloud.scales.astype(np.float64)
    colour = dc_to_color(cloud.sh_dc)
    chunk = np.zeros(n_chunks, [(name, "<f4") for name in _CHUNK_BOUNDS + _CHUNK_SCALES + _CHUNK_COLORS])

    def ranges(values, lo_names, hi_names):
        lo_v = np.full((n_chunks, 3), np.inf)
        hi_v = np.full((n_chunks, 3), -np.inf)
        np.minimum.at(lo_v, ci, values)
        np.maximum.at(hi_v, ci, values)
        for a in range(3):
            chunk[lo_names[a]], chunk[hi_names[a]] = lo_v[:, a], hi_v[:, a]
        # the float32 values the reader lerps between: quantize against what it will see
        lo_f = np.stack([chunk[name] for name in lo_names], 1).astype(np.float64)
        hi_f = np.stack([chunk[name] for name in hi_names], 1).astype(np.float64)
        return lo_f[ci], hi_f[ci]

    p_lo, p_hi = ranges(means, _CHUNK_BOUNDS[:3], _CHUNK_BOUNDS[3:])
    s_lo, s_hi = ranges(scales, _CHUNK_SCALES[:3], _CHUNK_SCALES[3:])
    c_lo, c_hi = ranges(colour, _CHUNK_COLORS[:3], _CHUNK_COLORS[3:])
    alpha = _to_unorm(logit_to_alpha(cloud.opacities), 8)
    packed_colour = _pack3(colour, c_lo, c_hi, bits=(8, 8, 8), low_bits=8) | alpha
    vertex = np.zeros(n, [(name, "<u4") for name in _PACKED])
    vertex["packed_position"] = _pack3(means, p_lo, p_hi)
    vertex["packed_rotation"] = pack_rotation(cloud.quats)
    vertex["packed_scale"] = _pack3(scales, s_lo, s_hi)
    vertex["packed_color"] = packed_colour
    elements = [plyfile.PlyElement.describe(chunk, "chunk"), plyfile.PlyElement.describe(vertex, "vertex")]
    k = cloud.sh_rest.shape[1]
    if k:
        channel_major = cloud.sh_rest.transpose(0, 2, 1).reshape(n, 3 * k).astype(np.float64)  # f_rest = c * K + k
        b = np.clip(np.floor((channel_major / 8.0 + 0.5) * 256.0), 0, 255).astype(np.uint8)
        sh = np.zeros(n, [(f"f_rest_{i}", "u1") for i in range(3 * k)])
        for i in range(3 * k):
            sh[f"f_rest_{i}"] = b[:, i]
        elements.append(plyfile.PlyElement.describe(sh, "sh"))
    plyfile.PlyData(elements, text=False, byte_order="<").write(os.fspath(path))
