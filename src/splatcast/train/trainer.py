"""The CPU 3DGS training loop: random init, Adam with the reference schedules, densification, SH schedule.

One random training view per iteration (drawn from a reshuffled stack, as the reference does), loss
0.8 * L1 + 0.2 * D-SSIM, gradients from :mod:`splatcast.train.backward`. Learning rates are the reference
3DGS ones: positions 1.6e-4 -> 1.6e-6 (log-linear over the run) times the scene extent, SH DC 2.5e-3, SH rest
2.5e-3 / 20, opacity 0.05 (the published paper's value; newer reference versions use 0.025 -- 0.05 converges
faster in the short CPU runs this trainer is for), scaling 5e-3, rotation 1e-3. Densification every 100 iterations
from 500 until half the run, opacity reset every 3000 (and once at iteration 500 on a white background, as the
reference does), SH degree raised by one every 1000 iterations up to 3.

Parameters are a :class:`GaussianCloud`'s own arrays in float64, in a dict under the cloud's field names
(``PARAM_NAMES``): the renderer takes them as they are, and :meth:`Trainer.cloud` snapshots them as a cloud.

Additive training (layers that are nested by construction): :meth:`Trainer.capture` snapshots the model as a
quality layer and freezes every Gaussian it holds; later steps leave frozen Gaussians exactly as captured (no
update, no pruning, no split removal, no opacity reset) while densification adds new ones beside them. The next
capture then holds the previous one's Gaussians unchanged, in the same relative order, plus the new ones, and its
lineage says for every row which row of the previous capture it is (``kept``) or descends from (``parent``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from splatcast.render.metrics import psnr
from splatcast.scene.cloud import SH_C0, GaussianCloud, logit
from splatcast.train.adam import Adam
from splatcast.train.backward import PARAM_NAMES, rasterize_backward, rasterize_forward
from splatcast.train.dataset import Dataset, View
from splatcast.train.densify import DensifyConfig, DensifyStats, densify_and_prune, reset_opacity
from splatcast.train.loss import photometric_loss

STAGES = ("forward", "loss", "backward", "optimizer", "densify")


@dataclass
class TrainConfig:
    iterations: int = 7000
    max_sh_degree: int = 3
    sh_increase_every: int = 1000
    lr_position_init: float = 1.6e-4  # times the scene extent
    lr_position_final: float = 1.6e-6
    lr_sh_dc: float = 2.5e-3
    lr_sh_rest: float = 2.5e-3 / 20.0
    lr_opacity: float = 0.05
    lr_scaling: float = 5e-3
    lr_rotation: float = 1e-3
    lambda_dssim: float = 0.2
    densify_from: int = 500
    densify_until: int | None = None  # None: half of ``iterations``
    densify_every: int = 100
    opacity_reset_every: int = 3000
    densify: DensifyConfig = field(default_factory=DensifyConfig)
    init_points: int = 20000
    # where training starts without sparse points: "cube" (the reference's random init in [-s, s]^3, s =
    # init_half_size: NeRF-synthetic objects sit in it), "cameras" (what the photos see, coloured from them;
    # cameras_init) or "auto" (the cube when every training view is an object alone on a known background)
    init: str = "auto"
    init_half_size: float = 1.3
    init_opacity: float = 0.1
    seed: int = 0

    def densify_end(self) -> int:
        return self.iterations // 2 if self.densify_until is None else self.densify_until


def random_init(n: int, half_size: float, opacity: float, max_sh_degree: int, rng: np.random.Generator):
    """Reference-style random init: uniform means in a cube, random colours, isotropic scales from 3-NN distances."""
    return points_init(rng.uniform(-half_size, half_size, (n, 3)), rng.uniform(0.0, 1.0, (n, 3)), opacity,
                       max_sh_degree, half_size)


def cameras_init(views: list[View], n: int, opacity: float, max_sh_degree: int, rng: np.random.Generator,
                 reach: float = 2.0):
    """``n`` Gaussians where the photos can see them, for captures with a background and no sparse points: uniform in
    the box around the camera centres' mean with half-side ``reach`` x the largest centre distance from it, kept
    where some training camera sees the point (in front of it, z > 0.2, inside its image) and coloured by that
    camera's pixel (of a random one of those cameras)."""
    centres = np.stack([v.camera.center for v in views])
    mid = centres.mean(axis=0)
    half = reach * max(float(np.linalg.norm(centres - mid, axis=1).max()), 1e-3)
    points, colours = [], []
    for _ in range(64):  # each round keeps the share of the box the cameras see
        cand = rng.uniform(mid - half, mid + half, (max(2 * n, 1024), 3))
        rgb = np.full((len(cand), 3), np.nan)
        for view in (views[i] for i in rng.permutation(len(views))):
            uv, z = view.camera.project(cand)
            h, w = view.image.shape[:2]
            seen = np.isnan(rgb[:, 0]) & (z > 0.2) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
            px = uv[seen].astype(np.int64)
            rgb[seen] = view.image[px[:, 1], px[:, 0]]
        keep = ~np.isnan(rgb[:, 0])
        points.append(cand[keep])
        colours.append(rgb[keep])
        if sum(len(p) for p in points) >= n:
            break
    means, rgb = np.concatenate(points)[:n], np.concatenate(colours)[:n]
    if len(means) < n:
        raise ValueError(f"cameras_init: the cameras see too little of the box around them ({len(means)} of {n})")
    return points_init(means, rgb, opacity, max_sh_degree, half)


