"""Container: index round trips, limits, version handling, truncation and corruption errors."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splatcast.codec import container as ct
from splatcast.errors import (
    BitstreamError,
    BitstreamFormatError,
    ChecksumError,
    TruncatedError,
    UnsupportedVersionError,
)


def _index(layer_specs, entropy="lzma"):
    layers = []
    for i, (coding, k_cb) in enumerate(layer_specs):
        cb = np.arange(3 * k_cb, dtype=np.int32).reshape(k_cb, 3) - 5
        layers.append(ct.LayerIndex(i, 0, [], coding, 1, 8 if coding else 0, cb))
    return ct.StreamIndex(0, 0, entropy, layers, sh_degree=1, grid_min=np.zeros(3, np.float32),
                          grid_max=np.ones(3, np.float32), steps=np.full(5, 0.1, np.float32))


@st.composite
def files(draw):
    n_layers = draw(st.integers(1, 4))
    specs, payloads = [], []
    for i in range(n_layers):
        coding = ct.CODING_INTER if i and draw(st.booleans()) else ct.CODING_INTRA
        specs.append((coding, draw(st.integers(0, 4)) if coding == ct.CODING_INTER else 0))  # intra: no codebook
        parts = []
        for _ in range(draw(st.integers(0, 3))):
            dc = draw(st.binary(max_size=40))
            rest = draw(st.binary(max_size=40)) if coding == ct.CODING_INTER else b""
            parts.append((dc, rest, draw(st.integers(1, 50))))
        payloads.append(parts)
    index = _index(specs, draw(st.sampled_from(list(ct.ENTROPY_IDS))))
    for layer, parts in zip(index.layers, payloads):
        layer.gaussians = sum(g for _, _, g in parts)
    return index, payloads


@settings(max_examples=60, deadline=None)
@given(files())
def test_index_round_trip(spec):
    index, payloads = spec
    data = ct.write_file(index, payloads)
    got = ct.read_index(data)
    assert got.header_bytes == ct.header_length(data[: ct.PREAMBLE_BYTES]) == index.header_bytes
    assert got.total_bytes == len(data)
    assert got.entropy == index.entropy
    for lg, li, parts in zip(got.layers, index.layers, payloads):
        assert lg.gaussians == li.gaussians and lg.coding == li.coding
        assert np.array_equal(lg.codebook, li.codebook)
        for c, (dc, rest, g) in zip(lg.chunks, parts):
            assert (c.dc_bytes, c.full_bytes, c.gaussians) == (len(dc), len(dc) + len(rest), g)
            assert data[c.offset : c.offset + c.full_bytes] == dc + rest
            assert ct.chunk_part(data, c, "full", "t") == (dc, rest)


def _small_file():
    index = _index([(ct.CODING_INTRA, 0), (ct.CODING_INTER, 2)])
    payloads = [[(b"abc", b"", 3)], [(b"dc-part", b"rest", 5), (b"x", b"yz", 1)]]
    index.layers[0].gaussians, index.layers[1].gaussians = 3, 6
    return ct.write_file(index, payloads)


def _reseal(data: bytearray) -> bytes:
    """Recompute the header CRC after editing a header field."""
    hb = struct.unpack_from("<I", data, 8)[0]
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[16:hb])))
    return bytes(data)


def test_bad_magic_and_future_major():
    data = bytearray(_small_file())
    with pytest.raises(BitstreamFormatError, match="magic"):
        ct.read_index(b"XXXX" + bytes(data[4:]))
    data[4] = 5
    with pytest.raises(UnsupportedVersionError, match="major 5"):
        ct.read_index(bytes(data))


def test_newer_minor_skips_unknown_sections_and_streams():
    data = bytearray(_small_file())
    hb = struct.unpack_from("<I", data, 8)[0]
    # append an unknown extension section to the header, shift chunk offsets by its size
    section = struct.pack("<HHI", 77, 0, 4) + b"\x01\x02\x03\x04"
    new = bytearray(data[:hb]) + section + data[hb:]
    struct.pack_into("<I", new, 8, hb + len(section))
    idx = ct.read_index(bytes(data))
    for layer in idx.layers:
        for c in layer.chunks:
            c.offset += len(section)
    # rewrite offsets and total in place
    struct.pack_into("<Q", new, 16, len(new))
    pos = 16 + ct._FILE_FIELDS.size
    for layer in idx.layers:
        pos += ct._LAYER_FIXED.size + 12 * layer.codebook_size
        for c in layer.chunks:
            struct.pack_into("<Q", new, pos, c.offset)
            pos += ct._CHUNK_ENTRY.size
        pos += ct._FIDELITY_ENTRY.size * len(layer.chunks)
    with pytest.raises(BitstreamFormatError, match="unknown header section"):
        ct.read_index(_reseal(new))
    new[5] = ct.VERSION_MINOR + 1
    got = ct.read_index(_reseal(new))
    assert got.version == (ct.VERSION_MAJOR, ct.VERSION_MINOR + 1)
    assert got.layers[1].chunks[0].offset == idx.layers[1].chunks[0].offset
    part = ct.pack_streams([(99, 1, b"zz"), (ct.STREAM_DC, 1, b"ok")])
    assert ct.unpack_streams(part, "t", newer_minor=True)[ct.STREAM_DC][2] == b"ok"
    with pytest.raises(BitstreamFormatError, match="unknown stream id 99"):
        ct.unpack_streams(part, "t")


def test_checksum_and_truncation_errors():
    data = _small_file()
    idx = ct.read_index(data)
    c = idx.layers[1].chunks[0]
    bad = bytearray(data)
    bad[c.offset + 1] ^= 0xFF
    with pytest.raises(ChecksumError, match="dc part"):
        ct.chunk_part(bytes(bad), c, "full", "layer 1 chunk 0")
    with pytest.raises(TruncatedError, match="needs bytes up to"):
        ct.chunk_part(data[: c.offset + 2], c, "dc", "layer 1 chunk 0")
    # a dc prefix is enough for refine=dc
    assert ct.chunk_part(data[: c.offset + c.dc_bytes], c, "dc", "x") == (b"dc-part", None)
    with pytest.raises(TruncatedError):
        ct.read_index(data[: idx.header_bytes - 1])
    with pytest.raises(TruncatedError):
        ct.header_length(data[:10])
    bad = bytearray(data)
    bad[20] ^= 1
    with pytest.raises(ChecksumError, match="header"):
        ct.read_index(bytes(bad))


def test_limits_checked_before_allocating():
    data = bytearray(_small_file())
    pos = 16 + ct._FILE_FIELDS.size
    struct.pack_into("<I", data, pos + 12, 1 << 30)  # layer 0 chunk_count
    with pytest.raises(BitstreamError, match="chunk_count"):
        ct.read_index(_reseal(data))
    data = bytearray(_small_file())
    struct.pack_into("<I", data, 8, 1 << 31)  # header_bytes
    with pytest.raises(BitstreamError, match="header_bytes"):
        ct.read_index(bytes(data))


def test_stream_framing_rejects_bad_flags_and_overruns():
    part = ct.pack_streams([(ct.STREAM_DC, 3, b"abc")])
    with pytest.raises(BitstreamFormatError, match="flags"):
        ct.unpack_streams(part, "t")
    part = ct.pack_streams([(ct.STREAM_DC, 1, b"abc")])
    with pytest.raises(TruncatedError):
        ct.unpack_streams(part[:-1], "t")
    with pytest.raises(BitstreamFormatError, match="twice"):
        ct.unpack_streams(part + part, "t")
    with pytest.raises(BitstreamFormatError, match="flags"):
        ct.unpack_streams(ct.pack_streams([(ct.STREAM_MODE, 1 | ct.FLAG_INTRA, b"")]), "t")


# ------------------------------------------------------------------------------------------------ golden file
GOLDEN = __import__("pathlib").Path(__file__).parent / "data" / "tiny_v1_0.splc"


def test_golden_file_decodes_to_its_recorded_integers():
    import json

    from splatcast.codec.decoder import decode_progressive

    data = GOLDEN.read_bytes()
    expected = json.loads(GOLDEN.with_suffix(".json").read_text())
    dec = decode_progressive(data)
    for j, layer in enumerate(expected["layers"]):
        pos, feat = dec.layer_arrays(j)
        assert pos.tolist() == layer["pos"] and feat.tolist() == layer["feat"]
    idx = ct.read_index(data)
    assert idx.version == (1, 0) and [len(li.chunks) for li in idx.layers] == [2, 2]
    # variants: truncated, bad magic, future major
    with pytest.raises(TruncatedError):
        ct.read_index(data[: idx.header_bytes - 3])
    with pytest.raises(BitstreamFormatError):
        ct.read_index(b"SPLX" + data[4:])
    with pytest.raises(UnsupportedVersionError):
        ct.read_index(data[:4] + b"\x05" + data[5:])
