"""Every tracking prefix a project has had, its current one included, kept as the project's for good within its
organization (a deleted project's too, leading nowhere): a tracking ID given once names its one report, also
after its project's prefix changed. A tenant table under row-level security; migration 0025 fills it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('project_prefix',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('prefix', sa.String(length=10), nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_project_prefix_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_prefix_project_id_project'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_prefix')),
    sa.UniqueConstraint('organization_id', 'prefix', name=op.f('uq_project_prefix_organization_id'))
    )
    with op.batch_alter_table('project_prefix', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_prefix_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_prefix_project_id'), ['project_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in rls.tenant_table_statements('project_prefix', None):
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('project_prefix', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_prefix_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_prefix_organization_id'))

    op.drop_table('project_prefix')
