"""HTTP for reports: BugSpark's create, and triage (list, read, change, delete, comments, columns); the
screenshots are served by screenshots.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.projects.services import ProjectService
from app.domain.reports import schemas
from app.domain.reports.controllers.attachments import attachment_read
from app.domain.reports.controllers.deps import DEPENDENCIES, guest_projects, status_board, widget_project_id
from app.domain.reports.controllers.ingest import MAX_JSON_BODY
from app.domain.reports.filing import file_report
from app.domain.reports.group_commit import UploadLink
from app.domain.reports.ingest import accept, report_from_api
from app.domain.reports.jsonapi import (
    COLUMN_LIST_RULES,
    COLUMNS_DESCRIPTION,
    COMMENT_RULES,
    COMMENTS_DESCRIPTION,
    HISTORY_DESCRIPTION,
    ITEM_DESCRIPTION,
    ITEM_RULES,
    LIST_DESCRIPTION,
    LIST_RULES,
    REPORT_CHANGE_RULES,
    column_item,
    column_list,
    comment_item,
    comment_list,
    refuse_native_pages,
    report_change_list,
    report_item,
    report_list,
)
from app.domain.reports.models import DEFAULT_COLUMNS, Category, DefaultColumn, ProjectColumn, Report, Severity
from app.domain.reports.presenters import (
    comment_read,
    report_change_read,
    report_created,
    report_reads,
)
from app.domain.reports.queries import ReportFilters, list_reports, moment_since, priority_filter
from app.domain.reports.services import ColumnService, CommentService, ReportService, visibility
from app.domain.webhooks.events import WebhookEvents
from app.domain.webhooks.models import Event
from app.lib import jsonapi
from app.lib.asgi import JSONAPI_QUERY, PUBLIC_INGEST
from app.lib.conditional import TAGGED, require_preconditions
from app.lib.errors import validation_error
from app.lib.openapi import WIDGET, documented_body, either_spelling, jsonapi_body, or_wrapped, requiring_any
from app.lib.paging import (
    PAGE,
    PAGES_DESCRIPTION,
    ListAnswer,
    Window,
    listed,
    page_links,
    page_size_described,
    provide_window,
)
from app.lib.schema import (
    LOCATION,
    PATCH_OR_PUT,
    AsSent,
    Envelope,
    by_method,
    convert_body,
    created,
    ok,
    refusals_named_as_sent,
    unwrapped,
)
from tenants.guards import requires_admin_client, requires_manager, requires_team, requires_widget_key
from tenants.identity import Identity


@dataclass(frozen=True, slots=True)
class Listing:
    """The triage list's query: its native filters and its native page."""

    filters: ReportFilters
    page: int
    page_size: int


# A `*_since` parameter (`moment_since`), documented in words: a day or a moment, which no one `format` names.
SINCE = (
    "Reports {what} at or after this: a date (`2026-01-31`, from its start in UTC) or a date and time "
    "(`2026-01-31T09:30:00Z`)."
)
# The reports' native page, as BugSpark's list pages (the other lists page by BugHerd's 100).
REPORTS_PAGE_SIZE = 20


