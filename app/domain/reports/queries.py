"""The triage list: filters, search and pagination over the reports a caller may see."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import msgspec
from babel.support import LazyProxy
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, defer

from app.domain.accounts.models import User
from app.domain.accounts.services import normalize_email
from app.domain.reports.audience import GuestView
from app.domain.reports.models import DEFAULT_STATUS_IDS, STATUS_ALIASES, Category, Priority, Report, Severity
from app.domain.reports.schemas import priority_named
from app.domain.reports.search import escape_like, search_condition
from app.lib.errors import ErrorCode, FieldError, LanternError, one_of
from app.lib.i18n import gettext as _
from app.lib.i18n import join_sentences
from app.lib.i18n import lazy_gettext as _lazy
from app.lib.jsonapi import SortKey, decode_cursor, encode_cursor, invalid_cursor
from app.lib.names import name_key


@dataclass(frozen=True, slots=True)
class ReportFilters:
    project_id: UUID | None = None
    status: str | None = None
    severity: Severity | None = None
    priority: Priority | None = None
    category: Category | None = None
    # A UUID, an e-mail address, `me` (the caller: `caller_id`) or `none`, as `filter[assignee]` takes them.
    assignee: str | None = None
    caller_id: UUID | None = None
    # A guest caller's view: the only address their search and filters may name is their own (`may_name`).
    guest: GuestView | None = None
    tag: str | None = None
    search: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None
    external_id: str | None = None
    # The columns `status` may name (see `Board`): given whenever `status` is.
    board: Board | None = None

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        equal = {
            Report.project_id: self.project_id,
            Report.severity: self.severity,
            Report.priority: self.priority,
            Report.category: self.category,
            Report.external_id: self.external_id,
        }
        conditions.extend(column == value for column, value in equal.items() if value is not None)
        if assignee := self.assignee:
            conditions.append(_field_condition("assignee", lambda: _assignees([assignee], self.caller_id, self.guest)))
        if status := self.status:
            conditions.append(_field_condition("status", lambda: _board(self.board).statuses([status])))
        if self.tag:
            conditions.append(_has_tag(self.tag))
        if self.search:
            conditions.append(search_condition(self.search, dialect, self.guest))
        if self.created_since:
            conditions.append(Report.created_at >= self.created_since)
        if self.updated_since:
            conditions.append(Report.updated_at >= self.updated_since)
        return conditions


def _field_condition(name: str, build: Callable[[], ColumnElement[bool]]) -> ColumnElement[bool]:
    """A native filter's condition; a value it cannot use is a 400 on the parameter `name`."""
    try:
        return build()
    except _FilterValueError as error:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, str(error))]) from None


def priority_filter(text: str | None) -> Priority | None:
    """The `priority` parameter: ours or BugHerd's (`normal`), in any case, as a task's body takes it; else a 400
    that names ours."""
    if text is None:
        return None
    try:
        return Priority(priority_named(text))
    except ValueError:
        raise LanternError(
            ErrorCode.VALIDATION_ERROR, details=[FieldError("priority", str(_not_a_choice(_PRIORITIES)))]
        ) from None


def moment_since(name: str, text: str | None) -> datetime | None:
    """A `*_since` parameter: a day (`2026-01-31`, from its start in UTC) or a moment; else a 400 on `name`."""
    if text is None:
        return None
    try:
        return _parse_moment(text.strip())[0]
    except _FilterValueError:
        message = _("Must be a date such as 2026-01-31, or a date and time such as 2026-01-31T09:30:00Z.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, message)]) from None


def _has_tag(tag: str) -> ColumnElement[bool]:
    """A tag in any case or width. The tags' keys are a JSON array; the key as JSON encodes it ("ui") is found
    in the array's text on both databases."""
    quoted = msgspec.json.encode(name_key(tag)).decode()
    return cast(Report.tag_keys, Text).like(f"%{escape_like(quoted)}%", escape="\\")


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Report]
    total: int


async def list_reports(
    session: AsyncSession,
    conditions: list[ColumnElement[bool]],
    *,
    page: int,
    page_size: int,
) -> Page:
    """The native list, newest first, on the same index-only page search as JSON:API (`page_of_reports`)."""
    found = await page_of_reports(
        session, conditions, Ordering(), limit=page_size, offset=(page - 1) * page_size, count=True
    )
    return Page(items=found.items, total=found.total or 0)


