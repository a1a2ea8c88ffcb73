"""Accounts' addresses are kept in the one form sign-up, login and invitations now find them by: compatibility-
normalised (full-width letters are the ASCII ones) and lower-cased, the domain's xn-- labels in the letters they
stand for. An address typed "Ｂｏｂ@例え.jp" was kept as its lower-case, full-width self, which a login typed
in ASCII did not find.

An account whose address in that form is another account's keeps its own as it is (the address is unique):
it signs in no more by typing it, and an operator can remove one of the two. Downgrading keeps the addresses
as they now are, which the former code found as well when typed so.

The normalisation is written out here as this revision has it (app/domain/accounts/services.py's
`normalize_email`): a later change of that needs a migration of its own.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER = sa.table('user_account', sa.column('id'), sa.column('email', sa.String()))
_LABEL_SEPARATOR = re.compile('[.\u3002]')


def _label(label: str) -> str:
    if not label.startswith('xn--'):
        return label
    try:
        return label.encode('ascii').decode('idna')
    except UnicodeError:
        return label


def _normalized(email: str) -> str:
    local, at, domain = unicodedata.normalize('NFKC', email.strip()).rpartition('@')
    if not at:
        return domain.lower()
    folded = unicodedata.normalize('NFKC', domain.strip()).lower()
    return f"{local.lower()}@{'.'.join(_label(label) for label in _LABEL_SEPARATOR.split(folded))}"


def upgrade() -> None:
    bind = op.get_bind()
    users = bind.execute(sa.select(_USER.c.id, _USER.c.email)).all()
    taken = {user.email for user in users}
    for user in users:
        normalized = _normalized(user.email)
        if normalized == user.email or normalized in taken:
            continue
        taken.add(normalized)
        bind.execute(sa.update(_USER).where(_USER.c.id == user.id).values(email=normalized))


def downgrade() -> None:
    """Nothing to undo: normalised addresses are addresses the former code took."""
