"""What a request's body may be, checked before the handler acts: none where a route reads none, a DELETE's like any
other's, no content coding, and a link's JSON within the JSON limit."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx

from tests.support.clients import PASSWORD, WIDGET_METADATA, ApiClient, Tenant, TenantFactory

TAKES_NO_BODY = "This request takes no body: send none, or an empty JSON object."
NOT_ALLOWED = "This field is not allowed."
HOOK = {"url": "https://hooks.example.com/lantern", "events": ["report.created"]}


async def _webhook(tenant: Tenant) -> dict[str, Any]:
    created = await tenant.client.post("/api/v1/webhooks", json=HOOK)
    assert created.status_code == 201, created.text
    return created.json()["data"]  # type: ignore[no-any-return]


async def _keys(tenant: Tenant, project_id: str) -> list[str]:
    listed = await tenant.client.get(f"/api/v1/projects/{project_id}/keys")
    assert listed.status_code == 200, listed.text
    return sorted(key["id"] for key in listed.json()["data"])


def _refusal(answer: httpx.Response) -> tuple[int, str, list[dict[str, str]]]:
    body = answer.json()
    return answer.status_code, body["error"], body["details"]


async def test_a_route_that_reads_no_body_refuses_one_before_it_acts(tenants: TenantFactory) -> None:
    """`POST …/secret` with `junk` as text/plain, or with `{"zzz": 1}`, rotated the secret: a route without a body
    ignored whatever was sent. It takes none, an empty one, `{}` or `null` now; anything else is refused, and nothing
    done."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        hook = await _webhook(tenant)
        secret = f"/api/v1/webhooks/{hook['id']}/secret"
        keys = f"/api/v1/projects/{project['id']}/keys"
        before = await _keys(tenant, project["id"])
        junk = await tenant.client.post(secret, content=b"junk", headers={"Content-Type": "text/plain"})
        german = await tenant.client.post(
            secret, content=b"junk", headers={"Content-Type": "text/plain", "Accept-Language": "de"}
        )
        fields = await tenant.client.post(secret, json={"zzz": 1, "secret": "whsec_mine"})
        not_an_object = await tenant.client.post(secret, json=[1])
        new_key = await tenant.client.post(keys, json={"name": "mine"})
        revoked = await tenant.client.request(
            "DELETE", f"{keys}/{before[0]}", content=b'{"reason": "old"}', headers={"Content-Type": "application/json"}
        )
        ping = await tenant.client.post(f"/api/v1/webhooks/{hook['id']}/ping", content=b"junk")
        untouched = await tenant.client.get(f"/api/v1/webhooks/{hook['id']}")
        deliveries = await tenant.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries")
        after = await _keys(tenant, project["id"])
        rotations = [
            await tenant.client.post(secret),
            await tenant.client.post(secret, json={}),
            await tenant.client.post(secret, content=b" \r\n", headers={"Content-Type": "text/plain"}),
            await tenant.client.post(secret, content=b"{ }", headers={"Content-Type": "application/vnd.api+json"}),
            # JSON's null: what Go, Ruby and JSON.stringify send for a nil body (it was a 400 for a while).
            await tenant.client.post(secret, content=b"null", headers={"Content-Type": "application/json"}),
        ]
        invited = await tenant.client.post(
            "/api/v1/organization/members", json={"email": f"late-{uuid4().hex[:8]}@example.com"}
        )
        # A media type's parameter says nothing of a body not sent (it was a 415 for a while).
        invited_again = await tenant.client.post(
            f"/api/v1/organization/members/{invited.json()['data']['member']['id']}/invitation",
            headers={"Content-Type": "application/vnd.api+json; charset=utf-8"},
        )
        rotated = await tenant.client.get(f"/api/v1/webhooks/{hook['id']}")
    assert _refusal(junk) == (415, "UNSUPPORTED_MEDIA_TYPE", [{"field": "body", "message": TAKES_NO_BODY}])
    assert junk.json()["message"] == TAKES_NO_BODY
    assert german.json()["message"] == (
        "Diese Anfrage nimmt keinen Anfragetext an: Senden Sie keinen oder ein leeres JSON-Objekt."
    )
    assert _refusal(fields) == (
        400,
        "VALIDATION_ERROR",
        [{"field": "zzz", "message": NOT_ALLOWED}, {"field": "secret", "message": NOT_ALLOWED}],
    )
    assert _refusal(not_an_object) == (400, "VALIDATION_ERROR", [{"field": "body", "message": TAKES_NO_BODY}])
    assert _refusal(new_key) == (400, "VALIDATION_ERROR", [{"field": "name", "message": NOT_ALLOWED}])
    assert _refusal(revoked) == (400, "VALIDATION_ERROR", [{"field": "reason", "message": NOT_ALLOWED}])
    assert _refusal(ping)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert untouched.json()["data"]["updatedAt"] == hook["updatedAt"] != rotated.json()["data"]["updatedAt"]
    assert deliveries.json()["data"] == []
    assert after == before
    assert [answer.status_code for answer in rotations] == [200] * 5, [answer.text for answer in rotations]
    secrets = {hook["secret"], *(answer.json()["data"]["secret"] for answer in rotations)}
    assert len(secrets) == 6
    assert invited_again.status_code == 200, invited_again.text


