"""INRIA 3DGS PLY: read and write exactly as the reference trainer (graphdeco-inria/gaussian-splatting) writes it.

Layout: ``binary_little_endian``, one ``vertex`` element of float32 properties, in this order:
``x y z nx ny nz f_dc_0..2 f_rest_0..(3K-1) opacity scale_0..2 rot_0..3``. ``f_rest`` is channel-major (all K
coefficients of R, then G, then B) while :attr:`GaussianCloud.sh_rest` is ``[N, K, 3]``; scales are log, opacity is
a logit and ``rot`` is (w, x, y, z). Normals are written as zeros and ignored on read.

Reading is lenient about what others write: extra properties are ignored, normals may be missing, any numeric
property type is cast to float32, and ascii / big-endian bodies are accepted. plyfile parses the body after
:mod:`ply_header` has checked every claimed count against the file size.
"""

from __future__ import annotations

import os

import numpy as np
import plyfile

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import check_finite
from splatcast.scene.formats.ply_header import PlyHeaderInfo, read_ply_header

FMT = "PLY"
_REST_COUNTS = {0: 0, 9: 1, 24: 2, 45: 3}  # number of f_rest_* properties -> SH degree


def property_names(sh_degree: int) -> list[str]:
    """The reference trainer's vertex property order for SH degree ``sh_degree``."""
    k = (sh_degree + 1) ** 2 - 1
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(3 * k)]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def load_ply_elements(path: str | os.PathLike, header: PlyHeaderInfo, fmt: str = FMT) -> dict[str, np.ndarray]:
    """Parse the body with plyfile; return each element's structured array (binary bodies stay memory-mapped)."""
    try:
        data = plyfile.PlyData.read(os.fspath(path), mmap="c" if header.format != "ascii" else False)
        out = {el.name: el.data for el in data.elements}
    except plyfile.PlyParseError as exc:
        raise FormatError(f"{fmt}: {path}: {exc}") from None
    except (ValueError, UnicodeDecodeError, OverflowError, TypeError) as exc:
        raise FormatError(f"{fmt}: {path}: unreadable body: {exc}") from None
    for el in header.elements:
        if el.name not in out or len(out[el.name]) != el.count:
            raise FormatError(f"{fmt}: {path}: element {el.name!r} did not parse to {el.count} rows")
    return out


def _field_block(vertex: np.ndarray, names: list[str]) -> np.ndarray:
    """[N, len(names)] float32 of the named fields: a strided view when they are adjacent float32 columns."""
    fields = vertex.dtype.names
    if all(vertex.dtype[n] == np.dtype("<f4") for n in fields):
        flat = vertex.view(np.float32).reshape(len(vertex), len(fields))
        idx = [fields.index(n) for n in names]
        if idx == list(range(idx[0], idx[0] + len(idx))):
            return flat[:, idx[0] : idx[0] + len(idx)]  # no copy; GaussianCloud makes the one copy
        return flat[:, idx]
    out = np.empty((len(vertex), len(names)), np.float32)
    for j, n in enumerate(names):
        out[:, j] = vertex[n]
    return out


def cloud_from_vertex(vertex: np.ndarray, fmt: str = FMT) -> GaussianCloud:
    """Build a cloud from a structured ``vertex`` array with INRIA property names."""
    names = set(vertex.dtype.names or ())
    groups = {
        "means": ["x", "y", "z"],
        "sh_dc": ["f_dc_0", "f_dc_1", "f_dc_2"],
        "opacities": ["opacity"],
        "scales": ["scale_0", "scale_1", "scale_2"],
        "quats": ["rot_0", "rot_1", "rot_2", "rot_3"],
    }
    missing = [n for group in groups.values() for n in group if n not in names]
    if missing:
        raise FormatError(f"{fmt}: vertex element lacks 3DGS properties {missing}")
    n_rest = sum(1 for n in names if n.startswith("f_rest_"))
    if n_rest not in _REST_COUNTS:
        raise FormatError(f"{fmt}: {n_rest} f_rest_* properties; expected 0, 9, 24 or 45")
    rest_names = [f"f_rest_{i}" for i in range(n_rest)]
    if not set(rest_names) <= names:
        raise FormatError(f"{fmt}: f_rest_* properties are not numbered 0..{n_rest - 1}")
    n, k = len(vertex), n_rest // 3
    arrays = {key: _field_block(vertex, group) for key, group in groups.items()}
    arrays["opacities"] = arrays["opacities"][:, 0]
    # channel-major on disk: [N, 3, K] -> [N, K, 3]
    rest = _field_block(vertex, rest_names) if k else np.zeros((n, 0), np.float32)
    arrays["sh_rest"] = rest.reshape(n, 3, k).transpose(0, 2, 1)
    return check_finite(GaussianCloud(**arrays), fmt)


def read_ply(path: str | os.PathLike) -> GaussianCloud:
    """Read an INRIA-style 3DGS PLY (binary or ascii)."""
    header = read_ply_header(path, FMT)
    if header.element("vertex") is None:
        raise FormatError(f"{FMT}: {path}: no 'vertex' element")
    elements = load_ply_elements(path, header, FMT)
    return cloud_from_vertex(elements["vertex"], FMT)


def vertex_array(cloud: GaussianCloud) -> np.ndarray:
    """The reference trainer's structured vertex array for ``cloud``."""
    n, k = len(cloud), cloud.sh_rest.shape[1]
    names = property_names(cloud.sh_degree)
    cols = np.empty((n, len(names)), np.float32)
    cols[:, 0:3] = cloud.means
    cols[:, 3:6] = 0.0  # normals: the trainer writes zeros
    cols[:, 6:9] = cloud.sh_dc
    cols[:, 9 : 9 + 3 * k] = cloud.sh_rest.transpose(0, 2, 1).reshape(n, 3 * k)
    o = 9 + 3 * k
    cols[:, o] = cloud.opacities
    cols[:, o + 1 : o + 4] = cloud.scales
    cols[:, o + 4 : o + 8] = cloud.quats
    dtype = np.dtype([(name, "<f4") for name in names])
    return np.ascontiguousarray(cols).view(dtype).reshape(n)


def write_ply(cloud: GaussianCloud, path: str | os.PathLike) -> None:
    """Write ``cloud`` as binary little-endian INRIA PLY (bit-exact round trip with :func:`read_ply`)."""
    cloud.validate()  # non-finite values would make a file our own reader rejects
    element = plyfile.PlyElement.describe(vertex_array(cloud), "vertex")
    plyfile.PlyData([element], text=False, byte_order="<").write(os.fspath(path))
