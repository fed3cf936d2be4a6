"""Real .splc streams for the DASH/streaming tests: small synthetic quality layers (a coarse cloud, then finer
ones with ~2x Gaussians near the old ones) encoded with ``splatcast.codec.encode``."""

from __future__ import annotations

import functools

import numpy as np

from splatcast.scene.cloud import GaussianCloud, sh_rest_count


def _coarse(rng, n: int, sh_degree: int) -> GaussianCloud:
    means = rng.normal(size=(n, 3)) * np.array([1.0, 0.6, 0.4])
    dc = np.stack([np.sin(2 * means[:, 0]), np.cos(3 * means[:, 1]), np.sin(means[:, 2] + means[:, 0])], 1) * 1.2
    return GaussianCloud(
        means=means,
        scales=rng.normal(-3.0, 0.3, size=(n, 3)),
        quats=rng.normal(size=(n, 4)),
        opacities=rng.normal(1.0, 1.0, size=n),
        sh_dc=dc + rng.normal(0, 0.05, size=(n, 3)),
        sh_rest=rng.normal(0, 0.05, size=(n, sh_rest_count(sh_degree), 3)),
    )


def _finer(rng, cloud: GaussianCloud, factor: float = 2.0) -> GaussianCloud:
    m = int(round(len(cloud) * factor))
    p = cloud[rng.integers(0, len(cloud), size=m)]
    return GaussianCloud(
        means=p.means + rng.normal(0, 0.02, size=(m, 3)) * np.exp(p.scales),
        scales=p.scales - np.log(factor) / 3 + rng.normal(0, 0.05, size=(m, 3)),
        quats=p.quats + rng.normal(0, 0.05, size=(m, 4)),
        opacities=p.opacities + rng.normal(0, 0.2, size=m),
        sh_dc=p.sh_dc + rng.normal(0, 0.03, size=(m, 3)),
        sh_rest=p.sh_rest + rng.normal(0, 0.02, size=p.sh_rest.shape),
    )


def synthetic_layers(n0: int = 300, n_layers: int = 3, sh_degree: int = 1, seed: int = 0) -> list[GaussianCloud]:
    rng = np.random.default_rng(seed)
    layers = [_coarse(rng, n0, sh_degree)]
    for _ in range(n_layers - 1):
        layers.append(_finer(rng, layers[-1]))
    return layers


@functools.lru_cache(maxsize=4)  # shared by tests/dash and tests/net within one pytest process
def make_real_stream(n0: int = 300, n_layers: int = 3, chunks: int = 4, seed: int = 0, entropy: str = "zstd",
                     tile_gaussians: int = 0) -> bytes:
    """``tile_gaussians`` > 0: a tiled (4.0) stream, docs/format.md 1.7."""
    from splatcast.codec import EncoderConfig, encode

    config = EncoderConfig(entropy=entropy, chunks=chunks, tile_gaussians=tile_gaussians)
    return encode(synthetic_layers(n0, n_layers, 1, seed), config)
