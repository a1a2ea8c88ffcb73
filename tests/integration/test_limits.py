"""Rate limits (exact across processes, per client, Redis down), CORS by project, and body limits."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from app.domain.projects.models import Project
from app.lib.cors import allowed_origin_refusal
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.i18n import use_locale
from app.lib.queue import job_queue
from app.lib.ratelimit import Limiter, Policy
from app.lib.redis import REDIS_RETRY_SECONDS, get_redis, redis_health
from app.lib.throttle import FILES_PER_ADMIN_REQUEST, UPLOADS_PER_SUBMISSION, limiter
from app.lib.try_pass import TRY_PASS_SECONDS, issue_try_pass
from app.settings import reset_settings
from tenants.keycache import forget_identities
from tests.support.clients import BASE_URL, PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.isolation import member_of, owner_engine, png
from tests.support.screenshots import processed
from tests.support.server import granian_server

REPORT = {"title": "Checkout broken", "description": "", "severity": "low", "category": "bug"}


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change settings for one test; they are read again afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()


async def _limited_project(tenant: Tenant, limit: int, **fields: Any) -> dict[str, Any]:
    project = await tenant.create_project(f"Limited {limit}", **fields)
    changed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"rateLimitPerMinute": limit})
    assert changed.status_code == 200, changed.text
    return project


async def test_widget_limit_counts_down_then_refuses_with_retry_after(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 3)
        other = await _limited_project(tenant, 3)
        headers = {"X-API-Key": project["apiKey"], "Accept-Language": "de"}
        answers = [await anonymous.post("/api/v1/reports", json=REPORT, headers=headers) for _ in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert all(a.headers["x-ratelimit-limit"] == "3" for a in answers)
        refused = answers[-1]
        assert refused.json()["error"] == "RATE_LIMITED"
        assert refused.headers["content-language"] == "de"
        wait = int(refused.headers["retry-after"])
        assert wait >= 1
        seconds = "Sekunde" if wait == 1 else "Sekunden"  # the wait in the message too, in the client's language
        assert refused.json()["message"] == f"Zu viele Anfragen. Bitte versuchen Sie es in {wait} {seconds} erneut."
        assert int(refused.headers["x-ratelimit-reset"]) > 1_700_000_000  # a Unix time, like BugPin's
        first_elsewhere = await anonymous.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": other["apiKey"]})
        assert first_elsewhere.status_code == 201


async def test_a_refused_widget_submission_is_readable_by_its_page(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """The 429 carries the origin's CORS headers, so the widget can read Retry-After and tell its user."""
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 1, allowedOrigins=["example.com"])
        headers = {"X-API-Key": project["apiKey"], "Origin": "https://shop.example.com", "Accept-Language": "es"}
        answers = [await anonymous.post("/api/widget/submit", json=_widget_body(), headers=headers) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 429]
    refused = answers[-1]
    assert refused.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "Retry-After" in refused.headers["access-control-expose-headers"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-language"] == "es"
    assert refused.json()["error"] == "RATE_LIMITED"


async def test_screenshot_uploads_are_not_counted_as_submissions(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    """BugSpark's report with a screenshot is an upload and a create: the create is the one submission."""
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 1)
        headers = {"X-API-Key": project["apiKey"]}

        async def upload() -> httpx.Response:
            files = {"file": ("shot.png", png(), "image/png")}
            return await anonymous.post("/api/v1/upload/screenshot", files=files, headers=headers)

        first = await upload()
        body = {
            **REPORT,
            "screenshot_url": first.json()["key"],
            "annotated_screenshot_url": (await upload()).json()["key"],
        }
        created = await anonymous.post("/api/v1/reports", json=body, headers=headers)
        third_upload = await upload()
        second_report = await anonymous.post("/api/v1/reports", json=REPORT, headers=headers)
    assert (first.status_code, created.status_code) == (201, 201), created.text
    assert first.headers["x-ratelimit-limit"] == str(UPLOADS_PER_SUBMISSION)
    assert created.headers["x-ratelimit-remaining"] == "0"
    assert (third_upload.status_code, second_report.status_code) == (429, 429)


async def test_limit_is_exact_across_four_server_processes(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 10)
        async with granian_server(4, LANTERN_TRACKING_WAIT_MS="0") as base_url:
            gate = asyncio.Semaphore(64)
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

                async def submit() -> int:
                    async with gate:
                        response = await client.post(
                            "/api/v1/reports",
                            json=REPORT,
                            headers={"X-API-Key": project["apiKey"]},
                        )
                        return response.status_code

                statuses = await asyncio.gather(*(submit() for _ in range(300)))
    assert statuses.count(201) == 10
    assert statuses.count(429) == 290


async def test_a_refused_upload_is_answered_not_reset_under_granian(tenants: TenantFactory) -> None:
    """A multipart submit refused before its body is read (a wrong key: 401; over the limit: 429) was answered and
    the connection closed with the upload still arriving, so the client often met a reset instead of the
    answer (a third of the time with a few clients at once): the server now reads the body away first."""
    upload = {"media": ("screenshot.png", b"\x89PNG" + bytes(1024 * 1024), "image/png")}
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 1)
        async with granian_server(1) as base_url, httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            spent = await client.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]})
            assert spent.status_code == 201, spent.text

            async def submits(key: str) -> list[int | str]:
                outcomes: list[int | str] = []
                for _ in range(6):
                    try:
                        answer = await client.post(
                            "/api/v1/widget/submit",
                            data={"data": json.dumps(_widget_body())},
                            files=upload,
                            headers={"X-API-Key": key},
                        )
                        outcomes.append(answer.status_code if answer.json()["success"] is False else answer.text)
                    except httpx.TransportError as error:
                        outcomes.append(repr(error))
                return outcomes

            keys = [project["apiKey"], "lt_pub_" + "0" * 32] * 3
            outcomes = [outcome for each in await asyncio.gather(*map(submits, keys)) for outcome in each]
    assert sorted(set(outcomes), key=str) == [401, 429], outcomes
    assert outcomes.count(401) == outcomes.count(429) == 18


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    tenants: TenantFactory,
    anonymous: ApiClient,
    settings_env: pytest.MonkeyPatch,
) -> None:
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 2)
        key = {"X-API-Key": project["apiKey"]}
        rotating = [
            await anonymous.post("/api/v1/reports", json=REPORT, headers={**key, "X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(3)
        ]
        assert [r.status_code for r in rotating] == [201, 201, 429]
        settings_env.setenv("LANTERN_TRUSTED_PROXIES", "127.0.0.1/32")
        reset_settings()
        through_proxy = [
            await anonymous.post("/api/v1/reports", json=REPORT, headers={**key, "X-Forwarded-For": f"198.51.100.{i}"})
            for i in range(3)
        ]
        assert [r.status_code for r in through_proxy] == [201, 201, 201]
        # A client forging the left part of the chain still lands in the bucket of the address the proxy saw.
        forged = [
            await anonymous.post(
                "/api/v1/reports",
                json=REPORT,
                headers={**key, "X-Forwarded-For": f"192.0.2.{i}, 198.51.100.1"},
            )
            for i in range(3)
        ]
        assert [r.status_code for r in forged] == [201, 429, 429]


async def test_a_forwarded_header_the_client_wrote_chooses_no_bucket(
    tenants: TenantFactory,
    anonymous: ApiClient,
    settings_env: pytest.MonkeyPatch,
) -> None:
    """The proxies in front of Lantern (nginx, ingress-nginx, Traefik, HAProxy, cloud load balancers) append the
    client's address to `X-Forwarded-For` and pass a client's own RFC 7239 `Forwarded` header on as it came. The
    latter was believed first: a client naming a new address in it with every request got a new bucket each
    time, past the widget's limit (the login's and the sign-up's too)."""
    settings_env.setenv("LANTERN_TRUSTED_PROXIES", "127.0.0.1/32")
    reset_settings()
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 2)
        sent = [
            await anonymous.post(
                "/api/v1/reports",
                json=REPORT,
                headers={
                    "X-API-Key": project["apiKey"],
                    "X-Forwarded-For": "198.51.100.7",  # what the proxy appended: the address it saw
                    "Forwarded": f"for=203.0.113.{i}",  # the client's own, passed on
                },
            )
            for i in range(3)
        ]
    assert [r.status_code for r in sent] == [201, 201, 429]


async def test_admin_api_allows_bursts_then_the_average_rate(
    tenants: TenantFactory,
    settings_env: pytest.MonkeyPatch,
) -> None:
    async with tenants.create() as tenant:
        settings_env.setenv("LANTERN_ADMIN_RATE_PER_MINUTE", "60")
        settings_env.setenv("LANTERN_ADMIN_BURST", "3")
        reset_settings()
        answers = [await tenant.client.get("/api/v1/projects") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["x-ratelimit-limit"] == "3"
        await asyncio.sleep(1.05)  # one request's worth at 60/min
        assert (await tenant.client.get("/api/v1/projects")).status_code == 200


async def test_a_page_over_the_limit_answers_with_a_page_in_the_readers_language(
    tenants: TenantFactory,
    settings_env: pytest.MonkeyPatch,
) -> None:
    """The admin UI has a budget of its own, three times the admin API's (a person clicking is no script);
    a person past it sees a page saying so, not JSON, and the API's budget is left alone."""
    async with tenants.create() as tenant:
        settings_env.setenv("LANTERN_ADMIN_RATE_PER_MINUTE", "1")
        settings_env.setenv("LANTERN_ADMIN_BURST", "2")
        reset_settings()
        answers = [await tenant.client.get("/ui/reports?lang=de") for _ in range(7)]
        api = [await tenant.client.get("/api/v1/projects") for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 6 + [429]
    assert [a.status_code for a in api] == [200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("text/html"), refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert "<!doctype html>" in refused.text
    assert "Zu viele Anfragen" in refused.text, refused.text


async def test_images_count_in_a_bucket_of_their_own(
    tenants: TenantFactory,
    anonymous: ApiClient,
    settings_env: pytest.MonkeyPatch,
    worker: Any,
) -> None:
    """A page of reports shows many thumbnails at once; they do not use up the admin API's budget."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        files = {"media": ("screen.png", png(), "image/png")}
        data = {"data": json.dumps(_widget_body())}
        sent = await anonymous.post(
            "/api/widget/submit", data=data, files=files, headers={"X-API-Key": project["apiKey"]}
        )
        assert sent.status_code == 201, sent.text
        shot = await processed(tenant, sent.json()["reportId"])
        # Slow enough that no request's worth comes back while the test runs (files: one every 6 s), the
        # thumbnails asked for at once as a page does: one by one, a loaded machine took longer than 6 s.
        settings_env.setenv("LANTERN_ADMIN_RATE_PER_MINUTE", "1")
        settings_env.setenv("LANTERN_ADMIN_BURST", "2")
        reset_settings()
        asked = (tenant.client.get(shot["thumbnailUrl"]) for _ in range(2 * FILES_PER_ADMIN_REQUEST + 1))
        thumbnails = await asyncio.gather(*asked)
        api = [await tenant.client.get("/api/v1/projects") for _ in range(3)]
    statuses = sorted(answer.status_code for answer in thumbnails)
    assert statuses == [200] * 2 * FILES_PER_ADMIN_REQUEST + [429]
    assert thumbnails[0].headers["x-ratelimit-limit"] == str(2 * FILES_PER_ADMIN_REQUEST)
    assert [answer.status_code for answer in api] == [200, 200, 429]


async def test_login_is_limited_per_account_and_ip_alike_for_unknown_accounts(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    async with tenants.create() as tenant:
        known = [
            await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": "wrong password"})
            for _ in range(6)
        ]
        unknown = [
            await anonymous.post("/api/v1/auth/login", json={"email": f"x{tenant.email}", "password": "wrong password"})
            for _ in range(6)
        ]
        assert [a.status_code for a in known] == [401] * 5 + [429]
        assert [a.status_code for a in unknown] == [401] * 5 + [429]
        assert known[0].json() == unknown[0].json()
        # A refused password says how many tries are left, as every limited answer does (SPEC §5).
        assert [a.headers["x-ratelimit-remaining"] for a in known[:5]] == ["4", "3", "2", "1", "0"]
        assert {a.headers["x-ratelimit-limit"] for a in known} == {"5"}
        right = await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD})
        assert right.status_code == 429  # the account is still cooling down for this IP


async def test_a_signed_in_clients_logins_count_in_the_login_limit_alone(
    tenants: TenantFactory, app: Any, settings_env: pytest.MonkeyPatch
) -> None:
    """With a session cookie, a login also spent the admin API's budget, whose headers overwrote the login
    limit's: a refusal said 5 tries were left, to come back in 5 s, with `Retry-After: 60`."""
    settings_env.setenv("LANTERN_ADMIN_RATE_PER_MINUTE", "1")
    settings_env.setenv("LANTERN_ADMIN_BURST", "3")
    reset_settings()
    async with tenants.create() as tenant, ApiClient.for_app(app) as browser:
        right = {"email": tenant.email, "password": PASSWORD}
        assert (await browser.post("/api/v1/auth/login", json=right)).status_code == 200
        wrong = [
            await browser.post("/api/v1/auth/login", json={**right, "password": "wrong password"}) for _ in range(5)
        ]
        me = await browser.get("/api/v1/auth/me")
    assert [answer.status_code for answer in wrong] == [401] * 4 + [429]
    assert [answer.headers["x-ratelimit-remaining"] for answer in wrong] == ["3", "2", "1", "0", "0"]
    assert {answer.headers["x-ratelimit-limit"] for answer in wrong} == {"5"}
    refused = wrong[-1].headers
    assert int(refused["x-ratelimit-reset"]) - time.time() == pytest.approx(int(refused["retry-after"]), abs=2)
    assert me.status_code == 200, me.text  # the session's admin budget (a burst of 3) is its own


async def test_someone_elses_failed_logins_do_not_lock_out_a_browser_that_signed_in_before(
    tenants: TenantFactory, app: Any, settings_env: pytest.MonkeyPatch
) -> None:
    """Anyone could fill an account's hourly cap of failures from many addresses and lock its owner out for an
    hour. The owner's browser, which signed in before (its device cookie), still signs in; one that never did
    waits."""
    settings_env.setenv("LANTERN_TRUSTED_PROXIES", "127.0.0.1/32")
    settings_env.setenv("LANTERN_LOGIN_FAILURES_PER_HOUR", "3")
    reset_settings()
    async with tenants.create() as tenant:
        right = {"email": tenant.email, "password": PASSWORD}
        wrong = {**right, "password": "wrong password"}
        home = {"X-Forwarded-For": "198.51.100.7"}
        async with ApiClient.for_app(app) as owner, ApiClient.for_app(app) as stranger:
            assert (await owner.post("/api/v1/auth/login", json=right, headers=home)).status_code == 200
            guesses = [
                await stranger.post("/api/v1/auth/login", json=wrong, headers={"X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(4)
            ]
            elsewhere = await stranger.post("/api/v1/auth/login", json=right, headers={"X-Forwarded-For": "192.0.2.9"})
            again = await owner.post("/api/v1/auth/login", json=right, headers=home)
            # Changing the password proves the current one as a login does, from the same browser: it was
            # refused too, so the guesses kept the owner from changing the password they were after.
            await owner.ensure_csrf()
            change = {"currentPassword": PASSWORD, "newPassword": PASSWORD}
            changed = await owner.post("/api/v1/auth/password", json=change, headers=home)
    assert [guess.status_code for guess in guesses] == [401, 401, 401, 429]
    assert elsewhere.status_code == 429
    assert again.status_code == 200, again.text
    assert changed.status_code == 200, changed.text


async def test_a_browser_that_signed_in_before_a_password_change_is_a_stranger_after_it(
    tenants: TenantFactory, app: Any, settings_env: pytest.MonkeyPatch
) -> None:
    """The device cookie was the same for every browser of an account and outlived a password change: one
    copied, or left on a computer, kept getting past the cap on failed logins after the owner changed the
    password. The browser that changed it gets one for the new password."""
    settings_env.setenv("LANTERN_TRUSTED_PROXIES", "127.0.0.1/32")
    settings_env.setenv("LANTERN_LOGIN_FAILURES_PER_HOUR", "1")
    reset_settings()
    new_password = "a new and longer passphrase"
    async with tenants.create() as tenant, ApiClient.for_app(app) as old, ApiClient.for_app(app) as stranger:
        right = {"email": tenant.email, "password": PASSWORD}
        assert (await old.post("/api/v1/auth/login", json=right, headers=_from(1))).status_code == 200
        change = {"currentPassword": PASSWORD, "newPassword": new_password}
        changed = await tenant.client.post("/api/v1/auth/password", json=change, headers=_from(2))
        assert changed.status_code == 200, changed.text
        guess = await stranger.post("/api/v1/auth/login", json={**right, "password": "a guess"}, headers=_from(3))
        assert guess.status_code == 401, guess.text  # the account's cap of failures is now full
        renewed = {**right, "password": new_password}
        known_before = await old.post("/api/v1/auth/login", json=renewed, headers=_from(4))
        changer = await tenant.client.post("/api/v1/auth/login", json=renewed, headers=_from(5))
    assert known_before.status_code == 429, known_before.text
    assert changer.status_code == 200, changer.text


async def test_a_browser_of_a_deleted_account_is_a_stranger_to_a_new_one_with_its_address(
    tenants: TenantFactory, app: Any, settings_env: pytest.MonkeyPatch
) -> None:
    """An account never given another password had its device cookie made for no change at all: one made again
    with a deleted account's address took the old account's browsers as its own, past the cap on failures."""
    settings_env.setenv("LANTERN_TRUSTED_PROXIES", "127.0.0.1/32")
    settings_env.setenv("LANTERN_LOGIN_FAILURES_PER_HOUR", "1")
    reset_settings()
    async with tenants.create() as tenant, ApiClient.for_app(app) as old, ApiClient.for_app(app) as stranger:
        right = {"email": tenant.email, "password": PASSWORD}
        assert (await old.post("/api/v1/auth/login", json=right, headers=_from(1))).status_code == 200
        deleted = await tenant.client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD})
        assert deleted.status_code == 204, deleted.text
        again = {**right, "name": "Someone new", "organization": {"name": "Another shop"}}
        assert (await stranger.post("/api/v1/auth/signup", json=again, headers=_from(2))).status_code == 201
        guess = await stranger.post("/api/v1/auth/login", json={**right, "password": "a guess"}, headers=_from(3))
        assert guess.status_code == 401, guess.text  # the account's cap of failures is now full
        known_before = await old.post("/api/v1/auth/login", json=right, headers=_from(4))
    assert known_before.status_code == 429, known_before.text


def _from(host: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{host}"}


async def test_limiter_falls_back_to_this_process_and_recovers(separate_redis: EmbeddedRedis) -> None:
    client = Redis.from_url(separate_redis.url, socket_connect_timeout=0.5)
    checks = Limiter(client)
    policy = Policy(name="fallback-test", limit=3, window_seconds=60)
    assert [(await checks.hit(policy, "bucket")).allowed for _ in range(2)] == [True, True]
    assert checks.fallbacks == 0
    separate_redis.stop()
    answers = [(await checks.hit(policy, "other-bucket")).allowed for _ in range(4)]
    assert answers == [True, True, True, False]  # the same policy, held in this process
    assert checks.fallbacks == 1
    separate_redis.process = None
    separate_redis.start()
    await asyncio.sleep(1.1)  # the limiter tries Redis again after a second
    assert (await checks.hit(policy, "recovered")).allowed
    assert await client.exists("lantern:rl:fallback-test:recovered") == 1
    await client.aclose()


async def test_checks_meeting_one_outage_together_count_it_once(separate_redis: EmbeddedRedis) -> None:
    """A turn's checks share a pipeline, so one outage fails them all at once: that is one failure, a pause of
    a second, not twenty failures in a row and the longest pause."""
    client = Redis.from_url(separate_redis.url, socket_connect_timeout=0.5)
    checks = Limiter(client)
    policy = Policy(name="outage-test", limit=100, window_seconds=60)
    separate_redis.stop()
    decisions = await asyncio.gather(*(checks.hit(policy, "bucket") for _ in range(20)))
    assert all(decision.allowed for decision in decisions)  # counted in this process meanwhile
    assert checks.health.failures == 1
    await asyncio.sleep(1.05)
    assert checks.health.available
    await client.aclose()


async def test_checks_load_their_scripts_again_when_redis_forgot_them(separate_redis: EmbeddedRedis) -> None:
    """A restarted Redis knows no script: a lone check (sent by itself) and a turn's checks (sent in one
    pipeline) each load it again and get their own answers."""
    client = Redis.from_url(separate_redis.url)
    checks = Limiter(client)
    policy = Policy(name="reload-test", limit=5, window_seconds=60)
    await client.script_flush()
    assert (await checks.hit(policy, "lone")).remaining == 4
    await client.script_flush()
    decisions = await asyncio.gather(*(checks.hit(policy, "together") for _ in range(6)))
    assert sorted(decision.remaining for decision in decisions if decision.allowed) == [0, 1, 2, 3, 4]
    assert [decision.allowed for decision in decisions].count(False) == 1
    await client.aclose()


async def test_concurrent_checks_share_one_round_trip_and_each_gets_its_answer(
    separate_redis: EmbeddedRedis,
) -> None:
    client = Redis.from_url(separate_redis.url, client_name="limiter-batch")
    checks = Limiter(client)
    policy = Policy(name="batch-test", limit=30, window_seconds=60)
    decisions = await asyncio.gather(*(checks.hit(policy, "bucket") for _ in range(50)))
    assert sum(decision.allowed for decision in decisions) == 30
    assert sorted(decision.remaining for decision in decisions if decision.allowed) == list(range(30))
    # One connection carried all 50 checks: one check per connection would have opened 50.
    connections = [entry for entry in await client.client_list() if entry["name"] == "limiter-batch"]
    assert len(connections) == 1, connections
    await client.aclose()


async def test_redis_down_keeps_submissions_working_and_login_limited(
    tenants: TenantFactory,
    anonymous: ApiClient,
    separate_redis: EmbeddedRedis,
    settings_env: pytest.MonkeyPatch,
) -> None:
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 100)
        settings_env.setenv("REDIS_URL", separate_redis.url)  # only what connects from now on uses it
        _forget_connections()
        try:
            assert (await _submit(anonymous, project)) == 201
            separate_redis.stop()
            statuses = [await _submit(anonymous, project) for _ in range(5)]
            logins = [
                (
                    await anonymous.post("/api/v1/auth/login", json={"email": tenant.email, "password": "nope"})
                ).status_code
                for _ in range(6)
            ]
            fallbacks = limiter().fallbacks
        finally:
            settings_env.undo()
            _forget_connections()
    assert statuses == [201] * 5
    assert logins == [401] * 5 + [429]
    assert fallbacks >= 1


async def _submit(client: ApiClient, project: dict[str, Any]) -> int:
    response = await client.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]})
    return response.status_code


def _forget_connections() -> None:
    reset_settings()
    get_redis.cache_clear()
    redis_health.cache_clear()
    job_queue.cache_clear()
    limiter.cache_clear()


async def test_a_hung_redis_costs_one_request_its_timeout_not_every_request(
    tenants: TenantFactory,
    anonymous: ApiClient,
    separate_redis: EmbeddedRedis,
    settings_env: pytest.MonkeyPatch,
) -> None:
    """A Redis that accepts and never answers (stopped, as a frozen host would be): the first submission waits
    out the socket's timeout and marks Redis down; the next ones skip it (the limiter counts in the process, the
    sweeper queues their jobs later) instead of each waiting the timeout twice, once to check and once to queue."""
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 100)
        settings_env.setenv("REDIS_URL", separate_redis.url)
        _forget_connections()
        assert separate_redis.process is not None
        try:
            assert (await _submit(anonymous, project)) == 201  # Redis answers: connections are made
            separate_redis.process.send_signal(signal.SIGSTOP)
            statuses = [await _submit(anonymous, project) for _ in range(4)]
            failures = redis_health().failures
        finally:
            separate_redis.process.send_signal(signal.SIGCONT)
            settings_env.undo()
            _forget_connections()
    assert statuses == [201] * 4
    # One timeout, then answers without Redis until it is tried again a second later (twice, on a machine so
    # slow that four submissions took longer): each of the four used to wait out the timeout, twice.
    assert failures in {1, 2}, failures


