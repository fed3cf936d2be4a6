"""Runs the experiments over the layer sets and writes results.json, report.md and the plots into one folder.

Every (experiment, scene) pair runs on its own: a missing part, file or tool makes that pair "skipped" with the
reason, an exception makes it "error" with the exception text; neither stops the others.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from splatcast.evaluate import decode_time, formats_compare, plots, progressive, rd, report, streaming_eval
from splatcast.evaluate.common import BenchConfig, Unavailable, log
from splatcast.evaluate.layersets import layer_set

# name -> (run(layer_set, config) -> dict, plot(result, out_dir, scene) -> [file names])
EXPERIMENTS = {
    "rd": rd.run,
    "decode_time": decode_time.run,
    "progressive": progressive.run,
    "formats": formats_compare.run,
    "streaming": streaming_eval.run,
}


def _plot(exp: str, result: dict, out_dir: Path, scene: str) -> list[str]:
    title = scene
    if exp == "rd":
        return [plots.rd(result, out_dir / f"rd_{scene}.png", title)]
    if exp == "decode_time":
        return [plots.decode_time(result, out_dir / f"decode_time_{scene}.png", title)]
    if exp == "progressive":
        return [plots.progressive(result, out_dir / f"progressive_{scene}.png", title)] + result.pop("_strip_files", [])
    if exp == "streaming":
        return [plots.streaming(result, out_dir / f"streaming_{scene}.png", title)]
    return []


def run_bench(config: BenchConfig, scenes: list[str], experiments: list[str] | None = None, command: str = "") -> dict:
    experiments = list(EXPERIMENTS) if experiments is None else experiments
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results = report.new_results(command or "splatcast bench", config.as_dict(), experiments)
    for scene in scenes:
        log(config, f"loading layer set {scene}")
        try:
            ls = layer_set(scene, config)
            results["scenes"][scene] = {"status": "ok", "reason": None, "layer_set": ls.describe()}
        except Unavailable as exc:
            ls = None
            results["scenes"][scene] = {"status": "skipped", "reason": str(exc), "layer_set": None}
        except Exception as exc:  # noqa: BLE001 - a broken reader must not stop the other scenes
            ls = None
            results["scenes"][scene] = {"status": "error", "reason": _error_text(exc), "layer_set": None}
        for exp in experiments:
            report.record(results, exp, scene, _run_one(exp, ls, results["scenes"][scene], config, out_dir, scene))
    results["wall_s"] = time.perf_counter() - t_start
    report.write_json(results, out_dir / "results.json")
    report.write_markdown(results, out_dir / "report.md")
    return report.sanitize(results)


def _error_text(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _run_one(exp, ls, scene_info, config, out_dir, scene) -> dict:
    if ls is None:
        status = "skipped" if scene_info["status"] == "skipped" else "error"
        return {"status": status, "reason": f"layer set unavailable: {scene_info['reason']}", "seconds": 0.0}
    log(config, f"{exp} on {scene}")
    t0 = time.perf_counter()
    try:
        result = EXPERIMENTS[exp](ls, config)
    except Unavailable as exc:
        return {"status": "skipped", "reason": str(exc), "seconds": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - recorded in the report; the other experiments go on
        return {"status": "error", "reason": _error_text(exc), "seconds": time.perf_counter() - t0}
    result = {"status": "ok", "reason": None, **result}
    try:
        result["plots"] = _plot(exp, result, out_dir, scene)
    except Exception as exc:  # noqa: BLE001 - numbers are kept even when a figure fails
        result["plots"] = []
        result.setdefault("notes", []).append(f"plot failed: {_error_text(exc)}")
    result["seconds"] = time.perf_counter() - t0
    return result