async def test_a_body_over_the_limit_to_a_route_that_reads_none_is_a_413_before_it_acts(
    tenants: TenantFactory, app: Any
) -> None:
    """A 2 MB body to `…/invitation` replaced the invitation and got its 201 (with the connection closed under a
    server): a 413 now, however the body is sent, and the invitation's link still works."""
    async with tenants.create() as tenant:
        email = "late@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": "member"})
        assert invited.status_code == 201, invited.text
        member = invited.json()["data"]["member"]["id"]
        url = f"/api/v1/organization/members/{member}/invitation"
        padded = json.dumps({"padding": "x" * 2 * 1024 * 1024}).encode()

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is met while reading
            for start in range(0, len(padded), 65536):
                yield padded[start : start + 65536]

        declared = await tenant.client.post(url, content=padded, headers={"Content-Type": "application/json"})
        streamed = await tenant.client.post(url, content=chunks(), headers={"Content-Type": "application/json"})
        async with ApiClient.for_app(app) as newcomer:
            accepted = await newcomer.post(
                "/api/v1/auth/invitations/accept",
                json={"token": invited.json()["data"]["invitationToken"], "password": PASSWORD},
            )
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["message"] == "The request body is too large: at most 1 MB."
    assert accepted.status_code == 200, accepted.text


