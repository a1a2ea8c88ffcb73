"""Screenshots: the processed image's format, the number of processing runs started, and an index for the
sweeper's "pending too long" query. Attachments: the same image columns (a file whose bytes are an image is
processed like a screenshot) and the same index. No new table, so no new row-level security policy.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('screenshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_screenshot_status_updated', ['status', 'updated_at'], unique=False)
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('format', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_attachment_status_updated', ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_status_updated')
        batch_op.drop_column('attempts')
        batch_op.drop_column('format')
        batch_op.drop_column('error')
        batch_op.drop_column('thumbnail_key')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('status')
    with op.batch_alter_table('screenshot', schema=None) as batch_op:
        batch_op.drop_index('ix_screenshot_status_updated')
        batch_op.drop_column('attempts')
        batch_op.drop_column('format')
