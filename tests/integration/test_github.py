"""The GitHub integration: a project's managers connect it to a repository, and its team makes an issue from a
report, which the worker creates through GitHub's REST API and keeps as a link.

Real parts: the app in-process, a real worker in this loop, and a real HTTP server on 127.0.0.1 answering as
GitHub's API does (`POST /repos/{owner}/{repo}/issues` -> 201 with `number` and `html_url`), used as a GitHub
Enterprise server's API URL; so these tests allow private targets, except the one that checks the refusal.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select, text, update

from app.domain.integrations.models import GitHubConnection, GitHubIssue
from app.lib.database import alchemy_config
from app.ui.controllers.integrations import github_path
from tenants.context import system_scope
from tests.support.clients import BASE_URL, WIDGET_METADATA, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import member_of, owner_engine
from tests.support.locks import deletions, until_waiting_for
from tests.support.logs import json_lines
from tests.support.processes import worker_process
from tests.support.receiver import ReceivedRequest, Receiver
from tests.support.screenshots import numbered
from tests.support.server import free_port
from tests.support.worker import queued_jobs

TOKEN = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
DEADLINE_SECONDS = 15.0
REPORT = {
    "title": "Checkout button does nothing",
    "description": "Clicking Pay now has no effect.",
    "console_logs": [{"type": "error", "message": "Uncaught TypeError: cart is null"}],
    "reporter_identifier": "erin@outside.example",
}
GITHUB_BODY_LIMIT = 65_536  # characters (code points)
BODY_TOO_LONG = {
    "resource": "Issue",
    "code": "custom",
    "field": "body",
    "message": "body is too long (maximum is 65536 characters)",
}


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def enterprise_on_this_machine() -> Iterator[None]:
    with environment(LANTERN_ALLOW_PRIVATE_TARGETS="1", LANTERN_OUTBOUND_RETRY_SECONDS="0.2"):
        yield


def github(*answers: tuple[int, dict[str, Any]], held_until: asyncio.Event | None = None) -> Receiver:
    """GitHub's API on 127.0.0.1: answers in turn (the last repeats), each once `held_until` is set if given; a 201
    makes issue 41, 42, …; an issue whose body is longer than GitHub takes is refused as GitHub refuses it."""

    def respond(request: ReceivedRequest, index: int) -> tuple[int, Any]:
        if len(request.json()["body"]) > GITHUB_BODY_LIMIT:
            return 422, {"message": "Validation Failed", "errors": [BODY_TOO_LONG]}
        status, body = answers[min(index, len(answers) - 1)]
        if status == 201:
            number = 41 + index
            body = {"number": number, "html_url": f"https://github.example.com/acme/shop/issues/{number}", **body}
        return status, body

    return Receiver(path="/api/v3", respond=respond, held_until=held_until)


async def connected(tenant: Tenant, api_url: str, **setup: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project connected to acme/shop at `api_url`: (the project, the connection)."""
    project = await tenant.create_project("Shop", trackingPrefix="SHOP")
    body = {"repository": "acme/shop", "token": TOKEN, "apiUrl": api_url, "labels": ["bug", "from-lantern"], **setup}
    connection = _data(await tenant.client.put(_connection_url(project), json=body), 201)
    return project, connection


def _connection_url(project: dict[str, Any]) -> str:
    return f"/api/v1/projects/{project['id']}/integrations/github"


async def numbered_report(tenant: Tenant, project: dict[str, Any], anonymous: ApiClient) -> dict[str, Any]:
    created = _data(await anonymous.post("/api/v1/reports", json=REPORT, headers={"X-API-Key": project["apiKey"]}), 201)
    return await numbered(tenant, created["id"])