def choose_init(dataset: Dataset, config: TrainConfig) -> str:
    """The init of a dataset without sparse points: config.init, or for "auto" the cube when every training view
    shows an object alone on a known background (NeRF-synthetic, renders), else what the cameras see."""
    if config.init not in ("auto", "cube", "cameras"):
        raise ValueError(f"init={config.init!r}: choose auto, cube or cameras")
    if config.init != "auto":
        return config.init
    return "cube" if all(v.isolated for v in dataset.train) else "cameras"


def points_init(means: np.ndarray, rgb: np.ndarray, opacity: float, max_sh_degree: int, half_size: float = 1.0):
    """Gaussians at given points with given colours (a COLMAP sparse model, or random), isotropic scales from the
    3-NN distances (a single point: a tenth of ``half_size``), as the reference initialises from ``points3D``."""
    n = len(means)
    if n > 1:
        k = min(4, n)
        dist, _ = cKDTree(means).query(means, k)
        d2 = np.maximum((dist[:, 1:] ** 2).mean(axis=1), 1e-7)
    else:
        d2 = np.full(n, (0.1 * half_size) ** 2)
    quats = np.zeros((n, 4))
    quats[:, 0] = 1.0
    return {
        "means": means,
        "scales": np.repeat(np.log(np.sqrt(d2))[:, None], 3, axis=1),
        "quats": quats,
        "opacities": np.full(n, float(logit(np.array(opacity)))),
        "sh_dc": (rgb - 0.5) / SH_C0,
        "sh_rest": np.zeros((n, (max_sh_degree + 1) ** 2 - 1, 3)),
    }


def params_from_cloud(cloud: GaussianCloud, max_sh_degree: int = 3) -> dict[str, np.ndarray]:
    c = cloud.with_sh_degree(max(max_sh_degree, cloud.sh_degree))
    return {name: arr.astype(np.float64) for name, arr in c.arrays().items()}


def cloud_from_params(params: dict[str, np.ndarray], sh_degree: int | None = None) -> GaussianCloud:
    cloud = GaussianCloud(**{name: params[name] for name in PARAM_NAMES})
    return cloud if sh_degree is None else cloud.with_sh_degree(sh_degree)


