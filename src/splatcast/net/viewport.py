"""View-aware scheduling of a tiled stream (docs/streaming.md, "View-dependent streaming").

A tiled stream (docs/format.md 1.7) is one progressive stream per tile. The client keeps each tile's next piece
(from the same per-layer plan as an untiled stream) and fetches, at every step, the piece of highest utility

    utility = visibility(tile, camera now) x fidelity gain of the piece (dB, from the index) / its bytes

where visibility is 1 / (1 + distance / tile size) for a tile whose box meets the camera's frustum and
OUT_OF_VIEW for one that does not (so tiles behind the camera still arrive, after the visible ones). The camera
comes from a :class:`CameraPath` (``play --camera-path``: keyframes in a JSON file, or an orbit), and the ranking
is recomputed before every request, so a turning camera re-ranks what is fetched next.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcast.errors import SplatcastError

OUT_OF_VIEW = 1e-3  # visibility of a tile outside the frustum: fetched once nothing visible is left
UNKNOWN_GAIN_DB = 1.0  # gain of a piece whose states the index does not record
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

    def at(self, t_s: float):
        cam = self.keyframes[0].camera
        for k in self.keyframes:
            if k.t_s > t_s:
                break
            cam = k.camera
        return cam

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
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise SplatcastError(f"{p}: not a camera path ({exc})") from None
        except SplatcastError as exc:
            raise SplatcastError(f"{p}: {exc}") from None
        return cls(keys)


def box_visibility(lo, hi, camera, near: float = 1e-3) -> float:
    """How much a viewer looking through ``camera`` wants the box (lo, hi): OUT_OF_VIEW when no part of it can be
    inside the frustum (all eight corners beyond one of its planes), else 1 / (1 + distance to the box's centre /
    the box's half-diagonal), so nearer tiles come first."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    p = corners @ camera.rotation.T + camera.translation  # camera coordinates (x right, y down, z forward)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    # frustum planes of a pinhole: z > near, and the four sides through the image borders
    left, right = camera.cx / camera.fx, (camera.width - camera.cx) / camera.fx
    top, bottom = camera.cy / camera.fy, (camera.height - camera.cy) / camera.fy
    outside = (
        (z <= near).all()
        or (x < -left * z).all()
        or (x > right * z).all()
        or (y < -top * z).all()
        or (y > bottom * z).all()
    )
    if outside:
        return OUT_OF_VIEW
    centre = 0.5 * (lo + hi)
    half = max(0.5 * float(np.linalg.norm(hi - lo)), 1e-9)
    return 1.0 / (1.0 + float(np.linalg.norm(camera.center - centre)) / half)


def tile_boxes_in_scene(index) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each tile's scene-space box (the reconstructions of its grid corners; docs/format.md 1.7)."""
    from splatcast.codec.quantize import Grid
    from splatcast.codec.tiles import box_bounds

    grid = Grid(index.grid_min, index.grid_max, index.pos_bits)
    return [box_bounds(box, grid) for box in index.tile_boxes]


class TileScheduler:
    """Merges the tiles' plans (one generator of steps per tile, in the tile's decoding order) by utility.

    ``fidelity_after(tile, step)`` gives the index's fidelity (dB) of the tile's state once ``step`` is applied
    (None: not recorded); ``now()`` the session clock; ``path`` the viewer's cameras (None: file order, every tile
    alike)."""

    def __init__(self, plans: list, boxes: list, path: CameraPath | None, now, fidelity_after):
        self.plans, self.boxes, self.path, self.now = plans, boxes, path, now
        self.fidelity_after = fidelity_after
        self.head = [next(p, None) for p in plans]  # each tile's next step
        self.shown_db = [0.0] * len(plans)  # fidelity of each tile's state so far (0: nothing yet)
        self.order: list[tuple[float, int]] = []  # (time, tile) of every pick, for tests and the report

    def utility(self, tile: int, camera) -> float:
        step = self.head[tile]
        after = self.fidelity_after(tile, step)
        gain = UNKNOWN_GAIN_DB if after is None else max(min(after, 99.0) - self.shown_db[tile], 0.01)
        vis = 1.0 if camera is None else box_visibility(*self.boxes[tile], camera)
        return vis * gain / max(step.end - step.start, 1)

    def __iter__(self):
        return self

    def __next__(self):
        live = [t for t, s in enumerate(self.head) if s is not None]
        if not live:
            raise StopIteration
        if self.path is None:
            # no viewer: the file's order (layer by layer, tile by tile)
            tile = min(live, key=lambda t: (self.head[t].layer, t))
        else:
            camera = self.path.at(self.now())
            tile = max(live, key=lambda t: (self.utility(t, camera), -t))
        step = self.head[tile]
        after = self.fidelity_after(tile, step)
        if after is not None:
            self.shown_db[tile] = max(self.shown_db[tile], min(after, 99.0))
        self.order.append((self.now(), tile))
        self.head[tile] = next(self.plans[tile], None)
        return step
