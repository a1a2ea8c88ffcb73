"""Dates, times, numbers and relative times in the reader's locale and time zone, taken from context."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.lib.i18n import (
    DEFAULT_TIMEZONE,
    current_timezone,
    format_date,
    format_datetime,
    format_number,
    format_relative,
    format_size,
    format_time,
    format_zoned_datetime,
    use_locale,
    use_timezone,
)
from app.ui.controllers.reports import tags_field
from app.ui.views import field_changes, table

# 23:30 UTC on 8 March 2026 is already 9 March in Taipei, and 16:30 daylight time in Los Angeles.
MOMENT = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)


def test_defaults_are_english_and_utc() -> None:
    assert current_timezone() == DEFAULT_TIMEZONE == "UTC"
    assert format_datetime(MOMENT) == "Mar 8, 2026, 11:30:00\u202fPM"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "Mar 9, 2026, 7:30:00\u202fAM"),
        ("zh_Hant_TW", "2026年3月9日 清晨7:30:00"),
        ("zh_Hans_CN", "2026年3月9日 07:30:00"),
        ("ja", "2026/03/09 7:30:00"),
        ("es", "9 mar 2026, 7:30:00"),
        ("de", "09.03.2026, 07:30:00"),
    ],
)
def test_datetime_in_the_readers_locale_and_zone(locale: str, expected: str) -> None:
    with use_locale(locale), use_timezone("Asia/Taipei"):
        assert format_datetime(MOMENT) == expected


def test_the_zone_decides_the_hour_and_its_name() -> None:
    with use_locale("de"), use_timezone("America/Los_Angeles"):
        assert format_datetime(MOMENT, "short") == "08.03.26, 16:30"
        assert format_datetime(MOMENT, "full") == (
            "Sonntag, 8. März 2026, 16:30:00 Nordamerikanische Westküsten-Sommerzeit"
        )
    with use_locale("zh_Hant_TW"), use_timezone("America/Los_Angeles"):
        assert format_datetime(MOMENT, "full") == "2026年3月8日 星期日 下午4:30:00 [太平洋夏令時間]"


def test_a_moment_falls_on_the_readers_calendar_day() -> None:
    with use_locale("ja"):
        assert format_date(MOMENT, "long") == "2026年3月8日"
        with use_timezone("Asia/Tokyo"):
            assert format_date(MOMENT, "long") == "2026年3月9日"


def test_a_calendar_date_ignores_the_zone() -> None:
    with use_locale("es"), use_timezone("Pacific/Kiritimati"):
        assert format_date(date(2026, 3, 8), "long") == "8 de marzo de 2026"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "4:30\u202fPM"), ("zh_Hant_TW", "下午4:30"), ("zh_Hans_CN", "16:30"), ("de", "16:30")],
)
def test_time_in_the_readers_zone(locale: str, expected: str) -> None:
    with use_locale(locale), use_timezone("America/Los_Angeles"):
        assert format_time(MOMENT, "short") == expected


def test_a_naive_datetime_is_taken_as_utc() -> None:
    with use_locale("de"), use_timezone("Europe/Berlin"):
        assert format_datetime(MOMENT.replace(tzinfo=None)) == format_datetime(MOMENT) == "09.03.2026, 00:30:00"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "1,234,567.5"),
        ("zh_Hant_TW", "1,234,567.5"),
        ("zh_Hans_CN", "1,234,567.5"),
        ("ja", "1,234,567.5"),
        ("es", "1.234.567,5"),
        ("de", "1.234.567,5"),
    ],
)
def test_numbers_in_the_readers_locale(locale: str, expected: str) -> None:
    with use_locale(locale):
        assert format_number(1234567.5) == expected


def test_file_sizes_in_the_readers_words() -> None:
    sizes = (1, 812, 3000, 3_250_000)
    with use_locale("en"):
        assert [format_size(size) for size in sizes] == ["1 byte", "812 bytes", "2.9 KB", "3.1 MB"]
    with use_locale("de"):
        assert [format_size(size) for size in sizes] == ["1 Byte", "812 Byte", "2,9 KB", "3,1 MB"]
    with use_locale("ja"):
        assert format_size(812) == "812 バイト"


def test_numbers_are_rounded_unless_exact() -> None:
    with use_locale("de"):
        assert format_number(Decimal("0.0000001")) == "0"
        assert format_number(Decimal("0.0000001"), exact=True) == "0,0000001"
        assert format_number(Decimal("12345.6789"), exact=True) == "12.345,6789"


@pytest.mark.parametrize(
    ("locale", "past", "future"),
    [
        ("en", "3 days ago", "in 2 hours"),
        ("zh_Hant_TW", "3 天前", "2 小時後"),
        ("zh_Hans_CN", "3天前", "2小时后"),
        ("ja", "3 日前", "2 時間後"),
        ("es", "hace 3 días", "dentro de 2 horas"),
        ("de", "vor 3 Tagen", "in 2 Stunden"),
    ],
)
def test_relative_times_in_the_readers_locale(locale: str, past: str, future: str) -> None:
    with use_locale(locale):
        assert format_relative(MOMENT, now=MOMENT + timedelta(days=3)) == past
        assert format_relative(MOMENT, now=MOMENT - timedelta(hours=2)) == future


def test_relative_time_defaults_to_now() -> None:
    with use_locale("de"):
        assert format_relative(datetime.now(UTC) - timedelta(days=5)) == "vor 5 Tagen"
        assert format_relative(datetime.now(UTC) + timedelta(minutes=10, seconds=5)) == "in 10 Minuten"


def test_the_zone_is_restored_after_the_block() -> None:
    with use_timezone("Asia/Taipei"):
        assert current_timezone() == "Asia/Taipei"
        with use_timezone("Europe/Madrid"):
            assert current_timezone() == "Europe/Madrid"
        assert current_timezone() == "Asia/Taipei"
    assert current_timezone() == "UTC"


async def test_concurrent_requests_keep_their_own_locale_and_zone() -> None:
    async def reader(locale: str, zone: str) -> str:
        with use_locale(locale), use_timezone(zone):
            await asyncio.sleep(0)  # let the other reader run in between
            return format_datetime(MOMENT, "short")

    taipei, berlin = await asyncio.gather(reader("zh_Hant_TW", "Asia/Taipei"), reader("de", "Europe/Berlin"))
    assert (taipei, berlin) == ("2026/3/9 清晨7:30", "09.03.26, 00:30")


def test_a_log_value_the_page_left_out_is_an_empty_cell_not_null() -> None:
    """A console error without a source line showed "null" under Source and Line."""
    logged = table(
        [{"message": "boom", "source": None, "line": None}, {"message": "bang", "source": "a.js", "line": 3}]
    )
    assert logged.rows[0][1:] == ["", ""]
    assert logged.rows[1][1:] == ["a.js", "3"]


def test_a_reports_history_reads_in_the_readers_words_and_names_a_former_member_as_such() -> None:
    """Someone removed from the organization took their name with them: "— → —" told nothing."""
    fields = {
        "status": ["new", "doing"],
        "assigneeId": ["0195-gone", "0195-here"],
        "description": [None, None],
        "tags": [[], ["checkout", "mobile"]],
    }
    with use_locale("de"):
        lines = field_changes(fields, {"0195-here": "Ana"})
    assert [(line.name, line.before, line.after) for line in lines] == [
        ("Status", "Neu", "In Arbeit"),
        ("Zuständig", "Ein ehemaliges Mitglied", "Ana"),
        ("Beschreibung", "", ""),
        ("Tags", "—", "checkout und mobile"),
    ]


def test_tags_are_listed_as_the_readers_language_lists() -> None:
    """Japanese tags were joined with an ASCII ", " in the history ("— → チェックアウト, モバイル, 決済") and in the
    triage form's field, whose hint says they are separated by "、"; the field's separator is one it reads back."""
    tags = ["チェックアウト", "モバイル", "決済"]
    with use_locale("ja"):
        (line,) = field_changes({"tags": [[], tags]}, {})
        assert line.after == "チェックアウト、モバイル、決済"
        assert tags_field(tags) == "チェックアウト、モバイル、決済"
    with use_locale("zh_Hant_TW"):
        assert tags_field(tags) == "チェックアウト、モバイル、決済"
    with use_locale("en"):
        assert tags_field(["checkout", "mobile"]) == "checkout, mobile"
        assert field_changes({"tags": [["checkout"], ["checkout", "mobile"]]}, {})[0].after == "checkout and mobile"


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("en", "UTC", "Dec 4, 2026, 9:51:20\u202fPM UTC"),
        ("de", "Europe/Berlin", "04.12.2026, 22:51:20 MEZ"),
        ("ja", "Asia/Tokyo", "2026/12/05 6:51:20 JST"),
        ("en", "Europe/Berlin", "Dec 4, 2026, 10:51:20\u202fPM GMT+01:00"),  # it was "+0100" beside German's MEZ
    ],
)
def test_an_exact_moment_says_its_zone(locale: str, zone: str, expected: str) -> None:
    """A page read in another zone, or shared, said a time without saying which clock it meant."""
    with use_locale(locale), use_timezone(zone):
        assert format_zoned_datetime(datetime(2026, 12, 4, 21, 51, 20, tzinfo=UTC)) == expected
