"""E-mails kept until they are sent (an outbox): a lost job no longer loses an invitation, a notification or a
password reset's link.

`outgoing_email` holds an organization's e-mails (invitations, notifications): a tenant table under row-level
security, whose every tenant's pending rows the sweeper reads in the system scope, as it reads webhook deliveries. A
password reset is a person's own, of no organization: its row (a global one, without row-level security) is its
e-mail's record too, and gains the same columns. Resets made before this revision (or by the former version's pods
during the rollout) had their e-mail queued the former way: they are taken as sent, and no sweeper sends them again.
Downgrading drops the e-mails still to send.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_BEFORE = 'sent'


def upgrade() -> None:
    op.create_table('outgoing_email',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('arguments', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('sent_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_outgoing_email_organization_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_email'))
    )
    with op.batch_alter_table('outgoing_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_email_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_outgoing_email_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outgoing_email_topic_status', ['topic', 'status'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        for statement in rls.tenant_table_statements('outgoing_email', '(SELECT lantern_system())'):
            op.execute(statement)

    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('sent_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        # The resets already made, and those that pods of the former version make during the rollout (their job
        # queued the former way), are taken as sent; this version writes every column itself.
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default=SENT_BEFORE))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error', sa.String(length=500), nullable=True))
        batch_op.create_index('ix_password_reset_status_next', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index('ix_password_reset_status_next')
        batch_op.drop_column('error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('locale')

    with op.batch_alter_table('outgoing_email', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_email_topic_status')
        batch_op.drop_index('ix_outgoing_email_status_next')
        batch_op.drop_index(batch_op.f('ix_outgoing_email_organization_id'))

    op.drop_table('outgoing_email')
