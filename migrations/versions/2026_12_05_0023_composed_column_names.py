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

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMN = sa.table('project_column', sa.column('id'), sa.column('project_id'), sa.column('name', sa.String()))
_REPORT = sa.table('report', sa.column('project_id'), sa.column('status', sa.String()))


# Row-level security binds the tables' owner too (FORCE), and no scope reads every tenant's columns: the owner
# is let through for this transaction alone (ALTER TABLE is transactional, and the policies come back with it).
_EVERY_TENANTS = ('project_column', 'report')


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        for table in _EVERY_TENANTS:
            op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
    _compose_names(bind)
    if postgres:
        for table in _EVERY_TENANTS:
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')


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
