"""The cross-tenant matrix's raw material: the app's routes, read from its route table, and one object of
each kind a route can name by id, made through the API for any tenant.

A route whose path names a parameter that is neither in `OBJECT_MAKERS` nor in `NOT_OBJECT_IDS` is not
covered: `Objects.id()` raises `UncoveredParameterError`, and the matrix fails until someone adds a maker.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db import metadata
from app.domain.transfer.services import EXPORT_JOB
from app.lib.queue import queue_snapshot
from tests.support.clients import PASSWORD, ApiClient, Tenant
from workers.jobs import export_organization

API_PREFIX = "/api/v1/"
# The admin UI's pages: for people signed in, their forms posted as browsers post them.
PAGES_PREFIX = "/ui/"
FRAMEWORK_METHODS = frozenset({"OPTIONS", "HEAD"})  # answered by Litestar itself, never by a handler

# Routes anyone may call: they take no credential, so no credential can be refused on them.
PUBLIC_OPERATIONS = frozenset(
    {"Signup", "Login", "AcceptInvitation", "RequestPasswordReset", "ResetPassword", "Health", "Ready"}
)
# Routes made for the widget: a project's widget key is their credential (or they need none).
WIDGET_OPERATIONS = frozenset({"CreateReport", "UploadScreenshot", "WidgetSubmit", "WidgetConfig"})

# Path parameters that name no tenant object, with the reason.
NOT_OBJECT_IDS: dict[str, str] = {
    "path": "a file name of the OpenAPI document under /schema, the same for every tenant",
    "api_key": "a widget key: a public identifier (it is in every page of the site), naming a public config",
    "file_path": "a file of the admin UI's stylesheet and script, the same for every tenant",
    "unknown": "an address under /ui that is no page: every tenant gets the same 404 page",
}


class UncoveredParameterError(LookupError):
    """A route names an object id the matrix cannot make: add a maker to `OBJECT_MAKERS`."""


@dataclass(frozen=True)
class Endpoint:
    """One handler: a method on a path template of the route table."""

    method: str
    path: str  # Litestar's format string, e.g. /api/v1/projects/{project_id}
    params: tuple[str, ...]
    operation_id: str

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API_PREFIX)

    @property
    def is_page(self) -> bool:
        return self.path.startswith(PAGES_PREFIX)

    @property
    def object_params(self) -> tuple[str, ...]:
        return tuple(name for name in self.params if name not in NOT_OBJECT_IDS)

    def url(self, ids: Mapping[str, str]) -> str:
        return self.path.format(**ids)

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"


def endpoints(app: Litestar) -> list[Endpoint]:
    """Every handler of the app, except the framework's own OPTIONS/HEAD answers."""
    found = [
        Endpoint(
            method=method,
            path=route.path_format,
            params=tuple(route.path_parameters),
            operation_id=_operation_id(route, handler, method),
        )
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in sorted(handler.http_methods - FRAMEWORK_METHODS)
    ]
    return sorted(found, key=lambda e: (e.path, e.method))


def _operation_id(route: HTTPRoute, handler: HTTPRouteHandler, method: str) -> str:
    """The handler's OpenAPI operation id; a handler served on several paths names each by a creator."""
    if route.path_format.startswith(PAGES_PREFIX):  # pages are out of the OpenAPI document: named by route
        return f"{method} {route.path_format}"
    operation_id = handler.operation_id
    if callable(operation_id):
        return operation_id(handler, method, route.path.strip("/").split("/"))  # type: ignore[arg-type]
    return operation_id or handler.handler_name


def id_endpoints(app: Litestar) -> list[Endpoint]:
    """The handlers whose path names at least one object by id."""
    return [endpoint for endpoint in endpoints(app) if endpoint.object_params]


def endpoints_for(app: Litestar, credential: str) -> list[Endpoint]:
    """The id endpoints a credential may call: an organization token, the API's (pages are for people)."""
    return [endpoint for endpoint in id_endpoints(app) if credential != "token" or not endpoint.is_page]


def admin_endpoints(app: Litestar) -> list[Endpoint]:
    """The native API minus what anyone or a widget may call: sessions and organization tokens only."""
    others = PUBLIC_OPERATIONS | WIDGET_OPERATIONS
    return [e for e in endpoints(app) if e.is_api and e.operation_id not in others]


