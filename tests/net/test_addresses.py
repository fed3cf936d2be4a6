"""The URLs `share` / `serve` print: the bound host, or every interface address for a wildcard bind."""

from __future__ import annotations

import types

from splatcast.net import addresses


def _fake_adapters(monkeypatch):
    ip = lambda a: types.SimpleNamespace(ip=a)  # noqa: E731 (ifaddr's IP objects: str for v4, tuple for v6)
    adapters = [types.SimpleNamespace(ips=[ip("192.168.1.20"), ip(("fe80::1", 0, 2)), ip(("fd00::5", 0, 0))]),
                types.SimpleNamespace(ips=[ip("127.0.0.1"), ip(("::1", 0, 0))])]
    import ifaddr

    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters)


def test_a_specific_host_is_the_only_url():
    assert addresses.reachable_urls("10.0.0.7", 8000) == ["http://10.0.0.7:8000/"]


def test_wildcards_list_every_interface_loopback_first(monkeypatch):
    _fake_adapters(monkeypatch)
    assert addresses.reachable_urls("0.0.0.0", 81) == ["http://127.0.0.1:81/", "http://192.168.1.20:81/"]
    assert addresses.reachable_urls("::", 81) == ["http://127.0.0.1:81/", "http://[::1]:81/",
                                                  "http://192.168.1.20:81/", "http://[fd00::5]:81/"]
