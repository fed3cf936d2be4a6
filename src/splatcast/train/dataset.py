"""Training views: NeRF-synthetic ``transforms_*.json`` scenes with RGBA images composited on a background.

A dataset folder holds ``transforms_train.json`` (and optionally ``transforms_test.json``; ``transforms_val.json``
is ignored), or a single ``transforms.json`` (instant-ngp / nerfstudio layout, per-frame or shared intrinsics), or
a COLMAP model (``sparse/0``, train/colmap.py; its points start the training), or the path of one transforms file
is given. Frames whose image is missing are skipped and counted (a capture often lists frames that were deleted);
what the reader cannot model (lens distortion) is reported in ``notes``. With a single split, every 8th view
(index 0, 8, 16, ...) is held out for testing, as the reference trainer's ``llffhold`` does. Images are composited
at full resolution, ``rgb * a + background * (1 - a)``, then box-filtered down to the requested resolution (the
longer side, in pixels). Cameras come from :func:`splatcast.render.camera.load_nerf_transforms` (OpenCV convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from splatcast.errors import FormatError
from splatcast.render.camera import Camera, load_nerf_transforms

TEST_EVERY = 8
MAX_SIDE = 8192  # refuse absurd image sizes before decoding (PIL's own bomb check is a warning only)

BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}


@dataclass
class View:
    camera: Camera
    image: np.ndarray  # [H, W, 3] float32 in [0, 1], composited on the dataset's background
    name: str
    # the object alone on a known background (a photo with transparent pixels, or a render): nothing behind it to
    # model, so training may start from the reference's random cube (trainer.choose_init)
    isolated: bool = False


@dataclass
class Dataset:
    train: list[View]
    test: list[View]
    background: tuple[float, float, float]
    extent: float  # the reference's "cameras extent": 1.1 x the largest camera distance from their mean
    source: str = ""
    split_rule: str = field(default="")
    skipped: list[str] = field(default_factory=list)  # frames listed whose image file is missing
    points: np.ndarray | None = None  # [P, 3] sparse points (COLMAP) to start training from, else None
    point_colors: np.ndarray | None = None  # [P, 3] their colours in [0, 1]
    notes: list[str] = field(default_factory=list)  # what the reader ignored (lens distortion), for the caller to warn


def parse_background(name_or_rgb) -> tuple[float, float, float]:
    if isinstance(name_or_rgb, str):
        if name_or_rgb not in BACKGROUNDS:
            raise FormatError(f"background={name_or_rgb!r} must be one of {', '.join(BACKGROUNDS)}")
        return BACKGROUNDS[name_or_rgb]
    rgb = tuple(float(c) for c in name_or_rgb)
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise FormatError(f"background={name_or_rgb!r} must be 3 numbers in [0, 1]")
    return rgb  # type: ignore[return-value]


def load_image(path: Path, background, width: int, height: int) -> tuple[np.ndarray, bool]:
    """RGB(A) file -> ([height, width, 3] float32 composited on ``background`` and box-filtered to the size, whether
    the file has transparent pixels)."""
    try:
        with Image.open(path) as im:
            if max(im.size) > MAX_SIDE:
                raise FormatError(f"{path}: image size {im.size} exceeds {MAX_SIDE} px")
            rgba = np.asarray(im.convert("RGBA"), np.float32) / 255.0
    except FileNotFoundError:
        raise FormatError(f"{path}: image file not found") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot decode image ({exc})") from None
    transparent = bool((rgba[..., 3] < 1.0).any())
    rgb = rgba[..., :3] * rgba[..., 3:] + np.asarray(background, np.float32) * (1.0 - rgba[..., 3:])
    if rgb.shape[:2] != (height, width):
        rgb = np.stack(
            [np.asarray(Image.fromarray(rgb[..., c], "F").resize((width, height), Image.BOX)) for c in range(3)],
            axis=-1,
        )
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), transparent


def _target_size(cameras: list[Camera], resolution: int | None) -> tuple[int, int]:
    w, h = cameras[0].width, cameras[0].height
    if resolution is None:
        return w, h
    if resolution < 1:
        raise FormatError(f"resolution={resolution} must be >= 1")
    scale = resolution / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _load_split(json_path: Path, resolution: int | None, background, skipped: list, notes: list) -> list[View]:
    cameras, images = load_nerf_transforms(json_path, notes=notes)
    return _load_views(cameras, images, resolution, background, skipped)


def _load_views(cameras, images, resolution: int | None, background, skipped: list) -> list[View]:
    present = [(c, p) for c, p in zip(cameras, images) if p.is_file()]
    skipped += [str(p) for p in images if not p.is_file()]
    if not present:
        return []
    width, height = _target_size([c for c, _ in present], resolution)
    views = []
    for cam, img_path in present:
        if resolution is None:
            width, height = cam.width, cam.height
        cam = cam.resized(width, height) if (width, height) != (cam.width, cam.height) else cam
        image, transparent = load_image(img_path, background, width, height)
        views.append(View(cam, image, img_path.stem, isolated=transparent))
    return views


def cameras_extent(cameras: list[Camera]) -> float:
    """1.1 x the largest distance of a camera centre from the centres' mean (reference ``getNerfppNorm``)."""
    centres = np.stack([c.center for c in cameras])
    return float(1.1 * np.linalg.norm(centres - centres.mean(axis=0), axis=1).max())


