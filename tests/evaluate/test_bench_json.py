"""The benchmarks' --json writes the schema `splatcast bench` writes (splatcast-bench/1), checked by one validator."""

import importlib
import json
import pkgutil
from types import SimpleNamespace

import pytest

import benchmarks
from benchmarks._results import BenchResults
from splatcast.evaluate import report

BENCHMARKS = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))


def test_every_benchmark_is_listed():
    assert len(BENCHMARKS) >= 14 and "bench_codec" in BENCHMARKS and "bench_order" in BENCHMARKS


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_takes_json_path(name, capsys):
    module = importlib.import_module(f"benchmarks.{name}")
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    assert "--json [PATH]" in capsys.readouterr().out


def _args(**kw):
    return SimpleNamespace(**kw)


def test_bench_results_document(tmp_path):
    path = tmp_path / "r.json"
    res = BenchResults("bench_x", _args(n=3, mode="fast", json=str(path)), ["--n", "3", "--json", str(path)])
    res.add("scene a", {"value": float("inf"), "rows": [{"x": 1.5}]}, source="made here", seconds=2.0)
    res.skip("scene b", "its data is absent")
    doc = res.emit()
    back = json.loads(path.read_text())
    assert back == doc and report.schema_problems(back) == []
    assert back["schema"] == report.SCHEMA == "splatcast-bench/1"
    assert back["command"] == f"python -m benchmarks.bench_x --n 3 --json {path}"
    assert back["settings"] == {"n": 3, "mode": "fast"}  # the arguments, without --json itself
    a = back["experiments"]["bench_x"]["scene a"]
    assert a == {"status": "ok", "reason": None, "seconds": 2.0, "plots": [], "value": None, "rows": [{"x": 1.5}]}
    assert back["experiments"]["bench_x"]["scene b"] == {"status": "skipped", "reason": "its data is absent",
                                                         "seconds": 0.0}
    assert back["skipped"] == [{"experiment": "bench_x", "scene": "scene b", "reason": "its data is absent"}]
    assert back["errors"] == []
    assert back["scenes"]["scene a"] == {"status": "ok", "reason": None,
                                         "layer_set": {"name": "scene a", "source": "made here"}}
    assert back["scenes"]["scene b"]["status"] == "skipped"
    assert back["wall_s"] >= 0 and back["machine"]["cpu_count"] >= 1 and "numpy" in back["versions"]


def test_bench_results_without_json_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = BenchResults("bench_x", _args(json=None), [])
    with res.tables():
        print("a table")
    res.add("s", {"v": 1})
    res.emit()
    assert capsys.readouterr().out == "a table\n" and list(tmp_path.iterdir()) == []


def test_bare_json_prints_the_document_and_moves_tables_to_stderr(capsys):
    from benchmarks import bench_knn

    assert bench_knn.main(["--n", "300", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout is the document alone
    assert report.schema_problems(doc) == []
    assert '"case": "co-located"' in captured.err  # the printed table, on stderr
    cases = doc["experiments"]["bench_knn"]
    assert set(cases) == {"co-located", "cluster+2 outliers", "uniform volume"}
    assert all(c["status"] == "ok" and c["exact_on_sample"] is True and c["points"] >= 300 for c in cases.values())
    assert doc["settings"] == {"n": 300}


def test_bench_order_json_path_keeps_the_table(tmp_path, capsys):
    from benchmarks import bench_order
    from splatcast.scene.default import lab_bench
    from splatcast.scene.formats import write_scene

    write_scene(lab_bench(600, 0), tmp_path / "small.ply")
    path = tmp_path / "order.json"
    bench_order.main([str(tmp_path / "small.ply"), "--views", "2", "--size", "32", "--json", str(path)])
    out = capsys.readouterr().out
    assert "small.ply (600 Gaussians)" in out and "peel (the default) - best other" in out
    doc = json.loads(path.read_text())
    assert report.schema_problems(doc) == []
    entry = doc["experiments"]["bench_order"]["small.ply"]
    assert entry["gaussians"] == 600 and set(entry["curves"]) >= {"peel", "blend", "importance", "random"}
    assert len(entry["curves"]["peel"]) == len(entry["fractions"]) == 9


def test_schema_problems_finds_what_is_wrong():
    doc = report.new_results("cmd", {}, ["e"])
    doc["wall_s"] = 1.0
    assert report.schema_problems(doc) == []
    report.record(doc, "e", "s", {"status": "error", "reason": "boom", "seconds": 0.1})
    assert report.schema_problems(doc) == [] and doc["errors"][0]["reason"] == "boom"
    with pytest.raises(ValueError, match="status"):
        report.record(doc, "e", "t", {"status": "fine", "reason": None, "seconds": 0})
    bad = dict(doc, experiments={"e": {"s": {"status": "ok", "reason": None, "seconds": 0}}})
    assert any("plots" in p for p in report.schema_problems(bad))
    bad = dict(doc, errors=[])
    assert any("not listed" in p for p in report.schema_problems(bad))
    bad = {k: v for k, v in doc.items() if k != "command"}
    assert report.schema_problems(bad) == ["missing key 'command'"]


def test_bench_encode_times_each_order_or_skips(tmp_path, capsys, monkeypatch):
    from benchmarks import bench_codec, bench_encode

    if (bench_codec.DATA / "4_0").exists():
        path = tmp_path / "encode.json"
        bench_encode.main(["--scene", "small", "--repeats", "1", "--orders", "blend", "importance",
                           "--json", str(path)])
        out = capsys.readouterr().out
        assert "blend / importance (fidelity off)" in out
        entry = json.loads(path.read_text())["experiments"]["bench_encode"]["small"]
        assert [r["order"] for r in entry["rows"]] == ["blend", "importance"]
        assert all(r["encode_s"] > 0 and r["bytes"] > 1000 for r in entry["rows"])
        assert entry["rows"][0]["order_s"] > entry["rows"][1]["order_s"]  # rendering the views costs
    monkeypatch.setattr(bench_encode, "DATA", tmp_path / "absent")
    rc = bench_encode.main(["--json", str(tmp_path / "skip.json")])
    assert rc == 0
    skipped = json.loads((tmp_path / "skip.json").read_text())["skipped"]
    assert skipped and skipped[0]["scene"] == "playbot"
