"""Niantic SPZ: read versions 2, 3 and 4; write version 4.

Written from the public description in github.com/nianticlabs/spz (README, extensions/README.md). All integers are
little-endian.

- Legacy (v2, v3): the whole payload is one gzip stream (also accepted: zstd-compressed or uncompressed) holding a
  16-byte header ``magic u32 = 0x5053474e ("NGSP"), version u32, count u32, sh_degree u8, fractional_bits u8,
  flags u8, reserved u8``, then (v3 with flag 0x2) extension records, then the attribute arrays in this order:
  positions, alphas, colors, scales, rotations, SH.
- v4: a plain 32-byte header ``magic, version, count, sh_degree, fractional_bits, flags, num_streams u8,
  toc_offset u32, 12 reserved bytes``, optional extension records ``[u32 type][u32 length][payload]`` in
  [32, toc_offset), a table of ``num_streams`` entries ``(compressed u64, uncompressed u64)``, then one zstd frame
  per attribute array, same order as above.

Attributes: positions are 24-bit signed fixed point with ``fractional_bits``; alpha is sigmoid(opacity) as a byte;
colour bytes c give the SH DC coefficient (c / 255 - 0.5) / 0.15; scale bytes b give log scale b / 16 - 10;
rotations are (x, y, z) bytes (v2: byte / 127.5 - 1, w >= 0 rebuilt) or a u32 smallest-three (v3+: top 2 bits the
index of the largest of x, y, z, w, then for the other components in order a sign bit and 9-bit magnitude scaled
by 1/sqrt2, the last one in the lowest bits); SH bytes b give (b - 128) / 128, coefficient-major with the colour
channel fastest (exactly ``sh_rest[N, K, 3]``).

Coordinates (``axes``, one vocabulary for reading and writing). A file may declare its frame in the
SPZ_ADOBE_coordinate_system extension (type 0xADBE0003, a u32 code: 0 unspecified, 1-8 the Y-axis systems LDB RDB
LUB RUB LDF RDF LUF RUF, 9-16 the Z-up systems, in the reference library's order). Without it, the SPZ
specification and the reference library (``@adobe/spz``, the Niantic/Adobe code, with ``to`` = RDF) take RUB
(OpenGL). The INRIA PLY frame is RDF.

- ``"auto"`` (default). Reading honours the extension (codes 1-8; the Z-up family is refused), else RUB. Writing
  stores the INRIA coordinates unconverted and declares RDF in the extension, so the reference library and readers
  that convert nothing (``@playcanvas/splat-transform`` 3.x, whose source says it reads and writes SPZ raw) agree.
- ``"rub"``: RUB whatever the file says; writing turns the scene 180 degrees about x and declares RUB (what the
  reference writer stores by default).
- ``"raw"``: INRIA coordinates unconverted whatever the file says, and no extension written (splat-transform 3.x's
  own SPZ files, which declare nothing).

``biker.spz`` (no extension) read by the default agrees per Gaussian with ``biker.compressed.ply`` of the same
publisher and with the reference library. Other extension records are skipped (SH min/max-scaling extensions are
not supported); degree-4 SH is truncated to degree 3.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import zstandard

from splatcast.errors import FormatError, SceneError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import (
    MAX_EXTENSION_BYTES,
    limits,
    alpha_to_logit,
    check_count,
    check_expansion,
    check_finite,
    flip_axes,
    logit_to_alpha,
    read_file_bytes,
    to_u8,
)

FMT = "SPZ"
MAGIC = 0x5053474E  # b"NGSP"
MAGIC_BYTES = b"NGSP"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
LEGACY_HEADER = struct.Struct("<IIIBBBB")  # 16 bytes
V4_HEADER = struct.Struct("<IIIBBBBI12x")  # 32 bytes
TOC_ENTRY = struct.Struct("<QQ")
COLOR_SCALE = 0.15
FLAG_ANTIALIASED = 0x1
FLAG_EXTENSIONS = 0x2
_DIM = {0: 0, 1: 3, 2: 8, 3: 15, 4: 24}  # SH coefficients per channel above DC
_SQRT1_2 = np.float64(np.sqrt(0.5))
WRITE_FRACTIONAL_BITS = 12
EXT_COORDINATE_SYSTEM = 0xADBE0003  # SPZ_ADOBE_coordinate_system: payload u32, the frame's code
# codes of the reference library's CoordinateSystem; the first eight are axis sign flips of RDF (x right, y down,
# z forward): R/L the sign of x, D/U of y, F/B of z
COORDINATE_SYSTEMS = ("UNSPECIFIED", "LDB", "RDB", "LUB", "RUB", "LDF", "RDF", "LUF", "RUF",
                      "LFD", "RFD", "LFU", "RFU", "LBD", "RBD", "LBU", "RBU")
RDF, RUB = COORDINATE_SYSTEMS.index("RDF"), COORDINATE_SYSTEMS.index("RUB")
SH1_BITS, SH_REST_BITS = 5, 4  # the reference writer's default SH precision


# ----------------------------------------------------------------------------------------------- sizes
def _stream_sizes(n: int, sh_degree: int, version: int) -> list[int]:
    """Uncompressed byte sizes of positions, alphas, colors, scales, rotations[, sh]."""
    sizes = [n * 9, n, n * 3, n * 3, n * (4 if version >= 3 else 3)]
    if sh_degree > 0:
        sizes.append(n * _DIM[sh_degree] * 3)
    return sizes


def _check_header_fields(version: int, n: int, sh_degree: int, frac_bits: int) -> int:
    if version not in (2, 3, 4):
        raise FormatError(f"{FMT}: unsupported version {version} (supported: 2, 3, 4)")
    n = check_count(FMT, "count", n)
    if sh_degree not in _DIM:
        raise FormatError(f"{FMT}: sh_degree={sh_degree}, expected 0..4")
    if frac_bits > 23:
        raise FormatError(f"{FMT}: fractional_bits={frac_bits}, expected 0..23")
    return n


# ----------------------------------------------------------------------------------------------- decompression
def _zstd_read(data: bytes, limit: int, what: str) -> bytes:
    """Decompress zstd ``data``, never producing more than ``limit`` + 1 bytes."""
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
        chunks, total = [], 0
        while total <= limit:
            chunk = reader.read(min(limit + 1 - total, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except zstandard.ZstdError as exc:
        raise FormatError(f"{FMT}: corrupt zstd {what}: {exc}") from None
    return b"".join(chunks)


def _inflate_legacy(data: bytes) -> bytes:
    """Decompress a legacy SPZ to at most header + claimed arrays + extension slack (zip-bomb guard)."""
    if data[:2] == GZIP_MAGIC:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            head = d.decompress(data, LEGACY_HEADER.size)
            limit = _legacy_limit(head, len(data))
            rest = d.decompress(d.unconsumed_tail, limit - len(head) + 1)
        except zlib.error as exc:
            raise FormatError(f"{FMT}: corrupt gzip stream: {exc}") from None
        out = head + rest
        if len(out) > limit:
            raise FormatError(f"{FMT}: gzip stream inflates beyond the {limit} bytes its header allows")
        if not d.eof:
            raise FormatError(f"{FMT}: gzip stream is truncated after {len(out)} bytes")
        return out
    if data[:4] == ZSTD_MAGIC:
        head = _zstd_read(data, LEGACY_HEADER.size, "stream")[: LEGACY_HEADER.size]
        limit = _legacy_limit(head, len(data))
        out = _zstd_read(data, limit, "stream")
        if len(out) > limit:
            raise FormatError(f"{FMT}: zstd stream inflates beyond the {limit} bytes its header allows")
        return out
    return data  # uncompressed legacy payload


def _legacy_limit(head: bytes, compressed_bytes: int) -> int:
    if len(head) < LEGACY_HEADER.size:
        raise FormatError(f"{FMT}: header truncated: {len(head)} of {LEGACY_HEADER.size} bytes")
    magic, version, n, sh, fb, _, _ = LEGACY_HEADER.unpack(head[: LEGACY_HEADER.size])
    if magic != MAGIC:
        raise FormatError(f"{FMT}: bad magic {head[:4]!r}, expected b'NGSP'")
    n = _check_header_fields(version, n, sh, fb)
    check_expansion(FMT, "count", n, compressed_bytes, limits().max_gaussians_per_byte)
    return LEGACY_HEADER.size + sum(_stream_sizes(n, sh, version)) + MAX_EXTENSION_BYTES


# ----------------------------------------------------------------------------------------------- attribute decoding
AXES = ("auto", "rub", "raw")


def check_axes(axes: str) -> None:
    if axes not in AXES:
        raise FormatError(f"{FMT}: axes={axes!r}: choose auto (the file's declared frame, else the SPZ "
                          "specification's RUB), rub, or raw (unconverted, as splat-transform 3.x)")


def _signs_to_rdf(code: int) -> tuple[float, float, float]:
    """Axis signs taking coordinates of frame ``code`` (1..8) to RDF."""
    name = COORDINATE_SYSTEMS[code]
    return (1.0 if name[0] == "R" else -1.0, 1.0 if name[1] == "D" else -1.0, 1.0 if name[2] == "F" else -1.0)


def _source_frame(axes: str, declared: int | None) -> int:
    """The frame the stored coordinates are in (a COORDINATE_SYSTEMS code)."""
    if axes == "raw":
        return RDF
    if axes == "rub" or not declared:  # no extension, or one declaring UNSPECIFIED: the specification's RUB
        return RUB
    if declared >= len(COORDINATE_SYSTEMS):
        raise FormatError(f"{FMT}: coordinate-system extension declares code {declared}, known codes are 0..16")
    if declared > 8:
        raise FormatError(f"{FMT}: the file declares the Z-up frame {COORDINATE_SYSTEMS[declared]} (code {declared}); "
                          "only the Y-axis frames (codes 1-8) are supported: convert it to RDF or RUB first")
    return declared


def _decode_arrays(
    arrays: list[bytes], n: int, sh_degree: int, frac_bits: int, version: int, frame: int
) -> GaussianCloud:
    pos_b = np.frombuffer(arrays[0], np.uint8).reshape(n * 3, 3).astype(np.int32)
    fixed = pos_b[:, 0] | (pos_b[:, 1] << 8) | (pos_b[:, 2] << 16)
    fixed = (fixed ^ 0x800000) - 0x800000  # sign-extend 24 bits
    means = (fixed.astype(np.float64) / (1 << frac_bits)).reshape(n, 3)
    alphas = np.frombuffer(arrays[1], np.uint8)
    colors = np.frombuffer(arrays[2], np.uint8).reshape(n, 3)
    scales_b = np.frombuffer(arrays[3], np.uint8).reshape(n, 3)
    if version >= 3:
        xyzw = unpack_smallest_three(np.frombuffer(arrays[4], "<u4"))
    else:
        xyz = np.frombuffer(arrays[4], np.uint8).reshape(n, 3) / 127.5 - 1.0
        w = np.sqrt(np.maximum(0.0, 1.0 - (xyz * xyz).sum(axis=1)))
        xyzw = np.concatenate([xyz, w[:, None]], axis=1)
        # byte rounding can push |xyz| past 1; keep the quaternion unit like the smallest-three path
        xyzw /= np.maximum(np.linalg.norm(xyzw, axis=1, keepdims=True), 1e-12)
    dim = _DIM[sh_degree]
    if dim:
        sh = (np.frombuffer(arrays[5], np.uint8).reshape(n, dim, 3).astype(np.float32) - 128.0) / 128.0
        sh = sh[:, :15]  # degree 4 -> 3: the model stops at degree 3
    else:
        sh = np.zeros((n, 0, 3), np.float32)
    cloud = GaussianCloud(
        means=means,
        scales=scales_b / 16.0 - 10.0,
        quats=xyzw[:, [3, 0, 1, 2]],
        opacities=alpha_to_logit(alphas / 255.0),
        sh_dc=(colors / 255.0 - 0.5) / COLOR_SCALE,
        sh_rest=sh,
    )
    return cloud if frame == RDF else flip_axes(cloud, _signs_to_rdf(frame))


def unpack_smallest_three(comp: np.ndarray) -> np.ndarray:
    """[N] uint32 -> [N, 4] float64 (x, y, z, w)."""
    comp = comp.astype(np.uint32)
    n = len(comp)
    largest = (comp >> np.uint32(30)).astype(np.int64)
    out = np.zeros((n, 4), np.float64)
    rows = np.arange(n)
    # for each component slot, which 10-bit field (0 = lowest) holds it: the stored components fill the slots other
    # than `largest`, the last slot in the lowest field
    shift = np.zeros(n, np.int64)
    for i in (3, 2, 1, 0):
        stored = largest != i
        field = (comp >> (10 * shift).astype(np.uint32)) & np.uint32(0x3FF)
        mag = (field & np.uint32(0x1FF)).astype(np.float64) * (_SQRT1_2 / 511.0)
        neg = (field >> np.uint32(9)) & np.uint32(1)
        out[:, i] = np.where(stored, np.where(neg == 1, -mag, mag), 0.0)
        shift += stored
    out[rows, largest] = np.sqrt(np.maximum(0.0, 1.0 - (out * out).sum(axis=1)))
    return out


def pack_smallest_three(xyzw: np.ndarray) -> np.ndarray:
    """[N, 4] (x, y, z, w) -> [N] uint32, the inverse of :func:`unpack_smallest_three`."""
    q = xyzw.astype(np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    n = len(q)
    largest = np.argmax(np.abs(q), axis=1)
    negate = q[np.arange(n), largest] < 0
    comp = largest.astype(np.uint32)
    for i in range(4):
        stored = largest != i
        negbit = ((q[:, i] < 0) ^ negate).astype(np.uint32)
        mag = np.minimum(np.floor(511.0 * np.abs(q[:, i]) / _SQRT1_2 + 0.5), 511).astype(np.uint32)
        comp = np.where(stored, (comp << np.uint32(10)) | (negbit << np.uint32(9)) | mag, comp)
    return comp.astype(np.uint32)


# ----------------------------------------------------------------------------------------------- readers
def _read_legacy(data: bytes, axes: str) -> GaussianCloud:
    payload = _inflate_legacy(data)
    if len(payload) < LEGACY_HEADER.size:
        raise FormatError(f"{FMT}: header truncated: {len(payload)} of {LEGACY_HEADER.size} bytes")
    magic, version, n, sh, fb, flags, _ = LEGACY_HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise FormatError(f"{FMT}: bad magic {payload[:4]!r}, expected b'NGSP'")
    n = _check_header_fields(version, n, sh, fb)
    if version == 4:
        raise FormatError(f"{FMT}: version 4 header inside a compressed stream; v4 files are not wrapped")
    sizes = _stream_sizes(n, sh, version)
    needed = sum(sizes)
    body = len(payload) - LEGACY_HEADER.size
    if body < needed:
        raise FormatError(
            f"{FMT}: truncated payload at offset {LEGACY_HEADER.size}: {n} Gaussians need {needed} bytes, "
            f"{body} present"
        )
    # extension records (v3, flag 0x2) sit between header and arrays: exactly what is beyond the arrays
    ext_bytes = body - needed if flags & FLAG_EXTENSIONS else 0
    if ext_bytes > MAX_EXTENSION_BYTES:
        raise FormatError(f"{FMT}: {ext_bytes} bytes of extension records, at most {MAX_EXTENSION_BYTES} allowed")
    declared = _read_extensions(payload[LEGACY_HEADER.size : LEGACY_HEADER.size + ext_bytes], LEGACY_HEADER.size)
    offset = LEGACY_HEADER.size + ext_bytes
    arrays = []
    for size in sizes:
        arrays.append(payload[offset : offset + size])
        offset += size
    return check_finite(_decode_arrays(arrays, n, sh, fb, version, _source_frame(axes, declared)), FMT)


def _read_v4(data: bytes, axes: str) -> GaussianCloud:
    if len(data) < V4_HEADER.size:
        raise FormatError(f"{FMT}: v4 header truncated: {len(data)} of {V4_HEADER.size} bytes")
    magic, version, n, sh, fb, flags, num_streams, toc_offset = V4_HEADER.unpack_from(data)
    n = _check_header_fields(version, n, sh, fb)
    check_expansion(FMT, "count", n, len(data), limits().max_gaussians_per_byte)
    sizes = _stream_sizes(n, sh, version)
    if num_streams != len(sizes):
        raise FormatError(f"{FMT}: v4 num_streams={num_streams}, expected {len(sizes)} for sh_degree={sh}")
    if toc_offset < V4_HEADER.size or toc_offset - V4_HEADER.size > MAX_EXTENSION_BYTES:
        raise FormatError(f"{FMT}: v4 toc_offset={toc_offset}, expected 32..{32 + MAX_EXTENSION_BYTES}")
    toc_end = toc_offset + num_streams * TOC_ENTRY.size
    if toc_end > len(data):
        raise FormatError(f"{FMT}: v4 table of contents at offset {toc_offset} runs past the end ({len(data)} bytes)")
    declared = _read_extensions(data[V4_HEADER.size : toc_offset], V4_HEADER.size)
    frame = _source_frame(axes, declared)  # (refused before any stream is inflated)
    offset = toc_end
    arrays = []
    for i, expected in enumerate(sizes):
        comp_size, raw_size = TOC_ENTRY.unpack_from(data, toc_offset + i * TOC_ENTRY.size)
        if raw_size != expected:
            raise FormatError(f"{FMT}: v4 stream {i} claims {raw_size} bytes uncompressed, expected {expected}")
        if comp_size > len(data) - offset:
            raise FormatError(
                f"{FMT}: v4 stream {i} at offset {offset} needs {comp_size} bytes, {len(data) - offset} remain"
            )
        raw = _zstd_read(data[offset : offset + comp_size], expected, f"stream {i} at offset {offset}")
        if len(raw) != expected:
            raise FormatError(f"{FMT}: v4 stream {i} inflated to {len(raw)} bytes, expected {expected}")
        arrays.append(raw)
        offset += comp_size
    return check_finite(_decode_arrays(arrays, n, sh, fb, version, frame), FMT)


def _read_extensions(block: bytes, start: int) -> int | None:
    """Walk the length-delimited extension records (``start``: the block's file offset), checking they tile the
    block exactly; returns the frame code the coordinate-system extension declares (None without one)."""
    pos, declared = 0, None
    while pos < len(block):
        if len(block) - pos < 8:
            raise FormatError(f"{FMT}: extension record header truncated at offset {start + pos}")
        kind, length = struct.unpack_from("<II", block, pos)
        if length > len(block) - pos - 8:
            raise FormatError(f"{FMT}: extension record at offset {start + pos} claims {length} bytes, beyond the "
                              "block")
        if kind == EXT_COORDINATE_SYSTEM:
            if length < 4 or declared is not None:
                raise FormatError(f"{FMT}: coordinate-system extension at offset {start + pos}: "
                                  + ("a second one" if declared is not None else f"{length} bytes, expected 4"))
            declared = struct.unpack_from("<I", block, pos + 8)[0]
        pos += 8 + length
    return declared


def read_spz_bytes(data: bytes, axes: str = "auto") -> GaussianCloud:
    """Decode SPZ bytes (any supported version and compression); ``axes`` as in the module docstring."""
    check_axes(axes)
    if data[:4] == MAGIC_BYTES and len(data) >= 8 and struct.unpack_from("<I", data, 4)[0] >= 4:
        return _read_v4(data, axes)
    if data[:2] == GZIP_MAGIC or data[:4] in (ZSTD_MAGIC, MAGIC_BYTES):
        return _read_legacy(data, axes)
    raise FormatError(f"{FMT}: unknown start {data[:4]!r}: expected gzip, zstd or b'NGSP'")


def read_spz(path: str | os.PathLike, axes: str = "auto") -> GaussianCloud:
    return read_spz_bytes(read_file_bytes(path, FMT), axes)


def undeclared_frame_note(path: str | os.PathLike, axes: str) -> str | None:
    """The warning a command prints when ``axes="auto"`` reads an SPZ that declares no frame (so RUB is assumed):
    files from tools that store SPZ unconverted (splat-transform 3.x) then show upside down. None otherwise, or when
    the header cannot be read (the reader reports that)."""
    if axes != "auto" or os.path.splitext(str(path))[1].lower() != ".spz":
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(V4_HEADER.size + MAX_EXTENSION_BYTES)
        if head[:4] != MAGIC_BYTES:  # legacy gzip: v3 extension records are rare; say nothing
            return None
        _, version, _, _, _, flags, _, toc = V4_HEADER.unpack_from(head)
        if version >= 4 and flags & FLAG_EXTENSIONS and _read_extensions(head[V4_HEADER.size: toc], 32):
            return None
    except (OSError, struct.error, FormatError):
        return None
    return (f"{path} declares no coordinate frame: read as RUB, the SPZ specification's (if it shows upside down, "
            "it was stored unconverted, as splat-transform 3.x does: use --spz-axes raw)")


# ----------------------------------------------------------------------------------------------- writer
def _quantize_sh(sh: np.ndarray) -> np.ndarray:
    """[N, K, 3] float -> uint8 with the reference writer's default 5 bits (degree 1) / 4 bits (higher)."""
    q = np.clip(np.rint(sh * np.float32(128.0)), -128, 127).astype(np.int16) + 128  # 0..255
    out = np.empty(sh.shape, np.uint8)
    for sl, bits in ((slice(0, 3), SH1_BITS), (slice(3, None), SH_REST_BITS)):
        drop = 8 - bits  # round to the nearest multiple of 2**drop, as the reference does
        out[:, sl] = np.minimum(((q[:, sl] + (1 << drop >> 1)) >> drop) << drop, 255)
    return out


def spz_v4_bytes(cloud: GaussianCloud, zstd_level: int = 9, axes: str = "auto") -> bytes:
    """Encode ``cloud`` as SPZ v4 (32-byte header, extension records, table of contents, one zstd frame per
    attribute); ``axes`` as in the module docstring."""
    check_axes(axes)
    cloud = cloud.validate()
    frame = RUB if axes == "rub" else RDF
    if frame != RDF:
        cloud = flip_axes(cloud, _signs_to_rdf(frame))  # (its own inverse: RDF -> the frame)
    extensions = b"" if axes == "raw" else struct.pack("<III", EXT_COORDINATE_SYSTEM, 4, frame)
    n, sh_degree = len(cloud), cloud.sh_degree
    max_abs = float(np.abs(cloud.means).max()) if n else 0.0
    # 12 fractional bits (~0.25 mm) unless the scene is too large for 24 bits; then give up precision, not range
    frac_bits = WRITE_FRACTIONAL_BITS
    while frac_bits > 0 and round(max_abs * (1 << frac_bits)) > (1 << 23) - 1:
        frac_bits -= 1
    if round(max_abs * (1 << frac_bits)) > (1 << 23) - 1:
        raise SceneError(f"SPZ: a coordinate of magnitude {max_abs:g} does not fit 24-bit fixed point")
    fixed = np.rint(cloud.means.astype(np.float64) * (1 << frac_bits)).astype(np.int64).reshape(-1)
    pos = np.stack([fixed & 0xFF, (fixed >> 8) & 0xFF, (fixed >> 16) & 0xFF], axis=1).astype(np.uint8)
    streams = [
        pos.tobytes(),
        to_u8(logit_to_alpha(cloud.opacities) * 255.0).tobytes(),
        to_u8(cloud.sh_dc.astype(np.float64) * (COLOR_SCALE * 255.0) + 0.5 * 255.0).tobytes(),
        to_u8((cloud.scales.astype(np.float64) + 10.0) * 16.0).tobytes(),
        pack_smallest_three(cloud.quats[:, [1, 2, 3, 0]]).astype("<u4").tobytes(),
    ]
    if sh_degree > 0:
        streams.append(_quantize_sh(cloud.sh_rest).tobytes())
    cctx = zstandard.ZstdCompressor(level=zstd_level, write_content_size=True)
    frames = [cctx.compress(s) for s in streams]
    flags = FLAG_EXTENSIONS if extensions else 0
    header = V4_HEADER.pack(MAGIC, 4, n, sh_degree, frac_bits, flags, len(frames), V4_HEADER.size + len(extensions))
    toc = b"".join(TOC_ENTRY.pack(len(f), len(s)) for f, s in zip(frames, streams))
    return header + extensions + toc + b"".join(frames)


def write_spz(cloud: GaussianCloud, path: str | os.PathLike, axes: str = "auto") -> None:
    data = spz_v4_bytes(cloud, axes=axes)  # before opening: a bad argument leaves no empty file behind
    with open(path, "wb") as f:
        f.write(data)
