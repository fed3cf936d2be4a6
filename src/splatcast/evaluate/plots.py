"""PNG figures of the suite's results (matplotlib, Agg backend: no display needed).

Each function takes one scene's result dict as the experiments produce it and a path; nothing here computes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

VARIANT_STYLE = {
    "scalable_vq": ("tab:red", "scalable + VQ (combine)"),
    "scalable_novq": ("tab:blue", "scalable, no VQ"),
    "mdc": ("tab:gray", "MDC (layers coded alone)"),
}
LAYER_MARKERS = "osD^vP*X"
ORDER_STYLE = {"importance": "tab:red", "opacity": "tab:orange", "blend": "tab:blue", "peel": "tab:green",
               "random": "tab:gray", "coded_stream": "black"}


def _tidy_log_axes(axes) -> None:
    """Log axes spanning a decade or more: label the decades only (minor labels overlap at small widths); a
    narrower one keeps matplotlib's minor labels, else it would show no number at all."""
    for ax in np.atleast_1d(axes):
        if ax.get_xscale() == "log":
            lo, hi = ax.get_xlim()
            if lo > 0 and np.log10(hi / lo) >= 1.0:
                ax.xaxis.set_minor_formatter(NullFormatter())


def _save(fig, path: Path) -> str:
    _tidy_log_axes(fig.axes)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def rd(result: dict, path: Path, title: str) -> str:
    """Left: every layer's own cost vs its fidelity (Fig. 4/5 style). Right: cost to stream to each layer vs the
    fidelity to the top layer."""
    points = result["points"]
    photos = any(p.get("psnr_vs_photos") is not None for p in points)
    fig, axes = plt.subplots(1, 3 if photos else 2, figsize=(16.5 if photos else 11, 4.2))
    layers = sorted({p["layer"] for p in points})
    for variant, (colour, label) in VARIANT_STYLE.items():
        for j in layers:
            sel = sorted(
                (p for p in points if p["variant"] == variant and p["layer"] == j and p["psnr_vs_layer"] is not None),
                key=lambda p: p["quality"],
            )
            if sel:
                axes[0].plot(
                    [p["bpg_layer"] for p in sel], [p["psnr_vs_layer"] for p in sel], color=colour,
                    marker=LAYER_MARKERS[j % len(LAYER_MARKERS)], label=f"{label}, L{j}", lw=1.2, ms=4,
                )
        top = layers[-1]
        sel = sorted(
            (p for p in points if p["variant"] == variant and p["layer"] == top and p["psnr_vs_top"] is not None),
            key=lambda p: p["quality"],
        )
        if sel:
            axes[1].plot(
                [p["bpg_cumulative"] for p in sel], [p["psnr_vs_top"] for p in sel], color=colour, marker="o",
                label=label, lw=1.5, ms=4,
            )
        if photos:
            for j in layers:
                sel = sorted((p for p in points if p["variant"] == variant and p["layer"] == j
                              and p.get("psnr_vs_photos") is not None), key=lambda p: p["quality"])
                if sel:
                    axes[2].plot([p["bpg_cumulative"] for p in sel], [p["psnr_vs_photos"] for p in sel], color=colour,
                                 marker=LAYER_MARKERS[j % len(LAYER_MARKERS)], label=f"{label}, L{j}", lw=1.2, ms=4)
    axes[0].set(xscale="log", xlabel="bits per Gaussian of the layer alone",
                ylabel="fidelity PSNR vs original layer (dB)",
                title=f"{title}: per layer")
    axes[1].set(xscale="log", xlabel="bits per Gaussian to receive the top layer (all layers needed)",
                ylabel="fidelity PSNR vs original top layer (dB)", title=f"{title}: full stream")
    if photos:
        axes[2].set(xscale="log", xlabel="bits per Gaussian to receive the layer",
                    ylabel="test-view PSNR vs photos (dB)",
                    title=f"{title}: against ground truth")
        axes[2].legend(fontsize=6.5)
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6.5, ncol=1)
    axes[1].legend(fontsize=8)
    return _save(fig, path)