async def issue_when(tenant: Tenant, report_id: str, status: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        seen = _data(await tenant.client.get(f"/api/v1/reports/{report_id}/github-issue"))
        if seen["status"] == status:
            return seen
        if seen["status"] == "failed":  # for good: no need to wait out the deadline
            break
        await asyncio.sleep(0.05)
    msg = f"the issue did not become {status!r} (waited at most {DEADLINE_SECONDS} s): {seen}"
    raise AssertionError(msg)


async def test_a_put_that_connects_is_a_201_naming_the_connection_and_one_that_changes_it_a_200(
    tenants: TenantFactory,
) -> None:
    """A PUT that made the connection answered 200 with no `Location`, as a change does: RFC 9110 has a PUT that
    creates answer 201. In either mode it is now a 201 whose `Location` a GET reads it at (the JSON:API
    document's self link); sending it again changes it, a 200 without one."""
    body = {"repository": "acme/shop", "token": TOKEN}
    jsonapi = {"Accept": "application/vnd.api+json"}
    async with tenants.create() as tenant:
        native, project = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        made = await tenant.client.put(_connection_url(native), json=body)
        changed = await tenant.client.put(_connection_url(native), json=body)
        made_document = await tenant.client.put(_connection_url(project), json=body, headers=jsonapi)
        changed_document = await tenant.client.put(_connection_url(project), json=body, headers=jsonapi)
        read = await tenant.client.get(made.headers.get("location", "/nowhere"))
    assert (made.status_code, changed.status_code) == (201, 200), (made.text, changed.text)
    assert (made_document.status_code, changed_document.status_code) == (201, 200), made_document.text
    assert (read.status_code, read.json()["data"]["projectId"]) == (200, native["id"])
    assert made_document.headers["location"] == BASE_URL + _connection_url(project)
    assert made.headers["location"] == BASE_URL + _connection_url(native)
    assert made_document.json()["links"]["self"] == BASE_URL + _connection_url(project)
    assert "location" not in changed.headers
    assert "location" not in changed_document.headers


async def test_managers_connect_change_and_disconnect_a_project(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant:
        project, connection = await connected(tenant, "https://github.example.com/api/v3/")
        assert connection == {
            **connection,
            "projectId": project["id"],
            "repository": "acme/shop",
            "apiUrl": "https://github.example.com/api/v3",
            "tokenHint": "…wxyz",
            "labels": ["bug", "from-lantern"],
        }
        assert TOKEN not in str(connection)
        url = _connection_url(project)
        assert _data(await tenant.client.get(url)) == connection

        # Sent again without a token, for the same API: the stored one stays.
        same_api = {"repository": "acme/web", "apiUrl": "https://github.example.com/api/v3"}
        changed = _data(await tenant.client.put(url, json=same_api))
        assert (changed["repository"], changed["apiUrl"], changed["tokenHint"]) == (
            "acme/web",
            "https://github.example.com/api/v3",
            "…wxyz",
        )
        # Another API (github.com is the default) takes the token anew: the stored one would go to its server.
        elsewhere = _error(await tenant.client.put(url, json={"repository": "acme/web"}), 400, "VALIDATION_ERROR")
        assert elsewhere["details"] == [
            {"field": "token", "message": "Enter the token again to use it with another GitHub address."}
        ]
        moved = _data(await tenant.client.put(url, json={"repository": "acme/web", "token": TOKEN}))
        assert (moved["apiUrl"], moved["tokenHint"]) == ("https://api.github.com", "…wxyz")
        async with owner_engine() as database, database.connect() as connection_to_db:
            sealed = (await connection_to_db.execute(text("SELECT token_sealed FROM github_connection"))).scalars()
            assert all(TOKEN not in value for value in sealed), "the token is stored sealed"

        async with member_of(tenant, app) as member:
            assert _data(await member.get(url))["repository"] == "acme/web"
            _error(await member.put(url, json={"repository": "acme/other"}), 403, "FORBIDDEN")
            _error(await member.delete(url), 403, "FORBIDDEN")
        async with member_of(tenant, app, role="guest") as guest:
            # A project a guest was not added to is one they do not see: not found, as its own address is.
            _error(await guest.get(url), 404, "NOT_FOUND")
            guest_id = _data(await guest.get("/api/v1/auth/me"))["user"]["id"]
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
            _data(added, 201)
            _error(await guest.get(url), 403, "FORBIDDEN")

        assert (await tenant.client.delete(url)).status_code == 204
        _error(await tenant.client.get(url), 404, "NOT_FOUND")


@pytest.mark.parametrize("user", ["ci:hunter2", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"])
async def test_an_address_saved_with_a_user_before_they_were_refused_shows_none(
    tenants: TenantFactory, user: str
) -> None:
    """An API address with a user (and password, or a token as the user, as git takes one) is refused now; one saved
    before is shown without them, by the API and on the connection's page (they are never sent: the token's
    header is), and sent back as shown it keeps the token."""
    async with tenants.create() as tenant:
        project, _connection = await connected(tenant, "https://git.acme.example/api/v3")
        async with owner_engine() as database, database.begin() as connection_to_db:
            saved = f"https://{user}@git.acme.example/api/v3"
            project_id = UUID(project["id"])
            await connection_to_db.execute(
                update(GitHubConnection).where(GitHubConnection.project_id == project_id).values(api_url=saved)
            )
        shown = _data(await tenant.client.get(_connection_url(project)))["apiUrl"]
        assert shown == "https://git.acme.example/api/v3"
        page = await tenant.client.get(github_path(project_id))
        assert page.status_code == 200, page.text
        assert user.rsplit(":", maxsplit=1)[-1] not in page.text
        assert page.text.count("https://git.acme.example/api/v3") == 2  # the connection, and its form's field
        kept = _data(
            await tenant.client.put(_connection_url(project), json={"repository": "acme/shop", "apiUrl": shown})
        )
        assert (kept["apiUrl"], kept["tokenHint"]) == (shown, "…wxyz")


async def test_a_connection_is_checked_field_by_field(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        url = _connection_url(project)
        cases = [
            ({"repository": "acme/shop"}, "token"),  # the first connection needs a token
            ({"repository": "acme/shop", "token": "   "}, "token"),  # spaces are none (they replaced the stored one)
            ({"repository": "not a repository", "token": TOKEN}, "repository"),
            ({"repository": "acme/shop", "token": TOKEN, "apiUrl": "ftp://github.example.com"}, "apiUrl"),
            ({"repository": "acme/shop", "token": TOKEN, "apiUrl": "https://[::1/x"}, "apiUrl"),  # was a 500
            ({"repository": "acme/shop", "token": TOKEN, "labels": [""]}, "labels"),
            ({"repository": "acme/shop", "token": TOKEN, "owner": "acme"}, "owner"),
        ]
        for body, field in cases:
            refused = _error(await tenant.client.put(url, json=body), 400, "VALIDATION_ERROR")
            assert field in refused["details"][0]["field"], (body, refused)
        # Refused with the repository, the address is named too: it was heard of one send later.
        body = {"repository": "not a repository", "token": TOKEN, "apiUrl": "ftp://github.example.com"}
        both = _error(await tenant.client.put(url, json=body), 400, "VALIDATION_ERROR")
        assert sorted(detail["field"] for detail in both["details"]) == ["apiUrl", "repository"], both
        # An empty label is one left empty, not a field left out ("This field is required." said).
        empty = _error(await tenant.client.put(url, json={"repository": "acme/shop", "labels": ["bug", ""]}), 400,
                       "VALIDATION_ERROR")  # fmt: skip
        assert empty["details"] == [{"field": "labels[1]", "message": "Must not be empty."}]
        # A user or password in the address: the token signs in, and the connection would show them to its readers.
        for address in ("https://ci:secret@github.example.com/api/v3", "https://ci@github.example.com/api/v3"):
            body = {"repository": "acme/shop", "token": TOKEN, "apiUrl": address}
            refused = _error(await tenant.client.put(url, json=body, headers={"Accept-Language": "de"}), 400,
                             "VALIDATION_ERROR")  # fmt: skip
            message = (
                "Eine GitHub-API-Adresse enthält keinen Benutzernamen und kein Passwort: Angemeldet wird mit dem Token."
            )
            assert refused["details"] == [{"field": "apiUrl", "message": message}], refused
        pasted = await tenant.client.put(url, json={"repository": "acme/shop", "token": f" {TOKEN}\n"})
        assert pasted.json()["data"]["tokenHint"] == f"…{TOKEN[-4:]}"  # the line end pasted with it is dropped
        with environment(LANTERN_ALLOW_PRIVATE_TARGETS=None):
            body = {"repository": "acme/shop", "token": TOKEN, "apiUrl": "http://10.1.2.3/api/v3"}
            refused = _error(await tenant.client.put(url, json=body), 400, "VALIDATION_ERROR")
            assert refused["details"][0]["field"] == "apiUrl"
        _error(await tenant.client.put("/api/v1/projects/00000000-0000-0000-0000-000000000000/integrations/github",
                                       json={"repository": "acme/shop", "token": TOKEN}), 404, "NOT_FOUND")  # fmt: skip


async def test_an_issue_is_made_once_in_the_organizations_language(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any, app: Any
) -> None:
    async with tenants.create() as tenant, github((201, {})) as server:
        _data(await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "de"}))
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)

        asked = await tenant.client.post(f"/api/v1/reports/{report['trackingId']}/github-issue")
        assert asked.status_code == 202, asked.text
        assert asked.json()["data"]["status"] in {"pending", "created"}
        issue = await issue_when(tenant, report["id"], "created")
        assert issue == {
            **issue,
            "reportId": report["id"],
            "repository": "acme/shop",
            "number": 41,
            "url": "https://github.example.com/acme/shop/issues/41",
            "attempts": 1,
            "error": None,
        }
        again = await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")
        assert (again.status_code, again.json()["data"]["number"]) == (200, 41)
        # JSON:API mode, as on every item: it answered the envelope.
        document = await tenant.client.get(
            f"/api/v1/reports/{report['trackingId']}/github-issue", headers={"Accept": "application/vnd.api+json"}
        )
        resource = document.json()["data"]
        assert (resource["type"], resource["id"], resource["attributes"]["number"]) == ("githubIssue", report["id"], 41)
        read = _data(await tenant.client.get(f"/api/v1/reports/{report['id']}"))
        listed = _data(await tenant.client.get(f"/api/v1/reports?projectId={project['id']}"))["items"]
        _data(await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"guestsSeeGuests": True}))
        async with member_of(tenant, app, role="guest") as guest:
            guest_id = _data(await guest.get("/api/v1/auth/me"))["user"]["id"]
            added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": guest_id})
            _data(added, 201)
            seen_by_guest = _data(await guest.get(f"/api/v1/reports/{report['id']}"))

    # the report shows its issue wherever it is read; one without an issue shows null
    link = {"status": "created", "number": 41, "url": "https://github.example.com/acme/shop/issues/41"}
    assert read["githubIssue"] == link
    assert [item["githubIssue"] for item in listed] == [link]
    assert report["githubIssue"] is None
    assert seen_by_guest["githubIssue"] is None  # the issue is the team's, as its own route is

    [request] = server.requests  # one report, one issue
    assert (request.method, request.path) == ("POST", "/api/v3/repos/acme/shop/issues")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    sent = request.json()
    assert sent["title"] == f"[{report['trackingId']}] {REPORT['title']}"
    assert sent["labels"] == ["bug", "from-lantern"]
    assert REPORT["description"] in sent["body"]
    assert "**Schweregrad:** Mittel" in sent["body"], sent["body"]  # the organization's language: German
    assert "erin@outside.example" not in sent["body"]  # an issue may be public: the visitor's address stays here
    assert "<summary>1 Konsolenfehler</summary>" in sent["body"]
    assert "Uncaught TypeError: cart is null" in sent["body"]
    assert report["trackingId"] in sent["body"]
    # The link is to the report's page for a person, not to the API's JSON.
    assert f"/ui/reports/{report['trackingId']})" in sent["body"], sent["body"]


