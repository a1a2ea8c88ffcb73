"""Organization settings and membership rules: who can join, with which role, and who can change it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.domain.accounts.models import User
from app.domain.accounts.services import UserService, normalize_domain, normalize_email
from app.domain.emails.models import EmailKind, OutgoingEmail
from app.domain.emails.services import INVITATION_MAIL, record_email
from app.domain.organizations.labels import ROLE_LABELS
from app.domain.organizations.models import Invitation, Membership, Organization, Role
from app.domain.organizations.schemas import MemberInvite, OrganizationUpdate, SecuritySettings
from app.domain.projects.models import Project, ProjectMember
from app.domain.reports.services import MovedReports, ReportService
from app.domain.transfer.services import OrganizationExports
from app.lib.conditional import Precondition
from app.lib.errors import ErrorCode, FieldError, LanternError, not_found
from app.lib.i18n import gettext as _
from app.lib.i18n import use_locale
from app.lib.mail import Mail, mail_configured
from app.lib.paging import Paged, Window, page_of
from app.lib.preferences import validated_locale, validated_timezone
from app.lib.security import INVITATION_PREFIX, digest, link_secret
from app.lib.web_addresses import public_address
from tenants.context import require_tenant, user_scope
from tenants.db import scoped
from tenants.identity import CredentialKind, Identity
from tenants.service import TenantRepository, TenantService

logger = structlog.get_logger()

INVITATION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Invited:
    membership_id: UUID
    id: UUID


class OrganizationService:
    """The organization in context; another tenant's organization is never reachable from here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.organization_id = require_tenant()

    async def current(self) -> Organization:
        organization = await self.session.get(Organization, self.organization_id)
        if organization is None:
            raise not_found()
        return organization

    async def update(
        self, changes: OrganizationUpdate, precondition: Precondition[Organization] | None = None
    ) -> Organization:
        """The organization with `changes` made, held first (the lock its UPDATE takes, which changes to what it
        holds pass) and read afresh: `precondition` (a request's `If-Match`) is awaited then."""
        organization = await self._held(deleting=False)
        if precondition is not None:
            await precondition(organization)
        if changes.name is not msgspec.UNSET:
            organization.name = changes.name
        if changes.default_locale is not msgspec.UNSET:
            organization.default_locale = validated_locale(changes.default_locale, "defaultLocale") or "en"
        if changes.timezone is not msgspec.UNSET:
            organization.timezone = validated_timezone(changes.timezone) or "UTC"
        if changes.security is not msgspec.UNSET:
            domains = dict.fromkeys(normalize_domain(domain) for domain in changes.security.allowed_email_domains)
            organization.security = msgspec.to_builtins(SecuritySettings(allowed_email_domains=list(domains)))
        await self.session.flush()
        return organization

    async def _held(self, *, deleting: bool) -> Organization:
        """The organization, held until the transaction ends and read afresh: FOR NO KEY UPDATE for a change (what
        its UPDATE takes: the rows that name it are still added and changed), FOR UPDATE for its deletion."""
        organization = await self.session.scalar(
            select(Organization)
            .where(Organization.id == self.organization_id)
            .with_for_update(key_share=not deleting)
            .execution_options(populate_existing=True)
        )
        if organization is None:
            raise not_found()
        return organization

    async def security(self) -> SecuritySettings:
        return msgspec.convert((await self.current()).security, SecuritySettings)

    async def delete(self, confirmation: str, precondition: Precondition[Organization] | None = None) -> list[UUID]:
        """Delete the organization with everything it holds (the database cascades to every tenant row: people's
        memberships, projects, reports, tokens, webhooks); returns its projects, whose files are the caller's to
        have deleted. `confirmation` is its name as typed: no request deletes it by a slip. `precondition` (a
        request's `If-Match`), when given, is awaited with the organization held (see `erase`)."""
        organization = await self.current()
        if confirmation.strip() != organization.name.strip():  # a name saved with spaces around it too
            message = _("Type the organization's name exactly as it is written to delete it.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, message, details=[FieldError("confirm", message)])
        return await self.erase(precondition)

    async def erase(self, precondition: Precondition[Organization] | None = None) -> list[UUID]:
        """`delete` once confirmed (by the name typed, or by the password of the last person in it, who deletes
        their account). Its export archive is deleted with it; its projects' files are the caller's.

        `precondition` is awaited with the organization's row held as its DELETE holds it, and where: after the
        export's row, as a new export holds that row, then names the organization (`OrganizationExports.start`).
        Held for it alone, as the DELETE holds the row without a query of its own."""
        organization = await self.current()
        await OrganizationExports(session=self.session).forget_latest()
        if precondition is not None:
            await precondition(await self._held(deleting=True))
        projects = await self.session.scalars(select(Project.id).where(Project.organization_id == organization.id))
        project_ids = list(projects)
        people = list(
            await self.session.scalars(select(Membership.user_id).where(Membership.organization_id == organization.id))
        )
        await self.session.execute(delete(Organization).where(Organization.id == organization.id))
        for person in people:
            await delete_account_if_in_no_organization(self.session, person)
        return project_ids


async def delete_account_if_in_no_organization(session: AsyncSession, person: UUID) -> None:
    """An account left in no organization (its last one deleted, or its person removed from it) could neither log
    in nor sign up again with its address: it goes, as its person deleting it would (its sessions end; its comments
    and history stay, with no author). An operator of the instance keeps theirs: it is the instance's, not an
    organization's. Each person's own memberships are what their user scope reads, in every organization."""
    async with scoped(session, user_scope(person)):
        if await session.scalar(select(Membership.id).where(Membership.user_id == person).limit(1)):
            return
        await session.execute(delete(User).where(User.id == person, User.is_superuser.is_(False)))


class MembershipService(TenantService[Membership]):
    class Repo(TenantRepository[Membership]):
        model_type = Membership

    repository_type = Repo

    async def members(self) -> list[tuple[Membership, User]]:
        """Members and guests with their accounts, those whose invitation is still pending among them."""
        rows = await self.session.execute(
            select(Membership, User).join(User, User.id == Membership.user_id).order_by(Membership.created_at),
        )
        return [(membership, user) for membership, user in rows.all()]

    async def member_page(self, role: Role | None, window: Window) -> Paged[tuple[Membership, User]]:
        """A page of the members and guests (of one `role`, if given), first joined first."""
        statement = select(Membership, User).join(User, User.id == Membership.user_id)
        if role is not None:
            statement = statement.where(Membership.role == role.value)
        statement = statement.order_by(Membership.created_at, Membership.id)
        return await page_of(self.session, statement, window, scalars=False)

    async def member(self, membership_id: UUID) -> tuple[Membership, User]:
        """One member or guest with their account, read alone; another organization's is not found (the tenant
        scope holds the statement to this organization's memberships)."""
        statement = select(Membership, User).join(User, User.id == Membership.user_id)
        row = (await self.session.execute(statement.where(Membership.id == membership_id))).one_or_none()
        if row is None:
            raise not_found()
        membership, user = row
        return membership, user

    async def of_person(self, person_id: UUID) -> Membership | None:
        """The membership of the person `person_id` names (see `Membership.person_id`)."""
        return await self.get_one_or_none(Membership.person_id == person_id)

    async def invite(self, actor: Identity, invite: MemberInvite, security: SecuritySettings) -> tuple[Invited, str]:
        """Invite a person by e-mail: their membership counts once they accept the invitation (its token is
        shown once, and mailed to them). Whether the address already has an account is not told."""
        _check_can_grant(actor, invite.role)
        email = normalize_email(invite.email)
        # Domains stored before they were kept normalised compare as they are now kept.
        allowed = {normalize_domain(domain) for domain in security.allowed_email_domains}
        if allowed and email.rsplit("@", 1)[1] not in allowed:
            raise LanternError(
                ErrorCode.VALIDATION_ERROR,
                details=[FieldError("email", _("This organization only accepts members from its allowed domains."))],
            )
        users = UserService(session=self.session)
        user = await users.by_email(email)
        opens_account = user is None
        if user is None:
            user = await users.create(User(email=email, name=invite.name or ""))
        elif (existing := await self.repository.get_one_or_none(user_id=user.id)) is not None:
            message = (
                _("This person is already invited and has not accepted yet.")
                if existing.invitation_pending
                else _("This person is already a member of the organization.")
            )
            raise LanternError(ErrorCode.CONFLICT, message, details=[FieldError("email", message)])
        membership = await self.create(Membership(user_id=user.id, role=invite.role.value, invitation_pending=True))
        return await self._invitation(actor, membership, opens_account=opens_account)

    async def invite_again(self, actor: Identity, membership_id: UUID) -> tuple[Invited, str]:
        """A new invitation, with a new link and a new week, for someone who has not accepted theirs: its link
        was shown once (the only way to pass it on without a mail server), and the address could not be
        invited again while its invitation waited. The earlier link stops working; the new one is mailed."""
        membership = await self.held(Membership.id == membership_id)
        _check_can_grant(actor, Role(membership.role))
        if not membership.invitation_pending:
            message = _("This person has accepted their invitation: they are a member of the organization.")
            raise LanternError(ErrorCode.CONFLICT, message)
        earlier = await self.session.scalars(select(Invitation).where(Invitation.user_id == membership.user_id))
        opens_account = any(invitation.opens_account for invitation in earlier)
        await self.session.execute(delete(Invitation).where(Invitation.user_id == membership.user_id))
        return await self._invitation(actor, membership, opens_account=opens_account)

    async def _invitation(self, actor: Identity, membership: Membership, *, opens_account: bool) -> tuple[Invited, str]:
        """The invitation to `membership`, its e-mail queued: its token is shown once, and kept nowhere."""
        invitation_id = uuid7()
        token = invitation_token(invitation_id)
        invitation = Invitation(
            id=invitation_id,
            user_id=membership.user_id,
            token_hash=digest(token),
            invited_by_id=actor.user_id,
            expires_at=datetime.now(UTC) + INVITATION_LIFETIME,
            opens_account=opens_account,
        )
        self.session.add(invitation)
        INVITATION_MAIL.queue(self.session, await record_invitation_mail(self.session, invitation_id))
        return Invited(membership.id, invitation.id), token

    async def change_role(
        self, actor: Identity, membership_id: UUID, role: Role, precondition: Precondition[Membership] | None = None
    ) -> dict[UUID, MovedReports]:
        """Another role; a member made a guest is unassigned the reports they see no more, which are returned
        by project (webhooks hear of each). `precondition` (a request's `If-Match`) is awaited with the membership
        held, once the actor may change it."""
        membership = await self.held(Membership.id == membership_id)
        _check_can_grant(actor, role)
        _check_can_grant(actor, Role(membership.role))
        if precondition is not None:
            await precondition(membership)
        if role != Role.OWNER:
            await self._keep_an_owner(membership)
        membership.role = role.value
        await self.session.flush()
        return await ReportService(session=self.session).unassign_unseen(membership.user_id, actor)

    async def remove(
        self, actor: Identity, membership_id: UUID, precondition: Precondition[Membership] | None = None
    ) -> dict[UUID, MovedReports]:
        """Someone out of the organization, with their place in its projects and their invitation; their
        reports go back to nobody, which is returned by project (webhooks hear of each). Their account goes too
        when this was their only organization (see `delete_account_if_in_no_organization`). `precondition` is
        awaited as `change_role` awaits it."""
        membership = await self.held(Membership.id == membership_id)
        _check_can_grant(actor, Role(membership.role))
        if precondition is not None:
            await precondition(membership)
        unassigned = await self._take_out(actor, membership)
        await delete_account_if_in_no_organization(self.session, membership.user_id)
        return unassigned

    async def leave(self, person: Identity) -> dict[UUID, MovedReports]:
        """The person acting out of the organization in context, as `remove` takes someone out (its last owner
        stays); their reports go back to nobody, returned by project (webhooks hear of each). Someone out of it
        already (it was deleted, or they were removed, meanwhile) has nothing left to do."""
        membership = await self.held_if_any(Membership.user_id == person.user_id)
        return {} if membership is None else await self._take_out(person, membership)

    async def sole_member(self, user_id: UUID) -> bool:
        """Whether no one but this person has accepted a membership (invitations still pending do not count)."""
        others = Membership.user_id != user_id, Membership.invitation_pending.is_(False)
        return await self.count(*others) == 0

    async def held_alone(self, user_id: UUID) -> bool:
        """Whether this person is the organization's only owner while others are in it: it would be left with
        no owner, and they with no one to manage it."""
        owners = await self.count(Membership.role == Role.OWNER.value, Membership.invitation_pending.is_(False))
        mine = await self.get_one_or_none(user_id=user_id, role=Role.OWNER.value, invitation_pending=False)
        return mine is not None and owners == 1 and not await self.sole_member(user_id)

    async def held(self, which: ColumnElement[bool]) -> Membership:
        """A membership locked until the transaction ends (FOR UPDATE), before a change that unassigns what its
        person no longer sees: an assignment to them holds it (FOR SHARE) while it checks they see the report,
        so it waits for the change, or the change waits for it and finds the report theirs."""
        membership = await self.held_if_any(which)
        if membership is None:
            raise not_found()
        return membership

    async def held_if_any(self, which: ColumnElement[bool]) -> Membership | None:
        """`held`, or None where there is no such membership (any more).

        The organization's row is held first (FOR NO KEY UPDATE, which reports and other rows naming it still
        pass), as its deletion holds it before the memberships it deletes: a change held the membership first,
        then waited for the organization's row (or for rows the deletion had deleted), while the deletion waited
        for the membership, and PostgreSQL failed one of them. Now the second waits for the first, and a change
        that comes after the deletion finds no membership. Changes to memberships take turns on the row too:
        owners leaving the role at once each count those the others left (`_keep_an_owner`)."""
        await self.session.execute(
            select(Organization.id).where(Organization.id == self.organization_id).with_for_update(key_share=True)
        )
        return await self.get_one_or_none(which, with_for_update=True, execution_options={"populate_existing": True})

    async def _take_out(self, actor: Identity, membership: Membership) -> dict[UUID, MovedReports]:
        await self._keep_an_owner(membership)
        session = self.session
        await session.execute(delete(ProjectMember).where(ProjectMember.user_id == membership.user_id))
        unassigned = await ReportService(session=session).unassign(membership.user_id, actor)
        await session.execute(delete(Invitation).where(Invitation.user_id == membership.user_id))
        await self.delete(membership.id)
        return unassigned

    async def _keep_an_owner(self, leaving: Membership) -> None:
        """An owner leaves the role (removed, or given another) only while another owner stays; an invited
        owner who has not accepted yet is no owner: their invitation can always be withdrawn."""
        if leaving.role != Role.OWNER.value or leaving.invitation_pending:
            return
        # Owners leaving at once take turns here, each counting those the others left: `held` holds the
        # organization's row.
        owners = await self.count(Membership.role == Role.OWNER.value, Membership.invitation_pending.is_(False))
        if owners <= 1:
            raise LanternError(ErrorCode.CONFLICT, _("An organization must keep at least one owner."))


def _check_can_grant(actor: Identity, role: Role) -> None:
    """Only an owner can make, demote or remove an owner."""
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise LanternError(ErrorCode.FORBIDDEN, _("Only an owner can make, change or remove an owner."))


def invitation_token(invitation_id: UUID) -> str:
    """An invitation's token, made from its id (see `link_secret`): its e-mail is written with it again, and it is
    kept nowhere but in its holder's hands."""
    return link_secret(INVITATION_PREFIX, invitation_id)


async def record_invitation_mail(session: AsyncSession, invitation_id: UUID) -> OutgoingEmail:
    """The invitation's e-mail, recorded in `session`'s transaction (see `record_email`)."""
    topic = f"invitation-mail:{invitation_id}"
    return await record_email(session, EmailKind.INVITATION, topic, {"invitation_id": str(invitation_id)})


def invitation_link(token: str) -> str:
    """Where an invitation is accepted: the mailed link, and the one an admin can pass on themselves."""
    return public_address(f"/ui/invitations/accept?{urlencode({'token': token})}")


def token_shown_to(caller: Identity, token: str | None) -> str | None:
    """An invitation's token for a person to pass on; none for an API token, which the invitation is mailed
    instead: an account opened with it would outlive the revocation of the token that leaked."""
    return token if caller.kind is CredentialKind.SESSION else None


@dataclass(frozen=True, slots=True)
class InvitationNotice:
    """An invitation just made, as its page shows it once: to whom, its link, and whether it was mailed."""

    email: str
    link: str
    mailed: bool

    @classmethod
    def of(cls, email: str, token: str) -> InvitationNotice:
        return cls(email, invitation_link(token), mailed=mail_configured())


async def invitation_mail(session: AsyncSession, invitation_id: UUID, token: str) -> Mail | None:
    """The invitation e-mail with the link of `token`, in the invitee's language (else the organization's default);
    None when there is no invitation to accept with it any more."""
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= datetime.now(UTC):
        return None
    if digest(token) != invitation.token_hash:
        logger.warning(
            "mail not sent: its link was made with another LANTERN_SECRET_KEY", invitation_id=str(invitation_id)
        )
        return None
    user = await session.get(User, invitation.user_id)
    organization = await session.get(Organization, invitation.organization_id)
    if user is None or organization is None:
        return None
    link = invitation_link(token)
    inviter = await session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    role = await session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.organization_id == invitation.organization_id
        )
    )
    with use_locale(user.locale or organization.default_locale):
        subject = _("You are invited to join %(organization)s on Lantern", organization=organization.name)
        if user.password_hash is None:
            body = _(
                "Hello,\n\nYou have been invited to join %(organization)s on Lantern, where your team triages bug "
                "reports.\n\nChoose a password to accept the invitation:\n%(link)s\n\nThe link is valid for 7 days.",
                organization=organization.name,
                link=link,
            )
        else:
            body = _(
                "Hello,\n\nYou have been invited to join %(organization)s on Lantern, where your team triages bug "
                "reports.\n\nConfirm with your Lantern password to accept the invitation:\n%(link)s\n\n"
                "The link is valid for 7 days.",
                organization=organization.name,
                link=link,
            )
        body = f"{body}\n\n{_invited_as(inviter, role)}"
    return Mail(to=user.email, subject=subject, body=body)


def _invited_as(inviter: User | None, role: str | None) -> str:
    """Who invited the person, and as what: an invitation from no one named reads like a phishing mail, and a
    guest is told they are one."""
    named = str(ROLE_LABELS.get(role or "", role or ""))
    who = _inviter_as_seen(inviter, by_guest=role == Role.GUEST)
    if not who:
        return _("You are invited as: %(role)s.", role=named)
    return _("%(inviter)s invited you as: %(role)s.", inviter=who, role=named)


def _inviter_as_seen(inviter: User | None, *, by_guest: bool) -> str:
    """The inviter by name and address; to a guest by name alone, as guests read people everywhere."""
    if inviter is None:  # an integration's token invited them
        return ""
    if by_guest:
        return inviter.name
    return f"{inviter.name} <{inviter.email}>" if inviter.name else inviter.email
