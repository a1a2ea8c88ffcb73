"""Sign-up, login, sessions (rotation at login), CSRF, logout."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.lib.embedded_redis import EmbeddedRedis
from tests.integration.test_reports import BUGPIN_EXAMPLE, BUGSPARK_EXAMPLE
from tests.support.clients import BASE_URL, PASSWORD, ApiClient, TenantFactory, signup_body
from tests.support.environment import environment
from tests.support.logs import json_lines
from tests.support.server import granian_server


def redis_process(server: EmbeddedRedis) -> psutil.Process:
    assert server.process is not None
    return psutil.Process(server.process.pid)


async def test_signup_creates_user_organization_and_session(anonymous: ApiClient) -> None:
    response = await anonymous.post(
        "/api/v1/auth/signup",
        json={"email": "Ada@Example.com", "password": PASSWORD, "name": "Ada", "organization": {"name": "Bug Spark"}},
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["user"]["email"] == "ada@example.com"
    assert data["organization"]["name"] == "Bug Spark"
    assert data["organization"]["slug"].startswith("bug-spark")
    assert "lantern_session" in response.cookies
    assert int(response.headers["x-ratelimit-remaining"]) < int(response.headers["x-ratelimit-limit"])  # per IP
    # The CSRF token comes with the session: the next unsafe request needs no GET before it.
    token = response.cookies["csrftoken"]
    project = await anonymous.post("/api/v1/projects", json={"name": "Shop"}, headers={"X-CSRFToken": token})
    assert project.status_code == 201, project.text
    me = await anonymous.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["data"]["role"] == "owner"


async def test_a_new_organization_speaks_the_language_it_was_signed_up_in(app: Any) -> None:
    """Every organization began in English: `LANTERN_DEFAULT_LOCALE` and the person's language reached none."""
    languages = []
    for headers, instance in (({"Accept-Language": "de-DE"}, "en"), ({}, "ja")):
        with environment(LANTERN_DEFAULT_LOCALE=instance):
            async with ApiClient.for_app(app) as person:
                body = {
                    "email": f"new-{secrets.token_hex(4)}@example.com",
                    "password": PASSWORD,
                    "name": "Mei",
                    "organization": {"name": "Night Market"},
                }
                signed_up = await person.post("/api/v1/auth/signup", json=body, headers=headers)
                assert signed_up.status_code == 201, signed_up.text
                languages.append((await person.get("/api/v1/organization")).json()["data"]["defaultLocale"])
    assert languages == ["de", "ja"]


async def test_a_new_organization_takes_the_time_zone_sent_else_utc(app: Any) -> None:
    zones = []
    for organization in (
        {"name": "Tokyo", "timezone": "Asia/Tokyo"},
        {"name": "Nowhere"},
        {"name": "X", "timezone": "Berlin"},
    ):
        async with ApiClient.for_app(app) as person:
            body = {"email": f"new-{secrets.token_hex(4)}@example.com", "password": PASSWORD, "name": "Mei"}
            signed_up = await person.post("/api/v1/auth/signup", json={**body, "organization": organization})
            if signed_up.status_code == 201:
                zones.append((await person.get("/api/v1/organization")).json()["data"]["timezone"])
            else:
                zones.append([(signed_up.status_code, detail["field"]) for detail in signed_up.json()["details"]])
    assert zones == ["Asia/Tokyo", "UTC", [(400, "organization.timezone")]]


