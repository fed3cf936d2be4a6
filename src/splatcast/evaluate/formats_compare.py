"""Today's formats side by side on a layer set's top layer: size (bits per Gaussian) and fidelity PSNR.

Rows: raw INRIA PLY, SPZ v4 (splatcast's writer), PlayCanvas compressed PLY and SOG (written by the npm CLI
``@playcanvas/splat-transform`` when node is present, read back by splatcast's readers), splatcast's single-layer
coding of the top layer at the default quality and at qualities 12 and 16 (a small RD curve the other formats
are compared with in the report's findings), and the whole scalable stream (all layers; bits counted per top-layer
Gaussian).

The CLI is looked for in ``config.npm_cache`` (default ~/.cache/splatcast-npm, outside the repository) and on PATH;
it is installed there with npm only when ``config.npm_install`` is set. SOG's k-means runs on the CPU
(``--gpu cpu``) with its SH iterations capped at ``config.sog_iterations`` (the tool's default is 10).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from splatcast.codec import EncoderConfig, decode, encode
from splatcast.evaluate.common import BenchConfig, Unavailable, finite_or_none, log
from splatcast.evaluate.layersets import LayerSet
from splatcast.scene.formats import read_scene, write_scene

NPM_PACKAGE = "@playcanvas/splat-transform@3.7.0"  # the interop check users run (pinned: its conventions change)
HIGH_QUALITIES = (12, 16)  # more operating points of our coding, finer than the default (8), for a curve


def splat_transform(config: BenchConfig) -> Path:
    """Path of the splat-transform executable, installing it into the npm cache when asked to."""
    local = config.npm_cache / "node_modules" / ".bin" / "splat-transform"
    if shutil.which("node") is None:
        raise Unavailable("node is not installed")
    if local.exists():
        return local
    on_path = shutil.which("splat-transform")
    if on_path:
        return Path(on_path)
    npm = shutil.which("npm")
    if not config.npm_install:
        raise Unavailable(f"splat-transform not found in {config.npm_cache} (install it with --install-npm)")
    if npm is None:
        raise Unavailable("npm is not installed")
    config.npm_cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(config.npm_cache), NPM_PACKAGE],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 or not local.exists():
        raise Unavailable(f"npm install {NPM_PACKAGE} failed: {proc.stderr.strip()[-300:]}")
    return local


def _transform(exe: Path, src: Path, dst: Path, extra: list[str], timeout_s: float) -> None:
    cmd = [str(exe), "-w", "-q", *extra, str(src), str(dst)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"splat-transform ran past {timeout_s:.0f} s") from exc
    if proc.returncode != 0 or not dst.exists():
        raise RuntimeError(f"splat-transform exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}")


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def run(layer_set: LayerSet, config: BenchConfig) -> dict:
    top = layer_set.top
    n = len(top)
    fidelity = layer_set.fidelity(config.fidelity_views, config.fidelity_size)
    rows = []

    def add(name, fn, notes=""):
        try:
            size, cloud = fn()
            rows.append({"format": name, "status": "ok", "reason": None, "bytes": size,
                         "bits_per_gaussian": 8.0 * size / max(1, n), "gaussians": len(cloud),
                         "psnr": finite_or_none(fidelity.psnr(cloud)), "lossless": None, "notes": notes})
            rows[-1]["lossless"] = rows[-1]["psnr"] is None
            log(config, f"formats {layer_set.name} {name}: {size} bytes")
        except Unavailable as exc:
            rows.append({"format": name, "status": "skipped", "reason": str(exc), "notes": notes})
        except Exception as exc:  # noqa: BLE001 - one tool failing leaves the other rows
            rows.append({"format": name, "status": "error", "reason": f"{type(exc).__name__}: {exc}", "notes": notes})

    timeout_s = 120.0 if config.quick else 1200.0
    with tempfile.TemporaryDirectory(prefix="splatcast-formats-") as tmp:
        tmp = Path(tmp)
        ply = tmp / "top.ply"
        write_scene(top, ply)

        add("PLY (INRIA, float32)", lambda: (_size(ply), read_scene(ply)), "lossless reference")

        def spz():
            path = tmp / "top.spz"
            write_scene(top, path)
            return _size(path), read_scene(path)

        add("SPZ v4 (splatcast writer)", spz)

        def via_cli(suffix, extra):
            def fn():
                exe = splat_transform(config)
                dst = tmp / f"top{suffix}"
                _transform(exe, ply, dst, extra, timeout_s)
                return _size(dst), read_scene(dst)
            return fn

        add("PlayCanvas compressed PLY (splat-transform)", via_cli(".compressed.ply", []))
        add("SOG (splat-transform)",
            via_cli(".sog", ["--gpu", "cpu", "--sh-iterations", str(config.sog_iterations), "--max-workers", "1"]),
            f"SH k-means capped at {config.sog_iterations} iterations (tool default 10), CPU")

    def single(quality=None):
        def fn():
            extra = {} if quality is None else {"quality": quality}
            data = encode([top], EncoderConfig(mode="scalable", **extra))
            return len(data), decode(data)
        return fn

    add("splatcast single layer (default quality)", single())
    for q in HIGH_QUALITIES:
        add(f"splatcast single layer (quality {q})", single(q))

    def scalable():
        data = encode(list(layer_set.layers), EncoderConfig(mode="scalable", vq="auto"))
        return len(data), decode(data)

    add(f"splatcast scalable stream ({len(layer_set.layers)} layers)", scalable,
        "all layers; bits per top-layer Gaussian")
    return {"gaussians": n, "rows": rows}
