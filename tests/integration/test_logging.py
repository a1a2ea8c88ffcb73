"""Structured logs: every line a request writes is one JSON object carrying its request id and tenant id.

No route of the app logs while it answers normally; the line a request does write is the one of
`internal_error_handler` (app/lib/errors.py) for an unhandled error. To reach it, the test mounts one route
of its own on a fresh instance of the real app (same middleware, logging and exception handlers): the
route logs a warning of its own and then fails.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from litestar import Litestar, get

from app.asgi import create_app
from app.lib.embedded_redis import EmbeddedRedis
from tests.support.clients import ApiClient, TenantFactory
from tests.support.logs import json_lines
from tests.support.processes import worker_process
from tests.support.server import ROOT, granian_server

PROBE_PATH = "/api/v1/test-only/failing-probe"
CRASH_SECONDS = 60


class ProbeError(RuntimeError):
    """The failure the probe route raises; the app must log it and answer 500."""


@get(PROBE_PATH, sync_to_thread=False)
def failing_probe() -> None:
    structlog.get_logger("tests.probe").warning("probe reached")
    raise ProbeError("probe failure")


@pytest.fixture(scope="module")
def probed_app(embedded_services: dict[str, str]) -> Litestar:
    application = create_app()
    application.register(failing_probe)
    return application


@pytest.fixture
async def probe_client(probed_app: Litestar) -> AsyncIterator[ApiClient]:
    async with ApiClient.for_app(probed_app) as client:
        yield client


async def _call_probe(client: ApiClient, capfd: pytest.CaptureFixture[str], **headers: str) -> tuple[str, list[Any]]:
    """Call the probe with a known request id; (that id, the log lines written meanwhile)."""
    request_id = f"test-{secrets.token_hex(6)}"
    capfd.readouterr()
    response = await client.get(PROBE_PATH, headers={"X-Request-ID": request_id, **headers})
    lines = json_lines(capfd.readouterr().out)
    assert response.status_code == 500, response.text
    assert response.json()["error"] == "INTERNAL_ERROR"
    assert response.headers["x-request-id"] == request_id
    assert {line["event"] for line in lines} == {"probe reached", "unhandled error"}
    error_line = next(line for line in lines if line["event"] == "unhandled error")
    assert error_line["level"] == "error"
    assert error_line["path"] == PROBE_PATH
    assert "ProbeError: probe failure" in error_line["exception"]
    return request_id, lines


@pytest.mark.parametrize("credential", ["session", "token"])
async def test_every_line_of_an_authenticated_request_carries_request_and_tenant(
    credential: str,
    tenants: TenantFactory,
    probe_client: ApiClient,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with tenants.create() as tenant:
        headers: dict[str, str] = {}
        if credential == "session":
            probe_client.cookies = tenant.client.cookies
        else:
            headers["Authorization"] = f"Bearer {(await tenant.create_token())['token']}"

        request_id, lines = await _call_probe(probe_client, capfd, **headers)

    for line in lines:
        assert line["request_id"] == request_id, line
        assert line["tenant_id"] == tenant.organization_id, line


async def test_an_anonymous_request_logs_its_request_id_and_no_tenant(
    probe_client: ApiClient,
    capfd: pytest.CaptureFixture[str],
) -> None:
    request_id, lines = await _call_probe(probe_client, capfd)

    for line in lines:
        assert line["request_id"] == request_id, line
        assert "tenant_id" not in line, line


async def test_a_request_id_is_the_clients_own_only_when_reasonable(probe_client: ApiClient) -> None:
    """A client's id goes into every log line and back in the answer: 10,000 characters or a control character
    are replaced by an id of ours."""
    kept, long, odd = [
        (await probe_client.get("/health", headers={"X-Request-ID": sent})).headers["x-request-id"]
        for sent in ("trace-0123456789abcdef", "x" * 10_000, "line\tbreak")
    ]
    assert kept == "trace-0123456789abcdef"
    assert len(long) == len(odd) == 16


async def test_a_worker_whose_redis_goes_away_stops_with_one_json_line(
    embedded_services: dict[str, str], separate_redis: EmbeddedRedis
) -> None:
    """A Redis restarted under a running worker: it ended in a plain-text traceback in the middle of the JSON log,
    then in an uncaught exception logged as critical, every time. It stops with one error line and status 1, for
    whatever runs it to start it again."""
    async with worker_process(env={"REDIS_URL": separate_redis.url}) as worker:
        separate_redis.stop()
        for _ in range(int(CRASH_SECONDS / 0.1)):  # its next poll meets the closed connection
            if not worker.running:
                break
            await asyncio.sleep(0.1)
        assert worker.returncode == 1, worker.output()
        output = worker.output()
    lines = json_lines(output)
    [stopped] = [line for line in lines if line["event"] == "redis cannot serve: the worker stops"]
    assert stopped["level"] == "error"
    assert "ConnectionError" in stopped["error"]
    assert [line for line in lines if line["level"] == "critical"] == []
    assert "Traceback" not in output


def test_an_uncaught_exception_ends_the_process_as_a_json_line() -> None:
    """What ends a process of Lantern's (a worker's bug, say) is written as one JSON line, not Python's plain-text
    traceback in the middle of the JSON log."""
    crashing = "from app.lib.logging import configure_logging; configure_logging('INFO'); raise RuntimeError('boom')"
    ended = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", crashing], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert ended.returncode == 1
    [crash] = json_lines(ended.stdout + ended.stderr)
    assert (crash["event"], crash["level"]) == ("uncaught exception", "critical")
    assert "RuntimeError: boom" in crash["exception"]


async def test_the_side_workers_stops_are_logged_as_what_happened(embedded_services: dict[str, str]) -> None:
    """The side queues' workers, stopped with the main worker, were logged as "shutdown on SIGUSR1": a signal
    nobody sent."""
    async with worker_process(env={"LANTERN_LOG_LEVEL": "INFO"}) as worker:
        assert worker.terminate() == 0, worker.output()
        events = [line["event"] for line in json_lines(worker.output())]
    assert any(event.startswith("shutdown on SIGTERM") for event in events), events
    for kind in ("image", "outbound"):
        assert any(event.startswith(f"{kind} worker stopped with the main worker ◆ ") for event in events), events
    assert not [event for event in events if "SIGUSR1" in event]


async def test_a_secret_sent_in_an_address_is_not_written_to_the_log(tenants: TenantFactory, tmp_path: Path) -> None:
    """An organization token sent where the widget's key goes is refused (404, "This is an organization
    token…"), and the request's log line wrote it whole: a reader of the logs could act as the organization.
    So was an invitation's token in a mistyped link."""
    log = tmp_path / "server.log"
    async with tenants.create() as tenant:
        token = (await tenant.create_token())["token"]
        invitation = f"lt_inv_{secrets.token_urlsafe(32)}"
        async with granian_server(1, log, LANTERN_LOG_LEVEL="INFO") as base_url, httpx.AsyncClient() as client:
            for path in (f"/api/v1/widget/config/{token}", f"/api/widget/config/{token}"):
                answer = await client.get(f"{base_url}{path}")
                assert answer.status_code == 404, answer.text
            await client.get(f"{base_url}/ui/invitations/{invitation}")
    written = log.read_text()
    logged = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    paths = [line["path"] for line in logged if line.get("event") == "request"]
    for expected in (
        "/api/v1/widget/config/lt_org_[redacted]",
        "/api/widget/config/lt_org_[redacted]",
        "/ui/invitations/lt_inv_[redacted]",
    ):
        assert expected in paths, paths
    assert token.removeprefix("lt_org_") not in written
    assert invitation.removeprefix("lt_inv_") not in written


async def test_every_answer_carries_the_request_id_also_one_no_route_made(probe_client: ApiClient) -> None:
    """The router's own answers (an address no route has, a path parameter it cannot read, a method the address
    does not serve) came before any middleware and carried no `X-Request-ID`, the client's own neither: a client
    tracing its requests lost exactly the refused ones."""
    sent = {"X-Request-ID": "trace-unrouted"}
    answers = [
        await probe_client.get("/api/v1/no-such-thing", headers=sent),
        await probe_client.get("/api/v1/projects/not-an-id", headers=sent),
        await probe_client.delete("/health", headers=sent),
        await probe_client.get("/ui/projects/not-an-id/try", headers=sent),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 405, 404]
    assert [answer.headers.get("x-request-id") for answer in answers] == ["trace-unrouted"] * len(answers)
    assert set(answers[2].headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
