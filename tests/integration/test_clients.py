"""The client's address: X-Forwarded-For is believed only from a configured proxy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from outcomes.clients import client_ip, login_username


def request(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta, POST={})


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    ([], "198.51.100.1", "203.0.113.9", "198.51.100.1"),  # no proxy configured: the peer
    (["10.0.0.0/8"], "198.51.100.1", "203.0.113.9", "198.51.100.1"),  # peer is not a proxy
    (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9", "203.0.113.9"),
    # A client's own forged entries stand left of what our proxies appended.
    (["10.0.0.0/8"], "10.1.2.3", "1.2.3.4, 203.0.113.9, 10.9.9.9", "203.0.113.9"),
    (["10.0.0.0/8"], "10.1.2.3", "not-an-ip, 203.0.113.9", "203.0.113.9"),
    (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9, garbage", "10.1.2.3"),
    (["10.0.0.0/8"], "10.1.2.3", None, "10.1.2.3"),
    (["::1"], "::1", "2001:db8::5", "2001:db8::5"),
])
def test_the_client_address(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(request(remote, forwarded)) == expected


def test_the_login_username_fits_the_lockout_table():
    assert login_username(None, {"username": "u" * 300}) == "u" * 255
    assert login_username(request("127.0.0.1"), None) == ""
