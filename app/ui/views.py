"""How report data reads on a page: translated names of statuses and levels, and logs as tables."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec
from babel.support import LazyProxy

from app.domain.organizations.models import Role
from app.domain.reports.labels import PRIORITY_LABELS
from app.domain.reports.models import DEFAULT_STATUS_IDS, Category, Priority, Severity
from app.domain.webhooks.models import DeliveryStatus
from app.lib.i18n import lazy_gettext as _lazy

LABELS: dict[str, dict[str, LazyProxy]] = {
    "status": {
        "new": _lazy("New"),
        "backlog": _lazy("Backlog"),
        "todo": _lazy("To do"),
        "doing": _lazy("Doing"),
        "done": _lazy("Done"),
        "closed": _lazy("Closed"),
    },
    "severity": {
        Severity.CRITICAL: _lazy("Critical"),
        Severity.HIGH: _lazy("High"),
        Severity.MEDIUM: _lazy("Medium"),
        Severity.LOW: _lazy("Low"),
    },
    "priority": PRIORITY_LABELS,
    "category": {
        Category.BUG: _lazy("Bug"),
        Category.UI: _lazy("User interface"),
        Category.PERFORMANCE: _lazy("Performance"),
        Category.CRASH: _lazy("Crash"),
        Category.OTHER: _lazy("Other"),
    },
    "delivery": {
        DeliveryStatus.PENDING: _lazy("Pending"),
        DeliveryStatus.DELIVERED: _lazy("Delivered"),
        DeliveryStatus.FAILED: _lazy("Failed"),
    },
    # The job dashboard's kinds of background work (`JobDashboard`).
    "kind": {
        "screenshot": _lazy("Screenshots"),
        "attachmentImage": _lazy("Attached images"),
        "webhookDelivery": _lazy("Webhook deliveries"),
        "githubIssue": _lazy("GitHub issues"),
        "trackingId": _lazy("Tracking IDs"),
    },
    # The widget's page metadata (BugPin's names); other keys a client sends are shown as they are.
    "metadata": {
        "url": _lazy("URL"),
        "title": _lazy("Page title"),
        "referrer": _lazy("Referrer"),
        "browser": _lazy("Browser"),
        "device": _lazy("Device"),
        "viewport": _lazy("Viewport"),
        "timestamp": _lazy("Time"),
    },
    "role": {
        Role.OWNER: _lazy("Owner"),
        Role.ADMIN: _lazy("Admin"),
        Role.MEMBER: _lazy("Member"),
        Role.GUEST: _lazy("Guest"),
    },
}

# Most urgent first, as people scan them.
CHOICES: dict[str, list[str]] = {
    "status": list(DEFAULT_STATUS_IDS),
    "severity": [level.value for level in Severity],
    "priority": [level.value for level in reversed(Priority)],
    "category": [category.value for category in Category],
}


def label(kind: str, value: str | None) -> str:
    """The reader's word for a value; a custom column's name is shown as its team wrote it."""
    if value is None:
        return ""
    known = LABELS[kind].get(value)
    return str(known) if known is not None else value


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def table(entries: Sequence[Any]) -> Table:
    """Log entries as a table: one column per key the entries use (in first-seen order); an entry that is
    no object (a plain console line) fills the first column."""
    columns: list[str] = []
    for entry in entries:
        for key in entry if isinstance(entry, Mapping) else ():
            if key not in columns:
                columns.append(str(key))
    columns = columns or ["message"]
    rows = [
        [_text(entry.get(column, "")) for column in columns]
        if isinstance(entry, Mapping)
        else [_text(entry), *([""] * (len(columns) - 1))]
        for entry in entries
    ]
    return Table(columns, rows)


def facts(metadata: Mapping[str, Any], page_url: str | None) -> list[tuple[str, str]]:
    """A report's page metadata as (name, value) pairs; a nested object reads as `key: value, …`. The page's
    URL, shown on its own line already, is not repeated."""
    pairs: list[tuple[str, str]] = []
    for name, value in metadata.items():
        if name == "url" and value == page_url:
            continue
        if isinstance(value, Mapping):
            text = ", ".join(f"{key}: {_text(inner)}" for key, inner in value.items())
        else:
            text = _text(value)
        pairs.append((str(name), text))
    return pairs


@cache
def time_zones() -> list[str]:
    """Every time zone's name, for a time zone field's suggestions."""
    return sorted(zoneinfo.available_timezones())
