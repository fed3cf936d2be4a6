"""`splatcast package scene.splc -o DIR`: a DASH directory (manifest.mpd + the .splc) ready for `splatcast serve`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "package a .splc stream for DASH streaming: DIR/manifest.mpd + the media (optionally non-scalable baselines)"


def add_arguments(parser) -> None:
    parser.add_argument("stream", help=".splc file made by `splatcast encode`")
    parser.add_argument("-o", "--out", required=True, help="output directory")
    parser.add_argument("--title", default=None, help="ProgramInformation title (default: the file's stem)")
    parser.add_argument(
        "--nominal-duration",
        type=float,
        default=1.0,
        help="seconds that SubRepresentation@bandwidth refers to (bandwidth = 8 * bytes / this), default 1",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also write DIR/baseline/<stem>.single.splc (top layer re-encoded as one layer) and <stem>.spz",
    )
    parser.add_argument(
        "--allow-unplayable",
        action="store_true",
        help="package a stream whose entropy back-end the web player cannot decode (e.g. paq); default: refuse",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (sorted keys)")


def write_baselines(stream: Path, out_dir: Path) -> dict:
    """The non-scalable alternatives a client would download whole: the top layer (as decoded from the stream)
    coded as a single layer with the stream's entropy coder and quality, and as SPZ v4."""
    from splatcast.codec import EncoderConfig, decode, encode, read_index
    from splatcast.scene.formats import write_scene

    data = stream.read_bytes()
    index = read_index(data)
    top = decode(data)
    base = out_dir / "baseline"
    base.mkdir(parents=True, exist_ok=True)
    single = base / f"{stream.stem}.single.splc"
    single.write_bytes(encode([top], EncoderConfig(entropy=index.entropy, quality=index.quality, chunks=1)))
    spz = base / f"{stream.stem}.spz"
    write_scene(top, spz)
    return {"single_layer": str(single), "spz": str(spz)}


def run(args) -> int:
    from splatcast.dash.packager import package, read_splc_index
    from splatcast.errors import SplatcastError
    from splatcast.player import unplayable_reason

    stream = Path(args.stream)
    out = Path(args.out)
    index = read_splc_index(stream)
    reason = unplayable_reason(index.entropy)
    if reason and not args.allow_unplayable:
        raise SplatcastError(f"{stream}: {reason}")  # checked before anything is written to DIR
    manifest = package(stream, out, title=args.title, nominal_duration_s=args.nominal_duration, index=index)
    facts = {
        "playable_in_browser": reason is None,
        "manifest": str(manifest),
        "media": str(out / stream.name),
        "layers": len(index.layers),
        "chunks": [len(layer.chunks) for layer in index.layers],
        "stream_bytes": index.total_bytes,
        "manifest_bytes": manifest.stat().st_size,
    }
    if args.baseline:
        facts["baselines"] = write_baselines(stream, out)
    if args.json:
        print(json.dumps(facts, sort_keys=True))
    else:
        print(f"wrote {manifest} ({facts['manifest_bytes']} bytes) for {stream.name}: {facts['layers']} layers, "
              f"chunks {facts['chunks']}, {facts['stream_bytes']} bytes")
        if reason:
            print(f"warning: {reason.split(';')[0]}", file=sys.stderr)
        for name, path in facts.get("baselines", {}).items():
            print(f"baseline {name}: {path}")
    return 0
