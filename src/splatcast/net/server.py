"""`splatcast serve`: an aiohttp server for a packaged DASH directory.

GET/HEAD any file under the directory with single byte ranges (206 / 416), ``application/dash+xml`` for the MPD,
``application/octet-stream`` for media, CORS headers on every answer (browser players), OPTIONS preflight; paths
outside the directory (``..``, symlinks leaving it) are refused with 403/404. Optional trace shaping: one token
bucket per TCP connection, starting at the connection's first request. Optional WebRTC signalling at
``POST /webrtc/offer`` (see webrtc.py), served by the same app. ``GET /`` is the web player (player_routes.py).
"""

from __future__ import annotations

import asyncio
import errno
import weakref
from pathlib import Path

from aiohttp import web

from splatcast.errors import NetworkError
from splatcast.net.files import (
    ByteRange,
    RequestError,
    content_type_for,
    file_size,
    parse_range_header,
    read_pieces,
    resolve_path,
)
from splatcast.net.shaping import TraceShaper
from splatcast.net.traces import Trace

PIECE_BYTES = 16 * 1024
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Range, Content-Type",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges",
    "Access-Control-Max-Age": "600",
}
ROOT_KEY = web.AppKey("root", Path)
TRACE_KEY = web.AppKey("trace", object)
SHAPERS_KEY = web.AppKey("shapers", weakref.WeakKeyDictionary)


@web.middleware
async def _cors_and_errors(request: web.Request, handler):
    try:
        response = await handler(request)
    except RequestError as exc:
        response = web.Response(status=exc.status, text=exc.message + "\n", headers=exc.headers)
    except web.HTTPException as exc:  # aiohttp's own 404/405/413: keep them, add CORS
        for key, value in CORS_HEADERS.items():
            exc.headers.setdefault(key, value)
        raise
    for key, value in CORS_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def _shaper_for(request: web.Request) -> TraceShaper | None:
    trace = request.app[TRACE_KEY]
    if trace is None:
        return None
    shapers = request.app[SHAPERS_KEY]
    transport = request.transport
    shaper = shapers.get(transport)
    if shaper is None:
        shaper = shapers[transport] = TraceShaper(trace)
    return shaper


async def _serve_file(request: web.Request) -> web.StreamResponse:
    root = request.app[ROOT_KEY]
    path = resolve_path(root, request.match_info.get("tail", ""))
    size = file_size(path)
    try:
        rng = parse_range_header(request.headers.get("Range"), size)
    except RequestError as exc:
        exc.headers["Content-Range"] = f"bytes */{size}"  # RFC 9110: a 416 names the current length
        raise
    headers = {"Accept-Ranges": "bytes", "Content-Type": content_type_for(path), "Cache-Control": "no-cache"}
    if rng is None:
        status, start, length = 200, 0, size
    else:
        status, start, length = 206, rng.start, rng.length
        headers["Content-Range"] = f"bytes {rng.start}-{rng.end - 1}/{size}"
    headers["Content-Length"] = str(length)
    for key, value in CORS_HEADERS.items():
        headers[key] = value
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    if request.method == "HEAD" or length == 0:
        await response.write_eof()
        return response
    shaper = _shaper_for(request)
    for piece in read_pieces(path, ByteRange(start, start + length), PIECE_BYTES):
        if shaper is not None:
            await shaper.throttle(len(piece))
        await response.write(piece)
    await response.write_eof()
    return response


async def _options(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS_HEADERS)


IDLE_TIMEOUT_S = 15.0  # request headers must be complete within this, and idle keep-alive connections close


def create_app(root: str | Path, trace: Trace | None = None, webrtc=False) -> web.Application:
    """The aiohttp application serving `root`. `trace` shapes each connection; `webrtc` (True or a
    :class:`splatcast.net.webrtc.WebRTCConfig`) adds /webrtc/offer."""
    root_path = Path(root).resolve(strict=True)
    if not root_path.is_dir():
        raise NotADirectoryError(str(root_path))
    app = web.Application(middlewares=[_cors_and_errors], client_max_size=1024 * 1024)
    app[ROOT_KEY] = root_path
    app[TRACE_KEY] = trace
    app[SHAPERS_KEY] = weakref.WeakKeyDictionary()
    if webrtc:
        from splatcast.net.webrtc import WebRTCConfig, WebRTCGateway

        gateway = WebRTCGateway(root_path, trace, webrtc if isinstance(webrtc, WebRTCConfig) else None)
        app.router.add_post("/webrtc/offer", gateway.handle_offer)
        app.on_shutdown.append(gateway.close)
    from splatcast.net.player_routes import add_player_routes

    add_player_routes(app, root_path)  # GET / is the web player, its assets under /_player/
    app.router.add_route("OPTIONS", "/{tail:.*}", _options)
    app.router.add_get("/{tail:.*}", _serve_file)  # also answers HEAD
    return app


