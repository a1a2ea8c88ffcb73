"""JSON:API documents as the bodies of every create and change that takes JSON, not only PATCH /reports: each
answered with a document, another resource's type or id a 409, an unknown attribute named where it was sent.
A trial's comment and project change sent as documents were refused ("data: This field is not allowed.")."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.clients import BASE_URL, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import invite, png
from tests.support.jsonapi import validate_document

JSONAPI = "application/vnd.api+json"


@pytest.fixture(autouse=True)
def _numbering(worker: Any) -> Any:
    """A real worker numbers the reports made here, as the API's own answers wait for it."""
    return worker


@dataclass(frozen=True)
class Write:
    """One create (no `id`, or `makes`: a PUT that creates the resource of `url`, whose `id` it names) or change
    (`id`, the resource of `url`) and what its document sends."""

    method: str
    url: str
    type: str
    attributes: dict[str, Any]
    id: str | None = None
    relationships: dict[str, Any] = field(default_factory=dict)
    makes: bool = False

    @property
    def creates(self) -> bool:
        return self.id is None or self.makes

    def document(self, **data: Any) -> str:
        sent: dict[str, Any] = {"type": self.type, "attributes": self.attributes}
        if self.id is not None:
            sent["id"] = self.id
        if self.relationships:
            sent["relationships"] = self.relationships
        return json.dumps({"data": {**sent, **data}})

    async def send(self, client: ApiClient, body: str, headers: dict[str, str] | None = None) -> Any:
        sent_headers = {"Content-Type": JSONAPI, "Accept-Language": "de", **(headers or {})}
        return await client.request(self.method, self.url, content=body, headers=sent_headers)


async def _writes(tenant: Tenant, anonymous: ApiClient) -> list[Write]:
    """A create or change of each kind of resource that takes a JSON body, in one organization."""
    client = tenant.client
    project = await tenant.create_project("Docs", trackingPrefix="DOC")
    project_url = f"/api/v1/projects/{project['id']}"
    sent = await anonymous.post("/api/v1/reports", json={"title": "Broken"}, headers={"X-API-Key": project["apiKey"]})
    report_url = f"/api/v1/reports/{sent.json()['data']['id']}"
    column = (await client.post(f"{project_url}/columns", json={"name": "Review"})).json()["data"]
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["report.created"]}
    webhook = (await client.post("/api/v1/webhooks", json=hook)).json()["data"]
    me = {"data": {"type": "user", "id": tenant.user_id}}
    member = (await invite(tenant))["member"]
    member_url = f"/api/v1/organization/members/{member['id']}"
    github = {"repository": "acme/shop", "token": "ghp_secret"}
    newcomer = f"person-{secrets.token_hex(4)}@example.com"
    return [
        Write("POST", "/api/v1/projects", "project", {"name": "Second", "trackingPrefix": "SEC"}),
        Write("PATCH", project_url, "project", {"rateLimitPerMinute": 30}, id=project["id"]),
        Write("POST", "/api/v1/tokens", "token", {"name": "ci"}),
        Write("POST", f"{project_url}/columns", "column", {"name": "Testing"}),
        Write("PUT", f"{project_url}/columns/{column['id']}", "column", {"name": "QA"}, id=column["id"]),
        Write("POST", "/api/v1/webhooks", "webhook", hook),
        Write("PATCH", f"/api/v1/webhooks/{webhook['id']}", "webhook", {"active": True}, id=webhook["id"]),
        Write("POST", f"{project_url}/members", "user", {"email": "client@example.com"}),
        Write("POST", f"{report_url}/comments", "comment", {"text": "Seen"}, relationships={"author": me}),
        Write("POST", f"{report_url}/attachments", "attachment", {"url": "https://files.example.com/a.har"}),
        Write("POST", f"{project_url}/reports", "report", {"description": "Phoned in"}, relationships={"assignee": me}),
        Write("PATCH", report_url, "report", {"severity": "low"}, id=report_url.rsplit("/", 1)[-1]),
        Write("PATCH", "/api/v1/organization", "organization", {"name": "Acme Labs"}, id=tenant.organization_id),
        Write("POST", "/api/v1/organization/members", "membership", {"email": newcomer, "role": "member"}),
        Write("PATCH", member_url, "membership", {"role": "admin"}, id=member["id"]),
        Write("PUT", f"{project_url}/integrations/github", "githubConnection", github, id=project["id"], makes=True),
    ]


