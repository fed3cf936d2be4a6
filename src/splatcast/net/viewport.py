"""View-aware scheduling of a tiled stream (docs/streaming.md, "View-dependent streaming").

A tiled stream (docs/format.md 1.7) is one progressive stream per tile. The client keeps each tile's rest of
stream (the same per-layer passes as an untiled stream) and fetches, at every step, the piece of highest utility

    utility = visibility(tile, camera now) x error removed (from the index's fidelity) per byte

Visibility is the share of the image the tile's box covers (floored at IN_VIEW_FLOOR) when the box meets the
camera's frustum, OUT_OF_VIEW when it does not. The error of a tile's state is the mean squared error its
recorded fidelity stands for (10^(-dB/10); nothing received: 1), because a view's errors add up over its pixels:
a coarse tile gains more from its next layer than a fine one from its last refinement, whatever their dB.
OUT_OF_VIEW is tiny but not zero: a tile's first chunk (nothing -> a coarse picture, almost all of its error)
still outranks the refinements in view, so a coarse scene exists everywhere early and a turning camera never
finds a hole. The camera comes from a :class:`CameraPath` (``play --camera-path``: keyframes in a JSON file, or
an orbit); a scripted path is known ahead, so a tile's visibility is the best over the next LOOKAHEAD_S seconds
of the path (weighted by how soon). The ranking is recomputed before every request, so a turning camera re-ranks
what is fetched next.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcast.errors import SplatcastError

OUT_OF_VIEW = 1e-3  # visibility of a tile outside the frustum (see the module docstring)
IN_VIEW_FLOOR = 0.1  # the least visibility of a tile the frustum meets (> OUT_OF_VIEW however little it sees)
IDENTICAL_DB = 50.0  # a tile's final state (fidelity code "identical") counts as this many dB: visually lossless
LOOKAHEAD_S = 2.0  # a scripted camera path is known ahead: visibility over the next seconds counts too
LOOKAHEAD_SAMPLES = 4
UNKNOWN_GAIN = 1e-3  # error removed by a piece whose states the index does not record (a small fixed share)
MAX_KEYFRAMES = 100_000
MAX_PATH_BYTES = 16 << 20


@dataclass(frozen=True)
class Keyframe:
    t_s: float
    camera: object  # splatcast.render.camera.Camera


class CameraPath:
    """Cameras over time: the keyframe in force at time t is the last one with t_s <= t (piecewise constant)."""

    def __init__(self, keyframes: list[Keyframe]):
        if not keyframes:
            raise SplatcastError("camera path: needs at least one keyframe")
        self.keyframes = sorted(keyframes, key=lambda k: k.t_s)
        self._times = [k.t_s for k in self.keyframes]

    def at(self, t_s: float):
        return self.keyframes[max(bisect.bisect_right(self._times, t_s) - 1, 0)].camera

    @classmethod
    def fixed(cls, camera) -> "CameraPath":
        return cls([Keyframe(0.0, camera)])

    @classmethod
    def orbit(cls, lo, hi, period_s: float, steps: int = 24, up=(0.0, -1.0, 0.0), width: int = 256,
              height: int = 256, fov_deg: float = 50.0, elevation_deg: float = 20.0,
              distance_scale: float = 1.0) -> "CameraPath":
        """``steps`` cameras evenly around the box (lo, hi), one turn per ``period_s`` seconds."""
        from splatcast.render.camera import orbit_cameras
        from splatcast.scene.cloud import GaussianCloud

        corners = np.array([lo, hi], np.float32)
        box = GaussianCloud(means=corners, scales=np.zeros((2, 3)), quats=np.tile([1.0, 0, 0, 0], (2, 1)),
                            opacities=np.zeros(2), sh_dc=np.zeros((2, 3)), sh_rest=np.zeros((2, 0, 3)))
        cams = orbit_cameras(box, steps, width, height, elevation_deg, fov_deg, up, distance_scale)
        return cls([Keyframe(period_s * k / steps, c) for k, c in enumerate(cams)])

    @classmethod
    def load(cls, path: str | Path) -> "CameraPath":
        """JSON ``{"width", "height", "fov_deg", "up", "keyframes": [{"t", "eye", "target"}, ...]}`` (scene units,
        seconds from the start of the session; ``up`` a 3-vector, default [0, -1, 0]: INRIA scenes' up)."""
        from splatcast.render.camera import Camera

        p = Path(path)
        if p.stat().st_size > MAX_PATH_BYTES:
            raise SplatcastError(f"{p}: a camera path over {MAX_PATH_BYTES} bytes")
        try:
            doc = json.loads(p.read_text())
            width, height = int(doc.get("width", 256)), int(doc.get("height", 256))
            fov = float(doc.get("fov_deg", 50.0))
            up = [float(v) for v in doc.get("up", [0.0, -1.0, 0.0])]
            frames = doc["keyframes"]
            if not isinstance(frames, list) or not 0 < len(frames) <= MAX_KEYFRAMES:
                raise ValueError(f"keyframes: 1..{MAX_KEYFRAMES} entries")
            keys = []
            for k in frames:
                t = float(k["t"])
                if not math.isfinite(t):
                    raise ValueError("t must be finite")
                cam = Camera.look_at([float(v) for v in k["eye"]], [float(v) for v in k["target"]], up,
                                     width, height, fov)
                keys.append(Keyframe(t, cam))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # (JSONDecodeError is a ValueError)
            raise SplatcastError(f"{p}: not a camera path ({exc})") from None
        except SplatcastError as exc:
            raise SplatcastError(f"{p}: {exc}") from None
        return cls(keys)


def box_visibility(lo, hi, camera, near: float = 1e-3) -> float:
    """How much a viewer looking through ``camera`` wants the box (lo, hi): OUT_OF_VIEW when no part of it can be
    inside the frustum (all eight corners beyond one of its planes), else IN_VIEW_FLOOR + (1 - IN_VIEW_FLOOR) x the
    share of the image its projection covers (the bounding rectangle of its projected corners, clipped to the
    image; the whole image when a corner is not in front of the camera): a view's error is a sum over its pixels."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    if not _inside_planes(corners, camera, near).any(axis=0).all():
        return OUT_OF_VIEW
    p = corners @ camera.rotation.T + camera.translation
    if (p[:, 2] <= near).any():
        share = 1.0
    else:
        u = np.clip(camera.fx * p[:, 0] / p[:, 2] + camera.cx, 0.0, camera.width)
        v = np.clip(camera.fy * p[:, 1] / p[:, 2] + camera.cy, 0.0, camera.height)
        share = float((u.max() - u.min()) * (v.max() - v.min()) / (camera.width * camera.height))
    return IN_VIEW_FLOOR + (1.0 - IN_VIEW_FLOOR) * share


def _inside_planes(points: np.ndarray, camera, near: float) -> np.ndarray:
    """[N, 5] bool: each point on the inner side of the frustum's near, left, right, top and bottom planes."""
    p = points @ camera.rotation.T + camera.translation  # camera coordinates (x right, y down, z forward)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    left, right = camera.cx / camera.fx, (camera.width - camera.cx) / camera.fx
    top, bottom = camera.cy / camera.fy, (camera.height - camera.cy) / camera.fy
    return np.stack([z > near, x >= -left * z, x <= right * z, y >= -top * z, y <= bottom * z], axis=1)


def _error(db: float) -> float:
    """The mean squared error (peak 1) a fidelity in dB stands for; errors add up over a view's pixels, dB do not."""
    return 10.0 ** (-min(db, IDENTICAL_DB) / 10.0)


def tile_boxes_in_scene(index) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each tile's scene-space box (the reconstructions of its grid corners; docs/format.md 1.7)."""
    from splatcast.codec.quantize import Grid
    from splatcast.codec.tiles import box_bounds

    grid = Grid(index.grid_min, index.grid_max, index.pos_bits)
    return [box_bounds(box, grid) for box in index.tile_boxes]


class TileScheduler:
    """Merges the tiles' plans by utility.

    ``passes[t]`` yields tile t's layer passes in decoding order, each the list of its steps (drawn when the tile
    reaches that layer, so the ABR picks the pass then, as for an untiled stream); ``fidelity_after(tile, steps)``
    the index's fidelity (dB; None: not recorded) of the tile's state after each of ``steps`` in turn, from what
    has been handed out so far; ``now()`` the session clock; ``path`` the viewer's cameras (None: file order).

    A piece's gain is measured over the rest of the tile's stream: the best (error on screen now - error after the
    piece and the ones after it, up to some point) / their bytes, the tile's later layers counted as full passes.
    Refinements that show only once a layer is far enough in (display_from, docs/format.md 5), or that only open
    the way to the next layer, would otherwise never look worth fetching."""

    def __init__(self, passes: list, boxes: list, path: CameraPath | None, now, fidelity_after, later=None,
                 lookahead_s: float = LOOKAHEAD_S):
        self.passes, self.boxes, self.path, self.now = passes, boxes, path, now
        self.lookahead_s = lookahead_s
        self.fidelity_after = fidelity_after
        self.later = later or (lambda tile, layer: [])  # the tile's layers above `layer`, as full passes
        self.queue = [self._next_pass(t) for t in range(len(passes))]  # each tile's rest of its current pass
        self.shown_db = [0.0] * len(passes)  # fidelity of each tile's state so far (0 dB, error 1: nothing yet)
        self.order: list[tuple[float, int]] = []  # (time, tile) of every pick, for tests and the report

    def _next_pass(self, tile: int) -> list:
        for steps in self.passes[tile]:
            if steps:
                return list(steps)
        return []

    def visibility(self, tile: int, t_s: float) -> float:
        """The tile's visibility now, or soon along the path (a camera k/n of the lookahead away counts 1 - k/2n)."""
        vis = box_visibility(*self.boxes[tile], self.path.at(t_s))
        for k in range(1, LOOKAHEAD_SAMPLES + 1 if self.lookahead_s > 0 else 1):
            ahead = self.path.at(t_s + self.lookahead_s * k / LOOKAHEAD_SAMPLES)
            vis = max(vis, (1.0 - k / (2 * LOOKAHEAD_SAMPLES)) * box_visibility(*self.boxes[tile], ahead))
        return vis

    def gain_rate(self, tile: int) -> float:
        """Error removed per byte by the best prefix of the rest of the tile's stream: its current pass, then its
        later layers as full passes (UNKNOWN_GAIN / bytes of the next piece if nothing is recorded)."""
        steps = self.queue[tile] + self.later(tile, self.queue[tile][0].layer)
        best, nbytes = None, 0
        for step, after in zip(steps, self.fidelity_after(tile, steps)):
            nbytes += max(step.end - step.start, 1)
            if after is not None:
                rate = max(_error(self.shown_db[tile]) - _error(after), 0.0) / nbytes
                best = rate if best is None else max(best, rate)
        if best is None:
            return UNKNOWN_GAIN / max(steps[0].end - steps[0].start, 1)
        return max(best, 1e-12 / nbytes)

    def utility(self, tile: int, t_s: float) -> float:
        return self.visibility(tile, t_s) * self.gain_rate(tile)

    def __iter__(self):
        return self

    def __next__(self):
        live = [t for t, q in enumerate(self.queue) if q]
        if not live:
            raise StopIteration
        if self.path is None:
            # no viewer: the file's order (layer by layer, tile by tile)
            tile = min(live, key=lambda t: (self.queue[t][0].layer, t))
        else:
            now = self.now()
            tile = max(live, key=lambda t: (self.utility(t, now), -t))
        step = self.queue[tile].pop(0)
        after = self.fidelity_after(tile, [step])[0]
        if after is not None:
            self.shown_db[tile] = max(self.shown_db[tile], min(after, IDENTICAL_DB))
        self.order.append((self.now(), tile))
        if not self.queue[tile]:
            self.queue[tile] = self._next_pass(tile)
        return step
