"""Languages: the locale in context, gettext over the catalogs in `locales/`, negotiation and formatting.

The locale is chosen once per request (or job) and kept in a context variable; every `gettext` call reads
it, so API errors, templates, e-mails and CLI output all speak the same language from the same catalogs.
"""

from __future__ import annotations

import gettext as gettext_module
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale, dates, lists, numbers
from babel.support import LazyProxy, NullTranslations, Translations

from app.settings import get_settings

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "zh_Hant_TW", "zh_Hans_CN", "ja", "es", "de")
DEFAULT_TIMEZONE = "UTC"

_locale: ContextVar[str] = ContextVar("lantern_locale", default=DEFAULT_LOCALE)
_timezone: ContextVar[str] = ContextVar("lantern_timezone", default=DEFAULT_TIMEZONE)


def current_locale() -> str:
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _locale.set(locale)
    try:
        yield
    finally:
        _locale.reset(token)


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of a shipped locale (`make catalogs` builds the .mo files).

    English is a catalog like the others, so a wording fix needs no code change and `en` is checked by
    the same completeness tests.
    """
    if gettext_module.find(DOMAIN, str(LOCALES_DIR), [locale]) is None:
        msg = f"catalog for {locale} is not compiled: run `make catalogs`"
        raise FileNotFoundError(msg)
    return Translations.load(str(LOCALES_DIR), [locale], DOMAIN)


def gettext(message: str, **params: Any) -> str:
    text = translations(_locale.get()).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(_locale.get()).ungettext(singular, plural, n)
    return text % {"num": format_number(n), **params}


def lazy_gettext(message: str) -> LazyProxy:
    """A message translated when it is read, for module-level constants."""
    return LazyProxy(gettext, message, enable_cache=False)


_ = gettext


# Negotiation -------------------------------------------------------------------------------------

_BY_LANGUAGE = {"en": "en", "ja": "ja", "es": "es", "de": "de"}
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})
_SCRIPT = re.compile(r"[a-z]{4}")
_REGION = re.compile(r"[a-z]{2}|[0-9]{3}")
_SINGLETON = re.compile(r"[a-z0-9]")


def match_locale(tag: str) -> str | None:
    """Map one language tag (`zh-TW`, `de-AT`, `zh_Hant`) to a shipped locale, or None.

    Matched on the tag's own subtags: Babel's `negotiate_locale` maps `zh-TW` to English, `Locale.parse`
    refuses pairs CLDR does not list (`de-US`, `zh-Hant-US`), and its likely-subtag fallback turns
    `zh-Hant-CN` into Simplified, dropping the script the client asked for.
    """
    language, script, region = _subtags(tag)
    if language == "zh":
        traditional = script == "hant" if script else region in _TRADITIONAL_REGIONS
        return "zh_Hant_TW" if traditional else "zh_Hans_CN"
    return _BY_LANGUAGE.get(language)


def _subtags(tag: str) -> tuple[str, str | None, str | None]:
    """(language, script, region) of a BCP 47 tag, lower-cased; extensions and private use are ignored."""
    language, *rest = tag.strip().replace("_", "-").lower().split("-")
    script = region = None
    for part in rest:
        if _SINGLETON.fullmatch(part):
            break
        if script is None and region is None and _SCRIPT.fullmatch(part):
            script = part
        elif region is None and _REGION.fullmatch(part):
            region = part
    return language, script, region


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (quality values honoured, q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(accept_language: str | None) -> str | None:
    for tag in parse_accept_language(accept_language or ""):
        if matched := match_locale(tag):
            return matched
    return None


# The language last chosen in this browser, with the admin UI's switcher or a page's `?lang=`: for whoever has saved
# none (signed out, say), on the pages a link leads to next (the login page's "Forgot your password?"), where
# `?lang=` holds for its page and what its forms lead to alone (app/ui/language.py).
LANGUAGE_COOKIE = "lantern_language"


def choose_locale(
    *,
    explicit: str | None = None,
    user_preference: str | None = None,
    browser_choice: str | None = None,
    accept_language: str | None = None,
    organization_default: str | None = None,
) -> str:
    """`?lang=` > the user's preference > the switcher's last choice in this browser > Accept-Language > the
    organization's default > the instance's default (LANTERN_DEFAULT_LOCALE) > English."""
    for candidate in (explicit, user_preference, browser_choice):
        if candidate and (matched := match_locale(candidate)):
            return matched
    if matched := negotiate(accept_language):
        return matched
    if organization_default and (matched := match_locale(organization_default)):
        return matched
    return match_locale(get_settings().default_locale) or DEFAULT_LOCALE


def language_tag(locale: str) -> str:
    """The BCP 47 tag of a shipped locale, for `Content-Language` (zh_Hant_TW -> zh-Hant-TW)."""
    return locale.replace("_", "-")


# Formatting --------------------------------------------------------------------------------------
# Dates, numbers and relative times in the reader's locale and time zone, both taken from context like
# the language, so a template or an e-mail formats a value without being told who reads it.

Style = Literal["short", "medium", "long", "full"]


def current_timezone() -> str:
    return _timezone.get()


@contextmanager
def use_timezone(name: str) -> Iterator[None]:
    """Format dates for readers in the IANA zone `name` (`Asia/Taipei`) within the block."""
    token = _timezone.set(name)
    try:
        yield
    finally:
        _timezone.reset(token)


@cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(moment: datetime) -> datetime:
    """`moment` in the reader's zone; a naive value is taken as UTC, which is how the database stores it. A
    moment at the calendar's edge that the reader's zone would carry past year 9999 or before year 1 (a
    browser's clock can say anything) stays in its own zone, which the zoned format then names."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(_zone(_timezone.get()))
    except OverflowError:
        return aware


def format_datetime(moment: datetime, style: Style = "medium") -> str:
    return dates.format_datetime(_local(moment), style, locale=_babel_locale(_locale.get()))


# A zone's short name where the language has none for it: its offset alone.
_BARE_OFFSET = re.compile(r"^[+-]\d{4}$")


def format_zoned_datetime(moment: datetime) -> str:
    """A moment exactly, with its zone ("Dec 4, 2026, 10:51:20 PM CET", "04.12.2026, 22:51:20 MEZ"): a page
    read in another zone, or shared, says which clock it means."""
    local, locale = _local(moment), _babel_locale(_locale.get())
    zone = dates.get_timezone_name(local, "short", locale=locale)
    if _BARE_OFFSET.match(zone):  # the language has no abbreviation for the zone: "GMT+01:00", not "+0100"
        zone = dates.get_timezone_gmt(local, "long", locale=locale)
    return f"{dates.format_datetime(local, 'medium', locale=locale)} {zone}"


def format_date(day: date, style: Style = "medium") -> str:
    """A calendar date; for a datetime, the date it is in the reader's zone (not in UTC)."""
    local_day = _local(day).date() if isinstance(day, datetime) else day
    return dates.format_date(local_day, style, locale=_babel_locale(_locale.get()))


def format_time(moment: datetime, style: Style = "medium") -> str:
    return dates.format_time(_local(moment), style, locale=_babel_locale(_locale.get()))


def format_day(moment: datetime) -> str:
    """The day of `moment` in the reader's zone, by month and day in their locale's way: "Dec 4", "4. Dez."."""
    return dates.format_skeleton("MMMd", _local(moment), locale=_babel_locale(_locale.get()))


def format_day_and_time(moment: datetime) -> str:
    """Day and short time, joined as the locale joins them: "Dec 4, 14:00"."""
    joined: str = _babel_locale(_locale.get()).datetime_formats["short"]
    return joined.replace("{1}", format_day(moment)).replace("{0}", format_time(moment, "short"))


def is_local_midnight(moment: datetime) -> bool:
    """Whether `moment` starts a day in the reader's zone."""
    local = _local(moment)
    return (local.hour, local.minute) == (0, 0)


def format_number(number: float | Decimal, *, exact: bool = False) -> str:
    """`number` with the locale's separators, rounded to 3 decimals unless `exact` (for limits to meet); one too
    large for Babel's decimal digits (a client can send 1e300 as a duration) in scientific notation."""
    locale = _babel_locale(_locale.get())
    try:
        return numbers.format_decimal(number, locale=locale, decimal_quantization=not exact)
    except InvalidOperation:
        return numbers.format_scientific(number, locale=locale)


def format_list(items: Sequence[str], style: Literal["standard", "or"] = "standard") -> str:
    """Items joined as the reader's language joins them: "Severity and Priority", "Schweregrad und Priorität";
    in the style "or", as alternatives ("JSON or a form", "JSON oder ein Formular")."""
    return lists.format_list(list(items), style=style, locale=_babel_locale(_locale.get()))


def format_entries(items: Sequence[str]) -> str:
    """Items joined by what the reader's language puts between a list's items, with no "and": "a, b, c",
    "a、b、c" in Japanese and Chinese. For a field to edit, which reads that separator back."""
    middle: str = _babel_locale(_locale.get()).list_patterns["standard"]["middle"]
    return middle.format("", "").join(items)


# What separates the items typed in such a field: an ASCII, full-width (U+FF0C) or ideographic (U+3001) comma.
_ENTRY_SEPARATORS = re.compile("[,\uff0c\u3001]")


def typed_entries(value: str) -> list[str]:
    """The items of a field `format_entries` filled, as the person left it: each once, in the order typed."""
    return list(dict.fromkeys(item.strip() for item in _ENTRY_SEPARATORS.split(value) if item.strip()))


# Chinese and Japanese end a sentence with a full-width stop (。), which holds its own space: nothing follows it.
_UNSPACED_LANGUAGES = frozenset({"zh", "ja"})


def join_sentences(*sentences: str) -> str:
    """Sentences one after another as the reader's language writes them: a space after "." in English, none
    after "。" in Chinese and Japanese."""
    separator = "" if _babel_locale(_locale.get()).language in _UNSPACED_LANGUAGES else " "
    return separator.join(sentences)


def format_megabytes(size: int) -> str:
    """A size limit in bytes as whole megabytes (of 1,048,576 bytes): "25 MB". The symbol is every shipped
    locale's (CLDR's German singular, "1 Mbyte", reads oddly beside "10 MB")."""
    return f"{format_number(size // (1024 * 1024))} MB"


def format_size(size: int) -> str:
    """A file's size as a person reads it: "812 bytes", "12.4 KB", "3.1 MB" (of 1,024 and 1,048,576 bytes)."""
    if size < 1024:  # noqa: PLR2004 - a kilobyte
        return ngettext("%(num)s byte", "%(num)s bytes", size)
    unit, scaled = ("KB", size / 1024) if size < 1024 * 1024 else ("MB", size / (1024 * 1024))
    return f"{numbers.format_decimal(round(scaled, 1), locale=_babel_locale(_locale.get()))} {unit}"


def format_relative(moment: datetime, now: datetime | None = None) -> str:
    """`moment` relative to `now` (default: the present), e.g. "3 days ago" or "in 2 hours"."""
    reference = now or datetime.now(UTC)
    return dates.format_timedelta(
        _local(moment) - _local(reference), add_direction=True, locale=_babel_locale(_locale.get())
    )
