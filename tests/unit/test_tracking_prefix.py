"""The tracking prefix a project gets from its name when none is sent (`BSK` for BugSpark, as the spec names it)."""

from __future__ import annotations

import msgspec
import pytest

from app.domain.projects.schemas import TrackingPrefix
from app.domain.projects.services import default_tracking_prefix


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        # One word: its first letter and the consonants after it.
        ("Lantern", "LNT"),
        ("LANTERN", "LNT"),
        ("shop", "SHP"),
        ("Io", "IOX"),  # no consonant after its initial: completed so as to be two letters at least
        ("X", "XX"),
        # Camel case is words: BugSpark's initials, completed from Spark's consonants counted from its end.
        ("BugSpark", "BSK"),
        ("Bug Spark", "BSK"),
        ("bug-spark", "BSK"),
        ("myApp", "MAP"),
        ("HTMLParser", "HPR"),  # an acronym is one word
        ("iOS", "IOS"),
        ("Concurrent Shop", "CSP"),
        ("Shop Io", "SI"),  # the last word has no consonant after its initial: two letters stay
        # Three initials or more: the initials, at most four.
        ("Web Shop Admin", "WSA"),
        ("My Very Own Bug Tracker", "MVOB"),
        ("ShopAdminPanel", "SAP"),
        # Accents go, other scripts are no letters of a prefix.
        ("Café Crème", "CCM"),
        ("Équipe 商店", "EQP"),
        ("商店", "PRJ"),
        ("", "PRJ"),
    ],
)
def test_a_prefix_is_made_from_the_names_words(name: str, prefix: str) -> None:
    made = default_tracking_prefix(name)
    assert made == prefix
    assert msgspec.convert(made, TrackingPrefix) == made  # the rule a sent prefix is held to: 2 to 10 letters A-Z
