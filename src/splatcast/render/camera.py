"""Pinhole cameras: the :class:`Camera` model, orbits fitted to a scene, NeRF-synthetic ``transforms.json``.

Conventions (see docs/rendering.md):

- OpenCV camera axes: x right, y down, z forward (into the scene). ``world_to_camera`` is a [4, 4] float64 rigid
  transform taking homogeneous world points to camera coordinates.
- Pixel (row r, column c) covers [c, c + 1) x [r, r + 1) of the image plane; its centre is (c + 0.5, r + 0.5).
  A camera-space point (x, y, z) lands at u = fx * x / z + cx, v = fy * y / z + cy, so ``cx = width / 2`` puts the
  optical axis exactly in the middle of the image.
- "Up" of a scene is a world direction; orbit cameras keep it pointing up on screen (towards row 0).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcast.errors import FormatError, SceneError

AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1)}


@dataclass
class Camera:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    world_to_camera: np.ndarray  # [4, 4] float64, OpenCV axes

    def __post_init__(self) -> None:
        self.width, self.height = int(self.width), int(self.height)
        self.fx, self.fy, self.cx, self.cy = float(self.fx), float(self.fy), float(self.cx), float(self.cy)
        self.world_to_camera = np.array(self.world_to_camera, dtype=np.float64).reshape(4, 4)
        if self.width < 1 or self.height < 1:
            raise SceneError(f"camera size {self.width}x{self.height} must be at least 1x1")
        if not (self.fx > 0 and self.fy > 0):
            raise SceneError(f"camera focal lengths fx={self.fx}, fy={self.fy} must be > 0")
        if not np.isfinite(self.world_to_camera).all() or not all(map(math.isfinite, (self.cx, self.cy))):
            raise SceneError("camera has a non-finite parameter")

    # ------------------------------------------------------------------------------------------------ geometry
    @property
    def rotation(self) -> np.ndarray:
        """[3, 3] world-to-camera rotation."""
        return self.world_to_camera[:3, :3]

    @property
    def translation(self) -> np.ndarray:
        """[3] world-to-camera translation."""
        return self.world_to_camera[:3, 3]

    @property
    def center(self) -> np.ndarray:
        """[3] camera centre in world coordinates."""
        return -self.rotation.T @ self.translation

    @property
    def camera_to_world(self) -> np.ndarray:
        return np.linalg.inv(self.world_to_camera)

    @property
    def forward(self) -> np.ndarray:
        """[3] world direction the camera looks along (its +z axis)."""
        return self.rotation[2].copy()

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points [N, 3] -> (pixel coordinates [N, 2] (u, v), depth [N]) in float64."""
        p = np.asarray(points, np.float64) @ self.rotation.T + self.translation
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = np.stack([self.fx * p[:, 0] / z + self.cx, self.fy * p[:, 1] / z + self.cy], axis=1)
        return uv, z

    def resized(self, width: int, height: int) -> "Camera":
        """The same view at another resolution (intrinsics scaled per axis)."""
        sx, sy = width / self.width, height / self.height
        return Camera(width, height, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, self.world_to_camera)

    @classmethod
    def look_at(
        cls,
        eye,
        target,
        up,
        width: int,
        height: int,
        fov_deg: float = 50.0,
    ) -> "Camera":
        """A centred pinhole at ``eye`` looking at ``target``; ``up`` ([3] world) points to row 0 on screen.

        ``fov_deg`` is the field of view along the shorter image side; pixels are square.
        """
        eye, target, up = (np.asarray(v, np.float64).reshape(3) for v in (eye, target, up))
        forward = target - eye
        if np.linalg.norm(forward) == 0:
            raise SceneError("look_at: eye and target coincide")
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up)  # x = z cross (-y), with camera -y = world up
        if np.linalg.norm(right) < 1e-9:
            raise SceneError("look_at: up is parallel to the viewing direction")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rot = np.stack([right, down, forward])  # rows: camera axes in world coordinates
        w2c = np.eye(4)
        w2c[:3, :3] = rot
        w2c[:3, 3] = -rot @ eye
        f = 0.5 * min(width, height) / math.tan(math.radians(fov_deg) / 2)
        return cls(width, height, f, f, width / 2, height / 2, w2c)


# ---------------------------------------------------------------------------------------------------- up axis
def parse_up(up) -> np.ndarray:
    """'+z' / '-y' / ... or a 3-vector -> unit [3] float64."""
    if isinstance(up, str):
        key = up.strip().lower()
        key = key if key[:1] in "+-" else "+" + key
        if key not in AXES:
            raise SceneError(f"up={up!r} must be one of {', '.join(AXES)} or a 3-vector")
        return np.array(AXES[key], np.float64)
    v = np.asarray(up, np.float64).reshape(-1)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
        raise SceneError(f"up={up!r} must be a non-zero finite 3-vector")
    return v / np.linalg.norm(v)


