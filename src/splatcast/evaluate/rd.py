"""Rate-distortion experiment (paper Figs. 4 and 5): bits per Gaussian against fidelity PSNR.

For one layer set and every quality setting, each variant codes all layers:

- ``scalable_vq``: inter-layer prediction + SH-DC residual VQ (the paper's "combine"),
- ``scalable_novq``: inter-layer prediction, scalar-quantized residuals only (the paper's previous framework),
- ``mdc``: every layer coded on its own with the same quantizers and entropy coder (the paper's MDC baseline,
  with our coder in place of G-PCC).

Every layer j of every stream is decoded and rendered; a point records

- ``bpg_layer``: the bytes of layer j alone x 8 / Gaussians of layer j (the paper's per-layer cost),
- ``bpg_cumulative``: all bytes a receiver needs to show layer j (header + layers 0..j; for MDC delivered
  progressively that is the simulcast sum) x 8 / Gaussians of layer j,
- ``psnr_vs_layer``: fidelity PSNR of decoded layer j against the original layer j (coding loss of that layer),
- ``psnr_vs_top``: fidelity PSNR of decoded layer j against the original top layer (what a viewer sees).

Bjontegaard deltas of scalable_vq against each baseline, over the quality settings:

- ``enhancement``: per enhancement layer j >= 1, (bpg_layer, psnr_vs_layer) — the paper's comparison;
- ``top_progressive``: top layer, (bpg_cumulative, psnr_vs_top) — the cost of streaming to full quality;
- ``top_only`` (MDC only): MDC sending its top layer alone vs the whole scalable stream;
- ``photos_progressive`` (only when the layer set has ground-truth photos, e.g. lego): per layer j,
  (bpg_cumulative, test-view PSNR against the held-out photos) — the paper's own axes.
"""

from __future__ import annotations

import math
import time

import numpy as np

from splatcast.codec import EncoderConfig, decode, encode_with_stats
from splatcast.codec.container import read_index
from splatcast.evaluate.bdrate import bd_rate
from splatcast.evaluate.common import BenchConfig, finite_or_none, log
from splatcast.evaluate.layersets import LayerSet

VARIANTS = {
    "scalable_vq": {"mode": "scalable", "vq": "auto"},
    "scalable_novq": {"mode": "scalable", "vq": "off"},
    "mdc": {"mode": "mdc", "vq": "off"},
}
TEST_VARIANT = "scalable_vq"
BASELINES = ("scalable_novq", "mdc")


def layer_bytes(data: bytes, n_layers: int) -> tuple[list[int], int]:
    """(bytes of each layer's chunks, header bytes) from the container index."""
    index = read_index(data)
    sizes = [sum(c.full_bytes for c in layer.chunks) for layer in index.layers]
    if len(sizes) != n_layers:
        raise ValueError(f"stream has {len(sizes)} layers, expected {n_layers}")
    return sizes, int(index.header_bytes)


def encode_variant(layers, variant: str, quality: int, **extra) -> tuple[bytes, list[dict], float]:
    config = EncoderConfig(quality=quality, **VARIANTS[variant], **extra)
    t0 = time.perf_counter()
    data, stats = encode_with_stats(list(layers), config)
    return data, list(stats), time.perf_counter() - t0


def measure_points(layer_set: LayerSet, config: BenchConfig) -> list[dict]:
    layers = layer_set.layers
    fidelity = layer_set.fidelity(config.fidelity_views, config.fidelity_size)
    for j, cloud in enumerate(layers):
        if f"L{j}" not in fidelity.references:
            fidelity.add_reference(f"L{j}", cloud)
    points = []
    for variant in VARIANTS:
        for quality in config.qualities:
            data, stats, encode_s = encode_variant(layers, variant, quality)
            sizes, header = layer_bytes(data, len(layers))
            log(config, f"rd {layer_set.name} {variant} q={quality}: {len(data)} bytes in {encode_s:.1f} s")
            cumulative = header
            for j, cloud in enumerate(layers):
                cumulative += sizes[j]
                decoded = decode(data, layer=j)
                psnrs = fidelity.psnrs(decoded, ["top", f"L{j}"])
                st = stats[j] if j < len(stats) else {}
                points.append(
                    {
                        "variant": variant,
                        "quality": quality,
                        "layer": j,
                        "gaussians": len(decoded),
                        "layer_bytes": sizes[j],
                        "cumulative_bytes": cumulative,
                        "stream_bytes": len(data),
                        "bpg_layer": 8.0 * sizes[j] / max(1, len(cloud)),
                        "bpg_cumulative": 8.0 * cumulative / max(1, len(cloud)),
                        "psnr_vs_layer": finite_or_none(psnrs[f"L{j}"]),
                        "psnr_vs_top": finite_or_none(psnrs["top"]),
                        "psnr_vs_photos": finite_or_none(layer_set.photos.psnr(decoded)) if layer_set.photos else None,
                        "mode_entropy_bits": finite_or_none(st.get("mode_entropy_bits")),
                        "codebook_size": st.get("codebook_size"),
                        "encode_s": encode_s,
                    }
                )
    return points


