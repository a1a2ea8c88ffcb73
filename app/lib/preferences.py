"""Validation of a person's or an organization's language and time zone preferences."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.i18n import match_locale


def validated_locale(tag: str | None, field: str = "locale") -> str | None:
    """A shipped locale for a preference (`zh-TW` is stored as `zh_Hant_TW`), or a field error."""
    if tag is None:
        return None
    if (matched := match_locale(tag)) is None:
        raise LanternError(
            ErrorCode.VALIDATION_ERROR, details=[FieldError(field, _("This language is not available."))]
        )
    return matched


def validated_timezone(name: str | None, field: str = "timezone") -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LanternError(
            ErrorCode.VALIDATION_ERROR,
            details=[FieldError(field, _("This time zone is not known."))],
        ) from None
    return name
