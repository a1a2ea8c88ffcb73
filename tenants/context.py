"""The tenant in context: chosen once per request or job, read by the database layer and every service.

A `TenantScope` names the organization whose data may be touched, and optionally the acting user
(whose own memberships are readable across organizations) and a credential being looked up (whose
one row is readable before the tenant is known). Nothing else can read tenant data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from uuid import UUID


class MissingTenantError(RuntimeError):
    """Tenant data was touched with no tenant in context: a programming error, never a user's."""


@dataclass(frozen=True, slots=True)
class TenantScope:
    organization_id: UUID | None = None
    user_id: UUID | None = None
    credential: str | None = None
    system: str | None = None


_EMPTY = TenantScope()
_scope: ContextVar[TenantScope] = ContextVar("lantern_tenant_scope", default=_EMPTY)


def current_scope() -> TenantScope:
    return _scope.get()


def require_tenant() -> UUID:
    """The organization in context, or `MissingTenantError`."""
    organization_id = _scope.get().organization_id
    if organization_id is None:
        msg = "no tenant in context"
        raise MissingTenantError(msg)
    return organization_id


@contextmanager
def _scoped(scope: TenantScope) -> Iterator[TenantScope]:
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def tenant_scope(organization_id: UUID, user_id: UUID | None = None) -> AbstractContextManager[TenantScope]:
    """Act inside one organization (optionally as one user)."""
    return _scoped(TenantScope(organization_id=organization_id, user_id=user_id))


def user_scope(user_id: UUID) -> AbstractContextManager[TenantScope]:
    """Act as a user with no organization chosen yet: only that user's memberships are readable."""
    return _scoped(replace(_scope.get(), organization_id=None, user_id=user_id))


def credential_lookup(credential: str) -> AbstractContextManager[TenantScope]:
    """Resolve a credential before the tenant is known: only the row holding it is readable."""
    return _scoped(TenantScope(credential=credential))


def system_scope(reason: str) -> AbstractContextManager[TenantScope]:
    """Read across tenants for the instance's own housekeeping (the sweeper, the operator's job dashboard).

    Only the tables whose policy names the system scope are readable this way (see `tenants/rls.py`);
    nothing can be written in it, since writes must match the tenant in context.
    """
    return _scoped(TenantScope(system=reason))


def bound_scope(scope: TenantScope) -> AbstractContextManager[TenantScope]:
    """Act within a scope resolved elsewhere (a request's credential, a job's arguments)."""
    return _scoped(scope)
