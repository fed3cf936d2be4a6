"""No error reaches the user as a traceback: every command over bad arguments, missing or broken files and an
unreachable server ends with a one-line `error:` message and exit code 2 (issue 12's CLI sweep, run in process:
an exception escaping ``main`` fails the test)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from splatcast.cli.main import main
from splatcast.codec.encoder import EncoderConfig, encode
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import write_scene


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    cloud = lab_bench(300, seed=1)
    write_scene(cloud, d / "ok.ply")
    (d / "bad.ply").write_bytes(b"garbage\n")
    data = encode([cloud[:150], cloud], EncoderConfig(entropy="zstd", chunks=2, fidelity=False))
    (d / "ok.splc").write_bytes(data)
    (d / "trunc.splc").write_bytes(data[:100])
    return d


SWEEP = [
    "info {d}/bad.ply", "info {d}/trunc.splc", "info {d}/missing.ply",
    "decode {d}/trunc.splc -o {d}/o.ply", "decode {d}/ok.splc -o {d}/o.ply --layer 9",
    "decode {d}/ok.splc -o {d}/o.ply --chunks -1", "decode {d}/ok.splc -o {d}/o.ply --layer -1",
    "decode {d}/ok.splc -o {d}/nodir/o.ply",
    "encode {d}/bad.ply -o {d}/x.splc", "encode {d}/ok.ply -o {d}/nodir/x.splc",
    "encode {d}/ok.ply -o {d}/x.splc --chunk-growth 9", "encode {d}/ok.ply -o {d}/x.splc --knn 0",
    "encode {d}/ok.ply -o {d}/x.splc --chunks 0", "encode {d}/ok.ply -o {d}/x.splc --quality 99",
    "encode {d}/ok.ply -o {d}/x.splc --vq lots", "encode {d}/ok.ply -o {d}/x.splc --vq-lambda -1",
    "encode {d}/ok.ply -o {d}/x.splc --vq-lambda nan",
    "package {d}/trunc.splc -o {d}/pkg", "render {d}/bad.ply -o {d}/x.png", "render {d}/ok.ply -o {d}/nodir/x.png",
    "convert {d}/bad.ply {d}/x.spz", "convert {d}/ok.ply {d}/x.unknown", "compare {d}/bad.ply {d}/ok.ply",
    "layers {d}/bad.ply -o {d}/lx", "train {d}/missing -o {d}/tx", "train {d}/missing -o {d}/tx --additive",
    "serve {d}/missing", "play http://127.0.0.1:1/manifest.mpd --no-psnr",
    "play {d} --simulate", "play {d} --simulate --trace {d}/missing.trace",
    "share {d}/missing.ply", "share {d}/bad.ply --out {d}/share-bad --no-serve", "share {d}/ok.ply --no-serve",
    "share {d}/ok.ply --port 99999", "share {d}/ok.ply --layers 0", "share {d}/ok.ply --out {d}/ok.ply --no-serve",
    "serve {d} --port 99999", "serve {d} --port -1", "serve {d} --max-connections 0",
    "convert {d}/ok.ply {d}/x.ksplat", "convert {d}/ok.ply {d}/x.gltf",
]


@pytest.mark.parametrize("command", SWEEP)
def test_bad_invocations_end_in_one_line_errors(files, command, capsys):
    assert main(command.format(d=files).split()) == 2
    err = capsys.readouterr().err.strip()
    assert "error" in err and "Traceback" not in err, err


def test_a_reader_that_leaves_early_ends_the_command_quietly(files):
    """`splatcast info F | head -1`: the pipe closes while the command still prints; no traceback, exit 141."""
    script = ("import sys; from splatcast.cli.main import main; "
              f"sys.exit(main(['info', {str(files / 'ok.splc')!r}]))")
    # the child's stdout is a pipe whose reader is gone before it writes a byte
    r, w = os.pipe()
    os.close(r)
    res = subprocess.run([sys.executable, "-c", script], stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(w)
    assert res.returncode == 141 and "Traceback" not in res.stderr, res.stderr
