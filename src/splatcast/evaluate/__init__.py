"""Evaluation suite: reproduces the paper's results on our scenes and compares with today's formats.

Owns: the experiments (``rd`` rate-distortion + Bjontegaard deltas, ``decode_time`` per entropy back-end,
``progressive`` prefix quality, ``formats_compare`` against PLY/SPZ/compressed PLY/SOG, ``streaming_eval`` under
bandwidth traces), the layer sets they run on (``layersets``), the outputs (``report``: results.json schema and
report.md; ``plots``: PNG figures) and the runner (``suite.run_bench``), driven by ``splatcast bench``.
Does not own: the codec, renderer, formats or client it measures — it only calls their public APIs, and an
experiment whose part is absent is skipped with the reason recorded.

Public API::

    run_bench(config: BenchConfig, scenes: list[str], experiments: list[str] | None = None) -> dict
    bd_rate(rate_anchor, psnr_anchor, rate_test, psnr_test, method="cubic") -> BDResult   # percent
    bd_psnr(...) -> BDResult                                                              # dB
"""

from splatcast.evaluate.bdrate import BDResult, bd_psnr, bd_rate
from splatcast.evaluate.common import BenchConfig, Unavailable


def run_bench(config, scenes, experiments=None, command: str = "") -> dict:
    from splatcast.evaluate.suite import run_bench as _run

    return _run(config, scenes, experiments, command)


__all__ = ["BDResult", "BenchConfig", "Unavailable", "bd_psnr", "bd_rate", "run_bench"]
