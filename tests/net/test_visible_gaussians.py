"""ProgressiveDecoder.visible_gaussians() (what the client counts after every piece) against the slow reference,
len(decoder.cloud()), at every step of real decodes; ProgressiveDecoder.from_index() against the header path."""

from __future__ import annotations

import pytest

from splatcast.codec import EncoderConfig, ProgressiveDecoder, encode, read_index
from tests.fixtures.synthetic import STREAMING, synthetic_layers

CONFIGS = {
    "replace": EncoderConfig(entropy="zstd", chunks=3, fidelity=False, partial="replace", dc_only="on"),
    "hold": EncoderConfig(entropy="zstd", chunks=3, fidelity=False, partial="hold"),
    "mdc": EncoderConfig(entropy="zstd", chunks=3, fidelity=False, mode="mdc"),
    "tiled": EncoderConfig(entropy="zstd", chunks=2, fidelity=False, partial="replace", dc_only="on",
                           tile_gaussians=250),
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def stream(request):
    return encode(synthetic_layers(200, 3, 1, seed=3, shape=STREAMING), CONFIGS[request.param])


def _orders(index, tile):
    """Two sessions' pieces for one tile: every chunk full; every chunk dc first, then the layer's upgrades."""
    view = index.tile_view(tile)
    full, split = [], []
    for j, layer in enumerate(view.layers):
        upgrades = []
        for k, c in enumerate(layer.chunks):
            full.append((j, k, "full", c.offset, c.offset + c.full_bytes))
            if c.dc_bytes < c.full_bytes:
                split.append((j, k, "dc", c.offset, c.offset + c.dc_bytes))
                upgrades.append((j, k, "upgrade", c.offset + c.dc_bytes, c.offset + c.full_bytes))
            else:
                split.append((j, k, "full", c.offset, c.offset + c.full_bytes))
        split += upgrades
    return full, split


@pytest.mark.parametrize("order", ["full", "split"])
def test_visible_gaussians_is_the_length_of_the_cloud_at_every_step(stream, order):
    index = read_index(stream)
    dec = ProgressiveDecoder.from_index(index)
    assert dec.visible_gaussians() == len(dec.cloud()) == 0
    steps = 0
    for tile in range(index.tile_count):  # a tile after another: partial tiles beside complete ones
        pieces = _orders(index, tile)[order == "split"]
        for j, k, refine, start, end in pieces:
            if refine == "upgrade":
                dec.upgrade_chunk(j, k, stream[start:end], tile=tile)
            else:
                dec.add_chunk(j, k, stream[start:end], refine=refine, tile=tile)
            assert dec.tile(tile).visible_gaussians() == len(dec.tile(tile).cloud())
            assert dec.visible_gaussians() == len(dec.cloud())
            steps += 1
    assert steps > 3 * index.tile_count
    assert dec.visible_gaussians() == index.layers[-1].gaussians or index.mode == "mdc"


def test_from_index_decodes_as_the_header_does(stream):
    index = read_index(stream)
    a, b = ProgressiveDecoder(stream[: index.header_bytes]), ProgressiveDecoder.from_index(index)
    assert b.index is index and b.tiled == a.tiled and len(b.tiles) == len(a.tiles)
    for tile in range(index.tile_count):
        for j, k, refine, start, end in _orders(index, tile)[0]:
            for dec in (a, b):
                dec.add_chunk(j, k, stream[start:end], refine=refine, tile=tile)
    ca, cb = a.cloud(), b.cloud()
    assert len(ca) == len(cb) > 0
    assert all(x.tobytes() == y.tobytes() for x, y in zip(ca.arrays().values(), cb.arrays().values()))
