"""Shared guards and conversions for the scene-file readers.

Owns: the hard limits every reader checks *before* allocating (claimed Gaussian counts, decompressed sizes, image
pixels), bounded file reads, and the small value conversions several formats share (alpha byte ->
opacity logit, colour byte -> SH DC, the RUB <-> RDF axis flip). Everything here raises
:class:`splatcast.errors.FormatError` with the format, the field and what was expected versus found.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from splatcast.errors import FormatError
from splatcast.scene.cloud import SH_C0, GaussianCloud

# Hard limits for untrusted input, checked before any allocation that depends on a claimed size.
MAX_GAUSSIANS = 1 << 26  # 67M Gaussians, ~16 GB as float32 PLY: far above any real scene
MAX_FILE_BYTES = 8 << 30  # a scene file we are willing to read into memory
MAX_ZIP_MEMBER_BYTES = 256 << 20  # one decompressed member of a bundled .sog (a 67M-Gaussian image fits)
MAX_ZIP_TOTAL_BYTES = 1 << 30  # all members of a bundled .sog together
MAX_ZIP_RATIO = 1100  # inflated / stored bytes of a member: deflate cannot exceed ~1032, bzip2/lzma bombs can
# Expansion bounds: what a compressed input may claim per byte it actually supplies. Real files are ~1000x
# below them (SPZ ~10-20 bytes per Gaussian; lossless WebP of scene data ~1-3 bytes per pixel); only crafted or
# degenerate inputs (millions of identical Gaussians, uniform images) reach them.
MAX_GAUSSIANS_PER_BYTE = 32
MAX_PIXELS_PER_BYTE = 1024
MAX_ZIP_MEMBERS = 64
MAX_JSON_BYTES = 64 << 20  # meta.json with its codebooks is a few kB; 64 MB is generous
MAX_EXTENSION_BYTES = 1 << 20  # SPZ extension records



@dataclasses.dataclass(frozen=True)
class ReaderLimits:
    """The limits above as one value a caller can change for files it trusts (:func:`reader_limits`,
    ``read_scene(..., limits=...)``); the defaults are the constants."""

    max_gaussians: int = MAX_GAUSSIANS
    max_file_bytes: int = MAX_FILE_BYTES
    max_zip_member_bytes: int = MAX_ZIP_MEMBER_BYTES
    max_zip_total_bytes: int = MAX_ZIP_TOTAL_BYTES
    max_zip_ratio: int = MAX_ZIP_RATIO
    max_gaussians_per_byte: int = MAX_GAUSSIANS_PER_BYTE
    max_pixels_per_byte: int = MAX_PIXELS_PER_BYTE
    max_zip_members: int = MAX_ZIP_MEMBERS
    max_json_bytes: int = MAX_JSON_BYTES


_LIMITS: contextvars.ContextVar[ReaderLimits] = contextvars.ContextVar("splatcast_reader_limits",
                                                                      default=ReaderLimits())


def limits() -> ReaderLimits:
    """The limits in force for this thread / task (the defaults unless a caller chose others)."""
    return _LIMITS.get()


@contextmanager
def reader_limits(chosen: ReaderLimits | None = None, **changes):
    """Read with other limits inside the block: ``with reader_limits(max_gaussians_per_byte=200): read_scene(p)``
    for a trusted degenerate file (millions of identical Gaussians). Untrusted input should keep the defaults."""
    token = _LIMITS.set(dataclasses.replace(chosen or limits(), **changes))
    try:
        yield _LIMITS.get()
    finally:
        _LIMITS.reset(token)


# Opacities stored as 8-bit alpha would give +-inf logits at 0 and 255; clamp like the reference tools do.
ALPHA_EPS = 1e-6


def check_count(fmt: str, field: str, count: int, limit: int | None = None) -> int:
    """Reject negative or absurd claimed counts before anything is allocated for them (limit: max_gaussians)."""
    limit = limits().max_gaussians if limit is None else limit
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool):
        raise FormatError(f"{fmt}: {field} must be an integer, got {count!r}")
    count = int(count)
    if count < 0 or count > limit:
        raise FormatError(f"{fmt}: {field}={count} is outside 0..{limit}")
    return count


def check_expansion(fmt: str, field: str, claimed: int, supplied_bytes: int, per_byte: int) -> None:
    """A compressed input may not claim more than `per_byte` items per byte it supplies (decompression bombs)."""
    allowed = per_byte * supplied_bytes + 4096
    if claimed > allowed:
        raise FormatError(
            f"{fmt}: {field}={claimed} from {supplied_bytes} bytes exceeds {per_byte} per byte supplied "
            "(a decompression bomb, or a degenerate file)"
        )


def check_available(fmt: str, field: str, needed: int, available: int, offset: int = 0) -> None:
    """Compare the bytes a claimed count needs with the bytes that remain."""
    if needed > available:
        raise FormatError(
            f"{fmt}: truncated {field} at offset {offset}: needs {needed} bytes, only {available} remain"
        )


def read_file_bytes(path: str | os.PathLike, fmt: str, limit: int | None = None) -> bytes:
    """Read a whole file, refusing files above ``limit`` (max_file_bytes) before reading them."""
    limit = limits().max_file_bytes if limit is None else limit
    size = os.path.getsize(path)
    if size > limit:
        raise FormatError(f"{fmt}: {path} is {size} bytes, above the {limit}-byte limit")
    return Path(path).read_bytes()


def alpha_to_logit(alpha: np.ndarray) -> np.ndarray:
    """Opacity in [0, 1] (any shape, float) -> float32 logit, clamped off the asymptotes."""
    a = np.clip(np.asarray(alpha, np.float64), ALPHA_EPS, 1.0 - ALPHA_EPS)
    return np.log(a / (1.0 - a)).astype(np.float32)


def logit_to_alpha(opacity: np.ndarray) -> np.ndarray:
    """float logit -> opacity in (0, 1), float64, without overflow warnings."""
    o = np.asarray(opacity, np.float64)
    return np.exp(-np.logaddexp(0.0, -o))


def color_to_dc(color: np.ndarray) -> np.ndarray:
    """Linear colour in [0, 1] -> degree-0 SH coefficient (INRIA convention)."""
    return ((np.asarray(color, np.float64) - 0.5) / SH_C0).astype(np.float32)


def dc_to_color(sh_dc: np.ndarray) -> np.ndarray:
    """Degree-0 SH coefficient -> linear colour (unclamped), float64."""
    return 0.5 + SH_C0 * np.asarray(sh_dc, np.float64)


def place_smallest_three(abc: np.ndarray, largest: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Rebuild [N, 4] quaternions from the three stored components ``abc`` [N, 3] (slot order, the largest left
    out) and the index of the largest ``largest`` [N]; the largest is sqrt(1 - |abc|^2), non-negative."""
    abc = abc.astype(np.float64)
    big = np.sqrt(np.maximum(0.0, 1.0 - (abc * abc).sum(axis=1)))
    out = np.empty((len(abc), 4), dtype)
    for slot in range(4):
        # slots after the largest read one stored component earlier
        src = np.minimum(slot - (largest < slot), 2)
        out[:, slot] = np.where(largest == slot, big, np.take_along_axis(abc, src[:, None], axis=1)[:, 0])
    return out


