"""Reports the team files themselves (`POST /api/v1/projects/{id}/reports`): our fields or BugHerd's new task,
numbered and announced as any other report, by a person or an organization token, within the organization."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.support.clients import ApiClient, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import invite, member_of
from tests.support.mailbox import receiving_mail
from tests.support.receiver import Receiver
from tests.support.worker import PATIENT_NUMBERING, running_worker

# BugHerd's "Add a new task" examples as its document gives them; its numeric ids are UUIDs here, and its second
# example's addresses (hidden in the document) are real ones.
BUGHERD_TASK = {
    "task": {
        "description": "Example task",
        "priority": "normal",
        "status": "backlog",
        "requester_id": 123,
        "tag_names": ["ui", "feature"],
        "assigned_to_id": 123,
        "external_id": "ABC123",
    }
}
BUGHERD_TASK_BY_EMAIL = {
    "task": {
        "description": "Example task",
        "requester_email": "[email protected]",
        "assigned_to_email": "[email protected]",
    }
}


def _data(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def _filed(project: dict[str, Any]) -> str:
    return f"/api/v1/projects/{project['id']}/reports"


async def test_a_person_files_a_report_in_our_fields_numbered_announced_and_shown_as_a_get_shows_it(
    tenants: TenantFactory,
) -> None:
    settings = {"LANTERN_ALLOW_PRIVATE_TARGETS": "1", "LANTERN_OUTBOUND_RETRY_SECONDS": "0.2", **PATIENT_NUMBERING}
    async with tenants.create() as tenant, Receiver() as receiver:
        with environment(**settings):
            project = await tenant.create_project("Shop", trackingPrefix="SHP")
            await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "Testing"})
            _data(await tenant.client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["task_create"]}))
            body = {
                "title": "  Checkout refuses a valid card  ",
                "description": "The customer called: the card is refused at the last step.",
                "severity": "high",
                "priority": "highest",
                "category": "crash",
                "status": "TESTING",
                "assigneeId": tenant.user_id,
                "tags": ["phone", "checkout", "phone"],
                "externalId": "CRM-77",
                "reporterName": "Ada Customer",
                "reporterEmail": "ada@example.com",
                "pageUrl": "https://shop.example.com/checkout",
            }
            async with running_worker():
                answer = await tenant.client.post(_filed(project), json=body)
                filed = _data(answer)
                (delivery,) = await receiver.wait_for(1)
        shown = _data(await tenant.client.get(answer.headers["location"]), 200)
        history = _data(await tenant.client.get(f"/api/v1/reports/{filed['id']}/history"), 200)
    numbered = {"updatedAt"}  # the worker's numbering is a change of the row
    assert {name: value for name, value in filed.items() if name not in numbered} == {
        name: value for name, value in shown.items() if name not in numbered
    }
    assert filed["trackingId"] == "SHP-1"
    assert (filed["title"], filed["source"], filed["status"]) == ("Checkout refuses a valid card", "team", "Testing")
    assert (filed["severity"], filed["priority"], filed["category"]) == ("high", "highest", "crash")
    assert (filed["assigneeId"], filed["tags"], filed["externalId"]) == (
        tenant.user_id,
        ["checkout", "phone"],
        "CRM-77",
    )
    assert (filed["reporterName"], filed["reporterEmail"]) == ("Ada Customer", "ada@example.com")
    assert filed["pageUrl"] == "https://shop.example.com/checkout"
    assert delivery.json()["event"] == "report.created"
    assert delivery.json()["data"]["report"]["trackingId"] == "SHP-1"
    # Who filed it, and what with, is the first entry of its history.
    assert [(change["authorId"], change["authorTokenId"]) for change in history] == [(tenant.user_id, None)]
    assert history[0]["changes"]["status"] == [None, "Testing"]
    assert history[0]["changes"]["assigneeId"] == [None, tenant.user_id]


async def test_bugherds_two_new_task_examples_filed_with_an_organization_token(
    tenants: TenantFactory, app: Any, worker: Any
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        token = await tenant.create_token("BugHerd sync")
        first = {"task": {**BUGHERD_TASK["task"], "requester_id": tenant.user_id, "assigned_to_id": tenant.user_id}}
        customer = f"customer-{secrets.token_hex(3)}@example.com"
        second = {
            "task": {**BUGHERD_TASK_BY_EMAIL["task"], "requester_email": customer, "assigned_to_email": tenant.email}
        }
        async with ApiClient.for_app(app, auth=(token["token"], "x")) as bugherd:  # BugHerd's Basic authentication
            by_id = _data(await bugherd.post(_filed(project), json=first))
            by_email = _data(await bugherd.post(_filed(project), json=second))
            history = _data(await bugherd.get(f"/api/v1/reports/{by_id['id']}/history"), 200)
    assert (by_id["trackingId"], by_email["trackingId"]) == ("SHP-1", "SHP-2")
    assert (by_id["title"], by_id["description"], by_id["priority"]) == ("Example task", "Example task", "medium")
    assert (by_id["status"], by_id["statusId"], by_id["tags"]) == ("backlog", 0, ["feature", "ui"])
    assert (by_id["assigneeId"], by_id["externalId"], by_id["reporterEmail"]) == (
        tenant.user_id,
        "ABC123",
        tenant.email,
    )
    assert (by_email["status"], by_email["assigneeId"], by_email["reporterEmail"]) == ("new", tenant.user_id, customer)
    assert by_id["source"] == by_email["source"] == "team"
    # An integration's: its token, as on a comment or a change.
    assert [(change["authorId"], change["authorTokenId"]) for change in history] == [(None, token["id"])]


async def test_a_task_without_a_title_takes_its_descriptions_first_line_cut_at_a_word(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        words = " ".join(f"word{number}" for number in range(60))  # about 400 characters on one line
        long = _data(await tenant.client.post(_filed(project), json={"task": {"description": f"{words}\nMore"}}))
        lines = _data(await tenant.client.post(_filed(project), json={"description": "\n  Card refused \nAt 9"}))
        short = await tenant.client.post(_filed(project), json={"task": {"description": "Hi"}})
    assert long["title"].endswith("…")
    assert len(long["title"]) <= 200
    assert words.startswith(long["title"].removesuffix("…") + " ")
    assert lines["title"] == "Card refused"
    assert short.status_code == 400, short.text
    assert [detail["field"] for detail in short.json()["details"]] == ["task.description"]
    assert "4" in short.json()["details"][0]["message"]


async def test_a_description_too_short_for_a_title_is_refused_with_the_other_fields(tenants: TenantFactory) -> None:
    """The description's first line is checked once the fields pass: a bad reporter address was refused first,
    and the description only when sent again."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        ours = await tenant.client.post(_filed(project), json={"description": "Hi", "reporterEmail": "someone"})
        bugherds = await tenant.client.post(_filed(project), json={"task": {"description": "Hi", "priority": "urgent"}})
    assert ours.status_code == bugherds.status_code == 400, (ours.text, bugherds.text)
    assert [detail["field"] for detail in ours.json()["details"]] == ["reporterEmail", "description"]
    assert [detail["field"] for detail in bugherds.json()["details"]] == ["task.priority", "task.description"]