@dataclass
class Objects:
    """One object of each kind for one tenant, made on first use through the tenant's own client."""

    tenant: Tenant
    ids: dict[str, str] = field(default_factory=dict)

    async def id(self, name: str) -> str:
        if name not in self.ids:
            maker = OBJECT_MAKERS.get(name)
            if maker is None:
                msg = f"no maker for the path parameter {name!r}: add one to OBJECT_MAKERS"
                raise UncoveredParameterError(msg)
            self.ids[name] = await maker(self)
        return self.ids[name]

    async def for_endpoint(self, endpoint: Endpoint) -> dict[str, str]:
        return {name: await self.id(name) for name in endpoint.object_params}


def _data(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()["data"]


async def _project(objects: Objects) -> str:
    """A project, connected to GitHub (so that its connection's routes have something to answer)."""
    project = await objects.tenant.create_project(name=f"Project {secrets.token_hex(3)}")
    await _connect(objects, str(project["id"]))
    return str(project["id"])


async def _connect(objects: Objects, project_id: str) -> None:
    """Connect the project to GitHub: a connection made (201), or changed if it was connected already (200)."""
    body = await _connect_github(objects)
    answer = await objects.tenant.client.put(f"/api/v1/projects/{project_id}/integrations/github", json=body)
    assert answer.status_code in {200, 201}, answer.text


async def _key(objects: Objects) -> str:
    project_id = await objects.id("project_id")
    return str(_data(await objects.tenant.client.post(f"/api/v1/projects/{project_id}/keys"), 201)["id"])


async def _token(objects: Objects) -> str:
    return str((await objects.tenant.create_token(name=f"token {secrets.token_hex(3)}"))["id"])


async def invite(tenant: Tenant, role: str = "member") -> dict[str, Any]:
    """A new person invited into the tenant's organization: `{"member": {...}, "invitationToken": ...}`."""
    email = f"person-{secrets.token_hex(4)}@example.com"
    response = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": role})
    return _data(response, 201)  # type: ignore[no-any-return]


@asynccontextmanager
async def member_of(tenant: Tenant, app: Any, role: str = "member") -> AsyncIterator[ApiClient]:
    """A logged-in client of someone who joined the tenant's organization with `role` (a plain member)."""
    invited = await invite(tenant, role)
    async with ApiClient.for_app(app) as client:
        accepted = await client.post(
            "/api/v1/auth/invitations/accept", json={"token": invited["invitationToken"], "password": PASSWORD}
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["data"]["role"] == role
        await client.ensure_csrf()
        yield client


async def _membership(objects: Objects) -> str:
    return str((await invite(objects.tenant))["member"]["id"])


async def _project_person(objects: Objects) -> str:
    project_id = await objects.id("project_id")
    user_id = str((await invite(objects.tenant))["member"]["userId"])
    response = await objects.tenant.client.post(f"/api/v1/projects/{project_id}/members", json={"userId": user_id})
    _data(response, 201)
    return user_id


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "orange").save(buffer, "PNG")
    return buffer.getvalue()


async def widget_key(objects: Objects) -> str:
    """The widget key of the tenant's project (of `project_id`)."""
    project_id = await objects.id("project_id")
    return str(_data(await objects.tenant.client.get(f"/api/v1/projects/{project_id}"), 200)["apiKey"])


async def _report(objects: Objects) -> str:
    """A report sent with the project's widget key, with an uploaded screenshot attached and a GitHub issue
    asked for."""
    headers = {"X-API-Key": await widget_key(objects)}
    client = objects.tenant.client
    upload = await client.post("/api/v1/upload/screenshot", files={"file": ("shot.png", png())}, headers=headers)
    assert upload.status_code == 201, upload.text
    body = {"title": "Checkout button does nothing", "screenshot_url": upload.json()["key"]}
    report_id = str(_data(await client.post("/api/v1/reports", json=body, headers=headers), 201)["id"])
    await _connect(objects, await objects.id("project_id"))  # the project may have been given, not made
    _data(await client.post(f"/api/v1/reports/{report_id}/github-issue"), 202)  # its GitHub issue, pending
    return report_id


async def _screenshot(objects: Objects) -> str:
    report_id = await objects.id("reference")
    report = _data(await objects.tenant.client.get(f"/api/v1/reports/{report_id}"), 200)
    return str(report["screenshots"][0]["id"])


async def _attachment(objects: Objects) -> str:
    report_id = await objects.id("reference")
    response = await objects.tenant.client.post(
        # An image, so that its thumbnail route has something to answer (202 while it waits for a worker).
        f"/api/v1/reports/{report_id}/attachments",
        files={"file": ("cart.png", png(), "image/png")},
    )
    return str(_data(response, 201)["id"])


async def _column(objects: Objects) -> str:
    project_id = await objects.id("project_id")
    response = await objects.tenant.client.post(
        f"/api/v1/projects/{project_id}/columns", json={"name": f"Column {secrets.token_hex(3)}"}
    )
    return str(_data(response, 201)["id"])


async def _webhook(objects: Objects) -> str:
    response = await objects.tenant.client.post("/api/v1/webhooks", json=await _create_webhook(objects))
    return str(_data(response, 201)["id"])


async def _delivery(objects: Objects) -> str:
    """A delivery of the webhook of `webhook_id` (a ping; with no worker running it stays pending)."""
    webhook_id = await objects.id("webhook_id")
    return str(_data(await objects.tenant.client.post(f"/api/v1/webhooks/{webhook_id}/ping"), 201)["id"])


async def _export(objects: Objects) -> str:
    """The organization's export, asked for by its owner and written as the worker writes it: no worker runs in the
    matrix (it would send the webhooks' deliveries)."""
    organization_id = objects.tenant.organization_id
    assert (await objects.tenant.client.post("/ui/settings/export")).status_code == 303
    for _ in range(100):  # queued once the request's transaction committed, beside its answer
        jobs, _truncated = await queue_snapshot()
        queued = [job for job in jobs if job.function == EXPORT_JOB and job.organization_id == organization_id]
        if queued:
            break
        await asyncio.sleep(0.05)
    [job] = queued
    assert await export_organization({}, **job.arguments) == "ready"
    return str(job.arguments["export_id"])


# Path parameter -> how to make such an object for a tenant. A new route with a new id parameter needs a
# new entry here, or the isolation matrix fails.
OBJECT_MAKERS: dict[str, Callable[[Objects], Awaitable[str]]] = {
    "project_id": _project,
    "key_id": _key,
    "token_id": _token,
    "membership_id": _membership,
    "user_id": _project_person,  # a person added to the project of `project_id`
    "column_id": _column,
    "reference": _report,  # a report's UUID (a tracking ID such as BSK-42 names one too)
    "screenshot_id": _screenshot,  # a screenshot of the report of `reference`
    "attachment_id": _attachment,  # an image file attached to the report of `reference`
    "webhook_id": _webhook,
    "delivery_id": _delivery,  # a delivery of the webhook of `webhook_id`
    "export_id": _export,  # the organization's export, its archive written
}


# Operation -> a valid body for it, made for the calling tenant's own objects, so that a refusal can never
# be a validation error in disguise. A handler that reads a body and has no entry here fails the tests.
BODIES: dict[str, Callable[[Objects], Awaitable[Any]]] = {}


def body(operation_id: str) -> Callable[[Callable[[Objects], Awaitable[Any]]], Callable[[Objects], Awaitable[Any]]]:
    def register(make: Callable[[Objects], Awaitable[Any]]) -> Callable[[Objects], Awaitable[Any]]:
        BODIES[operation_id] = make
        return make

    return register


@body("CreateProject")
async def _create_project(_: Objects) -> Any:
    return {"name": f"Probe {secrets.token_hex(3)}"}


@body("PutProject")  # BugHerd's update, the same change
@body("UpdateProject")
async def _update_project(_: Objects) -> Any:
    return {"name": "Renamed by a probe", "rateLimitPerMinute": 99}


@body("AddProjectMember")
async def _add_project_member(objects: Objects) -> Any:
    return {"userId": str((await invite(objects.tenant))["member"]["userId"])}


@body("CreateToken")
async def _create_token(_: Objects) -> Any:
    return {"name": "probe"}


@body("InviteMember")
async def _invite_member(_: Objects) -> Any:
    return {"email": f"probe-{secrets.token_hex(4)}@example.com", "role": "member"}


@body("UpdateMember")
async def _update_member(_: Objects) -> Any:
    return {"role": "guest"}


@body("UpdateOrganization")
async def _update_organization(_: Objects) -> Any:
    return {"name": "Renamed by a probe"}


@body("UpdateMe")
async def _update_me(_: Objects) -> Any:
    return {"name": "Renamed by a probe"}


@body("ChangePassword")
async def _change_password(_: Objects) -> Any:
    return {"currentPassword": PASSWORD, "newPassword": "another correct horse"}


@body("SwitchOrganization")
async def _switch_organization(objects: Objects) -> Any:
    return {"organizationId": objects.tenant.organization_id}


@body("CreateColumn")
async def _create_column(_: Objects) -> Any:
    return {"name": f"Probe {secrets.token_hex(3)}"}


@body("PutColumn")
@body("UpdateColumn")
async def _update_column(_: Objects) -> Any:
    return {"name": f"Renamed {secrets.token_hex(3)}"}


@body("PutReport")
@body("UpdateReport")
async def _update_report(_: Objects) -> Any:
    return {"severity": "critical", "priority": "highest", "tags": ["probe"]}


@body("CreateComment")
async def _create_comment(_: Objects) -> Any:
    return {"text": "A probe's comment"}


@body("CreateAttachment")
async def _create_attachment(_: Objects) -> Any:
    return {"url": "https://tracker.example.com/issues/7", "name": "Related ticket"}


@body("CreateReport")
async def _create_report(_: Objects) -> Any:
    return {"title": "Probe report", "severity": "low"}


@body("WidgetSubmit")
async def _widget_submit(_: Objects) -> Any:
    metadata = {
        "url": "https://shop.example.com/cart",
        "browser": {"name": "Firefox", "version": "140"},
        "device": {"type": "desktop", "os": "Linux"},
        "viewport": {"width": 1280, "height": 800},
        "timestamp": "2026-11-23T09:00:00Z",
    }
    return {"title": "Probe report", "metadata": metadata}


@body("FileReport")
async def _file_report(_: Objects) -> Any:
    return {"title": "Probe filed by the team", "severity": "high"}


@body("CreateWebhook")
async def _create_webhook(objects: Objects) -> Any:
    # A name that fails to resolve at once, should a later test's worker try to deliver to it.
    return {"url": "https://hooks.example.invalid/lantern", "events": ["report.created", "comment.created"]}


@body("ConnectGitHub")
async def _connect_github(_: Objects) -> Any:
    return {"repository": "acme/shop", "token": "ghp_probe", "apiUrl": "https://github.example.invalid/api/v3"}


@body("UpdateWebhook")
async def _update_webhook(_: Objects) -> Any:
    return {"events": ["report.deleted"]}  # still on: a webhook turned off refuses a ping or a redelivery


@dataclass(frozen=True)
class Files:
    """A multipart body."""

    files: dict[str, tuple[str, bytes]]


@dataclass(frozen=True)
class Form:
    """A page's form, URL-encoded as a browser posts it (the client adds the CSRF header)."""

    fields: dict[str, str | list[str]]  # a list: the field repeated, as ticked boxes of one name are


@dataclass(frozen=True)
class Raw:
    """A body that is the file itself."""

    content: bytes
    content_type: str


@body("UploadScreenshot")
async def _upload_screenshot(_: Objects) -> Any:
    return Files({"file": ("shot.png", png())})


@body("UploadAttachment")
async def _upload_attachment(_: Objects) -> Any:
    return Raw(b"a probe's log line\n", "text/plain")


@body("POST /ui/reports/{reference}")
async def _triage_form(_: Objects) -> Any:
    return Form({"priority": "high"})


@body("POST /ui/reports/{reference}/comments")
async def _comment_form(_: Objects) -> Any:
    return Form({"text": "A probe's comment"})


@body("POST /ui/projects/{project_id}/github")
async def _github_form(_: Objects) -> Any:
    return Form({"repository": "acme/probe", "token": "ghp_probe"})


@body("POST /ui/projects/{project_id}")
async def _project_settings_form(_: Objects) -> Any:
    return Form(
        {
            "name": "Probe",
            "rate_limit_per_minute": "10",
            "position": "bottom-right",
            "theme": "auto",
            "primary_color": "#6366f1",
        }
    )


@body("POST /ui/projects/{project_id}/people")
async def _project_person_form(_: Objects) -> Any:
    return Form({"email": f"probe-{secrets.token_hex(4)}@example.com"})


@body("POST /ui/members/{membership_id}/role")
async def _role_form(_: Objects) -> Any:
    return Form({"role": "admin"})


@body("POST /ui/webhooks/{webhook_id}")
async def _webhook_form(_: Objects) -> Any:
    return Form({"url": "https://probe.example.com/hook", "events": "report.deleted"})


@body("POST /ui/board/projects/{project_id}/columns/{column_id}/move")
async def _column_move_form(_: Objects) -> Any:
    return Form({"step": "-1"})


@body("POST /ui/board/projects/{project_id}/columns/{column_id}/rename")
async def _column_name_form(_: Objects) -> Any:
    return Form({"name": f"Probe {secrets.token_hex(3)}"})


# Unsafe methods whose handlers read no body.
NO_BODY = frozenset(
    {
        "CreateProjectKey",
        "InviteMemberAgain",
        "Logout",
        "RotateWebhookSecret",
        "PingWebhook",
        "RedeliverWebhook",
        "CreateGitHubIssue",
        "POST /ui/projects/{project_id}/github/disconnect",
        "POST /ui/projects/{project_id}/keys",
        "POST /ui/projects/{project_id}/keys/{key_id}/revoke",
        "POST /ui/board/projects/{project_id}/columns/{column_id}/delete",
        "POST /ui/projects/{project_id}/delete",
        "POST /ui/projects/{project_id}/people/{user_id}/remove",
        "POST /ui/members/{membership_id}/remove",
        "POST /ui/members/{membership_id}/invitation",
        "POST /ui/tokens/{token_id}/revoke",
        "POST /ui/reports/{reference}/github-issue",
        "POST /ui/reports/{reference}/delete",
        "POST /ui/webhooks/{webhook_id}/activate",
        "POST /ui/webhooks/{webhook_id}/ping",
        "POST /ui/webhooks/{webhook_id}/secret",
        "POST /ui/webhooks/{webhook_id}/delete",
        "POST /ui/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    }
)


async def request_body(endpoint: Endpoint, objects: Objects) -> Any:
    """The body to send: none for safe methods and body-less handlers, else the registered one."""
    if endpoint.method in {"GET", "DELETE"} or endpoint.operation_id in NO_BODY:
        return None
    make = BODIES.get(endpoint.operation_id)
    assert make is not None, f"{endpoint}: register a valid body in tests/support/isolation.py BODIES"
    return await make(objects)


async def send(
    client: ApiClient, endpoint: Endpoint, ids: Mapping[str, str], payload: Any, **kwargs: Any
) -> httpx.Response:
    if isinstance(payload, Files):
        kwargs["files"] = payload.files
    elif isinstance(payload, Form):
        kwargs["data"] = payload.fields
    elif isinstance(payload, Raw):
        kwargs["content"] = payload.content
        kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": payload.content_type}
    elif payload is not None:
        kwargs["json"] = payload
    return await client.request(endpoint.method, endpoint.url(ids), **kwargs)


def random_ids(names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(uuid.uuid4()) for name in names}


# GETs whose answer changes with the clock alone, with the reason: they show no object.
CLOCK_VIEWS = {"JobDashboard": "its window ends now, and the queue it shows is Redis' of this moment"}


async def view(client: ApiClient, app: Litestar, objects: Objects) -> dict[str, Any]:
    """Everything a tenant sees through every GET of the native API, on its own objects."""
    seen: dict[str, Any] = {}
    for endpoint in admin_endpoints(app):
        if endpoint.method != "GET" or endpoint.operation_id in CLOCK_VIEWS:
            continue
        url = endpoint.url(await objects.for_endpoint(endpoint))
        response = await client.get(url)
        seen[url] = (response.status_code, response.content)
    return seen


@asynccontextmanager
async def owner_engine() -> AsyncIterator[AsyncEngine]:
    """The database as its owner (on PostgreSQL the test cluster's superuser): row-level security does not
    apply, so what it reads does not depend on the tenancy code under test."""
    engine = create_async_engine(os.environ["DATABASE_OWNER_URL"])
    try:
        yield engine
    finally:
        await engine.dispose()


async def tenant_rows(engine: AsyncEngine, organization_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of one organization, read with explicit filters: its own row, the rows of every table with
    an `organization_id`, and the accounts of its members."""
    tenant = uuid.UUID(organization_id)
    organization = metadata.tables["organization"]
    membership = metadata.tables["membership"]
    users = metadata.tables["user_account"]
    statements = {
        "organization": select(organization).where(organization.c.id == tenant),
        "user_account": select(users).where(
            users.c.id.in_(select(membership.c.user_id).where(membership.c.organization_id == tenant)),
        ),
        **{
            name: select(table).where(table.c.organization_id == tenant)
            for name, table in metadata.tables.items()
            if "organization_id" in table.c
        },
    }
    rows: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as connection:
        for name, statement in statements.items():
            found = (await connection.execute(statement)).mappings().all()
            rows[name] = sorted((dict(row) for row in found), key=lambda row: str(row["id"]))
    return rows
