"""Reports as the API shows them: with their screenshots (and the URLs to fetch them) and their GitHub issue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.services import normalize_email
from app.domain.integrations.models import GitHubIssue
from app.domain.organizations.models import Role
from app.domain.reports.models import (
    Category,
    Comment,
    ImageStatus,
    Priority,
    Report,
    ReportChange,
    Screenshot,
    Severity,
    Source,
)
from app.domain.reports.queries import BULKY_FIELDS
from app.domain.reports.schemas import (
    CommentRead,
    IssueLink,
    ReportChangeRead,
    ReportCreated,
    ReportRead,
    ScreenshotRead,
)
from app.domain.reports.screenshots import refusal_message, refusal_of
from app.lib.web_addresses import public_address
from tenants.identity import Identity


def screenshot_read(screenshot: Screenshot, *, whole: bool = True) -> ScreenshotRead:
    """A screenshot with the addresses of its image and thumbnail: whole, under LANTERN_PUBLIC_URL, for API clients
    and webhook receivers to follow as given; paths (not `whole`) for the admin UI's pages, whatever host serves
    them."""
    path = f"/api/v1/reports/{screenshot.report_id}/screenshots/{screenshot.id}"
    base = public_address(path) if whole else path
    refusal = refusal_of(screenshot.error) if screenshot.error else None
    return ScreenshotRead(
        id=screenshot.id,
        status=ImageStatus(screenshot.status),
        annotated=screenshot.annotated,
        width=screenshot.width,
        height=screenshot.height,
        url=None if screenshot.status == ImageStatus.FAILED else base,  # a refused upload is not kept
        thumbnail_url=f"{base}/thumbnail" if screenshot.thumbnail_key else None,
        error=refusal_message(refusal) if refusal else None,
        error_code=refusal.value if refusal else None,
    )


async def screenshots_of(session: AsyncSession, report_ids: Sequence[UUID]) -> dict[UUID, list[Screenshot]]:
    grouped: dict[UUID, list[Screenshot]] = defaultdict(list)
    if not report_ids:
        return grouped
    rows = await session.scalars(
        select(Screenshot).where(Screenshot.report_id.in_(report_ids)).order_by(Screenshot.created_at),
    )
    for screenshot in rows:
        if screenshot.report_id is not None:
            grouped[screenshot.report_id].append(screenshot)
    return grouped


def sees_github_issues(identity: Identity) -> bool:
    """A report's GitHub issue is the team's: guests do not see it (nor `GET /reports/{id}/github-issue`)."""
    return identity.role is not Role.GUEST


def sees_reporters_address(reader: Identity | None, report: Report) -> bool:
    """Guests read people's names, never their addresses: a report's reporter's address (and BugSpark's
    identifier, often one) only on the reports they sent themselves. The team reads it, and so does the
    organization itself (`reader` None: its webhooks)."""
    if reader is None or reader.role is not Role.GUEST:
        return True
    return bool(reader.user_email) and normalize_email(report.reporter_email or "") == normalize_email(
        reader.user_email or ""
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """What a read shows of each report: all of it, unless a sparse fieldset leaves parts out."""

    screenshots: bool = True
    github_issue: bool = True
    # The bulky fields (`BULKY_FIELDS`) not shown: a list's query leaves them unread, and they read as empty.
    unread: frozenset[str] = frozenset()

    @classmethod
    def of(cls, fieldset: frozenset[str] | None) -> Shown:
        if fieldset is None:
            return cls()
        return cls(
            screenshots="screenshots" in fieldset,
            github_issue="githubIssue" in fieldset,
            unread=frozenset(BULKY_FIELDS) - fieldset,
        )


async def report_reads(
    session: AsyncSession, reports: Sequence[Report], reader: Identity | None, shown: Shown = Shown()
) -> list[ReportRead]:
    """The reports as `reader` reads them (None: the organization itself, its webhooks), in order, with their
    screenshots and, to the team, their GitHub issue: at most two queries for any number of reports. What is not
    `shown` is left out: no screenshot, no issue and no query for either; the bulky fields left unread, empty."""
    ids = [report.id for report in reports]
    shots = await screenshots_of(session, ids) if shown.screenshots else {}
    issues: dict[UUID, GitHubIssue] = {}
    if ids and shown.github_issue and (reader is None or sees_github_issues(reader)):
        found = await session.scalars(select(GitHubIssue).where(GitHubIssue.report_id.in_(ids)))
        issues = {issue.report_id: issue for issue in found}
    return [
        report_read(
            report,
            shots.get(report.id, []),
            issues.get(report.id),
            reporter_contact=sees_reporters_address(reader, report),
            unread=shown.unread,
        )
        for report in reports
    ]


# A bulky field left unread (`BULKY_FIELDS`) reads as empty.
_UNREAD: dict[str, Callable[[], Any]] = {
    "description": str,
    "metadata": dict,
    "consoleLogs": list,
    "networkLogs": list,
    "userActions": list,
    "annotations": lambda: None,
}


def report_read(
    report: Report,
    screenshots: Sequence[Screenshot],
    issue: GitHubIssue | None,
    *,
    reporter_contact: bool,
    unread: Collection[str] = (),
) -> ReportRead:
    """A report as read; without its reporter's address (`reporter_contact`: see `sees_reporters_address`), and
    with the bulky fields its query left `unread` empty."""
    bulky = {
        name: _UNREAD[name]() if name in unread else getattr(report, column.key)
        for name, column in BULKY_FIELDS.items()
    }
    return ReportRead(
        id=report.id,
        project_id=report.project_id,
        tracking_id=report.tracking_id,
        title=report.title,
        description=bulky["description"],
        status=report.status,
        status_id=report.status_id,
        closed_at=report.closed_at,
        severity=Severity(report.severity),
        priority=Priority(report.priority),
        category=Category(report.category),
        source=Source(report.source),
        reporter_name=report.reporter_name,
        reporter_email=report.reporter_email if reporter_contact else None,
        reporter_identifier=report.reporter_identifier if reporter_contact else None,
        page_url=report.page_url,
        metadata=bulky["metadata"],
        console_logs=bulky["consoleLogs"],
        network_logs=bulky["networkLogs"],
        user_actions=bulky["userActions"],
        annotations=bulky["annotations"],
        tags=report.tags,
        assignee_id=report.assignee_id,
        external_id=report.external_id,
        screenshots=[screenshot_read(s) for s in screenshots],
        github_issue=IssueLink(status=issue.status, number=issue.number, url=issue.url) if issue else None,
        created_at=report.created_at,
        updated_at=report.updated_at,
    )


def report_created(report: Report, tracking_id: str | None) -> ReportCreated:
    return ReportCreated(
        id=report.id,
        project_id=report.project_id,
        tracking_id=tracking_id or report.tracking_id,
        title=report.title,
        severity=Severity(report.severity),
        category=Category(report.category),
        status=report.status,
        created_at=report.created_at,
        updated_at=report.updated_at,
    )


def report_change_read(change: ReportChange) -> ReportChangeRead:
    return ReportChangeRead(
        id=change.id,
        report_id=change.report_id,
        author_id=change.author_id,
        author_token_id=change.author_token_id,
        changes=change.changes,
        created_at=change.created_at,
    )


def comment_read(comment: Comment) -> CommentRead:
    return CommentRead(
        id=comment.id,
        report_id=comment.report_id,
        author_id=comment.author_id,
        author_token_id=comment.author_token_id,
        text=comment.text,
        created_at=comment.created_at,
        internal=comment.internal,
    )
