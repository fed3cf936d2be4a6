"""glTF (.glb) with KHR_gaussian_splatting: round trips against the input cloud, the written file parsed here with
json + struct (not the reader under test), the axis change checked by rendering, and hostile files refused."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from splatcast.errors import FormatError
from splatcast.render.camera import Camera, orbit_cameras
from splatcast.render.metrics import fidelity_psnr, psnr
from splatcast.render.rasterize import render
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import detect_format, read_scene, write_scene
from splatcast.scene.formats.common import half_turn
from splatcast.scene.formats.gltf import glb_bytes, read_gltf_bytes

EXT = "KHR_gaussian_splatting"


@pytest.fixture(scope="module")
def scene():
    """The lab bench with every SH coefficient in use (its own view-dependence sits in one coefficient)."""
    cloud = lab_bench(3000, seed=3, sh_degree=3)
    cloud.sh_rest[:] = np.random.default_rng(3).normal(0.0, 0.25, cloud.sh_rest.shape)
    return cloud


def parse_glb(data: bytes) -> tuple[dict, bytes]:
    """The GLB container by its specification: 12-byte header, a JSON chunk, a BIN chunk."""
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and 28 + json_len + bin_len == len(data)
    return json.loads(data[20:20 + json_len]), data[28 + json_len:]


def attribute(doc, blob, name, width, dtype="<f4"):
    acc = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"][name]]
    view = doc["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    return np.frombuffer(blob, dtype, acc["count"] * width, start).reshape(acc["count"], width)


def test_written_file_follows_the_extension(scene):
    doc, blob = parse_glb(glb_bytes(scene))
    assert EXT in doc["extensionsUsed"] and doc["asset"]["version"] == "2.0"
    prim = doc["meshes"][0]["primitives"][0]
    assert prim["mode"] == 0 and prim["extensions"][EXT]["kernel"] == "ellipse"
    sh_names = [k for k in prim["attributes"] if "SH_DEGREE" in k]
    assert len(sh_names) == 16  # degree 3: 1 + 3 + 5 + 7 coefficients
    n = len(scene)
    pos = attribute(doc, blob, "POSITION", 3)
    # glTF is +Y up: the PLY frame turned 180 degrees about z
    np.testing.assert_array_equal(pos, scene.means * np.array([-1, -1, 1], np.float32))
    acc = doc["accessors"][prim["attributes"]["POSITION"]]
    np.testing.assert_allclose(acc["min"], pos.min(axis=0))
    np.testing.assert_allclose(acc["max"], pos.max(axis=0))
    scale = attribute(doc, blob, f"{EXT}:SCALE", 3)
    np.testing.assert_allclose(scale, np.exp(scene.scales.astype(np.float64)), rtol=1e-6)  # linear, not log
    alpha = attribute(doc, blob, f"{EXT}:OPACITY", 1)[:, 0]
    np.testing.assert_allclose(alpha, 1 / (1 + np.exp(-scene.opacities.astype(np.float64))), rtol=1e-6)
    rot = attribute(doc, blob, f"{EXT}:ROTATION", 4)
    np.testing.assert_allclose(np.linalg.norm(rot, axis=1), 1.0, atol=1e-6)  # unit, x y z w
    colour = attribute(doc, blob, "COLOR_0", 4, "u1")
    assert colour.shape == (n, 4)


def test_round_trip_keeps_the_scene(scene):
    back = read_gltf_bytes(glb_bytes(scene))
    assert len(back) == len(scene) and back.sh_degree == 3
    np.testing.assert_array_equal(back.means, scene.means)
    np.testing.assert_array_equal(back.sh_dc, scene.sh_dc)
    np.testing.assert_array_equal(back.sh_rest, scene.sh_rest)
    np.testing.assert_allclose(back.scales, scene.scales, atol=2e-6)
    np.testing.assert_allclose(back.opacities, scene.opacities, atol=2e-3)
    dots = np.abs((back.normalized_quats() * scene.normalized_quats()).sum(axis=1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-6)
    assert fidelity_psnr(scene, back, n_views=3, width=96, height=96)["psnr"] > 60.0


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_half_turn_is_a_rigid_turn_of_the_whole_scene(scene, axis):
    """Rendering the turned scene from the turned camera gives the same picture: positions, rotations and every SH
    band turn together (a wrong sign in one SH coefficient would change the colours)."""
    turn = np.diag([1.0 if a == axis else -1.0 for a in "xyz"] + [1.0])
    turned = half_turn(scene, axis)
    for cam in orbit_cameras(scene, 3, 72, 72, elevation_deg=35.0):
        turned_cam = Camera(cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy, cam.world_to_camera @ turn)
        assert psnr(render(scene, cam), render(turned, turned_cam)) > 55.0
    cam = orbit_cameras(scene, 1, 72, 72)[0]
    assert psnr(render(scene, cam), render(turned, cam)) < 30.0  # the turn is not a no-op


def test_write_scene_and_read_scene_by_name(scene, tmp_path):
    path = tmp_path / "x.glb"
    write_scene(scene, path)
    assert detect_format(path) == "gltf"
    assert len(read_scene(path)) == len(scene)
    with pytest.raises(FormatError, match=".glb"):
        write_scene(scene, tmp_path / "x.gltf")


def test_empty_and_degree_zero_scenes():
    empty = lab_bench(100, seed=1).with_sh_degree(0)[:0]
    assert len(read_gltf_bytes(glb_bytes(empty))) == 0
    flat = lab_bench(200, seed=2).with_sh_degree(0)
    assert read_gltf_bytes(glb_bytes(flat)).sh_degree == 0


def _rebuild(doc: dict, blob: bytes) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(blob), 0x004E4942) + blob
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def _prim(doc):
    return doc["meshes"][0]["primitives"][0]


MUTATIONS = {
    "huge count": lambda d: d["accessors"][0].update(count=10**12),
    "count past the view": lambda d: d["accessors"][0].update(count=d["accessors"][0]["count"] + 1),
    "view past the chunk": lambda d: d["bufferViews"][0].update(byteLength=10**9),
    "negative offset": lambda d: d["accessors"][0].update(byteOffset=-4),
    "tiny stride": lambda d: d["bufferViews"][0].update(byteStride=4),
    "sparse": lambda d: d["accessors"][0].update(sparse={"count": 1}),
    "triangles": lambda d: _prim(d).update(mode=4),
    "no scale": lambda d: _prim(d)["attributes"].pop(f"{EXT}:SCALE"),
    "partial SH band": lambda d: _prim(d)["attributes"].pop(f"{EXT}:SH_DEGREE_1_COEF_1"),
    "int positions": lambda d: d["accessors"][0].update(componentType=5125),
    "mismatched counts": lambda d: d["accessors"][3].update(count=1),
    "node transform": lambda d: d["nodes"][0].update(translation=[1, 0, 0]),
    "required compression": lambda d: d.update(extensionsRequired=["KHR_gaussian_splatting_compression_spz_2"]),
    "no splats": lambda d: _prim(d).pop("extensions"),
    "external buffer": lambda d: d["bufferViews"][0].update(buffer=1),
    "missing accessor": lambda d: _prim(d)["attributes"].update(POSITION=99),
    "string accessor": lambda d: _prim(d)["attributes"].update(POSITION="0"),
    "meshes not a list": lambda d: d.update(meshes={"a": 1}),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_malformed_models_raise_format_error(name):
    doc, blob = parse_glb(glb_bytes(lab_bench(300, seed=4, sh_degree=1)))
    MUTATIONS[name](doc)
    with pytest.raises(FormatError):
        read_gltf_bytes(_rebuild(doc, blob))


def test_malformed_containers_raise_format_error():
    good = glb_bytes(lab_bench(300, seed=4))
    cases = [b"", good[:11], b"gltf" + good[4:], good[:4] + struct.pack("<I", 1) + good[8:],  # version 1
             good[:8] + struct.pack("<I", len(good) + 4) + good[12:],  # length disagrees with the file
             good[:12] + struct.pack("<I", 2**31) + good[16:],  # chunk longer than the file
             good[:16] + b"BIN\0" + good[20:],  # first chunk not JSON
             good[:20] + b"[" + good[21:]]  # JSON that does not parse
    _, blob = parse_glb(good)
    cases += [good[:-5], _rebuild([1, 2], blob)]  # truncated; JSON that is not an object
    for data in cases:
        with pytest.raises(FormatError):
            read_gltf_bytes(data)


def test_opacity_and_scale_ranges_are_checked():
    doc, blob = parse_glb(glb_bytes(lab_bench(50, seed=6)))
    blob = bytearray(blob)
    acc = doc["accessors"][_prim(doc)["attributes"][f"{EXT}:OPACITY"]]
    start = doc["bufferViews"][acc["bufferView"]]["byteOffset"]
    blob[start:start + 4] = struct.pack("<f", 1.5)
    with pytest.raises(FormatError, match="OPACITY"):
        read_gltf_bytes(_rebuild(doc, bytes(blob)))


def test_rotations_are_read_as_unit_quaternions():
    """The reader returns unit quaternions (docs/formats.md), also from a file whose are not (normalized
    integers never are exactly); a zero one becomes the identity."""
    doc, blob = parse_glb(glb_bytes(lab_bench(50, seed=8)))
    rot = attribute(doc, blob, f"{EXT}:ROTATION", 4).copy()
    acc = doc["accessors"][_prim(doc)["attributes"][f"{EXT}:ROTATION"]]
    start = doc["bufferViews"][acc["bufferView"]]["byteOffset"]
    scaled = rot * 3.0
    scaled[0] = 0.0
    blob = blob[:start] + scaled.astype("<f4").tobytes() + blob[start + scaled.nbytes:]
    back = read_gltf_bytes(_rebuild(doc, blob))
    np.testing.assert_allclose(np.linalg.norm(back.quats, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(back.quats[0], [1, 0, 0, 0])


def test_deeply_nested_json_is_a_format_error():
    """json.loads raises RecursionError (not a ValueError) past ~1000 levels: it was a foreign exception (found by
    fuzz/worst_cases.py's glTF case)."""
    doc, blob = parse_glb(glb_bytes(lab_bench(50, seed=3)))
    doc["extras"] = "NEST"
    data = _rebuild(doc, blob)
    text_len = struct.unpack_from("<I", data, 12)[0]
    text = data[20:20 + text_len].rstrip(b" ").replace(b'"NEST"', b"[" * 5000 + b"]" * 5000)
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + data[20 + text_len:]
    with pytest.raises(FormatError, match="malformed JSON"):
        read_gltf_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
