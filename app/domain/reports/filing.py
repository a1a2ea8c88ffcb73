"""Reports the team files themselves: what a customer said on the phone, an integration's new task (BugHerd's
"add a new task"). Checked as a triage change is, then stored, numbered and announced as any other report
(`accept`), with who filed it as the first entry of its history."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.domain.accounts.models import User
from app.domain.accounts.services import normalize_email
from app.domain.notifications.services import NoticeKind, assignee_notice
from app.domain.organizations.models import Membership, Role
from app.domain.projects.models import Project
from app.domain.reports.audience import reporter_address, who_would_see
from app.domain.reports.ingest import Accepted, accept
from app.domain.reports.models import Report, ReportChange, Source
from app.domain.reports.schemas import (
    TITLE_MAX_LENGTH,
    TITLE_MIN_LENGTH,
    ReportFiling,
    first_line,
    untitled_refusal,
)
from app.domain.reports.services import ColumnService, authorship, filed_fields, into_column, trimmed_title
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from tenants.identity import Identity

ELLIPSIS = "…"
# A guest's report is theirs, and triage is the team's: the fields a guest filing one cannot send.
TEAM_FIELDS = {
    "status": "status",
    "assignee_id": "assigneeId",
    "assignee_email": "assigneeEmail",
    "tags": "tags",
    "external_id": "externalId",
    "reporter_id": "reporterId",
    "reporter_name": "reporterName",
    "reporter_email": "reporterEmail",
}


async def file_report(
    session: AsyncSession, project: Project, filing: ReportFiling, filer: Identity, columns: ColumnService
) -> Accepted:
    """Store the report `filer` (a person, or an organization token) files in `project`, which they see; the
    answer carries its tracking ID when the worker gave it within the bounded wait. Its assignee hears of it."""
    if filer.role is Role.GUEST:
        _refuse_team_fields(filing)
    status, status_id = await columns.resolve_status(project.id, filing.status)
    report = Report(
        id=uuid7(),  # its history's first entry names it before it is stored
        project_id=project.id,
        title=title_of(filing),
        description=filing.description,
        severity=filing.severity.value,
        priority=filing.priority.value,
        category=filing.category.value,
        source=Source.TEAM.value,
        page_url=filing.page_url,
        tags=filing.tags,
        external_id=filing.external_id,
    )
    into_column(report, status, status_id)
    report.reporter_name, address = await _reporter(session, filing, filer)
    report.reporter_email = reporter_address(address)
    report.assignee_id = await _assignee(session, report, filing)
    filed = ReportChange(report_id=report.id, changes=filed_fields(report), **authorship(filer))
    # The checks only read: their transaction ends here, giving back its connection, which the group commit's
    # writer may be waiting for (SQLite's pool has one).
    await session.commit()
    # Its assignee's notice is stored with it, as any change's is with the change.
    notice = assignee_notice(report, NoticeKind.ASSIGNED, filer)
    accepted = await accept(report, history=[filed], mails=[] if notice is None else [notice])
    report.tracking_id = accepted.tracking_id
    return accepted


def title_of(filing: ReportFiling) -> str:
    """The title sent, or else the description's first line, cut at a word to a title's length (BugHerd's tasks
    have no title)."""
    if filing.title is not None:
        return trimmed_title(filing.title)
    if (refusal := untitled_refusal(filing.description)) is not None:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[refusal])
    return shortened(first_line(filing.description))


def shortened(line: str) -> str:
    """`line` within a title's length: cut after its last whole word that fits, with an ellipsis (a line of no
    spaces, as Chinese or Japanese is written, is cut where it must)."""
    if len(line) <= TITLE_MAX_LENGTH:
        return line
    room = TITLE_MAX_LENGTH - len(ELLIPSIS)
    cut = line[:room]
    if not line[room].isspace():
        words = cut.rsplit(maxsplit=1)
        if len(words) == 2 and len(words[0]) >= TITLE_MIN_LENGTH:  # noqa: PLR2004 - the head and its last word
            cut = words[0]
    return cut.rstrip() + ELLIPSIS


def _refuse_team_fields(filing: ReportFiling) -> None:
    sent = [name for field, name in TEAM_FIELDS.items() if getattr(filing, field) not in (None, [])]
    if sent:
        message = _("A guest's report is filed as theirs; the team triages it.")
        raise LanternError(ErrorCode.FORBIDDEN, message, details=[FieldError(name, message) for name in sent])


async def _reporter(session: AsyncSession, filing: ReportFiling, filer: Identity) -> tuple[str | None, str | None]:
    """(name, address) of who reported it: a guest themselves (they see their own reports), one of the
    organization's people named by id, or the name and address sent, if any."""
    if filer.role is Role.GUEST:
        return None, filer.user_email
    if filing.reporter_id is None:
        return filing.reporter_name or None, filing.reporter_email or None
    person = (
        await session.execute(
            select(User.name, User.email)
            .join(Membership, Membership.user_id == User.id)
            # An invitee's name is theirs to give when they accept.
            .where(User.id == filing.reporter_id, Membership.invitation_pending.is_(False))
        )
    ).first()
    if person is None:
        message = _("No one in this organization has this ID.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("reporterId", message)])
    return filing.reporter_name or person.name or None, person.email


async def _assignee(session: AsyncSession, report: Report, filing: ReportFiling) -> UUID | None:
    """The person the report is filed for, by id or address, who must see it once stored."""
    who: ColumnElement[bool]
    if filing.assignee_id is not None:
        who, field = User.id == filing.assignee_id, "assigneeId"
        message = _("No one who can see this report has this ID.")
    elif filing.assignee_email is not None:
        who, field = User.email == normalize_email(filing.assignee_email), "assigneeEmail"
        message = _("No one who can see this report has this e-mail address.")
    else:
        return None
    assignee = await who_would_see(session, report, who)
    if assignee is None:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field, message)])
    return assignee
