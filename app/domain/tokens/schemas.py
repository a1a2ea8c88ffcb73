"""Bodies of organization API tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.domain.accounts.schemas import Name
from app.lib.schema import CamelStruct


class TokenCreate(CamelStruct, forbid_unknown_fields=True):
    name: Name


class TokenRead(CamelStruct):
    id: UUID
    name: str
    hint: str
    created_at: datetime
    # Who made it (none when a token made it): a token outlives its maker's membership, so its list says whose.
    created_by_id: UUID | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    """The only response that carries the token itself."""

    token: str