class Trainer:
    """State of one training run; call :meth:`step` repeatedly (or :meth:`run`)."""

    def __init__(self, dataset: Dataset, config: TrainConfig, params: dict[str, np.ndarray] | None = None,
                 densify: bool = True, sh_degree: int = 0):
        self.dataset = dataset
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.init = "given" if params is not None else "points" if dataset.points is not None else \
            choose_init(dataset, config)
        if self.init == "points":  # a sparse model: start inside what the cameras saw
            params = points_init(dataset.points, dataset.point_colors, config.init_opacity, config.max_sh_degree)
        elif self.init == "cube":
            params = random_init(config.init_points, config.init_half_size, config.init_opacity,
                                 config.max_sh_degree, self.rng)
        elif self.init == "cameras":
            params = cameras_init(dataset.train, config.init_points, config.init_opacity, config.max_sh_degree,
                                  self.rng)
        self.params = {k: np.ascontiguousarray(params[k], dtype=np.float64) for k in PARAM_NAMES}
        self.adam = Adam(self.params)
        self.stats = DensifyStats(len(self))
        self.densify_enabled = densify
        self.sh_degree = min(sh_degree, config.max_sh_degree)
        self.iteration = 0
        self.background = np.asarray(dataset.background, np.float64)
        self.timings = {s: 0.0 for s in STAGES}
        self._stack: list[int] = []
        self.last_densify: dict[str, int] | None = None
        # densification / opacity reset decided at iteration i run at the start of step i + 1: the same computation
        # order, but whoever evaluates or saves between steps sees the model before densification, as the
        # reference trainer does (it reports and saves before densifying)
        self._pending: tuple[bool, bool, bool] | None = None
        self.frozen = np.zeros(len(self), bool)  # rows of captured layers (additive training)
        self._frozen_values: dict[str, np.ndarray] | None = None
        self.origin = np.full(len(self), -1, np.int64)  # row of the last capture each row is or descends from

    def __len__(self) -> int:
        return len(self.params["means"])

    # ------------------------------------------------------------------------------------------- schedules
    def position_lr(self, iteration: int) -> float:
        c = self.config
        t = min(max(iteration / max(c.iterations, 1), 0.0), 1.0)
        lr = math.exp(math.log(c.lr_position_init) * (1.0 - t) + math.log(c.lr_position_final) * t)
        return lr * self.dataset.extent

    def learning_rates(self, iteration: int) -> dict[str, float]:
        c = self.config
        return {
            "means": self.position_lr(iteration),
            "scales": c.lr_scaling,
            "quats": c.lr_rotation,
            "opacities": c.lr_opacity,
            "sh_dc": c.lr_sh_dc,
            "sh_rest": c.lr_sh_rest,
        }

    def _next_view(self) -> View:
        if not self._stack:
            self._stack = list(self.rng.permutation(len(self.dataset.train)))
        return self.dataset.train[self._stack.pop()]

    # ------------------------------------------------------------------------------------------- one step
    def step(self) -> tuple[float, float]:
        """One iteration; returns (loss, PSNR of this training view)."""
        c = self.config
        t_pending = time.perf_counter()
        self._apply_pending()
        t_pending = time.perf_counter() - t_pending
        self.iteration += 1
        it = self.iteration
        if it % c.sh_increase_every == 0 and self.sh_degree < c.max_sh_degree:
            self.sh_degree += 1
        view = self._next_view()
        t0 = time.perf_counter()
        image, state = rasterize_forward(self.params, self.sh_degree, view.camera, self.background)
        t1 = time.perf_counter()
        loss, grad_image = photometric_loss(image.astype(np.float32), view.image, c.lambda_dssim)
        train_psnr = psnr(np.clip(image, 0.0, 1.0), view.image)  # as a saved render would be
        t2 = time.perf_counter()
        g = rasterize_backward(state, grad_image)
        t3 = time.perf_counter()
        self.adam.step(self.params, g.by_name(), self.learning_rates(it))
        if self._frozen_values is not None:  # captured Gaussians stay exactly as captured
            for name, values in self._frozen_values.items():
                self.params[name][self.frozen] = values
                self.adam.m[name][self.frozen] = 0.0
                self.adam.v[name][self.frozen] = 0.0
        t4 = time.perf_counter()
        if self.densify_enabled and it <= c.densify_end():
            self.stats.add(g.mean2d_ndc, g.visible, g.radius)
            densify = it > c.densify_from and it % c.densify_every == 0
            reset = it % c.opacity_reset_every == 0 or (np.all(self.background == 1.0) and it == c.densify_from)
            if densify or reset:
                self._pending = (densify, it > c.opacity_reset_every, reset)
        t5 = time.perf_counter() + t_pending
        for name, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            self.timings[name] += dt
        return loss, train_psnr

    def _apply_pending(self) -> None:
        if self._pending is None:
            return
        densify, prune_large, reset = self._pending
        self._pending = None
        if densify:
            self._densify(prune_large)
        if reset:
            reset_opacity(self.params, frozen=self.frozen)
            self.adam.reset("opacities")

    def _densify(self, prune_large: bool) -> None:
        new, source, counts, parent, frozen = densify_and_prune(
            self.params, self.stats, self.dataset.extent, self.config.densify, self.rng, prune_large, self.frozen
        )
        self.params = new
        self.frozen = frozen
        self.origin = self.origin[parent]
        self.adam.remap(source)
        self.stats = DensifyStats(len(self))
        self.last_densify = counts

    # ------------------------------------------------------------------------------------------- evaluation
    def evaluate(self, views: list[View] | None = None) -> float:
        """Mean PSNR over ``views`` (default: the test views); NaN when there are none."""
        views = self.dataset.test if views is None else views
        if not views:
            return float("nan")
        values = [psnr(np.clip(rasterize_forward(self.params, self.sh_degree, v.camera, self.background)[0], 0.0, 1.0),
                       v.image) for v in views]
        return float(np.mean(values))

    def cloud(self) -> GaussianCloud:
        """The current model as a float32 cloud with the SH degree in use so far."""
        return cloud_from_params(self.params, self.sh_degree)

    def capture(self, refine: tuple[str, ...] = ()) -> tuple[GaussianCloud, Lineage]:
        """This model as a quality layer; freezes its Gaussians (additive training, see the module docstring)
        except for the parameters named in ``refine`` (e.g. ``("opacities", "sh_dc")``: captured Gaussians
        keep their geometry but may still fade or change colour; they are still never pruned or split away).

        Returns (layer, lineage against the previous capture; for the first capture every row is new)."""
        unknown = set(refine) - set(PARAM_NAMES)
        if unknown:
            raise ValueError(f"refine: unknown parameters {sorted(unknown)}; choose from {PARAM_NAMES}")
        lineage = Lineage(parent=self.origin.copy(), kept=self.frozen.copy())
        layer = self.cloud()
        self.frozen = np.ones(len(self), bool)
        self._frozen_values = {name: self.params[name].copy() for name in PARAM_NAMES if name not in refine}
        self.origin = np.arange(len(self), dtype=np.int64)
        return layer, lineage


@dataclass
class Lineage:
    """Per row of a captured layer: ``kept`` = it is row ``parent`` of the previous capture (unchanged but for the
    parameters ``capture`` let it refine); otherwise it was added since, by densifying row ``parent`` (-1: no
    previous capture)."""

    parent: np.ndarray  # [N] int64
    kept: np.ndarray  # [N] bool

    def save(self, path) -> None:
        np.savez(path, parent=self.parent, kept=self.kept)

    @staticmethod
    def load(path) -> Lineage:
        with np.load(path, allow_pickle=False) as f:
            return Lineage(np.asarray(f["parent"], np.int64), np.asarray(f["kept"], bool))
