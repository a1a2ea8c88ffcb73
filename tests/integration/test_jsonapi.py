"""JSON:API mode of the report endpoints: documents, sparse fields, includes, filters, sorts, pages, cursors."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.lib import jsonapi
from app.lib.jsonapi import accepted
from tests.support.clients import BASE_URL, WIDGET_METADATA, ApiClient, TenantFactory
from tests.support.database import statements_sent
from tests.support.environment import environment
from tests.support.jsonapi import validate_document
from tests.support.screenshots import numbered

JSONAPI = "application/vnd.api+json"


@pytest.fixture(autouse=True)
def _numbering(worker: Any) -> Any:
    """A real worker numbers the reports made here as they arrive, leaving no backlog of jobs in Redis that
    would slow the bounded tracking-ID wait of later tests."""
    return worker


SEVERITIES = ["low", "critical", "medium", "high"]


async def _reports(anonymous: ApiClient, project: dict[str, Any], count: int, prefix: str = "Report") -> list[str]:
    """`count` reports with severities cycling through SEVERITIES; their ids in submission order."""
    ids = []
    for index in range(count):
        body = {"title": f"{prefix} {index:03d}", "severity": SEVERITIES[index % len(SEVERITIES)]}
        created = await anonymous.post("/api/v1/reports", json=body, headers={"X-API-Key": project["apiKey"]})
        assert created.status_code == 201, created.text
        ids.append(created.json()["data"]["id"])
    return ids


async def _document(client: ApiClient, url: str, **params: Any) -> dict[str, Any]:
    response = await client.get(url, params=params or None)  # httpx drops a URL's own query for `{}`
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSONAPI)
    body: dict[str, Any] = response.json()
    validate_document(body)
    return body


async def _walk(client: ApiClient, url: str, **params: Any) -> list[str]:
    """Every id on every page, following `links.next` to the end."""
    seen: list[str] = []
    body = await _document(client, url, **params)
    while True:
        seen.extend(resource["id"] for resource in body["data"])
        if not body["links"]["next"]:
            return seen
        body = await _document(client, body["links"]["next"])


async def _error(client: ApiClient, url: str, **params: Any) -> list[str]:
    response = await client.get(url, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "VALIDATION_ERROR"
    assert all(detail["message"] for detail in body["details"])
    return [detail["field"] for detail in body["details"]]


async def test_accept_header_switches_to_a_document_and_native_stays(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        response = await tenant.client.get("/api/v1/reports", headers={"Accept": JSONAPI})
        assert response.headers["content-type"].startswith(JSONAPI)
        body = response.json()
        validate_document(body)
        [resource] = body["data"]
        assert (resource["type"], resource["id"]) == ("report", report_id)
        assert resource["attributes"]["title"] == "Report 000"
        assert "projectId" not in resource["attributes"]
        assert resource["relationships"]["project"]["data"] == {"type": "project", "id": project["id"]}
        related = resource["relationships"]["comments"]["links"]["related"]
        assert related == f"{BASE_URL}/api/v1/reports/{report_id}/comments"
        assert resource["links"]["self"] == f"{BASE_URL}/api/v1/reports/{report_id}"
        assert body["meta"] == {"count": 1}  # counted whole only when paging by offset
        assert body["links"]["self"].startswith(f"{BASE_URL}/api/v1/reports")
        counted = await _document(tenant.client, "/api/v1/reports", **{"page[offset]": "0"})
        assert counted["meta"]["total"] == 1
        native = await tenant.client.get("/api/v1/reports")
        assert native.headers["content-type"].startswith("application/json")
        assert native.json()["data"]["items"][0]["id"] == report_id
        one = await _document(tenant.client, f"/api/v1/reports/{report_id}", **{"fields[report]": "title"})
        assert one["data"] == {
            "type": "report",
            "id": report_id,
            "attributes": {"title": "Report 000"},
            "links": {"self": f"{BASE_URL}/api/v1/reports/{report_id}"},
        }


async def test_the_accept_headers_preference_decides_and_an_extension_is_refused(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Any mention of JSON:API in `Accept` answered a document, even one the client liked less than JSON; and a
    body in an extension Lantern does not implement was read as a plain document."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"
        answered = {
            accept: (await tenant.client.get(url, headers={"Accept": accept})).headers["content-type"].split(";")[0]
            for accept in (
                f"application/json, {JSONAPI};q=0.5",
                f"application/json;q=0.5, {JSONAPI}",
                f"{JSONAPI}, application/json",
                "*/*",
            )
        }
        document = {"data": {"type": "report", "id": report_id, "attributes": {"severity": "low"}}}
        extended = await tenant.client.patch(
            url, content=json.dumps(document), headers={"Content-Type": f'{JSONAPI}; ext="https://example.com/ext"'}
        )
    assert answered == {
        f"application/json, {JSONAPI};q=0.5": "application/json",
        f"application/json;q=0.5, {JSONAPI}": JSONAPI,
        f"{JSONAPI}, application/json": JSONAPI,
        "*/*": "application/json",
    }
    assert (extended.status_code, extended.json()["error"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


ATOMIC = "https://jsonapi.org/ext/atomic"
GERMAN_CHARSET = "Der JSON:API-Medientyp nimmt keinen Parameter charset an, nur ext und profile."


async def test_a_body_whose_media_type_has_another_parameter_than_ext_or_profile_is_a_415(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """JSON:API's media type takes `ext` and `profile` alone: a document sent with `charset` was read, and changed
    the report; so was a link sent to a handler that reads its body itself (attachments). Each refusal names the
    parameter, in the reader's language, and changes nothing; a profile is taken, and ignored."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"

        async def change(media_type: str, **params: str) -> Any:
            document = {"data": {"type": "report", "id": report_id, "attributes": {"severity": "critical"}}}
            headers = {"Content-Type": media_type}
            return await tenant.client.patch(url, content=json.dumps(document), headers=headers, params=params)

        charset = await change(f"{JSONAPI}; charset=utf-8", lang="de")
        extended = await change(f'{JSONAPI}; ext="{ATOMIC}"', lang="ja")
        link = {"data": {"type": "attachment", "attributes": {"url": "https://example.com/a.png"}}}
        attached = await tenant.client.post(
            f"{url}/attachments",
            content=json.dumps(link),
            headers={"Content-Type": f"{JSONAPI};charset=UTF-8", "Accept-Language": "es"},
        )
        unchanged = (await tenant.client.get(url)).json()["data"]
        attachments = (await tenant.client.get(f"{url}/attachments")).json()["data"]
        profiled = await change(f'{JSONAPI}; profile="https://example.com/profile"')
    assert charset.status_code == 415, charset.text
    assert charset.json() == {
        "success": False,
        "error": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Dieser Inhaltstyp wird nicht unterstützt.",
        "details": [{"field": "Content-Type", "message": GERMAN_CHARSET}],
    }
    assert extended.status_code == 415, extended.text
    japanese = f"対応していない JSON:API 拡張（ext）：{ATOMIC}。"  # noqa: RUF001 - Japanese punctuation
    assert extended.json()["details"] == [{"field": "Content-Type", "message": japanese}]
    assert attached.status_code == 415, attached.text
    spanish = "El tipo de medio de JSON:API no admite el parámetro charset, solo ext y profile."
    assert attached.json()["details"] == [{"field": "Content-Type", "message": spanish}]
    assert (unchanged["severity"], attachments) == ("low", [])
    assert profiled.status_code == 200, profiled.text
    assert profiled.json()["data"]["attributes"]["severity"] == "critical"


