"""Bug reports, their per-project numbering, the project's board columns, and comments."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.domain.projects.models import Project, ProjectPrefix
from app.lib.names import distinct_names, name_key
from tenants.db import TenantOwned

TRACKING_ID = re.compile(r"^(?P<prefix>[A-Z]{2,10})-(?P<number>\d{1,9})$")


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(enum.StrEnum):
    LOWEST = "lowest"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    HIGHEST = "highest"


class Category(enum.StrEnum):
    BUG = "bug"
    UI = "ui"
    PERFORMANCE = "performance"
    CRASH = "crash"
    OTHER = "other"


class Source(enum.StrEnum):
    WIDGET = "widget"
    API = "api"  # BugSpark's create, with a widget key
    TEAM = "team"  # filed by the organization's people or its API token (what a customer said on the phone)


# The default board columns with BugHerd's status ids; a new report is `new` (BugHerd's "feedback",
# status id null). Custom columns get ids above 5.
NEW_STATUS = "new"
CLOSED_STATUS = "closed"  # BugHerd's archive: a report there has its `closed_at`
DEFAULT_STATUS_IDS: dict[str, int | None] = {
    NEW_STATUS: None,
    "backlog": 0,
    "todo": 1,
    "doing": 2,
    "done": 4,
    CLOSED_STATUS: 5,
}
# Other products' names for these columns: BugHerd's feedback panel, BugSpark's statuses.
STATUS_ALIASES = {"feedback": NEW_STATUS, "triaging": "backlog", "in_progress": "doing", "resolved": "done"}
FIRST_CUSTOM_STATUS_ID = 6
DEFAULT_COLUMN_ID_PREFIX = "status:"


@dataclass(frozen=True, slots=True)
class DefaultColumn:
    """A default board column: no row, the same on every board. Its id is `status:<name>` (`status:todo`), which
    no UUID can equal; its name is the status of its reports, so it is never renamed, moved or deleted."""

    name: str
    status_id: int | None
    position: int

    @property
    def id(self) -> str:
        return f"{DEFAULT_COLUMN_ID_PREFIX}{self.name}"


DEFAULT_COLUMNS = tuple(
    DefaultColumn(name, status_id, position) for position, (name, status_id) in enumerate(DEFAULT_STATUS_IDS.items())
)

# An e-mail address's longest: a reporter's as an account's.
ADDRESS_LENGTH = 320


class Report(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_report_project_number"),
        # The list queries: tenant first, then the usual filters, then the default order (created_at, id) so a
        # keyset page (`page[after]`, queries.py) is one index range scan, with no sort, at any depth.
        Index("ix_report_tenant_project_created", "organization_id", "project_id", "created_at", "id"),
        Index("ix_report_tenant_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_report_tenant_created", "organization_id", "created_at", "id"),
        Index("ix_report_tenant_project_status_created", "organization_id", "project_id", "status", "created_at", "id"),
        # Status included: a count by status and severity reads the index alone.
        Index(
            "ix_report_tenant_severity_created",
            "organization_id",
            "severity",
            "created_at",
            "id",
            postgresql_include=["status"],
        ),
        Index("ix_report_unnumbered", "project_id", "created_at", postgresql_where="number IS NULL"),
        Index("ix_report_tenant_search_grams", "organization_id", "search_grams", postgresql_using="gin"),
        # A reporter's address: a guest's own reports, and a search for an address. It is kept in one form, lower
        # case (audience.py's `reporter_address`); it was kept as typed, and is indexed as lower() still.
        Index("ix_report_tenant_reporter_email", "organization_id", text("lower(reporter_email)")),
    )

    project_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("project.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(Integer, default=None)
    tracking_id: Mapped[str | None] = mapped_column(String(24), default=None, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(50), default=NEW_STATUS)
    status_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # When it was last moved into the closed column (BugHerd's `closed_at`); NULL while it is in another.
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    severity: Mapped[str] = mapped_column(String(20), default=Severity.MEDIUM.value)
    priority: Mapped[str] = mapped_column(String(20), default=Priority.MEDIUM.value)
    category: Mapped[str] = mapped_column(String(20), default=Category.BUG.value)
    source: Mapped[str] = mapped_column(String(20), default=Source.API.value)
    reporter_name: Mapped[str | None] = mapped_column(String(200), default=None)
    reporter_email: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH), default=None)
    reporter_identifier: Mapped[str | None] = mapped_column(String(320), default=None)
    page_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    page_metadata: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    console_logs: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    network_logs: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    user_actions: Mapped[list[Any]] = mapped_column(JsonB, default=list)
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    tags: Mapped[list[str]] = mapped_column(JsonB, default=list)
    # Each tag as the tag filter compares it (`name_key`): "ui" finds "UI" and its full-width letters. Kept by
    # the setter of `tags`.
    tag_keys: Mapped[list[str]] = mapped_column(JsonB, default=list)
    assignee_id: Mapped[UUID | None] = mapped_column(
        GUID,
        ForeignKey("user_account.id", ondelete="SET NULL"),
        default=None,
    )
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # Title and description as search compares them, and their character bigrams, for indexed substring
    # search (see search.py). Both are read by the database alone: the ORM does not load them (a report's
    # bigrams are a few hundred strings, which a page of 50 reports decoded and dropped: 10,000 of them).
    search_text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    search_grams: Mapped[list[str]] = mapped_column(
        ARRAY(Text).with_variant(JSON(), "sqlite"), default=list, deferred=True
    )
    # PostgreSQL: the id of the transaction that stored the report (a server default, see migration 0005).
    # Numbers follow it, and go only to reports whose transactions have all ended (TrackingService). NULL on
    # SQLite, where writers take turns.
    stored_xid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue(), default=None)

    @validates("tags")
    def _distinct_tags(self, _key: str, tags: list[str]) -> list[str]:
        """Tags are names: trimmed, composed, and each once whatever its case or width, in the spelling first
        given ("Ui" in full-width letters, "ui", " UI " are one tag)."""
        kept = distinct_names(tags)
        self.tag_keys = [name_key(tag) for tag in kept]
        return kept

    @property
    def custom_data(self) -> dict[str, Any]:
        """What the embedding page told the widget (`metadata.custom`, `Lantern.setCustomData`): a plan, an order
        number. Empty when it told nothing, or when an API client's metadata has a `custom` that is no object
        (shown then among the page's other metadata)."""
        custom = (self.page_metadata or {}).get("custom")
        return custom if isinstance(custom, dict) else {}


def named_by_tracking_id(text: str) -> ColumnElement[bool] | None:
    """The report `text` names as its tracking ID (`bsk-042` is BSK-42), under its project's prefix or one the
    project had before (an ID given before a rename names its report still, see ProjectPrefix); None for text
    that names none. Found by the project's number, on its unique index."""
    match = TRACKING_ID.match(text.strip().upper())
    if match is None:
        return None
    prefix = match["prefix"]
    kept = select(ProjectPrefix.project_id).where(ProjectPrefix.prefix == prefix)
    # A project a pod of the version before prefixes were kept made or renamed (during a rolling upgrade) has no
    # row for its current prefix: found by that prefix, unless the prefix's row names a project already.
    unkept = select(Project.id).where(
        Project.tracking_prefix == prefix,
        ~select(ProjectPrefix.id)
        .where(ProjectPrefix.prefix == prefix, ProjectPrefix.organization_id == Project.organization_id)
        .exists(),
    )
    return and_(Report.project_id.in_(kept.union(unkept)), Report.number == int(match["number"]))


class ProjectCounter(TenantOwned, UUIDv7AuditBase):
    """The last tracking number handed out per project; its row is the lock that keeps numbers gapless."""

    __tablename__ = "project_counter"

    project_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("project.id", ondelete="CASCADE"), unique=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ProjectColumn(TenantOwned, UUIDv7AuditBase):
    """A custom board column; its `status_id` (> 5) and name are what reports in it carry."""

    __tablename__ = "project_column"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_project_column_name"),
        UniqueConstraint("project_id", "status_id", name="uq_project_column_status_id"),
    )

    project_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    status_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Comment(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "report_comment"

    report_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("report.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[UUID | None] = mapped_column(GUID, ForeignKey("user_account.id", ondelete="SET NULL"))
    # A comment made with an organization API token (an integration's): the token, as no person wrote it.
    author_token_id: Mapped[UUID | None] = mapped_column(GUID, ForeignKey("api_token.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    # The team's note: the organization's guests (its clients) never read it (services.comment_visibility).
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ReportChange(TenantOwned, UUIDv7AuditBase):
    """One triage change to a report (its history): who made it, a person or an integration's API token as on
    a comment, and each field it changed, by the API's name, as `[before, after]` (a description as
    `[null, null]`: that it changed, not its text twice)."""

    __tablename__ = "report_change"

    report_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("report.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[UUID | None] = mapped_column(GUID, ForeignKey("user_account.id", ondelete="SET NULL"))
    author_token_id: Mapped[UUID | None] = mapped_column(GUID, ForeignKey("api_token.id", ondelete="SET NULL"))
    changes: Mapped[dict[str, list[Any]]] = mapped_column(JsonB)


class ImageStatus(enum.StrEnum):
    """Where an uploaded image (a screenshot, or an attached file whose bytes are an image) is in processing."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class ProcessedImageColumns:
    """What processing records of an image, on screenshots and on attachments whose bytes are an image."""

    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(300), default=None)
    # A `Refusal` code when processing failed; shown in the reader's language.
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    # `png`, `jpeg` or `webp` once processed (`size` and `content_type` then describe the re-encoded image).
    format: Mapped[str | None] = mapped_column(String(10), default=None)
    # Processing runs started: bounds the retries of an image that kills or stalls every worker it meets.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Screenshot(ProcessedImageColumns, TenantOwned, UUIDv7AuditBase):
    """An uploaded image: stored under a tenant-prefixed, unguessable key; processed later by a worker.

    It belongs to its project from the upload on (so only that project can attach it) and to a report once
    a report names it.
    """

    __tablename__ = "screenshot"
    __table_args__ = (
        # The sweeper's question, "which screenshots have waited too long?", across tenants.
        Index("ix_screenshot_status_updated", "status", "updated_at"),
        # "How much waits for its report?", asked at every upload (see `store_upload`).
        Index(
            "ix_screenshot_unattached",
            "project_id",
            postgresql_where=text("report_id IS NULL"),
            sqlite_where=text("report_id IS NULL"),
        ),
    )

    project_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("project.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[UUID | None] = mapped_column(
        GUID,
        ForeignKey("report.id", ondelete="CASCADE"),
        default=None,
        index=True,
    )
    key: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    annotated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=ImageStatus.PENDING.value)

    @property
    def job_id(self) -> str:
        """The arq job id of the next processing run: enqueueing it again while it waits changes nothing."""
        return f"screenshot:{self.id}:{self.attempts or 0}"


class AttachmentKind(enum.StrEnum):
    FILE = "file"
    LINK = "link"


class Attachment(ProcessedImageColumns, TenantOwned, UUIDv7AuditBase):
    """A file uploaded to a report, or a link to one elsewhere (kept as a link: the server never fetches it).

    A file whose bytes are a PNG, JPEG or WebP image (whatever its name and declared type) is processed like a
    screenshot: `status` goes `pending` -> `ready` or `failed`, and the image columns describe the result. Any
    other file, and a link, has `status` NULL: stored as sent, never processed, only offered as a download.
    """

    __tablename__ = "attachment"
    # The sweeper's question, "which images have waited too long?", across tenants.
    __table_args__ = (Index("ix_attachment_status_updated", "status", "updated_at"),)

    report_id: Mapped[UUID] = mapped_column(GUID, ForeignKey("report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    key: Mapped[str | None] = mapped_column(String(300), default=None, unique=True)
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by_id: Mapped[UUID | None] = mapped_column(GUID, ForeignKey("user_account.id", ondelete="SET NULL"))
    # NULL for a file that is not an image, and for a link (the image columns then stay NULL too).
    status: Mapped[str | None] = mapped_column(String(20), default=None)

    @property
    def job_id(self) -> str:
        """The arq job id of the next processing run of an image file (see Screenshot.job_id)."""
        return f"attachment:{self.id}:{self.attempts or 0}"


def report_path(report: Report) -> str:
    """The report's page in the admin UI, where a person reads it: the links of the UI, of e-mails and of GitHub
    issues (the API's address answers a browser with JSON)."""
    return f"/ui/reports/{report.tracking_id or report.id}"
