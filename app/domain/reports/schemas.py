"""Bodies of report ingest (BugPin's widget submit, BugSpark's create) and of triage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, cast
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile
from litestar.openapi.spec import Schema

from app.domain.reports.models import Category, ImageStatus, Priority, Severity, Source
from app.lib.errors import FieldError
from app.lib.i18n import gettext as _
from app.lib.openapi import either_spelling, fitting_one_of
from app.lib.patterns import BLANK, EMAIL, EMAIL_OR_EMPTY, END, FULL_URL, NOT_BLANK, ONE_LINE_NAME, WEB_URL
from app.lib.schema import (
    AsSent,
    CamelStruct,
    any_items,
    documented_as,
    from_zero,
    refuse_none_given,
    refuse_two_ways,
)

TITLE_MIN_LENGTH = 4
TITLE_MAX_LENGTH = 200
# A title is as long as it must be once the spaces around it are trimmed (`trimmed_title`): the document says so
# with a pattern, its first and last characters not spaces.
TRIMMED_TITLE = rf"{NOT_BLANK}[\s\S]{{{TITLE_MIN_LENGTH - 2},}}{NOT_BLANK}"
Title = Annotated[
    str,
    msgspec.Meta(min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH),
    documented_as(pattern=TRIMMED_TITLE),
]
# A description's first line that is not blank, trimmed, long enough for a title (`filing.title_of`): the title
# of a report filed without one. Python's `splitlines` ends a line at each of these characters.
TITLED_DESCRIPTION = rf"^\s*\S[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]{{{TITLE_MIN_LENGTH - 2},}}\S"
Description = Annotated[str, msgspec.Meta(max_length=20_000)]


_BLANK_ENDS = re.compile(rf"^{BLANK}+|{BLANK}+\Z")


def trimmed(text: str) -> str:
    """`text` without the spaces and invisible characters around it."""
    return _BLANK_ENDS.sub("", text)


def first_line(description: str) -> str:
    """A description's first line that is not blank, trimmed: the title of a report filed without one."""
    return next((line for line in map(trimmed, description.splitlines()) if line), "")


def untitled_refusal(description: str) -> FieldError | None:
    """Why a report filed without a title is refused: the first line of its description, its title then, is too
    short. None when it will do."""
    if len(first_line(description)) >= TITLE_MIN_LENGTH:
        return None
    message = _(
        "A report without a title takes the first line of its description as its title: "
        "it needs at least %(count)s characters.",
        count=TITLE_MIN_LENGTH,
    )
    return FieldError("description", message)


ShortText = Annotated[str, msgspec.Meta(max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=2048)]
PageUrl = Annotated[str, msgspec.Meta(max_length=2048, pattern=FULL_URL)]
# Empty is no address: a widget's form sends its empty optional field as "" (BugPin's own example does).
Email = Annotated[str, msgspec.Meta(max_length=320, pattern=EMAIL_OR_EMPTY)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NOT_BLANK)]
ColumnName = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=ONE_LINE_NAME)]
# Where a column goes on its board; bounded so that it always fits the database's integer.
Position = Annotated[int, from_zero(le=10_000)]
StorageKey = Annotated[str, msgspec.Meta(max_length=300)]
AuthorEmail = Annotated[str, msgspec.Meta(max_length=320, pattern=EMAIL)]
# A moment as RFC 3339 writes it, its offset optional (the browser's own time then): what msgspec reads as a
# `datetime`, which its schema says only is text.
Timestamp = Annotated[
    datetime,
    documented_as(
        pattern=r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
        rf"(?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?{END}"
    ),
]
# A size in CSS pixels, kept as the browser sent it: 1920 stays 1920 (not 1920.0), 667.5 stays 667.5.
Pixels = Annotated[int, from_zero(le=100_000)] | Annotated[float, from_zero(le=100_000)]


class BrowserInfo(CamelStruct):
    name: ShortText | None = None
    version: ShortText | None = None
    user_agent: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class DeviceInfo(CamelStruct):
    type: ShortText | None = None
    os: ShortText | None = None
    os_version: ShortText | None = None


class Viewport(CamelStruct):
    width: Pixels
    height: Pixels
    device_pixel_ratio: Annotated[int, from_zero(le=100)] | Annotated[float, from_zero(le=100)] | None = None
    orientation: ShortText | None = None