def guess_up_axis(cloud) -> str:
    """Guess which signed world axis is "up" for a scene; returns '+z', '-y' or '+x'.

    A heuristic (docs/rendering.md): the vertical axis is the one whose robust extent stands out, either much
    shorter than the other two (a ground or table top with things on it: playbot, the built-in lab bench) or,
    failing that, much longer (a standing object: the statues); with no clear outlier it is y. The sign follows the
    conventions of where such scenes come from: y is "down" in captured / trained 3DGS scenes (COLMAP, INRIA,
    PlayCanvas), so y gives '-y'; z is "up" in generated and CAD-like scenes (Blender, the built-in lab bench).
    """
    if len(cloud) == 0:
        return "+z"
    lo, hi = cloud.robust_bounds()
    extent = np.maximum((hi - lo).astype(np.float64), 1e-12)
    flat = [a for a in range(3) if extent[a] < 0.6 * np.delete(extent, a).min()]
    tall = [a for a in range(3) if extent[a] > 1.5 * np.delete(extent, a).max()]
    axis = (flat + tall + [1])[0]  # a flat axis wins: a long bench is still a bench
    return ("+x", "-y", "+z")[axis]


# ---------------------------------------------------------------------------------------------------- orbit
def orbit_cameras(
    cloud,
    n_views: int,
    width: int,
    height: int,
    elevation_deg: float = 20.0,
    fov_deg: float = 50.0,
    up="auto",
    distance_scale: float = 1.0,
) -> list[Camera]:
    """``n_views`` cameras evenly spaced in azimuth around the cloud, all looking at the centre of its robust bounds.

    Deterministic. The distance makes the robust bounding sphere fill the shorter image side. ``up`` is a signed
    axis name ('+z', '-y', ...), a 3-vector, or ``"auto"`` (:func:`guess_up_axis`). View 0 looks along the
    direction of the first horizontal axis perpendicular to up.
    """
    if n_views < 1:
        raise SceneError(f"n_views={n_views} must be >= 1")
    up_v = parse_up(guess_up_axis(cloud) if isinstance(up, str) and up == "auto" else up)
    lo, hi = cloud.robust_bounds()
    centre = 0.5 * (lo.astype(np.float64) + hi.astype(np.float64))
    radius = max(0.5 * float(np.linalg.norm(hi.astype(np.float64) - lo)), 1e-3)
    distance = distance_scale * radius / math.sin(math.radians(fov_deg) / 2)
    # a horizontal basis (e1, e2) perpendicular to up
    helper = np.array([1.0, 0, 0]) if abs(up_v[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = helper - up_v * (helper @ up_v)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up_v, e1)
    elev = math.radians(elevation_deg)
    cams = []
    for k in range(n_views):
        az = 2 * math.pi * k / n_views
        direction = math.cos(elev) * (math.cos(az) * e1 + math.sin(az) * e2) + math.sin(elev) * up_v
        cams.append(Camera.look_at(centre + distance * direction, centre, up_v, width, height, fov_deg))
    return cams


# ---------------------------------------------------------------------------------------------------- NeRF
# Blender/OpenGL camera axes are x right, y up, z backwards; OpenCV's are x right, y down, z forward.
_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])
MAX_TRANSFORMS_BYTES = 64 << 20


DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")


