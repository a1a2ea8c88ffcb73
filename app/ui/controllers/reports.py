"""The triage list and a report's page: filters, search, sort and cursor pages; detail, triage, comments.

Everything reads through the API's services and queries (`guest_projects`, `visibility`, `ReportFilters`,
`page_of_reports`, `ReportService.apply`), so a page shows exactly what the API would, and a change made here
fires the same webhook events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from sqlalchemy import ColumnElement

from app.domain.integrations.github import error_message as github_error_message
from app.domain.integrations.models import GitHubConnection, GitHubIssue
from app.domain.integrations.services import MAX_ATTEMPTS as GITHUB_ATTEMPTS
from app.domain.integrations.services import GitHubConnections, GitHubIssues
from app.domain.organizations.models import Organization, Role
from app.domain.organizations.services import MembershipService
from app.domain.projects.services import ProjectService
from app.domain.reports.attachments import AttachmentService
from app.domain.reports.audience import GuestView
from app.domain.reports.controllers.attachments import attachment_read
from app.domain.reports.controllers.deps import guest_projects, status_board
from app.domain.reports.filing import file_report
from app.domain.reports.models import Category, Comment, Priority, Report, ReportChange, Severity, report_path
from app.domain.reports.presenters import screenshot_read, screenshots_of, sees_reporters_address
from app.domain.reports.queries import BULKY_FIELDS, SORT_FIELDS, Board, Ordering, ReportFilters, page_of_reports
from app.domain.reports.schemas import CommentCreate, ReportFiling, ReportUpdate
from app.domain.reports.services import ColumnService, CommentService, ReportService, visibility
from app.domain.tokens.models import ApiToken
from app.domain.tokens.services import TokenService
from app.domain.webhooks.events import WebhookEvents
from app.domain.webhooks.models import Event
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, FieldError, LanternError, message_of, one_of, validation_error
from app.lib.i18n import current_locale, format_entries, join_sentences, typed_entries
from app.lib.i18n import gettext as _
from app.lib.i18n import lazy_gettext as _lazy
from app.lib.jsonapi import SortKey
from app.lib.schema import convert_body
from app.ui.export import Export
from app.ui.forms import Form, field_errors
from app.ui.pages import (
    HOME_PATH,
    PAGE_HEADERS,
    Layout,
    form_page,
    page,
    people,
    requires_person,
    safe_next,
    see_other,
    without_notice,
)
from app.ui.views import CHOICES, HISTORY_FIELDS, custom_data, facts, field_changes, json_excerpt, table
from tenants.context import tenant_scope
from tenants.guards import requires_manager, requires_team
from tenants.identity import Identity

PAGE_SIZE = 25
# The sorts offered, by their `sort` value (a JSON:API sort key, `-` for descending); the first is the default.
SORTS = {
    "-createdAt": _lazy("Newest first"),
    "createdAt": _lazy("Oldest first"),
    "-updatedAt": _lazy("Recently updated"),
    "severity": _lazy("Most severe first"),
    "priority": _lazy("Highest priority first"),
    "title": _lazy("Title"),
}
DEFAULT_SORT = next(iter(SORTS))
E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, field: str) -> E | None:
    """A filter's value, or none for an empty select ("any"). An unknown one is refused, as the API refuses it:
    the list showed every report (and its export held them all) under a filter that seemed set."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        error = validation_error(f"Invalid enum value {value!r} - at `$.{field}`")
        error.details[0].message = join_sentences(error.details[0].message, one_of([member.value for member in kind]))
        raise error from None