# JSON:API: filters, sorts and keyset pages ---------------------------------------------------------------

# Severity and priority sort by rank, not alphabetically: ascending puts the most urgent first (critical,
# highest), as Bugcrowd's `severity-asc` lists P1 first; unknown values sort last.
SEVERITY_RANK = {Severity.CRITICAL.value: 1, Severity.HIGH.value: 2, Severity.MEDIUM.value: 3, Severity.LOW.value: 4}
PRIORITY_RANK = {
    level.value: rank
    for rank, level in enumerate(
        (Priority.HIGHEST, Priority.HIGH, Priority.MEDIUM, Priority.LOW, Priority.LOWEST),
        start=1,
    )
}
_PRIORITIES = tuple(priority.value for priority in Priority)
# Each filter's values in their enum's order, the order a refused body's field lists them in, and how a value
# sent is read: a priority also as BugHerd's, as a task's body takes it.
_CHOICES: dict[str, tuple[ColumnElement[str], tuple[str, ...], Callable[[str], str]]] = {
    "severity": (Report.severity.expression, tuple(severity.value for severity in Severity), str.lower),
    "priority": (Report.priority.expression, _PRIORITIES, priority_named),
    "category": (Report.category.expression, tuple(category.value for category in Category), str.lower),
}
DEFAULT_SORT = (SortKey("createdAt", descending=True),)
# Status sorts in workflow order: the default columns as the board shows them, then custom columns by name. A
# custom column's place on its project's board would take a lookup in the column table for every row sorted, so
# its name orders it. One text key per row holds both: the default column's place ("0" to "5"), or "6" and the
# custom column's name, which the database computes from the row and the cursor carries as it is. No index
# orders that key (nor did one order the alphabetical sort, whose ties went by id): a status sort sorts the rows
# its filters match, and the plain list, by date, is untouched.
_CUSTOM_STATUS = str(len(DEFAULT_STATUS_IDS))
_STATUS_PLACES = {status: str(place) for place, status in enumerate(DEFAULT_STATUS_IDS)}


def _moment(value: Any) -> datetime:
    """A moment in UTC, as the database compares it; one that UTC cannot hold (`9999-12-31T23:59:59-14:00`)
    is a ValueError, as any other text that is no moment is, where the conversion would overflow later."""
    moment = datetime.fromisoformat(str(value))
    if not moment.tzinfo:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        msg = f"{value!r} is outside the years UTC can hold"
        raise ValueError(msg) from None


def _rank(column: ColumnElement[str], ranks: dict[str, int]) -> ColumnElement[int]:
    return case(ranks, value=column, else_=len(ranks) + 1)


def _status_place(status: str) -> str:
    return _STATUS_PLACES.get(status, _CUSTOM_STATUS + status)


_STATUS_ORDER: ColumnElement[str] = case(
    _STATUS_PLACES, value=Report.status.expression, else_=literal(_CUSTOM_STATUS) + Report.status.expression
)


@dataclass(frozen=True, slots=True)
class SortField:
    expression: ColumnElement[Any]
    value: Callable[[Report], Any]  # the row's value, for the next page's cursor
    parse: Callable[[Any], Any]  # a cursor's (JSON) value back to what the expression compares with


SORT_FIELDS: dict[str, SortField] = {
    "createdAt": SortField(Report.created_at.expression, lambda report: report.created_at, _moment),
    "updatedAt": SortField(Report.updated_at.expression, lambda report: report.updated_at, _moment),
    "severity": SortField(
        _rank(Report.severity.expression, SEVERITY_RANK), lambda report: SEVERITY_RANK.get(report.severity, 5), int
    ),
    "priority": SortField(
        _rank(Report.priority.expression, PRIORITY_RANK), lambda report: PRIORITY_RANK.get(report.priority, 6), int
    ),
    "status": SortField(_STATUS_ORDER, lambda report: _status_place(report.status), str),
    "title": SortField(Report.title.expression, lambda report: report.title, str),
}
SORT_FIELDS["submitted"] = SORT_FIELDS["createdAt"]  # Bugcrowd's name for when a report came in
SORT_FIELDS["created"] = SORT_FIELDS["createdAt"]  # the names of the date filters, filter[created|updated]
SORT_FIELDS["updated"] = SORT_FIELDS["updatedAt"]


