"""Recreate the JS decoder's golden files: small synthetic .splc streams + SHA-256 of the Python decoder's PLY.

Run from the repository root: ``python web/test/golden/make_golden.py``. Writes ``<name>.splc``,
``expected.json`` ({name: {op-string: sha256 of the PLY}}) and ``fidelity.json`` ({name: {op-string: the Python
decoder's state_fidelity, "inf" for identical; a list per tile for a tiled stream}}) next to this script. The
``*_v1`` and ``*_v2`` files (and expected_v1.json, expected_v2.json, fidelity_v2.json) are version 1.0 and 2.0 streams
kept as they were written, so that both readers keep reading older versions. ``rans_tiled`` is a 4.0 (tiled) file.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tests" / "codec"))

from codec_synthetic import synthetic_layers  # noqa: E402

from splatcast.codec.decoder import decode, decode_progressive  # noqa: E402
from splatcast.codec.encoder import EncoderConfig, encode  # noqa: E402
from splatcast.scene.cloud import GaussianCloud  # noqa: E402
from splatcast.scene.formats.ply import write_ply  # noqa: E402

STREAMS = {
    "rans_scalable": dict(entropy="rans", mode="scalable", chunks=3, partial="replace", dc_only="on"),
    "zstd_scalable": dict(entropy="zstd", mode="scalable", chunks=3, partial="replace", vq=16, dc_only="on"),
    "rans_mdc": dict(entropy="rans", mode="mdc", chunks=2, partial="replace"),
    "rans_joint": dict(entropy="rans", mode="scalable", chunks=3, partial="auto", dc_only="off"),
    "zstd_copies": dict(entropy="zstd", mode="scalable", chunks=3, partial="replace", dc_only="on"),  # nested
    # irans: payloads of >= 8192 values run on 4 lanes (the rest streams of the top layer's chunks here)
    "irans_scalable": dict(entropy="irans", mode="scalable", chunks=2, partial="auto", vq=16, dc_only="on"),
    # version 4.0: spatial tiles (docs/format.md 1.7), on the larger layer set
    "rans_tiled": dict(entropy="rans", mode="scalable", chunks=3, partial="auto", vq=16, dc_only="on",
                       tile_gaussians=150),
}
# operating points: (layer, chunks, refine); None = whole file
OPS = [(None, None, "full"), (1, 1, "dc"), (1, 2, "full"), (2, 1, "full"), (2, 2, "dc"), (0, 1, "full")]


def op_key(op) -> str:
    layer, chunks, refine = op
    return f"{layer}/{chunks}/{refine}"


def ply_sha(cloud) -> str:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.ply"
        write_ply(cloud, p)
        return hashlib.sha256(p.read_bytes()).hexdigest()


def main() -> None:
    layers = synthetic_layers(n0=60, n_layers=3, sh_degree=1, seed=3)
    larger = synthetic_layers(n0=140, n_layers=3, sh_degree=1, seed=4)  # enough Gaussians for a few tiles
    big = synthetic_layers(n0=800, n_layers=3, sh_degree=1, seed=5)
    # nested layers (each holds the one below unchanged, plus new Gaussians): exact copies, stream 10
    nested = [layers[0]]
    for extra in layers[1:]:
        nested.append(GaussianCloud.concat([nested[-1], extra[: len(extra) // 2]]))
    expected, fidelity = {}, {}
    for name, kw in STREAMS.items():
        source = nested if name.endswith("copies") else larger if name.endswith("tiled") else \
            big if name.startswith("irans") else layers
        data = encode(source, EncoderConfig(**kw))
        (HERE / f"{name}.splc").write_bytes(data)
        expected[name] = {op_key(op): ply_sha(decode(data, *op)) for op in OPS}
        # a tiled file's fidelity is per tile: a list of the tiles' values
        fidelity[name] = {op_key(op): _fidelity(decode_progressive(data, *op)) for op in OPS}
        print(name, len(data), "bytes")
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    (HERE / "fidelity.json").write_text(json.dumps(fidelity, indent=1, sort_keys=True) + "\n")


def _fidelity(dec):
    if dec.tiled:
        return [_json_db(dec.state_fidelity(tile=t)) for t in range(len(dec.tiles))]
    return _json_db(dec.state_fidelity())


def _json_db(value):
    return "inf" if value == float("inf") else value


if __name__ == "__main__":
    main()
