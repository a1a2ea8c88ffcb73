"""Substring search over title and description that stays on an index for every shipped language.

pg_trgm cannot index terms shorter than three characters, and two-character words are everyday Chinese
and Japanese (結帳, 付款). So each report keeps the distinct character bigrams of its text in an array
column with a GIN index; a search asks for reports holding all the term's bigrams (`@>`, indexed) and
rechecks the exact substring with ILIKE. On SQLite, the embedded default for small installations, the
ILIKE alone runs.

Row-level security hides an index behind any operator that is not LEAKPROOF (`@>` is not): the planner
must apply the tenant policy first. So the indexed lookup runs in `lantern_search_report_ids()`, a
SECURITY DEFINER function owned by the migration role, which filters by `lantern_tenant()` itself and
so returns only the caller's own reports.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, event, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapper

from app.domain.reports.models import Report

# Bigrams of the title and of this much description are indexed; the recheck sees the whole text.
INDEXED_DESCRIPTION_CHARS = 10_000


def bigrams(text: str) -> list[str]:
    """Distinct case-folded character bigrams, none spanning whitespace."""
    folded = text.casefold()
    found = {folded[i : i + 2] for i in range(len(folded) - 1)}
    return sorted(gram for gram in found if not any(char.isspace() for char in gram))


def report_bigrams(title: str, description: str) -> list[str]:
    return sorted(set(bigrams(title)) | set(bigrams(description[:INDEXED_DESCRIPTION_CHARS])))


def escape_like(term: str) -> str:
    """`term` with LIKE's wildcards escaped (escape character: backslash), so it matches literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(term: str, dialect: str) -> ColumnElement[bool]:
    pattern = f"%{escape_like(term)}%"
    exact = or_(Report.title.ilike(pattern, escape="\\"), Report.description.ilike(pattern, escape="\\"))
    grams = bigrams(term)
    if dialect != "postgresql" or not grams:
        return exact
    indexed = select(func.lantern_search_report_ids(cast(grams, ARRAY(Text))).table_valued("id").c.id)
    return Report.id.in_(indexed) & exact


@event.listens_for(Report, "before_insert")
@event.listens_for(Report, "before_update")
def _index_text(_mapper: Mapper[Any], _connection: Any, report: Report) -> None:
    report.search_grams = report_bigrams(report.title or "", report.description or "")
