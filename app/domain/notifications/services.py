"""E-mail to the person a report is assigned to: when it is assigned to them, and when it is commented on while
it is theirs; never for what they did themselves.

A notice is recorded in the transaction of the change (an e-mail to send, app/domain/emails/). The worker writes
the mail in the recipient's language and sends it only if, by then, the report is still theirs, they are still in
the organization and they still want such mail (their profile turns it off). Without SMTP, nothing is sent (see
app/lib/mail.py).
"""

from __future__ import annotations

import enum
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.emails.models import EmailKind, OutgoingEmail
from app.domain.emails.services import new_email, queue_email
from app.domain.organizations.models import Organization
from app.domain.projects.models import Project
from app.domain.reports.audience import is_guest, sees_report
from app.domain.reports.models import Comment, Report, report_path
from app.domain.tokens.models import ApiToken
from app.lib.i18n import DEFAULT_LOCALE, use_locale
from app.lib.i18n import gettext as _
from app.lib.mail import Mail
from app.lib.web_addresses import public_address
from tenants.identity import CredentialKind, Identity


class NoticeKind(enum.StrEnum):
    ASSIGNED = "assigned"
    COMMENTED = "commented"


class Notice(msgspec.Struct, kw_only=True, frozen=True):
    """What the job is told: what happened to which report, for whom, done by whom."""

    kind: NoticeKind
    report_id: UUID
    recipient_id: UUID
    actor_id: UUID | None = None  # a person
    actor_token_id: UUID | None = None  # an integration's API token
    comment_id: UUID | None = None


def assignee_notice(
    report: Report, kind: NoticeKind, actor: Identity, comment_id: UUID | None = None
) -> OutgoingEmail | None:
    """The e-mail to the report's assignee of what `actor` did, to store with the change; none when the report has
    no assignee or the actor is the assignee."""
    recipient = report.assignee_id
    if recipient is None or recipient == actor.user_id:
        return None
    notice = Notice(
        kind=kind,
        report_id=report.id,
        recipient_id=recipient,
        actor_id=actor.user_id,
        actor_token_id=actor.credential_id if actor.kind is CredentialKind.TOKEN else None,
        comment_id=comment_id,
    )
    topic = f"notification:{kind}:{comment_id or report.id}:{recipient}"
    return new_email(EmailKind.NOTIFICATION, topic, msgspec.to_builtins(notice))


async def notify_assignee(
    session: AsyncSession, report: Report, kind: NoticeKind, actor: Identity, comment_id: UUID | None = None
) -> None:
    """Record the assignee's notice (`assignee_notice`) in `session`'s transaction, for the worker to mail once it
    commits."""
    if (email := assignee_notice(report, kind, actor, comment_id)) is not None:
        # One notice waiting per assignment or comment: assigning twice in a row mails once.
        await queue_email(session, email, once=True)


async def notification_mail(session: AsyncSession, notice: Notice) -> Mail | None:
    """The notice's mail, in the recipient's language; None when it is no longer theirs to hear."""
    heard = await _still_to_hear(session, notice)
    if heard is None:
        return None
    report, recipient, comment = heard
    organization = await session.get(Organization, report.organization_id)
    project = await session.get(Project, report.project_id)
    token = await session.get(ApiToken, notice.actor_token_id) if notice.actor_token_id else None
    actor = await session.get(User, notice.actor_id) if notice.actor_id else None
    to_guest = await is_guest(session, recipient.id)
    link = public_address(report_path(report))
    where = {"project": project.name if project else ""}
    with use_locale(recipient.locale or (organization.default_locale if organization else DEFAULT_LOCALE)):
        where["actor"] = _actor_name(actor, token, to_guest=to_guest)
        if comment is not None:
            subject = _("New comment: %(title)s", title=report.title)
            what = _("%(actor)s commented on a report assigned to you in %(project)s:", **where)
            body = f"{what}\n\n{comment.text}\n\n{report.title}\n{link}"
        else:
            subject = _("Assigned to you: %(title)s", title=report.title)
            what = _("%(actor)s assigned you a report in %(project)s:", **where)
            body = f"{what}\n\n{report.title}\n{link}"
        footer = _(
            "You get these e-mails for the reports assigned to you; your profile turns them off:\n%(profile)s",
            profile=public_address("/ui/profile"),
        )
    prefix = f"[{report.tracking_id}] " if report.tracking_id else ""
    return Mail(
        to=recipient.email,
        subject=f"{prefix}{subject}",
        body=f"{body}\n\n-- \n{footer}",
        unsubscribe=public_address("/ui/profile"),
    )


async def _still_to_hear(session: AsyncSession, notice: Notice) -> tuple[Report, User, Comment | None] | None:
    """The report, its recipient and the comment, if the report is still theirs, they still see it (a guest
    taken off its project does not) and still want such mail."""
    report = await session.get(Report, notice.report_id)
    recipient = await session.get(User, notice.recipient_id)
    if report is None or recipient is None or report.assignee_id != recipient.id or not recipient.email_notifications:
        return None
    comment = await session.get(Comment, notice.comment_id) if notice.comment_id else None
    if (notice.kind is NoticeKind.COMMENTED and comment is None) or not await sees_report(
        session, report, recipient.id
    ):
        return None
    if comment is not None and comment.internal and await is_guest(session, recipient.id):
        return None  # the team's note: a guest assignee reads no more of it by mail than on the page
    return report, recipient, comment


def _actor_name(actor: User | None, token: ApiToken | None, *, to_guest: bool) -> str:
    """Who did it, by name; a person without one by their address, except to a guest, who reads people's names
    and never their addresses."""
    if actor is not None:
        return actor.name or (_("A team member") if to_guest else actor.email)
    if token is not None:
        return _("API token “%(name)s”", name=token.name)
    return _("Someone")
