"""The organization archive's format: which kinds of record it holds, how their rows travel as JSON lines, and
the manifest that says what the archive holds and which Lantern wrote it.

A zip file: `manifest.json`, one `<kind>.jsonl` per kind of record (a row per line, its columns by name), and the
stored files (screenshots, thumbnails, attached files) under `files/`, by the key they had. Rows never carry
their `organization_id` (the archive is one organization's) nor a credential: no password hash, no token's hash,
no webhook's signing secret nor the password in its address, no sealed GitHub token. A column the importing
version does not know is ignored and one it has that the archive lacks takes its default, so an archive of an older
schema imports too; what a later migration did to existing rows' values, its archive step does to the archive's
(upgrades.py). Each value is checked as it is read against what its column takes (its type, length and range, null
or not, the values of its enum), the same on every database: SQLite stores what PostgreSQL refuses, and the app
then fails on it. A language or time zone is checked as the API checks one that a person or an organization sets,
and kept as the API keeps it (`de-AT` as `de`).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON, Boolean, Column, Integer, String, Table

from app.domain.accounts.models import User
from app.domain.integrations.models import GitHubConnection, GitHubIssue, IssueStatus
from app.domain.organizations.models import Membership, Organization, Role
from app.domain.projects.models import Project, ProjectKey, ProjectMember, ProjectPrefix
from app.domain.reports.models import (
    Attachment,
    AttachmentKind,
    Category,
    Comment,
    ImageStatus,
    Priority,
    ProjectColumn,
    ProjectCounter,
    Report,
    ReportChange,
    Screenshot,
    Severity,
    Source,
)
from app.domain.tokens.models import ApiToken
from app.domain.webhooks.models import DeliveryStatus, DisabledReason, Event, Webhook, WebhookDelivery
from app.lib.errors import LanternError
from app.lib.i18n import format_list, format_number
from app.lib.i18n import gettext as _
from app.lib.i18n import lazy_gettext as _lazy
from app.lib.outbound import password_removed
from app.lib.preferences import validated_locale, validated_timezone

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
    """A kind of record: its file (`<name>.jsonl`), its table, the columns that stay on the instance, the columns
    whose values are an enum's (the app reads them as its members: any other value fails every request that reads
    the row), the integer columns whose values start above 0, the columns whose values travel without the
    credential they may hold (how it is taken out), and the columns the API checks the values of beyond their type
    (the check it makes: the value as the API keeps it, or `LanternError`)."""

    name: str
    table: Table
    withheld: frozenset[str] = field(default=frozenset())
    enums: Mapping[str, type[enum.StrEnum]] = field(default_factory=dict)
    least: Mapping[str, int] = field(default_factory=dict)
    credentials: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    checked: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    def columns(self) -> list[Any]:
        return [column for column in self.table.columns if column.name not in ALWAYS_WITHHELD | self.withheld]

    def without_credentials(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row with the credentials its values hold taken out: as it is written, and as it is read (an archive
        written before they were taken out holds them)."""
        for name, taken_out in self.credentials.items():
            if isinstance(row.get(name), str):
                row[name] = taken_out(row[name])
        return row


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# In the order an import writes them: each after the rows it names.
TENANT_KINDS = (
    Kind("memberships", _table(Membership), enums={"role": Role}),
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
    Kind(
        "reports",
        _table(Report),
        frozenset({"search_text", "search_grams", "stored_xid"}),
        {"severity": Severity, "priority": Priority, "category": Category, "source": Source},
        {"number": 1},  # tracking IDs count from 1
    ),
    Kind("comments", _table(Comment)),
    Kind("history", _table(ReportChange)),
    Kind("screenshots", _table(Screenshot), enums={"status": ImageStatus}),
    Kind("attachments", _table(Attachment), enums={"status": ImageStatus, "kind": AttachmentKind}),
    # The password of an address's HTTP Basic authorization (`https://user:secret@host/hook`) is a credential too.
    Kind(
        "webhooks",
        _table(Webhook),
        frozenset({"secret"}),
        {"disabled_reason": DisabledReason},
        credentials={"url": password_removed},
    ),
    Kind("webhook_deliveries", _table(WebhookDelivery), enums={"status": DeliveryStatus, "event": Event}),
    # The token is sealed with the source instance's secret key: of no use elsewhere, and never sent in clear.
    Kind("github_connections", _table(GitHubConnection), frozenset({"token_sealed"})),
    Kind("github_issues", _table(GitHubIssue), enums={"status": IssueStatus}),
)
# A language or time zone the app does not know fails every page and e-mail that its people read.
ORGANIZATION_KIND = Kind(
    ORGANIZATION,
    _table(Organization),
    checked={"default_locale": validated_locale, "timezone": validated_timezone},
)
# People by address and name, never their password (hash), login times or instance rights.
PEOPLE_COLUMNS = ("id", "email", "name", "locale", "timezone")
PEOPLE_KIND = Kind(
    PEOPLE,
    _table(User),
    frozenset(column.name for column in _table(User).columns if column.name not in PEOPLE_COLUMNS),
    checked={"locale": validated_locale, "timezone": validated_timezone},
)
KINDS = (ORGANIZATION_KIND, PEOPLE_KIND, *TENANT_KINDS)
FILES_PROGRESS = "files"  # the stored files, told in the progress beside the kinds of record
# The manifest's count of the files its records name that the source's storage did not have (not in the archive).
MISSING_FILES = "missing_files"
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


