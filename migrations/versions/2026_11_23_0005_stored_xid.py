"""Reports remember the transaction that stored them, so numbering no longer locks out ingest.

Ingest held each project's numbering lock shared until its commit, and a numbering batch held it exclusively:
under a flood to one project the two took turns (measured: 280 submissions/s with numbering, 850 without).
Numbering now follows `stored_xid` and takes only reports whose transactions have all ended (see
TrackingService). Existing rows keep NULL: numbered ones no longer need it, unnumbered ones get 0, which sorts
them before every new report, as they were stored first. SQLite keeps the column empty.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: SQLite must not rebuild `report`, whose rowids key the FTS index (see search.py).
    op.add_column('report', sa.Column('stored_xid', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # Set after the column exists: a volatile default given with ADD COLUMN would rewrite every row.
        op.execute('ALTER TABLE report ALTER COLUMN stored_xid SET DEFAULT (pg_current_xact_id()::text)::bigint')
        # For every tenant: the system scope reads every report but may write none (the policy's WITH CHECK).
        with rls.every_tenants_rows(op.get_bind(), 'report'):
            op.execute('UPDATE report SET stored_xid = 0 WHERE number IS NULL')


def downgrade() -> None:
    op.drop_column('report', 'stored_xid')
