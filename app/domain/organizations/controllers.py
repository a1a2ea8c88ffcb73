"""HTTP for the organization in context and its members."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.controllers import provide_departures
from app.domain.accounts.departures import Departures
from app.domain.accounts.models import User
from app.domain.organizations import schemas
from app.domain.organizations.models import Membership, Organization, Role
from app.domain.organizations.services import MembershipService, OrganizationService, token_shown_to
from app.domain.projects.controllers import provide_project_service
from app.domain.projects.services import ProjectService
from app.domain.reports.controllers.deps import provide_events
from app.domain.webhooks.events import WebhookEvents
from app.lib import jsonapi
from app.lib.conditional import TAGGED, Precondition, require_preconditions, sends_conditions
from app.lib.errors import ErrorCode
from app.lib.jsonapi import MEDIA_TYPE, PLAIN_DESCRIPTION
from app.lib.openapi import SESSION, documented_body, jsonapi_body, may_answer
from app.lib.paging import PAGES_DESCRIPTION, ListAnswer, Window, page_or_document, provide_window
from app.lib.schema import LOCATION, Envelope, convert_body, created, extended, ok, refusals_named_as_sent
from tenants.guards import (
    provide_identity,
    requires_admin_client,
    requires_manager,
    requires_owner,
    requires_session,
    requires_team,
)
from tenants.identity import Identity
from tenants.middleware import SESSION_ORGANIZATION_KEY


async def provide_organization_service(db_session: NamedDependency[AsyncSession]) -> OrganizationService:
    return OrganizationService(db_session)


async def provide_membership_service(db_session: NamedDependency[AsyncSession]) -> MembershipService:
    return MembershipService(session=db_session)


def organization_read(organization: Organization, identity: Identity) -> schemas.OrganizationRead:
    manager = identity.role is not None and identity.role.manages_organization
    return schemas.OrganizationRead(
        id=organization.id,
        slug=organization.slug,
        name=organization.name,
        default_locale=organization.default_locale,
        timezone=organization.timezone,
        security=msgspec.convert(organization.security, schemas.SecuritySettings) if manager else None,
        created_at=organization.created_at,
        updated_at=organization.updated_at,
    )


def member_read(membership: Membership, user: User) -> schemas.MemberRead:
    """A member or guest; until an invitation is accepted, the account's name and id are the invitee's own
    business (see `Membership.person_id`)."""
    pending = membership.invitation_pending
    return schemas.MemberRead(
        id=membership.id,
        user_id=membership.person_id,
        email=user.email,
        name="" if pending else user.name,
        role=Role(membership.role),
        invitation_pending=pending,
        created_at=membership.created_at,
    )


class OrganizationController(Controller):
    path = "/api/v1/organization"
    tags = ["Organization"]
    guards = [requires_admin_client]
    dependencies = {
        "organizations": Provide(provide_organization_service),
        "memberships": Provide(provide_membership_service),
        "identity": Provide(provide_identity),
        "events": Provide(provide_events),
        "projects": Provide(provide_project_service),
        "departures": Provide(provide_departures),
    }

    @get("/", operation_id="GetOrganization", etag=TAGGED, description=PLAIN_DESCRIPTION)
    async def show(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        organizations: NamedDependency[OrganizationService],
    ) -> Envelope[schemas.OrganizationRead] | Response[dict[str, Any]]:
        return await _organization_answer(request, identity, await organizations.current())

    @patch(
        "/",
        operation_id="UpdateOrganization",
        etag=TAGGED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": schemas.OrganizationUpdate,
                MEDIA_TYPE: jsonapi_body(schemas.OrganizationUpdate, "organization", camel_only=True),
            },
            "The fields to change; also as a JSON:API document's `data.attributes`.",
        ),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[dict[str, Any]],
        identity: NamedDependency[Identity],
        organizations: NamedDependency[OrganizationService],
    ) -> Envelope[schemas.OrganizationRead] | Response[dict[str, Any]]:
        sent = await jsonapi.body_as_sent(
            request, data, "organization", names_resource=jsonapi.same_id(identity.organization_id)
        )
        changes = convert_body(sent, schemas.OrganizationUpdate, camel_only=True)
        answer = partial(_organization_answer, request, identity)
        with refusals_named_as_sent(sent, schemas.OrganizationUpdate):  # a language Lantern does not ship
            organization = await organizations.update(changes, partial(require_preconditions, request, answer))
        return await answer(organization)

    @delete("/", operation_id="DeleteOrganization", status_code=HTTP_204_NO_CONTENT, guards=[requires_owner])
    async def delete_organization(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        organizations: NamedDependency[OrganizationService],
        projects: NamedDependency[ProjectService],
        confirm: FromQuery[str],
    ) -> None:
        """Delete the organization for good, with its projects, reports, files, people's memberships, tokens and
        webhooks (which hear nothing of it). `confirm` is the organization's name as written. Owners only; the
        caller's session ends, and its people keep their accounts and other organizations."""
        answer = partial(_organization_answer, request, identity)
        # Its row is held for the conditions alone (see `erase`): a deletion without them sends no query more.
        precondition = partial(require_preconditions, request, answer) if sends_conditions(request) else None
        projects.forget_files(await organizations.delete(confirm, precondition))
        request.clear_session()

    @delete(
        "/membership",
        operation_id="LeaveOrganization",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_session],
        security=SESSION,
        responses=may_answer(ErrorCode.CONFLICT),
    )
    async def leave(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        departures: NamedDependency[Departures],
    ) -> None:
        """Leave the organization: the signed-in person's membership goes, with their places in its projects, and
        their reports go back to nobody, each a `report.updated` (as `RemoveMember`). Its last owner cannot leave
        (409), and nor can anyone their only organization (409: an account in none cannot log in, so it is the
        account that goes, `DELETE /api/v1/auth/me`). The session goes on in another of the person's
        organizations."""
        assert identity.user_id is not None  # noqa: S101 - guaranteed by requires_session
        remaining = await departures.leave(identity.user_id, identity.organization_id)
        request.set_session({**request.session, SESSION_ORGANIZATION_KEY: str(remaining)})

    @get(
        "/members",
        operation_id="ListMembers",
        guards=[requires_team],
        description=f"Members and guests, first joined first. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}",
        dependencies={"window": Provide(provide_window)},
    )
    async def members(
        self,
        request: Request[Any, Any, Any],
        memberships: NamedDependency[MembershipService],
        window: NamedDependency[Window],
        role: FromQuery[Role | None] = None,
    ) -> ListAnswer[schemas.MemberRead]:
        """Members and guests; `role` lists one kind only (BugHerd's members and guests lists)."""
        found = await memberships.member_page(role, window)
        reads = [member_read(membership, user) for membership, user in found.items]
        return page_or_document(request, "membership", reads, found.total, window, kind=schemas.MemberRead)

    @post(
        "/members",
        operation_id="InviteMember",
        status_code=HTTP_201_CREATED,
        guards=[requires_manager],
        response_headers=LOCATION,
        operation_class=documented_body(
            {
                "application/json": schemas.MemberInvite,
                MEDIA_TYPE: jsonapi_body(schemas.MemberInvite, "membership", made=True, camel_only=True),
            },
            "The person to invite; also as a JSON:API document's `data.attributes` (a `membership`).",
        ),
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[dict[str, Any]],
        memberships: NamedDependency[MembershipService],
        organizations: NamedDependency[OrganizationService],
    ) -> jsonapi.CreatedOrDocument[schemas.InvitedMember]:
        """Invite someone by e-mail address; the answer carries the invitation's token (to a signed-in person).
        In JSON:API mode, the new `membership` with its `invitationToken` among its attributes."""
        sent = await jsonapi.body_as_sent(request, data, "membership")
        invite = convert_body(sent, schemas.MemberInvite, camel_only=True)
        with refusals_named_as_sent(sent, schemas.MemberInvite):  # a domain not allowed, a member already
            invitation, token = await memberships.invite(identity, invite, await organizations.security())
        return _invited(request, identity, await memberships.member(invitation.membership_id), token)

    @post(
        "/members/{membership_id:uuid}/invitation",
        operation_id="InviteMemberAgain",
        status_code=HTTP_200_OK,
        guards=[requires_manager],
        responses=may_answer(ErrorCode.CONFLICT),  # accepted already
        description=(
            "A new invitation for someone who has not accepted theirs, answered as `InviteMember` is but with a "
            "200 (the member it renews is no new resource): a new link, valid for a week, mailed again; the "
            "earlier link stops working."
        ),
    )
    async def invite_again(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        membership_id: FromPath[UUID],
        memberships: NamedDependency[MembershipService],
    ) -> Envelope[schemas.InvitedMember] | Response[dict[str, Any]]:
        invitation, token = await memberships.invite_again(identity, membership_id)
        return _invited_again(request, identity, await memberships.member(invitation.membership_id), token)

    @get(
        "/members/{membership_id:uuid}",
        operation_id="GetMember",
        etag=TAGGED,
        guards=[requires_team],
        description=PLAIN_DESCRIPTION,
    )
    async def member(
        self,
        request: Request[Any, Any, Any],
        membership_id: FromPath[UUID],
        memberships: NamedDependency[MembershipService],
    ) -> Envelope[schemas.MemberRead] | Response[dict[str, Any]]:
        return await _member_answer(request, memberships, membership_id)

    @patch(
        "/members/{membership_id:uuid}",
        operation_id="UpdateMember",
        etag=TAGGED,
        guards=[requires_manager],
        operation_class=documented_body(
            {
                "application/json": schemas.MemberUpdate,
                MEDIA_TYPE: jsonapi_body(schemas.MemberUpdate, "membership", camel_only=True),
            },
            "The role; also as a JSON:API document's `data.attributes` (a `membership`).",
        ),
    )
    async def change_role(  # noqa: PLR0913 - the request, the caller, the body and the services it touches
        self,
        *,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        membership_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        memberships: NamedDependency[MembershipService],
        events: NamedDependency[WebhookEvents],
    ) -> Envelope[schemas.MemberRead] | Response[dict[str, Any]]:
        """Another role; a member made a guest is unassigned the reports a guest does not see, each a
        `report.updated`."""
        sent = await jsonapi.body_as_sent(request, data, "membership", names_resource=jsonapi.same_id(membership_id))
        role = convert_body(sent, schemas.MemberUpdate, camel_only=True).role
        precondition = _member_precondition(request, memberships)
        await events.unassigned(await memberships.change_role(identity, membership_id, role, precondition))
        return await _member_answer(request, memberships, membership_id)

    @delete(
        "/members/{membership_id:uuid}",
        operation_id="RemoveMember",
        status_code=HTTP_204_NO_CONTENT,
        guards=[requires_manager],
        responses=may_answer(ErrorCode.CONFLICT),  # the organization's last owner
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        membership_id: FromPath[UUID],
        memberships: NamedDependency[MembershipService],
        events: NamedDependency[WebhookEvents],
    ) -> None:
        """Someone out of the organization; their reports go back to nobody, each a `report.updated`."""
        precondition = _member_precondition(request, memberships)
        await events.unassigned(await memberships.remove(identity, membership_id, precondition))


