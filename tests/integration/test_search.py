"""Search finds substrings in every shipped language, stays on an index on PostgreSQL, never crosses tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.reports.search import bigrams
from tests.support.clients import ApiClient, TenantFactory

TITLES = [
    "結帳按鈕無回應",  # zh-TW: "checkout button does not respond"
    "支付页面加载缓慢",  # zh-CN
    "ログイン画面でエラー",  # ja
    "Checkout button broken on Safari",
    "50% discount_code ignored",
]


async def _submit(anonymous: ApiClient, key: str, title: str) -> None:
    response = await anonymous.post(
        "/api/v1/reports",
        json={"title": title, "description": "", "severity": "low", "category": "bug"},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("結帳", "結帳按鈕無回應"),  # two-character Chinese word
        ("無回應", "結帳按鈕無回應"),  # three characters
        ("加载", "支付页面加载缓慢"),
        ("画面", "ログイン画面でエラー"),
        ("SAFARI", "Checkout button broken on Safari"),  # case-insensitive Latin
        ("50%", "50% discount_code ignored"),  # LIKE wildcards match literally
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


async def test_search_never_crosses_tenants(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as owner, tenants.create("Other") as other:
        marker = "zz-marker-7c1f"
        await _submit(anonymous, (await owner.create_project("A"))["apiKey"], f"Crash {marker}")
        await other.create_project("B")
        foreign = await other.client.get("/api/v1/reports", params={"search": marker})
        assert foreign.json()["data"]["total"] == 0
        own = await owner.client.get("/api/v1/reports", params={"search": marker})
        assert own.json()["data"]["total"] == 1


def test_bigrams_skip_whitespace_and_fold_case() -> None:
    assert bigrams("Ab c") == ["ab"]
    assert bigrams("結帳") == ["結帳"]


async def test_two_character_search_uses_the_gin_index(is_postgres: bool, embedded_services: dict[str, str]) -> None:
    """The lookup inside lantern_search_report_ids() (run as the table owner) is an index scan."""
    if not is_postgres:
        pytest.skip("the bigram GIN index exists on PostgreSQL only; SQLite searches by scanning")
    engine = create_async_engine(embedded_services["DATABASE_OWNER_URL"])
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET enable_seqscan = off"))
            rows = await connection.execute(
                text("EXPLAIN SELECT id FROM report WHERE organization_id = gen_random_uuid() AND search_grams @> :g"),
                {"g": bigrams("結帳")},
            )
            plan = "\n".join(row[0] for row in rows)
    finally:
        await engine.dispose()
    assert "ix_report_search_grams" in plan
