"""Search over title and description that stays on an index for every shipped language.

A term's words are each looked for, in any order (`search_words`): "Warenkorb Knopf" finds "Warenkorb-Knopf
funktioniert nicht", "カート ボタン" a report with both words apart; words in double quotes are one phrase,
found as written. Each word is a substring of the title or of the description, compared as `fold` writes
both: without case, accents or width ("cancion" finds "canción", "GRÖSSE" "Größe", "ｶｰﾄ" "カート"). Each report
keeps its folded text (`search_text`, title and description a line apart) for that exact match.

pg_trgm cannot index terms shorter than three characters, and two-character words are everyday Chinese
and Japanese (結帳, 付款). So each report keeps the distinct character bigrams of its folded text in an
array column with a GIN index; a search asks for reports holding all the term's bigrams (`@>`, indexed) and
rechecks each word in `search_text` with LIKE.

On SQLite, the embedded default for small installations, an FTS5 table with the trigram tokenizer
(`report_fts`, external content over report's `search_text`, kept in step by triggers made in migration
0021) finds the candidate rows for the words of three or more characters, and the same match rechecks
them. Trigrams have a three-character floor, so a shorter term (a two-character Chinese or Japanese word
like 結帳) falls back to the scan of the caller's reports. The FTS table is keyed on report's implicit
rowid, which SQLite keeps across inserts and deletes but may renumber when a table is rebuilt (a batch
migration of `report`, or a VACUUM of a table without an INTEGER PRIMARY KEY): such a step must end with
`INSERT INTO report_fts(report_fts) VALUES('rebuild')`. The recheck means a stale index can only miss
reports, never show a wrong one.

Row-level security hides an index behind any operator that is not LEAKPROOF (`@>` is not): the planner
must apply the tenant policy first. So the indexed lookup runs in `lantern_search_report_ids()`, a
SECURITY DEFINER function owned by the migration role, which filters by `lantern_tenant()` itself and
so returns only the caller's own reports.

The lookup asks the index for the term's two rarest bigrams only (`lantern_search_grams()`, migration
0008): a common bigram like "ch" is a posting list of a third of all reports, which costs the index far
more than it narrows, and the ILIKE recheck is exact whatever the candidates. How common each bigram is
comes from `search_gram_share`, which the worker refreshes every hour from the instance's newest reports.
It is one table for all tenants, like PostgreSQL's own statistics: it only orders which bigrams to look
up, so a tenant whose words differ gets a slower lookup, never another answer, and it is never shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    and_,
    cast,
    column,
    delete,
    event,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from app.domain.accounts.services import normalize_email
from app.domain.reports.audience import GuestView
from app.domain.reports.models import Report, named_by_tracking_id
from app.lib.patterns import EMAIL
from tenants.context import tenant_scope
from tenants.db import scoped

# Bigrams of the title and of this much description are indexed; the recheck sees the whole text.
INDEXED_DESCRIPTION_CHARS = 10_000
MAX_TITLE_CHARS = 200

# The FTS5 trigram tokenizer cannot match a term shorter than a trigram.
TRIGRAM_FLOOR = 3

# Not in the models' metadata: the migration makes this virtual table, autogenerate leaves it alone.
_REPORT_FTS = table("report_fts", column("rowid", Integer), column("report_fts", Text))
# report's implicit rowid, which the ORM does not map; a literal so it adds no second `report` to FROM.
_REPORT_ROWID = literal_column("report.rowid", Integer)

# How common each bigram is (PostgreSQL), counted in this many of the newest reports: enough to tell a
# bigram in one report of a hundred from one in one of three, and a few hundred milliseconds every hour.
GRAM_SHARE_SAMPLE = 10_000
# Rarer bigrams are not kept: a bigram missing from the table counts as the rarest.
GRAM_SHARE_FLOOR = 0.001
# Not in the models' metadata (PostgreSQL only): migration 0008 makes this table.
_GRAM_SHARE = table("search_gram_share")
# Report ids are UUIDv7, so the primary key's order is the order reports were stored in.
_COUNT_GRAM_SHARES = text("""
INSERT INTO search_gram_share (gram, share)
SELECT gram, count(*)::real / sampled
FROM (
    SELECT search_grams, count(*) OVER () AS sampled
    FROM (SELECT search_grams FROM report ORDER BY id DESC LIMIT :sample) AS newest
) AS sample
CROSS JOIN unnest(sample.search_grams) AS gram
GROUP BY gram, sampled
HAVING count(*)::real / sampled >= :floor
""")


def fold(text: str) -> str:
    """`text` as search compares it: case-folded ("ß" as "ss"), compatibility forms as their plain characters
    (full-width letters and digits as plain ones, half-width "ｶ" as "カ"), and without the accents of Latin, Greek and
    Cyrillic letters ("canción" as "cancion"); a Japanese voicing mark stays (が is not か)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed))


