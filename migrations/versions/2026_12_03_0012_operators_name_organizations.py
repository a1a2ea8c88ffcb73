"""The instance's operators see every organization's name on their job dashboard.

That view reads in the system scope, as the worker's sweepers do; the organization table's policy now admits
that scope too (its tenant tables with sweepable work already did), so the busiest organizations are listed
by name, not by id alone.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from tenants import rls

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM = '(SELECT lantern_system())'


def _policy(using: str) -> str:
    return f'ALTER POLICY tenant_isolation ON organization USING ({using}) WITH CHECK (id = {rls.TENANT})'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_policy(f'{rls.ORGANIZATION_USING} OR {SYSTEM}'))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_policy(rls.ORGANIZATION_USING))
