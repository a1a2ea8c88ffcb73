"""Charts drawn on the server as inline SVG: no script and no package. A y-axis counts the jobs in round steps,
in the reader's digits; each bar says its numbers in its title, which browsers show on hover; the page also lists
them in a table, for a keyboard and a screen reader (the chart is one image to them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.jobs.schemas import HourOutcomes
from app.lib.i18n import format_day, format_day_and_time, format_number, format_time, is_local_midnight
from app.lib.i18n import gettext as _

# The chart is drawn in CSS pixels, not in a viewBox that shrinks to fit its card: in one, its text shrank with
# it, to 6 px on a phone. Heights are in pixels; across, the bars and the hours' names are placed in per cent of
# the bars' width, which is the card's less the y-axis's counts.
HEIGHT = 96  # the bars' greatest height
ABOVE = 8  # room above the bars for the top count's upper half
BELOW = 20  # room below them for the hours' names
GAP = 0.2  # of each hour's slot, between its bar and the next
# At most this many names under the bars, each given at least a fifth of the bars' width: on a phone the bars are
# some 250 px wide, and a name such as "12:00 PM" or "28. Dez." is some 50 px in the chart's 12 px text.
MAX_TICKS = 4
TICK_ROOM = 20.0
WHOLE = 100.0  # the bars' whole width, in per cent
HOURS_A_DAY = 24
# The y-axis: at most this many steps from 0, each 1, 2 or 5 times a power of ten, so its counts read round.
MAX_STEPS = 4
ROUND_STEPS = (1, 2, 5, 10)
# The counts' room left of the axis, from their characters: a digit or separator is at most 8 px wide in the
# chart's 12 px text, so the longest count fits ("1,500" as "1.500" or "1 500").
CHARACTER_WIDTH = 8
AXIS_MARGIN = 6


@dataclass(frozen=True, slots=True)
class Bar:
    """One hour: the done part stacked on the failed part; across in per cent of the bars' width, up in pixels."""

    hour: str
    done: int
    failed: int
    x: float
    width: float
    done_y: float
    done_height: float
    failed_y: float
    failed_height: float
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    height: int
    peak: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # where an hour's label begins, in per cent of the bars' width, and the label
    levels: list[tuple[float, str]]  # the y-axis: where a count's line goes, and the count in the reader's digits
    left: int  # the y-axis's counts' width, left of the bars
    baseline: float  # where the bars stand: a count of 0

    @property
    def busy(self) -> list[Bar]:
        """The hours with a job done or failed, as the chart's table lists them."""
        return [bar for bar in self.bars if bar.done or bar.failed]


def hourly_chart(hours: Sequence[HourOutcomes]) -> BarChart:
    """One bar an hour. A window of more than a day marks where days begin (seven days of bare hours read as one);
    a day's is marked by its hours. A window of more hours than a day has names each bar's hour with its day: the
    dashboard's day (from the hour it began in to the hour now) holds 25, its first and last at the same time."""
    days = len(hours) > HOURS_A_DAY
    name = format_day_and_time if days else _short_time
    peak = max((hour.done + hour.failed for hour in hours), default=0)
    counts = _round_counts(peak)
    labels = [format_number(count) for count in counts]
    left = max(len(label) for label in labels) * CHARACTER_WIDTH + AXIS_MARGIN
    baseline = ABOVE + HEIGHT
    slot = WHOLE / max(len(hours), 1)
    scale = HEIGHT / counts[-1]
    bars = []
    for index, hour in enumerate(hours):
        failed_height, done_height = hour.failed * scale, hour.done * scale
        failed_y = baseline - failed_height
        when = name(hour.hour)
        title = _(
            "%(time)s: %(done)s done, %(failed)s failed",
            time=when,
            done=format_number(hour.done),
            failed=format_number(hour.failed),
        )
        done_y = failed_y - done_height
        x = index * slot
        bars.append(
            Bar(when, hour.done, hour.failed, x, slot * (1 - GAP), done_y, done_height, failed_y, failed_height, title)
        )
    ticks = _day_ticks(hours, slot) if len(hours) > HOURS_A_DAY + 1 else _hour_ticks(hours, slot)
    levels = [(baseline - count * scale, label) for count, label in zip(counts, labels, strict=True)]
    return BarChart(baseline + BELOW, peak, bars, ticks, levels, left, baseline)


def _round_counts(peak: int) -> list[int]:
    """The y-axis's counts: 0 up to the first round count at or above `peak` (at least 1), in round steps."""
    top = max(peak, 1)
    least = top / MAX_STEPS
    power = 10 ** max(0, math.floor(math.log10(least)))
    step = next(multiple * power for multiple in ROUND_STEPS if multiple * power >= least)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _short_time(moment: datetime) -> str:
    return format_time(moment, "short")


def _hour_ticks(hours: Sequence[HourOutcomes], slot: float) -> list[tuple[float, str]]:
    return _spaced([(index * slot, _short_time(hour.hour)) for index, hour in enumerate(hours)])


def _day_ticks(hours: Sequence[HourOutcomes], slot: float) -> list[tuple[float, str]]:
    return _spaced(
        [(index * slot, format_day(hour.hour)) for index, hour in enumerate(hours) if is_local_midnight(hour.hour)]
    )


def _spaced(ticks: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """At most MAX_TICKS of `ticks`, evenly picked from the first, each with room for its name before the next
    and before the chart's end: on a phone seven days' names overlapped, and the last ran out of the chart."""
    every = max(1, math.ceil(len(ticks) / MAX_TICKS))
    return [(x, label) for x, label in ticks[::every] if x + TICK_ROOM <= WHOLE]
