"""Who is calling: resolved once per request from exactly one credential."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from uuid import UUID

from app.domain.organizations.models import Role

# Where the request's scope state keeps its caller's identity (set by `RequestContextMiddleware`).
IDENTITY_KEY = "lantern_identity"


class CredentialKind(enum.StrEnum):
    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - a kind of credential, not a secret
    WIDGET_KEY = "widget_key"


@dataclass(frozen=True, slots=True)
class WidgetPolicy:
    """A project's limits for its public endpoints, read with its widget key."""

    rate_limit_per_minute: int
    allowed_origins: tuple[str, ...]
    require_origin: bool
    attachments: bool  # its widget configuration's `features.attachments`: whether a submission may attach files


@dataclass(frozen=True, slots=True)
class Identity:
    kind: CredentialKind
    organization_id: UUID
    user_id: UUID | None = None
    role: Role | None = None
    project_id: UUID | None = None
    credential_id: UUID | None = None
    user_email: str | None = None
    user_locale: str | None = None
    organization_locale: str | None = None
    user_timezone: str | None = None
    organization_timezone: str | None = None
    widget: WidgetPolicy | None = None

    @property
    def is_admin_client(self) -> bool:
        """A person (session) or a program (organization token) using the admin API."""
        return self.kind in {CredentialKind.SESSION, CredentialKind.TOKEN}
