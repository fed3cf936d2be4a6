"""`splatcast share`: one command from a scene file to a served player site (and a folder to copy anywhere).

Oracles: the input scene itself (Gaussian count of the decoded top layer), the manifest parsed by the DASH reader,
HTTP answers of the running server, and the bytes of a folder that a second run must not touch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from splatcast.cli.main import main
from splatcast.player import is_built
from splatcast.scene.default import lab_bench
from splatcast.scene.formats import write_scene

needs_player = pytest.mark.skipif(not is_built(), reason="needs the built player (make player)")


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    path = tmp_path_factory.mktemp("share") / "bench.spz"
    write_scene(lab_bench(3000, 2), path)
    return path


@needs_player
def test_share_writes_a_complete_site_and_never_overwrites_one(scene, tmp_path, capsys):
    from splatcast.codec import decode
    from splatcast.dash.layout import check_index_matches, interpret_mpd
    from splatcast.dash.mpd import parse_mpd

    site = tmp_path / "site"
    assert main(["share", str(scene), "--out", str(site), "--no-serve", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["site"] == str(site) and facts["urls"] == [] and len(facts["gaussians"]) == 3
    names = sorted(p.name for p in site.iterdir())
    assert names == ["_player", "bench.splc", "index.html", "manifest.mpd"], names
    assert json.loads((site / "_player" / "streams.json").read_text())["default"] == "manifest.mpd"
    assert (site / "_player" / "player.js").is_file() and b"_player/player.js" in (site / "index.html").read_bytes()
    data = (site / "bench.splc").read_bytes()
    assert len(decode(data)) == len(lab_bench(3000, 2)) == facts["gaussians"][-1]
    from splatcast.codec import read_index

    check_index_matches(interpret_mpd(parse_mpd((site / "manifest.mpd").read_bytes())), read_index(data))
    # a second run into the same folder is refused before any work, and the folder is left as it was
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert main(["share", str(scene), "--out", str(site), "--no-serve"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_a_failed_share_leaves_no_folder(tmp_path):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nend_header\n")
    assert main(["share", str(bad), "--out", str(tmp_path / "site"), "--no-serve"]) == 2
    assert not (tmp_path / "site").exists()


@needs_player
@pytest.mark.timeout(120)
def test_share_serves_the_player_and_prints_where(scene):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "splatcast.cli.main", "share", str(scene), "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stdout.readline()  # printed once listening
        assert line, proc.stderr.read()
        facts = json.loads(line)
        url = facts["urls"][0]
        assert url.startswith("http://127.0.0.1:") and facts["site"] is None
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/html")
        with urllib.request.urlopen(url + "manifest.mpd", timeout=10) as r:
            assert b"urn:splatcast" in r.read()
        req = urllib.request.Request(url + "bench.splc", headers={"Range": "bytes=0-3"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 206 and r.read() == b"SPLC"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    stages = proc.stderr.read()
    assert "[1/4]" in stages and "[4/4]" in stages and "Traceback" not in stages


@needs_player
def test_share_tiles_a_scene_for_view_dependent_streaming(scene, tmp_path, capsys):
    from splatcast.codec import decode, read_index
    from splatcast.dash.layout import check_index_matches, interpret_mpd
    from splatcast.dash.mpd import parse_mpd

    site = tmp_path / "site"
    assert main(["share", str(scene), "--out", str(site), "--no-serve", "--tiles", "400"]) == 0
    data = (site / "bench.splc").read_bytes()
    index = read_index(data)
    assert index.version[0] == 4 and index.tile_count >= 4
    manifest = interpret_mpd(parse_mpd((site / "manifest.mpd").read_bytes()))
    check_index_matches(manifest, index)
    assert len(manifest.tiles) == index.tile_count
    assert len(decode(data)) == len(lab_bench(3000, 2))
    assert main(["share", str(scene), "--out", str(tmp_path / "x"), "--no-serve", "--tiles", "-1"]) == 2
    assert "--tiles" in capsys.readouterr().err
