"""``splatcast share SCENE_OR_PHOTOS``: from a teacher's file to a link students open, in one command.

Stages: read the scene (any format splatcast reads), or train one from a folder of posed photos capturing layers
at the test-PSNR plateaus; derive coarse-to-fine layers from a finished model; encode them for the web player;
write the player site (dash/site.py); serve it over HTTP and WebRTC and print the URLs to give out.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from splatcast.errors import SplatcastError

HELP = "share a scene (or a folder of posed photos) as a link: layers, encoding, DASH packaging, web player, server"
PHOTO_MANIFESTS = ("transforms_train.json", "transforms.json")


def add_arguments(parser) -> None:
    parser.add_argument("input", help="a finished scene (.ply, .compressed.ply, .spz, .sog, .splat, ...) or a folder "
                                      "of posed photos (transforms_train.json / transforms.json)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on; 0.0.0.0 lets students on your network in (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="keep the site (player + manifest + stream) in DIR, a new or empty folder, to copy to any "
                             "static web server that answers Range requests (default: a temporary folder)")
    parser.add_argument("--layers", type=int, default=3, help="quality layers (default 3)")
    parser.add_argument("--spz-axes", default="auto", choices=["auto", "rub", "raw"],
                        help="axes of an SPZ input: auto = the frame the file declares, else RUB (the SPZ "
                             "specification); rub = RUB always; raw = unconverted, as splat-transform 3.x writes SPZ "
                             "(its files show upside down otherwise)")
    parser.add_argument("--tiles", type=int, default=0, metavar="N",
                        help="split a large scene into spatial tiles of about N Gaussians, streamed in the order "
                             "each student's view needs them (e.g. 15000; default 0: untiled)")
    parser.add_argument("--title", default=None, help="title shown by the player (default: the input's name)")
    parser.add_argument("--iterations", type=int, default=7000, help="training iterations, photos only (default 7000)")
    parser.add_argument("--resolution", type=int, default=200, help="training image side, photos only (default 200)")
    parser.add_argument("--no-serve", action="store_true", help="write the site (needs --out) and stop")
    parser.add_argument("--log-requests", action="store_true", help="one line per HTTP request on stderr")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (site, URLs) on stdout when ready; progress stays on stderr")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _is_photo_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in PHOTO_MANIFESTS)


def _train_layers(folder: Path, args, work: Path) -> list:
    """Train on the photos, keeping ``args.layers`` checkpoints at the test-PSNR plateaus (train --auto-layers)."""
    import argparse

    from splatcast.cli import train_cmd
    from splatcast.scene.formats import read_scene

    p = argparse.ArgumentParser()
    train_cmd.add_arguments(p)
    targs = p.parse_args([str(folder), "-o", str(work / "training"), "--iterations", str(args.iterations),
                          "--resolution", str(args.resolution), "--auto-layers", str(args.layers), "--json"])
    summary = train_cmd.train(targs)
    return [read_scene(layer["path"]) for layer in summary["layers"]]


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SplatcastError(f"--out {out}: exists and is not an empty folder (nothing was written; choose a new one)")


def run(args) -> int:
    from splatcast.cli.progress import progress
    from splatcast.dash.site import encode_for_player, write_site
    from splatcast.scene.formats import read_scene
    from splatcast.scene.formats.spz import undeclared_frame_note
    from splatcast.train.derive_layers import derive_layers

    src = Path(args.input)
    if not src.exists():
        raise FileNotFoundError(2, "No such file or directory", str(src))
    if args.layers < 1:
        raise SplatcastError(f"--layers={args.layers} must be >= 1")
    if args.tiles < 0:
        raise SplatcastError(f"--tiles={args.tiles} must be 0 (untiled) or a Gaussian count")
    if not 0 <= args.port <= 65535:
        raise SplatcastError(f"--port={args.port} must be in 0..65535")
    if args.no_serve and not args.out:
        raise SplatcastError("--no-serve needs --out DIR (else the site would be deleted at once)")
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_out(out)
    title = args.title or src.name.split(".")[0]
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in title) or "scene"
    t0 = time.perf_counter()
    facts: dict = {"input": str(src), "title": title}
    with tempfile.TemporaryDirectory(prefix="splatcast-share-") as tmp:
        work = Path(tmp)
        if _is_photo_folder(src):
            _say(f"[1/4] training on the photos in {src} ({args.iterations} iterations, {args.layers} layers)")
            layers = _train_layers(src, args, work)
        else:
            _say(f"[1/4] reading {src}")
            model = read_scene(src, spz_axes=args.spz_axes)
            note = undeclared_frame_note(src, args.spz_axes)
            if note:
                _say(f"      note: {note}")
            if len(model) == 0:
                raise SplatcastError(f"{src}: the scene has no Gaussians")
            _say(f"      {len(model):,} Gaussians, SH degree {model.sh_degree}; deriving {args.layers} layers")
            layers = derive_layers(model, args.layers)
        facts["gaussians"] = [len(c) for c in layers]
        _say(f"[2/4] encoding {len(layers)} layers ({', '.join(f'{n:,}' for n in facts['gaussians'])} Gaussians)")
        with progress(len(layers), "encode", unit="layer") as bar:
            data = encode_for_player(layers, progress=lambda i: bar.update(1), tile_gaussians=args.tiles)
        site = work / "site"
        _say(f"[3/4] writing the player site ({len(data):,} bytes of stream)")
        facts |= write_site(data, name, site, title)
        if out is not None:  # moved into place only when complete: a failed run leaves no half-made folder
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists():
                out.rmdir()  # checked empty above
            shutil.move(str(site), str(out))
            site = out
            facts |= {key: str(out / Path(facts[key]).name) for key in ("manifest", "media")}
        facts["site"] = str(site) if out is not None else None
        facts["prepare_s"] = round(time.perf_counter() - t0, 1)
        if args.no_serve:
            facts["urls"] = []
            _report(facts, args)
            return 0
        _say(f"[4/4] serving on {args.host}:{args.port}")
        _serve(site, facts, args)
    return 0


def _report(facts: dict, args) -> None:
    if args.json:
        print(json.dumps(facts, sort_keys=True), flush=True)
        return
    if facts["site"]:
        print(f"site written to {facts['site']} (copy it to any static web server that answers Range requests)")
    for url in facts["urls"]:
        print(f"open {url}")


def _serve(site: Path, facts: dict, args) -> None:
    from splatcast.net.addresses import reachable_urls
    from splatcast.net.server import serve_forever
    from splatcast.net.webrtc import WebRTCConfig

    def ready(url: str) -> None:
        facts["urls"] = reachable_urls(args.host, urlsplit(url).port)
        _report(facts, args)
        if args.host == "127.0.0.1" and not args.json:
            print("(only this computer can open it: for students on your network rerun with --host 0.0.0.0)")
        if not args.json:
            print("Ctrl-C to stop", flush=True)

    serve_forever(site, args.host, args.port, None, WebRTCConfig(host=args.host), ready=ready,
                  access_log=args.log_requests)
