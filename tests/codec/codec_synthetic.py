"""Synthetic quality layers: a coarse cloud, then refinements with more Gaussians near the old ones."""

from __future__ import annotations

import numpy as np
from splatcast.scene.cloud import GaussianCloud, sh_rest_count


def random_cloud(rng: np.random.Generator, n: int, sh_degree: int = 1) -> GaussianCloud:
    means = rng.normal(size=(n, 3)) * np.array([1.0, 0.6, 0.4])
    k = sh_rest_count(sh_degree)
    # smooth colour field: nearby Gaussians have similar colours
    dc = np.stack([np.sin(2 * means[:, 0]), np.cos(3 * means[:, 1]), np.sin(means[:, 2] + means[:, 0])], 1) * 1.2
    return GaussianCloud(
        means=means,
        scales=rng.normal(-3.5, 0.4, size=(n, 3)),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.normal(1.0, 1.5, size=n),
        sh_dc=dc + rng.normal(0, 0.05, size=(n, 3)),
        sh_rest=rng.normal(0, 0.05, size=(n, k, 3)),
    )


def refine(rng: np.random.Generator, cloud: GaussianCloud, factor: float = 2.0) -> GaussianCloud:
    """A finer layer: ~factor children per Gaussian, close to it, smaller, with perturbed features."""
    n = len(cloud)
    m = int(round(n * factor))
    parent = rng.integers(0, n, size=m) if n else np.zeros(0, np.int64)
    p = cloud[parent]
    shrink = np.log(factor) / 3
    return GaussianCloud(
        means=p.means + rng.normal(0, 0.02, size=(m, 3)) * np.exp(p.scales),
        scales=p.scales - shrink + rng.normal(0, 0.05, size=(m, 3)),
        quats=p.quats + rng.normal(0, 0.05, size=(m, 4)),
        opacities=p.opacities + rng.normal(0, 0.2, size=m),
        sh_dc=p.sh_dc + rng.normal(0, 0.03, size=(m, 3)),
        sh_rest=p.sh_rest + rng.normal(0, 0.02, size=p.sh_rest.shape),
    )


def synthetic_layers(n0: int = 400, n_layers: int = 3, sh_degree: int = 1, seed: int = 0) -> list[GaussianCloud]:
    rng = np.random.default_rng(seed)
    layers = [random_cloud(rng, n0, sh_degree)]
    for _ in range(n_layers - 1):
        layers.append(refine(rng, layers[-1]))
    return layers