async def test_what_is_refused_is_named(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        path = _filed(project)
        # Someone invited who has not accepted: their account's name is theirs to give when they accept.
        invitee = (await invite(tenant))["member"]["userId"]
        refusals = [
            ({"title": "Card refused", "reporterId": invitee}, "reporterId"),
            ({"task": {"description": "Card refused", "requester_id": invitee}}, "task.requester_id"),
            ({"title": "Card refused", "status": "nowhere"}, "status"),
            ({"title": "Card refused", "assigneeEmail": other.email}, "assigneeEmail"),
            ({"task": {"description": "Card refused", "assigned_to_id": other.user_id}}, "task.assigned_to_id"),
            ({"title": "Card refused", "colour": "red"}, "colour"),
            ({"task": {"description": "Card refused", "priority": "urgent"}}, "task.priority"),
        ]
        answers = [(await tenant.client.post(path, json=body), field) for body, field in refusals]
        listed = _data(await tenant.client.get("/api/v1/reports"), 200)
    for answer, field in answers:
        assert answer.status_code == 400, answer.text
        assert [detail["field"] for detail in answer.json()["details"]] == [field], answer.text
    assert listed["total"] == 0


async def test_a_guest_files_only_on_a_project_they_were_added_to_as_its_reporter(
    tenants: TenantFactory, app: Any
) -> None:
    async with tenants.create() as tenant:
        theirs = await tenant.create_project("Theirs", trackingPrefix="THR")
        hidden = await tenant.create_project("Hidden", trackingPrefix="HDN")
        async with member_of(tenant, app, "guest") as guest:
            me = _data(await guest.get("/api/v1/auth/me"), 200)["user"]
            user_id = me["id"]
            await tenant.client.post(f"/api/v1/projects/{theirs['id']}/members", json={"userId": user_id})
            body = {"title": "The invoice shows no VAT", "severity": "low"}
            filed = await guest.post(_filed(theirs), json=body)
            elsewhere = await guest.post(_filed(hidden), json=body)
            triaged = await guest.post(_filed(theirs), json={**body, "status": "done", "assigneeId": user_id})
            seen = await guest.get(filed.headers["location"])
    report = _data(filed)
    assert report["reporterEmail"] == me["email"]
    assert seen.status_code == 200, seen.text
    assert elsewhere.status_code == 404, elsewhere.text
    assert triaged.status_code == 403, triaged.text
    assert sorted(detail["field"] for detail in triaged.json()["details"]) == ["assigneeId", "status"]


async def test_another_organizations_project_or_an_unknown_one_is_not_found(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create("Victim") as victim, tenants.create("Intruder") as intruder:
        project = await victim.create_project("Shop", trackingPrefix="SHP")
        token = await intruder.create_token()
        body = {"title": "Planted report"}
        by_session = await intruder.client.post(_filed(project), json=body)
        async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token['token']}"}) as program:
            by_token = await program.post(_filed(project), json=body)
            unknown = await program.post(
                f"/api/v1/projects/{(await invite(intruder))['member']['id']}/reports", json=body
            )
        left = _data(await victim.client.get("/api/v1/reports"), 200)
    assert [answer.status_code for answer in (by_session, by_token, unknown)] == [404, 404, 404]
    assert by_session.json() == by_token.json() == unknown.json()
    assert left["total"] == 0


async def test_the_assignee_of_a_filed_report_hears_of_it(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        me = _data(await member.get("/api/v1/auth/me"), 200)["user"]
        with receiving_mail() as mailbox:
            async with running_worker():
                body = {"task": {"description": "Card refused on the phone", "assigned_to_email": me["email"]}}
                filed = _data(await tenant.client.post(_filed(project), json=body))
                mail = await mailbox.wait_for(me["email"])
    assert filed["assigneeId"] == me["id"]
    assert "Card refused on the phone" in mail["Subject"]


def _page_section(html: str) -> str:
    """The report page's section about the page the report came from, up to its end."""
    start = html.index('<section aria-labelledby="page-heading">')
    return html[start : html.index("</section>", start)]


async def test_a_report_without_a_page_says_so_under_its_page_heading(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A report filed by the team, or BugSpark's without metadata, has no page: its section said nothing under
    the heading, as if the page had failed to load; one with a page lists it."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        filed = _data(await tenant.client.post(_filed(project), json={"title": "Phoned in"}))
        widget = {"X-API-Key": project["apiKey"]}
        sent = await anonymous.post("/api/v1/reports", json={"title": "Broken"}, headers=widget)
        with_page = {"title": "Checkout", "pageUrl": "https://shop.example.com/checkout"}
        paged = _data(await tenant.client.post(_filed(project), json=with_page))
        sections = [
            _page_section((await tenant.client.get(f"/ui/reports/{report['id']}", params={"lang": lang})).text)
            for report, lang in ((filed, "en"), (_data(sent), "en"), (filed, "de"), (paged, "en"))
        ]
    assert ['<p class="empty">Nothing was recorded.</p>' in section for section in sections[:2]] == [True, True]
    assert '<p class="empty">Nichts aufgezeichnet.</p>' in sections[2], sections[2]
    assert "https://shop.example.com/checkout" in sections[3]
    assert 'class="empty"' not in sections[3]
