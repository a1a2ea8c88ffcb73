"""The cross-tenant matrix, generated from the app's route table: another tenant's object is
indistinguishable from a missing one (404, the same body), and asking for it changes nothing.

Also: a widget key is no admin credential, an organization token is refused in a URL, and works as HTTP
Basic (`token:x`) until it is revoked.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.ui.pages import LOGIN_PATH
from tenants.paths import PATH_OBJECTS
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.isolation import (
    NOT_OBJECT_IDS,
    OBJECT_MAKERS,
    Endpoint,
    Form,
    Objects,
    admin_endpoints,
    endpoints,
    endpoints_for,
    id_endpoints,
    member_of,
    owner_engine,
    random_ids,
    request_body,
    send,
    tenant_rows,
    view,
)

# The tenant's people by role: its owner, and a member and a guest it invited, each signed in.
PEOPLE = ("session", "member", "guest")


@asynccontextmanager
async def caller(tenant: Tenant, app: Litestar, credential: str) -> AsyncIterator[ApiClient]:
    """The tenant's logged-in session client (its owner's, or a member's or a guest's it invites), or a fresh
    client holding one of its organization tokens."""
    if credential == "session":
        yield tenant.client
        return
    if credential in PEOPLE:
        async with member_of(tenant, app, credential) as person:
            yield person
        return
    token = (await tenant.create_token(name="matrix"))["token"]
    async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def variants(endpoint: Endpoint) -> list[tuple[str, ...]]:
    """Which parameters take the victim's ids: all of them, and (with several) each one alone while the
    others name the caller's own objects, so a check on one id cannot hide a missing check on another."""
    params = endpoint.object_params
    return [params] + ([(name,) for name in params] if len(params) > 1 else [])


def without(ids: dict[str, str], response: httpx.Response) -> str:
    """The answer with the ids asked for named instead (a page links back to its own address)."""
    text = response.text
    for name, value in ids.items():
        text = text.replace(value, f"{{{name}}}")
    return text


def test_every_path_parameter_is_covered(app: Litestar) -> None:
    """A new route naming an object by a new parameter must get a maker, or this fails."""
    uncovered = {
        f"{endpoint} -> {name}"
        for endpoint in endpoints(app)
        for name in endpoint.params
        if name not in OBJECT_MAKERS and name not in NOT_OBJECT_IDS
    }
    assert not uncovered, f"path parameters with no maker in tests/support/isolation.py: {sorted(uncovered)}"
    # The role guards find each object a path names through these (a refusal says 404 on what is not seen).
    unfound = {name for endpoint in id_endpoints(app) for name in endpoint.object_params} - PATH_OBJECTS.keys()
    assert not unfound, f"path parameters with no finder in tenants/paths.py: {sorted(unfound)}"
    assert id_endpoints(app), "the route table has no route with an object id: the matrix would test nothing"


@pytest.mark.parametrize("credential", [*PEOPLE, "token"])
async def test_foreign_ids_answer_like_unknown_ones_and_change_nothing(
    tenants: TenantFactory, app: Litestar, credential: str
) -> None:
    matrix = endpoints_for(app, credential)
    async with (
        tenants.create("Victim") as a,
        tenants.create("Intruder") as b,
        caller(b, app, credential) as intruder,
        owner_engine() as database,
    ):
        victim, own = Objects(a), Objects(b)
        for endpoint in matrix:  # every object first, so that views differ only by what the requests did
            await victim.for_endpoint(endpoint)
            await own.for_endpoint(endpoint)
        seen, stored = await view(a.client, app, victim), await tenant_rows(database, a.organization_id)
        failures: list[str] = []
        for endpoint in matrix:
            for foreign in variants(endpoint):
                ids = {**await own.for_endpoint(endpoint), **{n: victim.ids[n] for n in foreign}}
                unknown = {**ids, **random_ids(foreign)}
                payload = await request_body(endpoint, own)
                answer = await send(intruder, endpoint, ids, payload)
                reference = await send(intruder, endpoint, unknown, payload)
                label = f"{endpoint} with the victim's {', '.join(foreign)}"
                if answer.status_code != 404 or reference.status_code != 404:
                    failures.append(f"{label}: {answer.status_code} (unknown id: {reference.status_code})")
                elif without(ids, answer) != without(unknown, reference):
                    failures.append(f"{label}: {answer.text} differs from {reference.text}")
                if (now := await tenant_rows(database, a.organization_id)) != stored:
                    failures.append(f"{label}: changed the victim's rows")
                    stored = now
        if await view(a.client, app, victim) != seen:
            failures.append("the victim's view of its objects changed")
        assert not failures, "\n".join(failures)