def load_nerf_synthetic(
    path, resolution: int | None = None, background="white", test_every: int = TEST_EVERY
) -> Dataset:
    """Load a NeRF-synthetic scene (folder or transforms JSON) at ``resolution`` (longer side) on ``background``."""
    path = Path(path)
    bg = parse_background(background)
    if path.is_dir():
        train_json = path / "transforms_train.json"
        test_json = path / "transforms_test.json"
        if not train_json.exists():
            train_json, test_json = path / "transforms.json", path / "__none__"
        if not train_json.exists():
            from splatcast.train.colmap import sparse_dir

            if sparse_dir(path) is None:
                raise FormatError(f"{path}: no transforms_train.json or transforms.json (NeRF-synthetic, instant-ngp "
                                  "or nerfstudio layout) and no COLMAP model (sparse/0)")
            return _load_colmap(path, resolution, bg, test_every)
    elif path.is_file():
        train_json, test_json = path, path.parent / "__none__"
    else:
        raise FormatError(f"{path}: no such dataset folder or transforms file")
    skipped, notes = [], []
    train = _load_split(train_json, resolution, bg, skipped, notes)
    if not train:
        raise FormatError(f"{train_json}: no frames with an image ({len(skipped)} listed images are missing)")
    if test_json.exists():
        test = _load_split(test_json, resolution, bg, skipped, notes)
        rule = "transforms_test.json"
    else:
        train, test, rule = _split(train, test_every)
    return _dataset(path, train, test, rule, bg, skipped, notes)


def _dataset(path: Path, train, test, rule: str, bg, skipped: list, notes: list, points=None, colors=None) -> Dataset:
    """The views as a Dataset, with a note on the frames skipped; refuses a split that left no training view."""
    if not train:
        raise FormatError(f"{path}: no training views left after the split ({rule})")
    if skipped:
        notes.append(f"{len(skipped)} listed frames have no image file and were skipped (first: {skipped[0]})")
    has_points = points is not None and len(points) > 0
    return Dataset(train, test, bg, cameras_extent([v.camera for v in train + test]), str(path), rule,
                   skipped=skipped, notes=notes, points=points if has_points else None,
                   point_colors=colors if has_points else None)


def _split(views: list[View], test_every: int) -> tuple[list[View], list[View], str]:
    if test_every <= 0:
        return views, [], "no test views"
    test = [v for i, v in enumerate(views) if i % test_every == 0]
    train = [v for i, v in enumerate(views) if i % test_every != 0]
    return train, test, f"every {test_every}th view held out"


def _load_colmap(path: Path, resolution: int | None, bg, test_every: int) -> Dataset:
    from splatcast.train.colmap import load_colmap_model

    skipped, notes = [], []
    cameras, images, points, colors = load_colmap_model(path, notes)
    views = _load_views(cameras, images, resolution, bg, skipped)
    if not views:
        raise FormatError(f"{path}: no registered image with a file ({len(skipped)} listed images are missing)")
    train, test, rule = _split(views, test_every)
    return _dataset(path, train, test, rule, bg, skipped, notes, points, colors)