# The combining accents of Latin, Greek and Cyrillic letters once decomposed (U+0300 to U+036F).
_ACCENTS = re.compile("[\u0300-\u036f]")


def bigrams(text: str) -> list[str]:
    """Distinct character bigrams of the folded text, none spanning whitespace."""
    return sorted(_bigram_set(fold(text)))


def report_search_text(title: str, description: str) -> str:
    """What a report's `search_text` holds: its title and description folded, a line apart (no word of a
    search spans a line)."""
    return fold(f"{title}\n{description}")


def report_bigrams(search_text: str) -> list[str]:
    """The bigrams a report is indexed by: those of its title and of the first part of its description."""
    return sorted(_bigram_set(search_text[: INDEXED_DESCRIPTION_CHARS + MAX_TITLE_CHARS]))


def _bigram_set(folded: str) -> set[str]:
    # Splitting at whitespace first leaves exactly the bigrams that do not span it.
    return {word[i : i + 2] for word in folded.split() for i in range(len(word) - 1)}


# A phrase in double quotes, or a word: what a search looks for, each on its own.
# Words are apart at spaces and commas ("Warenkorb, Knopf"); a quote that closes no phrase is no character to
# look for ("quick brown found nothing).
_SEARCH_WORD = re.compile(r'"([^"]+)"|([^\s,]+)')


def search_words(term: str) -> list[str]:
    """The words of a search term, and its phrases in double quotes as one word each, none empty."""
    found = (phrase or word.strip('"') for phrase, word in _SEARCH_WORD.findall(term))
    return [word for word in found if word]


def escape_like(term: str) -> str:
    """`term` with LIKE's wildcards escaped (escape character: backslash), so it matches literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def substring_condition(term: str, dialect: str) -> ColumnElement[bool]:
    """Title or description holds `term`, both folded: the exact answer, by itself a scan. (Neither database's
    own case-insensitive match would do: SQLite's folds ASCII alone, PostgreSQL's keeps "ß" apart from "ss".)"""
    folded = fold(term)
    if dialect == "sqlite":
        return func.instr(Report.search_text, folded) > 0
    return Report.search_text.like(f"%{escape_like(folded)}%", escape="\\")


def search_condition(term: str, dialect: str, guest: GuestView | None) -> ColumnElement[bool]:
    """Reports that match every word of the term: a word that names a tracking ID (`BSK-42`) finds that report,
    and an e-mail address the reports sent from it (in any case; to a `guest`, only their own address does),
    beside those whose title or description hold it; any other word, the reports whose title or description hold
    it (see `_text_condition`). The term is composed (NFC) first, as browsers send text (macOS composes "é" of
    "e" and an accent in some input), and without NUL characters, which no stored text holds (SQLite's
    statement broke on one: a 503)."""
    words = search_words(unicodedata.normalize("NFC", term.replace("\x00", "")))
    named = {word: _named(word, guest) for word in words}
    plain = [word for word in words if not named[word]]
    found = [_text_condition(plain, dialect)] if plain else []
    found += [or_(*conditions, substring_condition(word, dialect)) for word, conditions in named.items() if conditions]
    return and_(true(), *found)


def _named(word: str, guest: GuestView | None) -> list[ColumnElement[bool]]:
    """The report `word` names as its tracking ID, or the reports sent from the address it is (see
    `GuestView.may_name`); else none."""
    named = []
    if (by_tracking_id := named_by_tracking_id(word)) is not None:
        named.append(by_tracking_id)
    if re.match(EMAIL, word) and (guest is None or guest.may_name(word)):  # the reporter's, as the widget takes it
        named.append(func.lower(Report.reporter_email) == normalize_email(word))  # kept so (`reporter_address`)
    return named


def _text_condition(words: list[str], dialect: str) -> ColumnElement[bool]:
    """Every one of the words by `substring_condition`, narrowed first by the index where this database has one
    for them: their bigrams, none spanning a space."""
    words = [fold(word) for word in words]
    exact = and_(*(substring_condition(word, dialect) for word in words))
    if dialect == "sqlite":
        long_enough = [word for word in words if len(word) >= TRIGRAM_FLOOR]
        return _sqlite_candidates(long_enough) & exact if long_enough else exact
    grams = bigrams(" ".join(words))
    if dialect != "postgresql" or not grams:
        return exact
    indexed = select(func.lantern_search_report_ids(cast(grams, ARRAY(Text))).table_valued("id").c.id)
    return Report.id.in_(indexed) & exact


async def refresh_gram_shares(
    session: AsyncSession,
    *,
    sample: int = GRAM_SHARE_SAMPLE,
    floor: float = GRAM_SHARE_FLOOR,
) -> int:
    """Count again how common each bigram is in the newest `sample` reports, keeping those in at least
    `floor` of them, for the lookup to ask its index for a term's rarest (see the module's doc); returns how
    many were kept. Run in the system scope, which reads every tenant's reports, inside the caller's
    transaction: searches see the former shares until it commits."""
    # Two workers starting together both count: the second waits for the first's shares and replaces them,
    # where its insert would otherwise collide with the rows the first committed meanwhile.
    await session.execute(text("LOCK TABLE search_gram_share IN SHARE ROW EXCLUSIVE MODE"))
    await session.execute(delete(_GRAM_SHARE))
    counted = await session.execute(_COUNT_GRAM_SHARES, {"sample": sample, "floor": floor})
    return int(counted.rowcount)  # type: ignore[attr-defined]


def fts5_string(term: str) -> str:
    """`term` as one FTS5 string (a phrase), so no user input is read as FTS5 query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _sqlite_candidates(words: list[str]) -> ColumnElement[bool]:
    """Reports whose title or description holds every trigram of each word in order (case-folded): the
    words' phrases side by side, which FTS5 reads as all of them."""
    query = " ".join(fts5_string(word) for word in words)
    matching = select(_REPORT_FTS.c.rowid).where(_REPORT_FTS.c.report_fts.match(query))
    return _REPORT_ROWID.in_(matching)


