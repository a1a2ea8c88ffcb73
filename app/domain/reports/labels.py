"""The names of a report's levels in the reader's language: one list for the admin UI and the widget."""

from __future__ import annotations

from babel.support import LazyProxy

from app.domain.reports.models import Priority
from app.lib.i18n import lazy_gettext as _lazy

# Most urgent first, as people scan them.
PRIORITY_LABELS: dict[str, LazyProxy] = {
    Priority.HIGHEST: _lazy("Highest"),
    Priority.HIGH: _lazy("High"),
    Priority.MEDIUM: _lazy("Medium"),
    Priority.LOW: _lazy("Low"),
    Priority.LOWEST: _lazy("Lowest"),
}
