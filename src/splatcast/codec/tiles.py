"""Spatial tiles: a k-d split of the position grid shared by every layer (docs/format.md 1.7).

A tiled file codes each tile as its own progressive stream: its Gaussians of every layer, predicted only from the
same tile of the layer below, so a client can fetch and decode the tiles a viewer looks at first. The split is
the encoder's choice (the format stores the boxes); this one cuts the grid at the median along the longest side
until a tile holds at most ``target`` Gaussians of any layer, and never leaves a tile without Gaussians of a layer
that has some (an inter tile needs a layer below to predict from).
"""

from __future__ import annotations

import numpy as np

from splatcast.codec.container import MAX_TILES

MIN_TILE_LAYER_GAUSSIANS = 32  # a split that would leave a tile with fewer Gaussians of a non-empty layer is not made


def split_tiles(
    layer_positions: list[np.ndarray], pos_bits: int, target: int, min_per_layer: int = MIN_TILE_LAYER_GAUSSIANS
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Boxes [T, 2, 3] (inclusive lo, hi on the grid) partitioning the grid, and per layer the tile of each row.

    ``layer_positions[j]``: [N_j, 3] integer grid positions of layer j. Tiles are numbered in k-d order (left
    child first), so neighbouring tiles tend to have neighbouring numbers.
    """
    if target < 1:
        raise ValueError(f"tile target {target} must be >= 1")
    total = max((len(p) for p in layer_positions), default=0)
    target = max(target, -(-total // MAX_TILES))  # the format allows MAX_TILES tiles
    full = np.array([[0, 0, 0], [(1 << pos_bits) - 1] * 3], np.int64)
    boxes: list[np.ndarray] = []
    members: list[list[np.ndarray]] = []
    stack = [(full, [np.arange(len(p)) for p in layer_positions])]
    while stack:
        box, rows = stack.pop()
        split = _best_split(box, rows, layer_positions, target, min_per_layer)
        if split is None:
            boxes.append(box)
            members.append(rows)
            continue
        axis, cut = split
        left_box, right_box = box.copy(), box.copy()
        left_box[1, axis], right_box[0, axis] = cut - 1, cut
        left = [r[p[r, axis] < cut] for r, p in zip(rows, layer_positions)]
        right = [r[p[r, axis] >= cut] for r, p in zip(rows, layer_positions)]
        stack.append((right_box, right))  # popped after the left one: tiles in k-d order
        stack.append((left_box, left))
    tile_of = []
    for j, p in enumerate(layer_positions):
        t = np.empty(len(p), np.int64)
        for k, rows in enumerate(members):
            t[rows[j]] = k
        tile_of.append(t)
    return np.stack(boxes), tile_of


def _best_split(box, rows, layer_positions, target, min_per_layer):
    """(axis, cut) halving the node at its median along the longest side that keeps every non-empty layer
    populated on both sides, or None (the node is a tile)."""
    counts = [len(r) for r in rows]
    if max(counts, default=0) <= target:
        return None
    big = int(np.argmax(counts))
    for axis in np.argsort(-(box[1] - box[0]), kind="stable"):
        lo, hi = int(box[0, axis]), int(box[1, axis])
        if hi <= lo:
            continue
        coords = layer_positions[big][rows[big], axis]
        cut = int(min(max(int(np.median(coords)), lo + 1), hi))
        ok = True
        for r, p in zip(rows, layer_positions):
            if len(r) == 0:
                continue
            below = int(np.count_nonzero(p[r, axis] < cut))
            if min(below, len(r) - below) < min_per_layer:
                ok = False
                break
        if ok:
            return int(axis), cut
    return None


def tight_boxes(layer_positions: list[np.ndarray], tile_of: list[np.ndarray], n_tiles: int) -> np.ndarray:
    """[T, 2, 3] the bounds of each tile's positions over every layer: what a client culls against is where the
    tile's Gaussians are, not its k-d cell (which reaches into empty space up to the grid's faces)."""
    lo = np.full((n_tiles, 3), np.iinfo(np.int64).max, np.int64)
    hi = np.full((n_tiles, 3), -1, np.int64)
    for pos, t in zip(layer_positions, tile_of):
        if len(pos):
            np.minimum.at(lo, t, pos.astype(np.int64))
            np.maximum.at(hi, t, pos.astype(np.int64))
    empty = hi[:, 0] < 0
    lo[empty], hi[empty] = 0, 0  # a tile without Gaussians (not made by split_tiles): a point box
    return np.stack([lo, hi], axis=1)


def in_box(pos: np.ndarray, box: np.ndarray) -> np.ndarray:
    """[N] bool: integer positions [N, 3] inside the inclusive box [2, 3]."""
    return ((pos >= box[0]) & (pos <= box[1])).all(axis=1)


def box_bounds(box: np.ndarray, grid) -> tuple[np.ndarray, np.ndarray]:
    """A grid box's (lo, hi) corners in scene units: the reconstructions of its extreme grid positions."""
    return grid.dequantize(box[0][None, :])[0], grid.dequantize(box[1][None, :])[0]
