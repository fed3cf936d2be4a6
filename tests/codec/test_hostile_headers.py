"""Crafted .splc headers, read by the Python and the JS reader alike: a few kB may not make a decoder allocate
gigabytes (issue 12, finding 1: a 7.4 kB file peaked near 6 GB; each chunk's Gaussian count is bounded by its dc
bytes, docs/format.md 1.6), and every header rule of the spec is enforced by both (issue 11, item 4: reserved
fields, intra knn_k / codebook / crc_rest, the grid box)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from tests.fixtures.synthetic import synthetic_layers

from splatcast.codec import EncoderConfig, decode, encode
from splatcast.codec import container as ct
from splatcast.errors import LimitError

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _inflate_count(data: bytes, g: int) -> bytes:
    """A one-layer, one-chunk file whose layer and chunk claim `g` Gaussians (header CRC fixed up)."""
    out = bytearray(data)
    layer = ct.PREAMBLE_BYTES + ct._FILE_FIELDS.size  # noqa: SLF001 (the test crafts a header byte by byte)
    struct.pack_into("<I", out, layer + 8, g)  # gaussians
    k = struct.unpack_from("<H", out, layer + 16)[0]
    chunk = layer + ct._LAYER_FIXED.size + 12 * k  # noqa: SLF001
    struct.pack_into("<I", out, chunk + 16, g)
    header_bytes = struct.unpack_from("<I", out, 8)[0]
    struct.pack_into("<I", out, 12, zlib.crc32(bytes(out[ct.PREAMBLE_BYTES:header_bytes])))
    return bytes(out)


@pytest.fixture(scope="module")
def small():
    data = encode(synthetic_layers(n0=300, n_layers=1, sh_degree=0, seed=1), EncoderConfig(entropy="rans", chunks=1))
    assert len(data) < 20_000
    return data


def test_python_reader_refuses_counts_the_bytes_cannot_hold(small):
    idx = ct.read_index(small)
    dc = idx.layers[0].chunks[0].dc_bytes
    assert ct.read_index(_inflate_count(small, 8 * dc + 256)).layers[0].gaussians == 8 * dc + 256  # the bound itself
    with pytest.raises(LimitError, match="its bytes allow"):
        ct.read_index(_inflate_count(small, 8 * dc + 257))
    with pytest.raises(LimitError):
        decode(_inflate_count(small, 10_000_000))


@pytest.mark.skipif(NODE is None or not (ROOT / "web" / "node_modules").is_dir(), reason="node or web/node_modules")
def test_js_reader_refuses_them_too(tmp_path, small):
    path = tmp_path / "bomb.splc"
    path.write_bytes(_inflate_count(small, 10_000_000))
    res = subprocess.run([NODE, str(ROOT / "web" / "src" / "cli" / "decode.mjs"), str(path), str(tmp_path / "o.ply")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "LimitError" in res.stderr and "its bytes allow" in res.stderr, res.stderr


def test_encoder_refuses_to_write_what_decoders_would_refuse():
    index = ct.StreamIndex(header_bytes=0, total_bytes=0, entropy="rans", mode="scalable", sh_degree=0, pos_bits=14,
                           quality=8, grid_min=[0, 0, 0], grid_max=[1, 1, 1], steps=[1, 1, 1, 1, 1], layers=[])
    index.layers.append(ct.LayerIndex(0, 5000, [], ct.CODING_INTRA, 0, 0))
    with pytest.raises(ValueError, match="more than decoders accept"):
        ct.write_file(index, [[(b"x" * 100, b"", 5000)]])


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    header_bytes = struct.unpack_from("<I", out, 8)[0]
    struct.pack_into("<I", out, 12, zlib.crc32(bytes(out[ct.PREAMBLE_BYTES:header_bytes])))
    return bytes(out)


def _spec_violations(small: bytes) -> dict[str, bytes]:
    """One crafted header per rule of docs/format.md that the readers once skipped (issue 11, item 4)."""
    layer = ct.PREAMBLE_BYTES + ct._FILE_FIELDS.size  # noqa: SLF001
    chunk = layer + ct._LAYER_FIXED.size  # noqa: SLF001 (intra: no codebook)
    return {
        "preamble flags": _patched(small, 6, "<H", 1),
        "file reserved": _patched(small, 30, "<H", 7),
        "layer reserved": _patched(small, layer + 7, "<B", 1),
        "intra knn_k": _patched(small, layer + 6, "<B", 8),
        "chunk reserved": _patched(small, chunk + 28, "<I", 5),
        "intra crc_rest": _patched(small, chunk + 24, "<I", 0xDEADBEEF),
        "grid max < min": _patched(small, 44, "<f", -1e9),
    }


def test_python_reader_enforces_every_header_rule(small):
    for name, data in _spec_violations(small).items():
        with pytest.raises(ct.BitstreamFormatError):
            ct.read_index(data)
        # a newer minor may use reserved fields: they are ignored there
    newer = _patched(_patched(small, 6, "<H", 1), 5, "<B", ct.VERSION_MINOR + 1)
    assert ct.read_index(newer).version == (ct.VERSION_MAJOR, ct.VERSION_MINOR + 1)


@pytest.mark.skipif(NODE is None or not (ROOT / "web" / "node_modules").is_dir(), reason="node or web/node_modules")
def test_js_reader_enforces_the_same_rules(tmp_path, small):
    for name, data in _spec_violations(small).items():
        path = tmp_path / "bad.splc"
        path.write_bytes(data)
        cli = ROOT / "web" / "src" / "cli" / "decode.mjs"
        res = subprocess.run([NODE, str(cli), str(path), str(tmp_path / "o.ply")], capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 2 and "BitstreamFormatError" in res.stderr, (name, res.stderr)