@dataclass(frozen=True, slots=True)
class Ordering:
    """A multi-key sort made total by the id, and its keyset: the rows after a cursor's row, at any depth.

    Walked `backward`, every direction is flipped: the rows before a cursor's row, nearest first (a previous
    page). Its cursors stay those of the sort itself."""

    keys: tuple[SortKey, ...] = DEFAULT_SORT
    backward: bool = False

    @property
    def signature(self) -> str:
        return ",".join(("-" if key.descending else "") + key.member for key in self.keys)

    def columns(self) -> list[tuple[ColumnElement[Any], bool]]:
        """(expression, descending) of every key, the id last."""
        # The id breaks ties in the last key's direction, so a one-direction sort stays one index range.
        last = self.keys[-1].descending if self.keys else True
        keyed = [(SORT_FIELDS[key.member].expression, key.descending) for key in self.keys]
        return [(column, descending != self.backward) for column, descending in [*keyed, (Report.id.expression, last)]]

    def order_by(self) -> list[ColumnElement[Any]]:
        return [column.desc() if descending else column.asc() for column, descending in self.columns()]

    def cursor(self, report: Report) -> str:
        values = [SORT_FIELDS[key.member].value(report) for key in self.keys]
        return encode_cursor(self.signature, [*values, report.id])

    def after(self, values: list[Any]) -> ColumnElement[bool]:
        """The rows past a cursor's row (its `values`) in this walk's direction."""
        columns = self.columns()
        return keyset(columns, bound(columns, values))

    def values(self, cursor: str, parameter: str) -> list[Any]:
        """A cursor's values (the sort keys', then the id's), parsed; a cursor of another sort is a 400 that
        names the `parameter` it came in."""
        values = decode_cursor(cursor, self.signature, parameter)
        parsers = [*(SORT_FIELDS[key.member].parse for key in self.keys), UUID]
        if len(values) != len(parsers):
            raise invalid_cursor(parameter)
        try:
            return [parse(value) for parse, value in zip(parsers, values, strict=True)]
        except (AttributeError, TypeError, ValueError):  # `UUID(1)` raises AttributeError
            raise invalid_cursor(parameter) from None


def bound(columns: list[tuple[ColumnElement[Any], bool]], values: list[Any]) -> list[ColumnElement[Any]]:
    return [literal(value, type_=column.type) for value, (column, _d) in zip(values, columns, strict=True)]


def keyset(columns: list[tuple[ColumnElement[Any], bool]], values: list[ColumnElement[Any]]) -> ColumnElement[bool]:
    """The rows after `values` in the order of `columns` (expression, descending)."""
    if len({descending for _column, descending in columns}) == 1:
        # One direction: a row-value comparison, which both databases answer with one index range.
        left, right = tuple_(*(column for column, _d in columns)), tuple_(*values)
        return left < right if columns[0][1] else left > right
    return or_(
        *(
            and_(
                *(column == value for (column, _d), value in zip(columns[:index], values[:index], strict=True)),
                column < values[index] if descending else column > values[index],
            )
            for index, (column, descending) in enumerate(columns)
        ),
    )


class _FilterValueError(ValueError):
    """A filter value that cannot be used; its message is already localized."""


def _parse_moment(text: str) -> tuple[datetime, bool]:
    """(moment in UTC, whether `text` was a whole day) for `2026-01-31` or `2026-01-31T09:30:00Z`."""
    try:
        if len(text) == len("2026-01-31"):
            return datetime.combine(date.fromisoformat(text), time(), UTC), True
        return _moment(text), False
    except ValueError:
        raise _FilterValueError(
            _("Use from.DATE, to.DATE or DATE, for example from.2026-01-01,to.2026-02-01."),
        ) from None


