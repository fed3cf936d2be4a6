"""The fast CPU renderer: :func:`render` = project (``project.py``) -> :func:`bin_tiles` (16x16 tiles) ->
:func:`composite_bins`; the trainer runs the same stages in float64 and keeps their state for its backward pass.

Binning: visible Gaussians are sorted once by depth rounded to float32 (an LSD radix sort of the float bits,
stable, so ties keep index order), then scattered into per-tile lists with a stable counting sort by tile. The
result is the classic global (tile, float32 depth) key sort of the INRIA renderer in O(N + pairs).

Compositing (numba, parallel over tiles): for each Gaussian of a tile, front to back, only the pixels of its box
inside the tile are visited; alpha = min(0.99, opacity * exp(-d^2 / 2)) for squared Mahalanobis distance d^2 <= 9,
skipped below 1/255; a pixel stops when its transmittance would fall below 1e-4 and a tile stops when all its
pixels have. The remaining transmittance times the background is added at the end. The image is exactly the
per-pixel definition that ``reference.py`` implements: tiles only accelerate, they never change a pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from splatcast.errors import SceneError
from splatcast.render.camera import Camera
from splatcast.render.constants import MAX_ALPHA, MIN_ALPHA, MIN_TRANSMITTANCE, PIXEL_FASTMATH, TILE
from splatcast.render.project import Projected, project


def render(cloud, camera: Camera, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Render ``cloud`` seen by ``camera``: [H, W, 3] float32 in [0, 1]."""
    bg = parse_background(background)
    proj = project(cloud, camera)
    return composite(proj, camera.width, camera.height, bg)


def parse_background(background) -> np.ndarray:
    """(r, g, b) in [0, 1] -> [3] float64; raises SceneError otherwise."""
    bg = np.asarray(background, np.float64).reshape(-1)
    if bg.shape != (3,) or not np.isfinite(bg).all():
        raise SceneError(f"background={background!r} must be three finite numbers")
    return bg


@dataclass
class Bins:
    """The visible Gaussians of each screen tile, front to back: tile t's are ``ids[start[t]:start[t + 1]]``."""

    width: int
    height: int
    start: np.ndarray  # [tiles + 1] int64
    ids: np.ndarray  # [P] int32

    @property
    def tiles_x(self) -> int:
        return (self.width + TILE - 1) // TILE


def bin_tiles(proj: Projected, width: int, height: int) -> Bins:
    """Sort the visible Gaussians by float32 depth (stable) and scatter them into per-tile lists."""
    tiles_x = (width + TILE - 1) // TILE
    tiles_y = (height + TILE - 1) // TILE
    ids = np.flatnonzero(proj.visible).astype(np.int32)
    # depth > 0.2 > 0, so the float32 bit patterns sort like the values
    ids = ids[_radix_argsort_u32(proj.depth[ids].astype(np.float32).view(np.uint32))]  # front to back
    start, tile_ids = _bin_tiles(ids, proj.pixel_box, tiles_x, tiles_y, max(1, numba.get_num_threads()))
    return Bins(width, height, start, tile_ids)


def composite(proj: Projected, width: int, height: int, background: np.ndarray, weights=None) -> np.ndarray:
    """Tile-bin the projected Gaussians and composite them: [H, W, 3] float32 clipped to [0, 1].

    ``weights``, an [N] float64 array, gets each Gaussian's blending weights (alpha x transmittance) summed over
    the pixels it contributes to added in (see :func:`blend_weights`)."""
    bins = bin_tiles(proj, width, height)
    image = np.empty((height, width, 3), np.float32)
    # one slot per (tile, Gaussian) pair: tiles composite in parallel without sharing a slot
    pair_weight = np.zeros(len(bins.ids) if weights is not None else 0)
    composite_bins(proj, bins, background, image, pair_weight=pair_weight)
    if weights is not None:
        weights += np.bincount(bins.ids, weights=pair_weight, minlength=len(weights))
    np.clip(image, 0.0, 1.0, out=image)
    return image


# stand-ins for the outputs composite_bins is not asked for (empty: the kernel skips them)
_NO_FINAL_T = np.empty((0, 0))
_NO_N_CONTRIB = np.empty((0, 0), np.int64)
_NO_PAIR_WEIGHT = np.empty(0)


