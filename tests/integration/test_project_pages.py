"""The admin UI's Projects page for every role: owners and admins list, create and set up projects; members list
every project of the organization and guests those they were added to, each with its open reports and links to
its reports and its board, and open a read-only page of one. Managing a project stays the managers'."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar

from tests.support.admin_ui import report
from tests.support.clients import WIDGET_METADATA, ApiClient, Tenant, TenantFactory
from tests.support.isolation import Form, Objects, endpoints, member_of, owner_engine, request_body, send, tenant_rows

ROLES = ("owner", "admin", "member", "guest")
# Every role's: the list of projects, and one project's page (its settings, for owners and admins).
EVERYONES = frozenset({"GET /ui/projects/", "GET /ui/projects/{project_id}"})


@asynccontextmanager
async def signed_in(tenant: Tenant, app: Any, role: str) -> AsyncIterator[ApiClient]:
    """The tenant's owner, or someone who joined it with `role`, signed in."""
    if role == "owner":
        yield tenant.client
        return
    async with member_of(tenant, app, role) as person:
        yield person


async def added(tenant: Tenant, person: ApiClient, project: dict[str, Any]) -> str:
    """The person added to the project (as a guest is, to see it); their account's id."""
    user_id: str = (await person.get("/api/v1/auth/me")).json()["data"]["user"]["id"]
    answer = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": user_id})
    assert answer.status_code == 201, answer.text
    return user_id


async def closed(tenant: Tenant, sent: dict[str, Any]) -> None:
    answer = await tenant.client.patch(f"/api/v1/reports/{sent['id']}", json={"status": "closed"})
    assert answer.status_code == 200, answer.text


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def projects_table(html: str) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """The Projects page's table: by project name, each column's text and links, by the column's heading."""
    headings = [_text(heading) for heading in re.findall(r'<th scope="col">(.*?)</th>', html, re.DOTALL)]
    rows = re.findall(r"<tr>(.*?)</tr>", html[html.index("<tbody>") : html.index("</tbody>")], re.DOTALL)
    table = {}
    for row in rows:
        cells = re.findall(r"<(?:th|td)[^>]*>(.*?)</(?:th|td)>", row, re.DOTALL)  # the name heads its row
        columns = {
            heading: (_text(cell), re.findall(r'href="([^"]+)"', cell))
            for heading, cell in zip(headings, cells, strict=True)
        }
        table[columns["Name"][0]] = columns
    return table


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_lists_the_projects_it_sees_with_their_open_reports_and_where_to_read_them(
    tenants: TenantFactory, app: Any, role: str
) -> None:
    """Members and guests had no Projects page (403) nor its link: a member could not tell which projects
    there are, nor find a project's reports and board from it."""
    async with tenants.create() as tenant, signed_in(tenant, app, role) as person:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP", guestsSeeGuests=True)
        blog = await tenant.create_project("Blog", trackingPrefix="BLG")
        for title in ("The cart total is wrong", "The logo is blurry"):
            await report(tenant.client, shop["apiKey"], title)
        await closed(tenant, await report(tenant.client, shop["apiKey"], "Fixed long ago"))
        await report(tenant.client, blog["apiKey"], "A typo in the first post")
        if role == "guest":
            await added(tenant, person, shop)
        page = await person.get("/ui/projects/")
    assert page.status_code == 200, page.text
    assert '<a href="/ui/projects"' in page.text  # in the navigation
    table = projects_table(page.text)
    expected = {"Shop": ("SHP", "2", shop["id"])} | ({} if role == "guest" else {"Blog": ("BLG", "1", blog["id"])})
    assert table.keys() == expected.keys()
    for name, (prefix, open_reports, project_id) in expected.items():
        row = table[name]
        assert row["Name"][1] == [f"/ui/projects/{project_id}"]
        assert row["Tracking prefix"][0] == prefix
        assert row["Open reports"][0] == open_reports
        assert row["Reports"][1] == [f"/ui/reports?project={project_id}", f"/ui/board?project={project_id}"]
    manages = role in {"owner", "admin"}
    assert ('action="/ui/projects"' in page.text) is manages  # the new project's form
    assert ("New project" in page.text) is manages
    assert "Blog" not in page.text or role != "guest"


async def test_a_guest_counts_the_open_reports_they_see(tenants: TenantFactory, app: Any) -> None:
    """Where guests see only their own reports, the count a guest reads is of those alone; the team's, of all."""
    async with tenants.create() as tenant, signed_in(tenant, app, "guest") as guest:
        shop = await tenant.create_project("Shop", trackingPrefix="SHP")
        await added(tenant, guest, shop)
        email = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]["email"]
        theirs = await tenant.client.post(
            "/api/v1/widget/submit",
            json={"title": "Reported by the guest", "reporterEmail": email, "metadata": WIDGET_METADATA},
            headers={"X-API-Key": shop["apiKey"]},
        )
        assert theirs.status_code == 201, theirs.text
        await report(tenant.client, shop["apiKey"], "Someone else's report")
        pages = [await client.get("/ui/projects/") for client in (guest, tenant.client)]
    assert [projects_table(page.text)["Shop"]["Open reports"][0] for page in pages] == ["1", "2"]