def _curve(points, variant, layer, rate_key, psnr_key):
    sel = [p for p in points if p["variant"] == variant and p["layer"] == layer and p[psnr_key] is not None]
    return [p[rate_key] for p in sel], [p[psnr_key] for p in sel]


def bd_summary(points: list[dict], n_layers: int) -> dict:
    """Bjontegaard deltas of scalable_vq vs each baseline (see module docstring); values in percent."""
    top = n_layers - 1
    out: dict = {"enhancement": {}, "top_progressive": {}, "top_only": {}}
    if any(p.get("psnr_vs_photos") is not None for p in points):
        out["photos_progressive"] = {}
        for base in BASELINES:
            out["photos_progressive"][base] = {}
            for j in range(n_layers):
                ra, pa = _curve(points, base, j, "bpg_cumulative", "psnr_vs_photos")
                rt, pt = _curve(points, TEST_VARIANT, j, "bpg_cumulative", "psnr_vs_photos")
                out["photos_progressive"][base][f"L{j}"] = bd_rate(ra, pa, rt, pt).as_dict()
    for base in BASELINES:
        per_layer = {}
        for j in range(1, n_layers):
            ra, pa = _curve(points, base, j, "bpg_layer", "psnr_vs_layer")
            rt, pt = _curve(points, TEST_VARIANT, j, "bpg_layer", "psnr_vs_layer")
            per_layer[f"L{j}"] = bd_rate(ra, pa, rt, pt).as_dict()
        finite = [v["value"] for v in per_layer.values() if v["value"] is not None]
        out["enhancement"][base] = {"layers": per_layer, "mean": float(np.mean(finite)) if finite else None}
        ra, pa = _curve(points, base, top, "bpg_cumulative", "psnr_vs_top")
        rt, pt = _curve(points, TEST_VARIANT, top, "bpg_cumulative", "psnr_vs_top")
        out["top_progressive"][base] = bd_rate(ra, pa, rt, pt).as_dict()
    ra, pa = _curve(points, "mdc", top, "bpg_layer", "psnr_vs_top")
    rt, pt = _curve(points, TEST_VARIANT, top, "bpg_cumulative", "psnr_vs_top")
    out["top_only"]["mdc"] = bd_rate(ra, pa, rt, pt).as_dict()
    return out


def claims(points: list[dict], bd: dict, n_layers: int) -> dict:
    """The paper's ordering in bits at matched quality: scalable_vq < scalable_novq < mdc on enhancement layers.

    Measured by BD-rate where curves overlap; ``None`` where it cannot be decided (no overlapping quality).
    """
    def mean_bd(anchor, test):
        vals = []
        for j in range(1, n_layers):
            ra, pa = _curve(points, anchor, j, "bpg_layer", "psnr_vs_layer")
            rt, pt = _curve(points, test, j, "bpg_layer", "psnr_vs_layer")
            v = bd_rate(ra, pa, rt, pt).value
            if math.isfinite(v):
                vals.append(v)
        return float(np.mean(vals)) if vals else None

    vq_vs_novq = mean_bd("scalable_novq", "scalable_vq")
    novq_vs_mdc = mean_bd("mdc", "scalable_novq")
    return {
        "bd_vq_vs_novq_pct": vq_vs_novq,
        "bd_novq_vs_mdc_pct": novq_vs_mdc,
        "vq_below_novq": None if vq_vs_novq is None else vq_vs_novq < 0,
        "novq_below_mdc": None if novq_vs_mdc is None else novq_vs_mdc < 0,
    }


def run(layer_set: LayerSet, config: BenchConfig) -> dict:
    points = measure_points(layer_set, config)
    n = len(layer_set.layers)
    bd = bd_summary(points, n)
    return {
        "layer_set": layer_set.describe(),
        "points": points,
        "bd_rate": bd,
        "claims": claims(points, bd, n),
        "variants": {k: dict(v) for k, v in VARIANTS.items()},
    }
