"""A forgotten password: a link by e-mail (through a real worker to a real SMTP server on loopback), valid
once and for an hour; the answer never tells whether an address has an account, and one address cannot be
flooded. A new password, reset or changed, ends the sessions that began before it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from app.domain.accounts.models import PasswordReset
from app.lib.database import alchemy_config
from app.lib.queue import deserialize
from app.lib.redis import get_redis
from app.lib.throttle import PASSWORD_RESETS_PER_HOUR
from tests.integration.test_concurrent_changes import one_after_the_other
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.mailbox import link_in, receiving_mail
from tests.support.server import free_port
from tests.support.worker import running_worker

RESET = "/api/v1/auth/password-reset"
NEW_PASSWORD = "a freshly chosen password"


async def test_an_address_with_an_international_domain_gets_its_mail(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """An address is kept with its domain in its letters (`例え.jp`), which a mail server without SMTPUTF8 refuses
    (smtplib did, before asking it: the reset was never mailed); it is sent to the domain's IDNA form."""
    local = f"owner-{secrets.token_hex(4)}"
    signup = {"email": f"{local}@例え.jp", "password": PASSWORD, "name": "Owner", "organization": {"name": "Acme"}}
    async with ApiClient.for_app(tenants.app) as client:
        assert (await client.post("/api/v1/auth/signup", json=signup)).status_code == 201
    with receiving_mail() as mailbox:
        async with running_worker():
            asked = await anonymous.post(RESET, json={"email": f"{local}@xn--r8jz45g.jp"})
            assert asked.status_code == 202, asked.text
            message = await mailbox.wait_for(f"{local}@xn--r8jz45g.jp")
    assert link_in(message).startswith("/ui/password-reset/confirm?token=lt_pwr_")


