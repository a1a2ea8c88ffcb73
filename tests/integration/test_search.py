"""Search finds substrings in every shipped language, stays on an index on PostgreSQL, never crosses tenants."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote_to_bytes
from uuid import UUID

import httpx
import pytest
from sqlalchemy import and_, event, select, text, true
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.reports.models import Report
from app.domain.reports.search import bigrams, fold, refresh_gram_shares, search_words, substring_condition
from app.lib.database import alchemy_config
from app.seed import reindex_search
from tenants.context import system_scope, tenant_scope
from tests.support.clients import WIDGET_METADATA, ApiClient, Tenant, TenantFactory
from workers.jobs import refresh_search_gram_shares

TITLES = [
    "結帳按鈕無回應",  # zh-TW: "checkout button does not respond"
    "支付页面加载缓慢",  # zh-CN
    "ログイン画面でエラー",  # ja
    "Checkout button broken on Safari",
    "50% discount_code ignored",
    "Ümlauts im Warenkorb",  # de
    "Ошибка при оплате",  # ru
    "Σφάλμα πληρωμής",  # el
    "La canción no suena",  # es
    "Größe ändern geht nicht",
    "カートが空になる",
]


async def _submit(anonymous: ApiClient, key: str, title: str, description: str = "") -> dict[str, Any]:
    response = await anonymous.post(
        "/api/v1/reports",
        json={"title": title, "description": description, "severity": "low", "category": "bug"},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def _search(tenant: Tenant, term: str) -> list[str]:
    found = await tenant.client.get("/api/v1/reports", params={"search": term, "page_size": 100})
    assert found.status_code == 200, found.text
    return sorted(item["title"] for item in found.json()["data"]["items"])


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("結帳", "結帳按鈕無回應"),  # two-character Chinese word
        ("無回應", "結帳按鈕無回應"),  # three characters
        ("加载", "支付页面加载缓慢"),
        ("画面", "ログイン画面でエラー"),
        ("SAFARI", "Checkout button broken on Safari"),  # case-insensitive Latin
        ("ümlauts", "Ümlauts im Warenkorb"),  # ... and beyond ASCII (SQLite's LIKE folds ASCII only)
        ("u\u0308mlauts", "Ümlauts im Warenkorb"),  # "ü" decomposed, as some macOS input sends it
        ("ОПЛАТЕ", "Ошибка при оплате"),
        ("σφάλμα", "Σφάλμα πληρωμής"),
        ("50%", "50% discount_code ignored"),  # LIKE wildcards match literally
        ("safari checkout", "Checkout button broken on Safari"),  # each word, in any order
        ("cancion", "La canción no suena"),  # without accents
        ("CANCIÓN", "La canción no suena"),
        ("umlauts", "Ümlauts im Warenkorb"),
        ("GRÖSSE", "Größe ändern geht nicht"),  # "ß" in capitals, and as the Swiss write it
        ("grösse", "Größe ändern geht nicht"),
        ("ｶｰﾄ", "カートが空になる"),  # half-width katakana
        ("ＣＨＥＣＫＯＵＴ", "Checkout button broken on Safari"),  # full-width letters  # noqa: RUF001
        ("warenkorb ümlauts", "Ümlauts im Warenkorb"),
        ("n_b", None),  # "_" is no wildcard: "button broken" holds "n b" but not "n_b"
        ("付款", None),
    ],
)
async def test_substring_search_in_every_script(
    tenants: TenantFactory,
    anonymous: ApiClient,
    term: str,
    expected: str | None,
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Search")
        for title in TITLES:
            await _submit(anonymous, project["apiKey"], title)
        found = await tenant.client.get("/api/v1/reports", params={"search": term})
        titles = [item["title"] for item in found.json()["data"]["items"]]
        assert titles == ([expected] if expected else [])


async def test_a_query_sent_as_raw_utf8_is_read_as_utf8(tenants: TenantFactory, anonymous: ApiClient, app: Any) -> None:
    """`curl -g '…?search=結帳'` sends the word's UTF-8 bytes, not escaped: they were read as Latin-1, and the
    search found nothing."""

    async def unescaped(scope: Any, receive: Any, send: Any) -> None:  # the bytes such a client sends
        scope["query_string"] = unquote_to_bytes(scope["query_string"])
        await app(scope, receive, send)

    async with tenants.create() as tenant:
        project = await tenant.create_project("Search")
        await _submit(anonymous, project["apiKey"], "結帳按鈕無回應")
        token = (await tenant.create_token())["token"]
        transport = httpx.ASGITransport(app=unescaped)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            found = await client.get("/api/v1/reports?search=結帳", headers={"Authorization": f"Bearer {token}"})
    assert [item["title"] for item in found.json()["data"]["items"]] == ["結帳按鈕無回應"]


@pytest.mark.parametrize("marker", ["zz-marker-7c1f", "結帳", "無回應"])  # trigram index, and the short-term scan
async def test_search_never_crosses_tenants(tenants: TenantFactory, anonymous: ApiClient, marker: str) -> None:
    async with tenants.create() as owner, tenants.create("Other") as other:
        await _submit(anonymous, (await owner.create_project("A"))["apiKey"], f"Crash {marker}")
        await other.create_project("B")
        foreign = await other.client.get("/api/v1/reports", params={"search": marker})
        assert foreign.json()["data"]["total"] == 0
        own = await owner.client.get("/api/v1/reports", params={"search": marker})
        assert own.json()["data"]["total"] == 1


async def test_an_address_finds_the_reports_sent_from_it(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The customer who writes in about their report is found by the address they gave, in any case, as well
    as by the text; another organization's reports from the same address stay its own."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        key = (await tenant.create_project("Shop"))["apiKey"]
        headers = {"X-API-Key": key}
        elsewhere = {"X-API-Key": (await other.create_project("Elsewhere"))["apiKey"]}
        for title, email, to in (
            ("Cart is empty", "Maria@Example.com", headers),
            ("Logo blurry", "bob@example.com", headers),
            ("Other shop", "maria@example.com", elsewhere),
        ):
            body = {"title": title, "reporterEmail": email, "metadata": WIDGET_METADATA}
            sent = await anonymous.post("/api/v1/widget/submit", json=body, headers=to)
            assert sent.status_code == 201, sent.text
        await _submit(anonymous, key, "Write to maria@example.com for details")
        assert await _search(tenant, " MARIA@example.COM ") == [
            "Cart is empty",
            "Write to maria@example.com for details",
        ]
        assert await _search(tenant, "example.com") == ["Write to maria@example.com for details"]  # text only
        assert await _search(other, "maria@example.com") == ["Other shop"]
        # Beside other words, each of which must match too (the address among words found nothing).
        assert await _search(tenant, "maria@example.com cart") == ["Cart is empty"]
        assert await _search(tenant, "empty, MARIA@example.com") == ["Cart is empty"]  # a comma apart


async def test_a_tracking_id_among_words_stray_quotes_and_a_nul_are_searched_as_meant(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """A tracking ID beside a word, a quote that closes no phrase, and commas found nothing; a NUL was a 503."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SRC")
        for title in ("Checkout fails on Safari", "Checkout slow on Firefox"):
            await _submit(anonymous, project["apiKey"], title)
        numbered = await tenant.client.get("/api/v1/reports/SRC-1")
        for _ in range(100):
            if numbered.status_code == 200:
                break
            await asyncio.sleep(0.05)
            numbered = await tenant.client.get("/api/v1/reports/SRC-1")
        first = numbered.json()["data"]["title"]
        assert await _search(tenant, "src-1 checkout") == [first]
        assert await _search(tenant, "checkout SRC-1 nowhere") == []
        assert await _search(tenant, '"checkout fails') == ["Checkout fails on Safari"]
        assert await _search(tenant, "safari,checkout") == ["Checkout fails on Safari"]
        assert await _search(tenant, '"') == sorted(["Checkout fails on Safari", "Checkout slow on Firefox"])
        assert await _search(tenant, "saf\x00ari") == ["Checkout fails on Safari"]
        listed = await tenant.client.get("/api/v1/reports", params={"filter[search]": "checkout,firefox"})
        assert [item["attributes"]["title"] for item in listed.json()["data"]] == ["Checkout slow on Firefox"]


