"""The JavaScript decoder (web/src/decoder, CLI web/src/cli/decode.mjs) writes byte-identical PLY to `splatcast decode`.

Skips when `node` or web/node_modules is missing. Streams: synthetic 3-layer scalable (rans, irans, zstd), an mdc
stream, truncated prefixes, refine dc/full; and playbot-lod levels 5_0 -> 4_0 -> 3_0 when ../shared/data/scenes exists.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from splatcast.codec.decoder import decode
from splatcast.codec.encoder import EncoderConfig, encode
from splatcast.player import PLAYABLE_ENTROPY
from splatcast.scene.formats.ply import write_ply

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CLI = WEB / "src" / "cli" / "decode.mjs"
NODE = shutil.which("node")
sys.path.insert(0, str(ROOT / "tests" / "codec"))
from codec_synthetic import synthetic_layers  # noqa: E402

pytestmark = pytest.mark.skipif(
    NODE is None or not (WEB / "node_modules" / "fzstd").is_dir(), reason="node or web/node_modules missing"
)
SCENES = ROOT.parent / "shared" / "data" / "scenes"


def js_decode(src: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NODE, str(CLI), str(src), str(out), *args], capture_output=True, text=True, timeout=120)


def py_ply(data: bytes, out: Path, layer=None, chunks=None, refine="full") -> bytes:
    write_ply(decode(data, layer, chunks, refine), out)
    return out.read_bytes()


def args_of(layer, chunks, refine) -> list[str]:
    a = ["--refine", refine]
    if layer is not None:
        a += ["--layer", str(layer)]
    if chunks is not None:
        a += ["--chunks", str(chunks)]
    return a


@pytest.fixture(scope="module")
def layers():
    return synthetic_layers(n0=150, n_layers=3, sh_degree=1, seed=5)


STREAMS = [
    ("rans", "scalable", "auto"),
    ("irans", "scalable", "auto"),
    ("irans", "scalable-growing-chunks", "off"),
    ("rans", "scalable-growing-chunks", "auto"),
    ("rans", "scalable", "off"),
    ("zstd", "scalable", "auto"),
    ("rans", "mdc", "auto"),
    ("zstd", "mdc", "off"),
]


@pytest.mark.parametrize("entropy,mode,vq", STREAMS)
def test_operating_points_match_python(tmp_path, layers, entropy, mode, vq):
    growth = 2.0 if mode.endswith("-growing-chunks") else 1.0  # unequal chunk sizes, as streams for the player use
    mode = mode.removesuffix("-growing-chunks")
    config = EncoderConfig(entropy=entropy, mode=mode, vq=vq, chunks=3, chunk_growth=growth, partial="replace")
    data = encode(layers, config)
    src = tmp_path / "s.splc"
    src.write_bytes(data)
    ops = [(None, None, "full")]
    for layer in (0, 1, 2):
        for c in (1, 2, 3):
            for r in ("dc", "full"):
                if layer == 0 and r == "dc":
                    continue
                ops.append((layer, c, r))
    for op in ops:
        want = py_ply(data, tmp_path / "py.ply", *op)
        res = js_decode(src, tmp_path / "js.ply", *args_of(*op))
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "js.ply").read_bytes() == want, (entropy, mode, vq, op)


def test_truncated_prefixes_match_python(tmp_path, layers):
    data = encode(layers, EncoderConfig(entropy="rans", chunks=3, partial="replace"))
    from splatcast.codec.container import read_index

    idx = read_index(data)
    ends = [ce.offset + ce.full_bytes for li in idx.layers for ce in li.chunks]
    for cut in (ends[0], ends[1], ends[4] + 7, ends[5], len(data)):
        src = tmp_path / "p.splc"
        src.write_bytes(data[:cut])
        want = py_ply(data[:cut], tmp_path / "py.ply")
        res = js_decode(src, tmp_path / "js.ply")
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "js.ply").read_bytes() == want, cut


def test_package_admits_exactly_what_the_js_decoder_reads():
    script = "import('./src/decoder/index.mjs').then((m) => console.log(JSON.stringify(m.SUPPORTED_ENTROPY)))"
    res = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    import json

    assert sorted(json.loads(res.stdout)) == sorted(PLAYABLE_ENTROPY)


def test_errors_exit_2(tmp_path, layers):
    data = bytearray(encode(layers[:2], EncoderConfig(entropy="rans", chunks=2)))
    bad = tmp_path / "bad.splc"
    bad.write_bytes(b"XPLC" + bytes(data[4:]))
    res = js_decode(bad, tmp_path / "o.ply")
    assert res.returncode == 2 and "BitstreamFormatError" in res.stderr and res.stderr.count("\n") == 1
    data[-3] ^= 0xFF
    bad.write_bytes(bytes(data))
    res = js_decode(bad, tmp_path / "o.ply")
    assert res.returncode == 2 and "ChecksumError" in res.stderr
    lz = tmp_path / "lz.splc"
    lz.write_bytes(encode(layers[:1], EncoderConfig(entropy="lzma", chunks=1)))
    res = js_decode(lz, tmp_path / "o.ply")
    assert res.returncode == 2 and "not supported" in res.stderr


@pytest.mark.skipif(not (SCENES / "playbot-lod" / "3_0").is_dir(), reason="shared scenes absent")
@pytest.mark.parametrize("entropy", PLAYABLE_ENTROPY)
def test_real_scene_playbot_small_lods(tmp_path, entropy):
    from splatcast.scene.formats import read_scene

    layers = [read_scene(SCENES / "playbot-lod" / lv) for lv in ("5_0", "4_0", "3_0")]
    data = encode(layers, EncoderConfig(entropy=entropy, chunks=4, partial="replace"))
    src = tmp_path / "pb.splc"
    src.write_bytes(data)
    for op in [(None, None, "full"), (2, 1, "dc"), (2, 2, "full"), (1, 4, "dc")]:
        want = py_ply(data, tmp_path / "py.ply", *op)
        res = js_decode(src, tmp_path / "js.ply", *args_of(*op))
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "js.ply").read_bytes() == want, (entropy, op)


STATUES = sorted(p.stem for p in (SCENES / "statues").glob("*.sog"))


@functools.lru_cache(maxsize=None)
def _statue_layers(name):
    from splatcast.evaluate.layersets import statue

    return statue(ROOT.parent / "shared", name).layers


@pytest.mark.skipif(not STATUES, reason="shared scenes absent")
@pytest.mark.parametrize("entropy", ["rans", "irans"])
@pytest.mark.parametrize("name", STATUES)
def test_real_scene_statues(tmp_path, name, entropy):
    """Every shared statue as 3 layers derived from the finished model (the bench's statue layer set), with the
    player's rANS back-ends: irans (the default back-end) with the encoder's defaults, rans with its cheapest
    choices (blend order, no measured display_from): what the decoder must reproduce does not depend on them."""
    cheap = {} if entropy == "irans" else {"fidelity": False, "order": "blend"}
    data = encode(_statue_layers(name), EncoderConfig(entropy=entropy, **cheap))
    src = tmp_path / "st.splc"
    src.write_bytes(data)
    for op in [(None, None, "full"), (1, 2, "dc"), (2, 1, "full")]:
        want = py_ply(data, tmp_path / "py.ply", *op)
        res = js_decode(src, tmp_path / "js.ply", *args_of(*op))
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "js.ply").read_bytes() == want, (name, entropy, op)


RANS_DECODE_JS = """
import { readFileSync } from "node:fs";
import { decodeIrans, decodeRans } from "%s";
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => Array.from((c.backend === "irans" ? decodeIrans : decodeRans)(
  Uint8Array.from(Buffer.from(c.payload, "base64")), c.count, c.width,
  c.context === null ? null : Int32Array.from(c.context))));
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.parametrize("backend", ["rans", "irans"])
def test_rans_payloads_of_every_width_decode_in_js(backend):
    """Python-encoded rans / irans payloads (every element width, values up to the type's limits, 1-3 context
    models; irans on 1, 2, 4 and 8 lanes)."""
    import base64
    import json

    import numpy as np

    from splatcast.codec.entropy import encode_stream, irans_backend

    rng = np.random.default_rng(3)
    cases, want = [], []
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        for shape in ("small", "laplace", "wide", "extremes"):
            n = 3000
            if shape == "small":
                v = rng.integers(-3, 4, n)
            elif shape == "laplace":
                v = np.clip(np.round(rng.laplace(0, 40, n)), info.min, info.max)
            elif shape == "wide":  # escapes with more than 24 raw bits for int32
                v = rng.integers(info.min, info.max, n, endpoint=True)
            else:
                v = rng.choice([info.min, info.max, 0, -1, 1], n)
            v = v.astype(dtype)
            for ctx in (None, rng.integers(0, 3, n).astype(np.int32)):
                if backend == "rans":
                    payload = encode_stream(v, "rans", ctx)
                else:
                    payload = irans_backend.encode(v, ctx, [1, 2, 4, 8][len(cases) % 4])
                cases.append({"payload": base64.b64encode(payload).decode(), "count": n, "width": 8 * v.itemsize,
                              "context": None if ctx is None else ctx.tolist(), "backend": backend})
                want.append(v.astype(np.int64).tolist())
    script = RANS_DECODE_JS % (WEB / "src" / "decoder" / "rans.mjs").as_uri()
    res = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert len(got) == len(want) == 24
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"case {i}"


