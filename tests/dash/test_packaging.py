"""Packager: the MPD of a stream validates against the official schema and parses back into exactly what the
stream's index implies (expectations computed here from the index, not from the packager's output)."""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from splc_fake import make_fake_stream

from splatcast.dash.layout import (
    SCHEME_OPERATING_POINT,
    build_mpd,
    check_index_matches,
    interpret_mpd,
)
from splatcast.dash.mpd import UINT_MAX, parse_mpd, write_mpd
from splatcast.dash.packager import package
from splatcast.errors import ManifestError

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "fake_stream.mpd"
VALIDATOR = HERE.parents[2] / "shared" / "tools" / "validate_mpd.py"


def _schema():
    if not VALIDATOR.is_file():
        pytest.skip("../shared/tools/validate_mpd.py not present")
    spec = importlib.util.spec_from_file_location("validate_mpd", VALIDATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_schema()


def _assert_valid(mpd_bytes: bytes) -> None:
    from lxml import etree

    schema = _schema()
    ok = schema.validate(etree.fromstring(mpd_bytes))
    assert ok, [e.message for e in schema.error_log][:5]


def expected_operating_points(index, duration_s=1.0):
    """(layer, level) -> (chunks, refine, dependencyLevel, bandwidth, gaussians), straight from the index."""
    out = {}
    lower = index.header_bytes
    for j, layer in enumerate(index.layers):
        for k in range(len(layer.chunks)):
            for refine in ("dc", "full"):
                level = 2 * k + (refine == "full")
                prefix = sum((c.dc_bytes if refine == "dc" else c.full_bytes) for c in layer.chunks[: k + 1])
                deps = [2 * i for i in range(k)] if refine == "dc" else list(range(level))
                gaussians = sum(c.gaussians for c in layer.chunks[: k + 1])
                out[(j, level)] = (k + 1, refine, deps, math.ceil((lower + prefix) * 8 / duration_s), gaussians)
        lower += sum(c.full_bytes for c in layer.chunks)
    return out


def check_mpd_against_index(mpd, index, media_url):
    aset = mpd.periods[0].adaptation_sets[0]
    assert len(mpd.periods) == 1 and len(mpd.periods[0].adaptation_sets) == 1
    expected = expected_operating_points(index, mpd.media_presentation_duration_s)
    assert [r.id for r in aset.representations] == [f"L{j}" for j in range(len(index.layers))]
    total = index.header_bytes
    for j, rep in enumerate(aset.representations):
        total += sum(c.full_bytes for c in index.layers[j].chunks)
        assert rep.dependency_id == [f"L{i}" for i in range(j)]
        assert rep.bandwidth == math.ceil(total * 8 / mpd.media_presentation_duration_s)
        assert rep.base_urls == [media_url]
        assert rep.segment_base.index_range == (0, index.header_bytes - 1)
        assert rep.segment_base.index_range_exact is True
        assert rep.segment_base.initialization.range == (0, index.header_bytes - 1)
        assert len(rep.sub_representations) == 2 * len(index.layers[j].chunks)
        for sub in rep.sub_representations:
            chunks, refine, deps, bandwidth, gaussians = expected[(j, sub.level)]
            assert sub.dependency_level == deps
            assert sub.bandwidth == bandwidth
            (prop,) = sub.supplemental_properties
            assert prop.scheme_id_uri == SCHEME_OPERATING_POINT
            want = f"chunks={chunks},refine={refine},gaussians={gaussians}"
            chunk = index.layers[j].chunks[chunks - 1]
            code = chunk.fidelity_dc if refine == "dc" else chunk.fidelity_full  # docs/format.md 1.3
            if code:  # recorded: written as dB with 2 decimals, "inf" for the top layer
                want += ",fidelity=" + ("inf" if code == 0xFFFF else f"{code // 100}.{code % 100:02d}")
            assert prop.value == want


def test_golden_mpd_validates_and_parses_to_what_the_index_implies():
    _, index = make_fake_stream((3, 4, 4), seed=0)
    golden = GOLDEN.read_bytes()
    _assert_valid(golden)
    mpd = parse_mpd(golden)
    assert mpd.title == "fake stream"
    check_mpd_against_index(mpd, index, "scene.splc")
    check_index_matches(interpret_mpd(mpd), index)
    # and the packager still writes exactly the golden bytes
    assert write_mpd(build_mpd(index, "scene.splc", title="fake stream")) == golden


@pytest.mark.parametrize("chunks", [(1,), (1, 1), (5, 2, 7)])
def test_mpd_of_several_shapes_validates(chunks):
    _, index = make_fake_stream(chunks, seed=len(chunks))
    data = write_mpd(build_mpd(index, "s.splc"))
    _assert_valid(data)
    check_mpd_against_index(parse_mpd(data), index, "s.splc")


def test_real_stream_packages_into_a_valid_mpd(tmp_path, real_stream):
    from splatcast.codec import read_index

    src = tmp_path / "scene.splc"
    src.write_bytes(real_stream)
    manifest = package(src, tmp_path / "out")
    assert (tmp_path / "out" / "scene.splc").read_bytes() == real_stream
    data = manifest.read_bytes()
    _assert_valid(data)
    index = read_index(real_stream)
    mpd = parse_mpd(data)
    check_mpd_against_index(mpd, index, "scene.splc")
    stream = interpret_mpd(mpd)
    check_index_matches(stream, index)
    assert stream.header_bytes == index.header_bytes and stream.media_url == "scene.splc"


def test_mdc_streams_have_no_dependencies():
    _, index = make_fake_stream((2, 2), seed=1)
    index.mode = "mdc"
    mpd = parse_mpd(write_mpd(build_mpd(index, "s.splc")))
    reps = mpd.periods[0].adaptation_sets[0].representations
    assert [r.dependency_id for r in reps] == [[], []]
    assert reps[1].bandwidth == math.ceil((index.header_bytes + sum(c.full_bytes for c in index.layers[1].chunks)) * 8)
    assert interpret_mpd(mpd).mode == "mdc"


def test_nominal_duration_stretches_when_bandwidth_would_overflow():
    _, index = make_fake_stream((2,), seed=2)
    big = 700_000_000  # 5.6 Gbit > xs:unsignedInt at 1 s
    index.layers[0].chunks[1].full_bytes = index.layers[0].chunks[1].dc_bytes = big
    mpd = build_mpd(index, "s.splc")
    assert mpd.media_presentation_duration_s == 2.0
    subs = mpd.periods[0].adaptation_sets[0].representations[0].sub_representations
    assert max(s.bandwidth for s in subs) <= UINT_MAX


def test_index_that_contradicts_the_mpd_is_refused():
    _, index = make_fake_stream((2, 3), seed=3)
    stream = interpret_mpd(parse_mpd(write_mpd(build_mpd(index, "s.splc"))))
    index.layers[1].chunks[2].full_bytes += 1
    with pytest.raises(ManifestError, match="bandwidth"):
        check_index_matches(stream, index)
    _, other = make_fake_stream((2, 2), seed=3)
    with pytest.raises(ManifestError):
        check_index_matches(stream, other)


@pytest.mark.parametrize(
    "old,new,match",
    [
        (b"urn:splatcast:dash:stream:2025", b"urn:other:scheme", "exactly one AdaptationSet"),
        (b'value="layer=1,', b'value="layer=0,', "twice"),
        (b'dependencyId="L0"', b'dependencyId="L1"', "dependencyId"),
        (b"chunks=2,refine=dc", b"chunks=2,refine=xx", "refine"),
        (b'level="3"', b'level="9"', "level"),
        (b"mapping=1", b"mapping=7", "mapping"),
        (b'indexRange="0-', b'indexRange="5-', "indexRange"),
        (b'value="layer=1,chunks=', b'value="layer=' + b"1" * 5000 + b',chunks=', "unsigned integer"),  # not int()
    ],
)
def test_interpret_refuses_inconsistent_manifests(old, new, match):
    _, index = make_fake_stream((3, 4), seed=4)
    data = write_mpd(build_mpd(index, "s.splc"))
    assert old in data
    with pytest.raises(ManifestError, match=match):
        interpret_mpd(parse_mpd(data.replace(old, new, 1)))


def test_official_examples_are_not_splatcast_streams():
    examples = HERE.parents[2] / "shared" / "data" / "dash-schema" / "examples"
    path = examples / "example_G5.mpd"
    if not path.is_file():
        pytest.skip("examples not present")
    with pytest.raises(ManifestError, match="AdaptationSet"):
        interpret_mpd(parse_mpd(path.read_bytes()))


def test_package_cli(tmp_path, real_stream):
    from splatcast.cli.main import main

    src = tmp_path / "scene.splc"
    src.write_bytes(real_stream)
    assert main(["package", str(src), "-o", str(tmp_path / "pkg"), "--json"]) == 0
    assert (tmp_path / "pkg" / "manifest.mpd").is_file()
    assert (tmp_path / "pkg" / "scene.splc").read_bytes() == real_stream
    bad = tmp_path / "bad.splc"
    bad.write_bytes(b"NOPE" + bytes(100))
    assert main(["package", str(bad), "-o", str(tmp_path / "pkg2")]) == 2
    assert not os.path.exists(tmp_path / "pkg2" / "manifest.mpd")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzzed_golden_mpd_only_raises_manifest_error(data):
    golden = GOLDEN.read_bytes()
    pos = data.draw(st.integers(0, len(golden) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=6) | st.sampled_from([b"0", b"9", b"\xc2\xb2", b" ", b",", b"="]))
    mutated = golden[:pos] + junk + golden[pos + data.draw(st.integers(0, 6)) :]
    try:
        interpret_mpd(parse_mpd(mutated))
    except ManifestError:
        pass


@pytest.mark.parametrize("entropy", ["lzma", "paq"])
def test_package_refuses_a_stream_the_web_player_cannot_decode(tmp_path, capsys, entropy):
    """The JavaScript decoder reads rans and zstd only: other streams are refused (nothing written) unless asked."""
    if entropy == "paq":
        pytest.importorskip("paq")
    from splc_real import make_real_stream

    from splatcast.cli.main import main

    src = tmp_path / "scene.splc"
    src.write_bytes(make_real_stream(n0=60, n_layers=2, chunks=2, seed=1, entropy=entropy))
    assert main(["package", str(src), "-o", str(tmp_path / "pkg")]) == 2
    err = capsys.readouterr().err
    assert "web player cannot decode" in err and entropy in err and "--allow-unplayable" in err
    assert not (tmp_path / "pkg").exists()
    assert main(["package", str(src), "-o", str(tmp_path / "pkg"), "--allow-unplayable", "--json"]) == 0
    assert (tmp_path / "pkg" / "manifest.mpd").is_file()
    assert '"playable_in_browser": false' in capsys.readouterr().out
