"""antimatter15 ``.splat``: a headerless array of 32-byte records (read and write).

Record: position float32 x3, *linear* scale float32 x3, colour RGBA uint8 (RGB = 0.5 + C0 * f_dc as a byte, A =
sigmoid(opacity) as a byte), rotation uint8 x4 in (w, x, y, z) order, each byte = q * 128 + 128 of the unit
quaternion. No SH beyond DC. We write Gaussians in the cloud's order (the original viewer sorts by size*opacity;
readers do not need it).
"""

from __future__ import annotations

import os

import numpy as np

from splatcast.errors import FormatError
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats.common import (
    alpha_to_logit,
    check_count,
    check_finite,
    color_to_dc,
    dc_to_color,
    logit_to_alpha,
    read_file_bytes,
    to_u8,
    unit_quats,
)

FMT = ".splat"
RECORD = np.dtype([("pos", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])
assert RECORD.itemsize == 32


def read_splat_bytes(data: bytes) -> GaussianCloud:
    if len(data) % RECORD.itemsize:
        raise FormatError(f"{FMT}: {len(data)} bytes is not a whole number of 32-byte records")
    n = check_count(FMT, "record count", len(data) // RECORD.itemsize)
    rec = np.frombuffer(data, RECORD, n)
    scale = rec["scale"].astype(np.float64)
    if n and not (scale > 0).all():
        i = int(np.argmax(~(scale > 0).all(axis=1)))
        raise FormatError(f"{FMT}: record {i} has a non-positive scale {scale[i].tolist()}")
    q = unit_quats((rec["rot"].astype(np.float64) - 128.0) / 128.0)
    rgba = rec["rgba"].astype(np.float64) / 255.0
    cloud = GaussianCloud(
        means=rec["pos"],
        scales=np.log(scale),
        quats=q,
        opacities=alpha_to_logit(rgba[:, 3]),
        sh_dc=color_to_dc(rgba[:, :3]),
        sh_rest=np.zeros((n, 0, 3), np.float32),
    )
    return check_finite(cloud, FMT)


def read_splat(path: str | os.PathLike) -> GaussianCloud:
    return read_splat_bytes(read_file_bytes(path, FMT))


def splat_bytes(cloud: GaussianCloud) -> bytes:
    """Encode ``cloud`` as .splat records (SH above degree 0 is dropped: the format has none)."""
    cloud.validate()
    rec = np.zeros(len(cloud), RECORD)
    rec["pos"] = cloud.means
    rec["scale"] = np.exp(cloud.scales.astype(np.float64))
    rec["rgba"][:, :3] = to_u8(dc_to_color(cloud.sh_dc) * 255.0)
    rec["rgba"][:, 3] = to_u8(logit_to_alpha(cloud.opacities) * 255.0)
    rec["rot"] = to_u8(cloud.normalized_quats().astype(np.float64) * 128.0 + 128.0)
    return rec.tobytes()


def write_splat(cloud: GaussianCloud, path: str | os.PathLike) -> None:
    with open(path, "wb") as f:
        f.write(splat_bytes(cloud))
