"""Comments made with an organization API token name that token: an integration's comments are told apart
from anonymous ones (the token acts for the organization, so no person is their author).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_token_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_report_comment_author_token_id_api_token'), 'api_token', ['author_token_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_comment_author_token_id_api_token'), type_='foreignkey')
        batch_op.drop_column('author_token_id')
