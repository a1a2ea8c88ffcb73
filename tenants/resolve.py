"""Resolving a request's credential to an `Identity`: the only reads that happen before the tenant is known.

Each lookup runs in its own short transaction under a narrow scope: a credential lookup may read only the
row holding that credential, a user lookup only that user's memberships (PostgreSQL's row-level security
policies enforce the same, see `tenants/rls.py`).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.models import User
from app.domain.organizations.models import Membership, Organization, Role
from app.domain.projects.models import Project, ProjectKey
from app.domain.projects.schemas import WidgetConfig
from app.domain.tokens.models import ApiToken
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, LanternError, not_found
from app.lib.i18n import lazy_gettext as _lazy
from app.lib.security import ORG_TOKEN_PREFIX, digest
from tenants.context import credential_lookup, tenant_scope, user_scope
from tenants.identity import CredentialKind, Identity, WidgetPolicy
from tenants.keycache import remembered

Answer = TypeVar("Answer")


class KeyRefusal(enum.Enum):
    """Why a widget key is no credential: the site owner who embedded it is told which (keys are public)."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    PAUSED = "paused"  # its project is not active
    MISPLACED = "misplaced"  # an organization token, sent where a widget key goes


# Read by whoever embedded the key (the widget shows the message): which of their settings to look at.
KEY_REFUSALS = {
    KeyRefusal.UNKNOWN: _lazy("This widget key is not known. The project's settings in Lantern show its key."),
    KeyRefusal.REVOKED: _lazy(
        "This widget key was revoked: use the project's current key, or make a new one, in its settings in Lantern."
    ),
    KeyRefusal.PAUSED: _lazy("This project is paused and takes no reports."),
    KeyRefusal.MISPLACED: _lazy(
        "This is an organization token: send it in the Authorization header (Bearer). A widget key starts with lt_pub_."
    ),
}


def key_refused(refusal: KeyRefusal, code: ErrorCode) -> LanternError:
    """A refused key's answer: `code` (401 where the key is the credential, 404 where a URL names it), but a
    403 for a known key whose project is paused: it is the project that refuses."""
    return LanternError(ErrorCode.FORBIDDEN if refusal is KeyRefusal.PAUSED else code, str(KEY_REFUSALS[refusal]))


def bearer_or_basic_token(authorization: str) -> str | None:
    """The organization token of an `Authorization` header: `Bearer <token>` or Basic `<token>:x`."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


async def identity_from_token(token: str) -> Identity | None:
    if not token.startswith(ORG_TOKEN_PREFIX):
        return None
    token_hash = digest(token)
    return await remembered(f"token:{token_hash}", lambda: _looked_up(_token_identity, token_hash))


async def _token_identity(session: AsyncSession, token_hash: str) -> Identity | None:
    """The token's identity; records its use (so `last_used_at` is as fresh as the identity cache allows)."""
    with credential_lookup(token_hash):
        async with session.begin():
            row = (
                await session.execute(
                    select(ApiToken.id, ApiToken.organization_id).where(
                        ApiToken.token_hash == token_hash,
                        ApiToken.revoked_at.is_(None),
                    ),
                )
            ).first()
    if row is None:
        return None
    with tenant_scope(row.organization_id):
        async with session.begin():
            organization = await session.get(Organization, row.organization_id)
            # On the connection: a use is not a change to the token, and must not empty the identity cache.
            connection = await session.connection()
            await connection.execute(
                update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=datetime.now(UTC)),
            )
    return Identity(
        kind=CredentialKind.TOKEN,
        organization_id=row.organization_id,
        role=Role.ADMIN,
        credential_id=row.id,
        organization_locale=organization.default_locale if organization else None,
        organization_timezone=organization.timezone if organization else None,
    )


async def manages_organization(organization_id: UUID, user_id: UUID) -> bool:
    """Whether `user_id` is an owner or admin of the organization now (an invitation not yet accepted is no
    membership): asked of the rare requests that carry a try page's pass, which outlives a role."""
    with tenant_scope(organization_id, user_id):  # before the transaction begins: it carries the scope
        async with alchemy_config().get_session() as session, session.begin():
            role = await session.scalar(
                select(Membership.role).where(Membership.user_id == user_id, Membership.invitation_pending.is_(False))
            )
    return role is not None and Role(role).manages_organization


