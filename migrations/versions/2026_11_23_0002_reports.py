"""Reports: reports with per-project tracking counters, uploaded screenshots, attachments, custom
board columns and comments; row-level security on each (reports and screenshots are also readable by
the system scope: the sweeper finds the work the queue lost); the tenant-filtered search function
(PostgreSQL), or the FTS5 trigram table over report kept in step by triggers (SQLite).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:55:54.268265
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tenants import rls

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Search's indexed lookup, as a SECURITY DEFINER function (see app/domain/reports/search.py); migration 0008
# narrows it to the term's rarest bigrams.
SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION lantern_search_report_ids(grams text[]) RETURNS TABLE (id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT report.id FROM report WHERE organization_id = lantern_tenant() AND search_grams @> grams
$$
"""

REPORT_TABLES: dict[str, str | None] = {
    "report": "(SELECT lantern_system())",
    "screenshot": "(SELECT lantern_system())",
    "project_counter": None,
    "project_column": None,
    "report_comment": None,
    "attachment": "(SELECT lantern_system())",
}

# SQLite: the trigram index search.py queries. External content: the text stays in report only; the
# triggers keep the index in step with every insert, delete and change of title or description.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE report_fts USING fts5("
    "title, description, content='report', content_rowid='rowid', tokenize='trigram')",
    """CREATE TRIGGER report_fts_after_insert AFTER INSERT ON report BEGIN
    INSERT INTO report_fts(rowid, title, description) VALUES (new.rowid, new.title, new.description);
END""",
    """CREATE TRIGGER report_fts_after_delete AFTER DELETE ON report BEGIN
    INSERT INTO report_fts(report_fts, rowid, title, description)
    VALUES ('delete', old.rowid, old.title, old.description);
END""",
    """CREATE TRIGGER report_fts_after_update AFTER UPDATE OF title, description ON report BEGIN
    INSERT INTO report_fts(report_fts, rowid, title, description)
    VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO report_fts(rowid, title, description) VALUES (new.rowid, new.title, new.description);
END""",
)
SQLITE_SEARCH_DROP = (
    "DROP TRIGGER IF EXISTS report_fts_after_update",
    "DROP TRIGGER IF EXISTS report_fts_after_delete",
    "DROP TRIGGER IF EXISTS report_fts_after_insert",
    "DROP TABLE IF EXISTS report_fts",
)


def upgrade() -> None:
    op.create_table('project_column',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_project_column_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_column_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_column')),
    sa.UniqueConstraint('project_id', 'name', name='uq_project_column_name'),
    sa.UniqueConstraint('project_id', 'status_id', name='uq_project_column_status_id')
    )
    with op.batch_alter_table('project_column', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_column_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_column_project_id'), ['project_id'], unique=False)

    op.create_table('project_counter',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_project_counter_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_counter_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_counter')),
    sa.UniqueConstraint('project_id', name=op.f('uq_project_counter_project_id'))
    )
    with op.batch_alter_table('project_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_counter_organization_id'), ['organization_id'], unique=False)

    op.create_table('report',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('tracking_id', sa.String(length=24), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reporter_name', sa.String(length=200), nullable=True),
    sa.Column('reporter_email', sa.String(length=320), nullable=True),
    sa.Column('reporter_identifier', sa.String(length=320), nullable=True),
    sa.Column('page_url', sa.String(length=2048), nullable=True),
    sa.Column('page_metadata', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('console_logs', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('network_logs', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('user_actions', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('annotations', advanced_alchemy.types.JsonB, nullable=True),
    sa.Column('tags', advanced_alchemy.types.JsonB, nullable=False),
    sa.Column('assignee_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('search_grams', postgresql.ARRAY(sa.Text()).with_variant(sa.JSON(), 'sqlite'), nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_report_assignee_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_report_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_report_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('project_id', 'number', name='uq_report_project_number')
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_report_search_grams', ['search_grams'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_report_tenant_created', ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_report_tenant_project_created', ['organization_id', 'project_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_report_tenant_project_status_created', ['organization_id', 'project_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_report_tenant_severity_created', ['organization_id', 'severity', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_report_tenant_status_created', ['organization_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_tracking_id'), ['tracking_id'], unique=False)
        batch_op.create_index('ix_report_unnumbered', ['project_id', 'created_at'], unique=False, postgresql_where='number IS NULL')

    op.create_table('attachment',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('report_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('key', sa.String(length=300), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('created_by_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_attachment_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_attachment_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_attachment_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('key', name=op.f('uq_attachment_key'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_report_id'), ['report_id'], unique=False)

    op.create_table('report_comment',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('report_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('author_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_report_comment_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_report_comment_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_comment_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_comment'))
    )
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_comment_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_comment_report_id'), ['report_id'], unique=False)

    op.create_table('screenshot',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('project_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('report_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('annotated', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=300), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('organization_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_screenshot_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_screenshot_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_screenshot_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenshot')),
    sa.UniqueConstraint('key', name=op.f('uq_screenshot_key'))
    )
    with op.batch_alter_table('screenshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenshot_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screenshot_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screenshot_report_id'), ['report_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        rls.enable(op.execute, REPORT_TABLES)
        op.execute(SEARCH_FUNCTION)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lantern_search_report_ids(text[])")
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_SEARCH_DROP:
            op.execute(statement)
    with op.batch_alter_table('screenshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screenshot_report_id'))
        batch_op.drop_index(batch_op.f('ix_screenshot_project_id'))
        batch_op.drop_index(batch_op.f('ix_screenshot_organization_id'))

    op.drop_table('screenshot')
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_comment_report_id'))
        batch_op.drop_index(batch_op.f('ix_report_comment_organization_id'))

    op.drop_table('report_comment')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_report_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_organization_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index('ix_report_unnumbered', postgresql_where='number IS NULL')
        batch_op.drop_index(batch_op.f('ix_report_tracking_id'))
        batch_op.drop_index('ix_report_tenant_status_created')
        batch_op.drop_index('ix_report_tenant_severity_created')
        batch_op.drop_index('ix_report_tenant_project_status_created')
        batch_op.drop_index('ix_report_tenant_project_created')
        batch_op.drop_index('ix_report_tenant_created')
        batch_op.drop_index('ix_report_search_grams', postgresql_using='gin')
        batch_op.drop_index(batch_op.f('ix_report_organization_id'))

    op.drop_table('report')
    with op.batch_alter_table('project_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_counter_organization_id'))

    op.drop_table('project_counter')
    with op.batch_alter_table('project_column', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_column_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_column_organization_id'))

    op.drop_table('project_column')