async def _organization_answer(
    request: Request[Any, Any, Any], identity: Identity, organization: Organization
) -> Envelope[schemas.OrganizationRead] | Response[dict[str, Any]]:
    """The organization as its GET answers `identity`, natively or as a JSON:API document: a change answers it so
    too, and its conditions (`If-Match`) name this answer's tag."""
    read = organization_read(organization, identity)
    return jsonapi.native_or_document(request, "organization", read, kind=schemas.OrganizationRead)


async def _member_answer(
    request: Request[Any, Any, Any], memberships: MembershipService, membership_id: UUID
) -> Envelope[schemas.MemberRead] | Response[dict[str, Any]]:
    """A member as their GET answers them, natively or as a JSON:API document: a change answers them so too, and
    its conditions (`If-Match`) name this answer's tag."""
    read = member_read(*await memberships.member(membership_id))
    return jsonapi.native_or_document(request, "membership", read, kind=schemas.MemberRead)


def _member_precondition(request: Request[Any, Any, Any], memberships: MembershipService) -> Precondition[Membership]:
    """The conditions of a change to a member, evaluated by `MembershipService` holding their membership."""

    async def answer(membership: Membership) -> Envelope[schemas.MemberRead] | Response[dict[str, Any]]:
        return await _member_answer(request, memberships, membership.id)

    return partial(require_preconditions, request, answer)


