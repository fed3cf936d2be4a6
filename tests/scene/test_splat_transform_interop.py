"""Interop with @playcanvas/splat-transform 3.7.0, the converter users check our files with, in both directions.

Oracles: the scene before any file (rendered fidelity over an orbit) and splat-transform's own reading of the
same scene in another format. Installed by the test itself (npm, into ~/.cache/splatcast-npm, the pinned version
of splatcast.evaluate.formats_compare) when Node is present; skipped with the reason otherwise.

SPZ axes: a file without the SPZ_ADOBE_coordinate_system extension is RUB by the specification and by the
reference library (``@adobe/spz`` 0.2.3, the Niantic/Adobe code that splat-transform 3.7.0 itself depends on), and
the two files of one scene that PlayCanvas publishes (``biker.spz``, ``biker.compressed.ply``) agree only when SPZ is
read so, as splatcast does. splat-transform 3.x reads and writes SPZ unconverted (its source says so), so it turns
the biker upside down between its own two readers. splatcast writes the INRIA coordinates and declares RDF in the
extension: splat-transform (which converts nothing) and the reference library (which honours the extension) then
both read our files right. The reference library's readings are an oracle here too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from splatcast.evaluate.common import BenchConfig, Unavailable
from splatcast.evaluate.formats_compare import splat_transform
from splatcast.render.metrics import fidelity_psnr
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import read_scene, write_scene
from splatcast.scene.formats.common import half_turn
from splatcast.scene.rotation import rotation_matrices

BIKER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scenes" / "biker"
FLOOR_DB = 40.0  # the bar for a round trip through splat-transform


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    try:
        return splat_transform(BenchConfig(out_dir=tmp_path_factory.mktemp("st"), npm_install=True))
    except Unavailable as exc:
        pytest.skip(f"splat-transform unavailable: {exc}")


def _convert(exe, src: Path, dst: Path) -> Path:
    # SOG's k-means: on the CPU, SH iterations capped as `splatcast bench` does (the tool's default GPU is absent)
    extra = ["--gpu", "cpu", "--sh-iterations", "3", "--max-workers", "1"] if dst.suffix == ".sog" else []
    proc = subprocess.run([str(exe), "-w", "-q", *extra, str(src), str(dst)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and dst.exists(), proc.stderr[-500:]
    return dst


@pytest.fixture(scope="module")
def scene():
    return lab_bench(4000, seed=5).with_sh_degree(1)


def _fidelity(a, b) -> float:
    return fidelity_psnr(a, b, n_views=4, width=128, height=128)["psnr"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name,axes", [("x.ply", "auto"), ("x.compressed.ply", "auto"), ("x.splat", "auto"),
                                       ("x.spz", "auto"), ("x.spz", "raw"), ("x.spz", "rub"), ("x.sog", "auto")])
def test_what_splatcast_writes_reads_back_in_splat_transform(exe, scene, tmp_path, name, axes):
    ours = tmp_path / name
    write_scene(scene, ours, spz_axes=axes)
    written = read_scene(ours, spz_axes=axes)  # what our file holds, by our reader
    print(f"\n{name} ({axes}) as written vs the scene: {_fidelity(scene, written):.2f} dB")
    theirs = read_scene(_convert(exe, ours, tmp_path / "theirs.ply"))
    assert len(theirs) == len(scene)
    if name.endswith(".spz") and axes == "rub":  # stored RUB: splat-transform ignores the record, leaves them RUB
        assert _fidelity(written, theirs) < 20 <= FLOOR_DB <= _fidelity(written, half_turn(theirs, "x"))
    else:
        value = _fidelity(written, theirs)
        print(f"\n{name} ({axes}) -> splat-transform -> PLY: {value:.2f} dB")
        assert value >= FLOOR_DB, value


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["t.ply", "t.compressed.ply", "t.spz", "t.sog", "t.glb"])
def test_what_splat_transform_writes_reads_in_splatcast(exe, scene, tmp_path, name):
    src = tmp_path / "src.ply"
    write_scene(scene, src)
    out = _convert(exe, src, tmp_path / name)
    got = read_scene(out, spz_axes="raw")  # their SPZ is unconverted
    assert len(got) == len(scene)
    value = _fidelity(scene, got)
    print(f"\nPLY -> splat-transform -> {name} -> splatcast: {value:.2f} dB")
    assert value >= FLOOR_DB, value  # SOG too (measured 64 dB): lossy k-means, but fine on this scene


@pytest.mark.timeout(600)
@pytest.mark.skipif(not BIKER.exists(), reason="../shared biker scene not available")
def test_the_published_biker_pair_agrees_only_with_spz_read_as_rub(exe, tmp_path):
    """Not met, and by choice: issue 13 asks for biker.spz through splat-transform within 40 dB of splatcast's
    render; that needs reading an undeclared SPZ raw, which turns the bike upside down against its own compressed
    PLY and against the reference library (next test)."""
    ply = read_scene(BIKER / "biker.compressed.ply")
    rub = read_scene(BIKER / "biker.spz")
    assert len(rub) == len(ply) and np.abs(rub.means - ply.means).max() < 2e-3  # per Gaussian, SPZ's 24-bit grid
    theirs_spz = read_scene(_convert(exe, BIKER / "biker.spz", tmp_path / "spz.ply"))
    theirs_ply = read_scene(_convert(exe, BIKER / "biker.compressed.ply", tmp_path / "cply.ply"))
    print(f"\nbiker.spz through splat-transform vs splatcast's reading: {_fidelity(rub, theirs_spz):.2f} dB by the "
          f"spec's axes (default), {_fidelity(read_scene(BIKER / 'biker.spz', spz_axes='raw'), theirs_spz):.2f} dB "
          "with --spz-axes raw")
    # splat-transform's two readers disagree by the RUB <-> RDF turn; its SPZ reading equals ours with axes=raw
    assert np.abs(half_turn(theirs_spz, "x").means - theirs_ply.means).max() < 2e-3
    assert np.abs(theirs_spz.means - read_scene(BIKER / "biker.spz", spz_axes="raw").means).max() < 1e-5


@pytest.mark.timeout(600)
def test_our_glb_holds_what_splat_transform_writes_for_the_same_scene(exe, scene, tmp_path):
    """splat-transform 3.7 writes glTF but cannot read it: compare the two files attribute by attribute instead
    (parsed by the specification in test_format_gltf, not by our reader)."""
    from test_format_gltf import attribute, parse_glb

    src = tmp_path / "src.ply"
    write_scene(scene, src)
    write_scene(scene, tmp_path / "ours.glb")
    ours = parse_glb((tmp_path / "ours.glb").read_bytes())
    theirs = parse_glb(_convert(exe, src, tmp_path / "theirs.glb").read_bytes())
    names = set(ours[0]["meshes"][0]["primitives"][0]["attributes"])
    assert names == set(theirs[0]["meshes"][0]["primitives"][0]["attributes"])
    for name in sorted(names):
        width = 4 if name in ("COLOR_0", "KHR_gaussian_splatting:ROTATION") else 1 if name.endswith("OPACITY") else 3
        dtype = "u1" if name == "COLOR_0" else "<f4"
        a, b = attribute(*ours, name, width, dtype), attribute(*theirs, name, width, dtype)
        if name.endswith("ROTATION"):  # one ellipsoid has several quaternions (local axes may flip): compare them
            scale = attribute(*ours, "KHR_gaussian_splatting:SCALE", 3).astype(float)
            cov = [np.einsum("nij,nj,nkj->nik", rotation_matrices(q[:, [3, 0, 1, 2]]), scale**2,
                             rotation_matrices(q[:, [3, 0, 1, 2]])) for q in (a, b)]
            np.testing.assert_allclose(cov[0], cov[1], atol=1e-6 * float((scale**2).max()), err_msg=name)
        else:
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-5, atol=1e-5 if dtype != "u1" else 1,
                                       err_msg=name)


REFERENCE_READER = """
import createModule from %s;
import { readFileSync, writeFileSync } from "node:fs";
const spz = await createModule();
const g = spz.loadSpzFromBuffer(new Uint8Array(readFileSync(process.argv[2])), { to: spz.CoordinateSystem.RDF });
const parts = [g.positions, g.rotations, g.scales, g.colors, g.alphas, g.sh];
writeFileSync(process.argv[3], JSON.stringify({ n: g.numPoints, sh: g.shDegree, lengths: parts.map((p) => p.length) }));
writeFileSync(process.argv[4], Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
"""


def _reference_read(exe: Path, path: Path, tmp_path: Path) -> dict:
    """``path`` read by the reference SPZ library to the INRIA frame (``to: RDF``): means, xyzw rotations."""
    import json

    lib = exe.parents[1] / "@adobe" / "spz" / "dist" / "spz.js"
    if not lib.exists():
        pytest.skip(f"the reference SPZ library is not next to splat-transform ({lib})")
    script = tmp_path / "reference_read.mjs"
    script.write_text(REFERENCE_READER % json.dumps(str(lib)))
    meta, blob = tmp_path / "ref.json", tmp_path / "ref.bin"
    proc = subprocess.run(["node", str(script), str(path), str(meta), str(blob)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    info = json.loads(meta.read_text())
    flat = np.frombuffer(blob.read_bytes(), np.float32)
    parts = np.split(flat, np.cumsum(info["lengths"])[:-1])
    return {"means": parts[0].reshape(-1, 3), "xyzw": parts[1].reshape(-1, 4)}


def _same_rotations(xyzw, quats) -> bool:
    return np.abs(rotation_matrices(xyzw[:, [3, 0, 1, 2]].astype(np.float64)) - rotation_matrices(quats)).max() < 2e-2


@pytest.mark.timeout(600)
@pytest.mark.parametrize("axes", ["auto", "rub"])
def test_the_reference_spz_library_reads_our_files_as_we_do(exe, scene, tmp_path, axes):
    path = tmp_path / "x.spz"
    write_scene(scene, path, spz_axes=axes)
    ours = read_scene(path)
    ref = _reference_read(exe, path, tmp_path)
    assert len(ref["means"]) == len(ours)
    assert np.abs(ref["means"] - ours.means).max() < 1e-5
    assert _same_rotations(ref["xyzw"], ours.quats)


@pytest.mark.timeout(600)
@pytest.mark.skipif(not BIKER.exists(), reason="../shared biker scene not available")
def test_the_reference_spz_library_reads_biker_spz_as_we_do(exe, tmp_path):
    ours = read_scene(BIKER / "biker.spz")
    ref = _reference_read(exe, BIKER / "biker.spz", tmp_path)
    assert len(ref["means"]) == len(ours)
    assert np.abs(ref["means"] - ours.means).max() < 1e-5
    assert _same_rotations(ref["xyzw"], ours.quats)