MAX_CONNECTIONS = 1024  # open TCP connections at once; beyond them a new one gets 503 and is closed
_BUSY_BODY = b"too many connections, retry shortly\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
         b"Access-Control-Allow-Origin: *\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
         % (len(_BUSY_BODY), _BUSY_BODY))
REFUSE_LINGER_S = 1.0  # a refused connection's request is read and dropped this long, so the 503 is not lost


class _Refuse(asyncio.Protocol):
    """The whole life of a connection over the cap: one 503 answer, its request discarded, closed when the client
    is done or after REFUSE_LINGER_S (closing with unread request bytes would reset the connection before the
    client reads the answer)."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(_BUSY)
        self.timer = asyncio.get_running_loop().call_later(REFUSE_LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        pass  # discarded

    def eof_received(self):
        self.timer.cancel()
        self.transport.close()

    def connection_lost(self, exc) -> None:
        self.timer.cancel()


class _CappedFactory:
    """Protocol factory for loop.create_server: aiohttp's request handler while fewer than ``cap`` connections are
    open (``web.Server.connections``), else :class:`_Refuse`: bounded memory and file descriptors per server."""

    def __init__(self, server: web.Server, cap: int):
        self.server, self.cap, self.refused = server, cap, 0

    def __call__(self):
        if len(self.server.connections) >= self.cap:
            self.refused += 1
            return _Refuse()
        return self.server()


class RunningServer:
    """A started server (for tests and `play` against an in-process server): `.url`, `await .stop()`."""

    def __init__(self, runner: web.AppRunner, listener: asyncio.AbstractServer, host: str, port: int,
                 factory: _CappedFactory):
        self.runner, self.listener, self.host, self.port, self.factory = runner, listener, host, port, factory

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def refused_connections(self) -> int:
        return self.factory.refused

    async def stop(self) -> None:
        self.listener.close()
        await self.runner.cleanup()


async def start_server(
    root: str | Path, host: str = "127.0.0.1", port: int = 0, trace: Trace | None = None, webrtc=False,
    idle_timeout_s: float = IDLE_TIMEOUT_S, access_log: bool = False, max_connections: int = MAX_CONNECTIONS,
) -> RunningServer:
    """Start serving in the running event loop; port 0 picks a free port. With `webrtc` True, ICE gathers on
    `host` only (every interface for 0.0.0.0); a WebRTCConfig is used as given. A connection that has not sent
    complete request headers within `idle_timeout_s` (or sits idle that long between requests) is closed."""
    if webrtc is True:
        from splatcast.net.webrtc import WebRTCConfig

        webrtc = WebRTCConfig(host=host)
    # aiohttp's keep-alive timer also runs while a request's headers are incomplete, dripped or not: it is the
    # header-read timeout that keeps slowloris connections from piling up
    runner = web.AppRunner(create_app(root, trace=trace, webrtc=webrtc), shutdown_timeout=1.0,
                           keepalive_timeout=idle_timeout_s, **_access_log(access_log))
    await runner.setup()
    factory = _CappedFactory(runner.server, max_connections)  # instead of web.TCPSite, which has no cap
    listener = await asyncio.get_running_loop().create_server(factory, host, port, backlog=512, reuse_address=True)
    bound = listener.sockets[0].getsockname()[1]
    return RunningServer(runner, listener, host, bound, factory)


ACCESS_LOG_FORMAT = '%a "%r" %s %b bytes %Tf s'  # client, request line, status, body bytes, seconds


def _access_log(enabled: bool) -> dict:
    """AppRunner arguments for one line per request on stderr (or none)."""
    if not enabled:
        return {"access_log": None}
    import logging
    import sys

    log = logging.getLogger("splatcast.access")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return {"access_log": log, "access_log_format": ACCESS_LOG_FORMAT}


def serve_forever(root: str | Path, host: str, port: int, trace: Trace | None, webrtc, ready=None,
                  access_log: bool = False, max_connections: int = MAX_CONNECTIONS) -> None:
    """Blocking entry for the CLI; `ready(url)` is called once listening."""

    if not 0 <= port <= 65535:
        raise NetworkError(f"--port {port}: a port is 0..65535 (0 picks a free one)")

    async def main():
        try:
            server = await start_server(root, host, port, trace=trace, webrtc=webrtc, access_log=access_log,
                                        max_connections=max_connections)
        except OSError as exc:  # busy port, an address this machine does not have, a privileged port
            reason = exc.strerror or str(exc)
            busy = exc.errno == errno.EADDRINUSE
            hint = " (another server is using it: choose another --port, or 0 for a free one)" if busy else ""
            raise NetworkError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
        if ready is not None:
            ready(server.url)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