def unit_quats(q: np.ndarray) -> np.ndarray:
    """[N, 4] quaternions scaled to unit length (readers return unit quaternions); a zero one becomes the identity."""
    q = np.asarray(q, np.float64)
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    return np.where(norm > 0, q / np.maximum(norm, 1e-12), np.array([1.0, 0.0, 0.0, 0.0]))


def to_u8(x: np.ndarray) -> np.ndarray:
    """Round and clamp to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# Which of x, y, z each SH basis function (degree 1..3, 3DGS order) is odd in: negating a set of coordinates flips
# the sign of the functions odd in an odd number of them
_SH_ODD_IN = np.array(
    [[0, 1, 0], [0, 0, 1], [1, 0, 0]]  # degree 1: y, z, x
    + [[1, 1, 0], [0, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 0]]  # degree 2: xy, yz, 3z^2-1, xz, x^2-y^2
    + [[0, 1, 0], [1, 1, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 0]],  # degree 3
)


def flip_axes(cloud: GaussianCloud, signs) -> GaussianCloud:
    """The cloud under the axis sign flips M = diag(signs), each +-1 (a half turn when two are -1, a mirror when one
    or three are). Returns a new cloud; its own inverse.

    Positions become M p. A Gaussian's covariance R S R^T becomes M R S R^T M = (M R M) S (M R M)^T (M commutes
    with the diagonal S), and M R M is a rotation whose quaternion has vector part det(M) M v. Colour in a
    direction d of the new frame is the old colour at M d, so each SH basis function changes sign by its parity in
    the flipped coordinates."""
    s = np.asarray(signs, np.float64)
    if s.shape != (3,) or not np.all(np.abs(s) == 1):
        raise ValueError(f"signs must be three of +-1, got {signs!r}")
    out = cloud.copy()
    out.means *= s
    out.quats[:, 1:] *= s * np.prod(s)
    k = out.sh_rest.shape[1]
    out.sh_rest *= np.prod(np.where(_SH_ODD_IN == 1, s, 1.0), axis=1).astype(np.float32)[:k, None]
    return out


def half_turn(cloud: GaussianCloud, axis: str) -> GaussianCloud:
    """Rotate a cloud 180 degrees about the x, y or z axis (two of the three coordinates negated); its own inverse.

    About x: RUB (OpenGL, SPZ's default frame) <-> RDF (OpenCV, the INRIA PLY frame); about z: the PLY frame <->
    glTF's +Y up (what splat-transform does)."""
    signs = [-1.0, -1.0, -1.0]
    signs["xyz".index(axis)] = 1.0
    return flip_axes(cloud, signs)


def morton_sorted(cloud: GaussianCloud) -> GaussianCloud:
    """The cloud in Morton order of its positions on a 1024^3 grid over its bounds: what the writers of chunked and
    image formats store, so that neighbours in the file are neighbours in space (tighter chunks, smaller images)."""
    from splatcast.codec.layers import morton_order

    if not len(cloud):
        return cloud
    lo, hi = cloud.means.min(axis=0), cloud.means.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    grid = np.clip(np.rint((cloud.means - lo) / span * 1023), 0, 1023).astype(np.int32)
    return cloud[morton_order(grid)]


def check_finite(cloud: GaussianCloud, fmt: str) -> GaussianCloud:
    """A decoded scene with NaN or inf values is a corrupt file, not a scene; except an opacity logit of +-inf,
    which is what tools write for an alpha of exactly 1 or 0 (splat-transform 3.x does): it becomes the logit of the
    same clamped alpha every reader here uses (ALPHA_EPS), a difference no renderer shows."""
    if cloud.opacities.size and np.isinf(cloud.opacities).any():
        limit = float(alpha_to_logit(np.array([1.0]))[0])
        cloud.opacities = np.clip(cloud.opacities, -limit, limit).astype(np.float32)  # a new array: inputs may be views
    for name, arr in cloud.arrays().items():
        if arr.size and not np.isfinite(arr).all():
            bad = int(np.argwhere(~np.isfinite(arr.reshape(len(cloud), -1)))[0, 0])
            raise FormatError(f"{fmt}: field {name} has a non-finite value at Gaussian {bad}")
    return cloud