async def test_every_write_takes_a_document_and_answers_one(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A document sent (its Content-Type alone says so) creates (201, its Location its self link) or changes
    (200) the resource, and the answer is its document, relationships set from the document's."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1"):
        async with tenants.create() as tenant:
            writes = await _writes(tenant, anonymous)
            answers = [(write, await write.send(tenant.client, write.document())) for write in writes]
    for write, answer in answers:
        assert answer.status_code == (201 if write.creates else 200), (write, answer.text)
        assert answer.headers["content-type"].startswith(JSONAPI), write
        document = answer.json()
        validate_document(document)
        assert document["data"]["type"] == write.type, write
        if write.id:
            assert document["data"]["id"] == write.id, write
        attributes = document["data"]["attributes"]
        for name, value in write.attributes.items():
            assert attributes.get(name, value) == value, (write, attributes)
        for name, linked in write.relationships.items():
            assert document["data"]["relationships"][name]["data"]["id"] == linked["data"]["id"], write
        if write.creates and "location" in answer.headers:
            assert document["links"]["self"] == answer.headers["location"], write
            assert answer.headers["location"].startswith(f"{BASE_URL}/api/v1/"), write
    located = {write.type for write, answer in answers if write.creates and "location" in answer.headers}
    made = {"project", "token", "column", "webhook", "attachment", "report", "membership", "githubConnection"}
    assert located == made


async def test_a_document_of_another_resource_is_a_conflict(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """Another type, or a change's id of another resource, is JSON:API's 409; a creation's own id, its 403 (the
    server gives ids). Nothing is written."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1"):
        async with tenants.create() as tenant:
            writes = await _writes(tenant, anonymous)
            answers = []
            for write in writes:
                answers.append((write, "type", await write.send(tenant.client, write.document(type="nothing"))))
                other_id = "0190c1d2-0000-7000-8000-000000000000"
                answers.append((write, "id", await write.send(tenant.client, write.document(id=other_id))))
    for write, member, answer in answers:
        expected = 403 if member == "id" and not write.id else 409
        assert answer.status_code == expected, (write, member, answer.text)
        assert [detail["field"] for detail in answer.json()["details"]] == [f"data.{member}"], (write, answer.text)


async def _sent_to_every_write(
    tenants: TenantFactory,
    anonymous: ApiClient,
    bodies: Callable[[Write], list[str]],
    headers: dict[str, str] | None = None,
) -> list[tuple[Write, Any]]:
    """Each of `bodies`' bodies of each write, sent to it in one organization; with each answer."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1"):
        async with tenants.create() as tenant:
            return [
                (write, await write.send(tenant.client, body, headers))
                for write in await _writes(tenant, anonymous)
                for body in bodies(write)
            ]


async def test_a_documents_unknown_attribute_is_named_where_it_was_sent(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    def coloured(write: Write) -> list[str]:
        body = json.loads(write.document())
        body["data"]["attributes"]["colour"] = "red"
        return [json.dumps(body)]

    for write, answer in await _sent_to_every_write(tenants, anonymous, coloured):
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [
            {"field": "data.attributes.colour", "message": "Dieses Feld ist nicht zulässig."}
        ], write


async def test_a_body_of_a_type_no_write_reads_is_told_both_that_it_reads(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The 415 named application/json alone, where each of these writes takes a JSON:API document too."""
    answers = await _sent_to_every_write(
        tenants, anonymous, lambda write: [write.document()], {"Content-Type": "text/plain"}
    )
    for write, answer in answers:
        assert answer.status_code == 415, (write, answer.text)
        [detail] = answer.json()["details"]
        assert detail["field"] == "Content-Type", write
        # (An attachment is also a file sent as multipart/form-data.)
        assert detail["message"].startswith("Senden Sie den Anfragetext als application/json"), write
        assert "application/vnd.api+json" in detail["message"], write


async def test_a_document_whose_data_is_not_one_resource_object_is_refused_as_such(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`data` as a list of resource objects (a batch, which Lantern does not take) was refused as a field "not
    allowed", which told a JSON:API client nothing."""

    def not_one(write: Write) -> list[str]:
        one = json.loads(write.document())["data"]
        return [json.dumps({"data": [one, one]}), json.dumps({"data": None})]

    refusal = {"field": "data", "message": 'Muss ein einzelnes Ressourcenobjekt {"type": …, "attributes": …} sein.'}
    for write, answer in await _sent_to_every_write(tenants, anonymous, not_one):
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [refusal], write


async def test_a_change_document_that_changes_nothing_is_refused_as_a_reports_is(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A change's document without `attributes` or `relationships`, which every change's documented body
    refuses, is a 400 naming `data` on each change: a report's was a 400 (as a field `data` "not allowed"), a
    project's, a webhook's, a column's a change of nothing (200). Nothing is written."""
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1"):
        async with tenants.create() as tenant:
            changes = [write for write in await _writes(tenant, anonymous) if write.id]
            answers = []
            for write in changes:
                body = json.dumps({"data": {"type": write.type, "id": write.id}})
                answers.append((write, await write.send(tenant.client, body)))
    assert {write.type for write in changes} >= {"report", "project", "column", "webhook", "organization"}
    for write, answer in answers:
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [
            {
                "field": "data",
                "message": "Senden Sie die Änderungen in data.attributes, data.relationships oder beiden.",
            }
        ], write


async def test_a_document_sent_by_a_client_that_accepts_json_alone_is_answered_in_json(tenants: TenantFactory) -> None:
    """A body sent as a document chose the answer's form too, whatever `Accept` said: a client that takes
    `application/json` alone was answered `application/vnd.api+json`. With `*/*`, or none, it still chooses."""
    async with tenants.create() as tenant:
        document = {"data": {"type": "project", "attributes": {"name": "Docs"}}}
        answers = {
            accept: await tenant.client.post(
                "/api/v1/projects",
                content=json.dumps(document),
                headers={"Content-Type": JSONAPI, **({"Accept": accept} if accept else {})},
            )
            for accept in ("application/json", "*/*", "")
        }
    assert {accept: answer.status_code for accept, answer in answers.items()} == dict.fromkeys(answers, 201)
    assert {accept: answer.headers["content-type"].split(";")[0] for accept, answer in answers.items()} == {
        "application/json": "application/json",
        "*/*": JSONAPI,
        "": JSONAPI,
    }
    assert answers["application/json"].json()["data"]["name"] == "Docs"


async def test_a_document_may_carry_the_jsonapi_object_and_meta_any_document_may(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """JSON:API 1.1 lets any document carry `jsonapi` and `meta` (and a resource object `meta`): a document with
    them beside `data` fell through to the native body and was refused as "data: This field is not allowed". Each
    write takes one, `meta` ignored."""

    def described(write: Write) -> list[str]:
        body = json.loads(write.document(meta={"sentBy": "sync"}, lid="local-1"))
        version = "1.0" if write.type == "project" else "1.1"
        return [json.dumps({**body, "jsonapi": {"version": version, "profile": []}, "meta": {"requestId": "r-1"}})]

    for write, answer in await _sent_to_every_write(tenants, anonymous, described):
        assert answer.status_code == (201 if write.creates else 200), (write, answer.text)
        assert answer.json()["data"]["type"] == write.type, write


async def test_a_request_documents_members_json_api_gives_a_request_none_of_are_refused_by_name(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`included` (a request sends one resource), `links` (a request has none to give), a member JSON:API does not
    name, a `jsonapi` or `meta` that is no object, a version Lantern does not read or an extension it does not
    implement: each named where it was sent, in one 400, and nothing written."""

    def overloaded(write: Write) -> list[str]:
        body = json.loads(write.document(links={"self": "/x"}, colour="red"))
        extra = {"included": [], "links": {"self": "/x"}, "meta": [1], "jsonapi": {"version": "2.0", "ext": ["urn:x"]}}
        return [json.dumps({**body, **extra}), json.dumps({**json.loads(write.document()), "jsonapi": "1.1"})]

    not_allowed = "In einem JSON:API-Anfragedokument nicht zulässig: Dieses Objekt nimmt "
    top, resource = (
        f"{not_allowed}data, jsonapi, meta an.",
        f"{not_allowed}type, id, lid, attributes, relationships, meta an.",
    )
    answers = await _sent_to_every_write(tenants, anonymous, overloaded)
    for write, answer in answers[::2]:
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [
            {"field": "included", "message": top},
            {"field": "links", "message": top},
            {"field": "data.links", "message": resource},
            {"field": "data.colour", "message": resource},
            {"field": "meta", "message": "Muss ein JSON-Objekt sein."},
            {
                "field": "jsonapi.version",
                "message": "Lantern liest JSON:API-Dokumente der Versionen 1.0 und 1.1: Senden Sie die Version 1.1 "
                "oder keine.",
            },
            {"field": "jsonapi.ext", "message": "Nicht unterstützte JSON:API-Erweiterung (ext): urn:x."},
        ], write
    for write, answer in answers[1::2]:
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [{"field": "jsonapi", "message": "Muss ein JSON-Objekt sein."}], write


async def test_a_document_without_its_type_is_refused_naming_the_type_it_takes(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """JSON:API's resource object must say its type, and the documented body requires it: a project's document
    without one was created (201). A 400 naming `data.type` and the type each address takes (a project's people
    are `user`s, the organization's members `membership`s), a null type too."""

    def untyped(write: Write) -> list[str]:
        body = json.loads(write.document())
        del body["data"]["type"]
        return [json.dumps(body), write.document(type=None)]

    for write, answer in await _sent_to_every_write(tenants, anonymous, untyped):
        assert answer.status_code == 400, (write, answer.text)
        message = f"Dieses Feld ist erforderlich: der Typ der Ressourcen, die diese Adresse annimmt, {write.type}."
        assert answer.json()["details"] == [{"field": "data.type", "message": message}], write


async def test_a_native_body_sent_as_a_json_api_document_is_refused_naming_data(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A body sent as JSON:API's media type is a document: a native one sent so was read natively (201). Now a
    400 naming `data` as required, and each native field as not allowed there; the same body as
    application/json, and a document sent as application/json, are taken as before."""

    def native(write: Write) -> list[str]:
        return [json.dumps(write.attributes)]

    required = "Ein als application/vnd.api+json gesendeter Anfragetext ist ein JSON:API-Dokument: Senden Sie die "
    not_allowed = "In einem JSON:API-Anfragedokument nicht zulässig: Dieses Objekt nimmt data, jsonapi, meta an."
    for write, answer in await _sent_to_every_write(tenants, anonymous, native):
        assert answer.status_code == 400, (write, answer.text)
        assert answer.json()["details"] == [
            {"field": "data", "message": f"{required}Ressource als data."},
            *({"field": name, "message": not_allowed} for name in write.attributes),
        ], write
    async with tenants.create() as tenant:
        plain = await tenant.client.post("/api/v1/projects", json={"name": "Plain"})
        document = await tenant.client.post(
            "/api/v1/projects", json={"data": {"type": "project", "attributes": {"name": "Document"}}}
        )
    assert plain.status_code == 201, plain.text
    assert plain.json()["data"]["name"] == "Plain"
    assert document.status_code == 201, document.text
    assert document.json()["data"]["name"] == "Document"  # answered natively: it asked for no document


async def test_an_upload_for_a_json_api_client_is_answered_with_its_document(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A file sent as multipart or as the body by a client that asks for JSON:API (`Accept`) was answered with
    the native envelope: now with the attachment's document (201, its `Location` its self link), as a link's
    is, and BugSpark's screenshot upload with a `screenshot` whose `key` a report names it by. A client that
    does not ask gets the native answers as before."""
    log = ("server.log", b"checkout failed\n", "text/plain")
    asked = {"Accept": JSONAPI}
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        widget = {"X-API-Key": project["apiKey"]}
        sent = await anonymous.post("/api/v1/reports", json={"title": "Broken"}, headers=widget)
        attachments = f"/api/v1/reports/{sent.json()['data']['id']}/attachments"
        raw = {"params": {"file_name": "server.log"}, "content": log[1]}

        async def uploads(headers: dict[str, str], client: ApiClient) -> dict[str, Any]:
            return {
                "form": await client.post(attachments, files={"file": log}, headers=headers),
                "body": await client.post(
                    f"{attachments}/upload", **raw, headers={**headers, "Content-Type": "text/plain"}
                ),
                "form to upload": await client.post(f"{attachments}/upload", files={"file": log}, headers=headers),
                "screenshot": await anonymous.post(
                    "/api/v1/upload/screenshot",
                    files={"file": ("shot.png", png(), "image/png")},
                    headers={**widget, **headers},
                ),
            }

        documents = await uploads(asked, tenant.client)
        natives = await uploads({}, tenant.client)
        located = {
            name: await tenant.client.get(answer.headers["location"], headers=asked)
            for name, answer in documents.items()
            if name != "screenshot"
        }
        key = documents["screenshot"].json()["data"]["attributes"]["key"]
        filed = await anonymous.post("/api/v1/reports", json={"title": "Shot", "screenshot_url": key}, headers=widget)
    for name, answer in documents.items():
        assert answer.status_code == 201, (name, answer.text)
        assert answer.headers["content-type"].startswith(JSONAPI), name
        document = answer.json()
        validate_document(document)
        assert document["data"]["type"] == ("screenshot" if name == "screenshot" else "attachment"), name
    for name, answer in located.items():
        document = documents[name].json()
        assert document["links"]["self"] == documents[name].headers["location"], name
        assert answer.json()["data"]["id"] == document["data"]["id"], name
        assert document["data"]["attributes"]["name"] == "server.log", name
        assert document["data"]["relationships"]["report"]["data"]["id"] == attachments.split("/")[-2], name
    assert set(documents["screenshot"].json()["data"]["attributes"]) == {"key"}
    assert filed.status_code == 201, filed.text
    for name, answer in natives.items():
        assert answer.status_code == 201, (name, answer.text)
        assert answer.headers["content-type"].startswith("application/json"), name
        if name == "screenshot":
            assert set(answer.json()) == {"key"}
        else:
            assert answer.json()["success"] is True
            assert answer.json()["data"]["name"] == "server.log", name


async def test_the_native_reports_lists_link_their_pages_as_every_native_list_does(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The reports' native lists keep their `{items, total, page, pageSize}` and now send `Link` (RFC 8288) to
    their next and previous pages, as the other native lists do (they sent none); the OpenAPI document says so.
    In JSON:API mode the pages are the document's links, as before."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Docs", trackingPrefix="DOC")
        for number in range(3):
            title = f"Broken {number}"
            await anonymous.post("/api/v1/reports", json={"title": title}, headers={"X-API-Key": project["apiKey"]})
        lists = ["/api/v1/reports", f"/api/v1/projects/{project['id']}/reports"]
        pages = {
            url: [await tenant.client.get(f"{url}?page={page}&page_size=2&severity=medium") for page in (1, 2)]
            for url in lists
        }
        past = await tenant.client.get(f"{lists[0]}?page=9&pageSize=2")
        whole = await tenant.client.get(lists[0])
        document = await tenant.client.get(lists[0], params={"page[limit]": 2}, headers={"Accept": JSONAPI})
    openapi = (await anonymous.get("/schema/openapi.json")).json()
    for url, (first, second) in pages.items():
        assert first.json()["data"] == {**first.json()["data"], "total": 3, "page": 1, "pageSize": 2}, url
        assert set(first.json()["data"]) == {"items", "total", "page", "pageSize"}, url
        assert _links(first.headers["link"]) == {"next": (url, {"page": "2", "page_size": "2", "severity": "medium"})}
        assert _links(second.headers["link"]) == {"prev": (url, {"page": "1", "page_size": "2", "severity": "medium"})}
        assert len(first.json()["data"]["items"]) + len(second.json()["data"]["items"]) == 3, url
    assert _links(past.headers["link"]) == {"prev": (lists[0], {"page": "2", "page_size": "2"})}
    assert "link" not in whole.headers  # one page
    assert "link" not in document.headers
    assert document.json()["links"]["next"]
    for path in ("/api/v1/reports", "/api/v1/projects/{project_id}/reports"):
        headers = openapi["paths"][path]["get"]["responses"]["200"]["headers"]
        assert headers["Link"]["schema"] == {"type": "string"}, path


def _links(header: str) -> dict[str, tuple[str, dict[str, str]]]:
    """A `Link` header's pages by their `rel`: each one's path and query."""
    linked = {}
    for part in header.split(", "):
        target, rel = part.split(">; rel=")
        address = urlsplit(target.removeprefix("<"))
        linked[rel.strip('"')] = (address.path, dict(parse_qsl(address.query)))
    return linked


async def test_the_openapi_document_gives_each_write_its_document_body(anonymous: ApiClient) -> None:
    document = (await anonymous.get("/schema/openapi.json")).json()
    operations = {
        operation["operationId"]: operation
        for methods in document["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    writes = [
        "CreateProject", "UpdateProject", "CreateToken", "CreateColumn", "UpdateColumn", "CreateWebhook",
        "UpdateWebhook", "AddProjectMember", "CreateComment", "CreateAttachment", "FileReport", "UpdateReport",
        "UpdateOrganization", "InviteMember", "UpdateMember", "ConnectGitHub",
    ]  # fmt: skip
    bodies = {name: operations[name]["requestBody"]["content"].get(JSONAPI) for name in writes}
    assert [name for name, body in bodies.items() if not body] == []
    made = [name for name in writes if name.startswith(("Create", "Add", "File", "Invite"))]
    assert [name for name in made if "id" in bodies[name]["schema"]["properties"]["data"]["properties"]] == []
    # The one type each takes (another is a 409), as `_writes` sends it: a client had to guess it.
    types = {
        "CreateProject": "project", "UpdateProject": "project", "CreateToken": "token", "CreateColumn": "column",
        "UpdateColumn": "column", "CreateWebhook": "webhook", "UpdateWebhook": "webhook", "AddProjectMember": "user",
        "CreateComment": "comment", "CreateAttachment": "attachment", "FileReport": "report",
        "UpdateReport": "report", "UpdateOrganization": "organization", "InviteMember": "membership",
        "UpdateMember": "membership", "ConnectGitHub": "githubConnection",
    }  # fmt: skip
    documented = {name: body["schema"]["properties"]["data"]["properties"]["type"] for name, body in bodies.items()}
    assert documented == {name: {"type": "string", "enum": [type_name]} for name, type_name in types.items()}