async def test_a_visitors_text_is_text_in_the_issue(tenants: TenantFactory, anonymous: ApiClient, worker: Any) -> None:
    """Visitors' words went into the issue as Markdown: anyone could mention the team's people (GitHub notifies
    them), reference other issues, add images and links, or close the console block and write their own lines."""
    hostile = {
        **REPORT,
        "description": "Ping @octocat and @acme/security about #1 and GH-2 <img src=https://evil.example/p.png> "
        "[login](https://evil.example) from erin@outside.example",
        "console_logs": [{"type": "error", "message": "```\n</details>\nReported with Lantern as [X](https://evil)"}],
    }
    async with tenants.create() as tenant, github((201, {})) as server:
        project, _connection = await connected(tenant, server.url)
        created = await anonymous.post("/api/v1/reports", json=hostile, headers={"X-API-Key": project["apiKey"]})
        report_id = _data(created, 201)["id"]
        assert (await tenant.client.post(f"/api/v1/reports/{report_id}/github-issue")).status_code == 202
        await issue_when(tenant, report_id, "created")
    sent = server.requests[0].json()["body"]
    joiner = "\N{WORD JOINER}"
    assert f"Ping @{joiner}octocat and @{joiner}acme/security about #{joiner}1 and GH-{joiner}2 &lt;img" in sent, sent
    assert f"\\[login\\](https{joiner}://evil.example)" in sent  # not even GitHub's autolink of an address
    assert "erin@outside.example" in sent  # an address is no mention: left as written
    block = sent.split("<details>", 1)[1]
    assert block.count("````") == 2, block  # a fence longer than the three backticks inside
    assert block.rstrip().endswith("</details>")


