"""The layer sets the suite evaluates: ordered coarse-to-fine GaussianClouds L0..Lm with where they came from.

- ``playbot``: PlayCanvas levels of detail 2_0 -> 1_0 -> 0_0 (125k / 250k / 500k Gaussians) from ../shared.
- ``statue``: one statue scan (angel, 71k) split into 3 layers by ``splatcast.train.derive_layers``.
- ``demo``: the built-in lab-bench scene, split by ``derive_layers`` too.
- ``lego``: training checkpoints (INRIA PLYs) from a directory, ordered by the iteration number in their names.

Missing data raises :class:`Unavailable`, which the suite records as a skip. Every layer set caches one
:class:`~splatcast.render.metrics.Fidelity` per view setting (:meth:`LayerSet.fidelity`), so the experiments of a
scene share its reference renders.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcast.evaluate.common import Unavailable
from splatcast.render.camera import load_nerf_transforms
from splatcast.render.metrics import Fidelity, psnr
from splatcast.render.rasterize import render
from splatcast.scene.cloud import GaussianCloud
from splatcast.scene.formats import read_scene
from splatcast.train import derive_layers

PREFIX_FRACTIONS = (0.25, 0.5, 1.0)  # importance_prefix_layers: L0 = top quarter by importance, L1 = top half, L2 = all


@dataclass
class Photos:
    """Held-out ground-truth views: test-view PSNR of a cloud rendered from the same cameras on ``background``."""

    cameras: list  # [V] splatcast.render.camera.Camera
    images: list[np.ndarray]  # [V] [H, W, 3] float32 in [0, 1], composited on background
    background: tuple[float, float, float]
    source: str

    def psnr(self, cloud: GaussianCloud) -> float:
        """Mean of the per-view PSNRs against the photographs (no view is ever identical to a photograph)."""
        values = [psnr(img, render(cloud, cam, self.background)) for cam, img in zip(self.cameras, self.images)]
        return float(np.mean(values))


def load_photos(transforms: Path, resolution: int, background=(1.0, 1.0, 1.0), hold_every: int = 8,
                max_views: int | None = None) -> Photos:
    """Every ``hold_every``-th frame of a NeRF-synthetic transforms file (the usual held-out views), RGBA
    composited on ``background`` and resized to ``resolution`` square (Pillow, Lanczos)."""
    from PIL import Image

    if not transforms.is_file():
        raise Unavailable(f"{transforms} is absent")
    cams, paths = load_nerf_transforms(transforms, resolution, resolution)
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
    _fidelity: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def top(self) -> GaussianCloud:
        return self.layers[-1]

    def fidelity(self, n_views: int, size: int) -> Fidelity:
        """The scene's :class:`Fidelity` against its top layer for ``n_views`` views of ``size`` px, made (the
        top layer rendered) on the first call and kept: every experiment on this scene shares it."""
        key = (n_views, size)
        if key not in self._fidelity:
            self._fidelity[key] = Fidelity(self.top, n_views, size)
        return self._fidelity[key]

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


def cap_layers(layers: list[GaussianCloud], max_gaussians: int | None) -> tuple[list[GaussianCloud], str | None]:
    """Scale every layer by the same factor (importance prefixes) so the top layer has <= max_gaussians."""
    if max_gaussians is None or len(layers[-1]) <= max_gaussians:
        return layers, None
    f = max_gaussians / len(layers[-1])
    capped = [c[c.importance_order()[: max(1, int(round(f * len(c))))]] for c in layers]
    return capped, f"capped to the {f:.1%} most important Gaussians of every layer (--max-gaussians {max_gaussians})"


def _read_scene(path: Path) -> GaussianCloud:
    if not path.exists():
        raise Unavailable(f"{path} is absent")
    return read_scene(path)


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
    layers, note = cap_layers(derive_layers(model, n_layers=3), max_gaussians)
    return LayerSet(f"statue-{name}", layers, f"{name}.sog -> 3 layers by splatcast.train.derive_layers",
                    [note] if note else [])


def demo(n_gaussians: int = 24_000, seed: int = 0) -> LayerSet:
    from splatcast.scene.default import lab_bench

    model = lab_bench(n_gaussians, seed)
    layers = derive_layers(model, n_layers=3)
    return LayerSet("demo", layers,
                    f"lab_bench({n_gaussians}, seed={seed}) -> 3 layers by splatcast.train.derive_layers")


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

