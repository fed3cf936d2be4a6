"""Crafted worst cases per parser: each input is at most 1 MB, and none may make a reader exceed 512 MB resident or
5 s of CPU (issue 12). Each case runs in a fresh Python process (the whole process counts: interpreter, numpy,
numba's cached kernels, ~150-250 MB before any input), which reports its peak resident size (VmHWM) and the
CPU time of the parse; a case passes when the parser answers with the project's own error (fuzz/targets.py's
EXPECTED), or parses it, within both limits.

    python -m fuzz.worst_cases [--json]      # the report: per case, bytes, peak resident MB, CPU s, outcome

The cases are the attacks found in issue 12 plus the obvious ones per format: counts the bytes cannot hold, tie-
heavy geometry for the neighbour search, expansion bombs per entropy back-end, images declaring huge sizes, zip
members that inflate beyond any ratio, deep or wide XML, giant integers.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import struct
import sys
import time
import zipfile
import zlib

MAX_INPUT = 1 << 20
MAX_RSS_MB = 512
MAX_CPU_S = 5.0


# ----------------------------------------------------------------------------------------------- the inputs
def _splc_count_bomb() -> bytes:
    from splatcast.codec import EncoderConfig, encode
    from splatcast.codec import container as ct
    from splatcast.scene.default import lab_bench

    data = bytearray(encode([lab_bench(300, 1)], EncoderConfig(chunks=1, fidelity=False)))
    layer = ct.PREAMBLE_BYTES + ct._FILE_FIELDS.size  # noqa: SLF001 (crafting a header byte by byte)
    struct.pack_into("<I", data, layer + 8, 1 << 26)
    k = struct.unpack_from("<H", data, layer + 16)[0]
    struct.pack_into("<I", data, layer + ct._LAYER_FIXED.size + 12 * k + 16, 1 << 26)  # noqa: SLF001
    hb = struct.unpack_from("<I", data, 8)[0]
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[ct.PREAMBLE_BYTES:hb])))
    return bytes(data)


def _splc_colocated() -> bytes:
    """Two layers of 20,000 Gaussians all at one position: every neighbour query is a 20,000-way tie."""
    import numpy as np

    from splatcast.codec import EncoderConfig, encode
    from splatcast.scene.default import lab_bench

    base = lab_bench(20_000, 2)
    base.means[:] = base.means[0]
    top = base.copy()
    top.sh_dc = top.sh_dc + np.float32(0.3)
    return encode([base, top], EncoderConfig(chunks=2, fidelity=False, entropy="rans"))


def _stream_bomb(backend: str) -> tuple[bytes, int]:
    """One entropy stream whose payload inflates hugely (1 MB of input), against a small declared count."""
    from splatcast.codec.entropy import encode_stream
    import numpy as np

    payload = encode_stream(np.zeros(200_000_000 // 4 if backend != "rans" else 4_000_000, np.int32), backend)
    return payload[:MAX_INPUT], 1000


def _ply_count_bomb() -> bytes:
    head = ("ply\nformat binary_little_endian 1.0\nelement vertex 2000000000\n" + "".join(
        f"property float {n}\n" for n in ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
                                          "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]) + "end_header\n")
    return head.encode() + bytes(1000)


def _compressed_ply_count_bomb() -> bytes:
    """A compressed PLY header declaring 2^31 - 256 vertices (and the chunks they need) over 1000 bytes."""
    n = (1 << 31) - 256
    chunk = "".join(f"property float {a}_{b}\n" for a in ("min", "max") for b in "xyz") + "".join(
        f"property float {a}_scale_{b}\n" for a in ("min", "max") for b in "xyz")
    head = (f"ply\nformat binary_little_endian 1.0\nelement chunk {n // 256}\n{chunk}element vertex {n}\n"
            + "".join(f"property uint packed_{p}\n" for p in ("position", "rotation", "scale", "color"))
            + "end_header\n")
    return head.encode() + bytes(1000)


def _splat_largest() -> bytes:
    """The largest .splat of 1 MB (32 bytes per Gaussian: its count comes from the size, so none can lie)."""
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.integers(0, 256, MAX_INPUT, np.uint8).tobytes()


def _glb(text: bytes, binary: bytes) -> bytes:
    """A GLB container around a JSON chunk and a binary chunk (each padded to 4 bytes, as the spec requires)."""
    text += b" " * (-len(text) % 4)
    binary += bytes(-len(binary) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def _gltf_parts() -> tuple[dict, bytes]:
    """The JSON and binary chunks of a real .glb splatcast writes (50 Gaussians)."""
    from splatcast.scene.default import lab_bench
    from splatcast.scene.formats.gltf import glb_bytes

    data = glb_bytes(lab_bench(50, 1))
    n_json = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20: 20 + n_json])
    return doc, data[20 + n_json + 8:]


def _gltf_count_bomb() -> bytes:
    """Every accessor claims 2^31 - 1 elements over the binary chunk of 50 Gaussians."""
    doc, binary = _gltf_parts()
    for acc in doc["accessors"]:
        acc["count"] = (1 << 31) - 1
    return _glb(json.dumps(doc).encode(), binary)


def _gltf_deep_json() -> bytes:
    """A JSON chunk with 400,000 nested arrays in its extras."""
    doc, binary = _gltf_parts()
    text = json.dumps(doc)[:-1] + ', "extras": ' + "[" * 400_000 + "]" * 400_000 + "}"
    return _glb(text.encode(), binary)


def _spz_count_bomb() -> bytes:
    from splatcast.scene.default import lab_bench
    from splatcast.scene.formats import spz_v4_bytes

    data = bytearray(spz_v4_bytes(lab_bench(50, 1)))
    struct.pack_into("<I", data, 8, 50_000_000)
    return bytes(data)


def _spz_gzip_bomb() -> bytes:
    header = struct.pack("<IIIBBBB", 0x5053474E, 3, 1, 0, 12, 0, 0)
    return gzip.compress(header + bytes(300_000_000), compresslevel=9)


SOG_BASE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "scenes", "statues", "angel.sog")


def _sog_files():
    """A real .sog (splatcast writes none) whose members the SOG cases replace; None without ../shared."""
    return zipfile.ZipFile(SOG_BASE) if os.path.exists(SOG_BASE) else None


def _rezip(members: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _sog_giant_image() -> bytes | None:
    from PIL import Image

    if _sog_files() is None:
        return None
    with _sog_files() as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    Image.new("RGBA", (8192, 8192), (7, 7, 7, 255)).save(buf, format="WEBP", lossless=True)
    members["means_l.webp"] = buf.getvalue()
    return _rezip(members)


def _sog_member_bomb() -> bytes | None:
    if _sog_files() is None:
        return None
    with _sog_files() as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["meta.json"] = members["meta.json"] + b" " * 400_000_000
    return _rezip(members, zipfile.ZIP_LZMA)


def _mpd_wide() -> bytes:
    return b'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011">' + b"<Period/>" * 110_000 + b"</MPD>"


def _mpd_deep() -> bytes:
    return b'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011">' + b"<a>" * 100_000 + b"</MPD>"


def _long_int() -> bytes:
    return b"bytes=" + b"9" * 100_000 + b"-"


def _webrtc_deep() -> bytes:
    return b"[" * 200_000


def cases() -> list[tuple[str, str, object]]:
    """(parser, what, builder) per case; the builder returns the input (bytes, or (bytes, count) for a stream)."""
    return [
        ("container", "layer and chunk claim 2^26 Gaussians in a 4 kB file", _splc_count_bomb),
        ("container", "20,000 + 20,000 Gaussians at one position (neighbour ties)", _splc_colocated),
        ("rans", "1 MB of a 4M-value stream read as 1,000 values", lambda: _stream_bomb("rans")),
        ("zstd", "1 MB of a 200 MB zstd frame read as 1,000 values", lambda: _stream_bomb("zstd")),
        ("lzma", "1 MB of a 200 MB LZMA2 stream read as 1,000 values", lambda: _stream_bomb("lzma")),
        ("ply", "header declares 2,000,000,000 vertices", _ply_count_bomb),
        ("compressed_ply", "header declares 2^31 - 256 vertices", _compressed_ply_count_bomb),
        ("splat", "1 MB of random bytes (32,768 Gaussians)", _splat_largest),
        ("gltf", "every accessor claims 2^31 - 1 elements", _gltf_count_bomb),
        ("gltf", "400,000 nested JSON arrays", _gltf_deep_json),
        ("spz", "v4 header declares 50M Gaussians", _spz_count_bomb),
        ("spz", "gzip stream inflating to 300 MB", _spz_gzip_bomb),
        ("sog", "lossless WebP declaring 8192 x 8192", _sog_giant_image),
        ("sog", "LZMA zip member inflating to 400 MB", _sog_member_bomb),
        ("mpd", "110,000 empty Periods", _mpd_wide),
        ("mpd", "100,000 nested elements", _mpd_deep),
        ("http_range", "a 100,000-digit range", _long_int),
        ("webrtc", "200,000 nested JSON arrays", _webrtc_deep),
    ]


# ----------------------------------------------------------------------------------------------- the parsers
SCENE_SUFFIX = {"ply": ".ply", "compressed_ply": ".compressed.ply", "splat": ".splat", "spz": ".spz", "sog": ".sog",
                "gltf": ".glb"}


def parse(parser: str, data) -> str:
    """Feed one input to its parser; returns 'error: <Type>' for a project error, 'parsed' otherwise."""
    from splatcast.errors import SplatcastError
    from splatcast.net.files import RequestError

    try:
        if parser == "container":
            from splatcast.codec import decode

            decode(data)
        elif parser in ("rans", "zstd", "lzma"):
            import numpy as np

            from splatcast.codec.entropy import decode_stream

            payload, count = data
            decode_stream(payload, parser, count, np.dtype(np.int32))
        elif parser in SCENE_SUFFIX:
            import tempfile

            from splatcast.scene.formats import read_scene

            with tempfile.NamedTemporaryFile(suffix=SCENE_SUFFIX[parser]) as f:
                f.write(data)
                f.flush()
                read_scene(f.name)
        elif parser == "mpd":
            from splatcast.dash.layout import interpret_mpd
            from splatcast.dash.mpd import parse_mpd

            interpret_mpd(parse_mpd(data))
        elif parser == "http_range":
            from splatcast.net.files import parse_range_header

            parse_range_header(data.decode(), 1000)
        elif parser == "webrtc":
            from splatcast.net.webrtc import Request

            Request.parse(data.decode())
        return "parsed"
    except (SplatcastError, RequestError) as exc:
        return f"error: {type(exc).__name__}"


def _peak_rss_mb() -> float:
    """This process's peak resident size: VmHWM (getrusage's ru_maxrss survives exec, so a child started by a big
    parent would report the parent's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: an upper bound


