"""PlayCanvas SOG ("spatially ordered Gaussians"), versions 1 and 2: reading (``sog_writer.py`` writes version 2).

A SOG scene is a ``meta.json`` plus lossless WebP images in which pixel i (row-major) belongs to Gaussian i. It is
either a folder ("unbundled", ``sog_dir``) or a zip of the same files (``.sog``, "bundled"). Per property:

- means: ``means_l`` / ``means_u`` hold the low / high byte of a 16-bit unorm per axis (RGB); the value lerps between
  ``mins`` and ``maxs`` of the log-transformed position t = sign(x) * log(1 + |x|), so x = sign(t) * (exp|t| - 1).
- quats: RGB are the three smaller components of the unit quaternion (byte / 255 * 2 - 1, divided by sqrt 2) in
  (w, x, y, z) order with the largest left out; A = 252 + index of the largest, which is rebuilt positive.
- scales: v2 RGB index a 256-entry ``codebook`` of log scales; v1 lerps per-axis ``mins``/``maxs``.
- sh0: v2 RGB index a ``codebook`` whose values are the INRIA ``f_dc`` coefficients and A is sigmoid(opacity) as a
  byte; v1 lerps ``mins``/``maxs`` for RGB and for A, which is then the opacity logit itself.
- shN (optional): ``shN_labels`` gives a 16-bit palette index per Gaussian (R low byte, G high byte);
  ``shN_centroids`` stores the palette, 64 entries per row, each K pixels wide (K = 3, 8, 15 for bands 1..3), pixel
  j's RGB being coefficient j of R, G, B; v2 maps bytes through ``shN.codebook``, v1 lerps scalar ``mins``/``maxs``.

A ``lod-meta.json`` folder (splat-transform LOD output) lists one SOG folder per level; :func:`lod_level_paths` and
:func:`read_sog_lod` read a level as a whole scene.

Untrusted input: member sizes are bounded before reading (zip-bomb guard), image dimensions are checked against the
claimed count before decoding, and every index read from an image is range-checked.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import (
    alpha_to_logit,
    check_count,
    check_expansion,
    check_finite,
    limits,
    place_smallest_three,
)

FMT = "SOG"
PALETTE_ROW = 64  # shN palette entries per centroid-image row
_BANDS_TO_K = {0: 0, 1: 3, 2: 8, 3: 15}
_V1_WIDTH_TO_BANDS = {192: 1, 512: 2, 960: 3}
_MAX_PALETTE = 1 << 16
# a SOG texture is the smallest near-square holding `count` pixels; allow generous slack, no more
_TEXTURE_SLACK_PIXELS = 1 << 16
# what zipfile raises on damaged members (bad CRC, corrupt deflate/lzma/bzip2 data, unsupported method)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, ValueError, EOFError, NotImplementedError,
               RuntimeError)  # (RuntimeError: an encrypted member)


# ----------------------------------------------------------------------------------------------- member access
class _Members:
    """Bounded access to the files of a SOG scene, from a folder or a zip."""

    def __init__(self, path: Path):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.total = 0
        if path.is_dir():
            self.root = path
        elif path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
                infos = self.zip.infolist()
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise FormatError(f"{FMT}: {path} is not a readable zip: {exc}") from None
            if len(infos) > limits().max_zip_members:
                raise FormatError(f"{FMT}: {path} has {len(infos)} members, limit {limits().max_zip_members}")
            # members may sit in a sub-folder of the zip; index them by base name
            # (a member with an empty name, which zipfile's is_dir() cannot handle, names nothing a scene uses)
            self.infos = {i.filename.rsplit("/", 1)[-1]: i for i in infos if i.filename and not i.is_dir()}
        else:
            raise FormatError(f"{FMT}: {path} is neither a folder nor a file")

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def read(self, name: str, limit: int | None = None) -> bytes:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise FormatError(f"{FMT}: meta.json names an invalid file {name!r}")
        limit = limits().max_zip_member_bytes if limit is None else limit
        if self.zip is None:
            p = self.root / name
            if not p.is_file():
                raise FormatError(f"{FMT}: missing file {name!r} in {self.root}")
            size = p.stat().st_size
            if size > limit:
                raise FormatError(f"{FMT}: {name} is {size} bytes, limit {limit}")
            return p.read_bytes()
        info = self.infos.get(name)
        if info is None:
            raise FormatError(f"{FMT}: missing member {name!r} in {self.path}")
        limit = min(limit, limits().max_zip_ratio * info.compress_size + (1 << 20))
        if info.file_size > limit:
            raise FormatError(f"{FMT}: member {name} claims {info.file_size} bytes, limit {limit}")
        try:
            with self.zip.open(info) as f:
                data = f.read(limit + 1)  # never trust the declared size alone
        except _ZIP_ERRORS as exc:
            raise FormatError(f"{FMT}: member {name} of {self.path} is corrupt: {exc}") from None
        if len(data) > limit:
            raise FormatError(f"{FMT}: member {name} inflates beyond {limit} bytes")
        self.total += len(data)
        if self.total > limits().max_zip_total_bytes:
            raise FormatError(f"{FMT}: {self.path} inflates beyond {limits().max_zip_total_bytes} bytes in total")
        return data


def _decode_rgba(data: bytes, name: str, min_pixels: int, max_pixels: int) -> tuple[np.ndarray, int, int]:
    """Decode a WebP to ([H*W, 4] uint8, width, height), checking its size before decoding."""
    try:
        with Image.open(io.BytesIO(data), formats=["WEBP"]) as im:
            w, h = im.size
            check_expansion(FMT, f"image {name} pixels", w * h, len(data), limits().max_pixels_per_byte)
            if w * h < min_pixels or w * h > max_pixels:
                raise FormatError(
                    f"{FMT}: image {name} is {w}x{h} = {w * h} pixels, expected {min_pixels}..{max_pixels}"
                )
            im.load()
            rgba = np.asarray(im if im.mode == "RGBA" else im.convert("RGBA"), np.uint8)
    except FormatError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise FormatError(f"{FMT}: image {name} cannot be decoded: {exc}") from None
    if rgba.shape != (h, w, 4):
        raise FormatError(f"{FMT}: image {name} decoded to shape {rgba.shape}, expected ({h}, {w}, 4)")
    return rgba.reshape(h * w, 4), w, h


def _image_size(data: bytes, name: str) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data), formats=["WEBP"]) as im:
            pixels = im.size[0] * im.size[1]
            check_expansion(FMT, f"image {name} pixels", pixels, len(data), limits().max_pixels_per_byte)
            return im.size
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise FormatError(f"{FMT}: image {name} cannot be read: {exc}") from None


# ----------------------------------------------------------------------------------------------- meta validation
def _get(meta: dict, path: str):
    node = meta
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise FormatError(f"{FMT}: meta.json lacks field {path!r}")
        node = node[key]
    return node


def _floats(meta: dict, path: str, length: int | None = None, max_length: int | None = None) -> np.ndarray:
    value = _get(meta, path)
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise FormatError(f"{FMT}: meta.json field {path!r} must be a list of numbers")
    if length is not None and len(value) != length:
        raise FormatError(f"{FMT}: meta.json field {path!r} has {len(value)} values, expected {length}")
    if max_length is not None and not 1 <= len(value) <= max_length:
        raise FormatError(f"{FMT}: meta.json field {path!r} has {len(value)} values, expected 1..{max_length}")
    arr = np.asarray(value, np.float64)
    if not np.isfinite(arr).all():
        raise FormatError(f"{FMT}: meta.json field {path!r} has a non-finite value")
    return arr


def _number(meta: dict, path: str) -> float:
    value = _get(meta, path)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
        raise FormatError(f"{FMT}: meta.json field {path!r} must be a finite number, got {value!r}")
    return float(value)


def _files(meta: dict, prop: str, n: int) -> list[str]:
    files = _get(meta, f"{prop}.files")
    if not isinstance(files, list) or len(files) < n or not all(isinstance(f, str) for f in files):
        raise FormatError(f"{FMT}: meta.json field '{prop}.files' must list {n} file names")
    return files[:n]


def _lookup(codebook: np.ndarray, idx: np.ndarray, what: str) -> np.ndarray:
    if idx.size and int(idx.max()) >= len(codebook):
        raise FormatError(f"{FMT}: {what} index {int(idx.max())} outside its {len(codebook)}-entry codebook")
    return codebook.astype(np.float32)[idx]


# ----------------------------------------------------------------------------------------------- decoding
def decode_means(lo: np.ndarray, hi: np.ndarray, mins: np.ndarray, maxs: np.ndarray) -> np.ndarray:
    """[N, 4] uint8 low/high bytes -> [N, 3] float32 positions (undoing the sign*log1p transform)."""
    q = lo[:, :3].astype(np.uint32) | (hi[:, :3].astype(np.uint32) << 8)
    span = np.where(maxs - mins == 0, 1.0, maxs - mins)
    t = mins + span * (q / 65535.0)
    return (np.sign(t) * np.expm1(np.abs(t))).astype(np.float32)


def decode_quats(q: np.ndarray) -> np.ndarray:
    """[N, 4] uint8 smallest-three (A = 252 + largest index) -> [N, 4] float32 (w, x, y, z)."""
    tag = q[:, 3].astype(np.int64)
    bad = (tag < 252) | (tag > 255)
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"{FMT}: quats pixel {i} has tag {int(tag[i])}, expected 252..255")
    abc = (q[:, :3].astype(np.float64) / 255.0 * 2.0 - 1.0) / np.sqrt(2.0)
    return place_smallest_three(abc, tag - 252)


def _texture(members: _Members, name: str, count: int) -> np.ndarray:
    rgba, _, _ = _decode_rgba(members.read(name), name, count, 2 * count + _TEXTURE_SLACK_PIXELS)
    return rgba[:count]


def _decode_sh_rest(
    members: _Members, files: list[str], count: int, k: int, palette: int, dequant
) -> np.ndarray:
    """Palette-coded SH: labels -> centroids -> per-byte dequantisation. Returns [count, k, 3] float32."""
    rows = -(-palette // PALETTE_ROW)
    cents, w, h = _decode_rgba(members.read(files[0]), files[0], 1, PALETTE_ROW * k * (rows + 1))
    if w != PALETTE_ROW * k:
        raise FormatError(f"{FMT}: {files[0]} is {w} pixels wide, expected {PALETTE_ROW * k} for {k} coefficients")
    if h * PALETTE_ROW < palette:
        raise FormatError(f"{FMT}: {files[0]} has room for {h * PALETTE_ROW} palette entries, meta claims {palette}")
    table = dequant(cents[:, :3].reshape(h * PALETTE_ROW, k, 3))  # [P, k, 3]
    labels_rgba = _texture(members, files[1], count)
    labels = labels_rgba[:, 0].astype(np.int64) | (labels_rgba[:, 1].astype(np.int64) << 8)
    if labels.size and int(labels.max()) >= palette:
        i = int(np.argmax(labels >= palette))
        raise FormatError(f"{FMT}: {files[1]} pixel {i} has label {int(labels[i])}, palette has {palette} entries")
    # np.take on a 2-D table is ~3x faster than fancy indexing the 3-D one
    return np.take(table.reshape(len(table), k * 3), labels, axis=0).reshape(count, k, 3)


def _decode_v2(meta: dict, members: _Members) -> GaussianCloud:
    count = check_count(FMT, "count", _get(meta, "count"))
    lo = _texture(members, _files(meta, "means", 2)[0], count)
    hi = _texture(members, _files(meta, "means", 2)[1], count)
    means = decode_means(lo, hi, _floats(meta, "means.mins", 3), _floats(meta, "means.maxs", 3))
    quats = decode_quats(_texture(members, _files(meta, "quats", 1)[0], count))
    s = _texture(members, _files(meta, "scales", 1)[0], count)
    scales = _lookup(_floats(meta, "scales.codebook", max_length=256), s[:, :3], "scales")
    c = _texture(members, _files(meta, "sh0", 1)[0], count)
    sh_dc = _lookup(_floats(meta, "sh0.codebook", max_length=256), c[:, :3], "sh0")
    opacities = alpha_to_logit(c[:, 3] / 255.0)
    sh_rest = np.zeros((count, 0, 3), np.float32)
    if meta.get("shN") is not None:
        bands = _get(meta, "shN.bands")
        if type(bands) is not int or bands not in (1, 2, 3):
            raise FormatError(f"{FMT}: shN.bands={bands!r}, expected 1, 2 or 3")
        palette = check_count(FMT, "shN.count", _get(meta, "shN.count"), _MAX_PALETTE)
        codebook = _floats(meta, "shN.codebook", max_length=256)
        sh_rest = _decode_sh_rest(
            members, _files(meta, "shN", 2), count, _BANDS_TO_K[bands], palette,
            lambda b: _lookup(codebook, b, "shN"),
        )  # fmt: skip
    return GaussianCloud(means=means, scales=scales, quats=quats, opacities=opacities, sh_dc=sh_dc, sh_rest=sh_rest)


def _decode_v1(meta: dict, members: _Members) -> GaussianCloud:
    shape = _get(meta, "means.shape")
    if not isinstance(shape, list) or len(shape) < 1:
        raise FormatError(f"{FMT}: v1 meta.json field 'means.shape' must be [count, 3]")
    count = check_count(FMT, "means.shape[0]", shape[0])
    lo = _texture(members, _files(meta, "means", 2)[0], count)
    hi = _texture(members, _files(meta, "means", 2)[1], count)
    means = decode_means(lo, hi, _floats(meta, "means.mins", 3), _floats(meta, "means.maxs", 3))
    quats = decode_quats(_texture(members, _files(meta, "quats", 1)[0], count))

    def lerp(b: np.ndarray, lo_: np.ndarray, hi_: np.ndarray) -> np.ndarray:
        return (lo_ + (hi_ - lo_) * (b / 255.0)).astype(np.float32)

    s = _texture(members, _files(meta, "scales", 1)[0], count)
    scales = lerp(s[:, :3], _floats(meta, "scales.mins", 3), _floats(meta, "scales.maxs", 3))
    c = _texture(members, _files(meta, "sh0", 1)[0], count)
    cmin, cmax = _floats(meta, "sh0.mins", 4), _floats(meta, "sh0.maxs", 4)
    sh_dc = lerp(c[:, :3], cmin[:3], cmax[:3])
    opacities = lerp(c[:, 3], cmin[3], cmax[3])  # v1 stores the logit itself
    sh_rest = np.zeros((count, 0, 3), np.float32)
    if meta.get("shN") is not None:
        files = _files(meta, "shN", 2)
        # v1 has no band count: it follows from the centroid image's width
        width, height = _image_size(members.read(files[0]), files[0])
        bands = _V1_WIDTH_TO_BANDS.get(width)
        if bands is None:
            raise FormatError(f"{FMT}: v1 {files[0]} width {width} is not 192, 512 or 960")
        k = _BANDS_TO_K[bands]
        palette = min((width // k) * height, _MAX_PALETTE)
        lo_, hi_ = _number(meta, "shN.mins"), _number(meta, "shN.maxs")
        sh_rest = _decode_sh_rest(members, files, count, k, palette, lambda b: lerp(b, lo_, hi_))
    return GaussianCloud(means=means, scales=scales, quats=quats, opacities=opacities, sh_dc=sh_dc, sh_rest=sh_rest)


def read_sog(path: str | os.PathLike) -> GaussianCloud:
    """Read a bundled ``.sog`` zip, an unbundled SOG folder, or the ``meta.json`` inside one."""
    path = Path(path)
    if path.name == "meta.json" and path.is_file():
        path = path.parent
    members = _Members(path)
    try:
        try:
            meta = json.loads(members.read("meta.json", limits().max_json_bytes))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise FormatError(f"{FMT}: meta.json is not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise FormatError(f"{FMT}: meta.json must hold an object, got {type(meta).__name__}")
        version = meta.get("version")
        if version is None:
            cloud = _decode_v1(meta, members)
        elif version == 2:
            cloud = _decode_v2(meta, members)
        else:
            raise FormatError(f"{FMT}: unsupported meta.json version {version!r} (supported: 1 (none), 2)")
    finally:
        members.close()
    return check_finite(cloud, FMT)


# ----------------------------------------------------------------------------------------------- LOD folders
def lod_level_paths(path: str | os.PathLike) -> list[Path]:
    """Folders of the levels listed by a ``lod-meta.json`` (its path or its folder), finest level (0) first."""
    path = Path(path)
    meta_path = path / "lod-meta.json" if path.is_dir() else path
    if not meta_path.is_file():
        raise FormatError(f"{FMT}: no lod-meta.json at {path}")
    if meta_path.stat().st_size > limits().max_json_bytes:
        raise FormatError(f"{FMT}: {meta_path} is larger than {limits().max_json_bytes} bytes")
    try:
        meta = json.loads(meta_path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"{FMT}: lod-meta.json is not valid JSON: {exc}") from None
    names = meta.get("filenames") if isinstance(meta, dict) else None
    levels = meta.get("lodLevels") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not isinstance(levels, int):
        raise FormatError(f"{FMT}: lod-meta.json needs 'lodLevels' (int) and 'filenames' (list of str)")
    # the tree maps level -> file index; every node of a level uses the same file, so read it from the first node
    level_file: dict[int, int] = {}

    def walk(node) -> None:
        if not isinstance(node, dict):
            return
        for lvl, entry in (node.get("lods") or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("file"), int) and str(lvl).isdigit():
                level_file.setdefault(int(lvl), entry["file"])
        for child in node.get("children") or []:
            walk(child)

    walk(meta.get("tree"))
    out = []
    for lvl in range(levels):
        idx = level_file.get(lvl, lvl)
        if not 0 <= idx < len(names):
            raise FormatError(f"{FMT}: lod-meta.json level {lvl} points at file {idx}, only {len(names)} listed")
        rel = Path(names[idx])
        if rel.is_absolute() or ".." in rel.parts:
            raise FormatError(f"{FMT}: lod-meta.json file name {names[idx]!r} leaves the folder")
        out.append((meta_path.parent / rel).parent)
    return out


def read_sog_lod(path: str | os.PathLike, level: int = 0) -> GaussianCloud:
    """Read one level (0 = finest) of a ``lod-meta.json`` SOG folder as a whole scene."""
    levels = lod_level_paths(path)
    if not 0 <= level < len(levels):
        raise FormatError(f"{FMT}: level {level} requested, the LOD folder has {len(levels)} levels")
    return read_sog(levels[level])
