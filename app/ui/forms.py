"""The admin UI's forms: posted as a browser posts them, checked by the API's own bodies, and a refused form
comes back filled in with each field's reason beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from litestar.enums import RequestEncodingType
from litestar.params import Body

from app.lib.errors import ErrorCode, LanternError, message_of
from app.lib.i18n import gettext as _
from app.lib.i18n import join_sentences

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
# Reasons for no field of the form (or for the body as a whole) are shown above it.
WHOLE_FORM = ""


@dataclass(frozen=True)
class TypedList:
    """A list typed into a box, and the line each of its entries is on, for a refusal to point at."""

    entries: list[str]
    lines: list[int]

    @classmethod
    def of(cls, text: str, separators: str | None = None) -> TypedList:
        """The entries of `text`, one per line or also split at `separators` (a pattern); blank ones dropped."""
        typed = [
            (entry.strip(), number)
            for number, line in enumerate(text.splitlines(), 1)
            for entry in (re.split(separators, line) if separators else [line])
            if entry.strip()
        ]
        return cls([entry for entry, _line in typed], [number for _entry, number in typed])


_ENTRY = re.compile(r"(?P<list>.+)\[(?P<index>\d+)\]")


def field_errors(
    error: LanternError, names: Mapping[str, str], typed: Mapping[str, TypedList] | None = None
) -> dict[str, str]:
    """A validation error's reasons by the form's field names: the API's `apiUrl` is the form's `api_url`,
    `labels[2]` is `labels`, and a nested `widgetConfig.buttonText` is named whole or by its head; the first
    reason of a field is shown; so is a conflict's (an address already invited). The reason for an entry of a
    list typed line by line (`typed`, by the API's name of the list) says its line, and every refused line is
    named: among many, "Must be a site" said not which. Other errors are not the form's to show."""
    if error.code is not ErrorCode.VALIDATION_ERROR and not (error.code is ErrorCode.CONFLICT and error.details):
        raise error
    reasons: dict[str, list[str]] = {}
    for detail in error.details:
        path = detail.field or ""
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        said = reasons.setdefault(names.get(path, names.get(head, WHOLE_FORM)), [])
        if (entry := _ENTRY.fullmatch(path)) and (listed := (typed or {}).get(entry["list"])):
            line = _("Line %(line)s: %(reason)s", line=listed.lines[int(entry["index"])], reason=detail.message)
            if line not in said:  # once, however many checks refused it
                said.append(line)
        elif not said:
            said.append(detail.message)
    return {name: join_sentences(*said) for name, said in reasons.items()} or {WHOLE_FORM: message_of(error)}


def whole_number(text: str) -> int | str:
    """A number field's text as the number it holds; anything else is left for the body's check to refuse in
    the reader's words ("Must be a whole number.")."""
    try:
        return int(text.strip())
    except ValueError:
        return text