def composite_bins(proj: Projected, bins: Bins, background: np.ndarray, image: np.ndarray, final_t=None,
                   n_contrib=None, pair_weight=None) -> None:
    """Composite into ``image`` [H, W, 3] (float32 or float64, not clipped). What the trainer's backward pass needs
    is written where asked: ``final_t`` [H, W] float64 the transmittance left, ``n_contrib`` [H, W] int64 how many
    entries of its tile's list a pixel went through (up to its last contribution), ``pair_weight`` [P] float64 the
    blending weight per entry of ``bins.ids``."""
    n_tiles = len(bins.start) - 1
    # interleave tiles across threads: prange splits its range into contiguous blocks, and the dense middle of
    # an image would otherwise land on one thread
    stride = max(1, numba.get_num_threads())
    order = np.concatenate([np.arange(s, n_tiles, stride) for s in range(stride)]).astype(np.int32)
    _composite_tiles(
        order, bins.start, bins.ids, proj.uv, proj.conic, proj.opacity, proj.md2_max, proj.pixel_box, proj.colour,
        np.asarray(background, np.float64), bins.width, bins.height, bins.tiles_x, image,
        _NO_FINAL_T if final_t is None else final_t,
        _NO_N_CONTRIB if n_contrib is None else n_contrib,
        _NO_PAIR_WEIGHT if pair_weight is None else pair_weight,
    )


def blend_weights(cloud, camera: Camera) -> np.ndarray:
    """[N] float64: each Gaussian's blending weight alpha x T summed over the pixels of one view, i.e. how much of
    the picture it makes (the significance pruning work such as LightGaussian ranks by)."""
    weights = np.zeros(len(cloud))
    composite(project(cloud, camera), camera.width, camera.height, parse_background((0, 0, 0)), weights)
    return weights


@njit(cache=True)
def _radix_argsort_u32(keys):
    """Stable argsort of [M] uint32 keys: LSD radix sort, 8 bits a pass, passes with one bucket skipped."""
    n = keys.shape[0]
    idx = np.arange(n).astype(np.int32)
    idx_tmp = np.empty(n, np.int32)
    cur = keys.copy()
    cur_tmp = np.empty(n, np.uint32)
    for shift in range(0, 32, 8):
        count = np.zeros(257, np.int64)
        for i in range(n):
            count[((cur[i] >> shift) & 255) + 1] += 1
        if count.max() == n:  # every key has the same digit here
            continue
        for b in range(256):
            count[b + 1] += count[b]
        for i in range(n):
            d = (cur[i] >> shift) & 255
            pos = count[d]
            idx_tmp[pos] = idx[i]
            cur_tmp[pos] = cur[i]
            count[d] = pos + 1
        idx, idx_tmp = idx_tmp, idx
        cur, cur_tmp = cur_tmp, cur
    return idx