class ConsoleEntry(CamelStruct):
    type: ShortText = "error"
    message: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    source: LongText | None = None
    line: int | None = None
    timestamp: ShortText | None = None


# What the embedding page tells of its own (the widget's `Lantern.setCustomData`): a signed-in user's plan, an
# order number. A few short values, so that the report's page shows them whole; bounded apart from the page's
# metadata (`report_from_widget`), which the page's own address and title may fill.
MAX_CUSTOM_KEYS = 50
CustomKey = Annotated[str, msgspec.Meta(max_length=100)]
CustomValue = Annotated[str, msgspec.Meta(max_length=1_000)] | int | float | bool
CustomData = Annotated[dict[CustomKey, CustomValue], msgspec.Meta(max_length=MAX_CUSTOM_KEYS)]


class PageMetadata(CamelStruct):
    """The page the report was made on (BugPin's `metadata`); `url`, `browser`, `device`, `viewport` and
    `timestamp` are required, as BugPin documents."""

    url: PageUrl
    browser: BrowserInfo
    device: DeviceInfo
    viewport: Viewport
    timestamp: Timestamp
    title: LongText | None = None
    referrer: LongText | None = None
    timezone: ShortText | None = None
    page_load_time: int | float | None = None
    # None when left out or null (serializers of typed clients send an unset list so).
    console_errors: Annotated[list[ConsoleEntry], msgspec.Meta(max_length=500)] | None = None
    network_errors: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=500)] | None = None
    user_actions: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=500)] | None = None
    custom: CustomData | None = None


class WidgetSubmission(CamelStruct):
    """BugPin's widget submit body."""

    title: Title
    metadata: PageMetadata
    description: Description | None = None
    priority: Priority | None = Priority.MEDIUM  # null: the default, as for a field left out
    reporter_name: ShortText | None = None
    reporter_email: Email | None = None
    annotations: dict[str, Any] | None = None


class SentMetadata(msgspec.Struct):
    """A widget submission's `metadata` as sent, its fields `PageMetadata` does not read among them."""

    metadata: dict[str, Any]


class WidgetSubmitted(msgspec.Struct, rename="camel", kw_only=True):
    """BugPin's answer to a submit: the fields sit beside `success`, not under `data`."""

    success: bool = True
    report_id: UUID
    tracking_id: str | None
    message: str


