"""A report keeps when it was last moved into the closed column (`closed_at`, BugHerd's); NULL while it is in
another.

The reports already closed take it from their history: the latest change that moved them into the closed column
(a report filed closed has that as its first entry). One closed before the history was kept (migration 0020)
takes the moment it was last changed, the nearest the database knows.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A change's `changes` holds `"status": [before, after]`; JSON is read by each database's own function.
_MOVED_INTO_CLOSED = {
    'postgresql': "report_change.changes -> 'status' ->> 1 = 'closed'",
    'sqlite': "json_extract(report_change.changes, '$.status[1]') = 'closed'",
}
CLOSED_WHEN = """
UPDATE report SET closed_at = COALESCE(
    (SELECT max(report_change.created_at) FROM report_change
     WHERE report_change.report_id = report.id AND {moved_into_closed}),
    report.updated_at
)
WHERE report.status = 'closed'
"""

def upgrade() -> None:
    # A plain ADD COLUMN, not a batch copy: SQLite must not rebuild `report`, whose rowids key the FTS index.
    closed_at = sa.Column('closed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
    op.add_column('report', closed_at)
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'report', 'report_change'):  # no scope reads every tenant's history
        op.execute(CLOSED_WHEN.format(moved_into_closed=_MOVED_INTO_CLOSED[bind.dialect.name]))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE report DROP COLUMN closed_at')
    else:
        op.drop_column('report', 'closed_at')
