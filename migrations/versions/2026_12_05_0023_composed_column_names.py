"""Column names are kept composed (NFC): "Café" typed decomposed (an e and a combining accent, as macOS writes
it) is stored as the composed one, and the reports in the column carry the name as it is now stored.

A project that has both forms as two columns keeps them as they are (the name is unique per project): its people
see two columns of one name and can merge them. Downgrading keeps the names composed, which the former code
read as well.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMN = sa.table('project_column', sa.column('id'), sa.column('project_id'), sa.column('name', sa.String()))
_REPORT = sa.table('report', sa.column('project_id'), sa.column('status', sa.String()))


def upgrade() -> None:
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'project_column', 'report'):
        _compose_names(bind)


def _compose_names(bind: sa.Connection) -> None:
    columns = bind.execute(sa.select(_COLUMN.c.id, _COLUMN.c.project_id, _COLUMN.c.name)).all()
    names = {(column.project_id, column.name) for column in columns}
    for column in columns:
        composed = unicodedata.normalize('NFC', column.name)
        if composed == column.name or (column.project_id, composed) in names:
            continue
        names.add((column.project_id, composed))
        bind.execute(sa.update(_COLUMN).where(_COLUMN.c.id == column.id).values(name=composed))
        bind.execute(
            sa.update(_REPORT)
            .where(_REPORT.c.project_id == column.project_id, _REPORT.c.status == column.name)
            .values(status=composed)
        )


def downgrade() -> None:
    """Nothing to undo: composed names are names the former code took."""