async def provide_listing(  # noqa: PLR0913 - one parameter per documented filter
    *,
    # Named apart from the path's `project_id` of ListProjectReports, which would take its place there.
    project: Annotated[UUID | None, QueryParameter(name="project_id")] = None,
    status: FromQuery[str | None] = None,
    severity: FromQuery[Severity | None] = None,
    priority: Annotated[
        str | None,
        QueryParameter(
            description="Lantern's priority, or BugHerd's (`normal` is `medium`), in any case.",
            schema_extra={"enum": schemas.PRIORITY_NAMES},
        ),
    ] = None,
    category: FromQuery[Category | None] = None,
    assignee: Annotated[
        str | None,
        QueryParameter(max_length=320, description="A UUID, an e-mail address, `me` or `none` (unassigned)."),
    ] = None,
    assigned_to_id: FromQuery[UUID | None] = None,
    tag: FromQuery[str | None] = None,
    external_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
    search: Annotated[
        str | None,
        QueryParameter(
            max_length=200,
            description="Words in the title or description, each in any order, without regard to case, accents "
            "or width (a phrase in double quotes as written; Chinese and Japanese too), a tracking ID, or the "
            "reporter's e-mail address.",
        ),
    ] = None,
    created_since: Annotated[str | None, QueryParameter(description=SINCE.format(what="filed"))] = None,
    updated_since: Annotated[str | None, QueryParameter(description=SINCE.format(what="last changed"))] = None,
    page: Annotated[
        int | None, QueryParameter(ge=1, le=jsonapi.MAX_OFFSET // jsonapi.MAX_LIMIT, description=PAGE)
    ] = None,
    page_size: Annotated[
        int | None, QueryParameter(ge=1, le=jsonapi.MAX_LIMIT, description=page_size_described(REPORTS_PAGE_SIZE))
    ] = None,
) -> Listing:
    """The query parameters both report lists take (ListReports, ListProjectReports)."""
    filters = ReportFilters(
        project_id=project,
        status=status,
        severity=severity,
        priority=priority_filter(priority),
        category=category,
        assignee=assignee or (str(assigned_to_id) if assigned_to_id else None),  # BugHerd's name for it
        tag=tag,
        external_id=external_id,
        search=search,
        created_since=moment_since("created_since", created_since),
        updated_since=moment_since("updated_since", updated_since),
    )
    return Listing(filters, page or 1, page_size or REPORTS_PAGE_SIZE)


class ReportController(Controller):
    """Reports: created with a widget key (BugSpark), triaged with a session or an organization token."""

    path = "/api/v1"
    tags = ["Reports"]
    dependencies = DEPENDENCIES

    @post(
        "/reports",
        operation_id="CreateReport",
        opt={PUBLIC_INGEST: True},
        guards=[requires_widget_key],
        security=WIDGET,
        operation_class=documented_body(
            {"application/json": either_spelling(schemas.ApiReport)},
            "BugSpark's report; its names in camelCase are taken too.",
        ),
        request_max_body_size=MAX_JSON_BODY,
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
    )
    async def create(
        self,
        identity: NamedDependency[Identity],
        data: JSONBody[dict[str, Any]],
    ) -> Response[Envelope[schemas.ReportCreated]]:
        """BugSpark's create: the body in its documented snake_case (camelCase is accepted too)."""
        body = convert_body(data, schemas.ApiReport)
        project_id = widget_project_id(identity)
        report = report_from_api(project_id, body)
        # A client that sends its one image as both (nothing was drawn on it) gets it attached once.
        annotated = body.annotated_screenshot_url if body.annotated_screenshot_url != body.screenshot_url else None
        links = [
            UploadLink(key, field, annotated=field.startswith("annotated"))
            for key, field in ((body.screenshot_url, "screenshot_url"), (annotated, "annotated_screenshot_url"))
            if key
        ]
        with refusals_named_as_sent(data, schemas.ApiReport):  # an upload's key that finds none
            accepted = await accept(report, links=links)
        read = report_created(accepted.report, accepted.tracking_id)
        return created(read, f"/api/v1/reports/{read.id}")  # the team's address of it (the key reads no report)

    @post(
        "/projects/{project_id:uuid}/reports",
        operation_id="FileReport",
        etag=TAGGED,
        opt={JSONAPI_QUERY: ITEM_RULES},
        guards=[requires_admin_client],
        operation_class=documented_body(
            {
                "application/json": or_wrapped(schemas.filing_schema(), "task", schemas.bugherd_new_task_schema()),
                jsonapi.MEDIA_TYPE: jsonapi_body(schemas.ReportFiling, "report", "assignee", made=True),
            },
            'The report, or BugHerd\'s new task `{"task": {...}}` (`description`, its priorities, `status`, '
            "`tag_names`, `assigned_to_id` or `assigned_to_email`, `requester_id` or `requester_email`, "
            "`external_id`; a person's id is a UUID), or a JSON:API document's `data.attributes` (the assignee as "
            "its `relationships.assignee`).",
        ),
        request_max_body_size=MAX_JSON_BODY,
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
    )
    async def file(  # noqa: PLR0913 - the request, the caller, the body and the services filing touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
    ) -> jsonapi.CreatedOrDocument[schemas.ReportRead]:
        """A report the team files (what a customer said on the phone; an integration's task), numbered and
        announced (`report.created`) as any other; its history says who filed it. No title: the description's
        first line, cut at a word. The status is a column's name, as in a change; the assignee, by
        `assigneeId` or `assigneeEmail`, someone who sees the project. A guest files on the projects they were
        added to, as the reporter, without the triage fields; another organization's project is a 404."""
        sent = await jsonapi.body_as_sent(request, data, "report", other_form=_filing)
        filing = convert_body(sent, schemas.ReportFiling)
        project = await projects.visible_one(identity, project_id)
        with refusals_named_as_sent(sent, schemas.ReportFiling):
            accepted = await file_report(reports.session, project, filing, identity, columns)
        location = f"/api/v1/reports/{accepted.report.id}"
        if jsonapi.requested(request):
            document = await report_item(request, accepted.report, reports.session, attachment_read, identity)
            return jsonapi.written(document, location)
        return created((await _reads(reports, [accepted.report], identity))[0], location)

    @get(
        "/reports",
        operation_id="ListReports",
        opt={JSONAPI_QUERY: LIST_RULES},
        guards=[requires_admin_client],
        description=f"The triage list, newest first. {LIST_DESCRIPTION}",
        dependencies={"listing": Provide(provide_listing)},
    )
    async def list_reports(  # noqa: PLR0913 - the request, the list's query and the services it reads
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        listing: NamedDependency[Listing],
    ) -> Envelope[schemas.ReportPage] | Response[Any]:
        """The triage list, natively or as a JSON:API document (see LIST_DESCRIPTION); the native filters
        apply in both modes."""
        return await _listed(request, identity, (reports, projects, columns), listing)

    @get(
        "/projects/{project_id:uuid}/reports",
        operation_id="ListProjectReports",
        opt={JSONAPI_QUERY: LIST_RULES},
        guards=[requires_admin_client],
        description=(
            "A project's reports (BugHerd's \"list tasks\"): the triage list of this project alone, with its filters "
            f"and pages; another organization's project, or one a guest was not added to, is a 404. {LIST_DESCRIPTION}"
        ),
        dependencies={"listing": Provide(provide_listing)},
    )
    async def list_project_reports(  # noqa: PLR0913 - the request, the list's query and the services it reads
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
        columns: NamedDependency[ColumnService],
        listing: NamedDependency[Listing],
    ) -> Envelope[schemas.ReportPage] | Response[Any]:
        await projects.visible_one(identity, project_id)
        return await _listed(request, identity, (reports, projects, columns), listing, of_project=project_id)

    @get(
        "/reports/{reference:str}",
        operation_id="GetReport",
        etag=TAGGED,
        opt={JSONAPI_QUERY: ITEM_RULES},
        guards=[requires_admin_client],
        description=(
            "A report by UUID or tracking ID (`BSK-42`; an ID it had before its project's prefix changed finds it "
            f"too, answering its current one). {ITEM_DESCRIPTION}"
        ),
    )
    async def show(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        projects: NamedDependency[ProjectService],
    ) -> Envelope[schemas.ReportRead] | Response[dict[str, Any]]:
        """A report by UUID or tracking ID (`BSK-42`), natively or as a JSON:API document."""
        report = await reports.by_reference(reference, await guest_projects(identity, projects))
        return await _answer(request, reports, identity, report)

    @route(
        "/reports/{reference:str}",
        http_method=PATCH_OR_PUT,
        operation_id=by_method(PATCH="UpdateReport", PUT="PutReport"),
        etag=TAGGED,
        opt={JSONAPI_QUERY: ITEM_RULES},
        guards=[requires_team],
        operation_class=documented_body(
            {
                "application/json": or_wrapped(
                    either_spelling(schemas.ReportUpdate), "task", schemas.bugherd_task_schema()
                ),
                "application/vnd.api+json": jsonapi_body(schemas.ReportUpdate, "report", "assignee"),
            },
            "The fields to change; also as a JSON:API document's `data.attributes` (the assignee as its "
            '`relationships.assignee`), or as BugHerd\'s `{"task": {...}}` (`assigned_to_id` or `assigned_to_email`, '
            "`tag_names`, its priorities).",
        ),
    )
    async def update(  # noqa: PLR0913 - the request and the services this change touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        data: JSONBody[dict[str, Any]],
        reports: NamedDependency[ReportService],
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> Envelope[schemas.ReportRead] | Response[dict[str, Any]]:
        """Triage, by the team (a guest reads and comments): status (a column name) or status_id, severity,
        priority, category, assignee (by id, or by address as `assigneeEmail`), tags, external id; the fields
        alone, as a JSON:API document's `data.attributes` and `relationships`, or as BugHerd's `{"task": {...}}`
        (`assigned_to_id` or `assigned_to_email`, `tag_names`, its priorities). A field not listed is refused.
        `PUT` (BugHerd's update of a task) does the same."""
        report = await reports.by_reference(reference, await guest_projects(identity, projects))
        names_report = partial(reports.names, report)
        sent = await jsonapi.body_as_sent(
            request, data, "report", names_resource=names_report, other_form=_task_changes
        )
        changes = convert_body(sent, schemas.ReportUpdate)
        actor = await reports.acting_for(identity, _updater_email(data))
        answer = partial(_answer, request, reports, identity)
        with refusals_named_as_sent(sent, schemas.ReportUpdate):  # an unknown column or assignee
            changed = await reports.apply(
                report, changes, columns, actor, partial(require_preconditions, request, answer)
            )
        if changed:
            await events.report_changed(Event.REPORT_UPDATED, report, changed)
        return await answer(report)

    @delete(
        "/reports/{reference:str}",
        operation_id="DeleteReport",
        guards=[requires_manager],
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        events: NamedDependency[WebhookEvents],
    ) -> None:
        report = await reports.by_reference(reference)
        await reports.lock(report)  # a comment being added is told of first, or is refused
        await require_preconditions(request, partial(_answer, request, reports, identity), report)
        await events.report_changed(Event.REPORT_DELETED, report)
        await reports.remove(report)

    @get(
        "/reports/{reference:str}/history",
        operation_id="ListReportChanges",
        opt={JSONAPI_QUERY: REPORT_CHANGE_RULES},
        guards=[requires_team],
        description=(
            "A report's history: each triage change, oldest first, with who made it and every field it changed "
            "as `[before, after]` (`changes`). The team's, as triage is: a guest's request is a 403. "
            f"{PAGES_DESCRIPTION} {HISTORY_DESCRIPTION}"
        ),
        dependencies={"window": Provide(provide_window)},
    )
    async def history(
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.ReportChangeRead]:
        report = await reports.by_reference(reference)
        changes = await reports.history_page(report.id, window)
        if window.whole:
            document = await report_change_list(request, changes.items, reports.session, identity)
            return jsonapi.document_response(document)
        return listed(request, [report_change_read(change) for change in changes.items], changes.total, window)

    @get(
        "/reports/{reference:str}/comments",
        operation_id="ListComments",
        opt={JSONAPI_QUERY: COMMENT_RULES},
        guards=[requires_admin_client],
        description=f"A report's comments, oldest first. {PAGES_DESCRIPTION} {COMMENTS_DESCRIPTION}",
        dependencies={"window": Provide(provide_window)},
    )
    async def list_comments(  # noqa: PLR0913 - the request, its page and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        reports: NamedDependency[ReportService],
        comments: NamedDependency[CommentService],
        projects: NamedDependency[ProjectService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.CommentRead]:
        """A report's comments, oldest first; in JSON:API mode with `fields[comment]`, `include=author`."""
        report = await reports.by_reference(reference, await guest_projects(identity, projects))
        found = await comments.page(report.id, identity, window)
        if window.whole:
            return jsonapi.document_response(await comment_list(request, found.items, reports.session, identity))
        return listed(request, [comment_read(comment) for comment in found.items], found.total, window)

    @post(
        "/reports/{reference:str}/comments",
        operation_id="CreateComment",
        etag=TAGGED,
        guards=[requires_admin_client],
        status_code=HTTP_201_CREATED,
        description=(
            'A comment: `{"text"}`, or BugHerd\'s `{"comment": {"text"}}`. An organization token, an owner or an '
            "admin may write it for someone who sees the report, named by `userId` or `email` (BugHerd's `user_id` or "
            "`email`, a person's id being a UUID); a member or a guest naming anyone else is a 403, and a name of no "
            "one who sees the report a 400."
        ),
        operation_class=documented_body(
            {
                "application/json": requiring_any(schemas.CommentCreate, "text", "comment"),
                jsonapi.MEDIA_TYPE: jsonapi_body(schemas.CommentCreate, "comment", made=True),
            },
            'The text, or BugHerd\'s `{"comment": {"text"}}`; `internal` for a note only the team reads. Also as '
            "a JSON:API document's `data.attributes`, the author as its `relationships.author`.",
        ),
    )
    async def comment(  # noqa: PLR0913 - the request and the services this change touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        reference: FromPath[str],
        data: JSONBody[dict[str, Any]],
        reports: NamedDependency[ReportService],
        comments: NamedDependency[CommentService],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> Envelope[schemas.CommentRead] | Response[dict[str, Any]]:
        sent = await jsonapi.body_as_sent(request, data, "comment", relationships={"authorId": "userId"})
        body = convert_body(sent, schemas.CommentCreate)
        report = await reports.by_reference(reference, await guest_projects(identity, projects))
        with refusals_named_as_sent(sent, schemas.CommentCreate):  # an author who does not see the report
            author = await comments.author_of(report, identity, body.author)
        comment = await comments.add(report, author, body.content, internal=body.internal)
        await events.comment_created(report, comment)
        if jsonapi.requested(request):
            return jsonapi.written(comment_item(request, comment), made=True)
        return ok(comment_read(comment))


ColumnReference = Annotated[
    str,
    PathParameter(
        description="A column's `id`: a custom column's UUID, or a default column's `status:<name>` (`status:todo`). "
        "BugHerd's number for a column, its `statusId`, names it too."
    ),
]
BUGHERD_COLUMN = 'The fields, or BugHerd\'s `{"column": {...}}`.'


class ColumnController(Controller):
    path = "/api/v1/projects/{project_id:uuid}/columns"
    tags = ["Columns"]
    guards = [requires_admin_client]
    dependencies = DEPENDENCIES

    @get(
        "/",
        operation_id="ListColumns",
        opt={JSONAPI_QUERY: COLUMN_LIST_RULES},
        description=(
            f"The board's columns in order: the defaults, then custom ones. {PAGES_DESCRIPTION} {COLUMNS_DESCRIPTION}"
        ),
        dependencies={"window": Provide(provide_window)},
    )
    async def list_columns(  # noqa: PLR0913 - the request, its page and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.ColumnRead]:
        """The board's columns in order: the defaults (with BugHerd's status ids), then custom ones."""
        await projects.visible_one(identity, project_id)
        custom = await columns.custom(project_id)
        board = [*map(_column_read, DEFAULT_COLUMNS), *map(_column_read, custom)]
        if window.whole:
            return jsonapi.document_response(column_list(request, project_id, board))
        # A board is read whole (the UI draws it so, and a board of a hundred columns is no board): paged in memory.
        return listed(request, board[window.offset : window.offset + window.page_size], len(board), window)

    @post(
        "/",
        operation_id="CreateColumn",
        etag=TAGGED,
        guards=[requires_manager],
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
        operation_class=documented_body(
            {
                "application/json": or_wrapped(either_spelling(schemas.ColumnCreate), "column"),
                jsonapi.MEDIA_TYPE: jsonapi_body(schemas.ColumnCreate, "column", made=True),
            },
            BUGHERD_COLUMN,
        ),
    )
    async def create_column(
        self,
        request: Request[Any, Any, Any],
        project_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
    ) -> jsonapi.CreatedOrDocument[schemas.ColumnRead]:
        sent = await jsonapi.body_as_sent(request, data, "column", other_form=_bugherd_column)
        await projects.get(project_id)
        column = _column_read(await columns.add(project_id, convert_body(sent, schemas.ColumnCreate)))
        location = f"/api/v1/projects/{project_id}/columns/{column.id}"
        if jsonapi.requested(request):
            return jsonapi.written(column_item(request, project_id, column), location)
        return created(column, location)

    @get("/{column_id:str}", operation_id="GetColumn", etag=TAGGED, description=f"A column. {COLUMNS_DESCRIPTION}")
    async def show_column(  # noqa: PLR0913 - the request, the ids and the services they touch
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        column_id: ColumnReference,
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
    ) -> Envelope[schemas.ColumnRead] | Response[dict[str, Any]]:
        await projects.visible_one(identity, project_id)
        return await _column_answer(request, project_id, await columns.addressed(project_id, column_id))

    @route(
        "/{column_id:str}",
        http_method=PATCH_OR_PUT,
        operation_id=by_method(PATCH="UpdateColumn", PUT="PutColumn"),
        etag=TAGGED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": or_wrapped(either_spelling(schemas.ColumnUpdate), "column"),
                jsonapi.MEDIA_TYPE: jsonapi_body(schemas.ColumnUpdate, "column"),
            },
            BUGHERD_COLUMN,
        ),
    )
    async def update_column(  # noqa: PLR0913 - the change, its author and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        column_id: ColumnReference,
        data: JSONBody[dict[str, Any]],
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> Envelope[schemas.ColumnRead] | Response[dict[str, Any]]:
        """A custom column's name or place; a new name is its reports' `status` too (each a `report.updated`).
        A default column keeps both: a change to either is a 409. `PUT` (BugHerd's update) does the same."""
        await projects.get(project_id)
        names_column = partial(columns.same_column, project_id, column_id)
        sent = await jsonapi.body_as_sent(
            request, data, "column", names_resource=names_column, other_form=_bugherd_column
        )
        change = convert_body(sent, schemas.ColumnUpdate)
        answer = partial(_column_answer, request, project_id)
        changed = await columns.change(
            project_id, column_id, change, identity, partial(require_preconditions, request, answer)
        )
        await events.reports_updated(project_id, changed.moved)
        return await answer(changed.column)

    @delete("/{column_id:str}", operation_id="DeleteColumn", guards=[requires_manager], status_code=HTTP_204_NO_CONTENT)
    async def remove_column(  # noqa: PLR0913 - the ids, the author and the services they touch
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        project_id: FromPath[UUID],
        column_id: ColumnReference,
        columns: NamedDependency[ColumnService],
        projects: NamedDependency[ProjectService],
        events: NamedDependency[WebhookEvents],
    ) -> None:
        """A custom column; its reports go back to the feedback column (`new`), each a `report.updated`. Its
        number (`statusId`) is not given to another column. A default column is never deleted (409)."""
        await projects.get(project_id)
        answer = partial(_column_answer, request, project_id)
        moved = await columns.remove(project_id, column_id, identity, partial(require_preconditions, request, answer))
        await events.reports_updated(project_id, moved)


def _task_changes(body: dict[str, Any]) -> AsSent:
    """What a PATCH asks to change: our fields, or BugHerd's task."""
    task = unwrapped(body, "task")
    return schemas.from_bugherd_task(task) if task.at else task


def _bugherd_column(body: dict[str, Any]) -> AsSent:
    """A column's fields: ours, or BugHerd's `{"column": {...}}`."""
    return unwrapped(body, "column")


def _filing(body: dict[str, Any]) -> AsSent:
    """A report the team files: our fields, or BugHerd's new task."""
    task = unwrapped(body, "task")
    return schemas.from_bugherd_new_task(task) if task.at else task


def _updater_email(body: dict[str, Any]) -> str | None:
    """Who a BugHerd task change is for (`updater_email`), if it names anyone."""
    task = unwrapped(body, "task")
    if not task.at:
        return None
    try:
        return msgspec.convert(task.fields.get("updater_email"), str | None)
    except msgspec.ValidationError as error:
        raise validation_error(f"{error} - at `$.{task.path('updater_email')}`") from None


async def _listed(
    request: Request[Any, Any, Any],
    identity: Identity,
    services: tuple[ReportService, ProjectService, ColumnService],
    listing: Listing,
    *,
    of_project: UUID | None = None,
) -> Response[Any]:
    """The reports `identity` sees that the list's query picks (those `of_project` alone, when it names one), as
    the native page (its handlers document the envelope it holds, sent in a Response for its `Link` header) or a
    JSON:API document."""
    reports, projects, columns = services
    guest = await guest_projects(identity, projects)
    project_id = of_project or listing.filters.project_id
    # Read only for a status filter: the plain list costs no query more.
    filtered_by_status = listing.filters.status or "filter[status]" in request.query_params
    board = await status_board(identity, projects, columns, project_id) if filtered_by_status else None
    filters = replace(listing.filters, caller_id=identity.user_id, guest=guest, board=board)
    conditions = [*filters.conditions(reports.dialect), *visibility(identity, guest)]
    if of_project is not None:
        conditions += ReportFilters(project_id=of_project).conditions(reports.dialect)
    if jsonapi.requested(request):
        refuse_native_pages(request)
        return jsonapi.document_response(
            await report_list(
                request,
                conditions=conditions,
                identity=identity,
                session=reports.session,
                present_attachment=attachment_read,
                board=board,
                guest=guest,
            ),
        )
    page, page_size = listing.page, listing.page_size
    result = await list_reports(reports.session, conditions, page=page, page_size=page_size)
    items = await _reads(reports, result.items, identity)
    answer = ok(schemas.ReportPage(items=items, total=result.total, page=page, page_size=page_size))
    return Response(answer, headers=page_links(request, result.total, Window(page, page_size)))


async def _answer(
    request: Request[Any, Any, Any], reports: ReportService, identity: Identity, report: Report
) -> Envelope[schemas.ReportRead] | Response[dict[str, Any]]:
    """A report as its GET answers it, natively or as a JSON:API document: a change answers it so too, and its
    conditions (`If-Match`) name this answer's tag."""
    if jsonapi.requested(request):
        return jsonapi.document_response(await report_item(request, report, reports.session, attachment_read, identity))
    return ok((await _reads(reports, [report], identity))[0])


async def _reads(reports: ReportService, items: list[Report], identity: Identity) -> list[schemas.ReportRead]:
    return await report_reads(reports.session, items, identity)


async def _column_answer(
    request: Request[Any, Any, Any], project_id: UUID, column: ProjectColumn | DefaultColumn
) -> Envelope[schemas.ColumnRead] | Response[dict[str, Any]]:
    """A column as its GET answers it, natively or as a JSON:API document: a change answers it so too, and its
    conditions (`If-Match`) name this answer's tag."""
    read = _column_read(column)
    if jsonapi.requested(request):
        return jsonapi.document_response(column_item(request, project_id, read))
    return ok(read)


def _column_read(column: ProjectColumn | DefaultColumn) -> schemas.ColumnRead:
    return schemas.ColumnRead(
        id=str(column.id),
        name=column.name,
        status_id=column.status_id,
        position=column.position,
        custom=isinstance(column, ProjectColumn),
    )
