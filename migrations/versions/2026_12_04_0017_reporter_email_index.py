"""Reports by their reporter's address in any case: a guest's own reports, and a search for an address.

A guest kept to their own reports sees those whose `lower(reporter_email)` is their address, and a search for
an address finds the reports sent from it; each read every report of the tenant to compare addresses.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_report_tenant_reporter_email', 'report', ['organization_id', sa.text('lower(reporter_email)')]
    )


def downgrade() -> None:
    op.drop_index('ix_report_tenant_reporter_email', table_name='report')