async def test_the_pages_custom_data_is_in_the_issue_as_written(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """What the embedding page told the widget (`Lantern.setCustomData`: the user's plan, an order number) was on
    the report's page but not in its issue, where the developer reads it. It is now a JSON block under a heading
    in the organization's language, keys sorted; a value's pipes, backticks, HTML or fences are shown as written
    and cannot end the block or break the body around it."""
    custom = {
        "plan": "Pro | <b>annual</b>",
        "note": "```\n</details>\n@octocat `cart` | [x](https://evil.example)",
        "orderId": 1234,
        "beta": True,
    }
    submission = {"title": "Checkout button does nothing", "metadata": {**WIDGET_METADATA, "custom": custom}}
    async with tenants.create() as tenant, github((201, {})) as server:
        _data(await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "ja"}))
        project, _connection = await connected(tenant, server.url)
        sent = await anonymous.post("/api/v1/widget/submit", json=submission, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        report_id = sent.json()["reportId"]
        assert (await tenant.client.post(f"/api/v1/reports/{report_id}/github-issue")).status_code == 202
        await issue_when(tenant, report_id, "created")
    issue = server.requests[0].json()["body"]
    # Japanese's full-width colon; a fence longer than the page's three backticks.
    heading = "**カスタムデータ：**\n\n````json\n"  # noqa: RUF001
    assert heading in issue, issue
    block, after = issue.split(heading, 1)[1].split("\n````\n", 1)
    assert json.loads(block) == custom
    assert [line.split('"')[1] for line in block.splitlines()[1:-1]] == ["beta", "note", "orderId", "plan"]
    assert after.lstrip().startswith("Lantern"), after  # the body goes on after the block, unbroken


async def test_a_report_at_every_limit_is_shortened_to_an_issue_github_takes(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """The longest description, console errors as long as the widget sends and the page's custom data in full made
    a body past the 65,536 characters GitHub takes: it refused the issue ("body is too long"), every time it was
    asked. The longest parts are shortened until the body fits, which says so and links to the whole report; its
    code blocks are still closed, each by its own fence."""
    console = [{"type": "error", "message": f"````{index} " + "x" * 9_990} for index in range(50)]
    custom = {f"{index:02}{'k' * 98}": '"' * 1_000 for index in range(50)}  # each quote is two characters in JSON
    submission = {
        "title": "Checkout button does nothing",
        "description": "<&" * 10_000,  # as text, `&lt;&amp;`: 90,000 characters
        "metadata": {**WIDGET_METADATA, "consoleErrors": console, "custom": custom},
    }
    async with tenants.create() as tenant, github((201, {})) as server:
        project, _connection = await connected(tenant, server.url)
        sent = await anonymous.post("/api/v1/widget/submit", json=submission, headers={"X-API-Key": project["apiKey"]})
        assert sent.status_code == 201, sent.text
        report = await numbered(tenant, sent.json()["reportId"])
        assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
        await issue_when(tenant, report["id"], "created")
    issue = server.requests[0].json()["body"]
    assert len(issue) <= GITHUB_BODY_LIMIT
    link = f"[{report['trackingId']}]({BASE_URL}/ui/reports/{report['trackingId']})"
    assert issue.startswith(
        f"This issue is shortened to fit GitHub's limit on its length: the whole report is at {link}."
    )
    assert f"Reported with Lantern as {link}." in issue
    assert "&lt;&amp;&lt;&amp;" in issue
    assert [info for info, _content in _code_blocks(issue)] == ["json", ""]
    assert issue.rstrip().endswith("</details>"), issue[-200:]


def _code_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced code blocks of `markdown` as (info string, content): each must be closed, as CommonMark closes
    one, by a line of only backticks at least as many as its opening fence's."""
    blocks: list[tuple[str, str]] = []
    lines = iter(markdown.splitlines())
    for line in lines:
        if not line.startswith("```"):
            continue
        info = line.lstrip("`")
        fence = line[: len(line) - len(info)]
        content = []
        for inside in lines:
            if inside.startswith(fence) and not inside.strip("`"):
                break
            content.append(inside)
        else:
            raise AssertionError(f"a block opened by {line[:20]!r} is never closed")
        blocks.append((info, "\n".join(content)))
    return blocks


async def test_a_refusal_fails_with_githubs_words_and_asking_again_retries(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    refusal = (422, {"message": "Validation Failed", "documentation_url": "https://docs.github.com"})
    async with tenants.create() as tenant, github(refusal, (201, {})) as server:
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        issue_url = f"/api/v1/reports/{report['id']}/github-issue"
        capfd.readouterr()
        assert (await tenant.client.post(issue_url)).status_code == 202
        failed = await issue_when(tenant, report["id"], "failed")
        assert failed["attempts"] == 1, "a refusal is final: no retry"
        # The operator reads why in the log (arq's line said "failed" alone), and no token.
        [logged] = [
            line
            for line in json_lines(capfd.readouterr().out)
            if line["event"] == "github issue failed" and line.get("tenant_id") == tenant.organization_id
        ]
        assert "422 Validation Failed" in logged["error"]
        assert TOKEN not in str(logged)
        assert failed["error"].startswith("GitHub refused to create the issue."), failed
        assert "422 Validation Failed" in failed["error"]
        in_japanese = _data(await tenant.client.get(f"{issue_url}?lang=ja"))
        assert in_japanese["error"] != failed["error"]

        assert (await tenant.client.post(issue_url)).status_code == 202  # asked again after the failure
        created = await issue_when(tenant, report["id"], "created")
        assert (created["number"], created["error"]) == (42, None)
    assert len(server.requests) == 2


async def test_githubs_own_trouble_is_retried(tenants: TenantFactory, anonymous: ApiClient, worker: Any) -> None:
    async with tenants.create() as tenant, github((502, {"message": "Server Error"}), (201, {})) as server:
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
        created = await issue_when(tenant, report["id"], "created")
        assert (created["attempts"], created["number"]) == (2, 42)
    assert len(server.requests) == 2


async def test_the_reports_page_says_an_issue_is_retried_and_why_and_when_it_was_given_up(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """The page said "The issue is being created…" through every failed attempt, the error recorded in the API
    alone. It says why it is tried again and when; once given up, why, with a way to try again."""
    unreachable = f"http://127.0.0.1:{free_port()}/api/v3"  # nothing listens there
    refusal = (401, {"message": "Bad credentials"})
    async with tenants.create() as tenant, github(refusal, (201, {})) as server:
        retried_project, _connection = await connected(tenant, unreachable)
        retried = await numbered_report(tenant, retried_project, anonymous)
        assert (await tenant.client.post(f"/api/v1/reports/{retried['id']}/github-issue")).status_code == 202
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not (seen := _data(await tenant.client.get(f"/api/v1/reports/{retried['id']}/github-issue")))["error"]:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.05)
        retrying = await tenant.client.get(f"/ui/reports/{retried['trackingId']}?lang=de")

        refused_project = await tenant.create_project("Blog", trackingPrefix="BLOG")
        setup = {"repository": "acme/blog", "token": TOKEN, "apiUrl": server.url}
        _data(await tenant.client.put(_connection_url(refused_project), json=setup), 201)
        refused = await numbered_report(tenant, refused_project, anonymous)
        assert (await tenant.client.post(f"/api/v1/reports/{refused['id']}/github-issue")).status_code == 202
        await issue_when(tenant, refused["id"], "failed")
        given_up = await tenant.client.get(f"/ui/reports/{refused['trackingId']}?lang=en")
        again = await tenant.client.post(f"/ui/reports/{refused['trackingId']}/github-issue")
        assert again.status_code == 303, again.text
        created = await issue_when(tenant, refused["id"], "created")
        # Its later attempts (seconds to minutes away) must not call out during other tests.
        assert (await tenant.client.delete(_connection_url(retried_project))).status_code == 204
    assert retrying.status_code == 200
    github_section = retrying.text[retrying.text.index('<section id="github"') :]
    assert "Das Issue wird erstellt" not in github_section
    assert "Das Ziel hat die Verbindung abgelehnt" in github_section
    assert "Lantern versucht es" in github_section
    assert "data-pending" in github_section[: github_section.index(">")]  # the page keeps asking how it went
    github_section = given_up.text[given_up.text.index('<section id="github"') :]
    assert "The issue could not be created (1 attempt): GitHub refused to create the issue." in github_section
    assert "Bad credentials" in github_section
    assert ">Try again</button>" in github_section
    assert created["number"] == 42


async def test_githubs_rate_limit_is_waited_out(tenants: TenantFactory, anonymous: ApiClient, worker: Any) -> None:
    """A primary rate limit says when it resets; retrying before then only spends another refusal."""
    limited = (403, {"message": "API rate limit exceeded for user ID 1."})
    async with tenants.create() as tenant, github(limited, (201, {})) as server:
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        reset = int(time.time()) + 3  # GitHub's reset is a Unix time in whole seconds: 2 to 3 s from now
        server.answer_headers = [{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}]
        assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
        created = await issue_when(tenant, report["id"], "created")
        assert (created["attempts"], created["number"]) == (2, 42)
    _first, second = server.requests
    second_arrived_at = time.time() - (time.monotonic() - second.received_at)
    assert second_arrived_at >= reset - 0.05, "retried before the rate limit's reset"


async def test_a_validation_failure_names_what_github_found_wrong(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """GitHub's 422 says which field it refused in `errors`; "Validation Failed" alone left nothing to fix."""
    invalid = {"resource": "Issue", "code": "invalid", "field": "labels"}
    too_long = {"resource": "Issue", "code": "custom", "field": "body", "message": "body is too long"}
    refusal = (422, {"message": "Validation Failed", "errors": [invalid, too_long, "assignee missing"]})
    async with tenants.create() as tenant, github(refusal) as server:
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
        failed = await issue_when(tenant, report["id"], "failed")
    assert "422 Validation Failed (labels invalid; body is too long; assignee missing)" in failed["error"], failed


async def test_an_unconnected_project_and_an_unreadable_token_are_explained(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    async with tenants.create() as tenant, github((201, {})) as server:
        lonely = await tenant.create_project("Blog", trackingPrefix="BLOG")
        report = await numbered_report(tenant, lonely, anonymous)
        _error(await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue"), 409, "CONFLICT")
        _error(await tenant.client.get(f"/api/v1/reports/{report['id']}/github-issue"), 404, "NOT_FOUND")

        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        # The operator changed LANTERN_SECRET_KEY: tokens sealed with the old key cannot be read.
        with environment(LANTERN_SECRET_KEY="another secret key, set after the token was stored"):
            assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
            failed = await issue_when(tenant, report["id"], "failed")
        assert failed["error"] == "The stored GitHub token can no longer be read: enter it again."
    assert server.requests == []


async def test_an_issue_address_that_is_no_web_address_is_not_kept(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """The issue's address becomes a link on the report's page: a `javascript:` one from the API server (a
    GitHub Enterprise address is the organization's to set) would run in the page of whoever clicked it."""
    async with tenants.create() as tenant, github((201, {"html_url": "javascript:alert(document.cookie)"})) as server:
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        assert (await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue")).status_code == 202
        created = await issue_when(tenant, report["id"], "created")
    assert (created["number"], created["url"]) == (41, None)


async def test_an_issue_made_for_a_report_deleted_meanwhile_ends_the_job_quietly(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The issue's row went with its report while GitHub made the issue: recording it met no row (StaleDataError),
    and the job failed with a traceback in the worker's log. Nothing is left to record or to try again; the log says
    where the issue is, for someone to close it."""
    answered = asyncio.Event()
    async with (
        tenants.create() as tenant,
        github((201, {}), held_until=answered) as server,
        worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process,
    ):
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)
        _data(await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue"), 202)
        issue_id = await issue_of(report["id"])
        await server.wait_for(1)
        assert (await tenant.client.delete(f"/api/v1/reports/{report['id']}")).status_code == 204
        answered.set()
        ended = await process.job_ended(f"github-issue:{issue_id}:")
        log = process.output()
    assert " ● " in ended["event"], log  # done, not failed
    assert "StaleDataError" not in log, log
    assert not [line for line in json_lines(log) if "exception" in line], log  # no traceback
    told = [line for line in json_lines(log) if line.get("issue_id") == issue_id]
    assert [(line["event"], line["level"], line["url"]) for line in told] == [
        (
            "github issue dropped: its report was deleted meanwhile",
            "info",
            "https://github.example.com/acme/shop/issues/41",
        )
    ], log
    assert await queued_jobs("create_github_issue", naming=issue_id) == []


DELETES = deletions("report")  # what may go of the rows an issue's attempt reads


@pytest.mark.parametrize("deleted", list(DELETES))
async def test_an_issue_whose_report_is_deleted_as_it_is_claimed_ends_quietly(
    tenants: TenantFactory, anonymous: ApiClient, is_postgres: bool, deleted: str
) -> None:
    """The attempt claimed its issue (committed), then read it and its report: a deletion committed in between made
    it fail with a NoResultFound traceback. The job is stopped at its read of the report (the table held by the
    test, which deletes the report meanwhile): now the claim reads what it needs in its own statement, finds nothing
    to make, and ends done; GitHub is not called. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with (
        tenants.create() as tenant,
        github((201, {})) as server,
        worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process,
    ):
        project, _connection = await connected(tenant, server.url)
        report = await numbered_report(tenant, project, anonymous)  # numbered by the worker, stopped next
        process.terminate()
        _data(await tenant.client.post(f"/api/v1/reports/{report['id']}/github-issue"), 202)
        issue_id = await issue_of(report["id"])
        async with owner_engine() as engine, engine.connect() as holding:
            await holding.execute(text("LOCK TABLE report IN ACCESS EXCLUSIVE MODE"))
            await process.start()
            await until_waiting_for(holding, "report", past="github_issue")
            await holding.execute(text(DELETES[deleted]), {"id": UUID(report["id"])})
            await holding.commit()
        ended = await process.job_ended(f"github-issue:{issue_id}:")
        log = process.output()
    assert " ● " in ended["event"], log  # done, not failed
    assert "NoResultFound" not in log, log
    assert not [line for line in json_lines(log) if "exception" in line], log  # no traceback
    assert not [line for line in json_lines(log) if line.get("issue_id") == issue_id], log
    assert server.requests == []
    assert await queued_jobs("create_github_issue", naming=issue_id) == []


async def issue_of(report_id: str) -> str:
    """The id of the report's issue row, which names the issue's job (`github-issue:<id>:<attempts>`) and its log
    lines: a worker's sweeper also runs other tests' pending issues of the suite's database."""
    async with alchemy_config().get_session() as session:
        with system_scope("test"):
            issue_id = await session.scalar(select(GitHubIssue.id).where(GitHubIssue.report_id == UUID(report_id)))
    assert issue_id is not None
    return str(issue_id)
