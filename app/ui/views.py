"""How report data reads on a page: translated names of statuses and levels, and logs as tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from babel.support import LazyProxy

from app.domain.organizations.labels import ROLE_LABELS
from app.domain.reports.labels import CATEGORY_LABELS, DEVICE_LABELS, PRIORITY_LABELS, SEVERITY_LABELS, STATUS_LABELS
from app.domain.reports.models import DEFAULT_STATUS_IDS, Category, Priority, Severity
from app.domain.webhooks.models import DeliveryStatus, Event
from app.lib.i18n import format_list, format_number, format_time, format_zoned_datetime
from app.lib.i18n import gettext as _
from app.lib.i18n import lazy_gettext as _lazy

# The column of a log table that holds the keys past its first `TABLE_COLUMNS`.
OTHER_FIELDS = "otherFields"

LABELS: dict[str, dict[str, LazyProxy]] = {
    "status": STATUS_LABELS,
    "severity": SEVERITY_LABELS,
    "priority": PRIORITY_LABELS,
    "category": CATEGORY_LABELS,
    "delivery": {
        DeliveryStatus.PENDING: _lazy("Pending"),
        DeliveryStatus.DELIVERED: _lazy("Delivered"),
        DeliveryStatus.FAILED: _lazy("Failed"),
    },
    # What a webhook is sent on; pages show the exact name beside it, which integrators match on.
    "event": {
        Event.REPORT_CREATED: _lazy("Report created"),
        Event.REPORT_UPDATED: _lazy("Report changed"),
        Event.REPORT_DELETED: _lazy("Report deleted"),
        Event.COMMENT_CREATED: _lazy("Comment added"),
        Event.REPORT_SCREENSHOTS_PROCESSED: _lazy("Screenshots processed"),
        Event.PING: _lazy("Test delivery"),
    },
    # The job dashboard's kinds of background work (`JobDashboard`).
    "kind": {
        "screenshot": _lazy("Screenshots"),
        "attachmentImage": _lazy("Attached images"),
        "webhookDelivery": _lazy("Webhook deliveries"),
        "githubIssue": _lazy("GitHub issues"),
        "trackingId": _lazy("Tracking IDs"),
    },
    # The worker's jobs, as the job dashboard's queue names them (arq's function names).
    "function": {
        "assign_tracking_ids": _lazy("Numbering reports"),
        "send_invitation_email": _lazy("Invitation e-mails"),
        "send_password_reset_email": _lazy("Password reset e-mails"),
        "send_notification_email": _lazy("Notification e-mails"),
        "process_screenshot": _lazy("Screenshots"),
        "process_attachment_image": _lazy("Attached images"),
        "deliver_webhook": _lazy("Webhook deliveries"),
        "create_github_issue": _lazy("GitHub issues"),
        "delete_stored_files": _lazy("Deleting a report's files"),
        "delete_project_files": _lazy("Deleting a project's files"),
        "export_organization": _lazy("Organization exports"),
        "sweep_unnumbered_reports": _lazy("Sweeper: reports without a number"),
        "sweep_pending_screenshots": _lazy("Sweeper: images not processed"),
        "sweep_outbound_work": _lazy("Sweeper: deliveries and issues not sent"),
        "sweep_expired_files": _lazy("Sweeper: expired uploads and export archives"),
        "refresh_search_gram_shares": _lazy("Search statistics"),
    },
    # The keys of the widget's console, network and action entries (and BugSpark's console `level`); other keys
    # are shown as they are.
    "log": {
        "type": _lazy("Type"),
        "level": _lazy("Level"),
        "message": _lazy("Message"),
        "timestamp": _lazy("Time"),
        "source": _lazy("Source"),
        "line": _lazy("Line"),
        "method": _lazy("Method"),
        "url": _lazy("URL"),
        "status": _lazy("Status"),
        "statusText": _lazy("Status text"),
        "duration": _lazy("Duration"),
        "error": _lazy("Error"),
        "target": _lazy("Element"),
        "text": _lazy("Text"),
        OTHER_FIELDS: _lazy("Other fields"),
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
        "timezone": _lazy("Time zone"),
        "pageLoadTime": _lazy("Page load time"),
        "userAgent": _lazy("User agent"),
        "custom": _lazy("Custom data"),
    },
    # The widget's kinds of device (`metadata.device.type`).
    "device": DEVICE_LABELS,
    # The kinds of log entry: the `type` of the widget's console, network or action entry, and the `level` of
    # a console entry as BugSpark's SDK and the browser's console name it.
    "entry": {
        "error": _lazy("Error"),
        "warn": _lazy("Warning"),
        "warning": _lazy("Warning"),
        "info": _lazy("Info"),
        "log": _lazy("Log"),
        "debug": _lazy("Debug"),
        "click": _lazy("Click"),
        "input": _lazy("Input"),
        "navigation": _lazy("Navigation"),
    },
    "role": ROLE_LABELS,
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


# A report's fields as its history names them (`ReportChange.changes`).
HISTORY_FIELDS = {
    "status": _lazy("Status"),
    "severity": _lazy("Severity"),
    "priority": _lazy("Priority"),
    "category": _lazy("Category"),
    "title": _lazy("Title"),
    "assigneeId": _lazy("Assignee"),
    "externalId": _lazy("External ID"),
    "description": _lazy("Description"),
    "tags": _lazy("Tags"),
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One line of a report's history: a field's name, and its value before and after in the reader's words
    (both empty for the description, whose text the history does not keep)."""

    name: str
    before: str
    after: str