@njit(cache=True, inline="always")
def _scatter(ids, lo, hi, pixel_box, tiles_x, cursor, out):
    """For each of ids[lo:hi], for each tile its box touches: out[cursor[t]] = id (unless ``out`` is empty: a
    counting pass), cursor[t] += 1."""
    write = out.shape[0] > 0
    for j in range(lo, hi):
        g = ids[j]
        for ty in range(pixel_box[g, 2] // TILE, pixel_box[g, 3] // TILE + 1):
            for tx in range(pixel_box[g, 0] // TILE, pixel_box[g, 1] // TILE + 1):
                t = ty * tiles_x + tx
                if write:
                    out[cursor[t]] = g
                cursor[t] += 1


@njit(cache=True, parallel=True)
def _bin_tiles(ids, pixel_box, tiles_x, tiles_y, n_chunks):
    """Per-tile lists of Gaussian ids, each in the order of ``ids`` (front to back).

    ids [M] int32 sorted by depth; pixel_box [N, 4] int32. Returns (tile_start [T + 1] int64, tile_ids [P] int32).
    A counting sort by tile, parallel over ``n_chunks`` contiguous chunks of ``ids`` (stable: chunk c's entries of a
    tile precede chunk c + 1's).
    """
    n_tiles = tiles_x * tiles_y
    m = ids.shape[0]
    n_chunks = max(1, min(n_chunks, m))
    counts = np.zeros((n_chunks, n_tiles), np.int64)
    nothing = np.empty(0, np.int32)
    for c in prange(n_chunks):
        _scatter(ids, c * m // n_chunks, (c + 1) * m // n_chunks, pixel_box, tiles_x, counts[c], nothing)
    tile_start = np.zeros(n_tiles + 1, np.int64)
    for t in range(n_tiles):
        s = 0
        for c in range(n_chunks):
            s += counts[c, t]
        tile_start[t + 1] = tile_start[t] + s
    # cursor[c, t]: where chunk c writes its first entry of tile t
    cursor = np.empty((n_chunks, n_tiles), np.int64)
    for t in range(n_tiles):
        pos = tile_start[t]
        for c in range(n_chunks):
            cursor[c, t] = pos
            pos += counts[c, t]
    tile_ids = np.empty(tile_start[n_tiles], np.int32)
    for c in prange(n_chunks):
        _scatter(ids, c * m // n_chunks, (c + 1) * m // n_chunks, pixel_box, tiles_x, cursor[c], tile_ids)
    return tile_start, tile_ids


@njit(cache=True, parallel=True, fastmath=PIXEL_FASTMATH)
def _composite_tiles(
    order,  # [T] int32 tile processing order
    tile_start,  # [T + 1] int64
    tile_ids,  # [P] int32
    uv,  # [N, 2] float64
    conic,  # [N, 3] float64
    opacity,  # [N] float64
    md2_max,  # [N] float64
    pixel_box,  # [N, 4] int32
    colour,  # [N, 3] float32 (display) or float64 (training)
    background,  # [3] float64
    width,
    height,
    tiles_x,
    image,  # [H, W, 3] out
    final_t,  # [H, W] float64 out (or empty: not wanted)
    n_contrib,  # [H, W] int64 out (or empty)
    pair_weight,  # [P] float64 out (or empty): blending weight per entry of tile_ids
):
    want_weights = pair_weight.shape[0] > 0
    want_state = final_t.shape[0] > 0
    for k in prange(order.shape[0]):
        t = order[k]
        ty, tx = t // tiles_x, t % tiles_x
        x0, y0 = tx * TILE, ty * TILE
        x1, y1 = min(x0 + TILE, width) - 1, min(y0 + TILE, height) - 1  # inclusive
        trans = np.ones(TILE * TILE)
        acc = np.zeros((TILE * TILE, 3))
        done = np.zeros(TILE * TILE, np.bool_)
        remaining = (x1 - x0 + 1) * (y1 - y0 + 1)
        row_left = np.full(TILE, x1 - x0 + 1, np.int64)  # pixels still open per row: skip finished rows quickly
        contrib = np.zeros(TILE * TILE, np.int64)
        for j in range(tile_start[t], tile_start[t + 1]):
            g = tile_ids[j]
            u, v = uv[g, 0], uv[g, 1]
            ca, cb, cc = conic[g, 0], conic[g, 1], conic[g, 2]
            o = opacity[g]
            kmax = md2_max[g]
            cr, cg, cbl = colour[g, 0], colour[g, 1], colour[g, 2]
            c0 = max(pixel_box[g, 0], x0)
            c1 = min(pixel_box[g, 1], x1)
            r0 = max(pixel_box[g, 2], y0)
            r1 = min(pixel_box[g, 3], y1)
            for r in range(r0, r1 + 1):
                if row_left[r - y0] == 0:
                    continue
                dy = r + 0.5 - v
                row = (r - y0) * TILE
                for col in range(c0, c1 + 1):
                    p = row + col - x0
                    if done[p]:
                        continue
                    dx = col + 0.5 - u
                    md2 = ca * dx * dx + 2.0 * cb * dx * dy + cc * dy * dy
                    if md2 > kmax:
                        continue
                    alpha = min(MAX_ALPHA, o * math.exp(-0.5 * md2))
                    if alpha < MIN_ALPHA:
                        continue
                    tp = trans[p]
                    test_t = tp * (1.0 - alpha)
                    if test_t < MIN_TRANSMITTANCE:
                        done[p] = True
                        remaining -= 1
                        row_left[r - y0] -= 1
                        continue
                    w = alpha * tp
                    if want_weights:
                        pair_weight[j] += w
                    acc[p, 0] += cr * w
                    acc[p, 1] += cg * w
                    acc[p, 2] += cbl * w
                    trans[p] = test_t
                    contrib[p] = j - tile_start[t] + 1
            if remaining == 0:
                break
        for r in range(y0, y1 + 1):
            for col in range(x0, x1 + 1):
                p = (r - y0) * TILE + col - x0
                tp = trans[p]
                image[r, col, 0] = acc[p, 0] + tp * background[0]
                image[r, col, 1] = acc[p, 1] + tp * background[1]
                image[r, col, 2] = acc[p, 2] + tp * background[2]
                if want_state:
                    final_t[r, col] = tp
                    n_contrib[r, col] = contrib[p]