def _date_range(column: ColumnElement[datetime], values: Sequence[str]) -> ColumnElement[bool]:
    """Bugcrowd's date filters: `from.X` and `to.X` bound a range (a `to.` day is included whole); bare
    dates or timestamps select those days or moments (any of them). Dates are days in UTC."""
    bounds: list[ColumnElement[bool]] = []
    picks: list[ColumnElement[bool]] = []
    for value in values:
        if value.startswith("from."):
            moment, _whole = _parse_moment(value.removeprefix("from."))
            bounds.append(column >= moment)
        elif value.startswith("to."):
            moment, whole = _parse_moment(value.removeprefix("to."))
            bounds.append(column < _day_after(moment) if whole else column <= moment)
        else:
            moment, whole = _parse_moment(value)
            picks.append(and_(column >= moment, column < _day_after(moment)) if whole else column == moment)
    if picks:
        bounds.append(or_(*picks))
    return and_(*bounds)


def _day_after(day: datetime) -> datetime:
    """The next day's start; for the last day there is (9999-12-31), its last moment."""
    try:
        return day + timedelta(days=1)
    except OverflowError:
        return datetime.max.replace(tzinfo=day.tzinfo)


_A_UUID = _lazy("Must be a UUID.")
_AN_ASSIGNEE = _lazy("Must be a person's ID or e-mail address, me or none.")


def _uuids(values: Sequence[str], expected: LazyProxy = _A_UUID) -> list[UUID]:
    try:
        return [UUID(value) for value in values]
    except ValueError:
        raise _FilterValueError(str(expected)) from None


def _assignees(values: Sequence[str], user_id: UUID | None, guest: GuestView | None) -> ColumnElement[bool]:
    """UUIDs, e-mail addresses, `me` (the caller) and `none` (unassigned), any of them. An address finds only
    this organization's reports: nobody else's people can be their assignees; a `guest`'s, only their own
    address (see `GuestView.may_name`)."""
    named = [value for value in values if value.lower() not in {"me", "none"}]
    ids = [value for value in named if "@" not in value]
    emails = [normalize_email(value) for value in named if "@" in value]
    conditions: list[ColumnElement[bool]] = [Report.assignee_id.in_(_uuids(ids, _AN_ASSIGNEE))] if ids else []
    if emails:
        nameable = [email for email in emails if guest is None or guest.may_name(email)]
        conditions.append(Report.assignee_id.in_(select(User.id).where(User.email.in_(nameable))))
    lowered = {value.lower() for value in values}
    if "none" in lowered:
        conditions.append(Report.assignee_id.is_(None))
    if "me" in lowered:
        if user_id is None:  # an organization token: no person it could mean, and not "nobody's" either
            raise _FilterValueError(_("“me” needs a signed-in person; an organization token is not one."))
        conditions.append(Report.assignee_id == user_id)
    return or_(*conditions)


@dataclass(frozen=True, slots=True)
class Board:
    """The columns a status filter may name: the default ones, and the custom ones (`custom`, their names as
    stored) of the projects the caller sees, or of the one project the list is filtered by. Read from the small
    column table before the list, so that the filter stays an index lookup on the stored spellings."""

    custom: tuple[str, ...]

    def statuses(self, values: Sequence[str]) -> ColumnElement[bool]:
        """Any of the columns, in any case or Unicode form (`name_key`), as PATCH resolves a column's name: a
        default one also under another product's name (`feedback`), a custom one under every spelling the projects
        have (two projects' "Blocked" and "blocked"). A value that names no column is refused with the ones there
        are."""
        wanted: set[str] = set()
        for value in values:
            key = name_key(value)
            spellings = [name for name in self.custom if name_key(name) == key]
            if key in DEFAULT_STATUS_IDS:
                wanted.add(key)
            elif spellings:
                wanted.update(spellings)
            elif key in STATUS_ALIASES:
                wanted.add(STATUS_ALIASES[key])
            else:
                raise _not_a_choice([*DEFAULT_STATUS_IDS, *self.custom])
        return Report.status.in_(sorted(wanted))


def _board(board: Board | None) -> Board:
    assert board is not None  # noqa: S101 - every caller that filters by status reads its board first
    return board


def _not_a_choice(allowed: Sequence[str]) -> _FilterValueError:
    return _FilterValueError(join_sentences(_("This value is not one of the allowed choices."), one_of(allowed)))


def _choice(name: str, values: Sequence[str]) -> ColumnElement[bool]:
    column, allowed, read = _CHOICES[name]
    wanted = [read(value) for value in values]
    if not set(wanted) <= set(allowed):
        raise _not_a_choice(allowed)
    return column.in_(wanted)


