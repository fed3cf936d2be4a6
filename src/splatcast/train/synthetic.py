"""Training views made by rendering a known scene: ground truth for the built-in demo, where no photos exist.

Two orbit rings (low and high elevation) around the scene, rendered with the fast rasterizer on a background; every
``test_every``-th view is held out, as for a single-split NeRF-synthetic dataset.
"""

from __future__ import annotations

from splatcast.render.camera import orbit_cameras
from splatcast.render.rasterize import render
from splatcast.scene.cloud import GaussianCloud
from splatcast.train.dataset import TEST_EVERY, Dataset, View, cameras_extent, parse_background


def dataset_from_scene(
    cloud: GaussianCloud,
    n_views: int = 48,
    resolution: int = 128,
    background="white",
    elevations_deg: tuple[float, ...] = (15.0, 45.0),
    test_every: int = TEST_EVERY,
    up="auto",
    distance_scale: float = 0.75,
) -> Dataset:
    """Render ``n_views`` views of ``cloud`` (split across the elevation rings) at ``resolution`` x ``resolution``."""
    if n_views < 2:
        raise ValueError(f"n_views={n_views} should be >= 2 (at least one train and one test view)")
    bg = parse_background(background)
    cameras = []
    per_ring = [n_views // len(elevations_deg)] * len(elevations_deg)
    per_ring[0] += n_views - sum(per_ring)
    for elevation, count in zip(elevations_deg, per_ring):
        cameras += orbit_cameras(cloud, count, resolution, resolution, elevation_deg=elevation, up=up,
                                 distance_scale=distance_scale)
    views = [View(cam, render(cloud, cam, bg), f"view_{i:03d}", isolated=True) for i, cam in enumerate(cameras)]
    test = [v for i, v in enumerate(views) if i % test_every == 0]
    train = [v for i, v in enumerate(views) if i % test_every != 0]
    return Dataset(train, test, bg, cameras_extent(cameras), "rendered scene", f"every {test_every}th view held out")
