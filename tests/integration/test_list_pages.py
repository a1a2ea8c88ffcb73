"""Every native list pages as BugHerd's do (`page`, `page_size`, `meta.count`): a BugHerd client's `?page=2` on
the comments, projects, members… was a 400 (or, before, the whole list), found by a black-box trial."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import invite

BUGSPARK_REPORT = {"title": "Checkout button does nothing", "severity": "high"}
HOOK = {"url": "https://hooks.example.invalid/lantern", "events": ["report.created"]}
PUBLIC_URL = "https://bugs.example.com"


async def _fill(tenant: Tenant, anonymous: ApiClient, name: str) -> dict[str, str]:
    """Three of each listed thing (more of some: a project comes with a key, a board with its default columns);
    the address of each list."""
    projects = [
        await tenant.create_project(f"{name} {n}", trackingPrefix=f"{name[:2].upper()}{'ABC'[n]}") for n in range(3)
    ]
    project = projects[0]
    sent = await anonymous.post("/api/v1/reports", json=BUGSPARK_REPORT, headers={"X-API-Key": project["apiKey"]})
    report = f"/api/v1/reports/{sent.json()['data']['id']}"
    hooks = []
    for n in range(3):
        await tenant.client.post(f"{report}/comments", json={"text": f"comment {n}"})
        await tenant.client.post(f"{report}/attachments", json={"url": f"https://x.example/{n}.log"})
        await tenant.client.patch(report, json={"priority": ["low", "high", "lowest"][n]})
        await tenant.create_token(f"token {n}")
        hooks.append((await tenant.client.post("/api/v1/webhooks", json=HOOK)).json()["data"]["id"])
        await tenant.client.post(f"/api/v1/projects/{project['id']}/keys")
        await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": f"column {n}"})
        await tenant.client.post(f"/api/v1/webhooks/{hooks[0]}/ping")
        member = await invite(tenant)
        await tenant.client.post(
            f"/api/v1/projects/{project['id']}/members", json={"userId": member["member"]["userId"]}
        )
    return {
        "comments": f"{report}/comments",
        "attachments": f"{report}/attachments",
        "history": f"{report}/history",
        "projects": "/api/v1/projects",
        "keys": f"/api/v1/projects/{project['id']}/keys",
        "people": f"/api/v1/projects/{project['id']}/members",
        "columns": f"/api/v1/projects/{project['id']}/columns",
        "members": "/api/v1/organization/members",
        "tokens": "/api/v1/tokens",
        "webhooks": "/api/v1/webhooks",
        "deliveries": f"/api/v1/webhooks/{hooks[0]}/deliveries",
    }


def _key(item: dict[str, Any]) -> str:
    return str(item.get("id") or item.get("userId"))


async def _walk(client: ApiClient, url: str, size: int, spelling: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page of a list, `size` a page, followed by its `Link: rel=next`: the ids in order and each meta."""
    ids: list[str] = []
    metas: list[dict[str, Any]] = []
    next_url: str | None = f"{url}?{spelling}={size}"
    while next_url:
        answer = await client.get(next_url)
        assert answer.status_code == 200, (url, answer.text)
        body = answer.json()
        assert len(body["data"]) <= size
        ids.extend(_key(item) for item in body["data"])
        metas.append(body["meta"])
        links = answer.headers.get("link", "")
        nexts = [part.split(">")[0].lstrip("< ") for part in links.split(",") if 'rel="next"' in part]
        next_url = nexts[0] if nexts else None
    return ids, metas