async def test_a_refused_body_names_every_bad_field_at_once(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """Litestar's own decoding names msgspec's first error only: a client fixed one field per round."""
    bad = {"email": "bad", "password": "short", "name": "", "organization": {}}
    signup = await anonymous.post("/api/v1/auth/signup", json=bad, headers={"Accept-Language": "de"})
    async with tenants.create() as tenant:
        invite = await tenant.client.post("/api/v1/organization/members", json={"email": "bad", "role": "god"})
    assert signup.status_code == 400, signup.text
    fields = {detail["field"]: detail["message"] for detail in signup.json()["details"]}
    assert set(fields) == {"email", "password", "name", "organization.name"}
    assert (
        fields["email"] == "Muss eine E-Mail-Adresse sein, etwa name@example.com, mit höchstens 64 Zeichen vor dem @."
    )
    assert invite.status_code == 400, invite.text
    assert {detail["field"] for detail in invite.json()["details"]} == {"email", "role"}


async def test_a_misspelled_or_unknown_field_of_the_sign_in_bodies_is_named(anonymous: ApiClient) -> None:
    """A `username` for `email`, or a `slug` Lantern chooses itself, was dropped without a word."""
    body = new_owner("Slugged") | {"plan": "pro"}
    body["organization"]["slug"] = "custom"
    signup = await anonymous.post("/api/v1/auth/signup", json=body)
    login = await anonymous.post("/api/v1/auth/login", json={"username": "a@example.com", "password": PASSWORD})
    assert signup.status_code == login.status_code == 400
    assert {(d["field"], d["message"]) for d in signup.json()["details"]} == {
        ("plan", "This field is not allowed."),
        ("organization.slug", "This field is not allowed."),
    }
    assert {d["field"] for d in login.json()["details"]} == {"username", "email"}


def new_owner(organization: str) -> dict[str, Any]:
    return signup_body(f"owner-{secrets.token_hex(4)}@example.com", organization=organization)


async def test_closed_signup_refuses_on_the_api_and_the_page_and_hides_the_link(anonymous: ApiClient) -> None:
    assert 'href="/ui/signup"' in (await anonymous.get("/ui/login")).text
    with environment(LANTERN_SIGNUP="closed"):
        refused = await anonymous.post(
            "/api/v1/auth/signup", json=new_owner("Closed"), headers={"Accept-Language": "es"}
        )
        signup_page = await anonymous.get("/ui/signup")
        login_page = await anonymous.get("/ui/login")
    assert refused.status_code == 403, refused.text
    assert refused.json()["message"] == "El registro está cerrado en este servidor."
    assert "lantern_session" not in refused.cookies
    assert signup_page.status_code == 403
    assert "Sign-up is closed on this server." in signup_page.text
    assert 'name="password"' not in signup_page.text
    assert 'href="/ui/signup"' not in login_page.text


async def test_signups_from_one_address_are_limited_per_hour(app: Any) -> None:
    """Each sign-up makes an organization: one client address gets a few an hour, the API's and the page's
    together; another address is not held back by it."""

    async def client(address: str) -> ApiClient:
        return ApiClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url=BASE_URL)

    # Documentation addresses, new for each run: the buckets of earlier runs in a shared Redis stay apart.
    address, other = (f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}" for _ in range(2))
    with environment(LANTERN_SIGNUPS_PER_HOUR="2"):
        async with await client(address) as first, await client(other) as second:
            answers = [await first.post("/api/v1/auth/signup", json=new_owner(f"Spam {n}")) for n in range(2)]
            await first.ensure_csrf()
            form = new_owner("Spam 3")
            page = await first.post(
                "/ui/signup", data={**form, "organization": "Spam 3"}, headers={"Accept-Language": "de"}
            )
            api = await first.post("/api/v1/auth/signup", json=new_owner("Spam 4"))
            elsewhere = await second.post("/api/v1/auth/signup", json=new_owner("Not spam"))
    assert [answer.status_code for answer in answers] == [201, 201]
    assert page.status_code == 429, page.text
    assert "Zu viele Anfragen" in page.text
    assert int(page.headers["Retry-After"]) > 0
    assert api.status_code == 429, api.text
    assert api.json()["error"] == "RATE_LIMITED"
    assert int(api.headers["Retry-After"]) > 0
    assert elsewhere.status_code == 201, elsewhere.text