CORRUPT_DECODE_JS = """
import { readFileSync } from "node:fs";
import { BitstreamError } from "%s";
import { decodeIrans } from "%s";
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => {
  try {
    return Array.from(decodeIrans(Uint8Array.from(Buffer.from(c.payload, "base64")), c.count, c.width,
      c.context === null ? null : Int32Array.from(c.context)));
  } catch (exc) {
    return exc instanceof BitstreamError ? "BitstreamError" : `other ${exc && exc.name}: ${exc && exc.message}`;
  }
});
process.stdout.write(JSON.stringify(out));
"""


def test_corrupt_irans_payloads_fail_alike_in_js():
    """Bit flips and truncations of irans payloads (1 and 4 lanes, with and without contexts): where the Python
    decoder reads values the JS one reads the same ones, and where it refuses the payload the JS decoder throws a
    BitstreamError (never another exception)."""
    import base64
    import json

    import numpy as np

    from splatcast.codec.entropy import decode_stream, irans_backend
    from splatcast.errors import BitstreamError

    rng = np.random.default_rng(11)
    n = 1200
    sources = []
    for lanes in (1, 4):
        for with_ctx in (False, True):
            v = np.clip(np.round(rng.laplace(0, 6, n)), -32768, 32767).astype(np.int16)
            ctx = rng.integers(0, 3, n).astype(np.int32) if with_ctx else None
            sources.append((v, ctx, irans_backend.encode(v, ctx, lanes)))
    cases, want = [], []
    for i in range(160):
        v, ctx, payload = sources[i % len(sources)]
        data = bytearray(payload)
        if i % 4 == 0:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 3))):
                data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        try:
            want.append(decode_stream(bytes(data), "irans", n, np.int16, ctx).astype(np.int64).tolist())
        except BitstreamError:
            want.append("BitstreamError")
        cases.append({"payload": base64.b64encode(bytes(data)).decode(), "count": n, "width": 16,
                      "context": None if ctx is None else ctx.tolist()})
    decoder = WEB / "src" / "decoder"
    script = CORRUPT_DECODE_JS % ((decoder / "errors.mjs").as_uri(), (decoder / "rans.mjs").as_uri())
    res = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert sum(w == "BitstreamError" for w in want) > 40  # most mutations are caught
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"case {i}: JS {str(g)[:80]} vs Python {str(w)[:80]}"
