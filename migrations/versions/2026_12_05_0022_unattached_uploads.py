"""An index of the uploads still waiting for their report, per project: every upload asks how much waits.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_screenshot_unattached',
        'screenshot',
        ['project_id'],
        unique=False,
        postgresql_where=sa.text('report_id IS NULL'),
        sqlite_where=sa.text('report_id IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_screenshot_unattached', table_name='screenshot')
