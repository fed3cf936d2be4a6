"""The benchmarks' ``--json``: their results as a ``splatcast-bench/1`` document, the schema ``splatcast bench``
writes (src/splatcast/evaluate/report.py, docs/evaluation.md). One benchmark is one experiment, named after its
module (``bench_codec``); its scenes are what it measured (a scene, a stream, a case), each entry holding the
benchmark's own fields; ``settings`` are its arguments.

    --json PATH   print the tables as usual and write the document to PATH
    --json        print the document on stdout (sorted keys) and the tables on stderr, as ``splatcast bench --json``

Use::

    results = BenchResults("bench_x", args, argv)
    with results.tables():            # stdout goes to stderr under a bare --json
        ...
        results.add("scene", {"rows": rows}, source="where the scene comes from")
    results.emit()
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

from splatcast.evaluate import report


def add_json_argument(parser) -> None:
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as splatcast-bench/1 JSON (the schema of `splatcast bench`) to PATH; "
                        "without PATH print them on stdout and the tables on stderr")


class BenchResults:
    """One benchmark run's results document (see the module docstring)."""

    def __init__(self, name: str, args, argv=None):
        self.name = name
        self.path = getattr(args, "json", None)
        words = sys.argv[1:] if argv is None else list(argv)
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        self.results = report.new_results(" ".join([f"python -m benchmarks.{name}", *map(str, words)]),
                                          report.sanitize(settings), [name])
        self._t0 = time.perf_counter()
        self._scene_t0 = self._t0

    def tables(self):
        """Context: under a bare ``--json`` everything printed on stdout goes to stderr."""
        return contextlib.redirect_stdout(sys.stderr) if self.path == "-" else contextlib.nullcontext()

    def start_scene(self) -> None:
        """Start the clock of the next entry (by default an entry's seconds run from the previous one)."""
        self._scene_t0 = time.perf_counter()

    def _entry(self, scene: str, source: str | None, status: str, reason, fields: dict, seconds, plots) -> None:
        now = time.perf_counter()
        if scene not in self.results["scenes"] or source is not None:
            self.results["scenes"][scene] = {
                "status": status, "reason": reason,
                "layer_set": None if source is None else {"name": scene, "source": source},
            }
        entry = {"status": status, "reason": reason,
                 "seconds": now - self._scene_t0 if seconds is None else seconds}
        if status == "ok":
            entry.update(fields)
            entry["plots"] = list(plots)
        report.record(self.results, self.name, scene, entry)
        self._scene_t0 = now

    def add(self, scene: str, fields: dict, source: str | None = None, seconds: float | None = None,
            plots=()) -> None:
        """An "ok" entry: the benchmark's ``fields`` for ``scene`` (``source``: one line on where it comes from)."""
        self._entry(scene, source, "ok", None, fields, seconds, plots)

    def skip(self, scene: str, reason: str, source: str | None = None) -> None:
        """A "skipped" entry: ``scene`` could not be measured here (absent data or tool), and why."""
        self._entry(scene, source, "skipped", reason, {}, 0.0, ())

    def document(self) -> dict:
        doc = dict(self.results, wall_s=time.perf_counter() - self._t0)
        return report.sanitize(doc)

    def emit(self) -> dict:
        """Write the document where ``--json`` says (nowhere without it); returns it."""
        doc = self.document()
        if self.path == "-":
            print(json.dumps(doc, sort_keys=True, indent=1, allow_nan=False))
        elif self.path:
            report.write_json(doc, Path(self.path))
        return doc
