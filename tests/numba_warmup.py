"""Compile every numba kernel of splatcast once into the on-disk cache, on tiny inputs of the types the tests use.

Run: ``python -m tests.numba_warmup`` (NUMBA_CACHE_DIR as the tests have it). ``tests/conftest.py`` starts it in
the background when the cache is cold: most tests run on one core, so the other compiles what later tests load
(numba writes each cache file atomically, so a test compiling the same kernel at the same time is harmless).
"""

from __future__ import annotations

import time


def main() -> None:
    t0 = time.perf_counter()
    from splatcast.net.client import CodecAdapter
    from splatcast.render.camera import orbit_cameras
    from splatcast.render.rasterize import blend_weights, render
    from splatcast.scene.default import lab_bench
    from splatcast.train.dataset import Dataset, View
    from splatcast.train.trainer import TrainConfig, Trainer

    cloud = lab_bench(600, seed=0)
    cams = orbit_cameras(cloud, 3, 32, 32)
    views = [View(c, render(cloud, c, (1.0, 1.0, 1.0)), str(i), isolated=True) for i, c in enumerate(cams)]
    blend_weights(cloud, cams[0])
    cloud.rotation_matrices()
    trainer = Trainer(Dataset(views, views[:1], (1.0, 1.0, 1.0), 4.0, "warm-up"),
                      TrainConfig(iterations=4, init_points=200, densify_from=1, densify_every=2))
    for _ in range(4):
        trainer.step()
    for entropy in ("rans", "zstd", "lzma"):
        CodecAdapter.warm_up(entropy)
    print(f"numba warm-up: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
