"""The admin UI's forms: posted as a browser posts them, checked by the API's own bodies, and a refused form
comes back filled in with each field's reason beside it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from litestar.enums import RequestEncodingType
from litestar.params import Body

from app.lib.errors import ErrorCode, LanternError, message_of

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
# Reasons for no field of the form (or for the body as a whole) are shown above it.
WHOLE_FORM = ""


def field_errors(error: LanternError, names: Mapping[str, str]) -> dict[str, str]:
    """A validation error's reasons by the form's field names: the API's `apiUrl` is the form's `api_url`,
    `labels[2]` is `labels`, and a nested `widgetConfig.buttonText` is named whole or by its head; the first
    reason of a field is shown; so is a conflict's (an address already invited). Other errors are not the
    form's to show."""
    if error.code is not ErrorCode.VALIDATION_ERROR and not (error.code is ErrorCode.CONFLICT and error.details):
        raise error
    errors: dict[str, str] = {}
    for detail in error.details:
        path = detail.field or ""
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        errors.setdefault(names.get(path, names.get(head, WHOLE_FORM)), detail.message)
    return errors or {WHOLE_FORM: message_of(error)}


def whole_number(text: str) -> int | str:
    """A number field's text as the number it holds; anything else is left for the body's check to refuse in
    the reader's words ("Must be a whole number.")."""
    try:
        return int(text.strip())
    except ValueError:
        return text
