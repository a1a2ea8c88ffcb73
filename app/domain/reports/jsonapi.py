"""Reports in JSON:API mode: their resource types, what each endpoint accepts, and the documents built.

Member names are the native API's camelCase (`trackingId`, `createdAt`); foreign keys are relationships
(`project`, `assignee`), not attributes. To-many relationships (`comments`, `attachments`) carry linkage
only when included (else just their `related` link), so a plain list costs no extra queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar import Request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.organizations.models import Membership, Role
from app.domain.projects.models import Project
from app.domain.reports.audience import GuestView
from app.domain.reports.models import Attachment, Comment, Report, ReportChange
from app.domain.reports.presenters import Shown, report_reads
from app.domain.reports.queries import (
    DEFAULT_SORT,
    REPORT_FILTERS,
    SORT_FIELDS,
    Board,
    KeysetPage,
    Ordering,
    filter_conditions,
    page_of_reports,
)
from app.domain.reports.schemas import AttachmentRead, ColumnRead, ReportRead
from app.domain.reports.services import comment_visibility
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.jsonapi import (
    KEYSET_PAGES,
    WHOLE_LIST_PAGES,
    Identifier,
    JsonApiQuery,
    QueryRules,
    Relationship,
    Resource,
    ResourceType,
    WholeList,
    document,
    link,
    page_links,
    page_meta,
    parse_query,
    previous_offset,
    sortable,
)
from tenants.identity import Identity

_FOREIGN_KEYS = {"id", "projectId", "assigneeId", "reportId"}
NATIVE_PAGES = ("page", "page_size")

REPORT = ResourceType(
    "report",
    tuple(name for name in ReportRead.__struct_encode_fields__ if name not in _FOREIGN_KEYS),
    ("project", "assignee", "comments", "attachments"),
)
PROJECT = ResourceType("project", ("name", "trackingPrefix", "siteUrl", "isActive"))
USER = ResourceType("user", ("name", "email"))
COMMENT = ResourceType("comment", ("text", "createdAt"), ("report", "author", "authorToken"))
REPORT_CHANGE = ResourceType("reportChange", ("changes", "createdAt"), ("report", "author", "authorToken"))
ATTACHMENT = ResourceType(
    "attachment",
    tuple(name for name in AttachmentRead.__struct_encode_fields__ if name not in _FOREIGN_KEYS),
    ("report",),
)
COLUMN = ResourceType(
    "column",
    tuple(name for name in ColumnRead.__struct_encode_fields__ if name not in _FOREIGN_KEYS),
    ("project",),
)

# `comments.author`: a path, as Bugcrowd's includes are; its comments are included with their authors.
_REPORT_INCLUDES = {
    "project": PROJECT,
    "assignee": USER,
    "comments": COMMENT,
    "comments.author": USER,
    "attachments": ATTACHMENT,
}
LIST_RULES = QueryRules(
    REPORT, _REPORT_INCLUDES, filters=REPORT_FILTERS, sorts=frozenset(SORT_FIELDS), pages=KEYSET_PAGES
)
ITEM_RULES = QueryRules(REPORT, _REPORT_INCLUDES)
COMMENT_RULES = QueryRules(COMMENT, {"author": USER}, sorts=frozenset(COMMENT.attributes), pages=WHOLE_LIST_PAGES)
REPORT_CHANGE_RULES = QueryRules(
    REPORT_CHANGE, {"author": USER}, sorts=frozenset({"createdAt"}), pages=WHOLE_LIST_PAGES
)
ATTACHMENT_RULES = QueryRules(
    ATTACHMENT, sorts=sortable(AttachmentRead) & frozenset(ATTACHMENT.attributes), pages=WHOLE_LIST_PAGES
)
ATTACHMENT_ITEM_RULES = QueryRules(ATTACHMENT)
COLUMN_LIST_RULES = QueryRules(
    COLUMN, sorts=sortable(ColumnRead) & frozenset(COLUMN.attributes), pages=WHOLE_LIST_PAGES
)
COLUMN_RULES = QueryRules(COLUMN)

# OpenAPI descriptions of JSON:API mode, one per endpoint.
_MODE = (
    "JSON:API mode: `Accept: application/vnd.api+json`, or any JSON:API query parameter, answers a JSON:API "
    "1.1 document (`application/vnd.api+json`) instead of the native envelope."
)
_ERRORS = (
    "Errors keep Lantern's error envelope (`application/json`) in both modes; an unknown fieldset, field, "
    "include, filter, sort or page parameter is a 400 VALIDATION_ERROR whose `details` name the parameter."
)
LIST_DESCRIPTION = (
    f"{_MODE} `fields[report|project|user|comment|attachment]`; `include=project,assignee,comments,attachments` "
    "(and `comments.author`: the comments with the people who wrote them); "
    "`filter[status|severity|priority|category|project|assignee|tag|externalId]=a,b` (comma: any of; a name in "
    "snake_case too, `filter[external_id]`, a relationship's by its id's too, `filter[project_id]`; assignee "
    "takes UUIDs, e-mail addresses, `me`, `none`); "
    "`filter[search]=a,b` (every word, as the native `search`); "
    "`filter[created|submitted|updated]=from.2026-01-01,to.2026-02-01` "
    "(UTC days, or timestamps); `sort=severity,-createdAt` over createdAt, updatedAt, severity and priority (by "
    "rank, most urgent first), status (the default columns in the board's order, then custom ones by name), "
    "title (`-`: descending; snake_case accepted; Bugcrowd's `severity-asc,submitted-desc` too, `submitted` "
    "being createdAt); `page[limit]` 0-100 (`meta.count`: a page's) with `page[offset]` (then `meta.total`, "
    "also as Bugcrowd's `meta.total_hits`, and offset links), or the opaque cursors of `links.next` in "
    "`page[after]` and of `links.prev` in `page[before]` for pages at any depth (one of offset, after and "
    "before at most). The native filters (`project_id`, `status`, ...) apply in this mode too; the native "
    f"`page` and `page_size` do not (a 400). {_ERRORS}"
)
ITEM_DESCRIPTION = f"{_MODE} `fields[...]` and `include` as on ListReports. {_ERRORS}"
_WHOLE_LIST = (
    "`sort` (`-` descends), `page[limit]` (0-100, default 20) and `page[offset]`, with `meta.count` and "
    "`meta.total` (`meta.total_hits`)"
)
COMMENTS_DESCRIPTION = f"{_MODE} `fields[comment|user]`, `include=author`, {_WHOLE_LIST}. {_ERRORS}"
HISTORY_DESCRIPTION = f"{_MODE} `fields[reportChange|user]`, `include=author`, {_WHOLE_LIST}. {_ERRORS}"
ATTACHMENTS_DESCRIPTION = f"{_MODE} `fields[attachment]`, {_WHOLE_LIST}. {_ERRORS}"
ATTACHMENT_DESCRIPTION = f"{_MODE} `fields[attachment]`. {_ERRORS}"
COLUMNS_DESCRIPTION = (
    f"{_MODE} `fields[column]`, {_WHOLE_LIST}. A custom column's id is its UUID; a default column's, in both "
    f"modes, is `status:<name>` (`status:new`, `status:done`), which no UUID can equal. {_ERRORS}"
)

RowT = TypeVar("RowT", Comment, Attachment)
PresentAttachment = Callable[[Attachment], AttachmentRead]


def query_of(request: Request[Any, Any, Any], rules: QueryRules) -> JsonApiQuery:
    return parse_query(request.query_params.multi_items(), rules)


def _report_path(report_id: UUID) -> str:
    return f"/api/v1/reports/{report_id}"


def _project_path(project_id: UUID) -> str:
    return f"/api/v1/projects/{project_id}"


def _user(user_id: UUID | None) -> Identifier | None:
    return Identifier("user", str(user_id)) if user_id else None


def _to_report(report_id: UUID) -> Relationship:
    return Relationship(Identifier("report", str(report_id)), related=_report_path(report_id))


def _attributes(read: msgspec.Struct) -> dict[str, Any]:
    encoded: dict[str, Any] = msgspec.to_builtins(read)
    return {name: value for name, value in encoded.items() if name not in _FOREIGN_KEYS}


def comment_resource(comment: Comment) -> Resource:
    return Resource(
        "comment",
        str(comment.id),
        {"text": comment.text, "createdAt": msgspec.to_builtins(comment.created_at), "internal": comment.internal},
        {
            "report": _to_report(comment.report_id),
            "author": Relationship(_user(comment.author_id)),
            "authorToken": Relationship(
                Identifier("token", str(comment.author_token_id)) if comment.author_token_id else None
            ),
        },
    )


def comment_item(request: Request[Any, Any, Any], comment: Comment) -> dict[str, Any]:
    """A comment just written, as a document (a comment has no address of its own: its list links it)."""
    return document(query_of(request, QueryRules(COMMENT)), comment_resource(comment), links={"self": link(request)})


def report_change_resource(change: ReportChange) -> Resource:
    return Resource(
        "reportChange",
        str(change.id),
        {"changes": change.changes, "createdAt": msgspec.to_builtins(change.created_at)},
        {
            "report": _to_report(change.report_id),
            "author": Relationship(_user(change.author_id)),
            "authorToken": Relationship(
                Identifier("token", str(change.author_token_id)) if change.author_token_id else None
            ),
        },
    )


def attachment_resource(attachment: Attachment, present: PresentAttachment) -> Resource:
    relationships = {"report": _to_report(attachment.report_id)}
    return Resource("attachment", str(attachment.id), _attributes(present(attachment)), relationships)


def _project_resource(project: Project) -> Resource:
    attributes = {
        "name": project.name,
        "trackingPrefix": project.tracking_prefix,
        "siteUrl": project.site_url,
        "isActive": project.is_active,
    }
    return Resource("project", str(project.id), attributes)


def _user_resource(user: User, *, with_email: bool) -> Resource:
    return Resource("user", str(user.id), {"name": user.name, **({"email": user.email} if with_email else {})})


async def _members(session: AsyncSession, user_ids: set[UUID], identity: Identity) -> list[Resource]:
    """Users by id, only those who are members of the tenant (memberships are tenant-scoped); their e-mail
    addresses for the team alone, as the organization's people are not shown to its guests."""
    if not user_ids:
        return []
    users = await session.scalars(
        select(User).join(Membership, Membership.user_id == User.id).where(User.id.in_(user_ids)).distinct(),
    )
    with_email = identity.role is not Role.GUEST
    return [_user_resource(user, with_email=with_email) for user in users]