class InvalidValueError(ValueError):
    """A row's value that its column does not take: the column's name, and why (in the reader's language)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def decoded(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """An archived row as the table takes it: the columns the archive may carry, each value checked against its
    column (`InvalidValueError`), ids and times parsed back. A column the row lacks takes its default, and one
    without a default must be there."""
    values = {}
    missing = []
    for column in kind.columns():
        if column.name in row:
            value = value_check(column)(kind, column, row[column.name])
            if value is None and not column.nullable:
                raise InvalidValueError(column.name, _("no value, where one is required"))
            if value is not None and column.name in kind.enums:
                _check_enum(column.name, value, kind.enums[column.name])
            if value is not None and column.name in kind.checked:
                value = _checked(column.name, value, kind.checked[column.name])
            values[column.name] = value
        elif not (column.nullable or column.default is not None or column.server_default is not None):
            missing.append(column.name)
    if missing:  # told after the values there, which say more of what is wrong with the row
        raise InvalidValueError(missing[0], _("no value, where one is required"))
    return kind.without_credentials(values)


# Lantern's integer columns hold counts, sizes, numbers and positions: none below 0, and none past an INTEGER's
# range (32 bits on PostgreSQL; SQLite would take more, which no other database would then take back).
_LEAST_INTEGER, _MOST_INTEGER = 0, 2**31 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SHOWN_CHARACTERS = 40  # of a refused value, in the refusal (a title of 100,000 characters is not told whole)
ValueCheck = Callable[[Kind, Any, Any], Any]


def value_check(column: Any) -> ValueCheck:
    """The check of the column's values by its type: it returns a value as the table takes it, or raises
    `InvalidValueError`. Every type an archived column has has one (tests/unit/test_archive_values.py)."""
    for column_type, check in _VALUE_CHECKS:
        if isinstance(column.type, column_type):
            return check
    raise LookupError(column.type)


def _uuid(_kind: Kind, column: Column[Any], value: Any) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(_of_type(column, value, str, "UUID"))
    except ValueError:
        raise _wrong_type(column, value, "UUID") from None


def _moment(_kind: Kind, column: Column[Any], value: Any) -> datetime | None:
    name = "TIMESTAMP WITH TIME ZONE"
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(_of_type(column, value, str, name))
    except ValueError:
        raise _wrong_type(column, value, name) from None
    if moment.tzinfo is None:  # a time without its offset is no moment (DateTimeUTC refuses it)
        raise _wrong_type(column, value, name)
    return moment


def _boolean(_kind: Kind, column: Column[Any], value: Any) -> bool | None:
    return None if value is None else _of_type(column, value, bool, "BOOLEAN")


def _integer(kind: Kind, column: Column[Any], value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):  # JSON's true is no number, though Python's is an int
        raise _wrong_type(column, value, "INTEGER")
    number: int = _of_type(column, value, int, "INTEGER")
    least, most = kind.least.get(column.name, _LEAST_INTEGER), _MOST_INTEGER
    if not least <= number <= most:
        reason = _(
            "%(value)s is out of range (%(minimum)s to %(maximum)s)",
            value=number,
            minimum=format_number(least),
            maximum=format_number(most),
        )
        raise InvalidValueError(column.name, reason)
    return number


def _text(_kind: Kind, column: Column[Any], value: Any) -> str | None:
    if value is None:
        return None
    length = column.type.length if isinstance(column.type, String) else None
    text: str = _of_type(column, value, str, f"VARCHAR({length})" if length else "TEXT")
    _check_characters(column.name, text)
    if length is not None and len(text) > length:
        raise InvalidValueError(column.name, _("longer than %(length)s characters", length=format_number(length)))
    return text


def _json(_kind: Kind, column: Column[Any], value: Any) -> Any:
    """Any JSON, but for text no database stores, anywhere in it (jsonb refuses NUL even escaped)."""
    pending = [value]
    while pending:  # not recursive: JSON nests as deep as its parser goes
        item = pending.pop()
        if isinstance(item, str):
            _check_characters(column.name, item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


# In order: a subclass before its base (TEXT is a VARCHAR without length).
_VALUE_CHECKS: tuple[tuple[type[Any], ValueCheck], ...] = (
    (GUID, _uuid),
    (DateTimeUTC, _moment),
    (Boolean, _boolean),
    (Integer, _integer),
    (String, _text),
    (JSON, _json),
)


def _of_type(column: Column[Any], value: Any, kind: type[Any], name: str) -> Any:
    if not isinstance(value, kind):
        raise _wrong_type(column, value, name)
    return value


def _wrong_type(column: Column[Any], value: Any, name: str) -> InvalidValueError:
    return InvalidValueError(column.name, _("%(value)s is not a value of type %(type)s", value=shown(value), type=name))


def _check_characters(column: str, text: str) -> None:
    """Text every database stores: no NUL (PostgreSQL refuses it in text and in jsonb; SQLite takes it), nor half
    of a surrogate pair (no UTF-8 encodes it)."""
    if _UNSTORABLE.search(text):
        reason = _("text with a character no database stores (NUL, or half of a surrogate pair)")
        raise InvalidValueError(column, reason)


def _check_enum(column: str, value: Any, members: type[enum.StrEnum]) -> None:
    allowed = [member.value for member in members]
    if value not in allowed:
        reason = _("%(value)s is not one of %(values)s", value=shown(value), values=format_list(allowed, "or"))
        raise InvalidValueError(column, reason)


def _checked(column: str, value: str, check: Callable[[str], str | None]) -> str | None:
    """The value as the API keeps it, or refused with the API's reason."""
    try:
        return check(value)
    except LanternError as error:
        reason = "; ".join(detail.message for detail in error.details)
        raise InvalidValueError(column, _("%(value)s: %(reason)s", value=shown(value), reason=reason)) from None


def shown(value: Any) -> str:
    """A value as a refusal tells it: as JSON, its first characters only."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARACTERS else f"{text[:_SHOWN_CHARACTERS]}…"


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
