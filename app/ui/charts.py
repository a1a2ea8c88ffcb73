"""Charts drawn on the server as inline SVG: the geometry is computed here, the template only draws it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.jobs.schemas import HourOutcomes

WIDTH = 480
HEIGHT = 96
GAP = 1


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    done_y: float
    done_height: float
    failed_y: float
    failed_height: float
    outcome: HourOutcomes


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    peak: int
    bars: list[Bar]


def bar_chart(hours: Sequence[HourOutcomes]) -> BarChart:
    """One bar per hour, done below failed (stacked), scaled to the busiest hour."""
    peak = max((hour.done + hour.failed for hour in hours), default=0)
    slot = WIDTH / max(len(hours), 1)
    scale = HEIGHT / peak if peak else 0.0
    bars = []
    for index, hour in enumerate(hours):
        done, failed = hour.done * scale, hour.failed * scale
        bars.append(
            Bar(
                x=index * slot,
                width=max(slot - GAP, 1),
                done_y=HEIGHT - done,
                done_height=done,
                failed_y=HEIGHT - done - failed,
                failed_height=failed,
                outcome=hour,
            )
        )
    return BarChart(WIDTH, HEIGHT, peak, bars)
