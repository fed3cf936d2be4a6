"""Seeded random scenes and cameras for the renderer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splatcast.render.camera import Camera
from splatcast.scene.cloud import GaussianCloud

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def random_cloud(n: int, sh_degree: int, rng, spread=1.0, log_scale=(-2.0, 0.7), centre=(0, 0, 0)) -> GaussianCloud:
    """``n`` Gaussians around ``centre``: anisotropic, rotated, opacities across the whole logit range."""
    cloud = GaussianCloud.zeros(n, sh_degree)
    cloud.means[:] = np.asarray(centre) + rng.normal(0, spread, (n, 3))
    cloud.scales[:] = rng.normal(log_scale[0], log_scale[1], (n, 3))
    cloud.quats[:] = rng.normal(size=(n, 4))
    cloud.opacities[:] = rng.normal(0.5, 2.5, n)
    cloud.sh_dc[:] = rng.normal(0, 1.0, (n, 3))
    cloud.sh_rest[:] = rng.normal(0, 0.4, cloud.sh_rest.shape)
    return cloud


def camera_at_origin(width: int, height: int, f: float = 40.0, cx=None, cy=None) -> Camera:
    """Identity pose: the camera sits at the world origin looking along +z (world axes = OpenCV camera axes)."""
    return Camera(width, height, f, f, width / 2 if cx is None else cx, height / 2 if cy is None else cy, np.eye(4))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED
