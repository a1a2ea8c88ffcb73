"""An invitation chooses its account's password only if it opened that account.

An invitation to an address without an account opens one, whose password the invitee chooses on accepting.
Any invitation's token is known to whoever sent it too, so the password an invitation chooses could be its
sender's choice: one organization could choose the password of an account another organization's invitation
had opened, before its owner accepted. `opens_account` marks the invitation that opened its account; for an
account that has no password yet, the earliest invitation of its person is the one that opened it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Row-level security binds the tables' owner too (FORCE): where the owner is no superuser this changes no row,
# and migration 0026 writes what it meant to.
OPENED_ACCOUNTS = """
UPDATE invitation SET opens_account = TRUE
WHERE user_id IN (SELECT id FROM user_account WHERE password_hash IS NULL)
AND NOT EXISTS (
    SELECT 1 FROM invitation AS earlier
    WHERE earlier.user_id = invitation.user_id AND earlier.created_at < invitation.created_at
)
"""


def upgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_account', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(OPENED_ACCOUNTS)


def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_column('opens_account')