class ApiReport(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """BugSpark's create body, in its documented snake_case; and a priority, as BugPin's widget sends it (BugSpark
    has none: a client that sends one means it)."""

    # An optional field sent as null is left out, as the serializers of typed clients (pydantic's, .NET's)
    # send one they were not given: its default (none, for the logs and the metadata).
    title: Title
    description: Description | None = ""
    severity: Severity | None = Severity.MEDIUM
    priority: Priority | None = Priority.MEDIUM
    category: Category | None = Category.BUG
    reporter_identifier: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    screenshot_url: StorageKey | None = None
    annotated_screenshot_url: StorageKey | None = None
    console_logs: Annotated[list[Any], any_items(max_length=2000)] | None = None
    network_logs: Annotated[list[Any], any_items(max_length=2000)] | None = None
    user_actions: Annotated[list[Any], any_items(max_length=2000)] | None = None
    metadata: dict[str, Any] | None = None


class ReportCreated(CamelStruct):
    id: UUID
    project_id: UUID
    tracking_id: str | None
    title: str
    severity: Severity
    category: Category
    status: str
    created_at: datetime
    updated_at: datetime


class IssueLink(CamelStruct):
    """The GitHub issue made from a report: `pending` while the worker makes it, then `created` with its number
    and address, or `failed` (`GET /api/v1/reports/{id}/github-issue` tells why)."""

    status: str
    number: int | None
    url: str | None


class ReportRead(CamelStruct):
    id: UUID
    project_id: UUID
    tracking_id: str | None
    title: str
    description: str
    status: str
    status_id: int | None
    # When it was last moved into the closed column (BugHerd's `closed_at`); null while it is in another.
    closed_at: datetime | None
    severity: Severity
    priority: Priority
    category: Category
    source: Source
    reporter_name: str | None
    reporter_email: str | None
    reporter_identifier: str | None
    page_url: str | None
    metadata: dict[str, Any]
    console_logs: list[Any]
    network_logs: list[Any]
    user_actions: list[Any]
    annotations: dict[str, Any] | None
    tags: list[str]
    assignee_id: UUID | None
    external_id: str | None
    screenshots: list[ScreenshotRead]
    github_issue: IssueLink | None
    created_at: datetime
    updated_at: datetime


class ScreenshotRead(CamelStruct):
    """A report's screenshot: `pending` until the worker has processed it, then `ready` (its size known, its
    thumbnail made) or `failed` (`error` in the reader's language, `errorCode` the stable code it is rendered from,
    and no `url`: a refused upload is not kept). `annotated`: it shows the reporter's marks."""

    id: UUID
    status: ImageStatus
    annotated: bool
    width: int | None
    height: int | None
    url: str | None
    thumbnail_url: str | None
    error: str | None
    error_code: str | None


class ReportPage(CamelStruct):
    items: list[ReportRead]
    total: int
    page: int
    page_size: int


class ReportUpdate(CamelStruct, forbid_unknown_fields=True):
    """A triage change; BugSpark's snake_case names (`assignee_id`, `external_id`) are accepted too.

    The column is named by `status` or, as BugHerd does, by `status_id`, not both (one would be dropped without
    a word): they are one field under two names; null for either sends the report back to the feedback column. The
    assignee by id (null: nobody) or by address, as a filed report's, not both."""

    one_field: ClassVar = (("status", "status_id"),)
    one_way: ClassVar = (("assignee_id", "assignee_email"),)

    status: ColumnName | msgspec.UnsetType | None = msgspec.UNSET
    status_id: Position | msgspec.UnsetType | None = msgspec.UNSET
    severity: Severity | msgspec.UnsetType = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    assignee_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    assignee_email: AuthorEmail | msgspec.UnsetType = msgspec.UNSET
    tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    external_id: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        refuse_two_ways(self)


class ReportFiling(CamelStruct, forbid_unknown_fields=True):
    """A report the team files (what a customer said on the phone, an integration's task): the triage fields
    beside the report's own. No title: the description's first line is the title. The assignee by id or by
    address; the reporter by address and name, or as one of the organization's people (`reporterId`)."""

    one_way: ClassVar = (("assignee_id", "assignee_email"), ("reporter_id", "reporter_email"))

    title: Title | None = None
    description: Description = ""
    severity: Severity = Severity.MEDIUM
    priority: Priority = Priority.MEDIUM
    category: Category = Category.BUG
    status: ColumnName | None = None  # null: the feedback column, as BugHerd says
    assignee_id: UUID | None = None
    assignee_email: AuthorEmail | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []
    external_id: ShortText | None = None
    reporter_id: UUID | None = None
    reporter_name: ShortText | None = None
    reporter_email: Email | None = None
    page_url: PageUrl | None = None

    def __post_init__(self) -> None:
        refuse_two_ways(self)

    @classmethod
    def refusals_across_fields(cls, body: dict[str, Any]) -> list[FieldError]:
        """A body refused for its fields is refused for a description too short for a title as well, which
        `filing.title_of` checks once they pass: every refusal comes at once."""
        description = body.get("description", "")
        if body.get("title") is not None or not isinstance(description, str):
            return super().refusals_across_fields(body)
        refusal = untitled_refusal(description)
        return super().refusals_across_fields(body) + ([] if refusal is None else [refusal])


# BugHerd's task fields (`PATCH` with `{"task": {...}}`) in Lantern's names, and its priorities as Lantern's.
_BUGHERD_TASK_FIELDS = {"assigned_to_id": "assignee_id", "assigned_to_email": "assignee_email", "tag_names": "tags"}
# A new task's (`POST /api/v1/projects/{id}/reports` with `{"task": {...}}`) names besides those.
_BUGHERD_NEW_TASK_FIELDS = {
    **_BUGHERD_TASK_FIELDS,
    "requester_id": "reporter_id",
    "requester_email": "reporter_email",
}
_BUGHERD_PRIORITIES = {
    "not set": "medium",
    "critical": "highest",
    "important": "high",
    "normal": "medium",
    "minor": "low",
}


# The priorities a filter and a task's body take, for the OpenAPI document: ours, then BugHerd's.
PRIORITY_NAMES = [*(level.value for level in Priority), *_BUGHERD_PRIORITIES]


def priority_named(name: str) -> str:
    """Lantern's priority for one of ours or BugHerd's (`normal` is `medium`), in any case; a name of neither
    as sent, for its refusal to name."""
    lowered = name.lower()
    ours = _BUGHERD_PRIORITIES.get(lowered, lowered)
    return ours if ours in {level.value for level in Priority} else name


def from_bugherd_task(task: AsSent) -> AsSent:
    """A BugHerd task change as a `ReportUpdate` body; `updater_email`, who the change is for in the audit log,
    names the change's author instead (see `ReportService.acting_for`)."""
    return _in_our_names(task.without("updater_email"), _BUGHERD_TASK_FIELDS)


def from_bugherd_new_task(task: AsSent) -> AsSent:
    """A new BugHerd task as a `ReportFiling` body: its requester is the reporter, its ids are UUIDs here."""
    return _in_our_names(task, _BUGHERD_NEW_TASK_FIELDS)


def _in_our_names(task: AsSent, names: dict[str, str]) -> AsSent:
    ours = task.renamed(names)
    if isinstance(priority := ours.fields.get("priority"), str):
        ours.fields["priority"] = priority_named(priority)
    return ours


def bugherd_task_schema() -> Schema:
    """BugHerd's task change as `from_bugherd_task` reads it, for the OpenAPI document: our fields, BugHerd's
    names for some of them, its priorities too, and `updater_email`."""
    schema = cast("dict[str, Any]", either_spelling(ReportUpdate, also=_BUGHERD_TASK_FIELDS))
    properties: dict[str, Any] = schema["properties"]
    _with_bugherd_priorities(properties)
    properties["updater_email"] = {
        "type": ["string", "null"],
        "description": "With an API token: the member the change is made for, in the report's history (one "
        "of the team: the address of a guest, of someone still invited or of no one here is ignored).",
    }
    return cast("Schema", schema)


def filing_schema() -> Schema:
    """A report the team files, for the OpenAPI document: a title, or a description whose first line is one."""
    return _titled(either_spelling(ReportFiling))


def bugherd_new_task_schema() -> Schema:
    """A new BugHerd task as `from_bugherd_new_task` reads it, for the OpenAPI document: our fields, BugHerd's
    names for some of them (`requester_email`, `assigned_to_email`…) and its priorities too."""
    schema = cast("dict[str, Any]", _titled(either_spelling(ReportFiling, also=_BUGHERD_NEW_TASK_FIELDS)))
    _with_bugherd_priorities(schema["properties"])
    return cast("Schema", schema)


def _titled(filing: Schema) -> Schema:
    """`filing` with its title, or else a description that gives one (`filing.title_of`)."""
    titled = [
        {"required": ["title"], "properties": {"title": {"type": "string"}}},
        {"required": ["description"], "properties": {"description": {"pattern": TITLED_DESCRIPTION}}},
    ]
    return fitting_one_of(filing, titled)


def _with_bugherd_priorities(properties: dict[str, Any]) -> None:
    """Lantern's priorities and BugHerd's, in any case (`priority_named` reads them lower-cased): a pattern says
    so, which a code generator reads as text beside Lantern's enum."""
    any_case = "|".join("".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in name) for name in PRIORITY_NAMES)
    properties["priority"] = {
        "anyOf": [properties["priority"], {"type": "string", "pattern": f"^(?:{any_case}){END}"}],
        "description": "Lantern's priorities or BugHerd's, in any case (`Normal` is `medium`, `Critical` `highest`).",
    }


