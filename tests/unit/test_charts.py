"""The job dashboard's hourly charts: their hours named in the reader's language and zone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.jobs.schemas import HourOutcomes
from app.lib.i18n import use_locale, use_timezone
from app.ui.charts import hourly_chart

START = datetime(2026, 12, 1, 12, tzinfo=UTC)


def hours(count: int) -> list[HourOutcomes]:
    return [HourOutcomes(hour=START + timedelta(hours=n), done=n % 3, failed=0) for n in range(count)]


def test_a_day_is_marked_by_its_hours() -> None:
    with use_locale("de"), use_timezone("Europe/Berlin"):
        chart = hourly_chart(hours(6))
    assert [label for _x, label in chart.ticks] == ["13:00", "15:00", "17:00"]
    assert chart.bars[0].title == "13:00: 0 erledigt, 0 fehlgeschlagen"


def test_the_dashboards_day_is_marked_by_its_hours_and_its_bars_name_their_day() -> None:
    """The dashboard's 24 hours hold 25 bars (from the hour they began in to the hour now): taken for a longer
    window, the chart was marked by the day alone, one date under it and no hour. Its first and last bars are at
    the same time of day, so each bar's title names its day."""
    with use_locale("de"), use_timezone("Europe/Berlin"):
        chart = hourly_chart(hours(25))
    assert [label for _x, label in chart.ticks] == ["13:00", "20:00", "03:00"]
    assert chart.bars[0].title == "1. Dez., 13:00: 0 erledigt, 0 fehlgeschlagen"
    assert chart.bars[24].title.startswith("2. Dez., 13:00")


def test_the_names_under_the_bars_each_have_room_to_the_next_and_to_the_end() -> None:
    """On a phone the bars are some 250 px wide: seven days' names in the chart's 12 px text overlapped, and a
    name at the last bars ran out of the chart. At most four, each a fifth of the width at least."""
    for count in (6, 24, 3 * 24, 7 * 24, 1):
        with use_locale("de"), use_timezone("Europe/Berlin"):
            ticks = [x for x, _label in hourly_chart(hours(count + 1)).ticks]
        assert 1 <= len(ticks) <= 4, (count, ticks)
        assert all(later - earlier >= 20 for earlier, later in itertools.pairwise(ticks)), (count, ticks)
        assert ticks[-1] <= 80, (count, ticks)


def test_seven_days_are_marked_by_the_days_they_begin_in_the_readers_zone() -> None:
    """Seven days of bare hours (13:00, 17:00, …) read as one day: the ticks name the days, where they begin."""
    with use_locale("de"), use_timezone("Europe/Berlin"):
        chart = hourly_chart(hours(7 * 24))
    assert [label for _x, label in chart.ticks] == ["2. Dez.", "4. Dez.", "6. Dez."]  # every other: room on a phone
    first_tick = chart.ticks[0][0]
    assert chart.bars[11].x == first_tick  # 12:00 UTC + 11 h is midnight in Berlin
    assert chart.bars[0].title == "1. Dez., 13:00: 0 erledigt, 0 fehlgeschlagen"


def test_the_table_beside_a_chart_lists_the_hours_with_work_in_them() -> None:
    """The chart is one image to a screen reader and its bars answer a mouse only: the table says the same."""
    outcomes = [
        HourOutcomes(hour=START, done=0, failed=0),
        HourOutcomes(hour=START + timedelta(hours=1), done=0, failed=2),
        HourOutcomes(hour=START + timedelta(hours=2), done=1250, failed=1),
    ]
    with use_locale("de"), use_timezone("Europe/Berlin"):
        chart = hourly_chart(outcomes)
    assert [(bar.hour, bar.done, bar.failed) for bar in chart.busy] == [("14:00", 0, 2), ("15:00", 1250, 1)]


def test_the_y_axis_counts_in_round_steps_in_the_readers_digits() -> None:
    """The chart had no scale: a bar's height told nothing of how many jobs it was. Its counts rise in round steps
    to the first at or above the busiest hour, which the bars are drawn against."""
    outcomes = [HourOutcomes(hour=START, done=1250, failed=1), HourOutcomes(hour=START, done=0, failed=0)]
    with use_locale("de"):
        chart = hourly_chart(outcomes)
    assert [label for _y, label in chart.levels] == ["0", "500", "1.000", "1.500"]
    (zero, _zero_label), (top, _top_label) = chart.levels[0], chart.levels[-1]
    assert zero == chart.baseline
    busiest = chart.bars[0]
    assert busiest.done_height + busiest.failed_height == pytest.approx((zero - top) * 1251 / 1500)
    assert chart.left >= len("1.500") * 8  # the longest count fits left of the bars, a character 8 px at most
    with use_locale("en"):
        assert [label for _y, label in hourly_chart(hours(6)).levels] == ["0", "1", "2"]
        assert [label for _y, label in hourly_chart([]).levels] == ["0", "1"]
