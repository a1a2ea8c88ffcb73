"""Conditional requests (RFC 9110 §13): every answer that is one resource carries its representation's ETag, a GET
holding it is a 304, and a change sent with `If-Match` or `If-Unmodified-Since` is refused (412) when the object is
no longer the one its client read, so that two people triaging the same report, or two admins changing the same
project, column, webhook, member, organization or GitHub connection, do not silently undo each other.

Real parts: the app in-process, the suite's database and Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.lib import jsonapi
from tests.integration.test_concurrent_changes import one_after_the_other
from tests.support.admin_ui import report
from tests.support.clients import ApiClient, Tenant, TenantFactory

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
FAR_FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def refused(response: httpx.Response) -> None:
    assert response.status_code == 412, response.text
    assert response.json()["error"] == "PRECONDITION_FAILED"


@asynccontextmanager
async def second_client(app: Any, tenant: Tenant) -> AsyncIterator[ApiClient]:
    """Another client of the same organization: an integration's, with its own token."""
    token = await tenant.create_token()
    async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token['token']}"}) as client:
        yield client


async def filed(tenant: Tenant) -> str:
    project = await tenant.create_project("Shop")
    return str((await report(tenant.client, project["apiKey"], "Checkout fails"))["id"])


async def test_of_two_changes_from_the_same_read_the_second_is_refused_and_the_first_kept(
    tenants: TenantFactory, app: Any
) -> None:
    """Both were applied, the second silently undoing the first."""
    async with tenants.create() as tenant, second_client(app, tenant) as other:
        address = f"/api/v1/reports/{await filed(tenant)}"
        mine, theirs = await tenant.client.get(address), await other.get(address)
        assert mine.headers["ETag"] == theirs.headers["ETag"]

        first = await tenant.client.patch(
            address, json={"severity": "critical"}, headers={"If-Match": mine.headers["ETag"]}
        )
        assert data(first)["severity"] == "critical"
        assert first.headers["ETag"] != mine.headers["ETag"]
        second = await other.patch(address, json={"severity": "low"}, headers={"If-Match": theirs.headers["ETag"]})

        refused(second)
        now = await other.get(address)
        assert data(now)["severity"] == "critical"
        assert now.headers["ETag"] == first.headers["ETag"]  # the change's answer is what a GET reads after it
        again = await other.patch(address, json={"severity": "low"}, headers={"If-Match": now.headers["ETag"]})
        assert data(again)["severity"] == "low"