REINDEX_BATCH = 1000


async def reindex_batch(session: AsyncSession, after: UUID | None) -> list[UUID]:
    """Index again the texts of the next reports after `after` (by id, a batch of them): returns their ids, none
    past the last report. Read in the caller's system scope, written in each report's tenant scope (row-level
    security lets no other write it); the caller commits. For reports that code of another version wrote or
    changed (an old server during a rolling upgrade across migration 0021)."""
    batch = select(Report.id, Report.organization_id, Report.title, Report.description, Report.updated_at)
    if after is not None:
        batch = batch.where(Report.id > after)
    rows = (await session.execute(batch.order_by(Report.id).limit(REINDEX_BATCH))).all()
    by_tenant: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        # `updated_at` as it was: indexing changes nothing a person, or a client syncing by it, would see.
        changes = {"id": row.id, "updated_at": row.updated_at, **search_fields(row.title, row.description)}
        by_tenant[row.organization_id].append(changes)
    for organization_id, indexed_rows in by_tenant.items():
        async with scoped(session, tenant_scope(organization_id)):
            await session.execute(update(Report), indexed_rows)  # by primary key, one statement for the tenant
    return [row.id for row in rows]


def search_fields(title: str | None, description: str | None) -> dict[str, Any]:
    """What search finds a report by: its folded text and that text's bigrams, by column."""
    folded = report_search_text(title or "", description or "")
    return {"search_text": folded, "search_grams": report_bigrams(folded)}


def index_text(report: Report) -> None:
    """Set what search finds the report by (`search_fields`)."""
    for name, value in search_fields(report.title, report.description).items():
        setattr(report, name, value)


@event.listens_for(Report, "before_insert")
def _index_new(_mapper: Mapper[Any], _connection: Any, report: Report) -> None:
    index_text(report)


@event.listens_for(Report, "before_update")
def _index_changed(_mapper: Mapper[Any], _connection: Any, report: Report) -> None:
    # A triage change touches neither: the texts are not folded and written again for a status.
    changed = inspect(report).attrs
    if changed.title.history.has_changes() or changed.description.history.has_changes():
        index_text(report)