async def test_a_redis_that_refuses_writes_is_unavailable_as_an_unreachable_one_is(
    tenants: TenantFactory,
    anonymous: ApiClient,
    separate_redis: EmbeddedRedis,
    settings_env: pytest.MonkeyPatch,
) -> None:
    """A Redis whose disk is full answers every write with MISCONF; here it refuses them for want of replicas
    (NOREPLICAS), then of memory under `noeviction` (OOM). Every request answered 500 (the limiter's script
    raised), where an unreachable Redis's policy holds: the limiter counts in the process, submissions and reads
    are served, and readiness says Redis is unavailable."""
    settings_env.setenv("REDIS_URL", separate_redis.url)
    _forget_connections()
    answers = {}
    try:
        async with tenants.create() as tenant, Redis.from_url(separate_redis.url) as admin:
            project = await _limited_project(tenant, 1000)
            bearer = {"Authorization": f"Bearer {(await tenant.create_token())['token']}"}
            for setting in ("min-replicas-to-write", "maxmemory"):
                await admin.config_set(setting, 1)
                _forget_connections()  # a fresh start each time, not the last refusal's pause
                answers[setting] = (
                    await _submit(anonymous, project),
                    (await anonymous.get("/api/v1/reports", headers=bearer)).status_code,
                    (await tenant.client.get("/api/v1/auth/me")).status_code,
                    (await anonymous.get("/health/ready")).json()["details"],
                )
                await admin.config_set(setting, 0)
    finally:
        settings_env.undo()
        _forget_connections()
    for setting, (submitted, read, me, ready) in answers.items():
        assert (submitted, read, me) == (201, 200, 200), setting
        # It answers: saying it cannot be reached sent an operator looking at the network.
        assert ready == [{"field": "redis", "message": "Redis cannot be reached, or refuses writes."}], setting