def field_changes(fields: Mapping[str, list[Any]], people: Mapping[str, str]) -> list[FieldChange]:
    """A change's fields as a reader reads them: labels translated, an assignee by name (`people`, by id), tags
    joined; a value that was empty is "—"."""

    def shown(name: str, value: Any) -> str:
        if value is None or value == []:
            return "—"
        if name == "assigneeId":
            return people.get(value) or _("A former member")
        if name == "tags":
            return format_list(value)
        return label(name, value) if name in LABELS else str(value)

    lines = []
    for name, title in HISTORY_FIELDS.items():
        if name in fields:
            before, after = fields[name]
            texts = ("", "") if name == "description" else (shown(name, before), shown(name, after))
            lines.append(FieldChange(str(title), *texts))
    return lines


# A report's logs and annotations are its sender's to fill (half a megabyte of them): its page shows a bounded
# part, so that no report makes a page too large to send or to read. The API answers them whole.
TABLE_ROWS = 200  # the latest entries
TABLE_COLUMNS = 12  # the first keys the entries fill; the others share one column
SHOWN_CHARACTERS = 1_000  # of a cell
SHOWN_JSON_CHARACTERS = 20_000  # of annotations as sent


# How a log column's cells break across lines (ui.css's `table.log td.…`): a time, a number or a one-word value
# never does; an address, which has no spaces, anywhere in a column kept wide enough to read it; anything else
# between its words. Broken anywhere alike, every column was squeezed to a few letters a line on a phone.
WHOLE_LOG_COLUMNS = frozenset({"timestamp", "duration", "line", "method", "status", "type", "level"})
ADDRESS_LOG_COLUMNS = frozenset({"url", "source", "target", OTHER_FIELDS})


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    recorded: int  # entries in the log; `rows` are the latest of them

    @property
    def cut(self) -> bool:
        return self.recorded > len(self.rows)

    @property
    def breaks(self) -> list[str]:
        """How each column's cells break across lines, as their class names it."""
        return [
            "whole" if column in WHOLE_LOG_COLUMNS else "address" if column in ADDRESS_LOG_COLUMNS else "words"
            for column in self.columns
        ]