async def test_another_tenants_report_ticked_in_the_lists_bulk_form_is_not_found_and_nothing_changes(
    tenants: TenantFactory,
) -> None:
    """The list's bulk form names its reports in the body, where the matrix puts no foreign id: one of another
    organization's among the caller's own answers as an unknown one does, and none of them is changed."""
    bulk = Endpoint("POST", "/ui/reports/bulk", (), "POST /ui/reports/bulk")
    async with tenants.create("Victim") as a, tenants.create("Intruder") as b, owner_engine() as database:
        victims, own = await Objects(a).id("reference"), await Objects(b).id("reference")
        stored = {name: await tenant_rows(database, tenant.organization_id) for name, tenant in (("a", a), ("b", b))}
        answers = [
            await send(b.client, bulk, {}, Form({"report": [own, report_id], "priority": "highest"}))
            for report_id in (victims, *random_ids(("report",)).values())
        ]
        assert [answer.status_code for answer in answers] == [404, 404]
        assert answers[0].text == answers[1].text
        assert {
            name: await tenant_rows(database, tenant.organization_id) for name, tenant in (("a", a), ("b", b))
        } == stored


@pytest.mark.parametrize("credential", ["session", "token"])
async def test_the_matrix_requests_succeed_on_the_callers_own_objects(
    tenants: TenantFactory, app: Litestar, credential: str
) -> None:
    """The control: each request of the matrix works on the caller's own objects, so its 404 above comes
    from the id being foreign, not from a body or a guard that would refuse it anyway."""
    async with tenants.create("Owner") as b, caller(b, app, credential) as client:
        shared, failures = Objects(b), []
        for endpoint in endpoints_for(app, credential):
            # A DELETE (or a page's disconnect, remove, revoke or delete) gets objects of its own, so that it cannot
            # starve the others.
            removes = endpoint.method == "DELETE" or endpoint.path.endswith(
                ("/disconnect", "/remove", "/revoke", "/delete")
            )
            own = Objects(b) if removes else shared
            response = await send(client, endpoint, await own.for_endpoint(endpoint), await request_body(endpoint, own))
            if not (200 <= response.status_code < 300 or saved_form(endpoint, response)):
                failures.append(f"{endpoint}: {response.status_code} {response.text}")
        assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["member", "guest"])
async def test_a_role_refused_request_on_the_callers_own_objects_is_forbidden(
    tenants: TenantFactory, app: Litestar, role: str
) -> None:
    """The control of the matrix's members and guests: on their own organization's objects (a guest's, in a
    project they were added to, whose guests see each other's reports) a route their role may not use answers
    403 FORBIDDEN, not 404, so that the 404s above come from the ids being foreign."""
    async with tenants.create("Owner") as b, caller(b, app, role) as person:
        user_id = (await person.get("/api/v1/auth/me")).json()["data"]["user"]["id"]
        shared, answers = Objects(b), {}
        for endpoint in endpoints_for(app, role):
            removes = endpoint.method == "DELETE" or endpoint.path.endswith(
                ("/disconnect", "/remove", "/revoke", "/delete")
            )
            own = Objects(b) if removes else shared
            ids = await own.for_endpoint(endpoint)
            project = f"/api/v1/projects/{await own.id('project_id')}"  # the objects' project, which the caller sees
            assert (await b.client.post(f"{project}/members", json={"userId": user_id})).status_code == 201
            assert (await b.client.patch(project, json={"guestsSeeGuests": True})).status_code == 200
            response = await send(person, endpoint, ids, await request_body(endpoint, own))
            answers[str(endpoint)] = (response.status_code, response.text if endpoint.is_api else "")
        refused = [answer for answer in answers.values() if answer[0] == 403]
        assert refused, f"no route refused a {role}: the control tests nothing"
        failures = [
            f"{name}: {status} {text}"
            for name, (status, text) in answers.items()
            if status == 404 or (status == 403 and text and '"FORBIDDEN"' not in text)
        ]
        assert not failures, "\n".join(failures)


