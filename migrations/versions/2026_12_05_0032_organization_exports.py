"""An organization's export asked for in the admin UI: its latest one (at most one per organization), its progress
while the worker writes it, and where its archive is stored. A tenant table under row-level security; the worker's
sweeper reads every tenant's in the system scope, to delete the archives past their days.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organization_export',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('requested_by_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('finished_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_organization_export_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_organization_export_requested_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_export')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_organization_export_organization_id'))
    )
    with op.batch_alter_table('organization_export', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_export_organization_id'), ['organization_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in rls.tenant_table_statements('organization_export', '(SELECT lantern_system())'):
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('organization_export', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_export_organization_id'))

    op.drop_table('organization_export')
