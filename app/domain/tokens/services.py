"""Organization API tokens: created (shown once), listed by hint, revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select

from app.domain.tokens.models import ApiToken
from app.lib.paging import Paged, Window, page_of
from app.lib.security import ORG_TOKEN_PREFIX, digest, new_secret
from tenants.service import TenantRepository, TenantService


class TokenService(TenantService[ApiToken]):
    class Repo(TenantRepository[ApiToken]):
        model_type = ApiToken

    repository_type = Repo

    async def page(self, window: Window) -> Paged[ApiToken]:
        """The tokens, oldest first, revoked ones too (their hint says which one was revoked)."""
        return await page_of(self.session, select(ApiToken).order_by(ApiToken.created_at, ApiToken.id), window)

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
