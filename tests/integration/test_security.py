"""Secrets at rest and sessions: argon2id parameters and its concurrency bound, no credential stored in
clear, a fresh session id when the password changes; the pages' own security headers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import argon2
import httpx
import pytest
from sqlalchemy import MetaData, Row, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.domain.accounts.models import User
from app.lib import csrf, security
from app.settings import get_settings, reset_settings
from tests.support.clients import BASE_URL, PASSWORD, ApiClient, TenantFactory, signup_body

OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2
_ARGON2 = re.compile(r"^\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")


@pytest.fixture
async def owner_engine(app: Any) -> AsyncIterator[AsyncEngine]:
    """The database as the table owner: past row-level security, so every tenant's rows are visible."""
    engine = create_async_engine(os.environ["DATABASE_OWNER_URL"])
    yield engine
    await engine.dispose()


async def test_stored_password_hashes_are_argon2id_above_the_owasp_floor(
    tenants: TenantFactory, owner_engine: AsyncEngine
) -> None:
    async with tenants.create() as tenant, owner_engine.connect() as connection:
        stored = await connection.scalar(
            select(User.__table__.c.password_hash).where(User.__table__.c.email == tenant.email)
        )
    assert stored is not None
    parameters = _ARGON2.match(stored)
    assert parameters is not None, f"not an argon2id hash: {stored[:20]}…"
    assert int(parameters["m"]) >= OWASP_MIN_MEMORY_KIB
    assert int(parameters["t"]) >= OWASP_MIN_TIME_COST


