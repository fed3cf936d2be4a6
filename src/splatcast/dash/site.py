"""A self-contained player site: the stream, its manifest and the web player in one directory.

``splatcast share`` and ``splatcast demo`` write one. The directory works behind ``splatcast serve`` (HTTP and
WebRTC) and behind any static web server or CDN that answers HTTP Range requests (nginx, Apache, S3, GitHub
Pages): ``index.html`` loads ``_player/*`` by relative paths, and ``_player/streams.json`` names the manifest that
``splatcast serve`` would otherwise list on the fly.

Layout::

    DIR/index.html            the player page
    DIR/_player/...           its bundles, and streams.json
    DIR/manifest.mpd          DASH manifest (docs/streaming.md)
    DIR/<name>.splc           the stream, fetched by byte ranges
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from splatcast.dash.packager import MANIFEST_NAME, package
from splatcast.errors import SplatcastError

PLAYER_CHUNK_GROWTH = 1.5  # the first chunk is ~1/50 of a layer (8 chunks): a picture at once, then it sharpens
PLAYER_DIR = "_player"


TILE_CHUNKS = 3  # chunks per tile and layer of a tiled site (growing: 1/7, 2/7, 4/7 of the tile's layer)
TILE_CHUNK_GROWTH = 2.0  # (playbot, 64 tiles: orbit -7.2 -> -2.2 dB worst against untiled, docs/streaming.md)


def encode_for_player(clouds, progress=None, tile_gaussians: int = 0) -> bytes:
    """The layers as the web player streams them best: scalable + VQ, irans (as small as rans, and its symbol loop
    is the player's WebAssembly kernel: the playbot stream decodes in 0.65x the time of rans in JavaScript,
    benchmarks.bench_js_decode), growing chunks;
    ``tile_gaussians`` > 0: spatial tiles fetched in the order the viewer needs them."""
    from splatcast.codec import EncoderConfig
    from splatcast.codec.encoder import encode_with_stats

    if tile_gaussians:
        config = EncoderConfig(mode="scalable", vq="auto", entropy="irans", chunks=TILE_CHUNKS,
                               chunk_growth=TILE_CHUNK_GROWTH, tile_gaussians=tile_gaussians)
    else:
        config = EncoderConfig(mode="scalable", vq="auto", entropy="irans", chunk_growth=PLAYER_CHUNK_GROWTH)
    data, _ = encode_with_stats(clouds, config, progress=progress)
    return data


def write_site(data: bytes, name: str, out_dir: Path, title: str, with_player: bool = True) -> dict:
    """Write the stream ``data`` as ``out_dir/<name>.splc`` with its manifest and (``with_player``) the web player.

    Returns the facts a caller prints: paths, bytes, layers."""
    from splatcast.player import STATIC_DIR, is_built

    out_dir.mkdir(parents=True, exist_ok=True)
    media = out_dir / f"{name}.splc"
    media.write_bytes(data)
    manifest = package(media, out_dir, title=title)
    facts = {"manifest": str(manifest), "media": str(media), "stream_bytes": len(data), "player": False}
    if with_player:
        if not is_built():
            raise SplatcastError("the web player is not built: run `make player` (or `npm --prefix web ci && "
                                 "npm --prefix web run build`) in the source tree first")
        assets = out_dir / PLAYER_DIR
        assets.mkdir(exist_ok=True)
        for path in sorted(STATIC_DIR.iterdir()):
            if path.is_file():
                shutil.copyfile(path, out_dir / path.name if path.name == "index.html" else assets / path.name)
        (assets / "streams.json").write_text(json.dumps({"streams": [MANIFEST_NAME], "default": MANIFEST_NAME}))
        facts["player"] = True
    return facts
