"""Helpers of the trainer tests: tiny seeded scenes and cameras looking at them (imported as a module)."""

from __future__ import annotations

import numpy as np

from splatcast.render.camera import Camera


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """World->camera matrix of an OpenCV camera at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(v, np.float64) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, :3] = np.stack([x, y, z])
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def make_camera(width=40, height=28, eye=(0.3, -4.0, 1.0), fov_scale=1.2) -> Camera:
    """A camera with its principal point off-centre (a convention bug in cx / cy cannot hide)."""
    f = fov_scale * width
    return Camera(width, height, f, f, width / 2 + 0.7, height / 2 - 0.3, look_at(eye, (0, 0, 0)))


def tiny_scene(n: int, seed: int = 0, sh_degree: int = 3) -> dict[str, np.ndarray]:
    """Random float64 parameters (a GaussianCloud's names and shapes) of n Gaussians around the origin, opacities
    well inside (1/255, 0.99)."""
    rng = np.random.default_rng(seed)
    return dict(
        means=rng.uniform(-0.6, 0.6, (n, 3)),
        scales=np.log(rng.uniform(0.08, 0.3, (n, 3))),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.uniform(-1.5, 1.5, n),
        sh_dc=rng.normal(0, 0.4, (n, 3)),
        sh_rest=rng.normal(0, 0.4, (n, (sh_degree + 1) ** 2 - 1, 3)),
    )


def small_scene_cloud(seed: int = 0, n: int = 150):
    """A compact, fairly opaque cloud around the origin to render ground-truth views from."""
    from splatcast.scene.cloud import GaussianCloud

    rng = np.random.default_rng(seed)
    return GaussianCloud(
        means=rng.uniform(-0.5, 0.5, (n, 3)),
        scales=np.log(rng.uniform(0.05, 0.15, (n, 3))),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.uniform(0.5, 3.0, n),
        sh_dc=rng.normal(0, 1.0, (n, 3)),
        sh_rest=np.zeros((n, 0, 3)),
    )


def orbit(n_views: int, size: int, radius: float = 3.0):
    """Cameras on a ring (z up) looking at the origin: OpenCV Camera objects."""
    cams = []
    for k in range(n_views):
        az = 2 * np.pi * k / n_views
        eye = radius * np.array([np.cos(az), np.sin(az), 0.45])
        cams.append(Camera.look_at(eye, (0, 0, 0), (0, 0, 1), size, size, fov_deg=45.0))
    return cams


def write_nerf_dataset(folder, cloud, n_views: int = 10, size: int = 48, background=(1.0, 1.0, 1.0)):
    """Render ``cloud`` into RGBA PNGs + transforms_train.json (Blender/OpenGL camera convention)."""
    import json
    from pathlib import Path

    from PIL import Image

    from splatcast.render.rasterize import render

    folder = Path(folder)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    frames = []
    cams = orbit(n_views, size)
    for i, cam in enumerate(cams):
        rgb = render(cloud, cam, background)
        rgba = np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,), np.float32)], axis=2)
        rgba[:4, :4] = [0.2, 0.9, 0.1, 0.0]  # transparent corner with a colour that must not show
        Image.fromarray(np.round(rgba * 255).astype(np.uint8), "RGBA").save(folder / "train" / f"r_{i}.png")
        c2w_gl = np.linalg.inv(cam.world_to_camera) @ np.diag([1.0, -1.0, -1.0, 1.0])
        frames.append({"file_path": f"./train/r_{i}", "transform_matrix": c2w_gl.tolist()})
    angle_x = 2 * np.arctan(0.5 * size / cams[0].fx)
    (folder / "transforms_train.json").write_text(json.dumps({"camera_angle_x": angle_x, "frames": frames}))
    return cams
