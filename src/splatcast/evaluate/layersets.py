"""The layer sets the suite evaluates: ordered coarse-to-fine GaussianClouds L0..Lm with where they came from.

- ``playbot``: PlayCanvas levels of detail 2_0 -> 1_0 -> 0_0 (125k / 250k / 500k Gaussians) from ../shared.
- ``statue``: one statue scan (angel, 71k) split into layers by ``splatcast.train.derive_layers`` when the trainer
  provides it, else by importance pruning (:func:`importance_prefix_layers`).
- ``demo``: the built-in lab-bench scene, split by ``derive_layers`` too, else by :func:`checkpoint_like_layers`
  (importance prefixes whose lower layers carry a smooth colour/opacity error, like earlier training iterations).
- ``lego``: training checkpoints (INRIA PLYs) from a directory, ordered by the iteration number in their names.

Missing data or readers raise :class:`Unavailable`, which the suite records as a skip.
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcast.evaluate.common import Unavailable, require
from splatcast.scene.cloud import GaussianCloud

PREFIX_FRACTIONS = (0.25, 0.5, 1.0)  # fallback derivation: L0 = top quarter by importance, L1 = top half, L2 = all


@dataclass
class Photos:
    """Held-out ground-truth views: test-view PSNR of a cloud rendered from the same cameras on ``background``."""

    cameras: list  # [V] splatcast.render.camera.Camera
    images: list[np.ndarray]  # [V] [H, W, 3] float32 in [0, 1], composited on background
    background: tuple[float, float, float]
    source: str

    def psnr(self, cloud: GaussianCloud) -> float:
        ras = require("splatcast.render.rasterize", "render")
        met = require("splatcast.render.metrics", "psnr")
        values = [met.psnr(img, ras.render(cloud, cam, self.background)) for cam, img in zip(self.cameras, self.images)]
        return float(np.mean(values))


def load_photos(transforms: Path, resolution: int, background=(1.0, 1.0, 1.0), hold_every: int = 8,
                max_views: int | None = None) -> Photos:
    """Every ``hold_every``-th frame of a NeRF-synthetic transforms file (the usual held-out views), RGBA
    composited on ``background`` and resized to ``resolution`` square (Pillow, Lanczos)."""
    from PIL import Image

    cam_mod = require("splatcast.render.camera", "load_nerf_transforms")
    if not transforms.is_file():
        raise Unavailable(f"{transforms} is absent")
    cams, paths = cam_mod.load_nerf_transforms(transforms, resolution, resolution)
    picks = list(range(0, len(cams), hold_every))[:max_views]
    images = []
    bg = np.asarray(background, np.float32)
    for i in picks:
        with Image.open(paths[i]) as im:
            rgba = np.asarray(im.convert("RGBA").resize((resolution, resolution), Image.LANCZOS), np.float32) / 255.0
        images.append(rgba[..., :3] * rgba[..., 3:] + bg * (1.0 - rgba[..., 3:]))
    return Photos([cams[i] for i in picks], images, tuple(float(v) for v in background),
                  f"{len(picks)} held-out views (every {hold_every}th) of {transforms.name} at {resolution}px")


@dataclass
class LayerSet:
    name: str
    layers: list[GaussianCloud]
    source: str  # one line: where the layers come from and how they were made
    notes: list[str] = field(default_factory=list)
    photos: Photos | None = None  # ground-truth views when the layers were trained on photographs

    @property
    def top(self) -> GaussianCloud:
        return self.layers[-1]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "notes": list(self.notes),
            "gaussians": [len(c) for c in self.layers],
            "sh_degree": [c.sh_degree for c in self.layers],
            "photos": self.photos.source if self.photos else None,
        }


def importance_prefix_layers(cloud: GaussianCloud, fractions=PREFIX_FRACTIONS) -> list[GaussianCloud]:
    """Layers as nested importance prefixes of one model (the paper's importance, descending).

    A stand-in for training checkpoints: lower layers are exact subsets of the top one, so inter-layer prediction
    finds perfect matches more often than it would between real checkpoints.
    """
    order = cloud.importance_order()
    n = len(cloud)
    return [cloud[order[: max(1, int(math.ceil(f * n)))]] for f in fractions]


def _smooth_field(means: np.ndarray, rng: np.random.Generator, n_waves: int = 6) -> np.ndarray:
    """[N, 3] float64 in about [-1, 1]: a few random low-frequency waves over the cloud's bounding box."""
    lo, hi = means.min(axis=0), means.max(axis=0)
    x = (means - lo) / np.maximum(hi - lo, 1e-9)  # [N, 3] in [0, 1]
    out = np.zeros((len(means), 3))
    for _ in range(n_waves):
        freq = rng.normal(0.0, 2.0, (3, 3))  # [3 axes, 3 channels], about one to two periods across the scene
        phase = rng.uniform(0, 2 * np.pi, 3)
        out += np.sin(2 * np.pi * x @ freq + phase)
    return out / np.sqrt(n_waves)


def checkpoint_like_layers(
    cloud: GaussianCloud, fractions=PREFIX_FRACTIONS, seed: int = 0, dc_drift: float = 0.25, opacity_drift: float = 0.3
) -> list[GaussianCloud]:
    """Synthetic stand-in for training checkpoints: importance prefixes whose lower layers are "less converged".

    Layer j keeps the top ``fractions[j]`` by importance, and its SH DC and opacity logit carry a spatially smooth
    error field scaled by (m - j) / m (zero on the top layer): the low-frequency colour error an earlier training
    iteration has, which is what the paper's DC-residual VQ targets. Deterministic from ``seed``.
    """
    rng = np.random.default_rng(seed)
    field_dc = _smooth_field(cloud.means.astype(np.float64), rng)  # [N, 3]
    field_op = _smooth_field(cloud.means.astype(np.float64), rng)[:, 0]  # [N]
    m = len(fractions) - 1
    layers = []
    for j, prefix in enumerate(importance_prefix_layers(cloud, fractions)):
        if j < m:
            w = (m - j) / m
            idx = cloud.importance_order()[: len(prefix)]
            prefix = prefix.copy()
            prefix.sh_dc = (prefix.sh_dc + dc_drift * w * field_dc[idx]).astype(np.float32)
            prefix.opacities = (prefix.opacities + opacity_drift * w * field_op[idx]).astype(np.float32)
        layers.append(prefix)
    return layers


def derive_layers(
    cloud: GaussianCloud, n_layers: int = 3, seed: int = 0, fallback: str = "prefix"
) -> tuple[list[GaussianCloud], str]:
    """Trainer's ``derive_layers`` when it exists, else ``fallback``: "prefix" (:func:`importance_prefix_layers`,
    pure importance pruning) or "checkpoint_like" (:func:`checkpoint_like_layers`); returns (layers, how)."""
    try:
        train = require("splatcast.train", "derive_layers")
        fn = train.derive_layers
    except Unavailable:
        try:
            fn = require("splatcast.train.layers", "derive_layers").derive_layers
        except Unavailable:
            fn = None
    if fn is not None:
        params = inspect.signature(fn).parameters
        kw = {"n_layers": n_layers} if "n_layers" in params else {"layers": n_layers} if "layers" in params else {}
        layers = list(fn(cloud, **kw))
        return layers, "splatcast.train.derive_layers"
    fractions = tuple((j + 1) / n_layers for j in range(n_layers)) if n_layers != 3 else PREFIX_FRACTIONS
    if fallback == "prefix":
        return importance_prefix_layers(cloud, fractions), (
            "importance pruning to " + "/".join(f"{f:.0%}" for f in fractions)
            + " (splatcast.train.derive_layers absent; lower layers are exact subsets of the model)"
        )
    return checkpoint_like_layers(cloud, fractions, seed), (
        "checkpoint-like importance prefixes " + "/".join(f"{f:.0%}" for f in fractions)
        + " with a smooth DC/opacity error on lower layers (splatcast.train.derive_layers absent)"
    )


def cap_layers(layers: list[GaussianCloud], max_gaussians: int | None) -> tuple[list[GaussianCloud], str | None]:
    """Scale every layer by the same factor (importance prefixes) so the top layer has <= max_gaussians."""
    if max_gaussians is None or len(layers[-1]) <= max_gaussians:
        return layers, None
    f = max_gaussians / len(layers[-1])
    capped = [c[c.importance_order()[: max(1, int(round(f * len(c))))]] for c in layers]
    return capped, f"capped to the {f:.1%} most important Gaussians of every layer (--max-gaussians {max_gaussians})"


def _read_scene(path: Path) -> GaussianCloud:
    formats = require("splatcast.scene.formats", "read_scene")
    if not path.exists():
        raise Unavailable(f"{path} is absent")
    return formats.read_scene(path)


def playbot(shared_root: Path, max_gaussians: int | None = None) -> LayerSet:
    root = shared_root / "data" / "scenes" / "playbot-lod"
    if not root.is_dir():
        raise Unavailable(f"{root} is absent")
    levels = ["2_0", "1_0", "0_0"]
    layers = [_read_scene(root / lv) for lv in levels]
    layers, note = cap_layers(layers, max_gaussians)
    notes = ["PLAYBOT by Stephane Agullo, CC BY 4.0; PlayCanvas LOD levels (independent SOG encodings)"]
    return LayerSet("playbot", layers, "playbot-lod levels 2_0 -> 1_0 -> 0_0", notes + ([note] if note else []))


def statue(shared_root: Path, name: str = "angel", max_gaussians: int | None = None) -> LayerSet:
    path = shared_root / "data" / "scenes" / "statues" / f"{name}.sog"
    model = _read_scene(path)
    layers, how = derive_layers(model, 3)
    layers, note = cap_layers(layers, max_gaussians)
    return LayerSet(f"statue-{name}", layers, f"{name}.sog -> 3 layers by {how}", [note] if note else [])


def demo(n_gaussians: int = 24_000, seed: int = 0) -> LayerSet:
    from splatcast.scene.default import lab_bench

    model = lab_bench(n_gaussians, seed)
    layers, how = derive_layers(model, 3, seed, fallback="checkpoint_like")
    return LayerSet("demo", layers, f"lab_bench({n_gaussians}, seed={seed}) -> 3 layers by {how}")


_ITER = re.compile(r"(\d+)")


def lego_checkpoints(directory: Path, max_gaussians: int | None = None, dataset: Path | None = None,
                     resolution: int = 200, background=(1.0, 1.0, 1.0), max_views: int | None = None) -> LayerSet:
    """Checkpoint PLYs of one training run, ordered by the last number in each file name; with ``dataset`` (a
    NeRF-synthetic folder holding transforms_*.json) its held-out views give test-view PSNR."""
    directory = Path(directory)
    if not directory.is_dir():
        raise Unavailable(f"checkpoint directory {directory} is absent")
    plys = [p for p in directory.glob("*.ply")]
    if not plys:
        raise Unavailable(f"no .ply checkpoints in {directory}")

    def key(p: Path):
        nums = _ITER.findall(p.stem)
        return (int(nums[-1]) if nums else -1, p.name)

    plys.sort(key=key)
    layers = [_read_scene(p) for p in plys]
    layers, note = cap_layers(layers, max_gaussians)
    src = f"training checkpoints {', '.join(p.name for p in plys)} from {directory}"
    notes = [note] if note else []
    photos = None
    if dataset is not None:
        jsons = sorted(Path(dataset).glob("transforms_*.json")) if Path(dataset).is_dir() else []
        test = [j for j in jsons if "test" in j.name] or jsons
        if test:
            photos = load_photos(test[0], resolution, background, hold_every=1 if "test" in test[0].name else 8,
                                 max_views=max_views)
        else:
            notes.append(f"no transforms_*.json in {dataset}: fidelity PSNR only")
    return LayerSet("lego", layers, src, notes, photos)


def layer_set(name: str, config) -> LayerSet:
    """The layer set called ``name`` (playbot, statue, demo, lego) for a BenchConfig."""
    if name == "playbot":
        return playbot(config.shared_root, config.max_gaussians)
    if name == "statue":
        return statue(config.shared_root, "angel", config.max_gaussians)
    if name == "demo":
        return demo(4_000 if config.quick else 24_000, config.seed)
    if name == "lego":
        if config.lego_dir is None:
            raise Unavailable("no checkpoint directory given (--lego-dir)")
        return lego_checkpoints(config.lego_dir, config.max_gaussians, config.lego_dataset, config.lego_resolution,
                                config.lego_background, max_views=4 if config.quick else 13)
    raise Unavailable(f"unknown scene {name!r}")


SCENES = ("demo", "playbot", "statue", "lego")

