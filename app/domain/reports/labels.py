"""The names of a report's levels and categories in the reader's language: one list for the admin UI, the widget
and GitHub issues."""

from __future__ import annotations

from babel.support import LazyProxy

from app.domain.reports.models import CLOSED_STATUS, NEW_STATUS, Category, Priority, Severity
from app.lib.i18n import lazy_gettext as _lazy

# The default board columns' names, by the status their reports have.
STATUS_LABELS: dict[str, LazyProxy] = {
    NEW_STATUS: _lazy("New"),
    "backlog": _lazy("Backlog"),
    "todo": _lazy("To do"),
    "doing": _lazy("Doing"),
    "done": _lazy("Done"),
    CLOSED_STATUS: _lazy("Closed"),
}

SEVERITY_LABELS: dict[str, LazyProxy] = {
    Severity.CRITICAL: _lazy("Critical"),
    Severity.HIGH: _lazy("High"),
    Severity.MEDIUM: _lazy("Medium"),
    Severity.LOW: _lazy("Low"),
}

# Most urgent first, as people scan them.
PRIORITY_LABELS: dict[str, LazyProxy] = {
    Priority.HIGHEST: _lazy("Highest"),
    Priority.HIGH: _lazy("High"),
    Priority.MEDIUM: _lazy("Medium"),
    Priority.LOW: _lazy("Low"),
    Priority.LOWEST: _lazy("Lowest"),
}
CATEGORY_LABELS: dict[str, LazyProxy] = {
    Category.BUG: _lazy("Bug"),
    Category.UI: _lazy("User interface"),
    Category.PERFORMANCE: _lazy("Performance"),
    Category.CRASH: _lazy("Crash"),
    Category.OTHER: _lazy("Other"),
}
# The kinds of device the widget tells (`metadata.device.type`).
DEVICE_LABELS: dict[str, LazyProxy] = {
    "desktop": _lazy("Desktop"),
    "mobile": _lazy("Phone"),
    "tablet": _lazy("Tablet"),
}
