"""Bodies of the organization, its security settings and its members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.domain.accounts.schemas import Email, LocaleTag, Name, TimeZone
from app.domain.organizations.models import Role
from app.lib.patterns import DOMAIN
from app.lib.schema import CamelStruct

Domain = Annotated[str, msgspec.Meta(max_length=253, pattern=DOMAIN)]
PersonId = Annotated[
    UUID,
    msgspec.Meta(
        description="The person's id: their account's once they accept their invitation; until then their "
        "membership's (a member's `id`), which tells nothing of an account the address may have already."
    ),
]


class SecuritySettings(CamelStruct, forbid_unknown_fields=True):
    """Rules an organization sets for itself."""

    allowed_email_domains: Annotated[list[Domain], msgspec.Meta(max_length=50)] = []


class OrganizationRead(CamelStruct):
    id: UUID
    slug: str
    name: str
    default_locale: str
    timezone: str
    # The organization's managers' business (which addresses may join): null to members and guests.
    security: SecuritySettings | None
    created_at: datetime
    updated_at: datetime


class OrganizationUpdate(CamelStruct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    default_locale: LocaleTag | msgspec.UnsetType = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    security: SecuritySettings | msgspec.UnsetType = msgspec.UNSET


class MemberRead(CamelStruct):
    id: UUID
    user_id: PersonId
    email: str
    name: str
    role: Role
    invitation_pending: bool
    created_at: datetime


class MemberInvite(CamelStruct, forbid_unknown_fields=True):
    email: Email
    role: Role = Role.MEMBER
    name: Name | None = None


class InvitedMember(CamelStruct):
    member: MemberRead
    invitation_token: str | None = None


class MemberInvited(MemberRead):
    """An invitation as one JSON:API resource: the new membership, its token among its attributes."""

    invitation_token: str | None = None


class MemberUpdate(CamelStruct, forbid_unknown_fields=True):
    role: Role
