"""The organization archive's format: which kinds of record it holds, how their rows travel as JSON lines, and
the manifest that says what the archive holds and which Lantern wrote it.

A zip file: `manifest.json`, one `<kind>.jsonl` per kind of record (a row per line, its columns by name), and the
stored files (screenshots, thumbnails, attached files) under `files/`, by the key they had. Rows never carry
their `organization_id` (the archive is one organization's) nor a credential: no password hash, no token's hash,
no webhook's signing secret, no sealed GitHub token. A column the importing version does not know is ignored and
one it has that the archive lacks takes its default, so an archive of an older schema imports too; what a later
migration did to existing rows' values, its archive step does to the archive's (upgrades.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Table

from app.domain.accounts.models import User
from app.domain.integrations.models import GitHubConnection, GitHubIssue
from app.domain.organizations.models import Membership, Organization
from app.domain.projects.models import Project, ProjectKey, ProjectMember, ProjectPrefix
from app.domain.reports.models import (
    Attachment,
    Comment,
    ProjectColumn,
    ProjectCounter,
    Report,
    ReportChange,
    Screenshot,
)
from app.domain.tokens.models import ApiToken
from app.domain.webhooks.models import Webhook, WebhookDelivery
from app.lib.i18n import lazy_gettext as _lazy

# Raised when the archive's layout changes in a way an older Lantern could not read.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES = "files/"
ORGANIZATION = "organization"
PEOPLE = "people"
# Never in a row: the organization is the archive's own, the sentinel is the ORM's bookkeeping.
ALWAYS_WITHHELD = frozenset({"organization_id", "sa_orm_sentinel"})


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of record: its file (`<name>.jsonl`), its table, and the columns that stay on the instance."""

    name: str
    table: Table
    withheld: frozenset[str] = field(default=frozenset())

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    def columns(self) -> list[Any]:
        return [column for column in self.table.columns if column.name not in ALWAYS_WITHHELD | self.withheld]


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# In the order an import writes them: each after the rows it names.
TENANT_KINDS = (
    Kind("memberships", _table(Membership)),
    Kind("projects", _table(Project)),
    Kind("project_prefixes", _table(ProjectPrefix)),
    # Widget keys are public (every page of the site carries its key): kept, so the site's widget goes on working.
    Kind("project_keys", _table(ProjectKey)),
    Kind("project_members", _table(ProjectMember)),
    Kind("project_counters", _table(ProjectCounter)),
    Kind("project_columns", _table(ProjectColumn)),
    # Kept as the author of comments and history; the hash that made one a credential is not.
    Kind("api_tokens", _table(ApiToken), frozenset({"token_hash"})),
    # The search text and its bigrams are derived from title and description (made again by the import), and the
    # id of the transaction that stored a report is the source database's own.
    Kind("reports", _table(Report), frozenset({"search_text", "search_grams", "stored_xid"})),
    Kind("comments", _table(Comment)),
    Kind("history", _table(ReportChange)),
    Kind("screenshots", _table(Screenshot)),
    Kind("attachments", _table(Attachment)),
    Kind("webhooks", _table(Webhook), frozenset({"secret"})),
    Kind("webhook_deliveries", _table(WebhookDelivery)),
    # The token is sealed with the source instance's secret key: of no use elsewhere, and never sent in clear.
    Kind("github_connections", _table(GitHubConnection), frozenset({"token_sealed"})),
    Kind("github_issues", _table(GitHubIssue)),
)
ORGANIZATION_KIND = Kind(ORGANIZATION, _table(Organization))
# People by address and name, never their password (hash), login times or instance rights.
PEOPLE_COLUMNS = ("id", "email", "name", "locale", "timezone")
PEOPLE_KIND = Kind(
    PEOPLE,
    _table(User),
    frozenset(column.name for column in _table(User).columns if column.name not in PEOPLE_COLUMNS),
)
KINDS = (ORGANIZATION_KIND, PEOPLE_KIND, *TENANT_KINDS)
FILES_PROGRESS = "files"  # the stored files, told in the progress beside the kinds of record
# What the operators' commands call each kind in their progress lines ("people exportiert", "project_prefixes
# importiert" said the archive's file names, in English).
KIND_LABELS = {
    ORGANIZATION: _lazy("the organization"),
    PEOPLE: _lazy("people"),
    "memberships": _lazy("memberships"),
    "projects": _lazy("projects"),
    "project_prefixes": _lazy("tracking prefixes"),
    "project_keys": _lazy("widget keys"),
    "project_members": _lazy("project members and guests"),
    "project_counters": _lazy("tracking counters"),
    "project_columns": _lazy("columns"),
    "api_tokens": _lazy("API tokens"),
    "reports": _lazy("reports"),
    "comments": _lazy("comments"),
    "history": _lazy("history entries"),
    "screenshots": _lazy("screenshots"),
    "attachments": _lazy("attachments"),
    "webhooks": _lazy("webhooks"),
    "webhook_deliveries": _lazy("webhook deliveries"),
    "github_connections": _lazy("GitHub connections"),
    "github_issues": _lazy("GitHub issues"),
    FILES_PROGRESS: _lazy("files"),
}
# Where the stored files are named: (kind, column).
FILE_COLUMNS = (
    ("screenshots", "key"),
    ("screenshots", "thumbnail_key"),
    ("attachments", "key"),
    ("attachments", "thumbnail_key"),
)


def encoded(row: dict[str, Any]) -> dict[str, Any]:
    """A row's values as JSON holds them: ids and times as text, the rest as they are."""
    return {name: _encoded(value) for name, value in row.items()}


def _encoded(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def decoded(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """An archived row as the table takes it: the columns the archive may carry, ids and times parsed back."""
    values = {}
    for column in kind.columns():
        if column.name not in row:
            continue
        value = row[column.name]
        if value is not None and isinstance(column.type, GUID):
            value = UUID(value)
        elif value is not None and isinstance(column.type, DateTimeUTC):
            value = datetime.fromisoformat(value)
        values[column.name] = value
    return values


@dataclass(frozen=True, slots=True)
class Manifest:
    """What `manifest.json` says: the format and schema revision that wrote the archive, the organization, how
    many records of each kind and files it holds, and when it was made."""

    format_version: int
    revision: str
    organization: dict[str, Any]
    counts: dict[str, int]
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": self.format_version,
            "revision": self.revision,
            "organization": self.organization,
            "counts": self.counts,
            "createdAt": self.created_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            format_version=int(data["formatVersion"]),
            revision=str(data["revision"]),
            organization=dict(data["organization"]),
            counts={str(name): int(count) for name, count in data["counts"].items()},
            created_at=str(data["createdAt"]),
        )
