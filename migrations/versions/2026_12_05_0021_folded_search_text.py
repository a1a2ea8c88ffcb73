"""Search compares text folded, without case, accents or width: "cancion" finds "canción", "GRÖSSE" finds
"Größe", a half-width "ｶｰﾄ" finds "カート". Each report keeps its title and description folded and a line
apart (`search_text`), which the exact match reads; its bigrams (PostgreSQL) are those of that text, and on
SQLite the trigram index reads it instead of title and description.

The backfill folds every report in batches, every tenant's (row-level security binds the owner too).
The fold is written out here as this revision has it: a later change of `search.fold` needs a migration of
its own to fold the stored text again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from tenants import rls

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
INDEXED_CHARS = 10_200  # a title's 200 and the description's first 10,000

_ACCENTS = re.compile('[\u0300-\u036f]')

_REPORT = sa.table(
    'report',
    sa.column('id'),
    sa.column('title', sa.Text()),
    sa.column('description', sa.Text()),
    sa.column('search_text', sa.Text()),
    sa.column('search_grams', ARRAY(sa.Text()).with_variant(sa.JSON(), 'sqlite')),
)

SQLITE_FOLDED_INDEX = (
    "CREATE VIRTUAL TABLE report_fts USING fts5("
    "search_text, content='report', content_rowid='rowid', tokenize='trigram')",
    """CREATE TRIGGER report_fts_after_insert AFTER INSERT ON report BEGIN
    INSERT INTO report_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END""",
    """CREATE TRIGGER report_fts_after_delete AFTER DELETE ON report BEGIN
    INSERT INTO report_fts(report_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END""",
    """CREATE TRIGGER report_fts_after_update AFTER UPDATE OF search_text ON report BEGIN
    INSERT INTO report_fts(report_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO report_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END""",
    "INSERT INTO report_fts(report_fts) VALUES('rebuild')",
)
# Migration 0002's index, over title and description as written.
SQLITE_FORMER_INDEX = (
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
    "INSERT INTO report_fts(report_fts) VALUES('rebuild')",
)
SQLITE_INDEX_DROP = (
    "DROP TRIGGER IF EXISTS report_fts_after_update",
    "DROP TRIGGER IF EXISTS report_fts_after_delete",
    "DROP TRIGGER IF EXISTS report_fts_after_insert",
    "DROP TABLE IF EXISTS report_fts",
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize('NFKD', text.casefold())
    return unicodedata.normalize('NFC', _ACCENTS.sub('', decomposed))


def _grams(text: str) -> list[str]:
    return sorted({word[i : i + 2] for word in text[:INDEXED_CHARS].split() for i in range(len(word) - 1)})


def _folded(title: str, description: str) -> tuple[str, list[str]]:
    text = _fold(f'{title}\n{description}')
    return text, _grams(text)


def _former(title: str, description: str) -> tuple[str, list[str]]:
    """Migration 0002's bigrams: of the case-folded title and first 10,000 characters of the description."""
    return '', sorted(set(_grams(title.casefold()) + _grams(description[:10_000].casefold())))


def _index_every_report(index: Callable[[str, str], tuple[str, list[str]]]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DELETE FROM search_gram_share')  # counted anew by the worker within the hour
    with rls.every_tenants_rows(bind, 'report'):
        _index_reports(bind, index)


def _index_reports(bind: sa.Connection, index: Callable[[str, str], tuple[str, list[str]]]) -> None:
    after = None
    while True:
        batch = sa.select(_REPORT.c.id, _REPORT.c.title, _REPORT.c.description).order_by(_REPORT.c.id).limit(BATCH)
        rows = bind.execute(batch if after is None else batch.where(_REPORT.c.id > after)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            text, grams = index(row.title or '', row.description or '')
            changes.append({'report_id': row.id, 'text': text, 'grams': grams})
        bind.execute(
            sa.update(_REPORT)
            .where(_REPORT.c.id == sa.bindparam('report_id'))
            .values(search_text=sa.bindparam('text'), search_grams=sa.bindparam('grams')),
            changes,
        )
        after = rows[-1].id


def upgrade() -> None:
    # Not batch mode: SQLite must not rebuild `report`, whose rowids key the FTS index (see search.py).
    op.add_column('report', sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        for statement in SQLITE_INDEX_DROP:
            op.execute(statement)
    _index_every_report(_folded)
    if sqlite:
        for statement in SQLITE_FOLDED_INDEX:
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        for statement in SQLITE_INDEX_DROP:
            op.execute(statement)
    _index_every_report(_former)
    if sqlite:
        op.execute('ALTER TABLE report DROP COLUMN search_text')
        for statement in SQLITE_FORMER_INDEX:
            op.execute(statement)
    else:
        op.drop_column('report', 'search_text')