@pytest.mark.parametrize("role", ["member", "guest"])
async def test_a_project_page_shows_members_and_guests_the_project_read_only(
    tenants: TenantFactory, app: Any, role: str
) -> None:
    """Its name, prefix, open reports and links; the line that embeds the widget for members (a widget key is
    public: it is in every page that carries the widget), as the API shows them its keys; guests, as the API
    shows them none, get no key. No form, no organization token, no GitHub token."""
    async with tenants.create() as tenant, signed_in(tenant, app, role) as person:
        shop = await tenant.create_project(
            "Shop", trackingPrefix="SHP", siteUrl="https://shop.example", guestsSeeGuests=True
        )
        github = {"repository": "acme/shop", "token": "ghp_secretvalue9876"}
        connected = await tenant.client.put(f"/api/v1/projects/{shop['id']}/integrations/github", json=github)
        assert connected.status_code == 201, connected.text
        token = await tenant.create_token("CI bot")
        await report(tenant.client, shop["apiKey"], "The cart total is wrong")
        await added(tenant, person, shop)
        page = await person.get(f"/ui/projects/{shop['id']}")
        settings = await tenant.client.get(f"/ui/projects/{shop['id']}")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Shop" in text
    assert "SHP" in text
    assert "https://shop.example" in text
    assert re.search(r"Open reports \s*1\b", text), text
    assert f'href="/ui/reports?project={shop["id"]}"' in page.text
    assert f'href="/ui/board?project={shop["id"]}"' in page.text
    assert (shop["apiKey"] in page.text) is (role == "member")
    assert ("/widget.js" in page.text) is (role == "member")
    assert "<form" not in page.text.split("<main", 1)[1]  # read-only: the page's only forms are the layout's
    for secret in (token["token"], token["token"][:12], "ghp_", "secretvalue", "acme/shop"):
        assert secret not in page.text
    # The same address is the settings page for the organization's owners and admins, as it was.
    assert f'action="/ui/projects/{shop["id"]}"' in settings.text


async def test_another_organizations_project_and_a_guests_other_projects_are_not_found(
    tenants: TenantFactory, app: Any
) -> None:
    async with (
        tenants.create("Acme") as acme,
        tenants.create("Globex") as globex,
        signed_in(acme, app, "member") as member,
        signed_in(acme, app, "guest") as guest,
    ):
        theirs = await globex.create_project("Globex's shop", trackingPrefix="GLX")
        shop = await acme.create_project("Shop", trackingPrefix="SHP")
        hidden = await acme.create_project("Hidden", trackingPrefix="HDN")
        await added(acme, guest, shop)
        answers = {
            "member, another organization's": await member.get(f"/ui/projects/{theirs['id']}"),
            "guest, another organization's": await guest.get(f"/ui/projects/{theirs['id']}"),
            "guest, not added": await guest.get(f"/ui/projects/{hidden['id']}"),
        }
        lists = [(await client.get("/ui/projects/")).text for client in (member, guest)]
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 404)
    for answer in answers.values():
        assert "Globex" not in answer.text
        assert "Hidden" not in answer.text
    assert all("Globex" not in listed for listed in lists)
    assert "Hidden" in lists[0]
    assert "Hidden" not in lists[1]


@pytest.mark.parametrize("role", ["member", "guest"])
async def test_managing_a_project_stays_the_owners_and_admins(tenants: TenantFactory, app: Litestar, role: str) -> None:
    """Every page under /ui/projects but the list and a project's page answers 403 to members and guests (on a
    project they were added to, whose reports they see), and changes nothing."""
    managing = [
        endpoint
        for endpoint in endpoints(app)
        if endpoint.path.startswith("/ui/projects/") and endpoint.operation_id not in EVERYONES
    ]
    assert len(managing) >= 10  # creating, settings, people, keys, deletion, GitHub, the sample page
    async with tenants.create() as tenant, signed_in(tenant, app, role) as person, owner_engine() as database:
        objects = Objects(tenant)
        for endpoint in managing:
            await objects.for_endpoint(endpoint)
        project_id = await objects.id("project_id")
        await added(tenant, person, {"id": project_id})
        answer = await tenant.client.patch(f"/api/v1/projects/{project_id}", json={"guestsSeeGuests": True})
        assert answer.status_code == 200, answer.text
        stored = await tenant_rows(database, tenant.organization_id)
        answers = {}
        for endpoint in managing:
            payload = (
                Form({"name": "Probe"}) if endpoint.path == "/ui/projects/" else await request_body(endpoint, objects)
            )
            answers[str(endpoint)] = (
                await send(person, endpoint, await objects.for_endpoint(endpoint), payload)
            ).status_code
        left = await tenant_rows(database, tenant.organization_id)
    assert answers == dict.fromkeys(answers, 403)
    assert left == stored
