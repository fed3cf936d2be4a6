"""The runner's skip / error handling and the results.json + report.md outputs, with stand-in experiments."""

import json

import numpy as np
import pytest

from splatcast.evaluate import report, suite
from splatcast.evaluate.common import BenchConfig, Unavailable


def test_sanitize_makes_strict_json(tmp_path):
    data = {"a": float("nan"), "b": [float("inf"), np.float32(1.5), np.int64(3)], "c": (1, 2), 4: tmp_path}
    clean = report.sanitize(data)
    assert clean == {"a": None, "b": [None, 1.5, 3], "c": [1, 2], "4": str(tmp_path)}
    report.write_json(data, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert list(json.loads(text)) == ["4", "a", "b", "c"]  # sorted keys


def test_machine_and_versions():
    m, v = report.machine_info(), report.versions()
    assert m["cpu_count"] >= 1 and m["platform"]
    assert v["numpy"] == np.__version__ and v["splatcast"]
    assert set(report.PACKAGES) <= set(v)


def _fake_experiments(monkeypatch, calls):
    def ok(ls, config):
        calls.append(ls.name)
        return {"value": float("inf"), "notes": ["a note"]}

    def missing(ls, config):
        raise Unavailable("node is not installed")

    def broken(ls, config):
        raise RuntimeError("boom")

    monkeypatch.setattr(suite, "EXPERIMENTS", {"rd": ok, "decode_time": missing, "formats": broken})
    monkeypatch.setattr(suite, "_plot", lambda exp, result, out_dir, scene: [])


def test_run_bench_records_skips_and_errors(tmp_path, monkeypatch):
    calls = []
    _fake_experiments(monkeypatch, calls)
    config = BenchConfig.quick_defaults(tmp_path / "out", shared_root=tmp_path / "absent", progress=False)
    results = suite.run_bench(config, ["demo", "playbot"], ["rd", "decode_time", "formats"])
    assert calls == ["demo"]  # playbot's data is absent, so nothing ran on it
    rd = results["experiments"]["rd"]
    assert rd["demo"]["status"] == "ok" and rd["demo"]["value"] is None  # inf -> null
    assert rd["playbot"]["status"] == "skipped" and "absent" in rd["playbot"]["reason"]
    assert results["experiments"]["decode_time"]["demo"] == {
        "status": "skipped", "reason": "node is not installed",
        "seconds": pytest.approx(0, abs=5)}
    assert results["experiments"]["formats"]["demo"]["status"] == "error"
    assert "RuntimeError: boom" in results["experiments"]["formats"]["demo"]["reason"]
    assert {(e["experiment"], e["scene"]) for e in results["errors"]} == {("formats", "demo")}
    assert ("decode_time", "demo") in {(e["experiment"], e["scene"]) for e in results["skipped"]}
    assert results["scenes"]["demo"]["layer_set"]["gaussians"][-1] == 4000
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["schema"] == report.SCHEMA
    for key in ("date", "machine", "versions", "settings", "scenes", "experiments", "skipped", "errors", "wall_s"):
        assert key in on_disk
    assert report.schema_problems(on_disk) == []  # the validator the benchmarks' --json is checked with
    md = (tmp_path / "out" / "report.md").read_text()
    assert "skipped decode_time / demo: node is not installed" in md
    assert "**error** formats / demo: RuntimeError: boom" in md
    assert "playbot**: skipped" in md


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    from splatcast.cli.main import main

    assert main(["bench", "--quick", "--out", str(tmp_path), "--qualities", "4,x"]) == 2
    assert "--qualities" in capsys.readouterr().err
    assert main(["bench", "--quick", "--out", str(tmp_path), "--qualities", "4,40"]) == 2
    assert main(["bench", "--quick", "--out", str(tmp_path), "--max-gaussians", "3"]) == 2


def test_parts_skipped_inside_experiments_are_counted_and_listed():
    results = {"experiments": {
        "formats": {"demo": {"status": "ok", "rows": [
            {"format": "spz", "status": "ok", "bytes": 1},
            {"format": "sog (splat-transform)", "status": "skipped", "reason": "node is not installed"}]}},
        "decode_time": {"demo": {"status": "ok", "backends": {
            "rans": {"status": "ok"}, "paq": {"status": "skipped", "reason": "paq not installed"}}}},
        "streaming": {"demo": {"status": "skipped", "reason": "whole experiment"}}}}
    parts = report.skipped_parts(results)
    assert {(p["experiment"], p["part"], p["reason"]) for p in parts} == {
        ("formats", "sog (splat-transform)", "node is not installed"), ("decode_time", "paq", "paq not installed")}