def decode_time(result: dict, path: Path, title: str) -> str:
    backends = [b for b, r in result["backends"].items() if r.get("status") == "ok"]
    if not backends:
        raise ValueError("no back-end measured")
    n_layers = max(len(result["backends"][b]["layers"]) for b in backends)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / max(1, len(backends))
    for i, b in enumerate(backends):
        rows = result["backends"][b]["layers"]
        x = np.arange(len(rows)) + i * width
        axes[0].bar(x, [r["ms_per_kgaussian"] for r in rows], width, label=b)
        axes[1].bar(x, [r["bits_per_gaussian"] for r in rows], width, label=b)
    for ax, ylabel in zip(axes, ("decode ms per 1000 Gaussians (median)", "bits per Gaussian")):
        ax.set_xticks(np.arange(n_layers) + 0.4 - width / 2, [f"L{j}" for j in range(n_layers)])
        ax.set(ylabel=ylabel)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"{title}: decode time")
    axes[1].set_title(f"{title}: rate")
    return _save(fig, path)


def progressive(result: dict, path: Path, title: str) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for order, rows in result["orders"].items():
        rows = [r for r in rows if r["psnr"] is not None]
        colour = ORDER_STYLE.get(order, None)
        axes[0].plot([r["gaussians"] for r in rows], [r["psnr"] for r in rows], marker="o", ms=3, color=colour,
                     label=f"{order} order")
        axes[1].plot([r["bytes_raw"] for r in rows], [r["psnr"] for r in rows], marker="o", ms=3, color=colour,
                     label=f"{order} order (raw PLY bytes)")
    coded = [r for r in result.get("coded_stream", []) if r["psnr"] is not None]
    if coded:
        axes[0].plot([r["gaussians"] for r in coded], [r["psnr"] for r in coded], marker="s", ms=3,
                     color=ORDER_STYLE["coded_stream"], label="coded stream, chunk prefixes")
        axes[1].plot([r["bytes"] for r in coded], [r["psnr"] for r in coded], marker="s", ms=3,
                     color=ORDER_STYLE["coded_stream"], label="coded stream, chunk prefixes")
    axes[0].set(xscale="log", xlabel="Gaussians received", ylabel="fidelity PSNR vs full layer (dB)", title=title)
    axes[1].set(xscale="log", xlabel="bytes received", ylabel="fidelity PSNR vs full layer (dB)", title=title)
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def strip(images: list[np.ndarray], labels: list[str], path: Path, title: str) -> str:
    fig, axes = plt.subplots(1, len(images), figsize=(2.2 * len(images), 2.5))
    axes = np.atleast_1d(axes)
    for ax, img, label in zip(axes, images, labels):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def streaming(result: dict, path: Path, title: str) -> str:
    runs = [r for r in result["runs"] if r.get("status") == "ok"]
    if not runs:
        raise ValueError("no streaming run")
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        tl = r["quality_timeline"]
        xs = [t["t_s"] for t in tl if t.get("psnr") is not None]
        ys = [t["psnr"] for t in tl if t.get("psnr") is not None]
        ax.step(xs, ys, where="post", label=r["trace"])
    ax.set(xlabel="time (s)", ylabel="fidelity PSNR vs top layer (dB)", title=title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def contact_sheet(rows: list[list[tuple[np.ndarray, str]]], path: Path, title: str, tile_px: int = 512) -> str:
    """Rows of captioned images at ``tile_px`` pixels each (one figure pixel per image pixel at 100 dpi)."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    inch = tile_px / 100
    height = n_rows * (inch + 0.55) + 0.5  # captions above each tile, the title above all
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * inch, height), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(row):
                img, caption = row[c]
                ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
                ax.set_title(caption, fontsize=11, loc="left")
    fig.suptitle(title, fontsize=14, y=1 - 0.12 / height)
    fig.subplots_adjust(left=0.005, right=0.995, top=1 - 1.0 / height, bottom=0.005, wspace=0.02, hspace=0.14)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def streaming_quality(states: list[dict], path: Path, title: str) -> str:
    """PSNR of the shown state against bytes received, one marker per chunk, coloured by layer."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for layer in sorted({s["layer"] for s in states}):
        sel = [s for s in states if s["layer"] == layer]
        ax.plot([s["bytes"] for s in sel], [s["psnr"] for s in sel], marker=LAYER_MARKERS[layer % 8], ms=4,
                label=f"layer {layer} chunks")
    ax.set(xscale="log", xlabel="bytes received", ylabel="PSNR vs the original scene, this view (dB)", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