# Bugcrowd's bound on what a relationship includes: the first 100 of each report's comments (or attachments), its
# `links.related` telling how many there are in all (`total_hits`) and where the rest are read.
INCLUDED_PER_RELATIONSHIP = 100


@dataclass(slots=True)
class _Grouped(Generic[RowT]):
    """Each report's first rows of one kind, and how many it has in all."""

    rows: dict[UUID, list[RowT]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[UUID, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Related:
    comments: _Grouped[Comment] | None = None
    attachments: _Grouped[Attachment] | None = None


def _linkage(kind: str, grouped: _Grouped[RowT] | None, report_id: UUID) -> Relationship:
    related = f"{_report_path(report_id)}/{kind}s"
    if grouped is None:
        return Relationship(related=related, linked=False)
    linked = [Identifier(kind, str(row.id)) for row in grouped.rows.get(report_id, [])]
    return Relationship(linked, related=related, total=grouped.totals.get(report_id, 0))


def _report_resource(read: ReportRead, related: _Related) -> Resource:
    relationships = {
        "project": Relationship(Identifier("project", str(read.project_id)), related=_project_path(read.project_id)),
        "assignee": Relationship(_user(read.assignee_id)),
        "comments": _linkage("comment", related.comments, read.id),
        "attachments": _linkage("attachment", related.attachments, read.id),
    }
    return Resource("report", str(read.id), _attributes(read), relationships)


class ReportDocuments:
    """Report resources and what a query includes with them, loaded in one query per included kind."""

    def __init__(
        self, session: AsyncSession, query: JsonApiQuery, present_attachment: PresentAttachment, identity: Identity
    ) -> None:
        self.session = session
        self.query = query
        self.present_attachment = present_attachment
        self.identity = identity

    async def resources(self, reports: Sequence[Report]) -> tuple[list[Resource], list[Resource]]:
        """(primary resources, included resources)."""
        ids = [report.id for report in reports]
        related = _Related(
            comments=(
                await self._grouped(Comment, ids, *comment_visibility(self.identity))
                if {"comments", "comments.author"} & set(self.query.include)
                else None
            ),
            attachments=await self._grouped(Attachment, ids) if "attachments" in self.query.include else None,
        )
        reads = await report_reads(self.session, reports, self.identity, Shown.of(self.query.fieldset("report")))
        primary = [_report_resource(read, related) for read in reads]
        return primary, await self._included(reports, related)

    async def _grouped(self, model: type[RowT], ids: list[UUID], *readable: ColumnElement[bool]) -> _Grouped[RowT]:
        grouped: _Grouped[RowT] = _Grouped()
        if not ids:
            return grouped
        order = (model.created_at, model.id)
        ranked = (
            select(
                model.id,
                func.row_number().over(partition_by=model.report_id, order_by=order).label("place"),
                func.count().over(partition_by=model.report_id).label("total"),
            )
            .where(model.report_id.in_(ids), *readable)
            .subquery()
        )
        rows = await self.session.execute(
            select(model, ranked.c.total)
            .join(ranked, ranked.c.id == model.id)
            .where(ranked.c.place <= INCLUDED_PER_RELATIONSHIP)
            .order_by(*order),
        )
        for row, total in rows.tuples():
            grouped.rows[row.report_id].append(row)
            grouped.totals[row.report_id] = total
        return grouped

    async def _included(self, reports: Sequence[Report], related: _Related) -> list[Resource]:
        included: list[Resource] = []
        if "project" in self.query.include:
            project_ids = {report.project_id for report in reports}
            projects = await self.session.scalars(select(Project).where(Project.id.in_(project_ids)))
            included.extend(_project_resource(project) for project in projects)
        people: set[UUID] = set()  # each person once, the assignee of one report and the author of a comment
        if "assignee" in self.query.include:
            people.update(report.assignee_id for report in reports if report.assignee_id)
        if "comments.author" in self.query.include:
            comments_by = related.comments.rows.values() if related.comments else ()
            people.update(comment.author_id for comments in comments_by for comment in comments if comment.author_id)
        included.extend(await _members(self.session, people, self.identity))
        for comments in related.comments.rows.values() if related.comments else ():
            included.extend(comment_resource(comment) for comment in comments)
        for attachments in related.attachments.rows.values() if related.attachments else ():
            included.extend(attachment_resource(attachment, self.present_attachment) for attachment in attachments)
        return included


def _page_links(request: Request[Any, Any, Any], query: JsonApiQuery, page: KeysetPage) -> dict[str, str | None]:
    """Offset links when the client pages by offset; otherwise cursors for the next and the previous page (no
    depth limit)."""
    if query.offset is not None:
        following = link(request, offset=str(query.offset + query.limit)) if page.next_cursor is not None else None
        previous = (
            link(request, offset=str(previous_offset(query.offset, query.limit, page.total or 0)))
            if query.offset > 0
            else None
        )
        return page_links(request, following, previous)
    following = link(request, after=page.next_cursor, before=None) if page.next_cursor is not None else None
    previous = link(request, before=page.previous_cursor, after=None) if page.previous_cursor is not None else None
    return page_links(request, following, previous)


def refuse_native_pages(request: Request[Any, Any, Any]) -> None:
    """The native `page`/`page_size` have no meaning in a JSON:API document's pages: a 400, not a page that
    silently is another one."""
    message = _("In JSON:API mode, pages are page[limit] with page[offset], or the cursors of links.")
    named = [name for name in NATIVE_PAGES if name in request.query_params]
    if named:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, message) for name in named])


