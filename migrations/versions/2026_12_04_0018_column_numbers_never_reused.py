"""A custom column's number (BugHerd's `status_id`) is never given again in its project.

A new column took the highest number in use plus one, so deleting the last column and adding another gave the
new one the deleted one's number: an integration that kept 6 for "testing" then moved reports to "qa". The
project now keeps the highest number it has given.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Row-level security binds the tables' owner too (FORCE): where the owner is no superuser this changes no row,
# and migration 0026 writes what it meant to.
# The default columns' numbers end at 5.
NUMBERS_GIVEN = """
UPDATE project SET last_column_status_id = COALESCE(
    (SELECT MAX(status_id) FROM project_column WHERE project_column.project_id = project.id), 5
)
"""


def upgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_column_status_id', sa.Integer(), server_default='5', nullable=False))
    op.execute(NUMBERS_GIVEN)


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('last_column_status_id')
