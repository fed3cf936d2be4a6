"""Real .splc streams for the DASH/streaming tests: the shared synthetic quality layers (tests/fixtures, the
STREAMING shape: a coarse cloud, then finer ones with ~2x Gaussians near the old ones) encoded with
``splatcast.codec.encode``."""

from __future__ import annotations

import functools

from tests.fixtures.synthetic import STREAMING, synthetic_layers

@functools.lru_cache(maxsize=4)  # shared by tests/dash and tests/net within one pytest process
def make_real_stream(n0: int = 300, n_layers: int = 3, chunks: int = 4, seed: int = 0, entropy: str = "zstd",
                     tile_gaussians: int = 0) -> bytes:
    """``tile_gaussians`` > 0: a tiled (4.0) stream, docs/format.md 1.7."""
    from splatcast.codec import EncoderConfig, encode

    config = EncoderConfig(entropy=entropy, chunks=chunks, tile_gaussians=tile_gaussians)
    return encode(synthetic_layers(n0, n_layers, 1, seed, shape=STREAMING), config)