async def report_list(  # noqa: PLR0913 - the request, the caller's view and what reads the reports
    request: Request[Any, Any, Any],
    *,
    conditions: list[ColumnElement[bool]],
    identity: Identity,
    session: AsyncSession,
    present_attachment: PresentAttachment,
    board: Board | None,
    guest: GuestView | None,
) -> dict[str, Any]:
    """`GET /reports` as a JSON:API document: filters (beside the caller's `conditions`: its view and the
    native filters; `board`, the columns `filter[status]` may name; `guest`, a guest caller's view), sort,
    offset or cursor page, includes."""
    query = query_of(request, LIST_RULES)
    dialect = session.get_bind().dialect.name
    filters = dict(query.filters)
    conditions = [
        *conditions,
        *filter_conditions(filters, dialect=dialect, user_id=identity.user_id, board=board, guest=guest),
    ]
    page = await page_of_reports(
        session,
        conditions,
        Ordering(query.sort or DEFAULT_SORT),
        limit=query.limit,
        offset=query.offset or 0,
        after=query.after,
        before=query.before,
        count=query.offset is not None,
        unread=Shown.of(query.fieldset("report")).unread,  # the same fields the resources leave out
    )
    documents = ReportDocuments(session, query, present_attachment, identity)
    primary, included = await documents.resources(page.items)
    meta = page_meta(len(primary), page.total)
    return document(query, primary, included=included, links=_page_links(request, query, page), meta=meta)


