"""Write the seed corpora into tests/fuzz/corpus/<target>/ (small valid inputs; rerun after a format change).

    python -m fuzz.make_corpus
"""

from __future__ import annotations

import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fuzz" / "corpus"


def _cloud(n: int, degree: int, seed: int):
    from splatcast.scene.cloud import GaussianCloud

    rng = np.random.default_rng(seed)
    k = (degree + 1) ** 2 - 1
    return GaussianCloud(
        means=rng.normal(size=(n, 3)), scales=rng.normal(-3, 0.5, (n, 3)), quats=rng.normal(size=(n, 4)),
        opacities=rng.normal(size=n), sh_dc=rng.normal(size=(n, 3)), sh_rest=rng.normal(0, 0.1, (n, k, 3)),
    )


def main() -> int:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.codec.entropy import encode_stream, irans_backend
    from splatcast.dash.packager import package
    from splatcast.net.webrtc import encode_frames
    from splatcast.scene.formats import write_scene

    shutil.rmtree(OUT, ignore_errors=True)
    seeds: dict[str, dict[str, bytes]] = {}
    low = _cloud(40, 1, 1)
    high = _cloud(80, 1, 2)
    seeds["container"] = {
        f"{e}.splc": encode([low, high], EncoderConfig(entropy=e, chunks=2, partial="replace"))
        for e in ("rans", "irans", "zstd", "lzma")
    }
    # a tiled (4.0) file: tile boxes, per-tile chunk tables, box checks (docs/format.md 1.7)
    seeds["container"]["rans_tiled.splc"] = encode(
        [_cloud(80, 1, 1), _cloud(160, 1, 2)],
        EncoderConfig(entropy="rans", chunks=2, partial="replace", tile_gaussians=100))
    rng = np.random.default_rng(3)
    for backend in ("rans", "zstd", "lzma", "irans"):  # (irans last: the older seeds keep their random draws)
        seeds[backend] = {}
        n = 1100 if backend == "irans" else 300
        for i, (dtype, ctx_flag) in enumerate([(np.int8, 0), (np.int16, 1), (np.int32, 0)]):
            v = np.clip(np.round(rng.laplace(0, 9, n)), -100, 100).astype(dtype)
            ctx = (np.arange(n) % (1 + 3 % 7)).astype(np.int32) if ctx_flag else None
            prefix = struct.pack("<HBB", n, i, 3 if ctx_flag else 0)
            if backend == "irans":  # on 4 lanes (the encoder would choose one for so few values)
                seeds[backend][f"s{i}"] = prefix + irans_backend.encode(v, ctx, 4)
            else:
                seeds[backend][f"s{i}"] = prefix + encode_stream(v, backend, ctx if backend == "rans" else None)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, suffix in (("ply", ".ply"), ("splat", ".splat"), ("spz", ".spz"), ("gltf", ".glb")):
            path = tmp / f"scene{suffix}"
            write_scene(_cloud(30, 1, 4), path)
            seeds[name] = {f"seed{suffix}": path.read_bytes()}
        # the formats splatcast reads but does not write: the test suite's writers made from the format descriptions
        sys.path.insert(0, str(ROOT / "tests" / "scene"))
        import io
        import zipfile

        from format_fixtures import compressed_ply_bytes, random_cloud, sog_files

        seeds["compressed_ply"] = {"seed.compressed.ply": compressed_ply_bytes(random_cloud(300, 1, seed=5))}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for member, data in sog_files(random_cloud(30, 1, seed=6)).items():
                z.writestr(member, data)
        seeds["sog"] = {"seed.sog": buf.getvalue()}
        src = tmp / "s.splc"
        src.write_bytes(seeds["container"]["rans.splc"])
        package(src, tmp / "pkg")
        seeds["mpd"] = {p.name: p.read_bytes() for p in (tmp / "pkg").glob("*.mpd")}
    seeds["http_range"] = {"a": b"bytes=0-99\n/scene.splc", "b": b"bytes=-5\n/a/../scene.splc", "c": b"bytes=5-\n/x"}
    frame = next(encode_frames(7, 206, [b"abc"], 3))
    seeds["webrtc"] = {"req": b'{"id": 3, "path": "/scene.splc", "range": [0, 10]}', "frame": frame}
    for target, files in seeds.items():
        (OUT / target).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (OUT / target / name).write_bytes(data)
    total = sum(len(d) for files in seeds.values() for d in files.values())
    print(f"wrote {sum(len(f) for f in seeds.values())} seeds ({total} bytes) into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