def _shown(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _text(value: Any) -> str:
    """A log entry's value as text; a missing one (a console error without a source line) as nothing."""
    if isinstance(value, str):
        return value
    return "" if value is None else msgspec.json.encode(value).decode()


def json_excerpt(value: Any) -> str:
    """`value` as indented JSON, its beginning only when long."""
    return _shown(msgspec.json.format(msgspec.json.encode(value), indent=2).decode(), SHOWN_JSON_CHARACTERS)


def _moment(value: Any, style: Callable[[datetime], str]) -> str | None:
    """An ISO 8601 time a browser sent, in the reader's language and time zone; None if it is none."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return style(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _cell(column: str, value: Any) -> str:
    if column == "timestamp" and (when := _moment(value, format_time)) is not None:
        return when
    if column == "duration" and isinstance(value, int | float):
        return f"{format_number(value)} ms"
    if column in {"type", "level"} and isinstance(value, str):
        return label("entry", value)
    return _text(value)


def table(entries: Sequence[Any]) -> Table:
    """The latest log entries as a table: one column per key the entries fill (in first-seen order, the first
    `TABLE_COLUMNS` of them, any other keys together in one more; the widget's keys are given the reader's
    words by `label("log", …)`, times their clock); an entry that is no object (a plain console line) fills
    the first column."""
    latest = entries[-TABLE_ROWS:]
    filled = dict.fromkeys(
        str(key)
        for entry in latest
        for key, value in (entry.items() if isinstance(entry, Mapping) else ())
        if value not in (None, "")  # a column no entry fills is left out
    )
    columns = list(filled)[:TABLE_COLUMNS] or ["message"]
    others = len(filled) > len(columns)
    rows = [_row(entry, columns, others=others) for entry in latest]
    return Table([*columns, OTHER_FIELDS] if others else columns, rows, recorded=len(entries))


def _row(entry: Any, columns: list[str], *, others: bool) -> list[str]:
    if not isinstance(entry, Mapping):
        cells = [_text(entry), *([""] * (len(columns) - 1))]
        return [_shown(cell) for cell in cells] + ([""] if others else [])
    cells = [_cell(column, entry.get(column, "")) for column in columns]
    if others:
        rest = {key: value for key, value in entry.items() if str(key) not in columns and value not in (None, "")}
        cells.append(_text(rest) if rest else "")
    return [_shown(cell) for cell in cells]


def _joined(*parts: Any) -> str:
    return " ".join(str(part) for part in parts if part not in (None, ""))


def _described_object(name: str, value: Mapping[str, Any]) -> str | None:
    if name == "browser":
        return _joined(value.get("name"), value.get("version")) or None
    if name == "device":
        system = _joined(value.get("os"), value.get("osVersion"))
        kind = label("device", value["type"]) if isinstance(value.get("type"), str) else None
        return " · ".join(part for part in (kind, system) if part) or None
    if name == "viewport" and isinstance(value.get("width"), int | float):
        # Pixels are a measure, not an amount: 1280, never "1,280".
        size = f"{_pixels(value['width'])} \N{MULTIPLICATION SIGN} {_pixels(value.get('height') or 0)}"
        ratio = value.get("devicePixelRatio")
        return _joined(size, f"@{format_number(ratio)}x" if ratio else None)
    return ", ".join(f"{key}: {_text(inner)}" for key, inner in value.items() if inner is not None) or None


def _pixels(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | float) and value == int(value) else str(value)


def _described(name: str, value: Any) -> str | None:
    """The widget's page facts as a person reads them ("Chrome 120", a viewport's "1920 by 1080"), in the
    reader's numbers and time; other values as they came. Nothing for a value the browser did not know."""
    if value is None or value in ("", {}):
        return None
    if isinstance(value, Mapping):
        return _described_object(name, value)
    if name == "timestamp":
        return _moment(value, format_zoned_datetime) or _text(value)
    if name == "pageLoadTime" and isinstance(value, int | float):
        return f"{format_number(value)} ms"
    return _text(value)


def facts(metadata: Mapping[str, Any], page_url: str | None) -> list[tuple[str, str]]:
    """A report's page metadata as (name, value) pairs, each read as a person reads it (see `_described`);
    the browser's user agent on a line of its own. The page's URL, shown on its own line already, is not
    repeated, nor is the page's custom data, which has lines of its own (`custom_data`)."""
    pairs: list[tuple[str, str]] = []
    for name, value in metadata.items():
        if (name == "url" and value == page_url) or (name == "custom" and isinstance(value, Mapping)):
            continue
        text = _described(str(name), value)
        if text is not None:
            pairs.append((str(name), text))
        if name == "browser" and isinstance(value, Mapping) and value.get("userAgent"):
            pairs.append(("userAgent", _text(value["userAgent"])))
    return pairs


def custom_data(custom: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The custom data the embedding page gave the widget (`Report.custom_data`) as (key, value) pairs, each key
    as the page wrote it, sorted by key: PostgreSQL's JSONB keeps no order of its own."""
    return sorted((str(key), _shown(_text(value))) for key, value in custom.items() if value is not None)