async def test_a_mailed_link_sets_a_new_password_once(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        with receiving_mail() as mailbox:
            async with running_worker():
                asked = await anonymous.post(RESET, json={"email": tenant.email.upper()})
                assert asked.status_code == 202, asked.text
                message = await mailbox.wait_for(tenant.email)
        link = link_in(message)
        assert link.startswith("/ui/password-reset/confirm?token=")
        token = parse_qs(urlsplit(link).query)["token"][0]

        short = await anonymous.post(f"{RESET}/confirm", json={"token": token, "password": "short"})
        assert (short.status_code, short.json()["details"][0]["field"]) == (400, "password")
        changed = await anonymous.post(f"{RESET}/confirm", json={"token": token, "password": NEW_PASSWORD})
        assert changed.status_code == 200, changed.text
        again = await anonymous.post(f"{RESET}/confirm", json={"token": token, "password": "another new password"})
        assert (again.status_code, again.json()["error"]) == (404, "NOT_FOUND")

        for password, status in ((PASSWORD, 401), (NEW_PASSWORD, 200)):
            login = await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": password})
            assert login.status_code == status, login.text
        # Whoever held a session from before (the sign-up's, here) is signed out: it may have been an intruder's.
        assert (await tenant.client.get("/api/v1/auth/me")).status_code == 401
        assert (await anonymous.get("/api/v1/auth/me")).status_code == 200


async def test_a_link_used_twice_at_once_chooses_one_password(tenants: TenantFactory, app: Any) -> None:
    """Two uses of a link at once (its owner's, and an intruder's racing them) could both choose a password, the
    later one kept. One does now; the other is answered as a link used already is."""
    async with tenants.create() as tenant, ApiClient.for_app(app) as owner, ApiClient.for_app(app) as intruder:
        token = await _mailed_token(owner, tenant.email)
        answers = await asyncio.gather(*_two_uses(token, owner, intruder))
        await _one_chose_the_password(tenant, owner, token, answers)


async def test_a_link_used_twice_at_once_chooses_one_password_whichever_reads_it_first(
    tenants: TenantFactory, app: Any, is_postgres: bool
) -> None:
    """The same two uses, held at the link's table by another transaction until both have read the link unused:
    each went on to choose its password. (PostgreSQL only: SQLite's writers take turns.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant, ApiClient.for_app(app) as owner, ApiClient.for_app(app) as intruder:
        token = await _mailed_token(owner, tenant.email)
        answers = await one_after_the_other("password_reset", *_two_uses(token, owner, intruder))
        await _one_chose_the_password(tenant, owner, token, answers)


TWO_PASSWORDS = ("the owner's new password", "the intruder's new password")
GERMAN = {"Accept-Language": "de"}


def _two_uses(token: str, *clients: ApiClient) -> list[Awaitable[httpx.Response]]:
    return [
        client.post(f"{RESET}/confirm", json={"token": token, "password": password}, headers=GERMAN)
        for client, password in zip(clients, TWO_PASSWORDS, strict=True)
    ]


async def _one_chose_the_password(
    tenant: Tenant, client: ApiClient, token: str, answers: Sequence[httpx.Response]
) -> None:
    """One of the two uses chose the password; the other was told what a later use of the link is told."""
    assert sorted(answer.status_code for answer in answers) == [200, 404], [answer.text for answer in answers]
    chosen, refused = sorted(answers, key=lambda answer: answer.status_code)
    later = await client.post(f"{RESET}/confirm", json={"token": token, "password": "a later choice"}, headers=GERMAN)
    assert (later.status_code, refused.json()) == (404, later.json())
    for password, answer in zip(TWO_PASSWORDS, answers, strict=True):
        login = await client.post("/api/v1/auth/login", json={"email": tenant.email, "password": password})
        assert login.status_code == (200 if answer is chosen else 401), login.text


async def _mailed_token(client: ApiClient, email: str) -> str:
    """The token of the link mailed to `email` (asked for through the API, mailed by a worker)."""
    with receiving_mail() as mailbox:
        async with running_worker():
            asked = await client.post(RESET, json={"email": email})
            assert asked.status_code == 202, asked.text
            message = await mailbox.wait_for(email)
    return parse_qs(urlsplit(link_in(message)).query)["token"][0]


async def test_without_a_mail_server_the_page_says_no_link_is_sent_and_whom_to_ask(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """It said a link was on its way, and the server's log "mail not sent: SMTP_HOST is not set". It cannot show
    the link (anyone could take over anyone's account): it says that this server sends no e-mail and to ask
    whoever runs it, the same whether an address has an account or not, and asks for none."""
    async with tenants.create() as tenant:
        with environment(SMTP_HOST=None):
            opened = await anonymous.get("/ui/password-reset")
            known = await anonymous.post("/ui/password-reset", data={"email": tenant.email})
            unknown = await anonymous.post("/ui/password-reset", data={"email": "nobody@example.com"})
        with receiving_mail():
            mailing = await anonymous.get("/ui/password-reset")
    for answer in (opened, known, unknown):
        assert answer.status_code == 200, answer.text
        assert "This server sends no e-mail, so it cannot send you a link to choose a new password." in answer.text
        assert "set-password" in answer.text
        assert "on its way" not in answer.text
        assert 'name="email"' not in answer.text
    assert known.text == unknown.text
    assert 'name="email"' in mailing.text
    assert "This server sends no e-mail" not in mailing.text


async def test_a_changed_password_ends_the_other_sessions_but_not_this_one(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, ApiClient.for_app(app) as elsewhere:
        login = await elsewhere.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        changed = await tenant.client.post("/api/v1/auth/password", json=change)
        assert changed.status_code == 200, changed.text
        assert (await tenant.client.get("/api/v1/auth/me")).status_code == 200
        assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401


async def test_a_link_mailed_before_a_password_change_opens_nothing_after_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """It chose a password over the one changed since: whoever read the mailbox then took the account back."""
    async with tenants.create() as tenant:
        with receiving_mail() as mailbox:
            async with running_worker():
                asked = await anonymous.post(RESET, json={"email": tenant.email})
                assert asked.status_code == 202, asked.text
                message = await mailbox.wait_for(tenant.email)
        token = parse_qs(urlsplit(link_in(message)).query)["token"][0]
        change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        assert (await tenant.client.post("/api/v1/auth/password", json=change)).status_code == 200
        late = await anonymous.post(f"{RESET}/confirm", json={"token": token, "password": "the intruder's choice"})
        assert (late.status_code, late.json()["error"]) == (404, "NOT_FOUND")
        login = await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": NEW_PASSWORD})
        assert login.status_code == 200, login.text


async def test_an_unknown_address_is_answered_alike_and_one_address_is_not_flooded(anonymous: ApiClient) -> None:
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    answers = [await anonymous.post(RESET, json={"email": unknown}) for _ in range(PASSWORD_RESETS_PER_HOUR + 1)]
    assert [answer.status_code for answer in answers] == [202] * PASSWORD_RESETS_PER_HOUR + [429]
    assert answers[0].json() == {"success": True, "data": None}
    assert int(answers[-1].headers["Retry-After"]) > 0
    made_up = await anonymous.post(f"{RESET}/confirm", json={"token": "lt_pwr_made-up", "password": NEW_PASSWORD})
    assert made_up.status_code == 404


async def test_the_queued_job_holds_no_link_and_a_mail_the_smtp_server_refused_is_sent_once_it_is_back(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The worker logged the reset token among its job's arguments (and kept them in Redis an hour): whoever
    read the logs could take over any account that asked. And a mail the SMTP server refused was lost."""
    async with tenants.create() as tenant:
        asked = await anonymous.post(RESET, json={"email": tenant.email})
        assert asked.status_code == 202, asked.text
        queued = await _queued_reset(tenant.user_id)
        assert b"lt_pwr_" not in queued
        assert set(deserialize(queued)["k"]) == {"reset_id"}  # the worker makes the link again from the reset

        refused = asyncio.Event()

        async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            refused.set()
            writer.close()

        port = free_port()
        down = await asyncio.start_server(hang_up, "127.0.0.1", port)
        smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "false"}
        with environment(**smtp, LANTERN_OUTBOUND_RETRY_SECONDS="1"):
            async with running_worker():
                await asyncio.wait_for(refused.wait(), 30)
                down.close()
                await down.wait_closed()
                with receiving_mail(port) as mailbox:
                    message = await mailbox.wait_for(tenant.email)
    assert link_in(message).startswith("/ui/password-reset/confirm?token=lt_pwr_")


async def _queued_reset(user_id: str) -> bytes:
    """The person's queued reset job as arq stores it, once it is (the enqueue runs beside the request); another
    test's may be queued too."""
    redis = get_redis()
    async with alchemy_config().get_session() as session:
        reset_id = await session.scalar(select(PasswordReset.id).where(PasswordReset.user_id == UUID(user_id)))
    for _ in range(200):
        async for key in redis.scan_iter(f"arq:job:password-reset:{reset_id}:*"):
            job = await redis.get(key)
            if job is not None:
                return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    msg = "no password reset job was queued"
    raise AssertionError(msg)


async def test_the_link_is_mailed_in_the_language_it_was_asked_in(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """It came in English whatever the page or the person's organization spoke, to someone with no language of
    their own."""
    async with tenants.create() as tenant:
        with receiving_mail() as mailbox:
            async with running_worker():
                asked = await anonymous.post(RESET, json={"email": tenant.email}, headers={"Accept-Language": "es"})
                assert asked.status_code == 202, asked.text
                message = await mailbox.wait_for(tenant.email)
    assert message["Subject"] == "Elige una nueva contraseña de Lantern", message["Subject"]
