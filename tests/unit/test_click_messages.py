"""The click words our catalogs translate are the installed click's own: an upgrade that rewords one (our catalogs'
translation of the old words would no longer be looked up, and the new words would be English) fails here."""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from app.lib.click_i18n import CLICK_MESSAGES

CLICK_SOURCE = Path(click.__file__).parent


def clicks_messages() -> set[str | tuple[str, ...]]:
    """What click passes through gettext, read from the installed click's source as `make extract-messages` reads
    ours (click calls `_` and `ngettext`)."""
    found = extract_from_dir(CLICK_SOURCE, [("**.py", "python")], keywords=DEFAULT_KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found}


def test_every_click_message_we_translate_is_one_the_installed_click_says() -> None:
    gone = set(CLICK_MESSAGES) - clicks_messages()
    assert not gone, f"click no longer says these (see app/lib/click_i18n.py): {sorted(gone, key=str)}"


def test_the_check_finds_a_message_click_does_not_say() -> None:
    assert "Usage:" in clicks_messages()
    assert "Usage :" not in clicks_messages()
    assert ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)") in clicks_messages()
