"""Tags are kept as column names are: trimmed, composed (NFC), each once whatever its case or width (the first
spelling stays), and found by the tag filter in any case or width through their keys (`tag_keys`).

The backfill reads the reports that have tags, in batches, with every tenant's rows let through for the
migration (row-level security binds the owner too: `rls.every_tenants_rows`). The keys are written out here as this revision makes them (app/lib/names.py's `name_key`): a later
change of that needs a migration of its own. Downgrading drops the keys and keeps the tags as they now are,
which the former code read as well.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from tenants import rls

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

_REPORT = sa.table(
    'report',
    sa.column('id'),
    sa.column('tags', advanced_alchemy.types.JsonB),
    sa.column('tag_keys', advanced_alchemy.types.JsonB),
)


def _key(tag: str) -> str:
    return unicodedata.normalize('NFKC', unicodedata.normalize('NFKC', tag.strip()).casefold())


def _distinct(tags: list[str]) -> list[str]:
    kept: dict[str, str] = {}
    for tag in tags:
        kept.setdefault(_key(tag), unicodedata.normalize('NFC', tag.strip()))
    return [kept[key] for key in sorted(kept)]


def upgrade() -> None:
    # Not batch mode: SQLite must not rebuild `report`, whose rowids key the FTS index (see search.py).
    op.add_column('report', sa.Column('tag_keys', advanced_alchemy.types.JsonB, nullable=False, server_default='[]'))
    bind = op.get_bind()
    with rls.every_tenants_rows(bind, 'report'):  # the system scope reads every report but may write none
        _keep_tags_once(bind)


def _keep_tags_once(bind: sa.Connection) -> None:
    after = None
    while True:
        batch = sa.select(_REPORT.c.id, _REPORT.c.tags).order_by(_REPORT.c.id).limit(BATCH)
        rows = bind.execute(batch if after is None else batch.where(_REPORT.c.id > after)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            if row.tags:
                tags = _distinct(row.tags)
                changes.append({'report_id': row.id, 'tags': tags, 'keys': [_key(tag) for tag in tags]})
        if changes:
            bind.execute(
                sa.update(_REPORT)
                .where(_REPORT.c.id == sa.bindparam('report_id'))
                .values(tags=sa.bindparam('tags'), tag_keys=sa.bindparam('keys')),
                changes,
            )
        after = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE report DROP COLUMN tag_keys')
    else:
        op.drop_column('report', 'tag_keys')
