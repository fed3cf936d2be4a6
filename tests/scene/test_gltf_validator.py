"""Our .glb against the Khronos glTF Validator (npm gltf-validator, pinned): the core glTF is valid.

The validator predates KHR_gaussian_splatting: it reports the extension as unsupported (info) and each of its
extension-scoped attribute names as an invalid attribute (error). Everything else it checks (GLB container,
buffer views, alignment, accessor bounds, POSITION min / max, component types) must be free of errors and warnings.
Installed by the test into ~/.cache/splatcast-npm (beside splat-transform) when Node is present; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from splatcast.scene.default import lab_bench
from splatcast.scene.formats import write_scene

PACKAGE = "gltf-validator@2.0.0-dev.3.10"
CACHE = Path.home() / ".cache" / "splatcast-npm"
SCRIPT = """
const fs = require('fs');
require('gltf-validator').validateBytes(new Uint8Array(fs.readFileSync(process.argv[1]))).then(r => {
  console.log(JSON.stringify(r.issues.messages.map(m => ({severity: m.severity, code: m.code, pointer: m.pointer}))));
}).catch(e => { console.error(String(e)); process.exit(1); });
"""


@pytest.fixture(scope="module")
def validator() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node / npm not installed")
    if not (CACHE / "node_modules" / "gltf-validator").is_dir():
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            pytest.skip(f"npm install {PACKAGE} failed: {proc.stderr.strip()[-300:]}")
    return CACHE / "node_modules"


@pytest.mark.parametrize("degree", [0, 3])
def test_core_gltf_is_valid(validator, tmp_path, degree):
    path = tmp_path / "x.glb"
    write_scene(lab_bench(2000, seed=degree, sh_degree=max(degree, 1)).with_sh_degree(degree), path)
    proc = subprocess.run(["node", "-e", SCRIPT, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(validator)})
    assert proc.returncode == 0, proc.stderr
    issues = json.loads(proc.stdout)
    unknown_attribute = [m for m in issues if m["code"] == "MESH_PRIMITIVE_INVALID_ATTRIBUTE"]
    assert all("/attributes/KHR_gaussian_splatting:" in m["pointer"] for m in unknown_attribute)
    assert len(unknown_attribute) == 3 + (degree + 1) ** 2  # ROTATION SCALE OPACITY and each SH coefficient
    others = [m for m in issues if m not in unknown_attribute and m["severity"] <= 1]  # 0 error, 1 warning
    assert others == [], others