class ColumnCreate(CamelStruct, forbid_unknown_fields=True):
    name: ColumnName
    position: Position | None = None


class ColumnUpdate(CamelStruct, forbid_unknown_fields=True):
    name: ColumnName | msgspec.UnsetType = msgspec.UNSET
    position: Position | msgspec.UnsetType = msgspec.UNSET


class ColumnRead(CamelStruct):
    # A custom column's UUID; a default column's `status:<name>` (`status:todo`), which no UUID can equal.
    id: Annotated[str, msgspec.Meta(description="A custom column's UUID, or a default column's `status:<name>`.")]
    name: str
    status_id: int | None
    position: int
    custom: bool


CommentText = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern=NOT_BLANK)]


@dataclass(frozen=True, slots=True)
class NamedAuthor:
    """The person a comment is written for, by their id or their address; `field`, as the body spelled it."""

    field: str
    user_id: UUID | None
    email: str | None


class _CommentAuthor(CamelStruct):
    """Who a comment is by, when the caller writes it for someone else: their `userId`, or their `email`."""

    one_way: ClassVar = (("user_id", "email"),)

    user_id: UUID | None = None
    email: AuthorEmail | None = None

    def __post_init__(self) -> None:
        refuse_two_ways(self)

    def named(self, user_id_field: str, prefix: str = "") -> NamedAuthor | None:
        if self.user_id is not None:
            return NamedAuthor(prefix + user_id_field, self.user_id, None)
        if self.email is not None:
            return NamedAuthor(f"{prefix}email", None, self.email)
        return None


