"""The web player on `splatcast serve`: ``GET /`` is the page, its assets live under ``/_player/``.

The page and its bundles are built by ``web/build.mjs`` into the package directory ``splatcast/player/static``
(shipped as package data). ``/_player/`` cannot collide with the served directory's own files in practice (a
packaged directory holds ``*.mpd``, ``*.splc`` and ``baseline/``); a file literally named ``_player`` in DIR is
shadowed. Player assets are not shaped by ``--trace``: they are the application, not the stream (a browser
caches them), so a shaped session measures the stream alone.

``/_player/streams.json`` lists the manifests in DIR (``*.mpd`` at most two levels down, sorted) and which one
``/`` plays when the URL names none: ``manifest.mpd`` if present, else the first.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from splatcast.player import STATIC_DIR, is_built  # noqa: F401 (module attributes: tests substitute them)

PREFIX = "/_player"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".png": "image/png",
}
NOT_BUILT = (
    "the web player is not built: run `npm --prefix web ci && npm --prefix web run build` (or `make player`) "
    "in the source tree; the stream itself is served as usual\n"
)
MAX_MPD_DEPTH = 2


def list_manifests(root: Path) -> list[str]:
    """``*.mpd`` files under ``root`` (at most MAX_MPD_DEPTH folders down), as sorted POSIX relative paths."""
    found = []
    for depth in range(MAX_MPD_DEPTH + 1):
        for path in root.glob("*/" * depth + "*.mpd"):
            rel = path.relative_to(root)
            if path.is_file() and not any(p.startswith(".") for p in rel.parts):
                found.append(rel.as_posix())
    return sorted(found, key=lambda p: (p.count("/"), p))


def default_manifest(manifests: list[str]) -> str | None:
    if "manifest.mpd" in manifests:
        return "manifest.mpd"
    return manifests[0] if manifests else None


def _static_response(name: str) -> web.StreamResponse:
    if not is_built():
        return web.Response(status=503, text=NOT_BUILT, content_type="text/plain")
    static = STATIC_DIR.resolve()
    path = (static / name).resolve()
    if static not in path.parents or not path.is_file():
        return web.Response(status=404, text=f"no player asset {name!r}\n", content_type="text/plain")
    headers = {"Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"), "Cache-Control": "no-cache"}
    return web.FileResponse(path, headers=headers)


async def _index(request: web.Request) -> web.StreamResponse:
    return _static_response("index.html")


async def _asset(request: web.Request) -> web.StreamResponse:
    return _static_response(request.match_info["name"])


def add_player_routes(app: web.Application, root: Path) -> None:
    """Mount the player on `app` (call before the catch-all file route)."""

    async def streams(request: web.Request) -> web.Response:
        manifests = list_manifests(root)
        return web.json_response({"streams": manifests, "default": default_manifest(manifests)})

    app.router.add_get("/", _index)
    app.router.add_get(PREFIX + "/streams.json", streams)
    app.router.add_get(PREFIX + "/{name:[A-Za-z0-9_.-]+}", _asset)