# Long enough for one socket timeout (5 s) and a slow machine's work; short of two timeouts in a row.
HUNG_REDIS_WAIT_SECONDS = 9


async def test_a_hung_redis_keeps_no_request_of_any_kind_waiting_behind_it(
    tenants: TenantFactory,
    anonymous: ApiClient,
    separate_redis: EmbeddedRedis,
    settings_env: pytest.MonkeyPatch,
) -> None:
    """Two rounds of concurrent submissions, organization-token reads and readiness probes while Redis is
    stopped, the second once Redis is tried again: every one is answered before Redis comes back, a submission
    stored (201), a read served (200), readiness saying Redis is unavailable (503). Some used to wait behind the
    stalled connections, one timeout after another (30 to 50 s in a trial)."""
    async with tenants.create() as tenant:
        project = await _limited_project(tenant, 1000)
        token = await tenant.create_token()
        bearer = {"Authorization": f"Bearer {token['token']}"}
        settings_env.setenv("REDIS_URL", separate_redis.url)
        _forget_connections()
        assert separate_redis.process is not None

        async def read() -> int:
            return (await anonymous.get("/api/v1/reports", headers=bearer)).status_code

        async def ready() -> int:
            return (await anonymous.get("/health/ready")).status_code

        async def one_round() -> list[int]:
            kinds = [lambda: _submit(anonymous, project), read, ready] * 4
            return list(await asyncio.gather(*(kind() for kind in kinds)))

        try:
            assert await one_round() == [201, 200, 200] * 4  # Redis answers: connections are made
            separate_redis.process.send_signal(signal.SIGSTOP)
            rounds = [await asyncio.wait_for(one_round(), HUNG_REDIS_WAIT_SECONDS)]
            await asyncio.sleep(REDIS_RETRY_SECONDS * 1.5)  # Redis is tried again: the round meets it hung
            rounds.append(await asyncio.wait_for(one_round(), HUNG_REDIS_WAIT_SECONDS))
        finally:
            separate_redis.process.send_signal(signal.SIGCONT)
            settings_env.undo()
            _forget_connections()
    assert rounds == [[201, 200, 503] * 4] * 2


