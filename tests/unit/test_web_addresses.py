"""Which URLs are web addresses: one rule for a project's site, a report's links, webhooks and GitHub's API."""

from __future__ import annotations

import pytest

from app.lib.web_addresses import web_address


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/checkout?step=2#pay",
        "HTTP://Shop.Example.com",
        "http://[::1]/x",
        "http://[::1]:3000/",
        "http://user:secret@[2001:db8::1]:8080/x",
        "http://[::ffff:192.0.2.1]/",
        "http://[fe80::1%25eth0]/",  # a zone as RFC 6874 writes it
        "https://[2001:db8::1]/a[b]",  # brackets in a path are the path's
    ],
)
def test_a_web_address_is_read(url: str) -> None:
    assert web_address(url) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x",  # unclosed
        "http://[12345::]/",  # no IPv6 address
        "http://[192.0.2.1]/",  # an IPv4 address is not bracketed
        "http://[v1.x]/",  # IPvFuture: no browser or client reads it
        "http://[fe80::1%zz]/",  # a zone not written %25…
        "http://[fe80::1%eth0]/",
        "http://[fe80::1%25]/",  # an empty zone
        "http://a[::1]/",  # brackets within a host
        "http://[::1]x/",
        "http://[::1]:99999/",  # a port out of range
        "http://example.com:port/",
        "http:///x",  # no host
        "ftp://files.example.com/a",
        "/relative",
    ],
)
def test_anything_else_is_not(url: str) -> None:
    assert web_address(url) is None