_FilterBuilder = Callable[[Sequence[str], "_Caller"], ColumnElement[bool]]


def _choice_filter(name: str) -> _FilterBuilder:
    return lambda values, _caller: _choice(name, values)


@dataclass(frozen=True, slots=True)
class _Caller:
    dialect: str
    user_id: UUID | None
    board: Board | None
    guest: GuestView | None


_FILTER_BUILDERS: dict[str, _FilterBuilder] = {
    **{name: _choice_filter(name) for name in _CHOICES},
    "status": lambda values, caller: _board(caller.board).statuses(values),
    "project": lambda values, _c: Report.project_id.in_(_uuids(values)),
    "assignee": lambda values, caller: _assignees(values, caller.user_id, caller.guest),
    "tag": lambda values, _c: or_(*(_has_tag(tag) for tag in values)),
    "externalId": lambda values, _c: Report.external_id.in_(values),
    "created": lambda values, _c: _date_range(Report.created_at.expression, values),
    "submitted": lambda values, _c: _date_range(Report.created_at.expression, values),  # Bugcrowd's name
    "updated": lambda values, _c: _date_range(Report.updated_at.expression, values),
    # By the attributes' own names too, as `sort` takes them.
    "createdAt": lambda values, _c: _date_range(Report.created_at.expression, values),
    "updatedAt": lambda values, _c: _date_range(Report.updated_at.expression, values),
    # A search term's commas are part of the term, not a list.
    # Every word, as natively.
    "search": lambda values, caller: search_condition(" ".join(values), caller.dialect, caller.guest),
}


def filter_conditions(
    filters: dict[str, tuple[str, ...]],
    *,
    dialect: str,
    user_id: UUID | None,
    board: Board | None,
    guest: GuestView | None,
) -> list[ColumnElement[bool]]:
    """`filter[name]=a,b` as conditions (comma: any of); every bad value is named in one 400. `board`: the
    columns `filter[status]` may name, given whenever it is sent; `guest`, a guest caller's view (the only
    address they may name is their own)."""
    conditions: list[ColumnElement[bool]] = []
    errors: list[FieldError] = []
    caller = _Caller(dialect, user_id, board, guest)
    for name, values in filters.items():
        if not values:
            continue
        try:
            conditions.append(_FILTER_BUILDERS[name](values, caller))
        except _FilterValueError as error:
            errors.append(FieldError(f"filter[{name}]", str(error)))
    if errors:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=errors)
    return conditions


# A leading rank key is a CASE that no index orders: sorting by it would read and sort every matching row
# (0.36 s at 1M reports). Its few values are merged instead, one index range per value (for severity
# ix_report_tenant_severity_created), each already in the order of the keys that follow.
RANKED: dict[str, tuple[ColumnElement[str], dict[str, int]]] = {
    "severity": (Report.severity.expression, SEVERITY_RANK),
    "priority": (Report.priority.expression, PRIORITY_RANK),
}


def _ranked_window(  # noqa: PLR0913 - a page's conditions, order and bounds
    conditions: list[ColumnElement[bool]],
    ordering: Ordering,
    ranked: tuple[ColumnElement[str], dict[str, int]],
    *,
    limit: int,
    offset: int,
    cursor: list[Any] | None,
) -> Subquery:
    """The page's ids under a leading rank key: per value, its first `offset + limit + 1` rows past the
    cursor's row (its values), merged by (rank, following keys, id)."""
    column, ranks = ranked
    lead, *following = ordering.columns()
    descending = lead[1]
    branches = []
    for value, rank in ranks.items():
        where = [*conditions, column == value]
        if cursor is not None:
            if (rank > cursor[0]) if descending else (rank < cursor[0]):
                continue  # wholly before the cursor
            if rank == cursor[0]:
                where.append(keyset(following, bound(following, cursor[1:])))
        keys = [expression.label(f"key_{index}") for index, (expression, _d) in enumerate(following)]
        branch = (
            select(literal(rank).label("rank"), *keys)
            .where(*where)
            .order_by(*(expression.desc() if down else expression.asc() for expression, down in following))
            .limit(offset + limit + 1)
        )
        # Wrapped, since SQLite refuses ORDER BY and LIMIT on the members of a UNION.
        branches.append(select(branch.subquery()))
    if not branches:
        return select(Report.id).where(false()).subquery()
    merged = union_all(*branches).subquery()
    order = [(merged.c.rank, descending)]
    order.extend((merged.c[f"key_{index}"], down) for index, (_e, down) in enumerate(following))
    window = select(merged.c[f"key_{len(following) - 1}"].label("id"))  # the id is the last key
    window = window.order_by(*(key.desc() if down else key.asc() for key, down in order))
    return window.offset(offset).limit(limit + 1).subquery()