async def test_cors_admits_the_projects_origins_and_their_subdomains(
    tenants: TenantFactory,
    anonymous: ApiClient,
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        key = {"X-API-Key": project["apiKey"]}
        for origin in ("https://example.com", "https://app.example.com"):
            allowed = await anonymous.post("/api/widget/submit", json=_widget_body(), headers={**key, "Origin": origin})
            assert allowed.status_code == 201, allowed.text
            assert allowed.headers["access-control-allow-origin"] == origin
            assert "Origin" in allowed.headers.get_list("vary", split_commas=True)
        for origin in ("https://evil.com", "https://notexample.com"):
            refused = await anonymous.post(
                "/api/widget/submit",
                json=_widget_body(),
                headers={**key, "Origin": origin, "Accept-Language": "ja"},
            )
            assert refused.status_code == 403
            assert refused.json()["error"] == "FORBIDDEN"
            assert refused.headers["content-language"] == "ja"
            # readable by the refused page, so its widget can say why; the body is the refusal alone
            assert refused.headers["access-control-allow-origin"] == origin
            assert refused.json()["details"] == []
        no_origin = await anonymous.post("/api/widget/submit", json=_widget_body(), headers=key)
        assert no_origin.status_code == 201  # a server-side client sends no Origin


async def test_a_refused_widget_key_is_readable_by_the_page_that_sent_it(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A page posting with a key Lantern does not know, or one revoked, or with an organization token instead,
    got a 401 without CORS headers: the browser hid it as a network error ("Failed to fetch"), where a missing
    key's 401 and a refused origin's 403 are readable, so BugPin's custom form could not show `result.message`.
    The refusal is readable by the page, and tells nothing of any project."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        [old] = project["keys"]
        keys = f"/api/v1/projects/{project['id']}/keys"
        assert (await tenant.client.post(keys)).status_code == 201
        assert (await tenant.client.delete(f"{keys}/{old['id']}")).status_code == 204
        token = await tenant.create_token()
        origin = "https://app.example.com"
        credentials = [
            {"X-API-Key": "lt_pub_unknown"},
            {"X-API-Key": old["key"]},
            {"Authorization": "Bearer lt_org_unknown"},
            {"Authorization": f"Bearer {token['token']}"},  # a token is no widget key: refused below, readably
            {},
        ]
        answers = [
            await anonymous.post(path, json=body, headers={**credential, "Origin": origin})
            for path, body in (("/api/widget/submit", _widget_body()), ("/api/v1/reports", {"title": "Pay fails"}))
            for credential in credentials
        ]
    for answer in answers:
        assert answer.status_code in {401, 403}, answer.text
        assert answer.headers["access-control-allow-origin"] == origin, answer.headers
        assert "Retry-After" in answer.headers["access-control-expose-headers"]
        assert "Origin" in answer.headers.get_list("vary", split_commas=True)
        assert answer.json()["details"] == []


async def test_lanterns_try_page_sends_with_its_pass_from_lanterns_own_address_only(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The admin UI's "Try the widget" page is on Lantern's address, which the project's origins do not list: its
    button was shown, and the report filled in there was refused. Its pass admits that page, and nothing else:
    not Lantern's address without it, not another site with it, not another project's or a forged one, not one
    past its hour (which says to reload)."""
    own = BASE_URL
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        other = await tenant.create_project("Other shop", allowedOrigins=["example.com"])
        page = await tenant.client.get(f"/ui/projects/{project['id']}/try")
        assert page.status_code == 200, page.text
        found = re.search(r'data-try-pass="([^"]+)"', page.text)
        assert found is not None, page.text
        try_pass = found.group(1)
        other_pass = re.search(
            r'data-try-pass="([^"]+)"', (await tenant.client.get(f"/ui/projects/{other['id']}/try")).text
        )
        assert other_pass is not None
        user, expires, signature = try_pass.split(".")
        late = issue_try_pass(uuid.UUID(project["id"]), uuid.UUID(user), now=time.time() - TRY_PASS_SECONDS - 1)

        async def sent(origin: str, carried: str | None) -> httpx.Response:
            query = f"?tryPass={carried}" if carried else ""
            headers = {"X-API-Key": project["apiKey"], "Origin": origin}
            return await anonymous.post(f"/api/v1/widget/submit{query}", json=_widget_body(), headers=headers)

        admitted = await sent(own, try_pass)
        config = await anonymous.get(
            f"/api/v1/widget/config/{project['apiKey']}?tryPass={try_pass}", headers={"Origin": own}
        )
        refused = [
            await sent(own, None),
            await sent("https://evil.com", try_pass),
            await sent("null", try_pass),
            await sent(own, other_pass.group(1)),
            await sent(own, f"{uuid.uuid4()}.{expires}.{signature}"),
            await sent(own, try_pass.replace(expires, str(int(expires) + 3600))),
        ]
        expired = await sent(own, late)
    assert admitted.status_code == 201, admitted.text
    assert config.status_code == 200, config.text
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert {answer.json()["message"] for answer in refused} == {
        "This origin is not allowed to use this project's widget."
    }
    assert (expired.status_code, expired.json()["message"]) == (
        403,
        "This try page was opened more than an hour ago: reload it to send a report.",
    )


async def test_a_try_pass_is_taken_only_while_its_manager_manages_the_organization(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """An admin who opened the try page, then was made a member or removed, still sent reports with its pass until
    its hour ran out. It is also taken only from Lantern's own address, scheme and port included: a page of
    `https://` on Lantern's host was taken as Lantern's `http://` one (only the Host was compared)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])

        async def sent(origin: str, try_pass: str) -> int:
            headers = {"X-API-Key": project["apiKey"], "Origin": origin}
            query = f"?tryPass={try_pass}"
            submitted = await anonymous.post(f"/api/v1/widget/submit{query}", json=_widget_body(), headers=headers)
            config = await anonymous.get(f"/api/v1/widget/config/{project['apiKey']}{query}", headers=headers)
            assert config.status_code == (200 if submitted.status_code == 201 else 403), config.text
            return submitted.status_code

        async with member_of(tenant, app, "admin") as admin:
            page = await admin.get(f"/ui/projects/{project['id']}/try")
            found = re.search(r'data-try-pass="([^"]+)"', page.text)
            assert found is not None, page.text
            try_pass = found.group(1)
            members = (await tenant.client.get("/api/v1/organization/members")).json()["data"]
            [membership] = [m["id"] for m in members if m["userId"] == try_pass.split(".")[0]]
            person = f"/api/v1/organization/members/{membership}"
            assert await sent(BASE_URL, try_pass) == 201
            for origin in (BASE_URL.replace("http://", "https://"), f"{BASE_URL}:8080"):
                assert await sent(origin, try_pass) == 403, origin
            for role, status in (("member", 403), ("guest", 403), ("owner", 201), ("admin", 201)):
                changed = await tenant.client.patch(person, json={"role": role})
                assert changed.status_code == 200, changed.text
                assert await sent(BASE_URL, try_pass) == status, role
            removed = await tenant.client.delete(person)
            assert removed.status_code == 204, removed.text
            assert await sent(BASE_URL, try_pass) == 403


async def test_the_try_pass_is_documented_on_the_widgets_routes(anonymous: ApiClient) -> None:
    """The widget sends `tryPass` to its configuration and its submission; the document did not say so, and the
    configuration refused it as an unknown query parameter (a 400 that hid the try page's widget)."""
    paths = (await anonymous.get("/schema/openapi.json")).json()["paths"]
    routes = [(path, "get") for path in ("/api/v1/widget/config/{api_key}", "/api/widget/config/{api_key}")]
    routes += [(path, "post") for path in ("/api/v1/widget/submit", "/api/widget/submit")]
    for path, method in routes:
        parameters = {p["name"]: p for p in paths[path][method].get("parameters", []) if p["in"] == "query"}
        assert "tryPass" in parameters, (path, method)
        assert parameters["tryPass"]["required"] is False
        assert "Try the widget" in parameters["tryPass"]["description"]


async def test_an_origin_no_browser_sends_is_refused_not_a_500(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A port past 65535 or a broken IPv6 address in `Origin` raised from urllib inside the CORS check."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        key = {"X-API-Key": project["apiKey"]}
        for origin in ("https://example.com:abc", "https://www.example.com:99999", "https://[::1"):
            sent = {**key, "Origin": origin}
            submitted = await anonymous.post("/api/widget/submit", json=_widget_body(), headers=sent)
            config = await anonymous.get(f"/api/v1/widget/config/{project['apiKey']}", headers={"Origin": origin})
            assert (submitted.status_code, config.status_code) == (403, 403), (origin, submitted.text, config.text)

        # Such a port is no longer saved; one saved before it was checked matches nothing and breaks nothing.
        refused = await tenant.client.patch(
            f"/api/v1/projects/{project['id']}", json={"allowedOrigins": ["https://example.com:99999"]}
        )
        assert refused.status_code == 400
        assert refused.json()["details"][0]["field"] == "allowedOrigins[0]", refused.text
        async with owner_engine() as database, database.begin() as connection:
            saved_before = ["https://example.com:99999", "example.com"]
            await connection.execute(
                update(Project).where(Project.id == uuid.UUID(project["id"])).values(allowed_origins=saved_before)
            )
        forget_identities()
        config = await anonymous.get(
            f"/api/v1/widget/config/{project['apiKey']}", headers={"Origin": "https://www.example.com"}
        )
        assert config.status_code == 200, config.text


async def test_allowed_origins_are_kept_as_they_are_matched_each_once(tenants: TenantFactory) -> None:
    """A host's letters in any case and a trailing slash name the same site: `https://Shop.Example.com/` beside
    `https://shop.example.com` was kept twice, as sent."""
    sent = ["https://Shop.Example.com/", "https://shop.example.com", "EXAMPLE.org", "http://localhost:3000/"]
    kept = ["https://shop.example.com", "example.org", "http://localhost:3000"]
    async with tenants.create() as tenant:
        created = await tenant.create_project("Shop", allowedOrigins=sent)
        changed = await tenant.client.patch(f"/api/v1/projects/{created['id']}", json={"allowedOrigins": sent[::-1]})
    assert created["allowedOrigins"] == kept
    assert changed.json()["data"]["allowedOrigins"] == [
        "http://localhost:3000",
        "example.org",
        "https://shop.example.com",
    ]


async def test_an_allowed_origin_that_anyone_can_make_a_site_under_is_refused(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`com`, `co.uk` or `github.io` were saved, and with the subdomain rule admitted `https://evil.com`; `null`
    was saved though no entry ever matches it. Each is refused, named, in the reader's language; one saved before
    admits no one."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["example.com"])
        sent = ["example.com", "com", "https://co.uk", "null", "github.io:443"]
        refused = await tenant.client.patch(
            f"/api/v1/projects/{project['id']}", json={"allowedOrigins": sent}, headers={"Accept-Language": "de"}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "VALIDATION_ERROR"
        with use_locale("de"):
            expected = [
                {"field": f"allowedOrigins[{index}]", "message": allowed_origin_refusal(entry)}
                for index, entry in enumerate(sent)
                if index > 0
            ]
        assert refused.json()["details"] == expected
        assert all(entry in detail["message"] for entry, detail in zip(sent[1:], expected, strict=True))
        created = await tenant.client.post("/api/v1/projects", json={"name": "Blog", "allowedOrigins": ["co.uk"]})
        assert (created.status_code, created.json()["details"][0]["field"]) == (400, "allowedOrigins[0]")

        # One's own site under a public suffix, a local name, an address: saved.
        own = ["shop.example.co.uk", "me.github.io", "http://localhost:3000", "intranet", "192.168.1.20"]
        saved = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"allowedOrigins": own})
        assert saved.status_code == 200, saved.text

        async with owner_engine() as database, database.begin() as connection:
            await connection.execute(
                update(Project).where(Project.id == uuid.UUID(project["id"])).values(allowed_origins=["com"])
            )
        forget_identities()
        config = await anonymous.get(
            f"/api/v1/widget/config/{project['apiKey']}", headers={"Origin": "https://evil.com"}
        )
        assert config.status_code == 403, config.text


async def test_preflight_and_public_config_and_closed_admin_api(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", allowedOrigins=["https://example.com"])
        submit = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        asking = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}
        preflight = await anonymous.options(
            submit, headers={**asking, "Access-Control-Request-Headers": "content-type, x-api-key"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://example.com"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "X-API-Key" in preflight.headers["access-control-allow-headers"]
        # A header the page's own scripts add to every request (a wrapped `fetch`) is allowed too.
        wrapped = await anonymous.options(
            submit, headers={**asking, "Access-Control-Request-Headers": "content-type, x-requested-with"}
        )
        assert wrapped.status_code == 204
        assert "x-requested-with" in wrapped.headers["access-control-allow-headers"]
        assert "Access-Control-Request-Headers" in wrapped.headers["vary"]
        wrong_scheme = await anonymous.options(
            f"/api/v1/widget/submit?apiKey={project['apiKey']}",
            headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"},
        )
        assert wrong_scheme.status_code == 403
        config = await anonymous.get(f"/api/v1/widget/config/{project['apiKey']}", headers={"Origin": "https://x.org"})
        # A site the project does not allow: refused at once, so its page shows no widget; readable, to say why.
        assert (config.status_code, config.json()["error"]) == (403, "FORBIDDEN")
        assert config.headers["access-control-allow-origin"] == "*"
        allowed = await anonymous.get(
            f"/api/v1/widget/config/{project['apiKey']}", headers={"Origin": "https://example.com"}
        )
        assert allowed.status_code == 200, allowed.text
        asked = {"Origin": "https://x.org", "Access-Control-Request-Method": "GET"}
        config_preflight = await anonymous.options(
            f"/api/widget/config/{project['apiKey']}", headers={**asked, "Access-Control-Request-Headers": "x-api-key"}
        )
        assert config_preflight.status_code == 204
        assert config_preflight.headers["access-control-allow-origin"] == "*"
        assert "GET" in config_preflight.headers["access-control-allow-methods"]
        assert "X-API-Key" in config_preflight.headers["access-control-allow-headers"]
        admin = await tenant.client.get("/api/v1/projects", headers={"Origin": "https://example.com"})
        assert "access-control-allow-origin" not in admin.headers
        # BugSpark's create shares its path with the triage list, which is the admin API's: no CORS for a GET.
        for origin in ("https://evil.example", "https://example.com"):
            listed = await tenant.client.get("/api/v1/reports", headers={"Origin": origin})
            assert listed.status_code == 200, listed.text
            assert "access-control-allow-origin" not in listed.headers
            asked = {"Origin": origin, "Access-Control-Request-Method": "GET"}
            list_preflight = await anonymous.options("/api/v1/reports", headers=asked)
            assert "access-control-allow-origin" not in list_preflight.headers
        required = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"requireOrigin": True})
        assert required.status_code == 200
        headless = await anonymous.post(
            "/api/v1/widget/submit", json=_widget_body(), headers={"X-API-Key": project["apiKey"]}
        )
        assert headless.status_code == 403
        assert "no Origin header" in headless.json()["message"]  # it sent no origin, so none was refused


def _widget_body() -> dict[str, Any]:
    return {
        "title": "Broken button",
        "metadata": {
            "url": "https://example.com/cart",
            "browser": {"name": "Chrome"},
            "device": {"type": "desktop"},
            "viewport": {"width": 1280, "height": 720},
            "timestamp": "2026-01-15T10:30:00Z",
        },
    }


async def test_oversized_body_is_refused_without_reading_it(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = 0
        chunk = b"x" * 65536

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(1024):  # 64 MiB offered
                sent += 1
                yield chunk

        tracemalloc.start()
        try:
            response = await anonymous.post(
                "/api/v1/reports",
                content=body(),
                headers={"X-API-Key": project["apiKey"], "Content-Type": "application/json"},
            )
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["message"] == "The request body is too large: at most 1 MB."
    assert sent <= 32  # stopped at the 1 MiB limit (16 chunks) plus what was in flight, not 1,024
    assert peak < 8 * 1024 * 1024


async def test_the_widgets_json_takes_what_the_json_route_takes_and_refusals_say_how_much(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The widget's submit takes 25 MB for its images; its report's JSON, as JSON or as the `data` part, takes
    the 1 MB that BugSpark's JSON route takes (a public key is in every page: 20 MB of JSON were parsed)."""
    padded = {**_widget_body(), "metadata": {**_widget_body()["metadata"], "padding": "x" * 2 * 1024 * 1024}}
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        key = {"X-API-Key": project["apiKey"]}
        as_json = await anonymous.post("/api/widget/submit?lang=de", json=padded, headers=key)
        as_part = await anonymous.post("/api/widget/submit", files={"data": (None, json.dumps(padded))}, headers=key)
        as_blob = await anonymous.post(  # a browser's FormData sends a Blob of JSON as a file
            "/api/widget/submit", files={"data": ("blob", json.dumps(padded), "application/json")}, headers=key
        )
        big_image = png() + b"\0" * (10 * 1024 * 1024)
        image = await anonymous.post(
            "/api/widget/submit",
            data={"data": json.dumps(_widget_body())},
            files={"media": ("shot.png", big_image, "image/png")},
            headers=key,
        )
    assert (as_json.status_code, as_part.status_code, as_blob.status_code, image.status_code) == (413, 413, 413, 413)
    assert as_json.json()["message"] == "Der Anfragetext ist zu groß: höchstens 1 MB."
    # The part too large is named, as an image is: its details were empty.
    part_too_large = [{"field": "data", "message": "The report's JSON can be at most 1 MB."}]
    assert as_part.json()["details"] == as_blob.json()["details"] == part_too_large
    assert image.json()["details"] == [{"field": "media", "message": "An image can be at most 10 MB."}]


async def test_wrong_content_type_is_415(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        response = await anonymous.post(
            "/api/v1/reports",
            content=b'{"title": "abcd"}',
            headers={"X-API-Key": project["apiKey"], "Content-Type": "text/plain"},
        )
    assert response.status_code == 415
    assert response.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_too_many_multipart_parts_is_413(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        files = {f"part{i}": ("a.txt", b"x", "text/plain") for i in range(30)}
        response = await anonymous.post(
            "/api/v1/upload/screenshot", files=files, headers={"X-API-Key": project["apiKey"]}
        )
        long_name = await anonymous.post(
            "/api/v1/upload/screenshot",
            files={"file": (f"{'a' * 5000}.png", png(), "image/png")},
            headers={"X-API-Key": project["apiKey"]},
        )
    assert response.status_code == 413
    # It said "too many parts" of one part whose file name was longer than the parser takes.
    assert long_name.status_code == 413
    assert long_name.json()["message"] == (
        "The request has too many parts, or a part's headers (its file name) are too long."
    )


async def test_every_refused_allowed_origin_is_named_with_what_is_wrong(tenants: TenantFactory) -> None:
    """msgspec stops at a list's first refused item: of allowed origins, only the first bad one was named, and a
    page's address ("http://127.0.0.1:8201/shop") was refused as no site at all, its path not named."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        origins = ["http://127.0.0.1:8201/shop", "nicht eine url", "https://shop.example", "shop.example/?page=2"]
        for body in ({"allowedOrigins": origins}, {"allowedOrigins": origins, "name": ""}):
            refused = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=body)
            assert refused.status_code == 400, refused.text
            details = [detail for detail in refused.json()["details"] if detail["field"] != "name"]
            assert details == [
                {
                    "field": "allowedOrigins[0]",
                    "message": "Must be a site without a path, such as http://127.0.0.1:8201.",
                },
                {
                    "field": "allowedOrigins[1]",
                    "message": "Must be a site, such as https://example.com or example.com:8080.",
                },
                {"field": "allowedOrigins[3]", "message": "Must be a site without a query, such as shop.example."},
            ]