def _invited(
    request: Request[Any, Any, Any], identity: Identity, invited: tuple[Membership, User], token: str
) -> jsonapi.CreatedOrDocument[schemas.InvitedMember]:
    """An invitation just made: a 201 naming the new member, beside its token (see `_invitation`)."""
    answer = _invitation(identity, invited, token)
    location = f"/api/v1/organization/members/{answer.member.id}"
    if jsonapi.requested(request):
        read = _invitation_resource(answer)
        return jsonapi.created_or_document(request, "membership", read, kind=schemas.MemberInvited, location=location)
    return created(answer, location)


def _invited_again(
    request: Request[Any, Any, Any], identity: Identity, invited: tuple[Membership, User], token: str
) -> Envelope[schemas.InvitedMember] | Response[dict[str, Any]]:
    """A new invitation of a member already there: a 200, as the member it renews is no new resource."""
    answer = _invitation(identity, invited, token)
    if jsonapi.requested(request):
        return jsonapi.native_or_document(
            request, "membership", _invitation_resource(answer), kind=schemas.MemberInvited
        )
    return ok(answer)


def _invitation(identity: Identity, invited: tuple[Membership, User], token: str) -> schemas.InvitedMember:
    """The member beside the invitation's token (shown to a signed-in person alone)."""
    return schemas.InvitedMember(member=member_read(*invited), invitation_token=token_shown_to(identity, token))


def _invitation_resource(answer: schemas.InvitedMember) -> schemas.MemberInvited:
    """In JSON:API mode, one resource: the `membership` with its `invitationToken` among its attributes."""
    return extended(answer.member, schemas.MemberInvited, invitation_token=answer.invitation_token)