async def test_passwords_are_hashed_at_rfc_9106s_low_memory_cost_unless_the_operator_lowers_it(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite hashes at OWASP's floor (LANTERN_PASSWORD_HASH_COST=owasp, a seventh of the CPU); unset, the
    cost is RFC 9106's low-memory profile."""
    assert get_settings().password_hash_cost == "owasp"
    monkeypatch.delenv("LANTERN_PASSWORD_HASH_COST")
    reset_settings()
    try:
        default = argon2.extract_parameters(await security.hash_password(PASSWORD))
    finally:
        monkeypatch.undo()
        reset_settings()
    assert (default.memory_cost, default.time_cost, default.parallelism) == (64 * 1024, 3, 4)


async def test_a_login_hashes_a_password_stored_at_another_cost_again_at_the_one_set_now(
    tenants: TenantFactory, owner_engine: AsyncEngine, app: Any
) -> None:
    """An operator who changes LANTERN_PASSWORD_HASH_COST has each account at the new cost from its next login
    (a hash keeps the cost it was made at, which verifying it reads)."""
    users = User.__table__
    earlier = argon2.PasswordHasher(memory_cost=32 * 1024, time_cost=3, parallelism=2).hash(PASSWORD)
    async with tenants.create() as tenant:
        async with owner_engine.begin() as connection:
            await connection.execute(update(users).where(users.c.email == tenant.email).values(password_hash=earlier))
        async with ApiClient.for_app(app) as client:
            login = await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
            assert login.status_code == 200, login.text
        async with owner_engine.connect() as connection:
            stored = await connection.scalar(select(users.c.password_hash).where(users.c.email == tenant.email))
    assert stored != earlier
    assert argon2.extract_parameters(stored) == argon2.extract_parameters(await security.hash_password(PASSWORD))
    assert security._hasher().verify(stored, PASSWORD)


async def test_an_unknown_account_is_checked_against_a_hash_as_costly_as_a_real_one() -> None:
    """Known and unknown accounts take the same time to answer: the stand-in hash an unknown one is verified
    against, written out at start-up rather than hashed, has the real hashes' parameters, and matches nothing."""
    stand_in = security._unmatchable_hash(get_settings().password_hash_cost)
    real = await security.hash_password(PASSWORD)
    assert argon2.extract_parameters(stand_in) == argon2.extract_parameters(real)
    assert _ARGON2.match(stand_in) is not None
    for password in (PASSWORD, "", stand_in):
        assert not await security.verify_password(None, password)
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        security._hasher().verify(stand_in, PASSWORD)  # verified whole, not refused as malformed


async def test_no_hash_starts_while_every_hashing_slot_is_taken(app: Any) -> None:
    """The bound by behaviour: with all slots held, a hash waits (however long other work takes), then runs."""
    slots = security._slots()
    capacity = get_settings().password_hash_concurrency
    for _ in range(capacity):
        await slots.acquire()
    try:
        waiting = asyncio.create_task(security.hash_password(PASSWORD))
        # Two full hashes computed directly, beside the semaphore: an unbounded hash would be done by now.
        for _ in range(2):
            await asyncio.to_thread(security._hasher().hash, PASSWORD)
        assert not waiting.done()
    finally:
        for _ in range(capacity):
            slots.release()
    assert await security.verify_password(await waiting, PASSWORD)


async def test_credentials_are_nowhere_in_clear_in_the_database(
    tenants: TenantFactory, owner_engine: AsyncEngine
) -> None:
    async with tenants.create() as tenant:
        token = (await tenant.create_token())["token"]
        project = await tenant.create_project("Clear Text Check")
        invited = await tenant.client.post(
            "/api/v1/organization/members",
            json={"email": f"newcomer-{secrets.token_hex(4)}@example.com", "role": "member"},
        )
        assert invited.status_code == 201, invited.text
        invitation = invited.json()["data"]["invitationToken"]
    assert token.startswith(security.ORG_TOKEN_PREFIX)
    assert invitation.startswith(security.INVITATION_PREFIX)
    async with owner_engine.connect() as connection:
        dump = await connection.run_sync(_dump_text_columns)
    # The widget key is a public identifier (it sits in every page of the site): stored readable on purpose.
    assert project["apiKey"] in dump
    for secret in (token, invitation, token.removeprefix(security.ORG_TOKEN_PREFIX)):
        assert secret not in dump


def _dump_text_columns(connection: Connection) -> str:
    """Every value of every table (text, JSON and bytes included), as one string."""
    metadata = MetaData()
    metadata.reflect(connection)
    values: list[str] = []
    for table in metadata.sorted_tables:
        # `*` untyped: the values as stored, with no result processing that could decode or hide them.
        rows: list[Row[Any]] = list(connection.execute(select(literal_column("*")).select_from(table)))
        values.extend(_as_text(value) for row in rows for value in row if value is not None)
    assert values, "the dump read nothing"
    return "\n".join(values)


def _as_text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return value if isinstance(value, str) else json.dumps(value, default=str)


async def test_changing_the_password_rotates_the_session(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        old_id = tenant.client.cookies["lantern_session"]
        changed = await tenant.client.post(
            "/api/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "a new and longer passphrase"},
        )
        assert changed.status_code == 200, changed.text
        new_id = changed.cookies["lantern_session"]
        assert new_id != old_id
        assert (await tenant.client.get("/api/v1/auth/me")).status_code == 200
        async with ApiClient.for_app(app) as stale:
            stale.cookies.set("lantern_session", old_id)
            assert (await stale.get("/api/v1/auth/me")).status_code == 401


async def test_every_page_runs_only_its_own_scripts_and_is_framed_by_nobody(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A page, a refused form and an error page alike: a stored `javascript:` address or inline script would not
    run, and no other site can frame a page to have it clicked."""
    async with tenants.create() as tenant:
        answers = [
            await anonymous.get("/ui/login"),
            await anonymous.post("/ui/login", data={"email": tenant.email, "password": "wrong password"}),
            await tenant.client.get("/ui/reports/NOPE-1"),
        ]
    assert [answer.status_code for answer in answers] == [200, 401, 404]
    for answer in answers:
        policy = dict(
            directive.strip().split(" ", 1) for directive in answer.headers["content-security-policy"].split(";")
        )
        assert (policy["script-src"], policy["frame-ancestors"], policy["object-src"]) == ("'self'", "'none'", "'none'")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"


async def test_answers_made_for_a_caller_are_kept_by_no_cache_and_say_what_they_vary_on(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A report's JSON had no Cache-Control (a shared cache or the browser's could keep it past a log-out),
    and its native answer said `Vary: Accept-Language` alone though `Accept` chooses between it and a JSON:API
    document. A signed-in page stays unkept too; an anonymous answer sets none."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        token = (await tenant.create_token())["token"]
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout fails"}, headers={"X-API-Key": project["apiKey"]}
        )
        report = f"/api/v1/reports/{sent.json()['data']['id']}"
        answers = {
            "native": await tenant.client.get(report),
            "json:api": await tenant.client.get(report, headers={"Accept": "application/vnd.api+json"}),
            "by token": await anonymous.get("/api/v1/reports", headers={"Authorization": f"Bearer {token}"}),
            "page": await tenant.client.get("/ui/reports"),
        }
        unknown = await anonymous.get("/api/v1/auth/me")
        health = await anonymous.get("/health")
        front_door = await anonymous.get("/")
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 200)
    assert {name: answer.headers.get("cache-control") for name, answer in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )
    assert [unknown.status_code, unknown.headers.get("cache-control")] == [401, None]
    assert health.headers.get("cache-control") is None

    def vary(answer: Any) -> set[str]:
        return set(answer.headers.get_list("vary", split_commas=True))

    assert (
        vary(answers["native"])
        == vary(answers["json:api"])
        == vary(answers["by token"])
        == {
            "Accept",
            "Accept-Language",
        }
    )
    assert vary(health) == {"Accept-Language"}
    assert "Accept" in vary(front_door)


async def test_the_answers_that_start_a_session_are_kept_by_no_cache(tenants: TenantFactory, app: Any) -> None:
    """Sign-up, login and accepting an invitation answer with the account and its organizations, made for the
    caller they sign in, yet had no Cache-Control: the request brought no identity for the answer to be
    recognised as made for one."""
    async with tenants.create() as tenant, ApiClient.for_app(app) as newcomer, ApiClient.for_app(app) as stranger:
        invited = await tenant.client.post(
            "/api/v1/organization/members",
            json={"email": f"newcomer-{secrets.token_hex(4)}@example.com", "role": "member"},
        )
        answers = {
            "invitation accepted": await newcomer.post(
                "/api/v1/auth/invitations/accept",
                json={"token": invited.json()["data"]["invitationToken"], "password": PASSWORD},
            ),
            "login": await stranger.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD}),
            "signup": await stranger.post(
                "/api/v1/auth/signup", json=signup_body(f"another-{secrets.token_hex(4)}@example.com")
            ),
        }
    _answered_and_kept_by_no_cache(answers, {"invitation accepted": 200, "login": 200, "signup": 201})


async def test_the_widget_configuration_is_kept_by_no_cache(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The configuration a widget key reads had no Cache-Control, though it is made for that key and answers
    each site as the project allows it: a cache in front of Lantern could keep one site's 403 and hide the
    widget from an allowed one, or keep serving a configuration after its key was revoked."""
    async with tenants.create() as tenant:
        project = await tenant.create_project(allowedOrigins=["https://shop.example"])
        config = f"/api/v1/widget/config/{project['apiKey']}"
        answers = {
            "allowed": await anonymous.get(config, headers={"Origin": "https://shop.example"}),
            "refused": await anonymous.get(config, headers={"Origin": "https://elsewhere.example"}),
            "unknown key": await anonymous.get("/api/v1/widget/config/lt_pub_unknown"),
        }
    _answered_and_kept_by_no_cache(answers, {"allowed": 200, "refused": 403, "unknown key": 404})


def _answered_and_kept_by_no_cache(answers: dict[str, httpx.Response], statuses: dict[str, int]) -> None:
    assert {name: answer.status_code for name, answer in answers.items()} == statuses
    assert {name: answer.headers.get("cache-control") for name, answer in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )


async def test_a_page_form_is_never_taken_without_its_csrf_token(tenants: TenantFactory, app: Any) -> None:
    """Another site's form signed the visitor in to the account it chose (login CSRF: no session yet, so no
    check), and an empty Authorization header beside a session cookie skipped the check."""
    async with tenants.create() as tenant, ApiClient.for_app(app) as visitor:
        login = {"email": tenant.email, "password": PASSWORD}
        forged = await visitor.post("/ui/login", data=login)
        await visitor.get("/ui/login")  # the page sets its token, which its form sends back
        signed_in = await visitor.post("/ui/login", data=login)
        bare = await tenant.client.post(
            "/api/v1/tokens", json={"name": "forged"}, headers={"Authorization": "", "X-CSRFToken": ""}
        )
    assert forged.status_code == 403
    assert "lantern_session" not in forged.cookies
    assert signed_in.status_code == 303
    assert "lantern_session" in signed_in.cookies
    assert bare.status_code == 403, bare.text


async def test_guessing_the_current_password_is_throttled_as_a_login(tenants: TenantFactory) -> None:
    """A session someone else took over is no way to find its password: a change's wrong current passwords
    are limited as a login's are."""
    async with tenants.create() as tenant:
        guesses = [
            await tenant.client.post(
                "/api/v1/auth/password",
                json={"currentPassword": f"guess-{number:04d}!", "newPassword": "a new password, chosen"},
            )
            for number in range(6)
        ]
    assert [guess.status_code for guess in guesses] == [401] * 5 + [429]


async def test_a_csrf_token_is_its_sessions_and_one_planted_in_the_cookie_is_refused(
    tenants: TenantFactory, app: Any
) -> None:
    """The check compared the sent token with the `csrftoken` cookie alone, and any token Lantern ever signed
    passed: a site that can write the victim's cookies (a sibling subdomain, or a plain-HTTP answer on the way)
    planted a token it had got on a visit of its own, and forged the signed-in person's requests with it. A
    session's token is now the one it started with; a page puts that one back in the cookie."""
    async with tenants.create() as tenant, ApiClient.for_app(app) as stranger:
        await stranger.get("/health")
        planted = stranger.cookies["csrftoken"]
        tenant.client.cookies.set("csrftoken", planted, domain=urlsplit(BASE_URL).hostname or "")
        forged = await tenant.client.post("/api/v1/tokens", json={"name": "forged"})
        forged_form = await tenant.client.post("/ui/tokens", data={"name": "forged", "_csrf_token": planted})
        page = await tenant.client.get("/ui/tokens")
        restored = tenant.client.cookies["csrftoken"]
        made = await tenant.client.post("/api/v1/tokens", json={"name": "made"})
        listed = [token["name"] for token in (await tenant.client.get("/api/v1/tokens")).json()["data"]]
    assert (forged.status_code, forged_form.status_code) == (403, 403), (forged.text, forged_form.text)
    assert page.status_code == 200
    assert restored != planted
    assert f'name="_csrf_token" value="{restored}"' in page.text
    assert made.status_code == 201, made.text
    assert listed == ["made"]


async def test_a_session_from_before_sessions_kept_their_token_gets_one_from_its_next_page(
    tenants: TenantFactory, app: Any
) -> None:
    """A session stored by an earlier version holds no token: its next GET gives it one (and the cookie), so the
    person signed in then goes on with their forms; until then an unsafe request of it is refused."""
    async with tenants.create() as tenant:
        store = app.stores.get("sessions")
        session_id = tenant.client.cookies["lantern_session"]
        stored = json.loads(await store.get(session_id))
        await store.set(session_id, json.dumps({k: v for k, v in stored.items() if k != csrf.SESSION_CSRF_KEY}))
        refused = await tenant.client.post("/api/v1/tokens", json={"name": "before the page"})
        before = tenant.client.cookies["csrftoken"]
        page = await tenant.client.get("/ui/tokens")
        made = await tenant.client.post("/api/v1/tokens", json={"name": "after the page"})
        kept = json.loads(await store.get(session_id))[csrf.SESSION_CSRF_KEY]
    assert refused.status_code == 403, refused.text
    assert page.status_code == 200
    assert tenant.client.cookies["csrftoken"] == kept != before
    assert made.status_code == 201, made.text