def warm() -> None:
    """Import and JIT-load everything before the parse, so the CPU time measures parsing, not start-up."""
    from splatcast.codec.decoder import warm_up
    from splatcast.dash import layout, mpd  # noqa: F401
    from splatcast.net import files, webrtc  # noqa: F401
    from splatcast.scene import formats  # noqa: F401

    warm_up()


def _child(parser: str, path: str, count: int) -> None:
    """In the fresh process: warm up (numba's cache), parse the file's bytes, print the measurements as JSON."""
    warm()
    with open(path, "rb") as f:
        data = f.read()
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway allocation fails instead of swapping
    t0 = time.process_time()
    try:
        outcome = parse(parser, (data, count) if count >= 0 else data)
    except MemoryError:
        outcome = "MemoryError"
    except BaseException as exc:  # a foreign exception is a finding: report it
        outcome = f"FOREIGN {type(exc).__name__}: {str(exc)[:100]}"
    cpu = time.process_time() - t0
    peak = _peak_rss_mb()
    print(json.dumps({"outcome": outcome, "cpu_s": round(cpu, 3), "peak_rss_mb": round(peak, 1)}))


def _measure(parser: str, data) -> dict:
    import subprocess
    import tempfile

    payload, count = data if isinstance(data, tuple) else (data, -1)
    with tempfile.NamedTemporaryFile(suffix=".case") as f:
        f.write(payload)
        f.flush()
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        try:
            proc = subprocess.run([sys.executable, "-m", "fuzz.worst_cases", "--child", parser, f.name, str(count)],
                                  capture_output=True, text=True, timeout=120, env=env,
                                  cwd=os.path.join(os.path.dirname(__file__), ".."))
        except subprocess.TimeoutExpired:
            return {"outcome": "hang (killed after 120 s)", "cpu_s": None, "peak_rss_mb": None}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"outcome": f"crashed (exit {proc.returncode}): {proc.stderr.strip()[-200:]}", "cpu_s": None,
                "peak_rss_mb": None}
    return json.loads(lines[-1])