class BugHerdComment(_CommentAuthor, forbid_unknown_fields=True, kw_only=True):
    """BugHerd's `{"text", "user_id"}` or `{"text", "email"}`: its id for a person is ours, a UUID."""

    text: CommentText
    user_id: UUID | None = msgspec.field(default=None, name="user_id")


class CommentCreate(_CommentAuthor, forbid_unknown_fields=True):
    """`{"text"}`, or BugHerd's `{"comment": {"text"}}`; `internal` for the team's note, which guests never
    read; `userId` or `email` (BugHerd's `user_id` or `email` in its `comment`) for who it is by."""

    one_required: ClassVar = ("text", "comment")

    text: CommentText | None = None
    comment: BugHerdComment | None = None
    internal: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        refuse_none_given(self)

    @property
    def content(self) -> str:
        return self.text if self.text is not None else (self.comment.text if self.comment else "")

    @property
    def author(self) -> NamedAuthor | None:
        """The person the body names as the comment's author, if any."""
        named = self.comment.named("user_id", "comment.") if self.comment else None
        return named or self.named("userId")


class CommentRead(CamelStruct):
    """A comment; `authorId` and `authorTokenId` both null: its author deleted their account (the comment stays
    the organization's)."""

    id: UUID
    report_id: UUID
    author_id: UUID | None
    # Made with an organization API token (an integration): that token (GET /api/v1/tokens/{id}).
    author_token_id: UUID | None
    text: str
    created_at: datetime
    # The team's note: guests never read it.
    internal: bool


class ReportChangeRead(CamelStruct):
    """One triage change to a report, oldest first in its history: who made it (a person, or an integration's
    API token; neither: an account since deleted) and each field it changed by its name here, as `[before, after]`;
    a description as `[null, null]`, which says that it changed without keeping its text twice."""

    id: UUID
    report_id: UUID
    author_id: UUID | None
    author_token_id: UUID | None
    changes: dict[str, list[Any]]  # as `report.updated` webhooks tell them
    created_at: datetime


class AttachmentLink(CamelStruct, forbid_unknown_fields=True):
    """A link to a file kept elsewhere; Lantern stores the URL and never fetches it. `file_name` is
    BugHerd's spelling of `name`."""

    url: Annotated[str, msgspec.Meta(max_length=2048, pattern=WEB_URL)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    file_name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None


class AttachmentRead(CamelStruct):
    id: UUID
    report_id: UUID
    kind: str
    name: str
    url: str
    content_type: str | None
    size: int | None
    created_at: datetime
    # An image file (by its bytes) is processed like a screenshot: `pending`, then `ready` or `failed` (with
    # `error`, in the reader's language, and `error_code`, the stable code it is rendered from). Null for any other
    # file and for links: stored as sent.
    status: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None
    error: str | None = None
    error_code: str | None = None


@dataclass
class ScreenshotUpload:
    """BugSpark's upload: one image in the multipart part `file`."""

    file: UploadFile


class ScreenshotKey(msgspec.Struct):
    """BugSpark's answer to an upload: the `key` a report names it by (`screenshot_url`)."""

    key: str


class ScreenshotUploaded(CamelStruct):
    """BugSpark's upload as a JSON:API `screenshot`: its `key` is what a report names it by (`screenshot_url`)."""

    id: UUID
    key: str
