"""Tiled files (docs/format.md 1.7): the k-d split, independent tiles, exact reconstruction, hostile tile tables.

Oracles: the encoder's input quantized on the file's own grid (a tiled file must reconstruct the same integer
Gaussians as an untiled one, only grouped by tile), brute-force box membership, and a tile decoded on its own.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from splatcast.codec import EncoderConfig, ProgressiveDecoder, decode, read_index
from splatcast.codec import container as ct
from splatcast.codec.decoder import decode_progressive
from splatcast.codec.encoder import encode_layers
from splatcast.codec.quantize import Grid, quantize_features
from splatcast.codec.tiles import in_box, split_tiles
from splatcast.errors import BitstreamFormatError, LimitError

FAST = dict(entropy="zstd", chunks=3)


@pytest.fixture(scope="module")
def tiled(layers3):
    data, stats, recon = encode_layers(layers3, EncoderConfig(tile_gaussians=450, vq=16, **FAST))
    return layers3, data, stats, recon


def _rows(pos, feat) -> np.ndarray:
    """Rows (position, features) sorted lexicographically: a layer as a multiset of integer Gaussians."""
    rows = np.concatenate([pos, feat], axis=1).astype(np.int64)
    return rows[np.lexsort(rows.T[::-1])]


def test_split_partitions_the_grid_and_bounds_tile_sizes():
    rng = np.random.default_rng(3)
    bits = 10
    layers = [rng.integers(0, 1 << bits, size=(n, 3)) for n in (300, 900, 2500)]
    layers[2][:600] = layers[2][0]  # a co-located cluster: cannot be split, stays one tile
    boxes, tile_of = split_tiles(layers, bits, target=400, min_per_layer=20)
    assert len(boxes) > 4
    # brute force: every grid position of the samples lies in exactly one box, the one it was assigned to
    for pos, t in zip(layers, tile_of):
        inside = np.stack([in_box(pos, b) for b in boxes], axis=1)
        assert (inside.sum(axis=1) == 1).all()
        assert np.array_equal(np.argmax(inside, axis=1), t)
    corners = np.array([[0, 0, 0], [(1 << bits) - 1] * 3])
    volume = sum(np.prod(b[1] - b[0] + 1) for b in boxes)
    assert volume == np.prod(corners[1] + 1)  # disjoint (above) and covering: a partition
    for k in range(len(boxes)):
        counts = [int((t == k).sum()) for t in tile_of]
        assert min(counts) >= 20  # every tile can predict from the layer below
        assert max(counts) <= 400 or k == tile_of[2][0]  # only the unsplittable cluster's tile is bigger


def test_tiled_file_reconstructs_the_quantized_input(tiled):
    layers, data, stats, recon = tiled
    idx = read_index(data)
    assert idx.version == (ct.TILED_MAJOR, 0) and idx.tile_count >= 3
    assert [sum(li.tile_chunks) for li in idx.layers] == [len(li.chunks) for li in idx.layers]
    grid = Grid(idx.grid_min, idx.grid_max, idx.pos_bits)
    dec = decode_progressive(data)
    for j, layer in enumerate(layers):
        pos, feat = dec.layer_arrays(j)
        expected = _rows(grid.quantize(layer.means), quantize_features(layer, idx.steps, idx.sh_degree))
        assert np.array_equal(_rows(pos, feat), expected), j  # lossless on the grid, every Gaussian once
        assert np.array_equal(pos, recon[j].pos) and np.array_equal(feat, recon[j].feat)
        if j:
            assert np.array_equal(dec.layer_neighbours(j), recon[j].neighbours)


def test_each_tile_decodes_alone_inside_its_box(tiled):
    _, data, _, _ = tiled
    idx = read_index(data)
    whole = decode_progressive(data)
    for t in range(idx.tile_count):
        alone = ProgressiveDecoder(data[: idx.header_bytes])
        view = idx.tile_view(t)
        for j, layer in enumerate(view.layers):
            for c, ce in enumerate(layer.chunks):
                alone.add_chunk(j, c, data[ce.offset : ce.offset + ce.full_bytes], "full", tile=t)
        for j in range(len(view.layers)):
            pos, feat = alone.tile(t).layer_arrays(j)
            ref_pos, ref_feat = whole.tile(t).layer_arrays(j)
            assert np.array_equal(pos, ref_pos) and np.array_equal(feat, ref_feat)
            assert in_box(pos, idx.tile_boxes[t]).all()
        assert all(len(other.cloud()) == 0 for k, other in enumerate(alone.tiles) if k != t)
        # the encoder stores tight boxes: the bounds of the tile's positions over every layer
        every = np.concatenate([alone.tile(t).layer_arrays(j)[0] for j in range(len(view.layers))])
        assert np.array_equal(idx.tile_boxes[t], np.stack([every.min(axis=0), every.max(axis=0)]))


def test_tiled_and_untiled_files_show_the_same_top_layer(tiled, layers3):
    _, data, _, _ = tiled
    plain, _, _ = encode_layers(layers3, EncoderConfig(vq=16, **FAST))
    a, b = decode(data), decode(plain)
    key = lambda c: np.lexsort(np.concatenate([c.means, c.sh_dc], axis=1).T[::-1])  # noqa: E731
    assert np.array_equal(a.means[key(a)], b.means[key(b)])
    assert np.array_equal(a.sh_rest[key(a)], b.sh_rest[key(b)])


def test_prefix_of_a_tiled_file_decodes_tile_by_tile(tiled):
    _, data, _, _ = tiled
    idx = read_index(data)
    layer1 = idx.layers[1]
    cut = layer1.chunks[layer1.tile_chunks[0] + 1].offset  # tile 0 of layer 1 complete, tile 1 one chunk in
    dec = decode_progressive(data[:cut])
    assert dec.chunks_received(1, tile=0) == layer1.tile_chunks[0]
    assert dec.chunks_received(1, tile=1) == 1
    assert all(dec.chunks_received(1, tile=t) == 0 for t in range(2, idx.tile_count))
    assert all(dec.chunks_received(0, tile=t) == idx.layers[0].tile_chunks[t] for t in range(idx.tile_count))


def test_per_tile_chunks_operating_point(tiled):
    _, data, _, _ = tiled
    idx = read_index(data)
    dec = decode_progressive(data, layer=2, chunks=1, refine="dc")
    assert all(dec.chunks_received(2, tile=t) == 1 for t in range(idx.tile_count))
    with pytest.raises(BitstreamFormatError, match="at most"):
        decode_progressive(data, layer=2, chunks=max(idx.layers[2].tile_chunks) + 1)


def test_fidelity_is_measured_per_tile(layers3):
    data, stats, _ = encode_layers(layers3, EncoderConfig(tile_gaussians=700, fidelity=True, **FAST))
    idx = read_index(data)
    assert idx.tile_count >= 2
    for t in range(idx.tile_count):
        view = idx.tile_view(t)
        assert view.layers[-1].chunks[-1].fidelity_full == ct.FIDELITY_IDENTICAL  # each tile's own top layer
        dec = ProgressiveDecoder(data)
        for j, layer in enumerate(view.layers):
            for c, ce in enumerate(layer.chunks):
                dec.add_chunk(j, c, data[ce.offset : ce.offset + ce.full_bytes], tile=t)
        assert dec.state_fidelity(tile=t) == float("inf")
        assert dec.state_fidelity() is None  # a tiled file has no whole-file fidelity
    assert len(stats[1]["tiles"]) == idx.tile_count


# ------------------------------------------------------------------------------------------------ hostile
def _reseal(data: bytearray) -> bytes:
    hb = struct.unpack_from("<I", data, 8)[0]
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:hb])))
    return bytes(data)


BOXES_AT = 16 + 60  # the tile boxes follow the file fields


def test_position_outside_its_tile_box_is_rejected(tiled):
    _, data, _, _ = tiled
    bad = bytearray(data)
    first = bytes(bad[BOXES_AT : BOXES_AT + 24])
    bad[BOXES_AT : BOXES_AT + 24] = bad[BOXES_AT + 24 : BOXES_AT + 48]  # tile 0 claims tile 1's box
    bad[BOXES_AT + 24 : BOXES_AT + 48] = first
    with pytest.raises(BitstreamFormatError, match="outside its tile's box"):
        decode(_reseal(bad))


@pytest.mark.parametrize(
    "edit, error, match",
    [
        (lambda d: struct.pack_into("<H", d, 30, 0), LimitError, "tile_count"),
        (lambda d: struct.pack_into("<H", d, 30, ct.MAX_TILES + 1), LimitError, "tile_count"),
        (lambda d: struct.pack_into("<I", d, BOXES_AT, 1 << 30), BitstreamFormatError, "tile 0 box"),
        (lambda d: struct.pack_into("<2I", d, BOXES_AT, 9, 9) or struct.pack_into("<I", d, BOXES_AT + 12, 0),
         BitstreamFormatError, "tile 0 box"),
    ],
)
def test_hostile_tile_table(tiled, edit, error, match):
    _, data, _, _ = tiled
    bad = bytearray(data)
    edit(bad)
    with pytest.raises(error, match=match):
        read_index(_reseal(bad))


def test_tile_chunk_counts_must_add_up(tiled):
    _, data, _, _ = tiled
    idx = read_index(data)
    record = BOXES_AT + 24 * idx.tile_count  # layer 0's record: fixed 20 bytes, no codebook, then tile entries
    bad = bytearray(data)
    struct.pack_into("<I", bad, record + 20, idx.layers[0].tile_chunks[0] + 1)
    with pytest.raises(BitstreamFormatError, match="tiles hold"):
        read_index(_reseal(bad))
    bad = bytearray(data)
    struct.pack_into("<H", bad, record + 24, idx.layers[0].tile_chunks[0] + 1)  # display_from beyond its chunks
    with pytest.raises(BitstreamFormatError, match="display_from"):
        read_index(_reseal(bad))
