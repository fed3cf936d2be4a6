"""Progressive quality (paper Fig. 2): fidelity PSNR of prefixes of the top layer against the full top layer.

Four orders are compared (splatcast.codec.ordering): the measured rendered weight (the encoder's default), the
paper's importance (sigmoid(opacity) x volume, descending), opacity alone (descending) and a seeded random
order. Each prefix is rendered and compared with the full layer (fidelity PSNR); its size in bytes is that of a
raw PLY of the prefix (constant bytes per Gaussian), so every order is measured on the same byte scale. The real
stream is measured too: the top layer coded alone,
decoded after each chunk, with the exact bytes of that prefix from the container index. A strip of renders at
5, 10, 25, 50 and 100 % of the encoder's default order is written as a PNG.
"""

from __future__ import annotations

import numpy as np

from splatcast.codec import EncoderConfig, decode, encode
from splatcast.codec.container import read_index
from splatcast.codec.ordering import DEFAULT_ORDER, ORDERS, progressive_order
from splatcast.evaluate import plots
from splatcast.evaluate.common import BenchConfig, finite_or_none
from splatcast.evaluate.layersets import LayerSet
from splatcast.render.metrics import Fidelity

STRIP_FRACTIONS = (0.05, 0.10, 0.25, 0.50, 1.0)
MONOTONE_TOL_DB = 1e-3  # quality may stay flat but never drop more than this between consecutive prefixes


def orders(cloud, seed: int) -> dict[str, np.ndarray]:
    return {name: progressive_order(cloud, name, seed) for name in ORDERS}


def fractions(quick: bool) -> list[float]:
    extra = [] if quick else list(np.geomspace(0.01, 1.0, 13))
    return sorted({round(float(f), 4) for f in list(STRIP_FRACTIONS) + extra})


def ply_bytes_per_gaussian(cloud) -> tuple[float, int]:
    """(bytes per Gaussian, header bytes) of an INRIA PLY of this cloud: float32 x, y, z, 3 normals, the SH,
    opacity, 3 scales, 4 rotations."""
    floats = 3 + 3 + 3 + 3 * cloud.sh_rest.shape[1] + 1 + 3 + 4
    return 4.0 * floats, 1024


def non_decreasing(values: list[float], tol: float = MONOTONE_TOL_DB) -> bool:
    v = [x for x in values if x is not None]
    return all(b >= a - tol for a, b in zip(v, v[1:]))


def coded_prefixes(top, fidelity: Fidelity, config: BenchConfig) -> list[dict]:
    chunks = 8 if config.quick else 16
    data = encode([top], EncoderConfig(mode="scalable", chunks=chunks))
    index = read_index(data)
    rows, received, gaussians = [], index.header_bytes, 0
    for c, chunk in enumerate(index.layers[0].chunks):
        received += chunk.full_bytes
        gaussians += chunk.gaussians
        decoded = decode(data, layer=0, chunks=c + 1)
        rows.append({"chunk": c + 1, "gaussians": len(decoded), "bytes": received,
                     "psnr": finite_or_none(fidelity.psnr(decoded))})
    return rows


def run(layer_set: LayerSet, config: BenchConfig) -> dict:
    top = layer_set.top
    fidelity = layer_set.fidelity(config.fidelity_views, config.fidelity_size)
    per_g, header = ply_bytes_per_gaussian(top)
    n = len(top)
    out_orders = {}
    strip_images = []
    for name, order in orders(top, config.seed).items():
        rows = []
        for f in fractions(config.quick):
            k = max(1, int(round(f * n)))
            prefix = top[order[:k]]
            rows.append({"fraction": f, "gaussians": k, "bytes_raw": int(header + per_g * k),
                         "psnr": finite_or_none(fidelity.psnr(prefix))})
            if name == DEFAULT_ORDER and any(abs(f - s) < 1e-9 for s in STRIP_FRACTIONS):
                strip_images.append((f, k, fidelity.render_views(prefix)[0]))
        out_orders[name] = rows
    coded = coded_prefixes(top, fidelity, config)
    monotone = {name: non_decreasing([r["psnr"] for r in rows]) for name, rows in out_orders.items()}
    if coded:
        monotone["coded_stream"] = non_decreasing([r["psnr"] for r in coded])
    strip_name = f"progressive_strip_{layer_set.name}.png"
    plots.strip([img for _, _, img in strip_images], [f"{f:.0%} ({k} G)" for f, k, _ in strip_images],
                config.out_dir / strip_name, f"{layer_set.name}: prefixes in the encoder's order ({DEFAULT_ORDER})")
    return {
        "gaussians": n,
        "orders": out_orders,
        "default_order": DEFAULT_ORDER,
        "coded_stream": coded,
        "monotone": monotone,
        "strip_fractions": list(STRIP_FRACTIONS),
        "_strip_files": [strip_name],
        "notes": [],
    }
