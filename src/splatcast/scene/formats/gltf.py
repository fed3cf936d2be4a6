"""glTF 2.0 binary (``.glb``) with Khronos ``KHR_gaussian_splatting``: read and write.

Written with pygltflib (the glTF document and its GLB container). Read as plain JSON plus the GLB chunks, every
length and accessor checked here against the bytes supplied before anything is allocated (the file is untrusted).

Layout written (the one splat-transform 3.7 writes): one buffer, one node, one mesh with one ``POINTS`` primitive,
tightly packed float32 accessors ``POSITION`` (with min / max), ``KHR_gaussian_splatting:ROTATION`` (unit
quaternion, x y z w), ``:SCALE`` (linear: exp of the log scale), ``:OPACITY`` (sigmoid of the logit),
``:SH_DEGREE_l_COEF_n`` for l = 0..degree, and ``COLOR_0`` (normalized RGBA bytes, for viewers without splats).
Extension object: ``kernel: ellipse``, ``colorSpace: srgb_rec709_display``.

Axes: glTF is +Y up; splatcast's clouds are in the INRIA PLY frame (RDF, y down). Like splat-transform, the writer
turns the scene 180 degrees about z and the reader turns it back, so a PLY scene stands upright in a glTF viewer.

Reading accepts every component type the extension allows (float; normalized signed byte / short for rotation and
scale, plain signed byte / short for scale, normalized unsigned byte / short for opacity), strided buffer views, and
several splat primitives (concatenated, padded to the highest SH degree). Refused with FormatError: sparse
accessors, external or data-URI buffers (only the GLB's own binary chunk), node transforms other than identity,
an accessor that does not fit its buffer view, and a compression extension in ``extensionsRequired``.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import (
    alpha_to_logit,
    check_count,
    check_finite,
    dc_to_color,
    half_turn,
    limits,
    logit_to_alpha,
    read_file_bytes,
    to_u8,
    unit_quats,
)

FMT = "glTF"
EXTENSION = "KHR_gaussian_splatting"
MAGIC = b"glTF"
_JSON, _BIN = 0x4E4F534A, 0x004E4942
_POINTS = 0
_FLOAT, _BYTE, _UBYTE, _SHORT, _USHORT = 5126, 5120, 5121, 5122, 5123
_DTYPES = {_FLOAT: "<f4", _BYTE: "i1", _UBYTE: "u1", _SHORT: "<i2", _USHORT: "<u2"}
_WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}
_SH_COEFS = (1, 3, 5, 7)  # coefficients of SH degree 0..3
# component types the extension allows per attribute (normalized flag, component type)
_ALLOWED = {
    "ROTATION": {(False, _FLOAT), (True, _BYTE), (True, _SHORT)},
    "SCALE": {(False, _FLOAT), (False, _BYTE), (True, _BYTE), (False, _SHORT), (True, _SHORT)},
    "OPACITY": {(False, _FLOAT), (True, _UBYTE), (True, _USHORT)},
}


# ---------------------------------------------------------------------------------------------------- writing
def glb_bytes(cloud: GaussianCloud) -> bytes:
    import pygltflib as g

    cloud = half_turn(cloud.validate(), "z")  # PLY frame -> glTF's +Y up
    n = len(cloud)
    q = cloud.normalized_quats()
    columns = {
        "POSITION": cloud.means,
        "COLOR_0": np.concatenate([to_u8(dc_to_color(cloud.sh_dc) * 255.0),
                                   to_u8(logit_to_alpha(cloud.opacities) * 255.0)[:, None]], axis=1),
        f"{EXTENSION}:ROTATION": q[:, [1, 2, 3, 0]],
        f"{EXTENSION}:SCALE": np.exp(cloud.scales.astype(np.float64)),
        f"{EXTENSION}:OPACITY": logit_to_alpha(cloud.opacities),
        f"{EXTENSION}:SH_DEGREE_0_COEF_0": cloud.sh_dc,
    }
    k = 0
    for degree in range(1, cloud.sh_degree + 1):
        for c in range(_SH_COEFS[degree]):
            columns[f"{EXTENSION}:SH_DEGREE_{degree}_COEF_{c}"] = cloud.sh_rest[:, k]
            k += 1
    blob, views, accessors, attributes = bytearray(), [], [], {}
    for name, values in columns.items():
        arr = np.ascontiguousarray(values, np.uint8 if name == "COLOR_0" else np.float32)
        width = arr.shape[1] if arr.ndim == 2 else 1
        views.append(g.BufferView(buffer=0, byteOffset=len(blob), byteLength=arr.nbytes, target=g.ARRAY_BUFFER))
        blob += arr.tobytes() + b"\0" * (-arr.nbytes % 4)
        colour = name == "COLOR_0"
        acc = g.Accessor(bufferView=len(views) - 1, componentType=_UBYTE if colour else _FLOAT, count=n,
                         type={1: "SCALAR", 3: "VEC3", 4: "VEC4"}[width], normalized=True if colour else None)
        if name == "POSITION" and n:
            acc.min, acc.max = arr.min(axis=0).tolist(), arr.max(axis=0).tolist()
        accessors.append(acc)
        attributes[name] = len(accessors) - 1
    prim = g.Primitive(attributes=g.Attributes(**attributes), mode=_POINTS,
                       extensions={EXTENSION: {"kernel": "ellipse", "colorSpace": "srgb_rec709_display"}})
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0", generator="splatcast"), scene=0, scenes=[g.Scene(nodes=[0])],
        nodes=[g.Node(mesh=0)], meshes=[g.Mesh(primitives=[prim])], accessors=accessors, bufferViews=views,
        buffers=[g.Buffer(byteLength=len(blob))], extensionsUsed=[EXTENSION],
    )
    gltf.set_binary_blob(bytes(blob))
    return b"".join(gltf.save_to_bytes())


def write_gltf(cloud: GaussianCloud, path: str | os.PathLike) -> None:
    if not str(path).lower().endswith(".glb"):
        raise FormatError(f"{FMT}: only binary glTF (.glb) is written, not {os.fspath(path)!r}")
    data = glb_bytes(cloud)
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------------- reading
def _chunks(data: bytes) -> tuple[bytes, bytes]:
    """(JSON chunk, BIN chunk or b"") of a GLB, every length checked against the bytes supplied."""
    if len(data) < 20 or data[:4] != MAGIC:
        raise FormatError(f"{FMT}: not a binary glTF file (magic {data[:4]!r})")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise FormatError(f"{FMT}: container version {version}, expected 2")
    if length != len(data):
        raise FormatError(f"{FMT}: header says {length} bytes, the file has {len(data)}")
    chunks, pos = [], 12
    while pos < length:
        if pos + 8 > length:
            raise FormatError(f"{FMT}: truncated chunk header at byte {pos}")
        size, kind = struct.unpack_from("<II", data, pos)
        if size > length - pos - 8:
            raise FormatError(f"{FMT}: chunk at byte {pos} claims {size} bytes, {length - pos - 8} remain")
        chunks.append((kind, data[pos + 8: pos + 8 + size]))
        pos += 8 + size  # chunk lengths include their padding
    if not chunks or chunks[0][0] != _JSON:
        raise FormatError(f"{FMT}: the first chunk must be JSON")
    if len(chunks[0][1]) > limits().max_json_bytes:
        raise FormatError(f"{FMT}: JSON chunk of {len(chunks[0][1])} bytes exceeds {limits().max_json_bytes}")
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == _BIN else b""
    return chunks[0][1], binary


def _model(text: bytes) -> tuple[dict, set]:
    """The JSON chunk as a dict (read as JSON: the extension's attribute names are plain keys) and the extensions
    it requires."""
    try:
        doc = json.loads(text.decode("utf-8"))
        required = set(doc.get("extensionsRequired") or [])
    except (UnicodeDecodeError, ValueError, AttributeError, TypeError, RecursionError) as exc:  # (deep nesting)
        raise FormatError(f"{FMT}: malformed JSON chunk ({type(exc).__name__}: {exc})") from None
    return doc, required


def _accessor(doc: dict, index, binary: bytes, n_expected: int | None, width: int, what: str):
    """Accessor ``index`` as an [count, width] float64 array (normalized integers mapped by the glTF rules) and its
    (normalized, componentType); every offset and length checked against ``binary``."""
    try:
        if type(index) is not int or index < 0:
            raise IndexError
        acc = doc["accessors"][index]
        if "sparse" in acc:
            raise FormatError(f"{FMT}: {what}: sparse accessors are not supported")
        ctype, count, kind = acc["componentType"], acc["count"], acc["type"]
        norm = bool(acc.get("normalized", False))
        view = doc["bufferViews"][acc["bufferView"]]
        if view.get("buffer", 0) != 0:
            raise FormatError(f"{FMT}: {what}: only the GLB's own buffer 0 is read")
        view_off, view_len = int(view.get("byteOffset", 0)), int(view["byteLength"])
        acc_off, stride = int(acc.get("byteOffset", 0)), view.get("byteStride")
    except FormatError:
        raise
    except (KeyError, IndexError, TypeError, ValueError):
        raise FormatError(f"{FMT}: {what}: accessor {index!r} is missing or incomplete") from None
    if ctype not in _DTYPES or _WIDTH.get(kind) != width:
        raise FormatError(f"{FMT}: {what}: componentType {ctype} / type {kind!r}, expected {width} components")
    count = check_count(FMT, f"{what} count", count)
    if n_expected is not None and count != n_expected:
        raise FormatError(f"{FMT}: {what} has {count} elements, POSITION has {n_expected}")
    item = np.dtype(_DTYPES[ctype]).itemsize
    elem = item * width
    stride = elem if stride is None else int(stride)
    if stride < elem or stride % item or view_off < 0 or acc_off < 0 or view_len < 0:
        raise FormatError(f"{FMT}: {what}: byteStride {stride} / offsets do not describe {elem}-byte elements")
    if view_off + view_len > len(binary) or (count and acc_off + stride * (count - 1) + elem > view_len):
        raise FormatError(f"{FMT}: {what}: {count} elements do not fit buffer view of {view_len} bytes "
                          f"(binary chunk {len(binary)} bytes)")
    if (view_off + acc_off) % item:
        raise FormatError(f"{FMT}: {what}: data not aligned to its {item}-byte components")
    raw = np.ndarray((count, width), _DTYPES[ctype], binary, view_off + acc_off, (stride, item)) if count else \
        np.zeros((0, width), _DTYPES[ctype])
    out = raw.astype(np.float64)
    if norm and ctype != _FLOAT:
        info = np.iinfo(raw.dtype)
        out = np.maximum(out / info.max, -1.0)  # glTF: signed c / max, clamped at -1; unsigned c / max
    return out, (norm, ctype)


def _is_identity(node: dict) -> bool:
    m = node.get("matrix")
    if m is not None and not np.allclose(np.asarray(m, float).reshape(4, 4), np.eye(4)):
        return False
    t, r, s = node.get("translation"), node.get("rotation"), node.get("scale")
    return ((t is None or np.allclose(t, 0)) and (r is None or np.allclose(r, [0, 0, 0, 1]))
            and (s is None or np.allclose(s, 1)))


def _splat_primitives(doc: dict) -> list[dict]:
    """Every primitive carrying the extension, in mesh order; meshes placed by a transforming node are refused."""
    try:
        for node in doc.get("nodes") or []:
            if "mesh" in node and not _is_identity(node):
                raise FormatError(f"{FMT}: node {node.get('name', '')!r} transforms its splats; not supported")
        prims = [p for mesh in doc.get("meshes") or [] for p in mesh.get("primitives") or []
                 if EXTENSION in (p.get("extensions") or {})]
    except FormatError:
        raise
    except (AttributeError, TypeError, ValueError):
        raise FormatError(f"{FMT}: malformed nodes or meshes") from None
    if not prims:
        raise FormatError(f"{FMT}: no mesh primitive with {EXTENSION}")
    for p in prims:
        if p.get("mode", 4) != _POINTS:
            raise FormatError(f"{FMT}: a {EXTENSION} primitive must have mode POINTS (0), got {p.get('mode', 4)}")
    return prims


def _read_primitive(doc: dict, prim: dict, binary: bytes) -> GaussianCloud:
    attrs = prim.get("attributes") or {}
    if not isinstance(attrs, dict) or "POSITION" not in attrs:
        raise FormatError(f"{FMT}: splat primitive without POSITION")
    means, _ = _accessor(doc, attrs["POSITION"], binary, None, 3, "POSITION")
    n = len(means)

    def attribute(name: str, width: int):
        key = f"{EXTENSION}:{name}"
        if key not in attrs:
            raise FormatError(f"{FMT}: splat primitive without {key}")
        values, kind = _accessor(doc, attrs[key], binary, n, width, key)
        if name in _ALLOWED and kind not in _ALLOWED[name]:
            raise FormatError(f"{FMT}: {key}: component type {kind[1]} (normalized={kind[0]}) is not allowed")
        return values

    xyzw = attribute("ROTATION", 4)
    scale = attribute("SCALE", 3)
    alpha = attribute("OPACITY", 1)[:, 0]
    dc = attribute("SH_DEGREE_0_COEF_0", 3)
    rest = []
    for d in (1, 2, 3):
        names = [f"{EXTENSION}:SH_DEGREE_{d}_COEF_{c}" for c in range(_SH_COEFS[d])]
        present = [k in attrs for k in names]
        if not any(present):
            break
        if not all(present):
            raise FormatError(f"{FMT}: SH degree {d} is partly defined ({sum(present)} of {len(names)} coefficients)")
        rest += [attribute(f"SH_DEGREE_{d}_COEF_{c}", 3) for c in range(_SH_COEFS[d])]
    if n and not ((scale > 0).all() and np.isfinite(scale).all()):
        raise FormatError(f"{FMT}: {EXTENSION}:SCALE must be positive and finite (linear scale)")
    if n and not ((alpha >= 0) & (alpha <= 1)).all():
        raise FormatError(f"{FMT}: {EXTENSION}:OPACITY must lie in [0, 1]")
    return GaussianCloud(
        means=means, scales=np.log(scale), quats=unit_quats(xyzw[:, [3, 0, 1, 2]]), opacities=alpha_to_logit(alpha),
        sh_dc=dc, sh_rest=np.stack(rest, axis=1) if rest else np.zeros((n, 0, 3)),
    )


def read_gltf_bytes(data: bytes) -> GaussianCloud:
    text, binary = _chunks(data)
    doc, required = _model(text)
    unknown = required - {EXTENSION}
    if unknown:
        raise FormatError(f"{FMT}: requires extensions splatcast does not read: {sorted(unknown)}")
    clouds = [_read_primitive(doc, p, binary) for p in _splat_primitives(doc)]
    cloud = clouds[0] if len(clouds) == 1 else GaussianCloud.concat(clouds)
    return check_finite(half_turn(cloud, "z"), FMT)  # glTF's +Y up -> the PLY frame


def read_gltf(path: str | os.PathLike) -> GaussianCloud:
    return read_gltf_bytes(read_file_bytes(path, FMT))
