"""Organization API tokens: created (shown once), listed by hint, revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from app.domain.tokens.models import ApiToken
from app.lib.security import ORG_TOKEN_PREFIX, digest, new_secret
from tenants.service import TenantRepository, TenantService


class TokenService(TenantService[ApiToken]):
    class Repo(TenantRepository[ApiToken]):
        model_type = ApiToken

    repository_type = Repo

    async def issue(self, name: str, created_by_id: UUID | None) -> tuple[ApiToken, str]:
        secret = new_secret(ORG_TOKEN_PREFIX)
        token = await self.create(
            ApiToken(
                name=name,
                token_hash=digest(secret),
                hint=secret[: len(ORG_TOKEN_PREFIX) + 4],
                created_by_id=created_by_id,
            ),
        )
        return token, secret

    async def revoke(self, token_id: UUID) -> None:
        token = await self.get(token_id)
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            await self.session.flush()
