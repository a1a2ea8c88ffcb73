"""Search narrows to the tenant inside its index.

The bigram index held every tenant's reports: a common word matched thousands of other tenants' rows,
each read from the table only to be dropped (150 ms at 1,000,000 reports). With btree_gin the GIN index
leads with organization_id, so a search reads only the caller's own matches.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gin')
    # Not batch mode: SQLite must not rebuild `report`, whose rowids key the FTS index (see search.py).
    op.drop_index('ix_report_search_grams', table_name='report', postgresql_using='gin')
    op.create_index(
        'ix_report_tenant_search_grams',
        'report',
        ['organization_id', 'search_grams'],
        unique=False,
        postgresql_using='gin',
    )


def downgrade() -> None:
    op.drop_index('ix_report_tenant_search_grams', table_name='report', postgresql_using='gin')
    op.create_index('ix_report_search_grams', 'report', ['search_grams'], unique=False, postgresql_using='gin')