def _number(obj: dict, key: str, where: str):
    value = obj.get(key)
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {key}={value!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(f"{where}: {key}={value} is not finite")
    return value


def _intrinsics(meta: dict, frame: dict, where: str, size):
    """(width, height, fx, fy, cx, cy) of one frame: the frame's own keys first, then the file's (instant-ngp /
    nerfstudio ``fl_x fl_y cx cy w h``), then NeRF-synthetic's ``camera_angle_x`` (principal point at the centre)."""
    def key(k):
        own = _number(frame, k, where)
        return own if own is not None else _number(meta, k, where)

    w, h = key("w"), key("h")
    if w is None or h is None:
        w, h = size()
    w, h = int(w), int(h)
    if not (1 <= w <= 1 << 16 and 1 <= h <= 1 << 16):
        raise FormatError(f"{where}: image size {w} x {h} is not 1..65536")
    fx, fy = key("fl_x"), key("fl_y")
    if fx is None:
        angle_x = key("camera_angle_x")
        if angle_x is None:
            raise FormatError(f"{where}: needs 'fl_x' or 'camera_angle_x' for the focal length")
        if not 0 < angle_x < math.pi:
            raise FormatError(f"{where}: camera_angle_x={angle_x} must be in (0, pi)")
        fx = 0.5 * w / math.tan(0.5 * angle_x)
    if fy is None:
        angle_y = key("camera_angle_y")
        fy = 0.5 * h / math.tan(0.5 * angle_y) if angle_y is not None else fx
    cx, cy = key("cx"), key("cy")
    if fx <= 0 or fy <= 0:
        raise FormatError(f"{where}: focal length {fx}, {fy} must be positive")
    return w, h, fx, fy, (w / 2 if cx is None else cx), (h / 2 if cy is None else cy)


def load_nerf_transforms(path, width: int | None = None, height: int | None = None,
                         notes: list | None = None) -> tuple[list[Camera], list[Path]]:
    """Read a NeRF-synthetic, instant-ngp or nerfstudio ``transforms*.json``: (cameras, image paths), frame order.

    Intrinsics per frame or for the file: ``fl_x`` / ``fl_y`` / ``cx`` / ``cy`` / ``w`` / ``h`` (pixels), else
    ``camera_angle_x`` (horizontal field of view; ``camera_angle_y`` optional) with the principal point at the
    centre. The image size is ``width``/``height`` if given, else ``w``/``h``, else read from the first image
    (Pillow), else 800 x 800. Image paths are resolved against the JSON's folder; a ``file_path`` without extension
    gets ``.png`` (NeRF-synthetic's convention). Lens distortion (``k1`` .. ``p2``) is not modelled: a note is
    appended to ``notes`` (the caller warns), as it is for everything else this reader ignores.
    """
    path = Path(path)
    if path.stat().st_size > MAX_TRANSFORMS_BYTES:
        raise FormatError(f"{path}: {path.stat().st_size} bytes, more than the {MAX_TRANSFORMS_BYTES} allowed")
    try:
        meta = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{path}: not a JSON transforms file ({exc})") from None
    if not isinstance(meta, dict):
        raise FormatError(f"{path}: top level must be an object, got {type(meta).__name__}")
    frames = meta.get("frames")
    if not isinstance(frames, list):
        raise FormatError(f"{path}: needs 'frames' (a list)")
    images, c2ws, frame_meta = [], [], []
    for i, frame in enumerate(frames):
        try:
            c2w = np.asarray(frame["transform_matrix"], np.float64)
            name = str(frame["file_path"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{path}: frames[{i}] needs 'transform_matrix' and 'file_path': {exc!r}") from None
        if c2w.shape != (4, 4) or not np.isfinite(c2w).all():
            raise FormatError(f"{path}: frames[{i}].transform_matrix has shape {c2w.shape}, expected finite (4, 4)")
        image = (path.parent / name).resolve()
        if not image.suffix:
            image = image.with_suffix(".png")
        images.append(image)
        c2ws.append(c2w)
        frame_meta.append(frame)
    distorted = [k for k in DISTORTION_KEYS if any(_number(o, k, str(path)) for o in [meta] + frame_meta)]
    if distorted and notes is not None:
        notes.append(f"{path.name}: lens distortion ({', '.join(distorted)}) is not modelled; the images are used as "
                     "they are (undistort them first, e.g. with COLMAP's image_undistorter, for a sharper model)")
    cams = []

    @functools.cache
    def size():  # of frames that do not say: the caller's, else the first image's, else NeRF-synthetic's 800
        if width is not None and height is not None:
            return width, height
        existing = next((im for im in images if im.exists()), None)
        return _image_size(existing) if existing else (800, 800)

    if not any(k in o for o in [meta] + frame_meta for k in ("fl_x", "camera_angle_x")):
        raise FormatError(f"{path}: needs 'fl_x' (pixels) or 'camera_angle_x' (radians) for the focal length")

    for i, (c2w, frame) in enumerate(zip(c2ws, frame_meta)):
        w, h, fx, fy, cx, cy = _intrinsics(meta, frame, f"{path}: frames[{i}]", size)
        if width is not None and height is not None and (width, height) != (w, h):
            sx, sy = width / w, height / h
            w, h, fx, fy, cx, cy = width, height, fx * sx, fy * sy, cx * sx, cy * sy
        c2w_cv = c2w @ _GL_TO_CV
        # the files store rotations in float32, not quite orthonormal: snap to the nearest rotation (SVD)
        u, sv, vt = np.linalg.svd(c2w_cv[:3, :3])
        rot = u @ vt
        if not (sv.min() > 1e-3 and np.linalg.det(rot) > 0):
            raise FormatError(f"{path}: frames[{i}].transform_matrix is not a rotation (singular values {sv})")
        w2c = np.eye(4)
        w2c[:3, :3] = rot.T
        w2c[:3, 3] = -rot.T @ c2w_cv[:3, 3]
        cams.append(Camera(w, h, fx, fy, cx, cy, w2c))
    return cams, images


def _image_size(image: Path) -> tuple[int, int]:
    try:
        from PIL import Image

        with Image.open(image) as im:
            return im.size
    except OSError:
        return 800, 800