def _uuid(value: str, field: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        raise validation_error(f"Invalid UUID - at `$.{field}`") from None


# The parts of the list's address left out when they are refused: the list is shown without them, saying so.
_DROPPABLE = frozenset({"project", "status", "severity", "priority", "category", "assignee", "after", "before"})


def _labels(parts: list[str]) -> list[str]:
    """The list's parts, `_DROPPABLE`'s, by the labels its page shows them with, each once."""
    labels = {
        "project": _("Project"),
        "status": _("Status"),
        "severity": _("Severity"),
        "priority": _("Priority"),
        "category": _("Category"),
        "assignee": _("Assignee"),
        "after": _("Page"),
        "before": _("Page"),
    }
    return list(dict.fromkeys(labels[part] for part in parts))


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list page's address: its filters as the form sent them, the sort, and the cursor."""

    project: str = ""
    status: str = ""
    severity: str = ""
    priority: str = ""
    category: str = ""
    assignee: str = ""
    search: str = ""
    tag: str = ""
    sort: str = DEFAULT_SORT
    after: str = ""
    before: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> ListQuery:
        return cls(**{field.name: params[field.name] for field in fields(cls) if field.name in params})

    def filters(self, user_id: UUID | None, board: Board, guest: GuestView | None) -> ReportFilters:
        return ReportFilters(
            project_id=_uuid(self.project, "project"),
            status=self.status or None,
            board=board,
            severity=_choice(Severity, self.severity, "severity"),
            priority=_choice(Priority, self.priority, "priority"),
            category=_choice(Category, self.category, "category"),
            assignee=self.assignee or None,
            caller_id=user_id,
            guest=guest,
            search=self.search.strip()[:200] or None,
            tag=self.tag.strip() or None,
        )

    @property
    def filtered(self) -> bool:
        """Whether the list is narrowed by any filter or search (an empty one then means no match)."""
        narrowing = (self.project, self.status, self.severity, self.priority, self.category, self.assignee)
        return any(narrowing) or bool(self.search.strip() or self.tag.strip())

    async def board(self, identity: Identity, projects: ProjectService, columns: ColumnService) -> Board:
        """The columns the Status filter offers and takes: the chosen project's, else those of every project the
        reader sees."""
        return await status_board(identity, projects, columns, _uuid(self.project, "project"))

    async def conditions(
        self, identity: Identity, reports: ReportService, projects: ProjectService, board: Board
    ) -> list[ColumnElement[bool]]:
        """The list's filters, within what the reader sees (a guest, their view)."""
        guest = await guest_projects(identity, projects)
        filters = self.filters(identity.user_id, board, guest)
        return [*filters.conditions(reports.dialect), *visibility(identity, guest)]

    def without_refused(self, error: LanternError) -> tuple[ListQuery, list[str]]:
        """This query without the parts of its address that `error` refuses (a column since deleted, a hand-edited
        value, a cursor of another sort), and their names: none when it names none of them."""
        refused = [
            detail.field for detail in error.details if detail.field in _DROPPABLE and getattr(self, detail.field)
        ]
        return replace(self, **dict.fromkeys(refused, "")), refused

    def ordering(self) -> Ordering:
        sort = self.sort if self.sort in SORTS else DEFAULT_SORT
        member = sort.removeprefix("-")
        assert member in SORT_FIELDS  # noqa: S101 - SORTS names only sortable fields
        return Ordering((SortKey(member, descending=sort.startswith("-")),))


async def organization_holding(layout: Layout, reference: str) -> Organization | None:
    """Another of the person's organizations that has a report by this reference, where their role sees every
    report: a link a colleague there shared (a tracking ID is an organization's own) opened while this one was
    chosen answered a bare 404."""
    for organization, role in layout.organizations:
        if organization.id == layout.organization.id or role == Role.GUEST.value:
            continue
        with tenant_scope(organization.id, layout.identity.user_id):
            async with alchemy_config().get_session() as session:
                try:
                    await ReportService(session=session).by_reference(reference)
                except LanternError:
                    continue
                return organization
    return None


# The session's record of the list's query as last shown.
LIST_KEY = "report_list"
# Why a bulk change was refused (which report, and its reason), for the list to say once.
BULK_REFUSAL_KEY = "bulk_refusal"


def list_address(query: str, **notice: str) -> str:
    """The list at `query` (its filters, sort and page), without the notice it said then and with `notice`,
    to say what a change did."""
    shown = urlencode([*without_notice(query), *notice.items()])
    return f"{HOME_PATH}?{shown}" if shown else HOME_PATH


def list_path(request: Request[Any, Any, Any], **notice: str) -> str:
    """The list as last shown, with `notice`."""
    return list_address(request.session.get(LIST_KEY, ""), **notice)


def tags_field(tags: list[str] | None) -> str:
    """A report's tags as the triage form's field shows them, separated as the reader's language separates a
    list's items (a Japanese reader typed "、" and was shown ", ")."""
    return format_entries(tags or [])


@dataclass
class TriageForm:
    """The report page's triage form, which sends every field, with the values it showed (`shown_*`); or the
    board's move field, which sends a status alone."""

    status: str | None = None
    severity: str | None = None
    priority: str | None = None
    assignee_id: str | None = None
    tags: str | None = None  # separated by commas (`typed_entries`)
    shown_status: str | None = None
    shown_severity: str | None = None
    shown_priority: str | None = None
    shown_assignee_id: str | None = None
    shown_tags: str | None = None
    next: str | None = None

    def triaged(self) -> dict[str, tuple[str | None, str | None]]:
        """Each field by the API's name: (the value sent, the value the form showed)."""
        return {
            "status": (self.status, self.shown_status),
            "severity": (self.severity, self.shown_severity),
            "priority": (self.priority, self.shown_priority),
            "assigneeId": (self.assignee_id, self.shown_assignee_id),
            "tags": (self.tags, self.shown_tags),
        }

    def changes(self, kept: Collection[str] = ()) -> dict[str, Any]:
        """The fields the person changed, but those `kept` as a colleague changed them meanwhile. One left as
        the form showed it is not sent on: it would undo what a colleague saved meanwhile, without a word to
        either."""
        changed: dict[str, Any] = {}
        for name, (value, shown) in self.triaged().items():
            if value is None or value == shown or name in kept:
                continue
            if name == "assigneeId":
                changed[name] = value or None  # the empty choice: nobody
            elif name == "tags":
                changed[name] = typed_entries(value)
            elif value:
                changed[name] = value
        return changed

    def changed_meanwhile(self, report: Report) -> bool:
        """Whether someone else changed a field of the report after the form showed it."""
        now = _triage_fields(report)
        return any(shown is not None and shown != now[name] for name, (_value, shown) in self.triaged().items())

    def kept_theirs(self, report: Report) -> list[str]:
        """The fields the person changed that someone else changed to another value after the form showed
        them: the colleague's value is kept, and the person told (the later save won without a word)."""
        now = _triage_fields(report)
        return [
            name
            for name, (value, shown) in self.triaged().items()
            if value is not None and shown is not None and value != shown != now[name] != _as_shown(name, value)
        ]


def triage_version(report: Report) -> str:
    """The report's triage fields as a list row shows them, in short: a bulk change checks that they are the
    same still, or refuses (it overwrote a colleague's change made after the list was shown, without a word)."""
    shown = json.dumps(_triage_fields(report), sort_keys=True).encode()
    return hashlib.sha256(shown).hexdigest()[:16]


def _refuse_changed_meanwhile(report: Report, shown: str) -> None:
    """Refused when the row showed the report's triage otherwise (a page from before rows said it: no check)."""
    if shown and shown != triage_version(report):
        message = _("Someone else changed it after this list was shown: look at it again, then choose.")
        raise LanternError(ErrorCode.CONFLICT, details=[FieldError("report", message)])


def _named_fields(request: Request[Any, Any, Any], parameter: str) -> list[str]:
    """The fields a save names in its page's address, by their labels: `kept` as a colleague had changed them (see
    `kept_theirs`), and those `saved` beside them."""
    named = request.query_params.get(parameter, "").split(",")
    return [str(HISTORY_FIELDS[name]) for name in named if name in HISTORY_FIELDS]


def _triage_fields(report: Report) -> dict[str, str]:
    """The report's triage fields as the form shows them."""
    return {
        "status": report.status,
        "severity": report.severity,
        "priority": report.priority,
        "assigneeId": str(report.assignee_id or ""),
        "tags": tags_field(report.tags),
    }


def _as_shown(name: str, value: str) -> str:
    """A value the form sent as the form would show it (tags as typed, "a,b", are shown "a, b")."""
    return tags_field(sorted(set(typed_entries(value)))) if name == "tags" else value


# The bulk form's assignee choice that unassigns (its empty choice keeps each report's assignee).
NOBODY = "none"
# A list page shows PAGE_SIZE rows; an address may ask for a few pages' worth at once, no more.
BULK_LIMIT = 100


@dataclass
class BulkTriageForm:
    """The list's form for the rows ticked on its page (`report`, repeated): each field left at its empty
    choice ("Keep as is") is not changed."""

    report: list[str] | str = field(default_factory=list)  # one box ticked is one value, not a list
    status: str = ""
    severity: str = ""
    priority: str = ""
    assignee_id: str = ""
    listed: str = ""  # the list's query as the form was on it: its filters, sort and page

    def back_to_list(self, **notice: str) -> str:
        """Back to the list the form was on (another tab may have shown another since), saying `notice`."""
        return list_address(self.listed, **notice)

    @property
    def reports(self) -> dict[str, str]:
        """The ticked reports' ids, each with its triage as the row showed it (`triage_version`)."""
        ticked = [self.report] if isinstance(self.report, str) else self.report
        return dict(value.partition(":")[::2] for value in ticked)

    def changes(self) -> dict[str, Any]:
        """The fields to change, by the API's names."""
        chosen = {"status": self.status, "severity": self.severity, "priority": self.priority}
        changed: dict[str, Any] = {name: value for name, value in chosen.items() if value}
        if self.assignee_id:
            changed["assigneeId"] = None if self.assignee_id == NOBODY else self.assignee_id
        return changed


@dataclass
class CommentForm:
    text: str = ""
    internal: str | None = None  # the box is ticked: the team's note, which guests never read


async def authors(
    layout: Layout, written: Sequence[Comment | ReportChange], names: dict[UUID, str], tokens: TokenService
) -> dict[UUID, str]:
    """Who wrote each comment or made each change: a person by name, or, for an integration's, the API token
    it used (its name is the organization's business: a guest reads only that an integration wrote it)."""
    used = {item.author_token_id for item in written if item.author_token_id}
    token_names = (
        {token.id: token.name for token in await tokens.list(ApiToken.id.in_(used))}
        if used and not layout.is_guest
        else {}
    )

    def author(item: Comment | ReportChange) -> str:
        if item.author_token_id is None:
            # Someone no longer in the organization: their name went with them; with no author at all, the
            # account itself is gone (every comment and change is made by a person or a token).
            return (names.get(item.author_id) or _("A former member")) if item.author_id else _("A deleted account")
        name = token_names.get(item.author_token_id)
        return _("API token “%(name)s”", name=name) if name else _("An integration")

    return {item.id: author(item) for item in written}


async def assignable(layout: Layout, memberships: MembershipService) -> list[tuple[UUID, str]]:
    """Who a report can be given to here: the organization's team (not guests, nor pending invitations)."""
    if layout.is_guest:
        return []
    return [
        (user.id, user.name or user.email)
        for membership, user in await memberships.members()
        if membership.role != Role.GUEST and not membership.invitation_pending
    ]


# The new-report form's fields by the API's names of them.
NEW_REPORT_FIELDS = {
    "projectId": "project_id",
    "title": "title",
    "description": "description",
    "severity": "severity",
    "priority": "priority",
    "reporterEmail": "reporter_email",
}


@dataclass
class NewReportForm:
    """A report the team files (what a customer said on the phone), as `POST /api/v1/projects/{id}/reports`
    takes it; no title is the description's first line."""

    project_id: str = ""
    title: str = ""
    description: str = ""
    severity: str = Severity.MEDIUM.value
    priority: str = Priority.MEDIUM.value
    reporter_email: str = ""

    def filing(self) -> ReportFiling:
        body = {
            "title": self.title.strip() or None,
            "description": self.description.strip(),
            "severity": self.severity,
            "priority": self.priority,
            "reporterEmail": self.reporter_email.strip() or None,
        }
        return convert_body({name: value for name, value in body.items() if value is not None}, ReportFiling)

    def project(self) -> UUID:
        if not self.project_id:
            message = _("Choose the project the report is about.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("projectId", message)])
        chosen = _uuid(self.project_id, "projectId")
        assert chosen is not None  # noqa: S101 - not empty
        return chosen


class ReportPages(Controller):
    guards = [requires_person]

    @get("/reports")
    async def list_page(  # noqa: PLR0913 - the page's services and its one query
        self,
        *,
        layout: NamedDependency[Layout],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        memberships: NamedDependency[MembershipService],
        request: Request[Any, Any, Any],
    ) -> Template:
        query = ListQuery.of(request.query_params)
        # A report's page leads back to the list as it was left: its filters, sort and page (see `list_path`).
        request.session[LIST_KEY] = request.scope["query_string"].decode()
        identity = layout.identity
        left_out: list[str] = []
        while True:  # each turn leaves out a part of the address at least, or answers the refusal
            try:
                board = await query.board(identity, projects, columns)
                found = await page_of_reports(
                    reports.session,
                    await query.conditions(identity, reports, projects, board),
                    query.ordering(),
                    limit=PAGE_SIZE,
                    after=query.after or None,
                    before=query.before or None,
                    cursor_parameters=("after", "before"),
                    count=True,  # every page says how many reports match, not the first alone
                    unread=BULKY_FIELDS,
                )
                break
            except LanternError as error:  # a bookmark's deleted column was a bare 400 page
                query, refused = query.without_refused(error)
                if not refused:
                    raise
                left_out += refused
        visible = await projects.visible(identity)
        return page(
            "reports/list.html",
            layout,
            query=query,
            found=found,
            projects=visible,
            project_names={project.id: project.name for project in visible},
            people=await people(layout, memberships),
            assignees=await assignable(layout, memberships),
            choices={**CHOICES, "status": [*CHOICES["status"], *board.custom]},
            sorts=SORTS,
            report_path=report_path,
            triage_version=triage_version,
            refusal=request.session.pop(BULK_REFUSAL_KEY, None),
            left_out=_labels(left_out),
        )

    @get("/reports/new")
    async def new_page(self, layout: NamedDependency[Layout], projects: NamedDependency[ProjectService]) -> Template:
        """The form that files a report for a customer; the projects offered are those the person sees."""
        visible = await projects.visible(layout.identity)
        return await _new_report_page(layout, projects, NewReportForm(project_id=str(visible[0].id) if visible else ""))

    @post("/reports/new")
    async def file(
        self,
        *,
        layout: NamedDependency[Layout],
        data: Annotated[NewReportForm, Form],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
    ) -> Redirect | Template:
        """Filed as `POST /api/v1/projects/{id}/reports` files it, then on to its page; a refused form comes
        back filled in, each reason beside its field."""
        try:
            filing = data.filing()
            project = await projects.visible_one(layout.identity, data.project())
            accepted = await file_report(reports.session, project, filing, layout.identity, columns)
        except LanternError as error:
            return await _new_report_page(layout, projects, data, field_errors(error, NEW_REPORT_FIELDS))
        return see_other(report_path(accepted.report))

    @get("/reports.csv")
    async def export(  # noqa: PLR0913 - the file's services and its one query
        self,
        *,
        layout: NamedDependency[Layout],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        memberships: NamedDependency[MembershipService],
        request: Request[Any, Any, Any],
    ) -> Stream:
        """The list's reports as a CSV file: every one its filters match, in its order (see `app.ui.export`)."""
        query = ListQuery.of(request.query_params)
        identity = layout.identity
        board = await query.board(identity, projects, columns)
        export = Export(
            conditions=await query.conditions(identity, reports, projects, board),
            ordering=query.ordering(),
            organization_id=identity.organization_id,
            user_id=identity.user_id,
            locale=current_locale(),
            project_names={project.id: project.name for project in await projects.visible(identity)},
            people=None if layout.is_guest else await people(layout, memberships),
        )
        name = f"{layout.organization.slug}-reports-{datetime.now(UTC):%Y-%m-%d}.csv"
        # The session's connection goes back before the file's own session takes one (SQLite's pool has one).
        await reports.session.commit()
        return Stream(
            export.lines(),
            media_type="text/csv",  # Litestar adds the charset (utf-8)
            headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
        )

    @post("/reports/bulk", guards=[requires_team])
    async def bulk_triage(  # noqa: PLR0913 - the change and the services it touches
        self,
        *,
        layout: NamedDependency[Layout],
        data: Annotated[BulkTriageForm, Form],
        reports: NamedDependency[ReportService],
        columns: NamedDependency[ColumnService],
        events: NamedDependency[WebhookEvents],
        request: Request[Any, Any, Any],
    ) -> Redirect:
        """One change to every report ticked on a list page, as a `PATCH` of each would make it: all of them or,
        when one is refused, none. Back to the list as it was, saying what was done."""
        changes = data.changes()
        back = data.back_to_list
        if not data.reports or not changes:
            return see_other(back(notice="unselected" if not data.reports else "unchanged"))
        if len(data.reports) > BULK_LIMIT:
            message = _("At most %(count)s reports can be changed at once.", count=BULK_LIMIT)
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("report", message)])
        update = convert_body(changes, ReportUpdate)
        chosen = await reports.chosen(list(data.reports))
        changed = 0
        for report in chosen:
            try:
                _refuse_changed_meanwhile(report, data.reports[str(report.id)])
                changed_fields = await reports.apply(report, update, columns, layout.identity)
            except LanternError as refused:
                # None is changed: the list says which report refused, and why, above its rows. (Named before
                # the rollback, which expires what the session read.)
                reason = refused.details[0].message if refused.details else message_of(refused)
                request.session[BULK_REFUSAL_KEY] = f"{report.tracking_id or report.title}: {reason}"
                await reports.session.rollback()
                return see_other(back(notice="refused"))
            if changed_fields:
                await events.report_changed(Event.REPORT_UPDATED, report, changed_fields)
                changed += 1
        return see_other(back(notice="changed", count=str(changed), same=str(len(chosen) - changed)))

    @get("/reports/{reference:str}")
    async def detail(  # noqa: PLR0913 - the page's services
        self,
        *,
        layout: NamedDependency[Layout],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        comments: NamedDependency[CommentService],
        memberships: NamedDependency[MembershipService],
        connections: NamedDependency[GitHubConnections],
        issues: NamedDependency[GitHubIssues],
        tokens: NamedDependency[TokenService],
        request: Request[Any, Any, Any],
    ) -> Template:
        try:
            report = await reports.by_reference(reference, await guest_projects(layout.identity, projects))
        except LanternError as missing:
            await reports.session.commit()  # gives back its connection for the lookup's (SQLite's pool has one)
            if (holder := await organization_holding(layout, reference)) is None:
                raise missing from None
            return page("reports/elsewhere.html", layout, status_code=404, holder=holder, reference=reference)
        shots = (await screenshots_of(reports.session, [report.id])).get(report.id, [])
        files = await AttachmentService(session=reports.session).of(report.id)
        # GitHub is the team's: the API does not show guests a report's issue either.
        connected = not layout.is_guest and await connections.exists(GitHubConnection.project_id == report.project_id)
        custom = [column.name for column in await columns.custom(report.project_id)]
        notes, names = await comments.of(report.id, layout.identity), await people(layout, memberships)
        # Triage is the team's, and so is its history (who was assigned, which columns a report went through).
        changes = [] if layout.is_guest else await reports.history(report.id)
        named = {str(user_id): name for user_id, name in names.items()}
        return page(
            "reports/detail.html",
            layout,
            report=report,
            shows_reporter_contact=sees_reporters_address(layout.identity, report),
            path=report_path(report),
            back=list_path(request),
            tags_field=tags_field,
            project=await projects.get(report.project_id),
            screenshots=[screenshot_read(shot, whole=False) for shot in shots],
            attachments=[attachment_read(attachment, whole=False) for attachment in files],
            comments=notes,
            authors=await authors(layout, [*notes, *changes], names, tokens),
            history=[(change, field_changes(change.changes, named)) for change in changes],
            people=names,
            kept=_named_fields(request, "kept"),
            saved_fields=_named_fields(request, "saved"),
            assignees=await assignable(layout, memberships),
            choices={**CHOICES, "status": [*CHOICES["status"], *custom]},
            facts=facts(report.page_metadata or {}, report.page_url),
            custom_data=custom_data(report.custom_data),
            console=table(report.console_logs or []),
            network=table(report.network_logs or []),
            actions=table(report.user_actions or []),
            annotations=json_excerpt(report.annotations) if report.annotations else "",
            github=connected,
            issue=await issues.get_one_or_none(GitHubIssue.report_id == report.id) if connected else None,
            issue_error=github_error_message,
            issue_attempts=GITHUB_ATTEMPTS,
        )

    @post("/reports/{reference:str}", guards=[requires_team])
    async def triage(  # noqa: PLR0913 - the change and the services it touches
        self,
        *,
        layout: NamedDependency[Layout],
        reference: FromPath[str],
        data: Annotated[TriageForm, Form],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect:
        """Status (a column), severity, priority, assignee and tags, as `PATCH /api/v1/reports/{id}` changes them."""
        report = await reports.by_reference(reference, await guest_projects(layout.identity, projects))
        # What a colleague changed meanwhile is read with the report held: of two saves at once, the second is
        # told of the first (both read the report as it was before either).
        await reports.hold(report, convert_body(data.changes(), ReportUpdate), columns)
        kept = data.kept_theirs(report)
        changes = convert_body(data.changes(kept), ReportUpdate)
        # The page then shows what a colleague changed meanwhile beside what was just saved, and says so, naming
        # the fields both changed, which keep the colleague's value.
        saved = "merged" if data.changed_meanwhile(report) else "1"
        if changed := await reports.apply(report, changes, columns, layout.identity):
            await events.report_changed(Event.REPORT_UPDATED, report, changed)
        if not kept:
            return see_other(safe_next(data.next) if data.next else f"{report_path(report)}?saved={saved}")
        said = {"kept": ",".join(kept), **({"saved": ",".join(changed)} if changed else {})}
        return see_other(f"{report_path(report)}?{urlencode(said)}")

    @post("/reports/{reference:str}/github-issue", guards=[requires_team])
    async def github_issue(
        self, reference: FromPath[str], reports: NamedDependency[ReportService], issues: NamedDependency[GitHubIssues]
    ) -> Redirect:
        """Ask for the report's GitHub issue, as `POST /api/v1/reports/{id}/github-issue` does."""
        report = await reports.by_reference(reference)
        await issues.request(report)
        return see_other(f"{report_path(report)}#github")

    @post("/reports/{reference:str}/delete", guards=[requires_manager])
    async def delete(
        self,
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        events: NamedDependency[WebhookEvents],
        request: Request[Any, Any, Any],
    ) -> Redirect:
        """Gone for good with its files, as `DELETE /api/v1/reports/{id}`; webhooks hear `report.deleted`."""
        report = await reports.by_reference(reference)
        await reports.lock(report)  # a comment being added is told of first, or is refused
        await events.report_changed(Event.REPORT_DELETED, report)
        await reports.remove(report)
        return see_other(list_path(request, notice="deleted"))

    @post("/reports/{reference:str}/comments")
    async def comment(  # noqa: PLR0913 - the comment and the services it touches
        self,
        *,
        layout: NamedDependency[Layout],
        reference: FromPath[str],
        data: Annotated[CommentForm, Form],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        comments: NamedDependency[CommentService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect:
        report = await reports.by_reference(reference, await guest_projects(layout.identity, projects))
        if not data.text.strip():
            # The page says so beside the field (the box is `required`: only spaces get here).
            return see_other(f"{report_path(report)}?comment=blank#comment-text")
        text = convert_body({"text": data.text.strip()}, CommentCreate).content
        comment = await comments.add(report, layout.identity, text, internal=bool(data.internal))
        await events.comment_created(report, comment)
        return see_other(f"{report_path(report)}?comment=sent#comments")


async def _new_report_page(
    layout: Layout, projects: ProjectService, form: NewReportForm, errors: dict[str, str] | None = None
) -> Template:
    return form_page(
        "reports/new.html",
        layout,
        form,
        errors=errors,
        projects=await projects.visible(layout.identity),
        choices=CHOICES,
    )