def saved_form(endpoint: Endpoint, response: httpx.Response) -> bool:
    """A page's form, once saved, answers See Other to the page that shows the result (not to the login)."""
    location = response.headers.get("location", "")
    return endpoint.is_page and response.status_code == HTTP_303_SEE_OTHER and not location.startswith(LOGIN_PATH)


async def test_pages_send_an_organization_token_to_the_login(tenants: TenantFactory, app: Litestar) -> None:
    """Pages are for people: a token, even on its own organization's objects, reads and changes nothing."""
    async with tenants.create("Owner") as b, caller(b, app, "token") as client, owner_engine() as database:
        objects, failures = Objects(b), []
        pages = [endpoint for endpoint in id_endpoints(app) if endpoint.is_page]
        for endpoint in pages:
            await objects.for_endpoint(endpoint)
        stored = await rows_but_tokens(database, b.organization_id)
        for endpoint in pages:
            response = await send(client, endpoint, await objects.for_endpoint(endpoint), None)
            if response.status_code != HTTP_303_SEE_OTHER or not response.headers["location"].startswith(LOGIN_PATH):
                failures.append(f"{endpoint}: {response.status_code} {response.headers.get('location')}")
        assert pages, "the route table has no page with an object id"
        assert not failures, "\n".join(failures)
        assert await rows_but_tokens(database, b.organization_id) == stored


async def rows_but_tokens(database: Any, organization_id: str) -> dict[str, Any]:
    """The organization's rows but its tokens', whose last use the requests themselves record."""
    return {
        table: rows for table, rows in (await tenant_rows(database, organization_id)).items() if table != "api_token"
    }


async def test_ids_in_bodies_are_scoped_too(tenants: TenantFactory) -> None:
    """Ids travel in bodies as well: another tenant's user cannot be added to a project, nor its
    organization switched to."""
    async with tenants.create("Victim") as a, tenants.create("Intruder") as b:
        project = await b.create_project()
        members = f"/api/v1/projects/{project['id']}/members"
        before = (await b.client.get(members)).json()
        added = await b.client.post(members, json={"userId": a.user_id})
        # Refused as an id of no one here is (a 400 naming the field: the project was found), telling nothing more.
        assert (added.status_code, added.json()["error"]) == (400, "VALIDATION_ERROR"), added.text
        assert added.json()["details"] == [{"field": "userId", "message": "No one in this organization has this ID."}]
        nobody = await b.client.post(members, json={"userId": str(uuid4())})
        assert (nobody.status_code, nobody.json()) == (added.status_code, added.json())
        assert (await b.client.get(members)).json() == before
        switched = await b.client.post("/api/v1/auth/organization", json={"organizationId": a.organization_id})
        assert switched.status_code == 404, switched.text
        me = (await b.client.get("/api/v1/auth/me")).json()["data"]
        assert me["organization"]["id"] == b.organization_id


async def test_a_widget_key_is_no_admin_credential(tenants: TenantFactory, app: Litestar) -> None:
    """Every route of the native API but sign-up, login, invitations, password resets, health and the widget's
    own refuses a widget key with 401, even on the key's own project and organization."""
    async with tenants.create() as a:
        project = await a.create_project()
        objects = Objects(a, ids={"project_id": project["id"]})
        guarded = admin_endpoints(app)
        requests = [  # made before the view: a body may create objects (a person to add, say)
            (endpoint, await objects.for_endpoint(endpoint), await request_body(endpoint, objects))
            for endpoint in guarded
        ]
        async with ApiClient.for_app(app, headers={"X-API-Key": project["apiKey"]}) as widget:
            # The key is valid (a widget route takes it), so each 401 below is an admin route's refusal.
            reported = await widget.post("/api/v1/reports", json={"title": "The key works"})
            assert reported.status_code == 201, reported.text
            before = await view(a.client, app, objects)
            answers = {
                str(endpoint): (await send(widget, endpoint, ids, payload)).status_code
                for endpoint, ids, payload in requests
            }
        assert {name: status for name, status in answers.items() if status != 401} == {}
        assert await view(a.client, app, objects) == before


