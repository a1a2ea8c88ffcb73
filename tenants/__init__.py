"""Tenant context and isolation: every query, cache key, storage path, rate-limit bucket and job carries it."""

from tenants.context import (
    MissingTenantError,
    TenantScope,
    credential_lookup,
    current_scope,
    require_tenant,
    tenant_scope,
    user_scope,
)

__all__ = [
    "MissingTenantError",
    "TenantScope",
    "credential_lookup",
    "current_scope",
    "require_tenant",
    "tenant_scope",
    "user_scope",
]
