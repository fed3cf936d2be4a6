"""The URLs under which a server bound to ``host`` can be reached: what ``share``, ``serve`` and ``demo`` print."""

from __future__ import annotations

import ipaddress

ANY_V4, ANY_V6 = "0.0.0.0", "::"


def _url(ip: str, port: int) -> str:
    return f"http://[{ip}]:{port}/" if ":" in ip else f"http://{ip}:{port}/"


def reachable_urls(host: str, port: int) -> list[str]:
    """``host`` itself, or for a wildcard bind every interface address of this machine (loopback first, then the
    LAN addresses students can open; IPv6 link-local ones are left out: a browser needs a zone id for them)."""
    if host not in (ANY_V4, ANY_V6, ""):
        return [_url(host, port)]
    import ifaddr

    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            addr = ipaddress.ip_address(text)
            if addr.version == 6 and (host == ANY_V4 or addr.is_link_local):
                continue
            found.append(addr)
    found = sorted(set(found), key=lambda a: (not a.is_loopback, a.version, int(a)))
    return [_url(str(a), port) for a in found] or [_url("127.0.0.1", port)]
