"""Which pages a project's allowed origins admit (`app/lib/cors.py`): a host admits its site and subdomains on any
scheme and port; an entry written as an origin admits its scheme and port alone."""

from __future__ import annotations

import pytest

from app.lib.cors import origin_allowed


@pytest.mark.parametrize(
    ("entry", "admitted", "refused"),
    [
        (
            # The port an origin leaves out is its scheme's: an entry without one is not "any port".
            "https://shop.example.org",
            ["https://shop.example.org", "https://app.shop.example.org"],
            ["https://shop.example.org:8443", "http://shop.example.org", "http://shop.example.org:443"],
        ),
        (
            "https://shop.example.org:8443",
            ["https://shop.example.org:8443"],
            ["https://shop.example.org", "http://shop.example.org:8443"],
        ),
        ("http://localhost:3000", ["http://localhost:3000"], ["http://localhost:4000", "http://localhost"]),
        ("http://localhost", ["http://localhost"], ["http://localhost:3000"]),
        (
            "example.com",
            ["https://example.com", "http://example.com:8080", "https://app.example.com:8443"],
            ["https://notexample.com", "https://example.com.evil.org"],
        ),
        ("example.com:8080", ["http://example.com:8080", "https://example.com:8080"], ["https://example.com"]),
    ],
)
def test_an_entry_admits_its_origins_alone(entry: str, admitted: list[str], refused: list[str]) -> None:
    assert [origin for origin in admitted if not origin_allowed(origin, (entry,))] == []
    assert [origin for origin in refused if origin_allowed(origin, (entry,))] == []
