"""A membership made by an invitation counts only once the invitation is accepted.

An invitation to an address that already had an account made its owner a member at once, without asking
them; an organization could add anyone it knew the address of. `invitation_pending` marks a membership
that waits for its invitation; sessions ignore it until then. Existing memberships are accepted: before
this, every invitation that mattered (to an account with a password) counted at once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_pending', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('invitation_pending')