async def test_login_rotates_a_planted_session_id(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, ApiClient.for_app(app) as victim:
        planted = "a" * 64
        victim.cookies.set("lantern_session", planted)
        response = await victim.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        assert response.cookies["lantern_session"] != planted
        async with ApiClient.for_app(app) as attacker:
            attacker.cookies.set("lantern_session", planted)
            assert (await attacker.get("/api/v1/auth/me")).status_code == 401


async def test_a_login_sets_a_new_csrf_token_also_beside_a_leftover_session(tenants: TenantFactory, app: Any) -> None:
    """`csrftoken` ends with the browser, the session lasts two weeks: a client back with its session cookie
    alone logged in and got no token, so its next unsafe request was a 403. A token from before the login
    (perhaps planted, as a session id can be) is worth nothing after it."""
    async with tenants.create() as tenant, ApiClient.for_app(app) as returning, ApiClient.for_app(app) as kept:
        returning.cookies.set("lantern_session", "b" * 64)
        login = await returning.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.cookies["csrftoken"]
        created = await returning.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRFToken": token})
        assert created.status_code == 201, created.text

        await kept.get("/health")
        before = kept.cookies["csrftoken"]
        login = await kept.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.cookies["csrftoken"] != before
        stale = await kept.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRFToken": before})
        assert stale.status_code == 403, stale.text


async def test_wrong_password_and_unknown_account_answer_alike(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        wrong = await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": "x" * 12})
        unknown = await anonymous.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_cookie_mutation_without_csrf_token_is_refused(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        response = await tenant.client.post(
            "/api/v1/projects",
            json={"name": "No CSRF"},
            headers={"X-CSRFToken": "forged"},
        )
        assert response.status_code == 403
        assert response.json()["error"] == "FORBIDDEN"
        assert (await tenant.client.post("/api/v1/projects", json={"name": "With CSRF"})).status_code == 201


async def test_any_get_sets_the_csrf_cookie_an_address_no_route_takes_too(app: Any) -> None:
    """A client may take its CSRF token from any GET: an address no route takes (the router's own 404) set none."""
    for path in ("/api/v1/nope", "/does-not-exist", "/api/v1/auth/me"):
        async with ApiClient.for_app(app) as client:
            answer = await client.get(path)
            assert answer.status_code in {401, 404}, (path, answer.text)
            assert client.cookies.get("csrftoken"), path
            unsafe = await client.post("/api/v1/auth/logout")  # the cookie's token, sent back, passes the check
            assert unsafe.status_code != 403, (path, unsafe.text)


async def test_token_requests_need_no_csrf(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        token = (await tenant.create_token())["token"]
        async with ApiClient.for_app(app) as program:
            response = await program.post(
                "/api/v1/projects",
                json={"name": "From CI"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.text


async def test_a_token_asking_who_it_is_is_told_it_is_no_person(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        token = (await tenant.create_token())["token"]
        async with ApiClient.for_app(app) as program:
            me = await program.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": "de"}
            )
            organization = await program.get("/api/v1/organization", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 403  # the token is valid: not a 401
    assert (
        me.json()["message"]
        == "Ein API-Token handelt für seine Organisation, nicht als Person: Melden Sie sich dafür an."
    )
    assert organization.status_code == 200


async def test_a_token_makes_no_tokens(tenants: TenantFactory, app: Any) -> None:
    """One made by a leaked token would outlive the leaked token's revocation."""
    async with tenants.create() as tenant:
        token = (await tenant.create_token())["token"]
        async with ApiClient.for_app(app) as program:
            bearer = {"Authorization": f"Bearer {token}"}
            made = await program.post("/api/v1/tokens", json={"name": "Spare key"}, headers=bearer)
            listed = await program.get("/api/v1/tokens", headers=bearer)
    assert made.status_code == 403, made.text
    assert made.json()["message"] == "An API token acts for its organization, not as a person: sign in for this."
    assert [item["name"] for item in listed.json()["data"]] == ["automation"]


async def test_logout_ends_the_session(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        logout = await tenant.client.post("/api/v1/auth/logout")
        assert logout.status_code == 200
        [cookie] = [value for value in logout.headers.get_list("set-cookie") if value.startswith("lantern_session=")]
        assert "Max-Age=0" in cookie  # deleted now: a Max-Age of two weeks would keep it despite a past Expires
        assert (await tenant.client.get("/api/v1/auth/me")).status_code == 401


async def test_widget_key_ingest_is_not_held_to_the_session_and_csrf_of_a_cookie_it_carries(
    tenants: TenantFactory, app: Any
) -> None:
    """A widget on a page of the same site as Lantern sends the signed-in admin's session cookie along with
    its widget key. The ingest routes authenticate by the key alone: neither a CSRF check (which a widget,
    knowing no CSRF token, would fail) nor a session applies to them."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        async with ApiClient.for_app(app) as widget:
            widget.cookies.set("lantern_session", tenant.client.cookies["lantern_session"])
            headers = {"X-API-Key": project["apiKey"]}
            submitted = await widget.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=headers)
            created = await widget.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=headers)
            assert submitted.status_code == created.status_code == 201, (submitted.text, created.text)
            assert "lantern_session" not in submitted.headers.get("set-cookie", "")
        assert (await tenant.client.get("/api/v1/auth/me")).status_code == 200


async def test_of_two_credentials_the_one_sent_on_purpose_is_used_and_a_bad_one_is_never_passed_over(
    tenants: TenantFactory, app: Any
) -> None:
    """A client with a cookie jar sends its session cookie with every request, also one that carries a token (a
    script that signed in first) or a widget key (a widget on a page of Lantern's own site): the header, sent on
    purpose, is the credential, as README says. A token that is not valid is a 401, never the cookie's session: a
    request with an `Authorization` header skips the CSRF check. A widget route reads its key alone; elsewhere
    a token is used over a widget key, which opens no admin route."""
    async with tenants.create() as signed_in, tenants.create("Other") as other:
        ours = await signed_in.create_project("Ours")
        theirs = await other.create_project("Theirs")
        token = {"Authorization": f"Bearer {(await other.create_token())['token']}"}
        async with ApiClient.for_app(app) as browser:
            browser.cookies.set("lantern_session", signed_in.client.cookies["lantern_session"])
            by_token = await browser.get("/api/v1/projects", headers=token)
            assert [project["id"] for project in by_token.json()["data"]] == [theirs["id"]]
            created = await browser.post("/api/v1/projects", json={"name": "From a script"}, headers=token)
            assert created.status_code == 201, created.text
            for bad in ("Bearer lt_org_revoked", "Basic bm90OmFueXRoaW5n", "Bearer"):
                refused = await browser.post("/api/v1/projects", json={"name": "X"}, headers={"Authorization": bad})
                assert refused.status_code == 401, (bad, refused.text)
            by_key = await browser.post(
                "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={**token, "X-API-Key": ours["apiKey"]}
            )
            assert (by_key.status_code, by_key.json()["data"]["projectId"]) == (201, ours["id"]), by_key.text
            listed = await browser.get("/api/v1/reports", headers={**token, "X-API-Key": ours["apiKey"]})
            assert listed.json()["data"]["total"] == 0  # the token's organization's, which has none
            assert (await browser.get("/api/v1/projects", headers={"X-API-Key": ours["apiKey"]})).status_code == 401


async def test_a_login_while_redis_stalls_answers_503_and_leaves_the_server_working(
    tenants: TenantFactory, separate_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    """The session cannot be stored: the login says so in the envelope, and its database connection goes back
    to the pool (SQLite's pool holds one: a leaked connection stopped every later request). Its log says the 503
    too, where it said the handler's 200, and names the request in the line that says why."""
    log = tmp_path / "server.log"
    async with (
        tenants.create() as tenant,
        granian_server(1, log, REDIS_URL=separate_redis.url, LANTERN_LOG_LEVEL="INFO") as base_url,
    ):
        login = {"email": tenant.email, "password": PASSWORD}
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            redis_process(separate_redis).suspend()  # a stall: connections open, no answers
            try:
                stalled = await client.post(
                    "/api/v1/auth/login", json=login, headers={"Accept-Language": "de", "X-Request-ID": "stalled-1"}
                )
            finally:
                redis_process(separate_redis).resume()
            again = await client.post("/api/v1/auth/login", json=login)
            me = await client.get("/api/v1/auth/me")
    assert stalled.status_code == 503, stalled.text
    assert stalled.json()["error"] == "SERVICE_UNAVAILABLE"
    assert stalled.json()["message"] == "Der Dienst ist vorübergehend nicht verfügbar."
    assert "lantern_session" not in stalled.cookies
    assert again.status_code == 200, again.text
    assert me.status_code == 200, me.text
    app_lines = "\n".join(line for line in log.read_text().splitlines() if line.startswith("{"))  # granian's own: text
    lines = [line for line in json_lines(app_lines) if line["event"] in {"request", "service unavailable"}]
    assert [(line["event"], line.get("status")) for line in lines if line.get("request_id") == "stalled-1"] == [
        ("request", 503),
        ("service unavailable", None),
    ], lines


async def test_a_page_asked_for_while_redis_stalls_answers_with_a_page(
    tenants: TenantFactory, separate_redis: EmbeddedRedis
) -> None:
    """The session cannot be read: a person gets the admin UI's error page in their language, not the API's
    JSON."""
    async with tenants.create() as tenant, granian_server(1, REDIS_URL=separate_redis.url) as base_url:
        login = {"email": tenant.email, "password": PASSWORD}
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200
            redis_process(separate_redis).suspend()
            try:
                stalled = await client.get("/ui/reports", headers={"Accept": "text/html", "Accept-Language": "de"})
            finally:
                redis_process(separate_redis).resume()
    assert stalled.status_code == 503, stalled.text
    assert stalled.headers["content-type"].startswith("text/html"), stalled.text
    assert "Der Dienst ist vorübergehend nicht verfügbar." in stalled.text


async def test_a_token_says_who_made_it_and_whether_they_are_still_here(tenants: TenantFactory, app: Any) -> None:
    """A token acts for the organization and outlives its maker's membership: its list names the maker, and
    shows a token whose maker was removed, for an owner to revoke (in no other organization, their account went
    with the removal: it said "An integration", as if no one had made it)."""
    async with tenants.create() as tenant:
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"admin-{secrets.token_hex(4)}@example.com", "role": "admin"}
        )
        member = invited.json()["data"]["member"]
        async with ApiClient.for_app(app) as admin:
            token = invited.json()["data"]["invitationToken"]
            joined = await admin.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD})
            assert joined.status_code == 200, joined.text
            admin_id = joined.json()["data"]["user"]["id"]
            await admin.get("/health")  # its CSRF cookie
            made = (await admin.post("/api/v1/tokens", json={"name": "Left behind"})).json()["data"]
        mine = await tenant.create_token("Still mine")
        listed = {item["name"]: item for item in (await tenant.client.get("/api/v1/tokens")).json()["data"]}
        removed = await tenant.client.delete(f"/api/v1/organization/members/{member['id']}")
        page = (await tenant.client.get("/ui/tokens")).text
    assert (listed["Left behind"]["createdById"], listed["Still mine"]["createdById"]) == (admin_id, tenant.user_id)
    assert made["createdById"] == admin_id
    assert mine["createdById"] == tenant.user_id
    assert removed.status_code == 204
    assert page.count("A deleted account") == 1
    assert "An integration" not in page


async def test_a_refused_form_with_a_referer_no_browser_sends_is_shown_again(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The page of a refused form comes back to the page it came from: a Referer with a broken IPv6 host
    (`http://[::1/x`) made it a 500."""
    async with tenants.create() as tenant:
        await anonymous.get("/ui/login")  # the page sets its CSRF token, which its form sends back
        refused = await anonymous.post(
            "/ui/login",
            data={"email": tenant.email, "password": "wrong password"},
            headers={"Referer": "http://[::1/x"},
        )
    assert refused.status_code == 401, refused.text
    assert 'data-form-page="/ui/login"' in refused.text


async def test_logging_in_from_a_page_in_another_language_keeps_the_saved_one(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`?lang=` changes no saved preference: logging in from `/ui/login?lang=ja` (a link that carried it) made a person
    who had chosen Spanish read every page in Japanese from then on. The page after the login is in Japanese, as the
    login page was; one who has saved no language keeps the one picked (the switcher on the login page)."""
    async with tenants.create() as tenant, tenants.create("Initech") as newcomer:
        assert (await tenant.client.patch("/api/v1/auth/me", json={"locale": "es"})).status_code == 200
        await anonymous.get("/ui/login?lang=ja")
        login = {"email": tenant.email, "password": PASSWORD}
        signed_in = await anonymous.post("/ui/login?lang=ja", data=login)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/ui/reports?lang=ja"
        assert (await anonymous.get("/api/v1/auth/me")).json()["data"]["user"]["locale"] == "es"
        anonymous.cookies.clear()
        await anonymous.get("/ui/login?lang=ja")
        first = await anonymous.post("/ui/login?lang=ja", data={"email": newcomer.email, "password": PASSWORD})
        assert first.headers["location"] == "/ui/reports"
        assert (await anonymous.get("/api/v1/auth/me")).json()["data"]["user"]["locale"] == "ja"


async def test_changing_ones_settings_answers_what_reading_them_answers(tenants: TenantFactory) -> None:
    """`PATCH /api/v1/auth/me` answered the bare user where `GET` answers `{user, organization, role, organizations}`,
    so a client that keeps the document it read had to read it again after every change."""
    async with tenants.create() as tenant:
        changed = await tenant.client.patch("/api/v1/auth/me", json={"name": "Ada Lovelace", "timezone": "Asia/Tokyo"})
        assert changed.status_code == 200, changed.text
        read = await tenant.client.get("/api/v1/auth/me")
        assert changed.json() == read.json()
        assert read.json()["data"]["user"]["name"] == "Ada Lovelace"
        assert read.json()["data"]["organization"]["id"] == tenant.organization_id