async def test_a_delete_that_carries_a_body_is_checked_as_any_other(tenants: TenantFactory) -> None:
    """`DELETE /auth/me` with its password as text/plain deleted the account: a DELETE's body skipped the content
    type check. A DELETE without a body is fine, whatever its Content-Type says."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        password = json.dumps({"password": PASSWORD}).encode()
        as_text = await tenant.client.request(
            "DELETE", "/api/v1/auth/me", content=password, headers={"Content-Type": "text/plain"}
        )
        still_there = await tenant.client.get("/api/v1/auth/me")
        bodiless = await tenant.client.request(
            "DELETE", f"/api/v1/projects/{project['id']}", headers={"Content-Type": "application/json"}
        )
        deleted = await tenant.client.request(
            "DELETE", "/api/v1/auth/me", content=password, headers={"Content-Type": "application/json"}
        )
    assert _refusal(as_text)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE"), as_text.text
    assert as_text.json()["details"] == [{"field": "Content-Type", "message": "Send the body as application/json."}]
    assert still_there.status_code == 200, still_there.text
    assert bodiless.status_code == 204, bodiless.text
    assert deleted.status_code == 204, deleted.text


async def test_a_body_in_a_content_coding_is_a_415_that_names_identity(tenants: TenantFactory) -> None:
    """`Content-Encoding: br` on plain JSON made the project; a real gzip body was "not valid JSON". Lantern reads
    no content coding: a 415 naming the header, with `Accept-Encoding: identity` (RFC 9110, 15.5.16)."""
    body = json.dumps({"name": "Coded"}).encode()
    async with tenants.create() as tenant:
        named_only = await tenant.client.post(
            "/api/v1/projects", content=body, headers={"Content-Type": "application/json", "Content-Encoding": "br"}
        )
        gzipped = await tenant.client.post(
            "/api/v1/projects",
            content=gzip.compress(body),
            headers={"Content-Type": "application/json", "Content-Encoding": "identity, GZIP", "Accept-Language": "ja"},
        )
        projects = await tenant.client.get("/api/v1/projects")
        identity = await tenant.client.post(
            "/api/v1/projects",
            content=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "identity"},
        )
        bodiless = await tenant.client.post(
            f"/api/v1/webhooks/{(await _webhook(tenant))['id']}/secret", headers={"Content-Encoding": "gzip"}
        )
    assert _refusal(named_only) == (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        [
            {
                "field": "Content-Encoding",
                "message": "The content coding br is not supported: send the body without Content-Encoding.",
            }
        ],
    )
    assert named_only.headers["accept-encoding"] == "identity"
    assert _refusal(gzipped)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert gzipped.json()["details"] == [
        {
            "field": "Content-Encoding",
            "message": "コンテンツエンコーディング gzip には対応していません。"
            "リクエスト本文は Content-Encoding なしで送信してください。",
        }
    ]
    assert projects.json()["data"] == []
    assert identity.status_code == 201, identity.text
    assert bodiless.status_code == 200, bodiless.text


async def test_a_links_json_takes_at_most_what_any_json_body_takes(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The attachments' route takes 11 MB for a file; a link's JSON took all of it (an 11 MB body was parsed and
    answered with field errors). Over 1 MB it is a 413 that says so."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        filed = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout broken"}, headers={"X-API-Key": project["apiKey"]}
        )
        assert filed.status_code == 201, filed.text
        url = f"/api/v1/reports/{filed.json()['data']['id']}/attachments"
        link = {"url": "https://example.com/trace.txt", "name": "trace.txt", "padding": "x" * 10 * 1000 * 1000}
        large = await tenant.client.post(url, json=link)
        listed = await tenant.client.get(url)
    assert large.status_code == 413, large.text
    assert large.json()["message"] == "The request body is too large: at most 1 MB."
    assert listed.json()["data"] == []


SEND_ONCE = "This field takes one value: send it once."
JSON = {"Content-Type": "application/json"}


async def test_a_member_sent_twice_in_one_object_is_refused_naming_it_where_it_was_sent(
    tenants: TenantFactory, anonymous: ApiClient, worker: Any
) -> None:
    """`{"name": "dup", "name": "dup2"}` created a project named dup2: the first was dropped without a word, as a
    query parameter sent twice no longer is. Now a 400 naming each member sent twice, at any depth (a document's
    attribute, the widget's page facts, an item of a list), in a JSON body or the widget's `data` part, and nothing
    is made. A name in two objects, or a `:` in a text (escaped too), is no repeat."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        submit = f"/api/v1/widget/submit?apiKey={project['apiKey']}"
        twice = {
            "/api/v1/projects": [
                ('{"name": "dup", "name": "dup2"}', ["name"]),
                ('{"name": "a\\u003ab", "name": "c"}', ["name"]),  # an escaped `:`, which msgspec writes plain
                ('{"data": {"type": "project", "attributes": {"name": "a", "name": "b"}}}', ["data.attributes.name"]),
            ],
            submit: [
                (
                    (
                        '{"title": "T", "metadata": {"url": "https://a.example/",'
                        ' "browser": {"name": "A", "name": "B"},'
                        ' "consoleErrors": [{"message": "m", "message": "n", "message": "o"}]}, "title": "U"}'
                    ),
                    ["metadata.browser.name", "metadata.consoleErrors[0].message", "title"],
                )
            ],
        }
        refused = [
            (await (anonymous if url == submit else tenant.client).post(url, content=body, headers=JSON), named)
            for url, bodies in twice.items()
            for body, named in bodies
        ]
        multipart = await anonymous.post(submit, files=[("data", (None, '{"title": "T", "title": "T"}'))])
        projects = (await tenant.client.get("/api/v1/projects")).json()["data"]
        reports = (await tenant.client.get("/api/v1/reports")).json()["data"]["items"]
        taken = [
            await tenant.client.post("/api/v1/projects", content=body, headers=JSON)
            for body in ('{"name": "Shop \\u003a Blog", "trackingPrefix": "ESC"}', '{"name": "a:b", "siteUrl": null}')
        ]
        filed = await anonymous.post(submit, json={"title": "Cart", "metadata": {**WIDGET_METADATA, "title": "Cart"}})
    for answer, named in refused:
        assert _refusal(answer) == (400, "VALIDATION_ERROR", [{"field": name, "message": SEND_ONCE} for name in named])
    assert _refusal(multipart) == (400, "VALIDATION_ERROR", [{"field": "title", "message": SEND_ONCE}])
    assert [made["name"] for made in projects] == ["Shop"], projects
    assert reports == []
    assert [answer.status_code for answer in taken] == [201, 201], [answer.text for answer in taken]
    assert taken[0].json()["data"]["name"] == "Shop : Blog"
    assert filed.status_code == 201, filed.text