async def test_every_native_list_pages_each_item_once_in_order_with_its_count(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Paging through each list, two at a time, collects every item once, in the list's order, with
    `meta.count` the whole list's (this tenant's alone: another organization's rows count nowhere)."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        await _fill(other, anonymous, "Other")
        lists = await _fill(tenant, anonymous, "Acme")
        walked = {}
        for name, url in lists.items():
            whole = await tenant.client.get(url)
            assert whole.status_code == 200, (name, whole.text)
            spelling = "pageSize" if name in {"comments", "members"} else "page_size"
            walked[name] = (whole.json(), *await _walk(tenant.client, url, 2, spelling))
    for name, (whole, ids, metas) in walked.items():
        everything = [_key(item) for item in whole["data"]]
        assert len(everything) >= 3, name
        assert whole["meta"] == {"count": len(everything), "total": len(everything), "page": 1, "pageSize": 100}
        assert ids == everything, name
        assert len(set(ids)) == len(ids), name
        assert [meta["page"] for meta in metas] == list(range(1, len(metas) + 1)), name
        assert {(meta["count"], meta["pageSize"]) for meta in metas} == {(len(everything), 2)}, name


async def test_a_page_past_the_end_is_empty_and_a_bad_size_a_localized_400_naming_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Past the last page: no items, the count still told, a `prev` link to the last page. A size of 0, 101 or
    below 0, or a page of 0, is a 400 in the caller's language naming the parameter as sent."""
    async with tenants.create() as tenant:
        lists = await _fill(tenant, anonymous, "Acme")
        past = await tenant.client.get(lists["tokens"], params={"page": 9, "page_size": 2})
        refused = {
            (name, parameter, value): await tenant.client.get(url, params={parameter: value, "lang": "de"})
            for name, url in lists.items()
            for parameter, value in [("page_size", "0"), ("pageSize", "101"), ("page_size", "-1"), ("page", "0")]
        }
        jsonapi = await tenant.client.get(lists["comments"], params={"page[limit]": "2", "page": "2"})
    assert past.status_code == 200, past.text
    assert (past.json()["data"], past.json()["meta"]["count"]) == ([], 3)
    assert 'page=2>; rel="prev"' in past.headers["link"]
    for (name, parameter, value), answer in refused.items():
        assert answer.status_code == 400, (name, parameter, value, answer.text)
        body = answer.json()
        assert body["error"] == "VALIDATION_ERROR"
        assert [detail["field"] for detail in body["details"]] == [parameter], (name, body)
        assert body["message"] != "Validation failed", body  # in German
    assert jsonapi.status_code == 400, jsonapi.text
    assert [detail["field"] for detail in jsonapi.json()["details"]] == ["page"]


async def test_a_guest_pages_only_the_people_they_see(tenants: TenantFactory, anonymous: ApiClient, app: Any) -> None:
    """A guest of a project whose guests do not see each other counts the team and themselves, not the other
    guests: the count is taken where the rule is, in the database."""
    from tests.support.isolation import member_of  # noqa: PLC0415 - this test alone signs a guest in

    async with tenants.create() as tenant, member_of(tenant, app, "guest") as guest:
        project = await tenant.create_project("Shop")
        people = f"/api/v1/projects/{project['id']}/members"
        for role in ("guest", "guest", "member"):
            added = await invite(tenant, role)
            await tenant.client.post(people, json={"userId": added["member"]["userId"]})
        me = (await guest.get("/api/v1/auth/me")).json()["data"]
        members = (await tenant.client.get("/api/v1/organization/members", params={"role": "guest"})).json()
        mine = next(item for item in members["data"] if item["email"] == me["user"]["email"])
        await tenant.client.post(people, json={"userId": mine["userId"]})
        seen = await guest.get(people, params={"page_size": 1})
        everyone = (await tenant.client.get(people)).json()
    assert seen.status_code == 200, seen.text
    assert everyone["meta"]["count"] == 4
    assert seen.json()["meta"]["count"] == 2  # the member and themselves
    assert members["meta"]["count"] == len(members["data"]) == 3


def _links(answer: Any) -> dict[str, str]:
    """A `Link` header's targets by their `rel`."""
    targets = {}
    for part in answer.headers["link"].split(","):
        target, _, rel = part.partition(";")
        targets[rel.strip().removeprefix("rel=").strip('"')] = target.strip().removeprefix("<").removesuffix(">")
    return targets


async def test_the_link_header_names_whole_addresses_under_the_public_url_whatever_host_was_asked(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A paginator (`requests`' `response.links`, Octokit) follows `Link` as given, as GitHub's are whole: the
    relative `</api/v1/reports?page=2>` led it nowhere. The address is LANTERN_PUBLIC_URL's, not the request's
    `Host`, which a client (or someone poisoning a cache) chooses. The reports' list, a project's (BugHerd's "list
    tasks") and the other lists alike."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        for _ in range(3):
            key = {"X-API-Key": project["apiKey"]}
            assert (await anonymous.post("/api/v1/reports", json=BUGSPARK_REPORT, headers=key)).status_code == 201
            await tenant.create_token("paged")
        lists = ["/api/v1/reports", f"/api/v1/projects/{project['id']}/reports", "/api/v1/tokens"]
        with environment(LANTERN_PUBLIC_URL=PUBLIC_URL):
            answers = {
                path: await tenant.client.get(
                    path, params={"page": 2, "page_size": 1}, headers={"Host": "attacker.example"}
                )
                for path in lists
            }
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
        links = {rel: urlsplit(target) for rel, target in _links(answer).items()}
        assert set(links) == {"next", "prev"}, (path, answer.headers["link"])
        for rel, page in (("next", "3"), ("prev", "1")):
            target = links[rel]
            assert (target.scheme, target.netloc, target.path) == ("https", "bugs.example.com", path), (path, rel)
            assert parse_qs(target.query) == {"page_size": ["1"], "page": [page]}, (path, rel)
