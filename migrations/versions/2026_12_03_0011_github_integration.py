"""The GitHub integration: a project's connection to a repository (its token sealed), and one issue per report.

Both tables are tenant tables under row-level security; the worker's sweeper reads every tenant's pending
issues in the system scope, as it reads pending webhook deliveries.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:37:44.350817
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GITHUB_TABLES: dict[str, str | None] = {
    "github_connection": None,
    "github_issue": "(SELECT lantern_system())",
}


def upgrade() -> None:
    op.create_table('github_connection',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('repository', sa.String(length=200), nullable=False),
    sa.Column('api_url', sa.String(length=2048), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=False),
    sa.Column('token_hint', sa.String(length=16), nullable=False),
    sa.Column('labels', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_github_connection_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_github_connection_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_connection')),
    sa.UniqueConstraint('project_id', name=op.f('uq_github_connection_project_id'))
    )
    with op.batch_alter_table('github_connection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_github_connection_organization_id'), ['organization_id'], unique=False)

    op.create_table('github_issue',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('report_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('repository', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_github_issue_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_github_issue_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_issue')),
    sa.UniqueConstraint('report_id', name=op.f('uq_github_issue_report_id'))
    )
    with op.batch_alter_table('github_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_github_issue_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_github_issue_status_next', ['status', 'next_attempt_at'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for table, lookup in GITHUB_TABLES.items():
            for statement in rls.tenant_table_statements(table, lookup):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('github_issue', schema=None) as batch_op:
        batch_op.drop_index('ix_github_issue_status_next')
        batch_op.drop_index(batch_op.f('ix_github_issue_organization_id'))

    op.drop_table('github_issue')
    with op.batch_alter_table('github_connection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_github_connection_organization_id'))

    op.drop_table('github_connection')
