"""Charts drawn on the server as inline SVG: no script and no package. Each bar says its numbers in its title,
which browsers show on hover; the page also lists them in a table, for a keyboard and a screen reader (the
chart is one image to them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.jobs.schemas import HourOutcomes
from app.lib.i18n import format_day, format_day_and_time, format_number, format_time, is_local_midnight
from app.lib.i18n import gettext as _

WIDTH = 480
HEIGHT = 96
GAP = 1.0
MAX_TICKS = 6
HOURS_A_DAY = 24


@dataclass(frozen=True, slots=True)
class Bar:
    """One hour: the done part stacked on the failed part, in the chart's coordinates."""

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
    width: int
    height: int
    peak: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # where an hour's label goes, and the label

    @property
    def busy(self) -> list[Bar]:
        """The hours with a job done or failed, as the chart's table lists them."""
        return [bar for bar in self.bars if bar.done or bar.failed]


def hourly_chart(hours: Sequence[HourOutcomes]) -> BarChart:
    """One bar an hour. A window of more than a day names each hour with its day, and marks where days
    begin: seven days of bare hours read as one."""
    days = len(hours) > HOURS_A_DAY
    name = format_day_and_time if days else _short_time
    peak = max((hour.done + hour.failed for hour in hours), default=0)
    slot = WIDTH / max(len(hours), 1)
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for index, hour in enumerate(hours):
        failed_height, done_height = hour.failed * scale, hour.done * scale
        failed_y = HEIGHT - failed_height
        when = name(hour.hour)
        title = _(
            "%(time)s: %(done)s done, %(failed)s failed",
            time=when,
            done=format_number(hour.done),
            failed=format_number(hour.failed),
        )
        done_y = failed_y - done_height
        width = max(slot - GAP, 0.5)
        bars.append(
            Bar(when, hour.done, hour.failed, index * slot, width, done_y, done_height, failed_y, failed_height, title)
        )
    return BarChart(WIDTH, HEIGHT, peak, bars, _day_ticks(hours, slot) if days else _hour_ticks(hours, slot))


def _short_time(moment: datetime) -> str:
    return format_time(moment, "short")


def _hour_ticks(hours: Sequence[HourOutcomes], slot: float) -> list[tuple[float, str]]:
    every = max(1, math.ceil(len(hours) / MAX_TICKS))
    return [(index * slot, _short_time(hour.hour)) for index, hour in enumerate(hours) if index % every == 0]


def _day_ticks(hours: Sequence[HourOutcomes], slot: float) -> list[tuple[float, str]]:
    return [(index * slot, format_day(hour.hour)) for index, hour in enumerate(hours) if is_local_midnight(hour.hour)]
