"""The organization's people for its owners and admins: members and guests, invitations, roles, removal;
through the API's `MembershipService`, whose rules (who may grant which role, an owner kept) apply here too."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.organizations.models import Role
from app.domain.organizations.schemas import MemberInvite, MemberUpdate
from app.domain.organizations.services import InvitationNotice, MembershipService, OrganizationService
from app.domain.webhooks.events import WebhookEvents
from app.lib.errors import ErrorCode, LanternError, message_of
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other, show_once, take_shown_once
from tenants.guards import requires_manager

INVITE_FIELDS = {"email": "email", "role": "role"}


@dataclass
class InviteForm:
    email: str = ""
    role: str = Role.MEMBER.value


@dataclass
class RoleForm:
    role: str = ""


class MemberPages(Controller):
    path = "/members"
    guards = [requires_person, requires_manager]

    @get("/")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        memberships: NamedDependency[MembershipService],
        notice: FromQuery[str | None] = None,
        member: FromQuery[UUID | None] = None,
    ) -> Template:
        """`notice` says what a change just did: `role` (`member`'s role), `removed`."""
        shown = take_shown_once(request)
        invited = InvitationNotice(**shown) if shown else None
        return await _list(layout, memberships, InviteForm(), invited=invited, notice=notice, changed=member)

    @post("/")
    async def invite(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[InviteForm, Form],
        memberships: NamedDependency[MembershipService],
        organizations: NamedDependency[OrganizationService],
    ) -> Redirect | Template:
        """The invitation is e-mailed, and its link shown once on the page this leads to, for the admin to pass
        on themselves (the only way when no mail server is configured). A refused form comes back filled in."""
        try:
            invite = convert_body({"email": data.email.strip(), "role": data.role}, MemberInvite)
            _invited, token = await memberships.invite(layout.identity, invite, await organizations.security())
        except LanternError as error:
            return await _list(layout, memberships, data, field_errors(error, INVITE_FIELDS))
        return show_once(request, "/ui/members", **asdict(InvitationNotice.of(invite.email, token)))

    @post("/{membership_id:uuid}/invitation")
    async def invite_again(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        membership_id: FromPath[UUID],
        memberships: NamedDependency[MembershipService],
    ) -> Redirect | Template:
        """A new link for an invitation not accepted yet, shown once and mailed as the first was; the earlier link
        stops working. A refusal (accepted meanwhile, an owner's by an admin) is said beside the person's role."""
        try:
            invitation, token = await memberships.invite_again(layout.identity, membership_id)
        except LanternError as error:
            return await _list(layout, memberships, InviteForm(), _refused_beside(error, f"role-{membership_id}"))
        _membership, user = await memberships.member(invitation.membership_id)
        return show_once(request, "/ui/members", **asdict(InvitationNotice.of(user.email, token)))

    @post("/{membership_id:uuid}/role")
    async def change_role(
        self,
        layout: NamedDependency[Layout],
        membership_id: FromPath[UUID],
        data: Annotated[RoleForm, Form],
        memberships: NamedDependency[MembershipService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect | Template:
        """A refusal (the last owner's role, an owner's by an admin) is said beside the person's role; as
        `PATCH /api/v1/organization/members/{id}`, a guest is unassigned what they do not see, each announced."""
        try:
            role = convert_body({"role": data.role}, MemberUpdate).role
            unassigned = await memberships.change_role(layout.identity, membership_id, role)
        except LanternError as error:
            return await _list(layout, memberships, InviteForm(), _refused_beside(error, f"role-{membership_id}"))
        await events.unassigned(unassigned)
        return see_other(f"/ui/members?notice=role&member={membership_id}")

    @post("/{membership_id:uuid}/remove")
    async def remove(
        self,
        layout: NamedDependency[Layout],
        membership_id: FromPath[UUID],
        memberships: NamedDependency[MembershipService],
        events: NamedDependency[WebhookEvents],
    ) -> Redirect | Template:
        """As `DELETE /api/v1/organization/members/{id}`: their reports go back to nobody, each announced."""
        try:
            unassigned = await memberships.remove(layout.identity, membership_id)
        except LanternError as error:
            return await _list(layout, memberships, InviteForm(), _refused_beside(error, f"role-{membership_id}"))
        await events.unassigned(unassigned)
        return see_other("/ui/members?notice=removed")


def _refused_beside(error: LanternError, name: str) -> dict[str, str]:
    """A rule of the organization's (409, 403) as the reason of the form field `name`; anything else (another
    organization's membership: 404) is answered as everywhere."""
    if error.code not in {ErrorCode.CONFLICT, ErrorCode.FORBIDDEN, ErrorCode.VALIDATION_ERROR}:
        raise error
    return {name: message_of(error) if not error.details else error.details[0].message}


async def _list(  # noqa: PLR0913 - the page, what it is made from, and what it says once
    layout: Layout,
    memberships: MembershipService,
    form: InviteForm,
    errors: dict[str, str] | None = None,
    *,
    invited: InvitationNotice | None = None,
    notice: str | None = None,
    changed: UUID | None = None,
) -> Template:
    """The members page; `invited`: the invitation just made; `notice`: what a change just did (to `changed`)."""
    roles = [role.value for role in Role]
    members = await memberships.members()
    return form_page(
        "members/list.html",
        layout,
        form,
        errors=errors,
        notice=notice,
        members=members,
        roles=roles,
        invited=invited,
        changed=changed,
    )
