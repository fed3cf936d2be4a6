"""Tiled streams in the MPD (docs/streaming.md, "Tiles"): one AdaptationSet per tile, valid against the official
schema, parsed back into the tiles the index holds; each tile's box contains the Gaussians it decodes to."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from splc_real import make_real_stream
from test_packaging import _assert_valid

from splatcast.codec import ProgressiveDecoder, decode, read_index
from splatcast.dash.layout import SCHEME_TILE, build_mpd, check_index_matches, interpret_mpd
from splatcast.dash.mpd import parse_mpd, write_mpd
from splatcast.errors import ManifestError


@pytest.fixture(scope="module")
def tiled_stream() -> bytes:
    return make_real_stream(n0=300, n_layers=3, chunks=3, seed=1, tile_gaussians=400)


def test_tiled_mpd_validates_and_round_trips(tiled_stream):
    index = read_index(tiled_stream)
    assert index.tile_count >= 3
    mpd_bytes = write_mpd(build_mpd(index, "scene.splc", title="tiles"))
    _assert_valid(mpd_bytes)
    mpd = parse_mpd(mpd_bytes)
    sets = mpd.periods[0].adaptation_sets
    assert len(sets) == index.tile_count
    ids = [r.id for a in sets for r in a.representations]
    assert len(ids) == len(set(ids))  # Representation@id is unique within the Period
    manifest = interpret_mpd(mpd)
    check_index_matches(manifest, index)
    assert [t.tile for t in manifest.tiles] == list(range(index.tile_count))
    duration = mpd.media_presentation_duration_s
    for t, aset in enumerate(sets):
        # each tile's set: a Representation per layer of the tile's view, bandwidth = header + the tile's layers
        # up to it, dependencies on the same tile's lower layers, no SubRepresentations (the index lists them)
        view = index.tile_view(t)
        total = index.header_bytes
        assert [r.id for r in aset.representations] == [f"T{t}L{j}" for j in range(len(view.layers))]
        for j, rep in enumerate(aset.representations):
            total += sum(c.full_bytes for c in view.layers[j].chunks)
            assert rep.dependency_id == [f"T{t}L{i}" for i in range(j)]
            assert rep.bandwidth == math.ceil(total * 8 / duration)
            assert rep.base_urls == ["scene.splc"] and rep.segment_base.index_range == (0, index.header_bytes - 1)
            assert rep.sub_representations == []
        assert [ml.chunks for ml in manifest.tiles[t].layers] == [len(li.chunks) for li in view.layers]
    # compact: a tile costs a few hundred bytes of MPD per layer, whatever its chunk count
    assert len(mpd_bytes) < 1200 * index.tile_count * len(index.layers)


def test_tile_boxes_contain_their_gaussians(tiled_stream):
    index = read_index(tiled_stream)
    manifest = interpret_mpd(parse_mpd(write_mpd(build_mpd(index, "scene.splc"))))
    dec = ProgressiveDecoder(tiled_stream)
    for t, tile in enumerate(manifest.tiles):
        view = index.tile_view(t)
        for j, layer in enumerate(view.layers):
            for c, ce in enumerate(layer.chunks):
                dec.add_chunk(j, c, tiled_stream[ce.offset : ce.offset + ce.full_bytes], tile=t)
        means = dec.tile(t).cloud().means
        assert len(means) == view.layers[-1].gaussians
        assert (means >= np.array(tile.box_min) - 1e-6).all() and (means <= np.array(tile.box_max) + 1e-6).all()
    assert len(dec.cloud()) == len(decode(tiled_stream))


def test_tile_mpd_disagreements_are_refused(tiled_stream):
    index = read_index(tiled_stream)
    text = write_mpd(build_mpd(index, "scene.splc")).decode()
    untiled = dataclasses.replace(index, tile_boxes=None)  # same header, no tiles
    with pytest.raises(ManifestError, match="tiles"):
        check_index_matches(interpret_mpd(parse_mpd(text.encode())), untiled)
    bad = text.replace("tile=1,", "tile=0,", 1)  # two sets claim tile 0
    with pytest.raises(ManifestError, match="tile"):
        interpret_mpd(parse_mpd(bad.encode()))
    bad = re.sub(r'(schemeIdUri="%s" value="[^"]*min=)[^,"]*' % re.escape(SCHEME_TILE), r"\1nan 0 0", text, count=1)
    with pytest.raises(ManifestError, match="three finite numbers"):
        interpret_mpd(parse_mpd(bad.encode()))
    # a tile's set with operating points (an untiled set's SubRepresentations) is not one this client wrote
    untiled_mpd = write_mpd(build_mpd(dataclasses.replace(index, tile_boxes=None), "scene.splc")).decode()
    subrep = re.search(r"<SubRepresentation .*?</SubRepresentation>", untiled_mpd, re.S).group(0)
    bad = text.replace("</Representation>", subrep + "</Representation>", 1)
    with pytest.raises(ManifestError, match="no SubRepresentations"):
        interpret_mpd(parse_mpd(bad.encode()))
    # a set without the tile descriptor beside tiled ones
    bad = text.replace(f'<SupplementalProperty schemeIdUri="{SCHEME_TILE}"', '<SupplementalProperty schemeIdUri="x"', 1)
    with pytest.raises(ManifestError, match="one per tile"):
        interpret_mpd(parse_mpd(bad.encode()))
