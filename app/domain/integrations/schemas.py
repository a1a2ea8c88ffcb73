"""Bodies of the GitHub integration: a project's connection, and a report's issue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib import outbound
from app.lib.errors import CheckedBy, ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.patterns import CALLED_URL_WITHOUT_USER, END, NOT_BLANK, REPOSITORY
from app.lib.schema import CamelStruct, documented_as

Repository = Annotated[str, msgspec.Meta(pattern=REPOSITORY)]


def check_api_url(url: str, field: str = "apiUrl") -> None:
    """A GitHub API address Lantern can call (empty: GitHub's own, as null is), or a refusal saying why
    (`outbound.url_problem`). It carries no user or password: the token signs every call, and one stored there
    would be shown to whoever reads the connection."""
    if not url:
        return
    problem = outbound.url_problem(url.rstrip("/"))
    if not problem and outbound.carries_credentials(url):
        problem = _("A GitHub API address carries no user name or password: the token signs in.")
    if problem:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field, problem)])


ApiUrl = Annotated[
    str,
    msgspec.Meta(max_length=2048),
    documented_as(pattern=rf"^(?:{CALLED_URL_WITHOUT_USER})?{END}"),
    CheckedBy(check_api_url),
]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class GitHubSetup(CamelStruct, forbid_unknown_fields=True):
    """Connect a project, or change its connection: the token may be left out to keep the stored one."""

    repository: Repository
    # Spaces alone are no token (they replaced the stored one); those pasted around one are dropped.
    token: Annotated[str, msgspec.Meta(max_length=500, pattern=NOT_BLANK)] | None = None
    api_url: ApiUrl | None = None
    labels: Annotated[list[Label], msgspec.Meta(max_length=10)] = []  # msgspec copies mutable defaults


class GitHubConnectionRead(CamelStruct):
    project_id: UUID
    repository: str
    api_url: str
    token_hint: str
    labels: list[str]
    created_at: datetime
    updated_at: datetime


class GitHubIssueRead(CamelStruct):
    report_id: UUID
    repository: str
    status: str
    number: int | None
    url: str | None
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime
