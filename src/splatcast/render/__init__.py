"""The renderer and image metrics.

Owns: pinhole cameras and their conventions (``camera``), the SH basis and its derivative (``sh``), the one numba
rasterizer core (``constants``; stages ``project`` -> ``rasterize.bin_tiles`` -> ``rasterize.composite_bins``, whose
forward pass the trainer's backward pass reuses), a slow per-pixel reference renderer for tests (``reference``),
and image / scene fidelity metrics (``metrics``). Does not own: reading scene files (``splatcast.scene.formats``)
or writing images (the CLI does that with Pillow). Conventions are written down in docs/rendering.md.
"""

from splatcast.render.camera import Camera, guess_up_axis, load_nerf_transforms, orbit_cameras
from splatcast.render.metrics import fidelity_psnr, psnr, ssim
from splatcast.render.rasterize import render
from splatcast.render.reference import render_reference

__all__ = [
    "Camera",
    "fidelity_psnr",
    "guess_up_axis",
    "load_nerf_transforms",
    "orbit_cameras",
    "psnr",
    "render",
    "render_reference",
    "ssim",
]
