"""The reports list as a CSV file, for a spreadsheet: the rows the list's filters match, in its order, every
page of them.

The file is written while it is sent, a batch of rows at a time from its own session (the request's is closed
by then), in the reader's organization and language. Its names and labels are the reader's words, dates are
ISO 8601 in UTC (a spreadsheet reads them whatever its language), and it starts with a byte-order mark, by
which spreadsheet programs tell UTF-8 (Chinese, Japanese) from their own code page. Where numbers are written
with a decimal comma (German, Spanish), spreadsheet programs split a line at semicolons: the file does too.
The page's custom data (`Lantern.setCustomData`) is one cell of compact JSON, its keys in order: each report has
keys of its own, and a column per key would give every file its own columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from uuid import UUID

import msgspec
from babel.numbers import get_decimal_symbol
from sqlalchemy import ColumnElement

from app.domain.reports.models import Report, report_path
from app.domain.reports.queries import Ordering, page_of_reports
from app.lib.database import alchemy_config
from app.lib.i18n import gettext as _
from app.lib.i18n import use_locale
from app.lib.web_addresses import public_address
from app.ui.views import label
from tenants.context import tenant_scope

EXPORT_BATCH = 500
# A cell a spreadsheet would run as a formula (=, +, -, @, or a tab or return before one): a reporter's title
# such as `=HYPERLINK(...)` is text here, kept whole behind an apostrophe (OWASP's advice for CSV files).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Export:
    """What a list page's export holds: its rows (the list's conditions and order), whose reader (their
    organization, the user, their language) and the names the reader sees."""

    conditions: list[ColumnElement[bool]]
    ordering: Ordering
    organization_id: UUID
    user_id: UUID | None
    locale: str
    project_names: Mapping[UUID, str]
    people: Mapping[UUID, str] | None  # None for a guest, who is shown no one's assignment nor address

    async def lines(self) -> AsyncIterator[str]:
        """The file, a batch of rows at a time. Each batch has a session of its own, closed before the batch is
        sent: a slow download holds no connection (SQLite's pool has one) and keeps no rows read before."""
        delimiter = ";" if get_decimal_symbol(self.locale) == "," else ","
        with use_locale(self.locale):
            yield "\ufeff" + _csv_lines([self._header()], delimiter)
            after = None
            while True:
                with tenant_scope(self.organization_id, self.user_id):
                    async with alchemy_config().get_session() as session:
                        batch = await page_of_reports(
                            session, self.conditions, self.ordering, limit=EXPORT_BATCH, after=after
                        )
                        lines = _csv_lines([self._row(report) for report in batch.items], delimiter)
                yield lines
                if (after := batch.next_cursor) is None:
                    break

    def _header(self) -> list[str]:
        names = [_("ID"), _("Title"), _("Project"), _("Status"), _("Severity"), _("Priority"), _("Category")]
        team = [_("Assignee"), _("Reporter")] if self.people is not None else []
        return [
            *names,
            *team,
            _("Tags"),
            _("Page"),
            _("Created"),
            _("Updated"),
            _("Link"),
            label("metadata", "custom"),
        ]

    def _row(self, report: Report) -> list[str]:
        cells = [
            report.tracking_id or "",
            report.title,
            self.project_names.get(report.project_id, ""),
            label("status", report.status),
            label("severity", report.severity),
            label("priority", report.priority),
            label("category", report.category),
        ]
        if self.people is not None:
            assignee = self.people.get(report.assignee_id, "") if report.assignee_id else ""
            cells += [assignee, report.reporter_email or report.reporter_identifier or ""]
        link = public_address(report_path(report))
        return [
            *cells,
            ", ".join(report.tags or []),
            report.page_url or "",
            report.created_at.isoformat(timespec="seconds"),
            report.updated_at.isoformat(timespec="seconds"),
            link,
            _custom_data(report),
        ]


def _custom_data(report: Report) -> str:
    """The page's custom data as compact JSON, its keys sorted as the report's page shows them (PostgreSQL's
    JSONB keeps no order of its own); nothing when the page set none."""
    custom = report.custom_data
    return msgspec.json.encode(custom, order="sorted").decode() if custom else ""


def _csv_lines(rows: list[list[str]], delimiter: str) -> str:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(
        ["'" + cell if cell.startswith(_FORMULA_STARTS) else cell for cell in row] for row in rows
    )
    return text.getvalue()
