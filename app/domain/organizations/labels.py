"""The names of the roles in the reader's language: one list for the admin UI and the invitation e-mail."""

from __future__ import annotations

from babel.support import LazyProxy

from app.domain.organizations.models import Role
from app.lib.i18n import lazy_gettext as _lazy

ROLE_LABELS: dict[str, LazyProxy] = {
    Role.OWNER: _lazy("Owner"),
    Role.ADMIN: _lazy("Admin"),
    Role.MEMBER: _lazy("Member"),
    Role.GUEST: _lazy("Guest"),
}
