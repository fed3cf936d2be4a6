"""The MPD model: typed attributes (xs:boolean, lists, durations, ranges), official examples, malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatcast.dash.mpd import (
    MPD,
    AdaptationSet,
    Descriptor,
    Period,
    Representation,
    SegmentBase,
    SubRepresentation,
    URLType,
    format_duration,
    parse_bool,
    parse_duration,
    parse_mpd,
    write_mpd,
)
from splatcast.errors import ManifestError

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "dash-schema" / "examples"


@pytest.mark.parametrize("text,value", [("true", True), ("false", False), ("1", True), ("0", False), (" true ", True)])
def test_xs_boolean_accepts_all_four_lexical_forms(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["True", "yes", "", "2", "falsey"])
def test_xs_boolean_rejects_other_text(text):
    with pytest.raises(ManifestError, match="xs:boolean"):
        parse_bool(text)


def _mpd_with(attrs: str = "", aset_attrs: str = "", rep_attrs: str = 'id="a" bandwidth="1"', body: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:x:y" minBufferTime="PT1S" '
        f'{attrs}><Period><AdaptationSet {aset_attrs}><Representation {rep_attrs}>{body}</Representation>'
        "</AdaptationSet></Period></MPD>"
    ).encode()


def test_false_booleans_stay_false_through_a_round_trip():
    # python-mpegdash writes bool("false") == True back; this model must not
    mpd = parse_mpd(_mpd_with(aset_attrs='segmentAlignment="false" subsegmentAlignment="0"'))
    aset = mpd.periods[0].adaptation_sets[0]
    assert aset.segment_alignment is False and aset.subsegment_alignment is False
    again = parse_mpd(write_mpd(mpd))
    assert again.periods[0].adaptation_sets[0].segment_alignment is False
    assert b'segmentAlignment="false"' in write_mpd(mpd)


def test_list_attributes_are_lists():
    mpd = parse_mpd(
        _mpd_with(
            rep_attrs='id="L2" bandwidth="9" dependencyId="L0  L1"',
            body='<SubRepresentation level="3" dependencyLevel="0 1 2" bandwidth="5"/>',
        )
    )
    rep = mpd.periods[0].adaptation_sets[0].representations[0]
    assert rep.dependency_id == ["L0", "L1"]
    assert rep.sub_representations[0].dependency_level == [0, 1, 2]
    assert b'dependencyId="L0 L1"' in write_mpd(mpd)


@pytest.mark.parametrize(
    "text,seconds", [("PT1S", 1.0), ("PT1.25S", 1.25), ("PT3256S", 3256.0), ("P1DT2H3M4.5S", 93784.5), ("PT0S", 0.0)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["P1Y", "P2M", "PT", "P", "1S", "PT-1S", "-PT1S", "PTS"])
def test_bad_or_unsupported_durations(text):
    with pytest.raises(ManifestError):
        parse_duration(text)


def test_model_round_trip_of_a_hand_built_document():
    original = MPD(
        profiles=["urn:a:b", "urn:c:d"],
        min_buffer_time_s=1.5,
        media_presentation_duration_s=2.0,
        title="t",
        periods=[
            Period(
                id="0",
                start_s=0.0,
                adaptation_sets=[
                    AdaptationSet(
                        id=3,
                        mime_type="application/octet-stream",
                        subsegment_alignment=False,
                        essential_properties=[Descriptor("urn:s:1", "v")],
                        representations=[
                            Representation(
                                id="L1",
                                bandwidth=10,
                                dependency_id=["L0"],
                                base_urls=["x.splc"],
                                sub_representations=[SubRepresentation(level=1, dependency_level=[0], bandwidth=7)],
                                segment_base=SegmentBase((0, 9), True, initialization=URLType(range=(0, 9))),
                            )
                        ],
                    )
                ],
            )
        ],
    )
    assert parse_mpd(write_mpd(original)) == original


def test_official_examples_parse_or_raise_manifest_error():
    if not EXAMPLES.is_dir():
        pytest.skip("../shared/data/dash-schema/examples not present")
    parsed = 0
    for path in sorted(EXAMPLES.glob("*.mpd")):
        try:
            parse_mpd(path.read_bytes())
            parsed += 1
        except ManifestError:
            pass
    assert parsed >= 25  # nearly all official examples are within the modelled subset


def test_official_svc_example_g5_values():
    path = EXAMPLES / "example_G5.mpd"
    if not path.is_file():
        pytest.skip("example_G5.mpd not present")
    mpd = parse_mpd(path.read_bytes())
    assert mpd.media_presentation_duration_s == 3256.0 and mpd.min_buffer_time_s == 1.2
    assert mpd.base_urls == ["http://cdn1.example.com/", "http://cdn2.example.com/"]
    aset = mpd.periods[0].adaptation_sets[0]
    assert aset.subsegment_alignment is True and aset.subsegment_starts_with_sap == 2
    reps = aset.representations
    assert [r.id for r in reps] == ["tag5", "tag6", "tag7"]
    assert [r.dependency_id for r in reps] == [[], ["tag5"], ["tag5", "tag6"]]
    assert [r.bandwidth for r in reps] == [512000, 768000, 1024000]
    assert reps[0].segment_base.index_range == (0, 4332)


def test_official_subrepresentation_example_g6_values():
    path = EXAMPLES / "example_G6.mpd"
    if not path.is_file():
        pytest.skip("example_G6.mpd not present")
    rep = parse_mpd(path.read_bytes()).periods[0].adaptation_sets[0].representations[0]
    subs = rep.sub_representations
    got = [(s.level, s.dependency_level, s.bandwidth) for s in subs]
    assert got == [(0, [], 128000), (1, [0], 320000), (2, [], 64000)]
    assert subs[0].content_component == ["0"] and subs[1].codecs == "avc2.4D401E"


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "XML"),
        (b"not xml at all", "XML"),
        (b"<MPD", "XML"),
        (b'<?xml version="1.0"?><html/>', "root element"),
        (b'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" minBufferTime="PT1S"><Period/></MPD>', "profiles"),
        (b'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:a:b" minBufferTime="PT1S"/>', "Period"),
        (_mpd_with(rep_attrs='id="a" bandwidth="fast"'), "bandwidth"),
        (_mpd_with(rep_attrs='id="a" bandwidth="99999999999"'), "bandwidth"),
        (_mpd_with(rep_attrs='bandwidth="1"'), "@id"),
        (_mpd_with(aset_attrs='segmentAlignment="yes"'), "xs:boolean"),
        (_mpd_with(body='<SegmentBase indexRange="10-2"/>'), "first=10"),
        (_mpd_with(attrs='type="live"'), "type"),
        (
            b'<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:a:b" minBufferTime="PT1S">'
            b'<Period id="&b;"/></MPD>',
            "DOCTYPE",
        ),
    ],
)
def test_malformed_mpds_raise_manifest_error(data, match):
    with pytest.raises(ManifestError, match=match):
        parse_mpd(data)


_GOLDEN_ISH = _mpd_with(
    rep_attrs='id="L1" bandwidth="9" dependencyId="L0"',
    body='<SubRepresentation level="1" dependencyLevel="0" bandwidth="5"/><SegmentBase indexRange="0-9"/>',
)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_GOLDEN_ISH) - 1), st.binary(min_size=0, max_size=8))
def test_fuzzed_mpd_only_raises_manifest_error(pos, junk):
    data = _GOLDEN_ISH[:pos] + junk + _GOLDEN_ISH[pos + len(junk) :]
    try:
        parse_mpd(data)
    except ManifestError:
        pass


@pytest.mark.parametrize("text", ["9" * 5000, "1" * 21])
def test_huge_integers_are_manifest_errors_not_value_errors(text):
    """Python's int() refuses > 4300 digits with a bare ValueError; every integer field is capped first."""
    from splatcast.dash.mpd import parse_range, parse_uint

    for call in (lambda: parse_uint(text, maximum=None), lambda: parse_duration("PT" + text + "S"),
                 lambda: parse_range("0-" + text)):
        with pytest.raises(ManifestError) as info:
            call()
        assert len(str(info.value)) < 200  # the message does not echo the whole input
    assert parse_uint("1" * 20, maximum=None) == int("1" * 20)
