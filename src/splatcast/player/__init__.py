"""The web player's Python side: where its built assets live and which streams it can play.

The player itself is JavaScript (``web/``, bundled by ``web/build.mjs`` into ``static/`` here, shipped as package
data); ``splatcast serve`` mounts it at ``/`` (``splatcast.net.player_routes``). This module owns no I/O.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Entropy back-ends the JavaScript decoder reads (web/src/decoder/backends.mjs SUPPORTED): paq has no JS
# decoder (docs/entropy.md); lzma (raw LZMA2) would need a synchronous JS LZMA2 decoder, not written yet.
PLAYABLE_ENTROPY = ("rans", "irans", "zstd")


def is_built() -> bool:
    """True when ``web/build.mjs`` has written the player's page into the package."""
    return (STATIC_DIR / "index.html").is_file()


def unplayable_reason(entropy: str) -> str | None:
    """Why the web player cannot play a stream coded with ``entropy`` (None if it can)."""
    if entropy in PLAYABLE_ENTROPY:
        return None
    return (f"the web player cannot decode entropy back-end {entropy!r} (it reads {', '.join(PLAYABLE_ENTROPY)}); "
            "re-encode with `splatcast encode --entropy irans` (or rans, zstd), or pass --allow-unplayable to package "
            "it anyway")