async def report_item(
    request: Request[Any, Any, Any],
    report: Report,
    session: AsyncSession,
    present_attachment: PresentAttachment,
    identity: Identity,
) -> dict[str, Any]:
    query = query_of(request, ITEM_RULES)
    primary, included = await ReportDocuments(session, query, present_attachment, identity).resources([report])
    return document(query, primary[0], included=included, links={"self": link(request)})


# Comments and changes: written or made by a person (`author`) or an integration's token.
Authored = TypeVar("Authored", Comment, ReportChange)


async def comment_list(
    request: Request[Any, Any, Any], comments: list[Comment], session: AsyncSession, identity: Identity
) -> dict[str, Any]:
    return await _authored_list(request, COMMENT_RULES, comments, comment_resource, reader=(session, identity))


async def report_change_list(
    request: Request[Any, Any, Any], changes: list[ReportChange], session: AsyncSession, identity: Identity
) -> dict[str, Any]:
    return await _authored_list(
        request, REPORT_CHANGE_RULES, changes, report_change_resource, reader=(session, identity)
    )


async def _authored_list(
    request: Request[Any, Any, Any],
    rules: QueryRules,
    items: list[Authored],
    resource: Callable[[Authored], Resource],
    *,
    reader: tuple[AsyncSession, Identity],
) -> dict[str, Any]:
    """Comments or changes as a document; `include=author` adds the people who wrote or made them, as the
    reader (its session and identity) may see them."""
    session, identity = reader
    query = query_of(request, rules)
    listed = WholeList.of(request, query, [resource(item) for item in items])
    included = []
    if "author" in query.include:
        shown = {item.id for item in listed.items}
        authors = {item.author_id for item in items if item.author_id and str(item.id) in shown}
        included = await _members(session, authors, identity)
    return listed.document(query, included)


