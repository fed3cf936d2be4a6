"""`splatcast serve DIR`: HTTP (Range, CORS) and optionally WebRTC delivery of a packaged directory."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "serve a packaged directory over HTTP with byte ranges (and a WebRTC data channel with --webrtc)"


def add_arguments(parser) -> None:
    parser.add_argument("dir", help="directory written by `splatcast package`")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this computer only; 0.0.0.0: every interface, e.g. "
                             "a classroom LAN)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--webrtc", action="store_true", help="accept SDP offers at POST /webrtc/offer")
    parser.add_argument("--ice-server", action="append", default=[], metavar="URL",
                        help="STUN/TURN server for WebRTC (stun:host:port, turn:host:port; repeatable). Default: "
                             "none, ICE uses the address given by --host only")
    parser.add_argument("--ice-username", default=None, help="username for the TURN servers")
    parser.add_argument("--ice-credential", default=None, help="credential for the TURN servers")
    parser.add_argument("--trace", default=None, metavar="FILE_OR_PAIRS",
                        help="shape every connection along a Pensieve trace file or inline TIME MBPS pairs ('0 10')")
    parser.add_argument("--trace-scale", type=float, default=1.0, help="multiply the trace's rates (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no line per request on stderr")
    parser.add_argument("--max-connections", type=int, default=None,
                        help="open TCP connections at once; more get 503 (default 1024)")


def run(args) -> int:
    from splatcast.net.server import serve_forever
    from splatcast.net.traces import trace_argument

    root = Path(args.dir)
    if not root.is_dir():
        raise FileNotFoundError(2, "No such directory", str(root))
    trace = trace_argument(args.trace, args.trace_scale) if args.trace else None

    def ready(url: str) -> None:
        from urllib.parse import urlsplit

        from splatcast.net.addresses import reachable_urls

        shaping = f", shaped by {args.trace} x{args.trace_scale}" if trace else ""
        webrtc = ", WebRTC offers at /webrtc/offer" if args.webrtc else ""
        urls = reachable_urls(args.host, urlsplit(url).port)
        print(f"serving {root}{shaping}{webrtc} at {' '.join(urls)} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        if args.host == "127.0.0.1":
            print("only this computer can connect; --host 0.0.0.0 serves your network", file=sys.stderr, flush=True)

    webrtc = False
    if args.webrtc:
        from splatcast.net.webrtc import WebRTCConfig

        webrtc = WebRTCConfig(ice_servers=args.ice_server, ice_username=args.ice_username,
                              ice_credential=args.ice_credential, host=args.host)
    from splatcast.errors import SplatcastError
    from splatcast.net.server import MAX_CONNECTIONS

    cap = MAX_CONNECTIONS if args.max_connections is None else args.max_connections
    if cap < 1:
        raise SplatcastError(f"--max-connections={cap} must be >= 1")
    serve_forever(root, args.host, args.port, trace, webrtc, ready=ready, access_log=not args.quiet,
                  max_connections=cap)
    return 0
