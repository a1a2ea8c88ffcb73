"""Organizations (the tenants), memberships with roles, and pending invitations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ColumnElement, ForeignKey, String, UniqueConstraint, case, false
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import TenantOwned


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"

    @property
    def manages_organization(self) -> bool:
        return self in {Role.OWNER, Role.ADMIN}


# The longest slug: a slug given a suffix, when taken, is shortened to fit (`slug_candidates`).
SLUG_LENGTH = 100


class Organization(UUIDv7AuditBase):
    """The tenant itself; its rows are reached by id from the scope, never listed across tenants."""

    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), unique=True)
    default_locale: Mapped[str] = mapped_column(String(20), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    security: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class Membership(TenantOwned, UUIDv7AuditBase):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER.value)
    # Made by an invitation not yet accepted: it does not count (no session acts in it) until then.
    invitation_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @hybrid_property
    def person_id(self) -> UUID:
        """The id the API and the pages name this person by: their account's once they accept; until then
        the membership's own, made with the invitation. The account's id would tell whether the address had
        an account already (it is older) and be the same in every organization that invites it."""
        return self.id if self.invitation_pending else self.user_id

    @person_id.inplace.expression
    @classmethod
    def _person_id_expression(cls) -> ColumnElement[UUID]:
        return case((cls.invitation_pending, cls.id), else_=cls.user_id)


class Invitation(TenantOwned, UUIDv7AuditBase):
    """An invitation to join; the token is shown once to the inviter and stored only as a hash."""

    __tablename__ = "invitation"

    user_id: Mapped[UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    # Made together with its person's account: accepting it chooses the account's password. Any other
    # invitation finds an account that is not its to open (see `AccountService.accept_invitation`).
    opens_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
