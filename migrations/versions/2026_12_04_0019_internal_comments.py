"""A comment may be internal: the team's note, which the organization's guests (clients) never see.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, which SQLite has too: a batch copy of the table would reflect the report table it
    # refers to, and SQLAlchemy warns on every `make run` that it cannot read report's expression index.
    op.add_column('report_comment', sa.Column('internal', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # Before this revision every comment is for everyone: the team's internal notes would be read by guests,
    # and by them still once upgraded again (not internal any more). The operator decides what becomes of them.
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'report_comment'):  # the system scope reads no comment
        internal = bind.execute(sa.text('SELECT count(*) FROM report_comment WHERE internal')).scalar_one()
    if internal:
        msg = (
            f'{internal} internal notes would become comments every guest reads. Before going back past 0019, '
            'delete them (DELETE FROM report_comment WHERE internal) or stay on this version.'
        )
        raise RuntimeError(msg)
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.drop_column('internal')
