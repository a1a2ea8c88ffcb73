"""Validation of a person's or an organization's language and time zone preferences."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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


@cache
def time_zones() -> list[str]:
    """Every time zone's name, for a time zone field's suggestions."""
    return sorted(available_timezones())


def validated_timezone(name: str | None, field: str = "timezone") -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field, _unknown_zone(name))]) from None
    return name


def _unknown_zone(name: str) -> str:
    """Why `name` is refused, with what is expected: the zone meant, when the text names one zone's city ("Berlin",
    "tokyo", "new york") or one zone in other letter case; else an example of an IANA name."""
    typed = name.strip().replace(" ", "_").casefold()
    meant = [zone for zone in time_zones() if typed in (zone.casefold(), zone.rpartition("/")[2].casefold())]
    if len(meant) == 1:
        return _("This time zone is not known. Did you mean %(zone)s?", zone=meant[0])
    return _("This time zone is not known. Use its IANA name, such as Europe/Berlin.")