@pytest.mark.postgres
async def test_the_index_lookup_alone_keeps_to_the_tenant(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """lantern_search_report_ids() runs as the table owner, so its own tenant filter is all that keeps
    another tenant's matches out of the ids it hands the list query."""
    async with tenants.create() as owner, tenants.create("Other") as other:
        own = await _submit(anonymous, (await owner.create_project("A"))["apiKey"], "Crash 結帳 qv-lookup")
        await _submit(anonymous, (await other.create_project("B"))["apiKey"], "Crash 結帳 qv-lookup")
        lookup = text("SELECT id FROM lantern_search_report_ids(:grams)")
        for term in ("結帳", "qv-lookup"):
            with tenant_scope(UUID(owner.organization_id)):
                async with alchemy_config().get_session() as session:
                    found = list(await session.scalars(lookup, {"grams": bigrams(term)}))
            assert [str(report_id) for report_id in found] == [own["id"]], term


def test_bigrams_skip_whitespace_and_fold_case() -> None:
    assert bigrams("Ab c") == ["ab"]
    assert bigrams("結帳") == ["結帳"]


@pytest.mark.postgres
async def test_a_search_asks_the_index_for_the_terms_two_rarest_bigrams(app: Any) -> None:
    """A common bigram costs the index more than it narrows; one missing from the shares is the rarest."""
    shares = {"ch": 0.36, "he": 0.49, "ec": 0.49, "ck": 0.02, "ko": 0.01, "ou": 0.05}  # "ut": rarer than 0.1 %
    rarest = text("SELECT lantern_search_grams(:grams)")
    async with alchemy_config().get_session() as session, session.begin():
        await session.execute(text("DELETE FROM search_gram_share"))
        await session.execute(
            text("INSERT INTO search_gram_share (gram, share) VALUES (:gram, :share)"),
            [{"gram": gram, "share": share} for gram, share in shares.items()],
        )
        assert await session.scalar(rarest, {"grams": bigrams("checkout")}) == ["ut", "ko"]
        assert await session.scalar(rarest, {"grams": bigrams("check")}) == ["ck", "ch"]
        assert await session.scalar(rarest, {"grams": bigrams("結帳")}) == ["結帳"]
        await session.execute(text("DELETE FROM search_gram_share"))


async def test_bigram_shares_are_counted_in_the_newest_reports_of_every_tenant(
    is_postgres: bool,
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """Across tenants: a share only orders the lookup's bigrams. SQLite, which searches by FTS5, keeps none."""
    async with tenants.create() as one, tenants.create("Other") as other:
        await _submit(anonymous, (await one.create_project("A"))["apiKey"], "Crash 鑫龘 on save")
        await _submit(anonymous, (await other.create_project("B"))["apiKey"], "鑫龘 twice")
    kept_by_worker = await refresh_search_gram_shares({})
    if not is_postgres:
        assert kept_by_worker == 0
        return
    assert kept_by_worker > 0
    newest_two = Counter([*bigrams("Crash 鑫龘 on save"), *bigrams("鑫龘 twice")])
    assert await _gram_shares(sample=2, floor=0) == {gram: count / 2 for gram, count in newest_two.items()}
    assert await _gram_shares(sample=2, floor=0.75) == {"鑫龘": 1.0}
    assert await _gram_shares(sample=1, floor=0) == dict.fromkeys(bigrams("鑫龘 twice"), 1.0)


@pytest.mark.postgres
async def test_two_workers_counting_bigrams_at_once_both_succeed(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """Workers started together each count at their start: the second waits for the first, then replaces its
    shares (its insert would otherwise collide with the rows the first committed in the meantime)."""
    async with tenants.create() as tenant:
        await _submit(anonymous, (await tenant.create_project("A"))["apiKey"], "Crash on save")
    with system_scope("count search bigrams"):
        async with alchemy_config().get_session() as session, session.begin():
            await refresh_gram_shares(session)
            second = asyncio.create_task(_gram_shares(sample=1, floor=0))
            await asyncio.sleep(0.3)
            assert not second.done()  # waiting for this transaction
        assert await second == dict.fromkeys(bigrams("Crash on save"), 1.0)


async def _gram_shares(*, sample: int, floor: float) -> dict[str, float]:
    with system_scope("count search bigrams"):
        async with alchemy_config().get_session() as session, session.begin():
            kept = await refresh_gram_shares(session, sample=sample, floor=floor)
            shares = dict((await session.execute(text("SELECT gram, share FROM search_gram_share"))).tuples().all())
    assert kept == len(shares)
    return shares


async def test_search_stays_on_an_index(
    is_postgres: bool,
    embedded_services: dict[str, str],
    tenants: TenantFactory,
) -> None:
    """PostgreSQL: even a two-character term is looked up in the bigram GIN index (inside
    lantern_search_report_ids(), run as the table owner). SQLite: the list's queries for a term of three
    or more characters read the FTS5 trigram table."""
    if is_postgres:
        assert "ix_report_tenant_search_grams" in await _gram_lookup_plan(embedded_services["DATABASE_OWNER_URL"])
        return
    async with tenants.create() as tenant:
        plans = await _search_plans(tenant, "無回應")
    assert plans, "no search statement reached SQLite"
    assert all("report_fts VIRTUAL TABLE" in plan for plan in plans), plans  # the count's and the page's


async def _gram_lookup_plan(owner_url: str) -> str:
    engine = create_async_engine(owner_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET enable_seqscan = off"))
            rows = await connection.execute(
                text(
                    "EXPLAIN SELECT id FROM report"
                    " WHERE organization_id = gen_random_uuid() AND search_grams @> lantern_search_grams(:g)"
                ),
                {"g": bigrams("結帳")},
            )
            return "\n".join(row[0] for row in rows)
    finally:
        await engine.dispose()


async def _search_plans(tenant: Tenant, term: str) -> list[str]:
    """EXPLAIN QUERY PLAN of each statement the list endpoint sends to SQLite for a search, as sent."""
    sent: list[tuple[str, Any]] = []

    def capture(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "report_fts" in statement:
            sent.append((statement, parameters))

    app_engine = alchemy_config().get_engine().sync_engine
    event.listen(app_engine, "before_cursor_execute", capture)
    try:
        await _search(tenant, term)
    finally:
        event.remove(app_engine, "before_cursor_execute", capture)
    # The app's own engine: its connections have the functions the statements call (database.py).
    async with alchemy_config().get_engine().connect() as connection:
        return [
            "\n".join(row[3] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params))
            for statement, params in sent
        ]


# Titles (and one description) for comparing the indexed search with the scan; some hold FTS5 syntax.
CORPUS = [
    ("結帳按鈕無回應", ""),
    ("ログイン画面でエラー", ""),
    ("Checkout button broken on Safari", ""),
    ("50% discount_code ignored", ""),
    ('Quote "button" label', ""),
    ("Docs say butt* matches", ""),
    ("Safari OR Chrome only", ""),
    ("NEAR(login, error) in logs", ""),
    ("Field title: missing", ""),
    ("Plain title", "付款頁面 times out after 30 s"),
    ("Ошибка при оплате", "Ümlauts im Warenkorb"),
]


@pytest.fixture(scope="module")
async def corpus(app: Any) -> AsyncIterator[Tenant]:
    factory = TenantFactory(app)
    async with factory.create() as tenant, ApiClient.for_app(app) as anonymous:
        project = await tenant.create_project("Corpus")
        for title, description in CORPUS:
            await _submit(anonymous, project["apiKey"], title, description)
        yield tenant


@pytest.mark.parametrize(
    "term",
    [
        "safari",  # Latin, case-insensitive
        "ошибка",  # ... Cyrillic too
        "üm",  # two letters: the scan on SQLite
        "ÜMLAUTS",
        "無回應",  # three CJK characters: the trigram index on SQLite
        "付款頁",  # ... found in a description
        "結帳",  # two CJK characters: the scan on SQLite
        "付款",
        "画面",
        "50%",  # LIKE wildcards match literally
        "%",
        "t_c",
        "n_b",
        "___",
        '"button"',  # a phrase in quotes (FTS5 syntax too, which is never read as such)
        'utton"',
        '"',
        "butt*",
        "*",
        "Safari OR Chrome",
        "OR",
        "NEAR(login",
        "NEAR",
        "title:",
        "-",
        "safari checkout",  # every word, in any order
        "only safari",
        "plain 付款",  # ... one in the title, one in the description
        "結帳 回應",
        "OR safari",
        '"safari or"',  # a phrase, as written
        '"broken on" button',
        "safari xyzzy",  # a word no report holds
        "a 50%",  # a word below the trigram floor beside one above it
    ],
)
async def test_indexed_search_finds_what_a_scan_finds(corpus: Tenant, term: str) -> None:
    words = search_words(term)
    with tenant_scope(UUID(corpus.organization_id)):
        async with alchemy_config().get_session() as session:
            dialect = session.get_bind().dialect.name
            every_word = and_(true(), *(substring_condition(word, dialect) for word in words))
            scanned = sorted(await session.scalars(select(Report.title).where(every_word)))
    expected = sorted(
        title for title, description in CORPUS if all(fold(word) in fold(f"{title}\n{description}") for word in words)
    )
    assert scanned == expected
    assert await _search(corpus, term) == expected


async def test_edits_and_deletes_keep_the_index_in_step(
    tenants: TenantFactory,
    anonymous: ApiClient,
    is_postgres: bool,
    embedded_services: dict[str, str],
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Edits")
        report = await _submit(anonymous, project["apiKey"], "Crash xyzzy-3f9", "stack in 結帳頁逾時")
        assert await _search(tenant, "xyzzy-3f9") == ["Crash xyzzy-3f9"]
        assert await _search(tenant, "結帳頁逾時") == ["Crash xyzzy-3f9"]
        changed = await tenant.client.patch(
            f"/api/v1/reports/{report['id']}",
            json={"title": "Renamed plugh-8d2", "description": "now in 付款頁閃退"},
        )
        assert changed.status_code == 200, changed.text
        assert await _search(tenant, "xyzzy-3f9") == []
        assert await _search(tenant, "結帳頁逾時") == []
        assert await _search(tenant, "plugh-8d2") == ["Renamed plugh-8d2"]
        assert await _search(tenant, "付款頁閃退") == ["Renamed plugh-8d2"]
        if not is_postgres:  # the ILIKE recheck hides a stale entry: look at the index itself
            assert await _fts_hits(embedded_services["DATABASE_OWNER_URL"], ["xyzzy-3f9", "結帳頁逾時"]) == 0
            assert await _fts_hits(embedded_services["DATABASE_OWNER_URL"], ["plugh-8d2", "付款頁閃退"]) == 2
        assert (await tenant.client.delete(f"/api/v1/reports/{report['id']}")).status_code == 204
        assert await _search(tenant, "plugh-8d2") == []
        if not is_postgres:
            assert await _fts_hits(embedded_services["DATABASE_OWNER_URL"], ["plugh-8d2", "付款頁閃退"]) == 0


async def _fts_hits(owner_url: str, terms: list[str]) -> int:
    """Rows of SQLite's trigram index matching each term, summed, after the index's own consistency check
    against the report table (FTS5 'integrity-check' with rank 1 compares an external content index with
    its content)."""
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO report_fts(report_fts, rank) VALUES ('integrity-check', 1)"))
            hits = 0
            for term in terms:
                query = text("SELECT count(*) FROM report_fts WHERE report_fts MATCH :q")
                hits += await connection.scalar(query, {"q": f'"{term}"'}) or 0
            return hits
    finally:
        await engine.dispose()


async def test_reports_indexed_by_an_older_version_are_found_once_indexed_again(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """During a rolling upgrade across migration 0021, servers of the older version wrote reports without their
    folded text (and changed ones with their former bigrams): no search found them, for good."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHOP")
        await _submit(anonymous, project["apiKey"], "Kassenfehler beim Bezahlen", "Die Größe passt nicht")
        await _submit(anonymous, project["apiKey"], "結帳按鈕無回應")
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session, session.begin():
                await session.execute(Report.__table__.update().values(search_text="", search_grams=[]))
        assert await _search(tenant, "Kassenfehler") == []
        before = await _updated(tenant)
        seen: list[int] = []
        indexed = await reindex_search(seen.append)
        assert await _updated(tenant) == before  # no change anyone syncing by `updatedAt` should see
        assert indexed >= 2
        assert seen[-1] == indexed  # progress told as it went
        assert await _search(tenant, "kassenfehler") == ["Kassenfehler beim Bezahlen"]
        assert await _search(tenant, "GROSSE") == ["Kassenfehler beim Bezahlen"]
        assert await _search(tenant, "結帳") == ["結帳按鈕無回應"]


async def _updated(tenant: Tenant) -> dict[str, str]:
    listed = await tenant.client.get("/api/v1/reports", params={"page_size": 100})
    return {item["id"]: item["updatedAt"] for item in listed.json()["data"]["items"]}
