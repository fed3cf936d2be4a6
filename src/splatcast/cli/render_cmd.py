"""``splatcast render``: render one view of a scene to an image, optionally timing repeated renders."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from splatcast.errors import SplatcastError

HELP = "render one view of a scene (orbit view or NeRF transforms frame) to a PNG"


def add_arguments(parser) -> None:
    parser.add_argument("scene", help="scene file or folder (any format read_scene knows), or 'default' (lab bench)")
    parser.add_argument("-o", "--output",
                        help="image to write (PNG; any format Pillow writes; default: SCENE-NAME_viewK.png here)")
    parser.add_argument("--no-output", action="store_true", help="write no image (with --repeat: timing only)")
    parser.add_argument("--width", type=int, default=None, help="image width in pixels (default 800)")
    parser.add_argument("--height", type=int, default=None, help="image height in pixels (default: width)")
    parser.add_argument("--orbit", type=int, default=8, metavar="N", help="orbit of N views fitted to the scene")
    parser.add_argument("--view", type=int, default=0, metavar="K", help="which orbit view to render (0-based)")
    parser.add_argument("--elevation", type=float, default=20.0, help="orbit elevation in degrees")
    parser.add_argument("--fov", type=float, default=50.0, help="orbit field of view in degrees (shorter side)")
    parser.add_argument("--up", default="auto", help="scene up axis for the orbit: auto, +z, -y, ... or x,y,z")
    parser.add_argument("--transforms", metavar="F", help="NeRF transforms.json: render its camera instead")
    parser.add_argument("--frame", type=int, default=0, metavar="I", help="frame of --transforms to render")
    parser.add_argument("--background", default="0,0,0", metavar="R,G,B", help="background colour in [0, 1]")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="time N renders after one warm-up")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")


def parse_triple(text: str, name: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(np.isfinite(values)):
        raise SplatcastError(f"--{name} {text!r} must be three comma-separated numbers")
    return values  # type: ignore[return-value]


def parse_up(text: str):
    if text == "auto" or text.lstrip("+-").lower() in ("x", "y", "z"):
        return text
    return parse_triple(text, "up")


def load_scene(path: str):
    """A scene from a file or folder; the name 'default' (when no such file exists) is the built-in lab bench."""
    if path == "default" and not Path(path).exists():
        from splatcast.scene.default import lab_bench

        return lab_bench()
    from splatcast.scene.formats import read_scene

    return read_scene(path)


def write_image(image: np.ndarray, path: str) -> None:
    """[H, W, 3] float in [0, 1] -> 8-bit image file (format from the extension)."""
    from PIL import Image

    pixels = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    try:
        Image.fromarray(pixels).save(path)
    except (ValueError, KeyError) as exc:  # Pillow: unknown extension
        raise SplatcastError(f"cannot write image {path}: {exc}") from None


def pick_camera(args, cloud):
    from splatcast.render.camera import load_nerf_transforms, orbit_cameras

    if args.transforms:
        cams, _ = load_nerf_transforms(args.transforms, args.width, args.height if args.height else args.width)
        if not 0 <= args.frame < len(cams):
            raise SplatcastError(f"--frame {args.frame} out of range: {args.transforms} has {len(cams)} frames")
        return cams[args.frame]
    width = args.width or 800
    height = args.height or width
    if width < 1 or height < 1 or width * height > 64_000_000:
        raise SplatcastError(f"image size {width}x{height} must be between 1x1 and 64 Mpixel")
    if args.orbit < 1:
        raise SplatcastError(f"--orbit {args.orbit} must be >= 1")
    if not 0 <= args.view < args.orbit:
        raise SplatcastError(f"--view {args.view} must be in 0..{args.orbit - 1}")
    if not 0 < args.fov < 180:
        raise SplatcastError(f"--fov {args.fov} must be in (0, 180) degrees")
    cams = orbit_cameras(cloud, args.orbit, width, height, args.elevation, args.fov, up=parse_up(args.up))
    return cams[args.view]


def run(args) -> int:
    from splatcast.render.rasterize import render

    if args.repeat < 1:
        raise SplatcastError(f"--repeat {args.repeat} must be >= 1")
    background = parse_triple(args.background, "background")
    t0 = time.perf_counter()
    cloud = load_scene(args.scene)
    load_s = time.perf_counter() - t0
    camera = pick_camera(args, cloud)
    image = render(cloud, camera, background)  # warm-up (JIT cache load) and the image we write
    times = []
    if args.repeat > 1 or args.json:
        for _ in range(args.repeat):
            t = time.perf_counter()
            image = render(cloud, camera, background)
            times.append(time.perf_counter() - t)
    output = None if args.no_output else args.output  # an image command that writes nothing would look broken:
    if output is None and not args.no_output:  # without -o, NAME_viewK.png here
        output = f"{Path(str(args.scene).rstrip('/')).name.split('.')[0] or 'scene'}_view{args.view}.png"
    if output:
        write_image(image, output)
    result = {
        "scene": str(args.scene),
        "gaussians": len(cloud),
        "width": camera.width,
        "height": camera.height,
        "load_s": round(load_s, 4),
        "render_s": round(statistics.median(times), 4) if times else None,
        "repeat": len(times),
        "output": output,
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        timing = f" in {result['render_s']:.3f} s (median of {len(times)})" if times else ""
        target = f" -> {output}" if output else ""
        print(f"rendered {camera.width}x{camera.height} from {len(cloud)} Gaussians{timing}{target}", file=sys.stderr)
    return 0
