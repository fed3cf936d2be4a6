"""The demo's pictures: a 512 px contact sheet of the layers and the streaming states, and the quality curve.

Oracles: the stream's own index (bytes at every chunk end) and an independent render + PSNR of the full file."""

from __future__ import annotations

import numpy as np
from PIL import Image

from splatcast.cli.demo_cmd import SHEET_PX, _figures
from splatcast.codec import EncoderConfig, decode, encode, read_index
from splatcast.evaluate.layersets import importance_prefix_layers
from splatcast.render.camera import orbit_cameras
from splatcast.render.metrics import psnr
from splatcast.render.rasterize import render
from splatcast.scene.default import lab_bench


def test_contact_sheet_and_streaming_curve(tmp_path):
    scene = lab_bench(1500, 4)
    data = encode(importance_prefix_layers(scene, (0.3, 1.0)), EncoderConfig(chunks=3, fidelity=False))
    camera = orbit_cameras(scene, 4, 96, 96)[1]
    facts = _figures(scene, data, camera, (1.0, 1.0, 1.0), tmp_path)
    sheet = Image.open(tmp_path / facts["contact_sheet"])
    assert sheet.size[0] >= 3 * SHEET_PX  # original + two layers on the first row, at full size
    assert (tmp_path / facts["streaming_quality"]).stat().st_size > 5000
    states = facts["states"]
    index = read_index(data)
    ends = [c.offset + c.full_bytes for layer in index.layers for c in layer.chunks]
    assert [s["bytes"] for s in states] == ends
    cam = camera.resized(SHEET_PX, SHEET_PX)
    want = psnr(np.clip(render(decode(data), cam, (1, 1, 1)), 0, 1), np.clip(render(scene, cam, (1, 1, 1)), 0, 1))
    assert states[-1]["psnr"] == round(float(want), 2) and states[-1]["gaussians"] == len(scene)