async def test_a_stale_tag_changes_nothing_and_a_star_means_it_exists(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        address = f"/api/v1/reports/{await filed(tenant)}"
        refused(await tenant.client.patch(address, json={"severity": "low"}, headers={"If-Match": '"stale"'}))
        weak = (await tenant.client.get(address)).headers["ETag"]
        refused(await tenant.client.put(address, json={"severity": "low"}, headers={"If-Match": f"W/{weak}"}))
        assert data(await tenant.client.get(address))["severity"] != "low"
        changed = await tenant.client.put(address, json={"severity": "low"}, headers={"If-Match": "*"})
        assert data(changed)["severity"] == "low"
        listed = f'"other", {changed.headers["ETag"]}'
        assert (await tenant.client.patch(address, json={"priority": "high"}, headers={"If-Match": listed})).is_success


async def test_a_json_api_change_is_made_under_the_tag_of_the_document(tenants: TenantFactory) -> None:
    """The document and the native answer are two representations, each with its tag."""
    async with tenants.create() as tenant:
        report_id = await filed(tenant)
        address = f"/api/v1/reports/{report_id}"
        as_document = {"Accept": jsonapi.MEDIA_TYPE, "Content-Type": jsonapi.MEDIA_TYPE}
        native, document = await tenant.client.get(address), await tenant.client.get(address, headers=as_document)
        change = {"data": {"type": "report", "id": report_id, "attributes": {"severity": "low"}}}
        by_native = {**as_document, "If-Match": native.headers["ETag"]}
        refused(await tenant.client.patch(address, json=change, headers=by_native))
        by_document = {**as_document, "If-Match": document.headers["ETag"]}
        changed = await tenant.client.patch(address, json=change, headers=by_document)
        assert changed.json()["data"]["attributes"]["severity"] == "low"
        assert changed.headers["ETag"] == (await tenant.client.get(address, headers=as_document)).headers["ETag"]


async def test_a_get_holding_the_current_tag_is_answered_not_modified(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        address = f"/api/v1/reports/{await filed(tenant)}"
        read = await tenant.client.get(address)
        tag = read.headers["ETag"]
        for method in ("GET", "HEAD"):
            unchanged = await tenant.client.request(method, address, headers={"If-None-Match": f'"x", W/{tag}'})
            assert (unchanged.status_code, unchanged.content) == (304, b"")
            assert unchanged.headers["ETag"] == tag
            assert unchanged.headers["Cache-Control"] == read.headers["Cache-Control"]
        assert (await tenant.client.get(address, headers={"If-None-Match": '"stale"'})).status_code == 200
        assert (await tenant.client.head(address)).headers["ETag"] == tag


async def test_the_tag_moves_with_what_the_answer_shows(tenants: TenantFactory) -> None:
    """The assignee and the column, and the comments a JSON:API document includes: each change is a new tag."""
    async with tenants.create() as tenant:
        address = f"/api/v1/reports/{await filed(tenant)}"

        async def tags() -> tuple[str, str]:
            native = await tenant.client.get(address)
            document = await tenant.client.get(address, params={"include": "comments"})
            return native.headers["ETag"], document.headers["ETag"]

        seen = [await tags()]
        assert seen[0][0] != seen[0][1]  # a tag per representation
        data(await tenant.client.patch(address, json={"assigneeId": tenant.user_id}))
        seen.append(await tags())
        data(await tenant.client.patch(address, json={"status": "doing"}))
        seen.append(await tags())
        data(await tenant.client.post(f"{address}/comments", json={"text": "Seen on Safari too."}), 201)
        seen.append(await tags())
        assert len({native for native, _ in seen}) == 3  # a comment is not in the native answer
        assert len({document for _, document in seen}) == 4


async def test_a_deletion_under_a_stale_tag_is_refused(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        address = f"/api/v1/reports/{await filed(tenant)}"
        tag = (await tenant.client.get(address)).headers["ETag"]
        data(await tenant.client.patch(address, json={"severity": "low"}))
        refused(await tenant.client.delete(address, headers={"If-Match": tag}))
        current = (await tenant.client.get(address)).headers["ETag"]
        assert (await tenant.client.delete(address, headers={"If-Match": current})).status_code == 204
        assert (await tenant.client.get(address)).status_code == 404


async def test_a_change_after_if_unmodified_since_is_refused(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        address = f"/api/v1/reports/{await filed(tenant)}"
        refused(await tenant.client.patch(address, json={"severity": "low"}, headers={"If-Unmodified-Since": EPOCH}))
        assert data(await tenant.client.get(address))["severity"] != "low"
        unmodified = {"If-Unmodified-Since": FAR_FUTURE}
        assert (
            data(await tenant.client.patch(address, json={"severity": "low"}, headers=unmodified))["severity"] == "low"
        )
        # If-Match decides alone when both are sent (RFC 9110 §13.2.2).
        tag = (await tenant.client.get(address)).headers["ETag"]
        both = {"If-Match": tag, "If-Unmodified-Since": EPOCH}
        assert (await tenant.client.patch(address, json={"severity": "high"}, headers=both)).is_success


async def test_another_organizations_report_is_not_found_whatever_the_conditions(tenants: TenantFactory) -> None:
    async with tenants.create("Acme") as acme, tenants.create("Globex") as globex:
        address = f"/api/v1/reports/{await filed(acme)}"
        tag = (await acme.client.get(address)).headers["ETag"]
        for headers in ({"If-Match": tag}, {"If-Match": '"stale"'}, {"If-Unmodified-Since": EPOCH}):
            for method in ("PATCH", "DELETE"):
                body = {"severity": "low"} if method == "PATCH" else None
                answer = await globex.client.request(method, address, json=body, headers=headers)
                assert answer.status_code == 404, answer.text
        assert (await globex.client.get(address, headers={"If-None-Match": tag})).status_code == 404


async def test_answers_without_conditions_are_unchanged_but_tagged(tenants: TenantFactory) -> None:
    """A report filed by the team and a comment are created with their tag; the lists carry none."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        made = await tenant.client.post(f"/api/v1/projects/{project['id']}/reports", json={"title": "Phone call"})
        assert made.status_code == 201
        assert made.headers["ETag"].startswith('"')
        read = await tenant.client.get(f"/api/v1/reports/{data(made, 201)['id']}")
        assert read.headers["ETag"] == made.headers["ETag"]
        comment = await tenant.client.post(f"/api/v1/reports/{read.json()['data']['id']}/comments", json={"text": "Hi"})
        assert comment.status_code == 201
        assert "ETag" in comment.headers
        assert "ETag" not in (await tenant.client.get("/api/v1/reports")).headers


async def project_at(tenant: Tenant) -> str:
    return f"/api/v1/projects/{(await tenant.create_project('Shop'))['id']}"


async def made_at(tenant: Tenant, path: str, body: dict[str, Any]) -> str:
    """The address of what a POST to `path` made (its `Location`)."""
    made = await tenant.client.post(path, json=body)
    assert made.status_code == 201, made.text
    return urlsplit(made.headers["Location"]).path


async def column_at(tenant: Tenant) -> str:
    return await made_at(tenant, f"{await project_at(tenant)}/columns", {"name": "Review"})


async def webhook_at(tenant: Tenant) -> str:
    hook = {"url": "https://hooks.example.com/lantern", "events": ["report.created"]}
    return await made_at(tenant, "/api/v1/webhooks", hook)


async def member_at(tenant: Tenant) -> str:
    return await made_at(tenant, "/api/v1/organization/members", {"email": "ann@example.com"})


async def organization_at(_tenant: Tenant) -> str:
    return "/api/v1/organization"


async def github_connection_at(tenant: Tenant) -> str:
    address = f"{await project_at(tenant)}/integrations/github"
    data(await tenant.client.put(address, json={"repository": "acme/shop", "token": "ghp_first"}), 201)
    return address


@dataclass(frozen=True)
class Resource:
    """One of the API's single resources: how a test makes it (its address), a change its answer shows, what its
    deletion takes, and its table."""

    made: Callable[[Tenant], Awaitable[str]]
    change: dict[str, Any]
    table: str
    method: str = "PATCH"
    deletion: dict[str, str] = field(default_factory=dict)  # its query
    foreign: bool = True  # another organization names it by its address (not the organization: it is the caller's)


RESOURCES = {
    "project": Resource(project_at, {"name": "Blog"}, "project"),
    "column": Resource(column_at, {"name": "QA"}, "project_column"),
    "webhook": Resource(webhook_at, {"url": "https://hooks.example.com/other"}, "webhook"),
    "member": Resource(member_at, {"role": "admin"}, "membership"),
    "organization": Resource(
        organization_at, {"name": "Acme Labs"}, "organization", deletion={"confirm": "Acme Labs"}, foreign=False
    ),
    "github-connection": Resource(github_connection_at, {"repository": "acme/web"}, "github_connection", method="PUT"),
}


@pytest.mark.parametrize("resource", RESOURCES.values(), ids=RESOURCES.keys())
async def test_each_resource_is_changed_and_deleted_only_under_its_current_tag(
    tenants: TenantFactory, resource: Resource
) -> None:
    """A project, a column, a webhook, a member, the organization and a GitHub connection were changed and deleted
    whatever their client had read: an admin's change silently undid another's made since."""
    async with tenants.create("Acme") as tenant, tenants.create("Globex") as other:
        address = await resource.made(tenant)
        read = await tenant.client.get(address)
        tag = read.headers["ETag"]
        assert tag.startswith('"'), tag
        unchanged = await tenant.client.get(address, headers={"If-None-Match": tag})
        assert (unchanged.status_code, unchanged.content, unchanged.headers["ETag"]) == (304, b"", tag)
        if resource.foreign:
            for conditions in ({"If-Match": tag}, {"If-Match": '"stale"'}, {"If-Unmodified-Since": EPOCH}):
                foreign = await other.client.request(resource.method, address, json=resource.change, headers=conditions)
                assert foreign.status_code == 404, foreign.text
                assert (await other.client.delete(address, headers=conditions)).status_code == 404
            assert (await other.client.get(address, headers={"If-None-Match": tag})).status_code == 404

        stale = {"If-Match": '"stale"'}
        refused(await tenant.client.request(resource.method, address, json=resource.change, headers=stale))
        assert (await tenant.client.get(address)).headers["ETag"] == tag  # nothing changed
        changed = await tenant.client.request(resource.method, address, json=resource.change, headers={"If-Match": tag})
        assert data(changed).items() >= resource.change.items()
        assert changed.headers["ETag"] == (await tenant.client.get(address)).headers["ETag"] != tag

        refused(await tenant.client.delete(address, params=resource.deletion, headers={"If-Match": tag}))
        current = {"If-Match": changed.headers["ETag"]}
        assert (await tenant.client.delete(address, params=resource.deletion, headers=current)).status_code == 204


@pytest.mark.parametrize("resource", RESOURCES.values(), ids=RESOURCES.keys())
async def test_of_two_changes_at_once_under_the_same_tag_the_second_is_refused(
    tenants: TenantFactory, is_postgres: bool, resource: Resource
) -> None:
    """The conditions are evaluated with the object held, in the transaction that changes it: both changes are
    made to wait for its table before either holds it, and the one that holds it second, read afresh once the
    first committed, no longer has the tag both sent. (PostgreSQL only: SQLite writes one transaction at a
    time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        address = await resource.made(tenant)
        read = {"If-Match": (await tenant.client.get(address)).headers["ETag"]}
        answers = await one_after_the_other(
            resource.table,
            *(tenant.client.request(resource.method, address, json=resource.change, headers=read) for _ in range(2)),
            mode="EXCLUSIVE",
        )
        changed, refused_one = sorted(answers, key=lambda answer: answer.status_code)  # whichever held it first
        assert [changed.status_code, refused_one.status_code] == [200, 412], [answer.text for answer in answers]
        assert (await tenant.client.get(address)).headers["ETag"] == changed.headers["ETag"]


async def test_a_creation_is_tagged_as_its_get_answers_it(tenants: TenantFactory) -> None:
    """A project, a column and a GitHub connection made carry the tag their GET answers, natively and as a
    JSON:API document: a client changes what it made without reading it again."""
    async with tenants.create() as tenant:

        async def read_as_made(made: httpx.Response, mode: dict[str, str]) -> str:
            assert made.status_code == 201, made.text
            read = await tenant.client.get(urlsplit(made.headers["Location"]).path, headers=mode)
            assert made.headers["ETag"] == read.headers["ETag"], made.request.url
            return urlsplit(made.headers["Location"]).path

        for mode in ({}, {"Accept": jsonapi.MEDIA_TYPE}):
            made = await tenant.client.post("/api/v1/projects", json={"name": "Shop"}, headers=mode)
            project = await read_as_made(made, mode)
            await read_as_made(await tenant.client.post(f"{project}/columns", json={"name": "QA"}, headers=mode), mode)
            github = {"repository": "acme/shop", "token": "ghp_first"}
            await read_as_made(
                await tenant.client.put(f"{project}/integrations/github", json=github, headers=mode), mode
            )


async def test_a_github_connection_is_made_only_where_there_is_none_under_if_none_match_star(
    tenants: TenantFactory,
) -> None:
    """`PUT` with `If-None-Match: *` makes a connection, and does not replace one: another admin's stays."""
    async with tenants.create() as tenant:
        address = f"{await project_at(tenant)}/integrations/github"
        only_new = {"If-None-Match": "*"}
        made = await tenant.client.put(
            address, json={"repository": "acme/shop", "token": "ghp_first"}, headers=only_new
        )
        assert data(made, 201)["repository"] == "acme/shop"
        replaced = await tenant.client.put(
            address, json={"repository": "acme/web", "token": "ghp_two"}, headers=only_new
        )
        refused(replaced)
        assert "If-None-Match" in replaced.json()["message"]
        assert (await tenant.client.get(address)).headers["ETag"] == made.headers["ETag"]
        # `If-Match: *` is the other way round: a change of the one there is, and none made where there is none.
        assert data(await tenant.client.put(address, json={"repository": "acme/web"}, headers={"If-Match": "*"}))
        unconnected = f"{await project_at(tenant)}/integrations/github"
        refused(
            await tenant.client.put(
                unconnected, json={"repository": "acme/shop", "token": "ghp_x"}, headers={"If-Match": "*"}
            )
        )
        assert (await tenant.client.get(unconnected)).status_code == 404


@pytest.mark.parametrize("conditions", [{"If-None-Match": "*"}, {}], ids=["if-none-match-star", "unconditional"])
async def test_of_two_puts_connecting_a_project_at_once_the_second_meets_the_first_connection(
    tenants: TenantFactory, is_postgres: bool, conditions: dict[str, str]
) -> None:
    """Both found no connection, and the second's was refused by the database (one per project): a 500. Now the
    second finds the first's, as a PUT sent after it would: a 412 under `If-None-Match: *`, else a change of it.
    Both are made to wait for the table's writes once neither found one. (PostgreSQL only: SQLite writes one
    transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        address = f"{await project_at(tenant)}/integrations/github"
        answers = await one_after_the_other(
            "github_connection",
            *(
                tenant.client.put(address, json={"repository": f"acme/{name}", "token": "ghp_x"}, headers=conditions)
                for name in ("shop", "web")
            ),
        )
        made, second = sorted(answers, key=lambda answer: answer.status_code != 201)  # whichever inserted first
        assert made.status_code == 201, [answer.text for answer in answers]
        if conditions:
            refused(second)
            assert (await tenant.client.get(address)).headers["ETag"] == made.headers["ETag"]
        else:
            assert data(second)["repository"] != data(made, 201)["repository"]
            assert (await tenant.client.get(address)).headers["ETag"] == second.headers["ETag"]


# Each single resource whose answers are tagged: its GET, its changes and its deletion.
TAGGED_ITEMS = (
    "/api/v1/reports/{reference}",
    "/api/v1/projects/{project_id}",
    "/api/v1/projects/{project_id}/columns/{column_id}",
    "/api/v1/webhooks/{webhook_id}",
    "/api/v1/organization/members/{membership_id}",
    "/api/v1/organization",
    "/api/v1/projects/{project_id}/integrations/github",
)


async def test_the_document_lists_the_conditions_where_they_are_evaluated(anonymous: ApiClient) -> None:
    paths = (await anonymous.get("/schema/openapi.json")).json()["paths"]
    for path in TAGGED_ITEMS:
        item = paths[path]
        read = item["get"]
        assert "ETag" in read["responses"]["200"]["headers"], path
        assert "304" in read["responses"], path
        assert "If-None-Match" in {parameter["name"] for parameter in read["parameters"]}, path
        changes = [method for method in ("patch", "put", "delete") if method in item]
        assert "delete" in changes, path
        for method in changes:
            operation = item[method]
            assert operation["responses"]["412"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
            names = {parameter["name"] for parameter in operation["parameters"]}
            assert {"If-Match", "If-Unmodified-Since", "If-None-Match"} <= names, (path, method)
            answers = {status: answer for status, answer in operation["responses"].items() if status in {"200", "201"}}
            assert all("ETag" in answer["headers"] for answer in answers.values()), (path, method)
    assert "ETag" in paths["/api/v1/reports/{reference}"]["patch"]["responses"]["200"]["headers"]
    connect = paths["/api/v1/projects/{project_id}/integrations/github"]["put"]["responses"]
    assert {"200", "201"} <= connect.keys()  # a change, and a connection made: each tagged
    for made in ("/api/v1/projects/{project_id}/reports", "/api/v1/projects", "/api/v1/projects/{project_id}/columns"):
        assert "ETag" in paths[made]["post"]["responses"]["201"]["headers"], made
    for listed in ("/api/v1/reports", "/api/v1/projects", "/api/v1/webhooks", "/api/v1/organization/members"):
        assert "304" not in paths[listed]["get"]["responses"], listed
        assert "ETag" not in paths[listed]["get"]["responses"]["200"].get("headers", {}), listed
    # What a webhook's or an invitation's 201 shows (its secret, its token) no GET reads: it names no tag to send.
    for made_with_secret in ("/api/v1/webhooks", "/api/v1/organization/members"):
        assert "ETag" not in paths[made_with_secret]["post"]["responses"]["201"]["headers"], made_with_secret
