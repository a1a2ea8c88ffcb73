"""Row-level security policies read the tenant once per statement, not once per row.

A policy that calls `lantern_tenant()` directly is evaluated again for every row it filters: counting a
tenant's 210,000 reports took 79 ms, 23 ms once the calls are scalar subqueries (evaluated once, as an
InitPlan). The policies mean exactly what they meant; migrations 0001 and 0002 now write this form for a
new database, and this one rewrites the policies of an existing one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from tenants import rls

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Every tenant table of 0001 and 0002, with the extra rows a lookup scope may read.
TENANT_TABLES: dict[str, str | None] = {
    'membership': 'user_id = (SELECT lantern_user())',
    'invitation': 'token_hash = (SELECT lantern_credential())',
    'project': None,
    'project_key': 'key = (SELECT lantern_credential())',
    'project_member': None,
    'api_token': 'token_hash = (SELECT lantern_credential())',
    'report': '(SELECT lantern_system())',
    'screenshot': '(SELECT lantern_system())',
    'project_counter': None,
    'project_column': None,
    'report_comment': None,
    'attachment': '(SELECT lantern_system())',
}


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, lookup in TENANT_TABLES.items():
        op.execute(f'ALTER POLICY tenant_isolation ON {table} {rls.tenant_policy(lookup)}')
    op.execute(
        f'ALTER POLICY tenant_isolation ON organization USING ({rls.ORGANIZATION_USING}) WITH CHECK (id = {rls.TENANT})'
    )


def downgrade() -> None:
    # Nothing to undo: the policies admit the same rows in either form.
    pass