async def identity_from_widget_key(key: str) -> Identity | KeyRefusal:
    if key.startswith(ORG_TOKEN_PREFIX):
        return KeyRefusal.MISPLACED
    return await remembered(f"widget:{key}", lambda: _looked_up(_widget_identity, key))


async def _looked_up(lookup: Callable[[AsyncSession, str], Awaitable[Answer]], secret: str) -> Answer:
    """A credential lookup in a session of its own: opened only when the identity is not cached."""
    async with alchemy_config().get_session() as session:
        return await lookup(session, secret)


async def _widget_identity(session: AsyncSession, key: str) -> Identity | KeyRefusal:
    with credential_lookup(key):
        async with session.begin():
            row = (
                await session.execute(
                    select(
                        ProjectKey.id, ProjectKey.organization_id, ProjectKey.project_id, ProjectKey.revoked_at
                    ).where(ProjectKey.key == key),
                )
            ).first()
    if row is None:
        return KeyRefusal.UNKNOWN
    if row.revoked_at is not None:
        return KeyRefusal.REVOKED
    with tenant_scope(row.organization_id):
        async with session.begin():
            project = await session.get(Project, row.project_id)
            organization = await session.get(Organization, row.organization_id)
    if project is None:
        return KeyRefusal.UNKNOWN
    if not project.is_active:
        return KeyRefusal.PAUSED
    return Identity(
        kind=CredentialKind.WIDGET_KEY,
        organization_id=row.organization_id,
        project_id=row.project_id,
        credential_id=row.id,
        organization_locale=organization.default_locale if organization else None,
        organization_timezone=organization.timezone if organization else None,
        widget=WidgetPolicy(
            rate_limit_per_minute=project.rate_limit_per_minute,
            allowed_origins=tuple(project.allowed_origins),
            require_origin=project.require_origin,
            # Read through the schema: a project saved before the field existed has its default.
            attachments=msgspec.convert(project.widget_config, WidgetConfig).features.attachments,
        ),
    )


async def identity_from_session(
    session: AsyncSession,
    user_id: UUID,
    organization_id: UUID | None,
    started_at: datetime | None,
) -> Identity | None:
    """The identity of a logged-in user in their active organization (or their first one); none for a session
    that began before the user's password last changed."""
    with user_scope(user_id):
        async with session.begin():
            user = await session.get(User, user_id)
            if user is None or not user.is_active:
                return None
            changed = user.password_changed_at
            if changed is not None and (started_at is None or started_at < changed):
                return None
            memberships = (
                await session.execute(
                    select(Membership.organization_id, Membership.role)
                    .where(Membership.user_id == user_id, Membership.invitation_pending.is_(False))
                    .order_by(Membership.created_at),
                )
            ).all()
    chosen = next((m for m in memberships if m.organization_id == organization_id), None)
    chosen = chosen or (memberships[0] if memberships else None)
    if chosen is None:
        return None
    with tenant_scope(chosen.organization_id, user_id):
        async with session.begin():
            organization = await session.get(Organization, chosen.organization_id)
    return Identity(
        kind=CredentialKind.SESSION,
        organization_id=chosen.organization_id,
        user_id=user_id,
        role=Role(chosen.role),
        user_email=user.email,
        user_locale=user.locale,
        user_timezone=user.timezone,
        organization_locale=organization.default_locale if organization else None,
        organization_timezone=organization.timezone if organization else None,
    )


async def widget_project(session: AsyncSession, key: str) -> Project:
    """The project of a widget key named in a URL (the widget's public config); a refused key is a 404 that
    says why."""
    identity = await identity_from_widget_key(key)
    if isinstance(identity, KeyRefusal):
        raise key_refused(identity, ErrorCode.NOT_FOUND)
    if identity.project_id is None:
        raise not_found()
    with tenant_scope(identity.organization_id):
        async with session.begin():
            project = await session.get(Project, identity.project_id)
    if project is None:
        raise not_found()
    return project
