"""A report's history: each triage change, who made it (a person, or an integration's API token) and every
field it changed, before and after. A tenant table under row-level security.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_change',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('report_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('author_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('author_token_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('changes', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_report_change_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['author_token_id'], ['api_token.id'], name=op.f('fk_report_change_author_token_id_api_token'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_report_change_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_change_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_change'))
    )
    with op.batch_alter_table('report_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_change_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_change_report_id'), ['report_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in rls.tenant_table_statements('report_change', None):
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('report_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_change_report_id'))
        batch_op.drop_index(batch_op.f('ix_report_change_organization_id'))

    op.drop_table('report_change')