# The fields of a report a list may leave unread, by the names its read gives them: its description, page context,
# logs and marks, often tens of kilobytes each, which a page of 50 read and decoded for nothing. The UI's table
# and board show none of them; a JSON:API list reads those its sparse fieldset shows. Read, an unread one raises.
BULKY_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "description": Report.description,
    "metadata": Report.page_metadata,
    "consoleLogs": Report.console_logs,
    "networkLogs": Report.network_logs,
    "userActions": Report.user_actions,
    "annotations": Report.annotations,
}


@dataclass(frozen=True, slots=True)
class KeysetPage:
    items: list[Report]
    # Counted only when asked (offset pages): a count reads every matching index entry, ~0.3 s for a tenant
    # with 1M reports, while a cursor page reads one page of the index.
    total: int | None
    next_cursor: str | None
    previous_cursor: str | None = None


async def page_of_reports(  # noqa: PLR0913 - a page is conditions, an order, its bounds and a count
    session: AsyncSession,
    conditions: list[ColumnElement[bool]],
    ordering: Ordering,
    *,
    limit: int,
    offset: int = 0,
    after: str | None = None,
    before: str | None = None,
    cursor_parameters: tuple[str, str] = ("page[after]", "page[before]"),
    count: bool = False,
    unread: Collection[str] = (),
) -> KeysetPage:
    """One page after or before a cursor (keyset: no offset to skip) or at an offset; one row more tells if
    another page follows (or, before a cursor, precedes), without counting. A cursor that is not valid is a
    400 naming the parameter it came in (`cursor_parameters`: after's, before's). `unread`: the bulky fields
    (`BULKY_FIELDS`) its reader does not show.

    The page's ids are found first, on the list indexes alone (their tail is `created_at, id`), and only
    those rows are read: rows skipped by an offset are never fetched from the table.
    """
    walk = replace(ordering, backward=before is not None)
    cursor = None
    after_parameter, before_parameter = cursor_parameters
    if before is not None:
        cursor = ordering.values(before, before_parameter)
    elif after is not None:
        cursor = ordering.values(after, after_parameter)
    lead = ordering.keys[0].member if ordering.keys else None
    if lead in RANKED:
        window = _ranked_window(conditions, walk, RANKED[lead], limit=limit, offset=offset, cursor=cursor)
    else:
        keys = select(Report.id).where(*conditions)
        if cursor is not None:
            keys = keys.where(walk.after(cursor))
        window = keys.order_by(*walk.order_by()).offset(offset).limit(limit + 1).subquery()
    statement: Select[tuple[Report]] = select(Report).join(window, Report.id == window.c.id)
    if unread:  # a list's usual read adds no options to copy and key
        statement = statement.options(*(defer(BULKY_FIELDS[name], raiseload=True) for name in unread))
    rows = list(await session.scalars(statement.order_by(*ordering.order_by())))
    more = len(rows) > limit  # beyond the page, in the walk's direction
    items = rows[len(rows) - limit :] if walk.backward and more else rows[:limit]
    total = None
    if count:
        # count(*), not count(id): the tenant's smallest index (organization_id alone) can answer it, and
        # no column is read per entry (a whole tenant of 100,000 reports: 10.7 -> 7.3 ms in the database).
        total = int(await session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0)
    if not items:
        return KeysetPage(items=items, total=total, next_cursor=None)
    # Before a cursor, its own row follows the page; after one, the cursor's row precedes it.
    following = more or walk.backward
    preceding = more if walk.backward else after is not None
    return KeysetPage(
        items=items,
        total=total,
        next_cursor=ordering.cursor(items[-1]) if following else None,
        previous_cursor=ordering.cursor(items[0]) if preceding else None,
    )


REPORT_FILTERS = frozenset(_FILTER_BUILDERS)
