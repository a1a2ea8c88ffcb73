"""A person going of their own accord: out of one of their organizations, or out of Lantern with their account.

Their organizations are read in their user scope, and each one is changed in its own tenant scope (on
PostgreSQL, row-level security lets a tenant's rows be written in that scope alone), so the webhooks and file
jobs of each carry its tenant. Leaving is what an admin's removal does (`MembershipService`), asked by the
person themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.accounts.services import AccountService
from app.domain.organizations.models import Organization, Role
from app.domain.organizations.services import MembershipService, OrganizationService
from app.domain.projects.services import ProjectService
from app.domain.webhooks.events import WebhookEvents
from app.lib.errors import ErrorCode, LanternError, not_found
from app.lib.i18n import format_list
from app.lib.i18n import gettext as _
from tenants.context import tenant_scope
from tenants.db import scoped
from tenants.identity import CredentialKind, Identity


class Staying(StrEnum):
    """Why a person cannot leave one of their organizations by themselves."""

    ONLY_ORGANIZATION = "only-organization"  # an account in none could not log in: the account goes instead
    ONLY_OWNER = "only-owner"  # an organization keeps an owner (`MembershipService`)


@dataclass(frozen=True, slots=True)
class Ties:
    """What deleting an account does to each of the person's organizations, and which of them `Departures.leave`
    refuses, so that a page offers no way out that fails."""

    deleted: list[Organization] = field(default_factory=list)  # no one else is in it: it goes with the account
    held: list[Organization] = field(default_factory=list)  # its only owner, with others in it: refused until then
    left: list[tuple[Organization, str]] = field(default_factory=list)  # with their role: left as a member leaves
    staying: dict[UUID, Staying] = field(default_factory=dict)  # by organization id


class Departures:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.accounts = AccountService(session)

    async def leave(self, user_id: UUID, organization_id: UUID) -> UUID:
        """The person out of one of their organizations (another's is unknown: 404); returns another of theirs,
        for their session. Their only organization is refused: an account in none can neither log in nor sign up
        again, so it is the account that goes (`delete_account`)."""
        memberships = await self.accounts.memberships(user_id)
        role = next((role for organization, role in memberships if organization.id == organization_id), None)
        if role is None:
            raise not_found()
        if len(memberships) == 1:
            message = _(
                "This is your only organization: an account in no organization cannot log in. To leave it, delete "
                "your account on your profile page."
            )
            raise LanternError(ErrorCode.CONFLICT, message)
        await self._leave(user_id, organization_id, role)
        return next(organization.id for organization, _role in memberships if organization.id != organization_id)

    async def ties(self, user_id: UUID) -> Ties:
        ties = Ties()
        memberships = await self.accounts.memberships(user_id)
        for organization, role in memberships:
            async with scoped(self.session, tenant_scope(organization.id, user_id)):
                people = MembershipService(session=self.session)
                if await people.sole_member(user_id):
                    ties.deleted.append(organization)
                elif await people.held_alone(user_id):
                    ties.held.append(organization)
                else:
                    ties.left.append((organization, role))
                    continue
            # Alone in it or its only owner: as an owner, they are the one it keeps.
            if role == Role.OWNER.value:
                ties.staying[organization.id] = Staying.ONLY_OWNER
        if len(memberships) == 1:
            ties.staying[memberships[0][0].id] = Staying.ONLY_ORGANIZATION
        return ties

    async def delete_account(self, user_id: UUID, password: str, *, client_ip: str, device: str | None) -> None:
        """The person's account for good, once they typed its password again (a wrong one is a failed login).

        Refused (409) while they are the only owner of an organization others are in, naming it: they make one of
        those an owner, or delete it, first; and for the instance's last operator. The organizations no one else
        is in go with the account, as an owner deletes one (their files by a job per project). Everywhere else
        they leave as a member leaves: their reports go back to nobody (webhooks hear of each), their comments
        and the tokens they made stay the organization's, with no author. Every session of theirs ends with the
        account."""
        user = await self.accounts.users.get(user_id)
        await self.accounts.confirm_password(user, password, client_ip, device)
        if user.is_superuser and await self._operators() == 1:
            message = _("You are the last operator of this server: make someone else an operator first.")
            raise LanternError(ErrorCode.CONFLICT, message)
        ties = await self.ties(user_id)
        if ties.held:
            message = _(
                "You are the only owner of %(organizations)s, where others are members: make one of them an owner, "
                "or delete the organization, first.",
                organizations=format_list([organization.name for organization in ties.held]),
            )
            raise LanternError(ErrorCode.CONFLICT, message)
        # Left in one order, that of their ids, as every departure holds each organization's row until the end:
        # two people leaving two organizations in the order they joined them could each hold the one the other
        # waited for.
        for organization, role in sorted(ties.left, key=lambda tie: tie[0].id):
            await self._leave(user_id, organization.id, role)
        for organization in ties.deleted:
            async with scoped(self.session, tenant_scope(organization.id, user_id)):
                projects = await OrganizationService(self.session).erase()
                ProjectService(session=self.session).forget_files(projects)
        # The database lets go of what else named the account: its comments, changes and tokens keep no author.
        await self.session.execute(delete(User).where(User.id == user_id))

    async def _leave(self, user_id: UUID, organization_id: UUID, role: str) -> None:
        async with scoped(self.session, tenant_scope(organization_id, user_id)):
            person = Identity(CredentialKind.SESSION, organization_id, user_id=user_id, role=Role(role))
            unassigned = await MembershipService(session=self.session).leave(person)
            await WebhookEvents(self.session).unassigned(unassigned)

    async def _operators(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(User).where(User.is_superuser)) or 0
