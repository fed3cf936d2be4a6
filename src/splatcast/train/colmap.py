"""Posed photos from a COLMAP model (``sparse/0`` in text or binary form), read with PyPI ``pycolmap``.

A capture folder holds ``images/`` and ``sparse/0/`` (or ``sparse/``) with ``cameras``, ``images`` and
``points3D`` as ``.txt`` or ``.bin``; the sparse points become the trainer's initial Gaussians (the reference
3DGS does the same), so the model starts inside what the cameras saw. COLMAP's camera frame is OpenCV's (x right,
y down, z forward) and ``cam_from_world`` is world-to-camera: our :class:`Camera` convention, no axis change.
Pinhole models are used as they are; a model with distortion parameters is used with its pinhole part and a note
(undistort first with ``colmap image_undistorter`` for a sharper model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splatcast.errors import FormatError
from splatcast.render.camera import Camera

PINHOLE_MODELS = ("SIMPLE_PINHOLE", "PINHOLE")
MAX_POINTS = 2_000_000  # initial Gaussians from the sparse model, at most


def sparse_dir(folder: Path) -> Path | None:
    """The model folder of a capture: sparse/0, sparse, or the folder itself; None when it has none."""
    for d in (folder / "sparse" / "0", folder / "sparse", folder):
        if any((d / f"cameras.{ext}").is_file() for ext in ("txt", "bin")):
            return d
    return None


def load_colmap_model(folder: Path, notes: list) -> tuple[list[Camera], list[Path], np.ndarray, np.ndarray]:
    """(cameras, image paths, points [P, 3] float64, colours [P, 3] in [0, 1]) of a capture, images sorted by name."""
    import pycolmap

    model = sparse_dir(folder)
    if model is None:
        raise FormatError(f"{folder}: no COLMAP model (sparse/0/cameras.txt or .bin)")
    try:
        rec = pycolmap.Reconstruction(str(model))
    except (RuntimeError, ValueError) as exc:
        raise FormatError(f"{model}: not a readable COLMAP model ({exc})") from None
    image_dir = folder / "images" if (folder / "images").is_dir() else folder
    cams, paths, distorted = [], [], set()
    for image in sorted(rec.images.values(), key=lambda im: im.name):
        if not image.has_pose:
            continue
        cam = rec.cameras[image.camera_id]
        if cam.model_name not in PINHOLE_MODELS:
            distorted.add(cam.model_name)
        w2c = np.eye(4)
        w2c[:3, :] = np.asarray(image.cam_from_world().matrix(), np.float64)
        cams.append(Camera(int(cam.width), int(cam.height), float(cam.focal_length_x), float(cam.focal_length_y),
                           float(cam.principal_point_x), float(cam.principal_point_y), w2c))
        paths.append((image_dir / image.name).resolve())
    if distorted:
        notes.append(f"{model}: camera models {', '.join(sorted(distorted))} have lens distortion, which is not "
                     "modelled (run `colmap image_undistorter` first for a sharper model)")
    points = [p for _, p in sorted(rec.points3D.items())][:MAX_POINTS]  # by id: deterministic
    xyz = np.array([p.xyz for p in points], np.float64).reshape(-1, 3)
    rgb = np.array([p.color for p in points], np.float64).reshape(-1, 3) / 255.0
    return cams, paths, xyz, rgb