async def test_an_accept_naming_the_media_type_only_with_parameters_lantern_cannot_answer_is_a_406(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """An `Accept` whose every JSON:API media type carries a parameter other than `ext` and `profile`, or an
    extension, answered a document, and a change with it was applied: a 406 naming each, before the handler does
    anything. A profile alone is taken (ignored); beside the plain media type or `*/*` those forms are ignored; a
    route that answers only its native JSON reads no `Accept` at all."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"
        refused = {
            accept: await tenant.client.get(url, headers={"Accept": accept, "Accept-Language": "de"})
            for accept in (
                f"{JSONAPI}; charset=utf-8",
                f'{JSONAPI}; charset=utf-8, {JSONAPI}; ext="{ATOMIC}"',
                f"{JSONAPI}; charset=utf-8, application/json",  # another media type: JSON:API's forms are refused
            )
        }
        answered = {
            accept: (await tenant.client.get(url, headers={"Accept": accept})).headers["content-type"].split(";")[0]
            for accept in (
                f'{JSONAPI}; profile="https://example.com/profile"',
                f"{JSONAPI}; charset=utf-8, {JSONAPI};q=0.5",
                f'{JSONAPI}; ext="{ATOMIC}", */*;q=0.1',
            )
        }
        document = {"data": {"type": "report", "id": report_id, "attributes": {"severity": "critical"}}}
        change = await tenant.client.patch(
            url,
            content=json.dumps(document),
            headers={"Content-Type": JSONAPI, "Accept": f"{JSONAPI}; charset=utf-8"},
            params={"lang": "zh-TW"},
        )
        unchanged = (await tenant.client.get(url)).json()["data"]
        native_only = await tenant.client.get("/api/v1/auth/me", headers={"Accept": f"{JSONAPI}; charset=utf-8"})
    assert {accept: answer.status_code for accept, answer in refused.items()} == dict.fromkeys(refused, 406)
    assert [answer.json() for answer in refused.values()] == [
        {
            "success": False,
            "error": "NOT_ACCEPTABLE",
            "message": "Die Antwort kann in keinem Medientyp gesendet werden, den der Accept-Header zulässt.",
            "details": details,
        }
        for details in (
            [{"field": "Accept", "message": GERMAN_CHARSET}],
            [
                {"field": "Accept", "message": GERMAN_CHARSET},
                {"field": "Accept", "message": f"Nicht unterstützte JSON:API-Erweiterung (ext): {ATOMIC}."},
            ],
            [{"field": "Accept", "message": GERMAN_CHARSET}],
        )
    ]
    assert all("Accept" in answer.headers.get_list("vary", split_commas=True) for answer in refused.values())
    assert answered == {
        f'{JSONAPI}; profile="https://example.com/profile"': JSONAPI,
        f"{JSONAPI}; charset=utf-8, {JSONAPI};q=0.5": JSONAPI,
        f'{JSONAPI}; ext="{ATOMIC}", */*;q=0.1': "application/json",
    }
    assert (change.status_code, change.json()["error"]) == (406, "NOT_ACCEPTABLE")
    traditional = "JSON:API 媒體類型不接受參數 charset，只接受 ext 和 profile。"  # noqa: RUF001 - Chinese punctuation
    assert change.json()["details"] == [{"field": "Accept", "message": traditional}]
    assert unchanged["severity"] == "low"
    assert native_only.status_code == 200, native_only.text


async def test_an_accept_refusing_the_media_type_with_q_0_gets_no_document(
    tenants: TenantFactory, anonymous: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`q=0` means "not acceptable" (RFC 9110), and Litestar's `Accept` read it as "least wanted": a client that
    refused JSON:API got a document. Now it gets plain JSON when it takes that, and a 406 when it takes nothing
    else; and the header is parsed once per request, however often the request asks what it wants."""
    parsed: list[str] = []

    def counted(header: str) -> jsonapi.Accepted:
        parsed.append(header)
        return accepted(header)

    monkeypatch.setattr(jsonapi, "accepted", counted)
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"
        plain = {
            accept: await tenant.client.get(path, headers={"Accept": accept})
            for accept in (f"application/json, {JSONAPI};q=0", f"*/*, {JSONAPI};q=0.0")
            for path in (url, "/api/v1/reports")
        }
        parsed.clear()
        document = await tenant.client.get(url, headers={"Accept": JSONAPI})  # checked first, then answered
        parsed_for_one_request = len(parsed)
        refused = await tenant.client.get(url, headers={"Accept": f"{JSONAPI};q=0", "Accept-Language": "de"})
        change = await tenant.client.patch(url, json={"severity": "critical"}, headers={"Accept": f"{JSONAPI};q=0"})
        unchanged = (await tenant.client.get(url)).json()["data"]
    assert all(answer.status_code == 200 for answer in plain.values()), [answer.text for answer in plain.values()]
    assert {answer.headers["content-type"].split(";")[0] for answer in plain.values()} == {"application/json"}
    assert all(answer.json()["success"] for answer in plain.values())
    assert refused.status_code == 406, refused.text
    assert refused.json() == {
        "success": False,
        "error": "NOT_ACCEPTABLE",
        "message": "Die Antwort kann in keinem Medientyp gesendet werden, den der Accept-Header zulässt.",
        "details": [
            {
                "field": "Accept",
                "message": "Accept lehnt beide Medientypen ab, in denen dieser Endpunkt antwortet: "
                f"application/json und {JSONAPI}.",
            }
        ],
    }
    assert "Accept" in refused.headers.get_list("vary", split_commas=True)
    assert document.headers["content-type"] == JSONAPI
    assert parsed_for_one_request == 1
    assert (change.status_code, change.json()["error"]) == (406, "NOT_ACCEPTABLE")
    assert unchanged["severity"] == "low"


async def test_an_accept_that_takes_neither_json_nor_a_document_is_a_406(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`Accept: text/html` (or `image/png`, or `application/json;q=0`) was answered plain JSON, and a change with it
    applied: a 406 now, before the handler does anything. A browser's address bar (`text/html, …, */*;q=0.8`) and
    fetch()'s `*/*` take JSON; a route that answers only its native JSON reads no `Accept`."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"
        refused = {
            (accept, path): await tenant.client.get(path, headers={"Accept": accept})
            for accept in ("text/html", "image/png", "application/json;q=0")
            for path in (url, "/api/v1/reports", "/api/v1/projects")
        }
        taken = {
            accept: await tenant.client.get(url, headers={"Accept": accept})
            for accept in ("text/html,application/xhtml+xml,*/*;q=0.8", "*/*", "application/*", "")
        }
        change = await tenant.client.patch(url, json={"severity": "critical"}, headers={"Accept": "text/html"})
        unchanged = (await tenant.client.get(url)).json()["data"]
        native_only = await tenant.client.get("/api/v1/auth/me", headers={"Accept": "text/html"})
    assert {answer.status_code for answer in refused.values()} == {406}, [answer.text for answer in refused.values()]
    assert {answer.json()["error"] for answer in refused.values()} == {"NOT_ACCEPTABLE"}
    assert refused["text/html", url].json()["details"] == [
        {
            "field": "Accept",
            "message": f"Accept refuses both media types this endpoint answers in: application/json and {JSONAPI}.",
        }
    ]
    assert all("Accept" in answer.headers.get_list("vary", split_commas=True) for answer in refused.values())
    assert {answer.status_code for answer in taken.values()} == {200}
    assert {answer.headers["content-type"].split(";")[0] for answer in taken.values()} == {"application/json"}
    assert (change.status_code, change.json()["error"]) == (406, "NOT_ACCEPTABLE")
    assert unchanged["severity"] == "low"
    assert native_only.status_code == 200, native_only.text


async def test_a_change_as_a_document_answers_as_one_and_unknown_fields_are_refused(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report_id}"
        document = {"data": {"type": "report", "id": report_id, "attributes": {"severity": "low", "status": "done"}}}
        headers = {"Content-Type": JSONAPI, "Accept": JSONAPI}
        changed = await tenant.client.patch(url, content=json.dumps(document), headers=headers)
        refused = [
            await tenant.client.patch(url, json=body, headers={"Accept-Language": "de"})
            for body in ({"foo": "bar"}, {"data": {"type": "report", "attributes": {"colour": "red"}}})
        ]
        other_id = str(uuid.uuid4())
        for data in ({"type": "report", "id": other_id}, {"type": "project", "id": report_id}):
            conflict = await tenant.client.patch(
                url, content=json.dumps({"data": {**data, "attributes": {"severity": "critical"}}}), headers=headers
            )
            assert conflict.status_code == 409, conflict.text  # JSON:API: another resource than the URL's
        native = (await tenant.client.get(url)).json()["data"]
    assert changed.status_code == 200, changed.text
    assert changed.headers["content-type"].startswith(JSONAPI)
    validate_document(changed.json())
    assert changed.json()["data"]["attributes"]["severity"] == "low"
    assert (native["severity"], native["status"]) == ("low", "done")
    assert [answer.status_code for answer in refused] == [400, 400]
    assert [answer.json()["details"] for answer in refused] == [
        [{"field": "foo", "message": "Dieses Feld ist nicht zulässig."}],
        [{"field": "data.attributes.colour", "message": "Dieses Feld ist nicht zulässig."}],
    ]


async def test_a_changes_data_id_may_name_its_report_as_the_address_may(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """The address takes a report's UUID or tracking ID, in any case, also under a former prefix: so does the
    document's `data.id`, and only an id naming another report (or none) is a 409. `PATCH /reports/BK-2` with
    `data.id` "BK-2" was a 409 (from a trial)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        _, report_id = await _reports(anonymous, project, 2)
        await numbered(tenant, report_id)  # numbered after the rename, it would never have been DOC-2
        renamed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "DCX"})
        assert renamed.status_code == 200, renamed.text
        headers = {"Content-Type": JSONAPI, "Accept": JSONAPI}

        async def change(address: str, data_id: str) -> int:
            document = {"data": {"type": "report", "id": data_id, "attributes": {"severity": "low"}}}
            answer = await tenant.client.patch(
                f"/api/v1/reports/{address}", content=json.dumps(document), headers=headers
            )
            return answer.status_code

        answers = {
            (address, data_id): await change(address, data_id)
            for address, data_id in (
                ("DOC-2", "DOC-2"), ("DCX-2", "doc-2"), ("doc-2", "DCX-2"), (report_id, "dcx-2"),
                ("DCX-2", report_id.upper()), ("DCX-2", "DOC-1"), ("DCX-2", "DCX-3"), ("DCX-2", "DCX-2-x"),
            )
        }  # fmt: skip
    assert answers == {
        ("DOC-2", "DOC-2"): 200, ("DCX-2", "doc-2"): 200, ("doc-2", "DCX-2"): 200, (report_id, "dcx-2"): 200,
        ("DCX-2", report_id.upper()): 200, ("DCX-2", "DOC-1"): 409, ("DCX-2", "DCX-3"): 409, ("DCX-2", "DCX-2-x"): 409,
    }  # fmt: skip


async def test_a_document_assigns_and_unassigns_through_its_relationship(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Reads show the assignee as a relationship, so a JSON:API client writes it so: it used to be ignored, with
    a 200, and a document with relationships alone was refused."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        [report_id] = await _reports(anonymous, project, 1)
        url, headers = f"/api/v1/reports/{report_id}", {"Content-Type": JSONAPI, "Accept": JSONAPI}
        me = {"data": {"type": "user", "id": tenant.user_id}}
        assigned = await tenant.client.patch(
            url,
            content=json.dumps(
                {
                    "data": {
                        "type": "report",
                        "id": report_id,
                        "attributes": {"severity": "high"},
                        "relationships": {"assignee": me},
                    }
                }
            ),
            headers=headers,
        )
        after_assigning = (await tenant.client.get(url)).json()["data"]
        unassigned = await tenant.client.patch(
            url,
            content=json.dumps({"data": {"type": "report", "relationships": {"assignee": {"data": None}}}}),
            headers=headers,
        )
        after_unassigning = (await tenant.client.get(url)).json()["data"]
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["data"]["relationships"]["assignee"]["data"] == {"type": "user", "id": tenant.user_id}
    assert (after_assigning["assigneeId"], after_assigning["severity"]) == (tenant.user_id, "high")
    assert unassigned.status_code == 200, unassigned.text
    assert after_unassigning["assigneeId"] is None


async def test_sparse_fieldsets_and_includes_are_deduplicated_and_linked(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Includes", trackingPrefix="INC")
        first, second = await _reports(anonymous, project, 2)
        await tenant.client.patch(f"/api/v1/reports/{first}", json={"assigneeId": tenant.user_id})
        comment = (await tenant.client.post(f"/api/v1/reports/{first}/comments", json={"text": "Seen it"})).json()
        link = await tenant.client.post(
            f"/api/v1/reports/{first}/attachments",
            json={"url": "https://files.example.com/trace.har", "name": "trace.har"},
        )
        body = await _document(
            tenant.client,
            "/api/v1/reports",
            include="project,assignee,comments,attachments",
            **{"fields[report]": "title,severity,project,assignee,comments,attachments", "fields[project]": "name"},
        )
        by_id = {resource["id"]: resource for resource in body["data"]}
        assert set(by_id) == {first, second}
        assert set(by_id[first]["attributes"]) == {"title", "severity"}
        assert set(by_id[first]["relationships"]) == {"project", "assignee", "comments", "attachments"}
        assert by_id[first]["relationships"]["comments"]["data"] == [{"type": "comment", "id": comment["data"]["id"]}]
        assert by_id[second]["relationships"]["comments"]["data"] == []
        included = {(resource["type"], resource["id"]): resource for resource in body["included"]}
        assert included[("project", project["id"])]["attributes"] == {"name": "Includes"}
        assert included[("comment", comment["data"]["id"])]["attributes"]["text"] == "Seen it"
        assert included[("user", tenant.user_id)]["attributes"]["email"] == tenant.email
        assert included[("attachment", link.json()["data"]["id"])]["attributes"]["name"] == "trace.har"
        assert [key[0] for key in included].count("project") == 1  # two reports, one project


async def test_a_sparse_fieldset_reads_nothing_it_does_not_show(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A list whose fieldset leaves out `screenshots` and `githubIssue` asked the database for both anyway, for
    every page (two queries of the seven a triage list with includes took), and read every report's logs, page
    context and description, often tens of kilobytes each."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Sparse", trackingPrefix="SPA")
        logs = [{"level": "error", "message": "Checkout failed"}]
        body = {"title": "Broken", "description": "Nothing happens", "consoleLogs": logs}
        sent = await anonymous.post("/api/v1/reports", json=body, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        shown = {
            "title,severity": {},
            "title,screenshots,githubIssue,consoleLogs": {"screenshots": [], "githubIssue": None, "consoleLogs": logs},
        }
        for fields, attributes in shown.items():
            with statements_sent() as sent_statements:
                document = await _document(tenant.client, "/api/v1/reports", **{"fields[report]": fields})
            [resource] = document["data"]
            assert {name: resource["attributes"][name] for name in attributes} == attributes
            assert set(resource["attributes"]) == set(fields.split(","))
            read = " ".join(sent_statements)
            assert ("FROM screenshot" in read, "FROM github_issue" in read) == ("screenshots" in fields,) * 2
            assert ("report.console_logs" in read, "report.description" in read) == ("consoleLogs" in fields, False)


async def test_a_nested_include_brings_the_comments_and_their_authors(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Bugcrowd's dotted includes (`include=current_brief.target_groups`): `comments.author` brings a report's
    comments and the people who wrote them (it was a 400), each person once beside the assignee; the comments
    are included too, as a path's middle must be for full linkage."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Nested", trackingPrefix="NST")
        [report] = await _reports(anonymous, project, 1)
        url = f"/api/v1/reports/{report}"
        await tenant.client.patch(url, json={"assigneeId": tenant.user_id})
        comment = (await tenant.client.post(f"{url}/comments", json={"text": "Seen it"})).json()["data"]
        for path in (url, "/api/v1/reports"):
            body = await _document(tenant.client, path, include="comments.author,assignee")
            included = [(resource["type"], resource["id"]) for resource in body["included"]]
            assert sorted(included) == [("comment", comment["id"]), ("user", tenant.user_id)]
        alone = await _document(tenant.client, url, include="comments.author", **{"fields[user]": "name"})
        users = [resource for resource in alone["included"] if resource["type"] == "user"]
        assert [user["attributes"] for user in users] == [{"name": "Owner"}]
        assert await _error(tenant.client, url, include="comments.report") == ["include"]


async def test_filters_any_of_and_date_ranges(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Filters", trackingPrefix="FLT")
        ids = await _reports(anonymous, project, 8)
        await tenant.client.patch(f"/api/v1/reports/{ids[0]}", json={"status": "done", "tags": ["checkout"]})
        await tenant.client.patch(f"/api/v1/reports/{ids[1]}", json={"assigneeId": tenant.user_id})

        async def found(**params: Any) -> set[str]:
            return {
                resource["id"] for resource in (await _document(tenant.client, "/api/v1/reports", **params))["data"]
            }

        assert await found(**{"filter[severity]": "critical,high"}) == {ids[1], ids[3], ids[5], ids[7]}
        assert await found(**{"filter[status]": "new,triaging"}) == set(ids[1:])
        assert await found(**{"filter[status]": "feedback"}) == set(ids[1:])
        assert await found(**{"filter[status]": "done"}) == {ids[0]}
        assert await found(**{"filter[tag]": "checkout,other"}) == {ids[0]}
        assert await found(**{"filter[assignee]": "me"}) == {ids[1]}
        assert await found(**{"filter[assignee]": f"none,{tenant.user_id}"}) == set(ids)
        assert await found(**{"filter[assignee]": tenant.email.upper()}) == {ids[1]}  # by address, in any case
        assert await found(**{"filter[assignee]": "nobody@example.com"}) == set()
        assert await found(**{"filter[project]": project["id"], "filter[severity]": "low"}) == {ids[0], ids[4]}
        today = datetime.now(UTC).date()
        tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
        assert await found(**{"filter[created]": f"from.{yesterday},to.{today}"}) == set(ids)
        assert await found(**{"filter[created]": f"{today}"}) == set(ids)
        assert await found(**{"filter[created]": f"from.{tomorrow}"}) == set()
        assert await found(**{"filter[created]": "to.2020-01-01"}) == set()
        # The last day there is has no next one: it ends at its last moment (it was a 500).
        assert await found(**{"filter[created]": "to.9999-12-31"}) == set(ids)
        assert await found(**{"filter[updated]": "9999-12-31"}) == set()
        assert await found(**{"filter[submitted]": f"from.{yesterday}T00:00:01Z"}) == set(ids)  # Bugcrowd's name
        fourth = (await tenant.client.get(f"/api/v1/reports/{ids[4]}")).json()["data"]["createdAt"]
        assert set(ids[4:]) <= await found(**{"filter[created]": f"from.{fourth}"})
        assert ids[0] not in await found(**{"filter[created]": f"from.{fourth}"})
        assert await found(**{"filter[updated]": f"from.{yesterday}"}) == set(ids)
        # By the attributes' own names, as `sort` takes them (they were unknown filters).
        for name in ("createdAt", "created_at", "updatedAt", "updated_at"):
            assert await found(**{f"filter[{name}]": f"from.{yesterday}"}) == set(ids), name
            assert await found(**{f"filter[{name}]": f"from.{tomorrow}"}) == set(), name


async def test_filters_are_named_in_snake_case_too(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A Bugcrowd-style client writes its filters in snake_case (`filter[external_id]`), as `sort=created_at`
    and `fields[report]=external_id` are taken, and a relationship's by its id (`filter[project_id]`): the
    filter is the same one, and its refusal names it as sent."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Snake", trackingPrefix="SNK")
        ids = await _reports(anonymous, project, 2)
        await tenant.client.patch(f"/api/v1/reports/{ids[1]}", json={"externalId": "JIRA-7"})
        for name in ("externalId", "external_id"):
            body = await _document(tenant.client, "/api/v1/reports", **{f"filter[{name}]": "JIRA-7"})
            assert [resource["id"] for resource in body["data"]] == [ids[1]]
        assert await _error(tenant.client, "/api/v1/reports", **{"filter[external_ids]": "JIRA-7"}) == [
            "filter[external_ids]"
        ]
        # Under both spellings it is one filter sent twice, refused as a body's field is (not merged).
        both = {"filter[externalId]": "JIRA-7", "filter[external_id]": "JIRA-8"}
        assert sorted(await _error(tenant.client, "/api/v1/reports", **both)) == sorted(both)
        # A relationship's filter by its id's name too, as Bugcrowd's `filter[organization_id]`.
        other = await tenant.create_project("Other", trackingPrefix="OTH")
        for name in ("project", "project_id", "projectId"):
            body = await _document(tenant.client, "/api/v1/reports", **{f"filter[{name}]": other["id"]})
            assert body["data"] == []
        body = await _document(tenant.client, "/api/v1/reports", **{"filter[assignee_id]": "none"})
        assert {resource["id"] for resource in body["data"]} == set(ids)
        both = {"filter[project]": project["id"], "filter[project_id]": project["id"]}
        assert sorted(await _error(tenant.client, "/api/v1/reports", **both)) == sorted(both)


async def test_sort_by_severity_rank_then_newest_first(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Sorting", trackingPrefix="SRT")
        ids = await _reports(anonymous, project, 8)
        body = await _document(tenant.client, "/api/v1/reports", sort="severity,-created_at")
        order = [(resource["attributes"]["severity"], resource["id"]) for resource in body["data"]]
        # critical, high, medium, low (rank, not alphabet); newest first within each
        assert order == [
            ("critical", ids[5]),
            ("critical", ids[1]),
            ("high", ids[7]),
            ("high", ids[3]),
            ("medium", ids[6]),
            ("medium", ids[2]),
            ("low", ids[4]),
            ("low", ids[0]),
        ]
        bugcrowds = await _document(tenant.client, "/api/v1/reports", sort="severity-asc,submitted-desc")
        assert [(resource["attributes"]["severity"], resource["id"]) for resource in bugcrowds["data"]] == order
        newest = await _document(tenant.client, "/api/v1/reports", sort="-createdAt")
        assert [resource["id"] for resource in newest["data"]] == ids[::-1]
        reverse = await _document(tenant.client, "/api/v1/reports", sort="-severity,created_at")
        assert [resource["attributes"]["severity"] for resource in reverse["data"]][:2] == ["low", "low"]
        # A field once (600 of them took one request seconds, and every tenant waited), under any of its names.
        for repeated in (",".join(["severity"] * 600), "-created_at,createdAt"):
            refused = await tenant.client.get("/api/v1/reports", params={"sort": repeated})
            assert refused.status_code == 400, refused.text
            assert refused.json()["details"] == [{"field": "sort", "message": "Sort by each field once."}]


async def test_offset_pages_and_links(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Pages", trackingPrefix="PAG")
        ids = await _reports(anonymous, project, 12)
        newest_first = ids[::-1]
        body = await _document(tenant.client, "/api/v1/reports", **{"page[limit]": "5", "page[offset]": "5"})
        assert [resource["id"] for resource in body["data"]] == newest_first[5:10]
        # Bugcrowd's clients read the whole list's count as total_hits.
        assert body["meta"] == {"count": 5, "total": 12, "total_hits": 12}
        assert "page[offset]=10" in body["links"]["next"]
        assert "page[offset]=0" in body["links"]["prev"]
        last = await _document(tenant.client, body["links"]["next"])
        assert [resource["id"] for resource in last["data"]] == newest_first[10:]
        assert (last["links"]["next"], last["meta"]["count"]) == (None, 2)
        # Past the end, the way back is to the last page with reports, not to another empty one before it.
        past = await _document(tenant.client, "/api/v1/reports", **{"page[limit]": "5", "page[offset]": "500"})
        assert past["data"] == []
        assert "page[offset]=10" in past["links"]["prev"]
        empty = await _document(tenant.client, "/api/v1/reports", **{"page[limit]": "0", "page[offset]": "0"})
        assert (empty["data"], empty["meta"]["total"], empty["links"]["next"]) == ([], 12, None)


async def test_cursor_walk_returns_every_report_once(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Cursor", trackingPrefix="CUR")
        ids = await _reports(anonymous, project, 23)
        walked = await _walk(tenant.client, "/api/v1/reports", **{"page[limit]": "5"})
        assert walked == ids[::-1]
        first = await _document(tenant.client, "/api/v1/reports", **{"page[limit]": "5"})
        assert first["meta"] == {"count": 5}  # a cursor's pages are not counted whole: that takes a count each
        # mixed directions take the other keyset path; a filter narrows every page
        mixed = await _walk(tenant.client, "/api/v1/reports", sort="severity,-created_at", **{"page[limit]": "4"})
        assert sorted(mixed) == sorted(ids)
        assert len(mixed) == len(set(mixed))
        by_rank = await _walk(tenant.client, "/api/v1/reports", sort="priority,-severity", **{"page[limit]": "6"})
        assert sorted(by_rank) == sorted(ids)
        assert len(by_rank) == len(set(by_rank))
        offsets = [
            resource["id"]
            for offset in range(0, 23, 5)
            for resource in (
                await _document(
                    tenant.client,
                    "/api/v1/reports",
                    sort="severity,-created_at",
                    **{"page[limit]": "5", "page[offset]": str(offset)},
                )
            )["data"]
        ]
        assert offsets == mixed
        titles = await _walk(tenant.client, "/api/v1/reports", sort="title", **{"page[limit]": "7"})
        assert titles == ids
        low = await _walk(tenant.client, "/api/v1/reports", **{"page[limit]": "2", "filter[severity]": "low"})
        assert low == ids[::4][::-1]


async def test_status_sorts_in_workflow_order_across_cursor_pages(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """`sort=status` was alphabetical (backlog, closed, doing, done, new, todo): now the default columns come in
    the board's order, then custom columns by name; every report once, on pages cut inside a column."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Workflow", trackingPrefix="WRK")
        for name in ("Waiting", "Blocked"):
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": name})
            assert added.status_code == 201, added.text
        statuses = ["todo", "Waiting", "done", "new", "closed", "Blocked", "backlog", "doing"]
        ids = await _reports(anonymous, project, 2 * len(statuses))
        for index, report_id in enumerate(ids):
            status = statuses[index % len(statuses)]
            moved = await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"status": status})
            assert moved.status_code == 200, moved.text
        workflow = ["new", "backlog", "todo", "doing", "done", "closed", "Blocked", "Waiting"]
        # Within a column, the id (the order they came in) breaks the tie, in the sort's direction.
        expected = [
            report_id for status in workflow for index, report_id in enumerate(ids) if statuses[index % 8] == status
        ]
        ascending = await _walk(tenant.client, "/api/v1/reports", sort="status", **{"page[limit]": "3"})
        descending = await _walk(tenant.client, "/api/v1/reports", sort="-status", **{"page[limit]": "3"})
        mixed = await _walk(tenant.client, "/api/v1/reports", sort="-status,createdAt", **{"page[limit]": "5"})
    assert ascending == expected
    assert descending == expected[::-1]
    by_column = [expected[index : index + 2] for index in range(0, len(expected), 2)]
    assert mixed == [report_id for pair in by_column[::-1] for report_id in pair]


async def _pages(client: ApiClient, url: str, direction: str, **params: Any) -> tuple[list[list[str]], dict[str, Any]]:
    """The ids of every page, following `links.next` or `links.prev` until it ends; and that last page."""
    pages: list[list[str]] = []
    body = await _document(client, url, **params)
    while True:
        pages.append([resource["id"] for resource in body["data"]])
        if not body["links"][direction]:
            return pages, body
        body = await _document(client, body["links"][direction])


@pytest.mark.parametrize(
    "sort",
    [
        "-createdAt",  # one direction: the index range, walked backward
        "title",
        "severity,-created_at",  # mixed directions; a leading rank key merges one range per severity
        "-priority,severity",
    ],
)
async def test_cursor_pages_walk_back_by_prev_to_the_first(
    tenants: TenantFactory, anonymous: ApiClient, sort: str
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Back", trackingPrefix="BAK")
        await _reports(anonymous, project, 11)
        forward, last = await _pages(tenant.client, "/api/v1/reports", "next", sort=sort, **{"page[limit]": "3"})
        assert [len(page) for page in forward] == [3, 3, 3, 2]
        backward, first = await _pages(tenant.client, last["links"]["self"], "prev")
        assert backward == forward[::-1]
        assert "page[before]" in first["links"]["self"]
        # The first page, reached backward, leads on again.
        second = await _document(tenant.client, first["links"]["next"])
        assert [resource["id"] for resource in second["data"]] == forward[1]


async def test_unknown_parameters_are_named_in_a_400(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        url = "/api/v1/reports"
        assert await _error(tenant.client, url, **{"fields[report]": "title,nope"}) == ["fields[report]"]
        assert await _error(tenant.client, url, **{"fields[widget]": "name"}) == ["fields[widget]"]
        assert await _error(tenant.client, url, sort="-nope") == ["sort"]
        assert await _error(tenant.client, url, include="project,owner") == ["include"]
        assert await _error(tenant.client, url, **{"filter[colour]": "red"}) == ["filter[colour]"]
        assert await _error(tenant.client, url, **{"filter[severity]": "urgent"}) == ["filter[severity]"]
        assert await _error(tenant.client, url, **{"filter[created]": "from.yesterday"}) == ["filter[created]"]
        assert await _error(tenant.client, url, **{"filter[project]": "not-a-uuid"}) == ["filter[project]"]
        assert await _error(tenant.client, url, **{"page[limit]": "101"}) == ["page[limit]"]
        assert await _error(tenant.client, url, **{"page[size]": "5"}) == ["page[size]"]
        assert await _error(tenant.client, url, **{"page[after]": "bm9wZQ"}) == ["page[after]"]
        forged = base64.urlsafe_b64encode(b'["-createdAt", 1, 2]').decode()
        assert await _error(tenant.client, url, **{"page[after]": forged}) == ["page[after]"]
        both = {"page[after]": "x", "page[offset]": "5"}
        assert "page[after]" in await _error(tenant.client, url, **both)
        assert "page[before]" in await _error(tenant.client, url, **{"page[after]": "x", "page[before]": "y"})
        assert await _error(tenant.client, url, **{"page[before]": forged}) == ["page[before]"]
        assert sorted(await _error(tenant.client, url, sort="nope", include="owner")) == ["include", "sort"]


async def test_a_cursor_from_another_sort_is_refused(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Sorts", trackingPrefix="SOR")
        await _reports(anonymous, project, 3)
        body = await _document(tenant.client, "/api/v1/reports", sort="title", **{"page[limit]": "1"})
        cursor = body["links"]["next"].split("page[after]=")[1]
        assert await _error(tenant.client, "/api/v1/reports", **{"page[after]": cursor}) == ["page[after]"]


async def test_comments_and_attachments_lists(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Lists", trackingPrefix="LST")
        [report_id] = await _reports(anonymous, project, 1)
        await tenant.client.post(f"/api/v1/reports/{report_id}/comments", json={"text": "First"})
        await tenant.client.post(f"/api/v1/reports/{report_id}/attachments", json={"url": "https://x.example/a.log"})
        comments = await _document(tenant.client, f"/api/v1/reports/{report_id}/comments", include="author")
        [comment] = comments["data"]
        assert (comment["type"], comment["attributes"]["text"]) == ("comment", "First")
        assert comment["relationships"]["report"]["data"] == {"type": "report", "id": report_id}
        assert comments["included"][0]["id"] == tenant.user_id
        attachments = await _document(
            tenant.client, f"/api/v1/reports/{report_id}/attachments", **{"fields[attachment]": "kind,url"}
        )
        assert attachments["data"][0]["attributes"] == {"kind": "link", "url": "https://x.example/a.log"}
        # A whole list sorts and pages too, with its links and total.
        await tenant.client.post(f"/api/v1/reports/{report_id}/comments", json={"text": "Second"})
        url = f"/api/v1/reports/{report_id}/comments"
        newest = await _document(tenant.client, url, sort="-createdAt", **{"page[limit]": "1"})
        assert [item["attributes"]["text"] for item in newest["data"]] == ["Second"]
        assert (newest["meta"]["total"], newest["links"]["prev"]) == (2, None)
        older = await _document(tenant.client, newest["links"]["next"])
        assert [item["attributes"]["text"] for item in older["data"]] == ["First"]
        assert older["links"]["next"] is None
        assert await _walk(tenant.client, url, sort="text", **{"page[limit]": "1"}) == [
            comment["id"],
            newest["data"][0]["id"],
        ]
        assert await _error(tenant.client, url, sort="author") == ["sort"]  # a relationship, not a value
        assert await _error(tenant.client, url, **{"page[after]": "x"}) == ["page[after]"]  # no cursors here


async def test_columns_list_defaults_and_custom(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project("Board", trackingPrefix="BRD")
        url = f"/api/v1/projects/{project['id']}/columns"
        created = await tenant.client.post(url, json={"name": "testing"})
        assert created.status_code == 201, created.text
        custom_id = created.json()["data"]["id"]
        native = (await tenant.client.get(url)).json()["data"]
        response = await tenant.client.get(url, headers={"Accept": JSONAPI})
        assert response.headers["content-type"].startswith(JSONAPI)
        body = response.json()
        validate_document(body)
        assert [resource["id"] for resource in body["data"]] == [
            *(f"status:{name}" for name in ("new", "backlog", "todo", "doing", "done", "closed")),
            custom_id,
        ]
        assert body["meta"]["total"] == 7
        assert {resource["type"] for resource in body["data"]} == {"column"}
        # the attributes are the native columns without their id, in the same order, and the ids are the same
        assert [resource["attributes"] for resource in body["data"]] == [
            {name: value for name, value in column.items() if name != "id"} for column in native
        ]
        assert [resource["id"] for resource in body["data"]] == [column["id"] for column in native]
        testing = body["data"][-1]
        assert testing["attributes"] == {"name": "testing", "statusId": 6, "position": 6, "custom": True}
        assert testing["relationships"]["project"]["data"] == {"type": "project", "id": project["id"]}
        assert body["data"][0]["attributes"] == {"name": "new", "statusId": None, "position": 0, "custom": False}
        # native mode names a default column as JSON:API does (it had no id)
        assert native[0]["id"] == "status:new"
        assert native[-1]["id"] == custom_id
        sparse = await _document(tenant.client, url, **{"fields[column]": "name,status_id"})
        assert sparse["data"][-1] == {
            "type": "column",
            "id": custom_id,
            "attributes": {"name": "testing", "statusId": 6},
            "links": {"self": f"{BASE_URL}{url}/{custom_id}"},
        }
        assert await _error(tenant.client, url, **{"fields[column]": "name,colour"}) == ["fields[column]"]
        assert await _error(tenant.client, url, **{"fields[report]": "title"}) == ["fields[report]"]
        assert sorted(await _error(tenant.client, url, sort="project", include="project")) == ["include", "sort"]
        by_name = await _document(tenant.client, url, sort="-name", **{"page[limit]": "2", "page[offset]": "1"})
        assert [column["attributes"]["name"] for column in by_name["data"]] == ["testing", "new"]  # after "todo"
        assert await _error(tenant.client, f"{url}/{custom_id}", **{"page[limit]": "5"}) == ["page[limit]"]
        one = await tenant.client.get(f"{url}/{custom_id}")
        assert one.json()["data"] == native[-1]
        one_document = await _document(tenant.client, f"{url}/{custom_id}", **{"fields[column]": "name"})
        assert one_document["data"]["attributes"] == {"name": "testing"}
        assert (await tenant.client.get(f"{url}/{project['id']}")).status_code == 404  # not a column of the board
        for path in (url, f"{url}/{custom_id}"):
            for headers, params in (({"Accept": JSONAPI}, {}), ({}, {"fields[column]": "name"}), ({}, {})):
                response = await other.client.get(path, headers=headers, params=params)
                assert response.status_code == 404, response.text


async def test_tenant_isolation_of_filters_cursors_and_items(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other:
        mine = await tenant.create_project("Mine", trackingPrefix="MIN")
        theirs = await other.create_project("Theirs", trackingPrefix="THR")
        # Theirs first: mine are the newest rows, where an unscoped page search would find them.
        their_ids = await _reports(anonymous, theirs, 4, prefix="Theirs")
        my_ids = await _reports(anonymous, mine, 4, prefix="Mine")
        by_project = await _document(
            other.client, "/api/v1/reports", **{"filter[project]": mine["id"], "page[offset]": "0"}
        )
        assert (by_project["data"], by_project["meta"]["total"]) == ([], 0)
        page = await _document(tenant.client, "/api/v1/reports", **{"page[limit]": "1"})
        cursor = page["links"]["next"].split("page[after]=")[1]
        walked = await _walk(other.client, "/api/v1/reports", **{"page[after]": cursor, "page[limit]": "2"})
        assert not set(walked) & set(my_ids)
        assert set(walked) <= set(their_ids)
        ranked = await _walk(other.client, "/api/v1/reports", sort="-severity", **{"page[limit]": "3"})
        assert sorted(ranked) == sorted(their_ids)
        deep = await _document(other.client, "/api/v1/reports", **{"page[offset]": "1", "page[limit]": "2"})
        assert [resource["id"] for resource in deep["data"]] == their_ids[::-1][1:3]
        native = (await other.client.get("/api/v1/reports", params={"page": 2, "page_size": 3})).json()["data"]
        assert ([item["id"] for item in native["items"]], native["total"]) == ([their_ids[0]], 4)
        response = await other.client.get(f"/api/v1/reports/{my_ids[0]}", headers={"Accept": JSONAPI})
        assert response.status_code == 404
        included = await _document(other.client, "/api/v1/reports", include="project")
        assert {resource["id"] for resource in included["included"]} == {theirs["id"]}
        # My report assigned to me: my address finds nothing of theirs, nor mine through their filter.
        await tenant.client.patch(f"/api/v1/reports/{my_ids[0]}", json={"assigneeId": tenant.user_id})
        by_my_address = await _document(other.client, "/api/v1/reports", **{"filter[assignee]": tenant.email})
        assert by_my_address["data"] == []


async def test_guests_see_only_what_they_may(tenants: TenantFactory, anonymous: ApiClient, app: Any) -> None:
    async with tenants.create() as tenant:
        private = await tenant.create_project("Private", trackingPrefix="PRV")
        hidden = await tenant.create_project("Hidden", trackingPrefix="HDN")
        guest_email = f"guest-{secrets.token_hex(4)}@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": guest_email, "role": "guest"})
        guest_user = invited.json()["data"]["member"]["userId"]
        await tenant.client.post(f"/api/v1/projects/{private['id']}/members", json={"userId": guest_user})
        await _submit_as(anonymous, private, guest_email, "Mine")
        await _submit_as(anonymous, private, "someone@example.com", "Someone's")
        await _submit_as(anonymous, hidden, guest_email, "Hidden")
        async with ApiClient.for_app(app) as guest:
            token = invited.json()["data"]["invitationToken"]
            accepted = await guest.post(
                "/api/v1/auth/invitations/accept", json={"token": token, "password": "a long password!"}
            )
            guest_user = accepted.json()["data"]["user"]["id"]  # their account's id, now that they accepted
            body = await _document(
                guest, "/api/v1/reports", include="project", **{"page[limit]": "1", "page[offset]": "0"}
            )
            assert [resource["attributes"]["title"] for resource in body["data"]] == ["Mine"]
            assert body["meta"]["total"] == 1
            assert body["links"]["next"] is None
            assert [resource["id"] for resource in body["included"]] == [private["id"]]

            # The team's people are no guest's to know: their names, not their addresses.
            [mine] = body["data"]
            await tenant.client.patch(f"/api/v1/reports/{mine['id']}", json={"assigneeId": tenant.user_id})
            await tenant.client.post(f"/api/v1/reports/{mine['id']}/comments", json={"text": "On it."})
            assigned = await _document(guest, f"/api/v1/reports/{mine['id']}", include="assignee")
            authors = await _document(guest, f"/api/v1/reports/{mine['id']}/comments", include="author")
            for user in (*assigned["included"], *authors["included"]):
                assert user["attributes"] == {"name": "Owner"}
            by_owner = await _document(tenant.client, f"/api/v1/reports/{mine['id']}", include="assignee")
            assert by_owner["included"][0]["attributes"]["email"] == tenant.email

        # A report is assigned only to someone who sees it: not a guest kept to their own reports, nor an invitee.
        listed = (await tenant.client.get("/api/v1/reports", params={"project_id": private["id"]})).json()["data"]
        someones = next(item["id"] for item in listed["items"] if item["title"] == "Someone's")
        pending = await tenant.client.post("/api/v1/organization/members", json={"email": "later@example.com"})
        refused = [
            await tenant.client.patch(f"/api/v1/reports/{someones}", json={"assigneeId": user_id})
            for user_id in (guest_user, pending.json()["data"]["member"]["userId"])
        ]
        guests_own = await tenant.client.patch(f"/api/v1/reports/{mine['id']}", json={"assigneeId": guest_user})
    assert [answer.status_code for answer in refused] == [400, 400]
    assert refused[0].json()["details"] == [
        {"field": "assigneeId", "message": "No one who can see this report has this ID."}
    ]
    assert guests_own.status_code == 200, guests_own.text


async def _submit_as(anonymous: ApiClient, project: dict[str, Any], email: str, title: str) -> None:
    body = {
        "title": title,
        "reporterEmail": email,
        "metadata": WIDGET_METADATA,
    }
    response = await anonymous.post("/api/v1/widget/submit", json=body, headers={"X-API-Key": project["apiKey"]})
    assert response.status_code == 201, response.text


async def test_every_other_list_and_item_answers_a_document_when_asked(tenants: TenantFactory) -> None:
    """Projects, their keys and people, the organization, its members and tokens: JSON:API mode too."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        token = await tenant.create_token()
        [member] = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
        expected = {
            "/api/v1/projects": ("project", [project["id"]]),
            f"/api/v1/projects/{project['id']}": ("project", project["id"]),
            f"/api/v1/projects/{project['id']}/keys": ("projectKey", [project["keys"][0]["id"]]),
            f"/api/v1/projects/{project['id']}/members": ("user", []),
            "/api/v1/organization": ("organization", tenant.organization_id),
            "/api/v1/organization/members": ("membership", [member["id"]]),
            f"/api/v1/organization/members/{member['id']}": ("membership", member["id"]),
            "/api/v1/tokens": ("token", [token["id"]]),
            f"/api/v1/tokens/{token['id']}": ("token", token["id"]),
        }
        documents: dict[str, Any] = {}
        for url in expected:
            response = await tenant.client.get(url, headers={"Accept": JSONAPI})
            assert response.headers["content-type"].startswith(JSONAPI), (url, response.text)
            documents[url] = response.json()
            validate_document(documents[url])
        sparse = await _document(tenant.client, "/api/v1/projects", **{"fields[project]": "name,trackingPrefix"})
        unknown = await _error(tenant.client, "/api/v1/tokens", **{"filter[name]": "x"})
    for url, (type_name, ids) in expected.items():
        data = documents[url]["data"]
        found = [item["id"] for item in data] if isinstance(data, list) else data["id"]
        assert found == ids, url
        assert all(item["type"] == type_name for item in (data if isinstance(data, list) else [data])), url
    assert documents["/api/v1/organization"]["data"]["attributes"]["name"] == "Acme"
    assert "token" not in documents["/api/v1/tokens"]["data"][0]["attributes"]  # the secret is shown once only
    assert sparse["data"][0]["attributes"] == {"name": "Docs", "trackingPrefix": "DOC"}
    assert unknown == ["filter[name]"]


async def test_native_filters_hold_in_json_api_mode(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A native query that adds a JSON:API `sort` (or asks for a document) keeps its filters: before, they were
    dropped and the document listed the whole organization. Native pages have no meaning there: a 400."""
    async with tenants.create() as tenant:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        blog = await tenant.create_project("Blog", trackingPrefix="BLG")
        await _reports(anonymous, shop, 4)
        await _reports(anonymous, blog, 2)
        native = {"project_id": shop["id"], "severity": "critical"}
        [expected] = (await tenant.client.get("/api/v1/reports", params=native)).json()["data"]["items"]
        for params, headers in (({"sort": "severity,-created_at"}, {}), ({}, {"Accept": JSONAPI})):
            response = await tenant.client.get("/api/v1/reports", params={**native, **params}, headers=headers)
            assert response.status_code == 200, response.text
            assert [item["id"] for item in response.json()["data"]] == [expected["id"]]
        counted = await _document(tenant.client, "/api/v1/reports", project_id=blog["id"], **{"page[offset]": "0"})
        assert counted["meta"]["total"] == 2
        assert await _error(tenant.client, "/api/v1/reports", sort="title", page="2", page_size="5") == [
            "page",
            "page_size",
        ]


async def test_pages_far_out_and_malformed_parameters_are_400s(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Pages", trackingPrefix="PGS")
        for params in ({"page": "922337203685477580"}, {"page[offset]": "9223372036854775808"}):
            response = await tenant.client.get("/api/v1/reports", params=params)
            assert response.status_code == 400, response.text
        # Digits as a query writes them: Python's `int` read "1_0" and full-width digits, the native page_size not.
        for text in ("1_0", "\uff12", "1e1", " "):
            assert await _error(tenant.client, "/api/v1/reports", **{"page[limit]": text}) == ["page[limit]"], text
        assert await _error(tenant.client, "/api/v1/reports", **{"filter[status": "new"}) == ["filter[status"]
        assert await _error(tenant.client, "/api/v1/reports", filter="status") == ["filter"]
        await _document(tenant.client, "/api/v1/reports", sort="created-desc,updated")  # the filters' names too
        response = await tenant.client.get("/api/v1/reports", params={"sort": "colour"})
        [detail] = response.json()["details"]
        assert detail["field"] == "sort"
        assert "colour" in detail["message"]
        assert "createdAt" in detail["message"]  # the sorts there are, to choose from
        # Every list sorts and pages: here the organization's projects, read whole.
        await tenant.client.post("/api/v1/projects", json={"name": "Archive", "trackingPrefix": "ARC"})
        first = await _document(tenant.client, "/api/v1/projects", sort="name", **{"page[limit]": "1"})
        assert ([item["attributes"]["name"] for item in first["data"]], first["meta"]["total"]) == (["Archive"], 2)
        second = await _document(tenant.client, first["links"]["next"])
        assert [item["attributes"]["name"] for item in second["data"]] == ["Pages"]
        # An item is not a list: nothing to sort, filter or page there.
        item = f"/api/v1/projects/{project['id']}"
        assert sorted(await _error(tenant.client, item, sort="name", **{"page[limit]": "1"})) == ["page[limit]", "sort"]
        response = await tenant.client.get(item, params={"include": "owner"})
        assert response.json()["details"] == [{"field": "include", "message": "There is nothing to include here."}]


async def test_every_resource_with_an_address_links_to_it_in_lists_items_and_included(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Reports and included projects carried `links.self`; projects, tokens, webhooks, columns, attachments,
    members, the organization and a GitHub connection did not, in a list, an item or `included`. Each now links
    to the address a GET reads it at, the same resource."""
    async with tenants.create() as tenant:
        client = tenant.client
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        project_url = f"/api/v1/projects/{project['id']}"
        [report_id] = await _reports(anonymous, project, 1)
        report_url = f"/api/v1/reports/{report_id}"
        link = {"url": "https://files.example.com/a.har", "name": "har"}
        assert (await client.post(f"{report_url}/attachments", json=link)).status_code == 201
        assert (await client.post("/api/v1/tokens", json={"name": "CI"})).status_code == 201
        hook = {"url": "https://hooks.example.com/lantern", "events": ["report.created"]}
        assert (await client.post("/api/v1/webhooks", json=hook)).status_code == 201
        github = {"repository": "acme/shop", "token": "ghp_links"}
        assert (await client.put(f"{project_url}/integrations/github", json=github)).status_code == 201
        lists = [
            "/api/v1/projects",
            "/api/v1/tokens",
            "/api/v1/webhooks",
            "/api/v1/organization/members",
            f"{project_url}/columns",
            f"{report_url}/attachments",
        ]
        items = ["/api/v1/organization", f"{project_url}/integrations/github", report_url]
        resources: list[dict[str, Any]] = []
        for url in [*lists, *items, f"{report_url}?include=project,attachments"]:
            answer = await client.get(url, headers={"Accept": JSONAPI})
            assert answer.status_code == 200, (url, answer.text)
            document = answer.json()
            validate_document(document)
            data = document["data"]
            resources.extend([*(data if isinstance(data, list) else [data]), *document.get("included", [])])
        unlinked = []
        for resource in resources:
            self_link = resource.get("links", {}).get("self")
            read = await client.get(self_link or "/nowhere", headers={"Accept": JSONAPI})
            if read.status_code != 200 or read.json()["data"]["id"] != resource["id"]:
                unlinked.append((resource["type"], resource["id"], self_link))
    assert {resource["type"] for resource in resources} == {
        "project",
        "token",
        "webhook",
        "membership",
        "column",
        "attachment",
        "organization",
        "githubConnection",
        "report",
    }
    assert unlinked == []


def _every_link(value: Any) -> list[str]:
    """The targets of every `links` member anywhere in a document: the top level's, each resource's (primary
    and included) and each relationship's; a link object's (`{"href", "meta"}`) `href`."""
    if isinstance(value, list):
        return [target for item in value for target in _every_link(item)]
    if not isinstance(value, dict):
        return []
    links = [target for target in value.get("links", {}).values() if target is not None]
    found = [target["href"] if isinstance(target, dict) else target for target in links]
    return found + [target for key, item in value.items() if key != "links" for target in _every_link(item)]


async def test_every_link_of_a_document_is_whole_under_the_public_url_whatever_host_was_asked(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`links.next` was a path (`/api/v1/reports?page[offset]=5…`), which a client following it as given (as
    GitHub's links are followed) could not use. Every link of a document, the pages' (by offset, by cursor, of a
    list read whole), a resource's `self` (listed, read, included, just made) and a relationship's `related`, is
    now an address under LANTERN_PUBLIC_URL, never under the `Host` the request named. So is a 201's `Location`,
    in either mode (it was a path)."""
    public_url = "https://bugs.example.com"
    async with tenants.create() as tenant:
        project = await tenant.create_project("Links", trackingPrefix="LNK")
        await _reports(anonymous, project, 3)
        for name in ("CI", "Deploy", "Backup"):
            await tenant.create_token(name)
        asked = {"Accept": JSONAPI, "Host": "attacker.example"}
        with environment(LANTERN_PUBLIC_URL=public_url):
            documents = [
                (await tenant.client.get(url, params=params, headers=asked)).json()
                for url, params in [
                    ("/api/v1/reports", {"page[limit]": "1", "page[offset]": "1", "include": "project,comments"}),
                    ("/api/v1/reports", {"page[limit]": "1"}),
                    ("/api/v1/tokens", {"page[limit]": "1", "page[offset]": "1"}),
                    (f"/api/v1/projects/{project['id']}", {}),
                ]
            ]
            hook = {"url": "https://hooks.example.com/lantern", "events": ["report.created"]}
            made = await tenant.client.post("/api/v1/webhooks", json=hook, headers=asked)
            native = await tenant.client.post("/api/v1/webhooks", json=hook, headers={"Host": "attacker.example"})
    offsets, cursors, tokens, item = documents
    pages = [offsets["links"], cursors["links"], tokens["links"]]
    assert [page["next"] is not None for page in pages] == [True, True, True]
    assert [page["prev"] is not None for page in pages] == [True, False, True]  # a first cursor page has none
    assert [page["previous"] for page in pages] == [page["prev"] for page in pages]  # Bugcrowd's name for it
    assert offsets["data"][0]["relationships"]["comments"]["links"]["related"]
    assert offsets["included"][0]["links"]["self"] == f"{public_url}/api/v1/projects/{project['id']}"
    assert item["links"]["self"] == item["data"]["links"]["self"] == f"{public_url}/api/v1/projects/{project['id']}"
    assert made.status_code == 201, made.text
    webhook_address = f"{public_url}/api/v1/webhooks/{made.json()['data']['id']}"
    assert made.headers["location"] == made.json()["links"]["self"] == webhook_address
    assert native.headers["location"] == f"{public_url}/api/v1/webhooks/{native.json()['data']['id']}"
    for document in [*documents, made.json()]:
        validate_document(document)
        links = _every_link(document)
        assert links, document
        assert [link for link in links if not link.startswith(f"{public_url}/api/v1/")] == [], document


async def test_a_relationship_includes_its_first_100_and_says_how_many_there_are(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """One page of 100 reports included every comment of each (105 of one report were 105 resources), without a
    bound: at most 100 per relationship, as Bugcrowd's API, its `links.related` telling how many it lists of how
    many there are (`count`, `total_hits`) and where the rest are read."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        busy, quiet = await _reports(anonymous, project, 2)
        for number in range(105):
            sent = await tenant.client.post(f"/api/v1/reports/{busy}/comments", json={"text": f"Note {number:03d}"})
            assert sent.status_code == 201, sent.text
        assert (await tenant.client.post(f"/api/v1/reports/{quiet}/comments", json={"text": "One"})).status_code == 201
        item = await _document(tenant.client, f"/api/v1/reports/{busy}", include="comments")
        listed = await _document(tenant.client, "/api/v1/reports", include="comments")
        plain = await _document(tenant.client, f"/api/v1/reports/{quiet}", include="project")
    comments = item["data"]["relationships"]["comments"]
    assert len(comments["data"]) == 100
    assert comments["links"]["related"] == {
        "href": f"{BASE_URL}/api/v1/reports/{busy}/comments",
        "meta": {"count": 100, "total_hits": 105},
    }
    texts = [resource["attributes"]["text"] for resource in item["included"] if resource["type"] == "comment"]
    assert texts == [f"Note {number:03d}" for number in range(100)]  # the first ones, oldest first
    by_report = {resource["id"]: resource["relationships"]["comments"] for resource in listed["data"]}
    assert [len(by_report[busy]["data"]), by_report[quiet]["links"]["related"]["meta"]] == [
        100,
        {"count": 1, "total_hits": 1},
    ]
    assert len([resource for resource in listed["included"] if resource["type"] == "comment"]) == 101
    # Not included, the relationship links its address alone, as before.
    assert plain["data"]["relationships"]["comments"]["links"]["related"] == (
        f"{BASE_URL}/api/v1/reports/{quiet}/comments"
    )