def attachment_list(
    request: Request[Any, Any, Any],
    attachments: list[Attachment],
    present: PresentAttachment,
) -> dict[str, Any]:
    query = query_of(request, ATTACHMENT_RULES)
    return WholeList.of(request, query, [attachment_resource(item, present) for item in attachments]).document(query)


def attachment_item(
    request: Request[Any, Any, Any], attachment: Attachment, present: PresentAttachment
) -> dict[str, Any]:
    resource = attachment_resource(attachment, present)
    return document(query_of(request, ATTACHMENT_ITEM_RULES), resource, links={"self": link(request)})


def column_list(request: Request[Any, Any, Any], project_id: UUID, columns: list[ColumnRead]) -> dict[str, Any]:
    """A board's columns, in board order, as a document; each relates to its project."""
    query = query_of(request, COLUMN_LIST_RULES)
    return WholeList.of(request, query, [_column_resource(project_id, read) for read in columns]).document(query)


def column_item(request: Request[Any, Any, Any], project_id: UUID, column: ColumnRead) -> dict[str, Any]:
    return document(
        query_of(request, COLUMN_RULES), _column_resource(project_id, column), links={"self": link(request)}
    )


def _column_resource(project_id: UUID, read: ColumnRead) -> Resource:
    project = Relationship(Identifier("project", str(project_id)), related=_project_path(project_id))
    return Resource("column", read.id, _attributes(read), {"project": project})