@pytest.mark.parametrize("parameter", ["token", "access_token", "apiKey", "key"])
async def test_an_organization_token_in_a_url_is_refused(tenants: TenantFactory, app: Litestar, parameter: str) -> None:
    async with tenants.create() as a:
        token = (await a.create_token())["token"]
        async with ApiClient.for_app(app) as program:
            accepted = await program.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
            assert accepted.status_code == 200, accepted.text
            refused = await program.get("/api/v1/projects", params={parameter: token})
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"] == "UNAUTHORIZED"
        # Not even next to a valid session: the secret is in a URL, so it is in logs and history.
        alongside = await a.client.get("/api/v1/projects", params={parameter: token})
        assert alongside.status_code == 401, alongside.text


def basic(token: str, password: str = "x") -> dict[str, str]:  # noqa: S107 - a token as user takes any password
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:{password}".encode()).decode()}


async def test_http_basic_with_the_token_as_user_works_until_revoked(tenants: TenantFactory, app: Litestar) -> None:
    async with tenants.create() as a:
        project = await a.create_project()
        token = await a.create_token()
        async with ApiClient.for_app(app, headers=basic(token["token"])) as program:
            listed = await program.get("/api/v1/projects")
            assert listed.status_code == 200, listed.text
            assert [p["id"] for p in listed.json()["data"]] == [project["id"]]
            created = await program.post("/api/v1/projects", json={"name": "Via Basic"})
            assert created.status_code == 201, created.text
            assert (await a.client.delete(f"/api/v1/tokens/{token['id']}")).status_code == 204
            revoked = await program.get("/api/v1/projects")
            assert revoked.status_code == 401, revoked.text
            # A client that sends Basic only once challenged learns it is taken; a browser is not challenged
            # to Basic, which it would answer with a sign-in dialog of its own.
            assert revoked.headers["www-authenticate"] == 'Bearer realm="Lantern", Basic realm="Lantern"'
            browsing = await program.get("/api/v1/projects", headers={"Accept": "text/html,*/*"})
            assert browsing.headers["www-authenticate"] == 'Bearer realm="Lantern"'
        async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token['token']}"}) as bearer:
            assert (await bearer.get("/api/v1/projects")).status_code == 401


async def test_a_widget_route_challenges_for_its_key_alone(anonymous: ApiClient) -> None:
    """A wrong key on the widget's submit was answered `WWW-Authenticate: Bearer …, Basic …`, inviting a token or
    a password (a browser's sign-in dialog) that the route never reads: it names the key's header instead."""
    for path in ("/api/widget/submit", "/api/v1/widget/submit", "/api/v1/reports", "/api/v1/upload/screenshot"):
        refused = await anonymous.post(path, json={}, headers={"X-API-Key": "lt_pub_unknown"})
        assert refused.status_code == 401, (path, refused.text)
        assert refused.headers["www-authenticate"] == 'ApiKey realm="Lantern", header="X-API-Key"', path
    admin = await anonymous.get("/api/v1/projects", headers={"X-API-Key": "lt_pub_unknown"})
    assert admin.headers["www-authenticate"] == 'Bearer realm="Lantern", Basic realm="Lantern"'


async def test_http_basic_with_a_wrong_token_is_refused(tenants: TenantFactory, app: Litestar) -> None:
    async with tenants.create() as a:
        token = (await a.create_token())["token"]
        async with ApiClient.for_app(app) as program:
            for headers in (basic(token + "x"), basic("lt_org_" + "a" * 43), basic(a.email, "x")):
                response = await program.get("/api/v1/projects", headers=headers)
                assert response.status_code == 401, (headers, response.text)