def run(workers: int = 2) -> list[dict]:
    """Every case measured in its own child process, ``workers`` at a time (CPU time and peak RSS are per
    process, so running two at once on a 2-core machine changes them little and halves the wall time)."""
    from concurrent.futures import ThreadPoolExecutor

    todo = []
    for parser, what, build in cases():
        data = build()
        if data is not None:
            size = len(data[0] if isinstance(data, tuple) else data)
            assert size <= MAX_INPUT, (parser, what, size)
        todo.append((parser, what, data))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        measured = list(pool.map(lambda case: None if case[2] is None else _measure(case[0], case[2]), todo))
    rows = []
    for (parser, what, data), m in zip(todo, measured):
        if data is None:
            rows.append({"parser": parser, "case": what, "skipped": "needs ../shared (a real .sog to alter)"})
            continue
        size = len(data[0] if isinstance(data, tuple) else data)
        ok = (m["outcome"] == "parsed" or m["outcome"].startswith("error:")) and m["peak_rss_mb"] is not None \
            and m["peak_rss_mb"] <= MAX_RSS_MB and m["cpu_s"] <= MAX_CPU_S
        rows.append({"parser": parser, "case": what, "bytes": size, **m, "ok": ok})
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], int(argv[3]))
        return 0
    as_json = "--json" in argv
    rows = run()
    for row in rows:
        if as_json:
            print(json.dumps(row, sort_keys=True))
        elif "skipped" in row:
            print(f"{row['parser']:14s} skipped: {row['skipped']}  {row['case']}")
        else:
            print(f"{row['parser']:14s} {row['bytes']:>9,} B  peak {row['peak_rss_mb']} MB  cpu {row['cpu_s']} s  "
                  f"{'ok ' if row['ok'] else 'BAD'} {row['outcome']:28s} {row['case']}")
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
