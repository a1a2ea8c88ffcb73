"""The OpenAPI document is served and every operation has a stable, explicit id."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from jsonschema import Draft202012Validator
from litestar import Response
from litestar.handlers import HTTPRouteHandler
from litestar.response import File, Stream
from openapi_spec_validator import validate
from PIL import Image
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from app.lib.jsonapi import MEDIA_TYPE
from app.lib.patterns import ONE_LINE_NAME, ORIGIN, TRACKING_PREFIX
from app.lib.query import query_names
from tenants.guards import requires_session
from tests.integration.test_reports import BUGPIN_EXAMPLE
from tests.integration.test_webhooks import create_webhook
from tests.support.clients import BASE_URL, PASSWORD, ApiClient, Tenant, TenantFactory, signup_body


async def test_openapi_document_lists_every_operation_with_explicit_ids(anonymous: ApiClient) -> None:
    response = await anonymous.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    operations = [
        (path, method, operation.get("operationId"))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    ids = [operation_id for _path, _method, operation_id in operations]
    assert len(ids) == len(set(ids))
    generated = [(path, method, oid) for path, method, oid in operations if not oid or not oid[0].isupper()]
    assert generated == []
    assert {"Signup", "Login", "CreateReport", "ListReports", "WidgetSubmit", "WidgetSubmitCompat"} <= set(ids)


async def test_the_schema_page_is_the_document_itself_with_nothing_from_elsewhere(anonymous: ApiClient) -> None:
    """A self-hosted instance may be offline: no viewer whose scripts come from a CDN."""
    page = await anonymous.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert page.json()["info"]["title"] == "Lantern API"
    assert "<script" not in page.text
    # Where tools made for FastAPI services (BugSpark's) look first: it answered 404.
    moved = await anonymous.get("/openapi.json")
    assert (moved.status_code, moved.headers["location"]) == (308, "/schema/openapi.json")
    assert (await anonymous.get("/openapi.json", follow_redirects=True)).json() == page.json()


async def test_the_upload_is_documented_as_the_part_it_reads(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The document names the multipart part `file`, and a client that sends another name is told so. The answer
    is documented as the `{"key"}` it is (it was any object)."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    operation = document["paths"]["/api/v1/upload/screenshot"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]
    schema = document["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]
    answered = document["components"]["schemas"][answer["$ref"].rsplit("/", 1)[-1]]
    assert (answered["required"], answered["properties"]["key"]["type"]) == (["key"], "string")
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        headers = {"X-API-Key": project["apiKey"], "Accept-Language": "de"}
        files = {"files": ("shot.png", b"\x89PNG\r\n\x1a\n", "image/png")}
        misnamed = await anonymous.post("/api/v1/upload/screenshot", files=files, headers=headers)
    assert (schema["required"], schema["properties"]["file"]["format"]) == (["file"], "binary")
    assert misnamed.status_code == 400
    assert misnamed.json()["details"] == [{"field": "file", "message": "Dieses Feld ist erforderlich."}]


async def test_each_operation_names_the_credential_it_takes(anonymous: ApiClient) -> None:
    document = (await anonymous.get("/schema/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert (schemes["widgetKey"]["in"], schemes["widgetKey"]["name"]) == ("header", "X-API-Key")
    assert (schemes["organizationToken"]["scheme"], schemes["organizationTokenBasic"]["scheme"]) == ("bearer", "basic")
    assert schemes["session"]["in"] == "cookie"
    admin = [{"organizationToken": []}, {"organizationTokenBasic": []}, {"session": []}]
    assert document["security"] == admin  # the default: the admin API

    def security(path: str, method: str) -> list[dict[str, list[str]]] | None:
        return document["paths"][path][method].get("security")  # type: ignore[no-any-return]

    assert security("/api/v1/widget/submit", "post") == [{"widgetKey": []}]
    assert security("/api/v1/reports", "post") == [{"widgetKey": []}]
    assert security("/api/v1/auth/login", "post") == [{}]
    assert security("/api/v1/auth/me", "get") == [{"session": []}]
    assert security("/api/v1/reports", "get") in (None, admin)


async def test_every_operation_for_people_alone_says_so(anonymous: ApiClient, app: Any) -> None:
    """`POST /api/v1/tokens` was documented for organization tokens too, which it always refuses (403)."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    operations = {
        operation["operationId"]: operation.get("security", document["security"])
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for_people = {
        handler.operation_id
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if requires_session in (handler.guards or []) and isinstance(handler.operation_id, str)
    }
    assert "CreateToken" in for_people
    documented = {operation_id: operations[operation_id] for operation_id in for_people & operations.keys()}
    assert {operation_id for operation_id, security in documented.items() if security != [{"session": []}]} == set()


async def test_bodies_read_by_their_handlers_are_documented(anonymous: ApiClient) -> None:
    """The widget submit, BugSpark's create, the report change and the attachment and its upload read their bodies
    themselves (JSON or multipart, other products' wrappers); the document still describes what they take."""
    paths = (await anonymous.get("/schema/openapi.json")).json()["paths"]

    def body(path: str, method: str) -> dict[str, Any]:
        return paths[path][method]["requestBody"]["content"]  # type: ignore[no-any-return]

    submit = body("/api/v1/widget/submit", "post")
    assert set(submit) == {"application/json", "multipart/form-data"}
    assert {"title", "metadata"} <= set(submit["application/json"]["schema"]["required"])
    metadata = submit["application/json"]["schema"]["properties"]["metadata"]
    assert "viewport" in metadata["properties"]  # written out, not a reference to a missing component
    assert submit["multipart/form-data"]["schema"]["required"] == ["data"]
    assert "severity" in body("/api/v1/reports", "post")["application/json"]["schema"]["properties"]
    native, task = body("/api/v1/reports/{reference}", "patch")["application/json"]["schema"]["oneOf"]
    assert {"statusId", "status_id", "assigneeId", "assignee_id"} <= set(native["properties"])
    assert {"assigned_to_id", "tag_names", "updater_email"} <= set(task["properties"]["task"]["properties"])
    attachment = body("/api/v1/reports/{reference}/attachments", "post")
    assert attachment["multipart/form-data"]["schema"]["required"] == ["file"]
    link, bugherd = attachment["application/json"]["schema"]["oneOf"]
    assert {"url", "file_name"} <= set(link["properties"])
    assert bugherd["required"] == ["attachment"]
    # BugHerd's upload takes the file as the body, or a form's part `file` (which the document left out).
    upload = body("/api/v1/reports/{reference}/attachments/upload", "post")
    assert set(upload) == {"application/octet-stream", "multipart/form-data"}
    assert upload["multipart/form-data"]["schema"]["required"] == ["file"]


ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    }


def _members(value: Any, key: str) -> list[Any]:
    """Every value of `key` anywhere in `value` (`$ref`, `oneOf`)."""
    if isinstance(value, dict):
        own = [value[key]] if key in value else []
        return own + [member for item in value.values() for member in _members(item, key)]
    if isinstance(value, list):
        return [member for item in value for member in _members(item, key)]
    return []


async def test_the_widget_submits_file_parts_are_documented_as_many_as_the_server_takes(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Five attached images without a screenshot are taken, and fit the document (it said at most four); a sixth
    is refused, and does not fit it either."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    schema = document["paths"]["/api/v1/widget/submit"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = {"data": json.dumps(BUGPIN_EXAMPLE)}
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", widgetConfig={"features": {"attachments": True}})
        answers = []
        for count in (5, 6):
            files = [("attachments", (f"shot-{number}.png", _png(), "image/png")) for number in range(count)]
            headers = {"X-API-Key": project["apiKey"]}
            sent = await anonymous.post("/api/v1/widget/submit", data=form, files=files, headers=headers)
            fits = Draft202012Validator(schema["schema"]).is_valid({**form, "attachments": ["png"] * count})
            answers.append((count, sent.status_code, fits))
    assert answers == [(5, 201, True), (6, 413, False)]


async def test_every_error_is_documented_as_the_envelope_the_api_answers(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Not Litestar's `{status_code, detail, extra}`: a client generated from the document reads real errors."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    error_schemas = [
        (method, path, status, response.get("content"))
        for (method, path), operation in _operations(document).items()
        for status, response in operation["responses"].items()
        if status[0] in "45" or status == "default"
    ]
    assert error_schemas
    assert [item for item in error_schemas if item[3] != {"application/json": {"schema": ERROR_REF}}] == []
    assert '"status_code"' not in json.dumps(document)
    schema = document["components"]["schemas"]["Error"]
    async with tenants.create() as tenant:
        missing = await tenant.client.get(f"/api/v1/reports/{uuid4()}")
        invalid = await tenant.client.post("/api/v1/projects", json={"name": ""})
    for answer in (missing.json(), invalid.json()):
        assert set(answer) == set(schema["required"]) == set(schema["properties"])
        assert answer["error"] in schema["properties"]["error"]["enum"]
    assert set(invalid.json()["details"][0]) == set(schema["properties"]["details"]["items"]["required"])


async def test_each_operation_lists_the_errors_it_can_meet(anonymous: ApiClient) -> None:
    operations = _operations((await anonymous.get("/schema/openapi.json")).json())

    def statuses(method: str, path: str) -> set[str]:
        return set(operations[method, path]["responses"])

    common = {"401", "403", "429", "default"}
    assert statuses("get", "/api/v1/reports/{reference}") >= {"200", "400", "404", "406", *common}
    assert "406" not in statuses("get", "/api/v1/auth/me")  # answers its native JSON alone: reads no Accept
    assert statuses("post", "/api/v1/projects") >= {"201", "400", "409", "413", "415", *common}
    assert "404" not in statuses("post", "/api/v1/projects")
    assert statuses("post", "/api/v1/widget/submit") >= {"201", "400", "413", "415", *common}
    assert statuses("get", "/api/v1/widget/config/{api_key}") >= {"200", "403", "404"}  # a site not allowed
    assert statuses("post", "/api/v1/auth/login") == {"200", "400", "401", "413", "415", "429", "default"}
    # A body sent where none is read (JSON with members, another type, over 1 MB) is refused before anything is done.
    assert statuses("post", "/api/v1/webhooks/{webhook_id}/secret") >= {"200", "400", "413", "415", *common}
    assert statuses("delete", "/api/v1/tokens/{token_id}") >= {"204", "400", "413", "415", *common}
    assert not {"413", "415"} & statuses("get", "/api/v1/reports/{reference}")
    refused = operations["post", "/api/v1/projects"]["responses"]["415"]
    assert "Accept-Encoding" in refused["headers"]  # a body in a content coding: `identity` is what is read
    assert statuses("post", "/api/v1/auth/signup") >= {"409", "429"}
    assert "404" in statuses("post", "/api/v1/auth/invitations/accept")  # a token that finds nothing
    # An existing account's wrong password, throttled as a login (it listed neither).
    assert statuses("post", "/api/v1/auth/invitations/accept") >= {"401", "429"}
    assert "409" in statuses("post", "/api/v1/reports/{reference}/github-issue")  # no GitHub connection
    assert "409" in statuses("delete", "/api/v1/organization/members/{membership_id}")  # the last owner
    assert "409" in statuses("post", "/api/v1/webhooks/{webhook_id}/ping")  # a webhook turned off
    assert statuses("get", "/widget.js") == {"200", "404", "default"}  # not built
    assert statuses("get", "/") == {"200", "303", "default"}  # a browser goes to the admin UI
    assert statuses("get", "/health") == {"200", "default"}
    assert statuses("get", "/health/ready") == {"200", "503", "default"}
    limited = operations["get", "/api/v1/reports"]["responses"]["429"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(limited["headers"])


BUCKET_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


async def test_every_answer_a_rate_limit_counted_documents_its_bucket_headers(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The bucket's headers come on every answer to a request the rate limit counted, a 200 or 201 too: only the
    429 documented them, so a client generated from the document could not read them where they mattered most,
    before the limit. Each answer here has exactly the rate-limit headers its operation documents for its status."""
    documented = _operations((await anonymous.get("/schema/openapi.json")).json())
    async with tenants.create() as tenant:
        project = await tenant.create_project("Limited", trackingPrefix="LIM")
        widget = {"X-API-Key": project["apiKey"]}
        token = await tenant.create_token()
        report = await anonymous.post("/api/v1/reports", json={"title": "Checkout fails"}, headers=widget)
        answers = {
            ("post", "/api/v1/reports"): report,
            ("post", "/api/v1/widget/submit"): await anonymous.post(
                "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=widget
            ),
            ("get", "/api/v1/reports"): await tenant.client.get("/api/v1/reports"),
            ("get", "/api/v1/reports/{reference}"): await tenant.client.get(f"/api/v1/reports/{uuid4()}"),
            ("post", "/api/v1/projects"): await tenant.client.post("/api/v1/projects", json={"name": ""}),
            ("post", "/api/v1/tokens"): await tenant.client.post("/api/v1/tokens", json={"name": "CI"}),
            ("delete", "/api/v1/tokens/{token_id}"): await tenant.client.delete(f"/api/v1/tokens/{token['id']}"),
            ("get", "/api/v1/projects"): await anonymous.get("/api/v1/projects"),  # no caller: counted by none
            ("post", "/api/v1/auth/login"): await anonymous.post(
                "/api/v1/auth/login", json={"email": tenant.email, "password": PASSWORD}
            ),  # public, counted by account and address
            ("post", "/api/v1/auth/password-reset"): await anonymous.post(
                "/api/v1/auth/password-reset", json={"email": tenant.email}
            ),  # counted by address, and told only when refused: every answer is the same
        }

    def documented_headers(method: str, path: str, status: int) -> set[str]:
        headers = documented[method, path]["responses"][str(status)].get("headers", {})
        return {name.lower() for name in headers} & BUCKET_HEADERS

    found = {
        operation: (answer.status_code, BUCKET_HEADERS & set(answer.headers.keys()))
        for operation, answer in answers.items()
    }
    assert found == {
        operation: (answer.status_code, documented_headers(*operation, answer.status_code))
        for operation, answer in answers.items()
    }
    counted = {operation for operation, (_, headers) in found.items() if headers}
    assert counted == set(answers) - {("get", "/api/v1/projects"), ("post", "/api/v1/auth/password-reset")}
    assert {status for status, _ in found.values()} == {200, 201, 202, 204, 400, 401, 404}


async def test_every_native_page_documents_its_link_header(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A native list's page (`meta` with `page` and `pageSize`) links its next and previous pages in `Link`, which
    the document described in words only: a generated client had no header to read them from."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def answer(operation: dict[str, Any]) -> dict[str, Any]:
        schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        return schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema  # type: ignore[no-any-return]

    paged = {
        key: operation["responses"]["200"].get("headers", {})
        for key, operation in _operations(document).items()
        if "meta" in answer(operation).get("properties", {})
    }
    assert {("get", "/api/v1/webhooks"), ("get", "/api/v1/reports/{reference}/comments")} <= set(paged)
    assert [key for key, headers in paged.items() if "Link" not in headers] == []
    assert paged["get", "/api/v1/webhooks"]["Link"]["schema"] == {"type": "string"}
    async with tenants.create() as tenant:
        for number in range(2):
            await tenant.client.post(
                "/api/v1/webhooks", json={"url": f"https://hooks.example.com/{number}", "events": ["report.created"]}
            )
        sent = await tenant.client.get("/api/v1/webhooks", params={"page_size": 1})
    assert sent.headers["link"].endswith('; rel="next"'), sent.headers


async def test_every_query_parameter_says_the_camel_case_spelling_the_server_reads_it_by(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """The server reads `?projectId=` and `?pageSize=` as `project_id` and `page_size` (SPEC §4a: requests accept
    camelCase), which the document did not say: each snake_case query parameter says its other spelling."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    declared = {
        (method.lower(), re.sub(r"{(\w+):\w+}", r"{\1}", route.path)): query_names(handler)
        for route in app.routes
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items()
    }
    spelled = {
        (key, parameter["name"]): parameter.get("description", "")
        for key, operation in _operations(document).items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and "_" in parameter["name"]
    }
    assert {name for _, name in spelled} >= {"project_id", "page_size", "created_since", "file_name"}
    for (key, name), description in spelled.items():
        camel = re.sub(r"_(\w)", lambda letter: letter[1].upper(), name)
        assert f"Also taken as `{camel}`." in description, (key, name)
        assert name in declared[key], (key, name)  # read by the handler itself: the middleware renames for it
    async with tenants.create() as tenant:
        listed, other = await tenant.create_project("Listed"), await tenant.create_project("Other")
        for project in (listed, listed, other):
            sent = await anonymous.post(
                "/api/v1/reports", json={"title": "Slow"}, headers={"X-API-Key": project["apiKey"]}
            )
            assert sent.status_code == 201, sent.text
        page = await tenant.client.get("/api/v1/reports", params={"projectId": listed["id"], "pageSize": 1})
    assert page.status_code == 200, page.text
    assert {key: page.json()["data"][key] for key in ("total", "pageSize")} == {"total": 2, "pageSize": 1}
    assert len(page.json()["data"]["items"]) == 1


async def test_an_answer_in_either_mode_documents_both_media_types(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Litestar alone documents such a handler as `oneOf: [envelope, {}]`, which tells a client nothing."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    listed = _operations(document)["get", "/api/v1/reports"]["responses"]["200"]["content"]
    assert listed == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ReportPageEnvelope"}},
        "application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/JsonApiDocument"}},
    }
    assert [alternatives for alternatives in _members(document, "oneOf") if {} in alternatives] == []
    jsonapi = document["components"]["schemas"]["JsonApiDocument"]
    assert jsonapi["properties"]["links"]["properties"]["next"]["type"] == ["string", "null"]  # none past the last
    async with tenants.create() as tenant:
        await tenant.create_project()
        answer = await tenant.client.get("/api/v1/projects", headers={"Accept": "application/vnd.api+json"})
    assert answer.headers["content-type"].startswith("application/vnd.api+json")
    assert set(jsonapi["required"]) <= set(answer.json()) <= set(jsonapi["properties"])
    resource = jsonapi["properties"]["data"]["oneOf"][0]
    assert set(resource["required"]) <= set(answer.json()["data"][0]) <= set(resource["properties"])


def _answers_jsonapi(handler: HTTPRouteHandler) -> bool:
    """Whether a handler can answer a JSON:API document: among the bodies its return type names (a `Response`'s
    content, or the value itself) there is another beside the document, a dict (or anything) sent in a `Response`
    of its own media type (`jsonapi.written`, `document_response`)."""
    returned = handler.parsed_fn_signature.return_type
    bodies = []
    for member in returned.inner_types if returned.is_union else [returned]:
        if member.is_subclass_of(Response) and member.inner_types:
            content = member.inner_types[0]
            bodies += [(True, inner.annotation) for inner in (content.inner_types if content.is_union else [content])]
        else:
            bodies.append((False, member.annotation))
    return len(bodies) > 1 and any(sent and body in (dict[str, Any], Any) for sent, body in bodies)


async def test_every_operation_that_can_answer_jsonapi_documents_both_media_types(
    anonymous: ApiClient, app: Any
) -> None:
    """A creation that answers its envelope with `Location` or a JSON:API document (`Response[Envelope[X]] |
    Response[dict]`) was documented as `{}` under `application/json` alone: a client generated from the document
    knew nothing of what eight creations answer, nor that they take JSON:API's parameters."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    operations = _operations(document)
    either = {
        (method.lower(), re.sub(r"{(\w+):\w+}", r"{\1}", route.path)): handler
        for route in app.routes
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items()
        if method != "HEAD" and handler.resolve_include_in_schema() and _answers_jsonapi(handler)
    }
    assert {handler.operation_id for handler in either.values()} >= {
        "ListReports",
        "GetProject",
        "CreateProject",
        "InviteMember",
        "CreateAttachment",
        "UploadAttachment",
    }
    jsonapi = {"$ref": "#/components/schemas/JsonApiDocument"}
    undocumented = []
    for key, handler in either.items():
        operation = operations[key]
        content = operation["responses"][str(handler.status_code)].get("content", {})
        parameters = {parameter["name"] for parameter in operation.get("parameters", [])}
        native = content.get("application/json", {}).get("schema", {})
        if (
            set(content) != {"application/json", MEDIA_TYPE}
            or content[MEDIA_TYPE]["schema"] != jsonapi
            or native in ({}, jsonapi)
            or "fields" not in parameters
        ):
            undocumented.append((operation["operationId"], content))
    assert undocumented == []
    made = operations["post", "/api/v1/projects"]["responses"]["201"]["content"]["application/json"]
    assert made == {"schema": {"$ref": "#/components/schemas/ProjectReadEnvelope"}}


async def test_the_widget_configuration_answer_is_documented_as_it_is_sent(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A widget other than ours (BugPin's) is written against this document: every field it reads is in it."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    answered = _operations(document)["get", "/api/v1/widget/config/{api_key}"]["responses"]["200"]["content"]
    assert answered == {"application/json": {"schema": {"$ref": "#/components/schemas/WidgetConfigAnswer"}}}
    schemas = document["components"]["schemas"]
    settings = schemas["WidgetSettings"]
    async with tenants.create() as tenant:
        project = await tenant.create_project("Configured")
        answer = (await anonymous.get(f"/api/v1/widget/config/{project['apiKey']}")).json()
    assert set(answer) == set(schemas["WidgetConfigAnswer"]["properties"])
    assert set(answer["config"]) == set(settings["properties"])
    assert {"useScreenCaptureAPI", "features", "texts"} <= set(settings["properties"])
    assert {"projectName", "texts"} <= set(settings["required"])
    assert answer["data"] == answer["config"]


async def test_components_are_named_for_a_client_generator_and_every_reference_resolves(
    anonymous: ApiClient,
) -> None:
    document = (await anonymous.get("/schema/openapi.json")).json()
    names = set(document["components"]["schemas"])
    assert {"ReportReadEnvelope", "CommentReadListEnvelope", "EmptyEnvelope"} <= names
    body = document["paths"]["/api/v1/projects/{project_id}/columns"]["post"]["requestBody"]["content"]
    position = body["application/json"]["schema"]["oneOf"][0]["properties"]["position"]["anyOf"][0]
    assert (position["minimum"], position["maximum"]) == (0, 10_000)  # a bound of 0 is a bound too
    assert [name for name in names if "." in name or name.startswith("Envelope_")] == []
    prefix = "#/components/schemas/"
    assert {reference.removeprefix(prefix) for reference in _members(document, "$ref")} <= names


async def test_json_api_parameters_are_documented_where_they_apply(anonymous: ApiClient) -> None:
    operations = _operations((await anonymous.get("/schema/openapi.json")).json())

    def parameters(method: str, path: str) -> dict[str, dict[str, Any]]:
        return {parameter["name"]: parameter for parameter in operations[method, path].get("parameters", [])}

    paging = {"page[limit]", "page[offset]", "page[after]", "page[before]"}
    listed = parameters("get", "/api/v1/reports")
    assert {"include", "fields", "sort", "filter", "status", "page_size", *paging} <= set(listed)
    # The native page number beside JSON:API's page[...] (a deep `page` object hid them behind it).
    assert {"type": "integer"} in listed["page"]["schema"]["oneOf"]
    # A day or a moment, which no one `format` names: said in words (it was a string and nothing more).
    assert "`2026-01-31`" in listed["created_since"]["description"]
    assert "`2026-01-31T09:30:00Z`" in listed["updated_since"]["description"]
    # Their defaults are said in words: documented as `default`, openapi-python-client sent them with every call,
    # and every JSON:API request it made (`sort`, `include`, `page[limit]`) was refused for them.
    pages = [
        (path, parameter["name"])
        for (_method, path), operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["name"] in {"page", "page_size"} and "default" in parameter["schema"]
    ]
    assert pages == []
    projects = parameters("get", "/api/v1/projects")
    assert {"fields", "sort", "page[limit]", "page[offset]"} <= set(projects)
    assert not {"include", "filter", "page[after]", "page[before]"} & set(projects)  # refused there
    assert projects["page[limit]"]["schema"]["maximum"] == 100
    item = parameters("get", "/api/v1/reports/{reference}")
    assert {"include", "fields"} <= set(item)
    assert not {"sort", "filter", *paging} & set(item)
    assert "fields" not in parameters("post", "/api/v1/reports")  # no JSON:API answer there


# A JSON:API parameter each, as a client would send it, and what a list that does not take it answers.
_JSONAPI_PROBES = {
    "include": ("include", "project", "There is nothing to include here."),
    "sort": ("sort", "createdAt", "There is nothing to sort here."),
    "filter": ("filter[status]", "new", "There is nothing to filter here."),
    "page[after]": ("page[after]", "WyJ4Il0", "Unknown page parameter: after."),
    "page[before]": ("page[before]", "WyJ4Il0", "Unknown page parameter: before."),
}


async def test_a_jsonapi_list_takes_exactly_the_parameters_its_operation_documents(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Every list that answers JSON:API was documented with `include`, `filter`, `page[after]` and `page[before]`,
    which only the reports' list takes: a client generated from the document offered them, and each was a 400."""
    operations = _operations((await anonymous.get("/schema/openapi.json")).json())
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await anonymous.post("/api/v1/reports", json={"title": "Cart"}, headers={"X-API-Key": project["apiKey"]})
        hook = await create_webhook(tenant, "https://hooks.example.com/lantern")
        ids = {"project_id": project["id"], "reference": sent.json()["data"]["id"], "webhook_id": hook["id"]}
        lists = {
            path: {parameter["name"] for parameter in operation.get("parameters", [])}
            for (method, path), operation in operations.items()
            if method == "get" and "page[limit]" in {parameter["name"] for parameter in operation.get("parameters", [])}
        }
        assert len(lists) >= 10
        mismatched = []
        for path, documented in lists.items():
            for name, (key, value, not_here) in _JSONAPI_PROBES.items():
                answer = await tenant.client.get(
                    path.format(**ids), params={key: value}, headers={"Accept": MEDIA_TYPE}
                )
                refused = {"field": key, "message": not_here} in answer.json().get("details", [])
                if refused == (name in documented):
                    mismatched.append((path, key, "documented" if refused else "undocumented", answer.status_code))
    assert mismatched == []


def _schemas_in(value: Any, *, named_properties: bool = False) -> Iterator[dict[str, Any]]:
    """Every schema object of a document (a `properties` map's keys are names, not keywords)."""
    if isinstance(value, dict):
        if not named_properties:
            yield value
        for key, inner in value.items():
            yield from _schemas_in(inner, named_properties=key == "properties")
    elif isinstance(value, list):
        for inner in value:
            yield from _schemas_in(inner)


async def test_a_client_generator_reads_every_array_and_keyword_and_the_jsonapi_change(
    anonymous: ApiClient,
) -> None:
    """openapi-python-client skipped `POST /api/v1/reports` (its logs were arrays without `items`), saw 14
    stray `extra` keywords, and made the JSON:API change the native body."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    schemas = list(_schemas_in(document["paths"]))
    assert [schema for schema in schemas if schema.get("type") == "array" and "items" not in schema] == []
    assert [schema for schema in schemas if "extra" in schema] == []
    change = document["paths"]["/api/v1/reports/{reference}"]["patch"]["requestBody"]["content"]
    data = change["application/vnd.api+json"]["schema"]["properties"]["data"]["properties"]
    assert {"type", "id", "attributes", "relationships"} <= set(data)
    assert "severity" in data["attributes"]["properties"]
    # Labels answered are enums, which a generated client types (they were plain strings).
    components = document["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        reference = schema.get("$ref")
        return resolved(components[reference.rsplit("/", 1)[-1]]) if reference else schema

    report, delivery = components["ReportRead"]["properties"], components["DeliveryRead"]["properties"]
    for field in (*(report[name] for name in ("severity", "priority", "category", "source")), delivery["status"]):
        assert "enum" in resolved(field), field


async def test_a_201_says_where_the_new_resource_is_read(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The schema said a 201's address follows (`Location`); none did."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        creations = {
            "/api/v1/projects": {"name": "Blog"},
            "/api/v1/tokens": {"name": "CI"},
            "/api/v1/organization/members": {"email": f"new-{uuid4().hex[:8]}@example.com", "role": "member"},
            "/api/v1/webhooks": {"url": "https://hooks.example.com/lantern", "events": ["report.created"]},
            f"/api/v1/projects/{project['id']}/columns": {"name": "QA"},
        }
        for path, body in creations.items():
            answer = await tenant.client.post(path, json=body)
            assert answer.status_code == 201, answer.text
            made = answer.json()["data"]
            assert answer.headers["location"].startswith(f"{BASE_URL}/api/v1/"), answer.headers
            read = await tenant.client.get(answer.headers["location"])
            assert read.status_code == 200, (path, answer.headers["location"])
            assert read.json()["data"]["id"] == made.get("member", made)["id"]
        sent = await anonymous.post(
            "/api/v1/reports",
            json={"title": "Checkout", "description": "Fails", "severity": "low", "category": "bug"},
            headers={"X-API-Key": project["apiKey"]},
        )
        assert sent.headers["location"] == f"{BASE_URL}/api/v1/reports/{sent.json()['data']['id']}"
        read = await tenant.client.get(sent.headers["location"])
        assert read.json()["data"]["id"] == sent.json()["data"]["id"]
        documented = _operations((await anonymous.get("/schema/openapi.json")).json())
    assert "Location" in documented["post", "/api/v1/projects"]["responses"]["201"]["headers"]
    # Litestar's description of a 201 promised an address ("URL follows") where none is given.
    assert "URL" not in documented["post", "/api/v1/projects/{project_id}/keys"]["responses"]["201"]["description"]


async def test_an_attachments_201_says_where_it_is_read(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """An attachment is read at its own address (BugHerd's "show attachment"), yet its 201 carried no `Location`
    but in JSON:API mode: a link, a file in a form and BugHerd's raw upload alike."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout"}, headers={"X-API-Key": project["apiKey"]}
        )
        attachments = f"/api/v1/reports/{sent.json()['data']['id']}/attachments"
        answers = {
            "link": await tenant.client.post(attachments, json={"url": "https://example.com/log.txt", "name": "log"}),
            "form": await tenant.client.post(attachments, files={"file": ("notes.txt", b"notes", "text/plain")}),
            "raw": await tenant.client.post(
                f"{attachments}/upload?file_name=raw.txt",
                content=b"raw",
                headers={"Content-Type": "application/octet-stream"},
            ),
        }
        read = {
            name: await tenant.client.get(answer.headers.get("location", "/nowhere"))
            for name, answer in answers.items()
        }
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(answers, 201)
    assert {name: answer.json()["data"]["id"] for name, answer in read.items()} == {
        name: answer.json()["data"]["id"] for name, answer in answers.items()
    }


async def test_every_201_that_sends_location_documents_it(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """An attachment's 201, linked or uploaded, sent `Location` and its document did not say so. Every operation
    the document gives a 201 is tried here, in each mode it answers in (a new one is added to the list): those
    that send `Location` document it, and those that document it send it, an address a GET reads."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    answers_201 = {
        operation["operationId"]: operation["responses"]["201"]
        for operation in _operations(document).values()
        if "201" in operation["responses"]
    }
    async with tenants.create() as tenant, ApiClient.for_app(app) as newcomer:
        project = await tenant.create_project("Shop")
        widget = {"X-API-Key": project["apiKey"]}
        report = await anonymous.post("/api/v1/reports", json={"title": "Checkout"}, headers=widget)
        hook = await tenant.client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "events": ["report.created"]}
        )
        hook_path = f"/api/v1/webhooks/{hook.json()['data']['id']}"
        delivery = (await tenant.client.post(f"{hook_path}/ping")).json()["data"]  # no worker here: it waits
        project_path = f"/api/v1/projects/{project['id']}"
        attachments = f"/api/v1/reports/{report.json()['data']['id']}/attachments"
        team = tenant.client

        def fresh() -> str:
            return uuid4().hex[:8]

        async def connect_github(mode: dict[str, str]) -> httpx.Response:
            """A PUT that makes a connection (a project of its own: one connected already is changed, a 200)."""
            unconnected = await tenant.create_project(f"Site {fresh()}")
            github = {"repository": "acme/shop", "token": "ghp_docs"}
            url = f"/api/v1/projects/{unconnected['id']}/integrations/github"
            return await team.put(url, json=github, headers=mode)

        creations: dict[str, Callable[[dict[str, str]], Awaitable[httpx.Response]]] = {
            "Signup": lambda mode: newcomer.post(
                "/api/v1/auth/signup", json=signup_body(f"{fresh()}@example.com", "Ann", "Other"), headers=mode
            ),
            "InviteMember": lambda mode: team.post(
                "/api/v1/organization/members", json={"email": f"{fresh()}@example.com"}, headers=mode
            ),
            "AddProjectMember": lambda mode: team.post(
                f"{project_path}/members", json={"email": f"{fresh()}@example.com"}, headers=mode
            ),
            "CreateProject": lambda mode: team.post("/api/v1/projects", json={"name": "Blog"}, headers=mode),
            "CreateProjectKey": lambda mode: team.post(f"{project_path}/keys", headers=mode),
            "CreateToken": lambda mode: team.post("/api/v1/tokens", json={"name": "CI"}, headers=mode),
            "UploadScreenshot": lambda mode: anonymous.post(
                "/api/v1/upload/screenshot", files={"file": ("shot.png", _png(), "image/png")}, headers=widget | mode
            ),
            "CreateComment": lambda mode: team.post(
                f"/api/v1/reports/{report.json()['data']['id']}/comments", json={"text": "Called"}, headers=mode
            ),
            "CreateReport": lambda mode: anonymous.post(
                "/api/v1/reports", json={"title": "Checkout"}, headers=widget | mode
            ),
            "FileReport": lambda mode: team.post(f"{project_path}/reports", json={"title": "Refused"}, headers=mode),
            "CreateColumn": lambda mode: team.post(f"{project_path}/columns", json={"name": fresh()}, headers=mode),
            "CreateAttachment": lambda mode: team.post(
                attachments, files={"file": ("notes.txt", b"notes", "text/plain")}, headers=mode
            ),
            "UploadAttachment": lambda mode: team.post(
                f"{attachments}/upload?file_name=raw.txt",
                content=b"raw",
                headers={"Content-Type": "application/octet-stream"} | mode,
            ),
            "WidgetSubmit": lambda mode: anonymous.post(
                "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=widget | mode
            ),
            "WidgetSubmitCompat": lambda mode: anonymous.post(
                "/api/widget/submit", json=BUGPIN_EXAMPLE, headers=widget | mode
            ),
            "CreateWebhook": lambda mode: team.post(
                "/api/v1/webhooks",
                json={"url": "https://hooks.example.com/y", "events": ["report.created"]},
                headers=mode,
            ),
            "PingWebhook": lambda mode: team.post(f"{hook_path}/ping", headers=mode),
            "ConnectGitHub": connect_github,
            "RedeliverWebhook": lambda mode: team.post(
                f"{hook_path}/deliveries/{delivery['id']}/redeliver", headers=mode
            ),
        }
        assert set(creations) == set(answers_201)
        sent: dict[str, set[bool]] = {}
        unread = []
        for operation_id, create in creations.items():
            either = MEDIA_TYPE in answers_201[operation_id].get("content", {})
            for mode in [{}, {"Accept": MEDIA_TYPE}] if either else [{}]:
                answer = await create(mode)
                assert answer.status_code == 201, (operation_id, mode, answer.text)
                sent.setdefault(operation_id, set()).add("location" in answer.headers)
                if "location" in answer.headers and (await team.get(answer.headers["location"])).status_code != 200:
                    unread.append((operation_id, mode, answer.headers["location"]))
    assert sent == {
        operation_id: {"Location" in answer.get("headers", {})} for operation_id, answer in answers_201.items()
    }
    assert unread == []


async def test_the_document_is_valid_openapi(anonymous: ApiClient) -> None:
    """A `201`'s `Location` header had neither `schema` nor `content`: validating tools refused the document."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    validate(document)


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


async def test_every_pattern_means_in_ecmascript_what_the_server_checks(anonymous: ApiClient) -> None:
    """Patterns are ECMAScript regular expressions to OpenAPI tools and generated clients: Python's `\\A` and `\\Z`
    anchors do not compile there with the `u` flag, and without it are the letters A and Z, so a client refused
    "Carol" as a name."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    patterns = sorted(set(_patterns(document)))
    assert ONE_LINE_NAME in patterns
    script = """
    const {patterns, samples} = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const broken = patterns.filter((p) => { try { new RegExp(p, "u"); return false; } catch { return true; } });
    const matched = samples.map(([p, text]) => new RegExp(p, "u").test(text));
    console.log(JSON.stringify({broken, matched}));
    """
    samples = [(ONE_LINE_NAME, text) for text in ("Carol", "AliceZ", "Carol\n", " ")]
    samples += [(TRACKING_PREFIX, "BSK"), (TRACKING_PREFIX, "BSK\n"), (ORIGIN, "example.com:8080")]
    ran = subprocess.run(  # noqa: S603 - the node of this environment, with our own script
        [shutil.which("node", path=str(Path(sys.executable).parent)) or "node", "-e", script],
        input=json.dumps({"patterns": patterns, "samples": samples}),
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(ran.stdout)
    assert answer["broken"] == []
    in_python = [re.search(pattern, text) is not None for pattern, text in samples]
    assert answer["matched"] == in_python == [True, True, False, False, True, False, True]


def _request_schema_errors(document: dict[str, Any], method: str, path: str, body: Any, media_type: str) -> list[str]:
    """Why `body` does not fit the request schema the document gives `method path` in `media_type` (none when it
    fits)."""
    return _schema_errors(document, ("paths", path, method, "requestBody", "content", media_type, "schema"), body)


def _answer_schema_errors(document: dict[str, Any], method: str, path: str, answer: httpx.Response) -> list[str]:
    """Why the JSON `answer` does not fit the schema the document gives `method path` for its status (none when
    it fits)."""
    at = ("paths", path, method, "responses", str(answer.status_code), "content", "application/json", "schema")
    return _schema_errors(document, at, answer.json())


def _schema_errors(document: dict[str, Any], at: Sequence[str], value: Any) -> list[str]:
    """Why `value` does not fit the document's schema `at` (a path of keys), its references resolved against the
    document itself."""
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in at)
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, DRAFT202012.create_resource(document))
    validator = Draft202012Validator(
        {"$ref": f"{_DOCUMENT_URI}#/{pointer}"}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(value)]


_DOCUMENT_URI = "urn:lantern:openapi"
# BugSpark's reports API: its create example, as given.
BUGSPARK_REPORT = {
    "title": "結帳按鈕無回應",
    "description": "在行動版 Safari 上點擊「立即付款」沒有反應",
    "severity": "high",
    "category": "bug",
    "reporter_identifier": "user@example.com",
    "metadata": {"page": "/checkout", "cart_total": 49.99},
}


async def test_the_reference_documents_example_bodies_are_taken_and_fit_the_document(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """The bodies BugPin's, BugHerd's and BugSpark's documents give, written as they give them (BugHerd's numeric
    ids are Lantern's UUIDs here; its PUTs are PATCHes): each is taken by the server, and fits the request schema
    the document gives its operation, so a client generated from the document can send it. BugHerd's wrappers,
    `devurl`, `status_id`, `target_url`/`event` and BugSpark's `assignee_id` were taken but not described."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    unfit: list[tuple[str, str, Any, list[str]]] = []
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        token = (await tenant.create_token("BugHerd sync"))["token"]
        widget = {"X-Api-Key": project["apiKey"]}
        testing = await tenant.client.post(f"/api/v1/projects/{project['id']}/columns", json={"name": "testing"})
        assert testing.status_code == 201, testing.text

        async with ApiClient.for_app(app, auth=(token, "x")) as bugherd:  # BugHerd's Basic authentication

            async def sent(client: ApiClient, method: str, path: str, body: Any, **values: str) -> dict[str, Any]:
                headers = widget if client is anonymous else None
                answer = await client.request(method, path.format(**values), json=body, headers=headers)
                assert answer.status_code in {200, 201}, (method, path, body, answer.text)
                if errors := _request_schema_errors(document, method.lower(), path, body, "application/json"):
                    unfit.append((method, path, body, errors))
                if errors := _answer_schema_errors(document, method.lower(), path, answer):
                    unfit.append((method, path, answer.json(), errors))
                return answer.json()  # type: ignore[no-any-return]

            await sent(anonymous, "POST", "/api/widget/submit", BUGPIN_EXAMPLE)
            report = (await sent(anonymous, "POST", "/api/v1/reports", BUGSPARK_REPORT))["data"]
            change = {"status": "in_progress", "severity": "critical", "assignee_id": tenant.user_id}
            await sent(tenant.client, "PATCH", "/api/v1/reports/{reference}", change, reference=report["id"])

            ids = {"project_id": project["id"], "reference": report["trackingId"] or report["id"]}
            bugherd_project = {
                "name": "My Website",
                "devurl": "http://www.example.com",
                "is_active": True,
                "is_public": False,
                "guests_see_guests": False,
            }
            await sent(bugherd, "POST", "/api/v1/projects", {"project": bugherd_project})
            await sent(bugherd, "PATCH", "/api/v1/projects/{project_id}", {"project": {"is_public": True}}, **ids)
            for person in ({"user_id": tenant.user_id}, {"email": "guest@example.com"}):
                await sent(bugherd, "POST", "/api/v1/projects/{project_id}/members", person, **ids)
            tasks = [
                {"task": {"priority": "normal", "status": "backlog", "assigned_to_id": tenant.user_id}},
                {"task": {"status": "todo", "updater_email": tenant.email}},
                {"task": {"assigned_to_id": None}},
                {"task": {"status": "feedback"}},
                {"task": {"status": "done"}},
                {"task": {"status": "testing"}},
                {"task": {"status_id": 5, "tag_names": ["ui", "feature"], "external_id": "ABC123"}},
                {"status_id": 2},
            ]
            for task in tasks:
                await sent(bugherd, "PATCH", "/api/v1/reports/{reference}", task, **ids)
            # Written for someone who sees the report: BugHerd's numeric user_id is a UUID here.
            authors = ({"user_id": tenant.user_id}, {"email": tenant.email})
            for comment in ({"text": "comment here", **author} for author in authors):
                await sent(bugherd, "POST", "/api/v1/reports/{reference}/comments", {"comment": comment}, **ids)
            # BugHerd's new tasks, and ours: filed by the team.
            new_tasks = [
                {
                    "task": {
                        "description": "Example task",
                        "priority": "normal",
                        "status": "backlog",
                        "requester_id": tenant.user_id,
                        "tag_names": ["ui", "feature"],
                        "assigned_to_id": tenant.user_id,
                        "external_id": "ABC123",
                    }
                },
                {
                    "task": {
                        "description": "Example task",
                        "requester_email": "customer@example.com",
                        "assigned_to_email": tenant.email,
                    }
                },
                {"title": "Card refused", "severity": "high", "assigneeEmail": tenant.email, "tags": ["phone"]},
            ]
            for task in new_tasks:
                await sent(bugherd, "POST", "/api/v1/projects/{project_id}/reports", task, **ids)
            link = {"attachment": {"file_name": "resolution.gif", "url": "http://i.imgur.com/U9h3jZI.gif"}}
            await sent(bugherd, "POST", "/api/v1/reports/{reference}/attachments", link, **ids)
            hook = {
                "project_id": project["id"],
                "target_url": "https://app.example.com/api/bugherd_sync/project/1/task_create",
                "event": "task_create",
            }
            await sent(bugherd, "POST", "/api/v1/webhooks", hook)
            # The multipart form of BugPin's submit: the same JSON in its part `data`, a screenshot in `media`.
            form = {"data": json.dumps({**BUGPIN_EXAMPLE, "title": "Bug report", "priority": "medium"})}
            media = {"media": ("screenshot.png", _png(), "image/png")}
            multipart = await anonymous.post("/api/widget/submit", data=form, files=media, headers=widget)
    assert multipart.status_code == 201, multipart.text
    assert unfit == []
    part = document["paths"]["/api/widget/submit"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert part["schema"]["properties"]["data"]["contentMediaType"] == "application/json"
    assert Draft202012Validator(part["schema"]["properties"]["data"]["contentSchema"]).is_valid(
        json.loads(form["data"])
    )


# Operations that take a project's widget key, not the team's credentials.
_WIDGET_OPERATIONS = {("post", "/api/v1/widget/submit"), ("post", "/api/v1/reports")}
FILED = "/api/v1/projects/{project_id}/reports"
CHANGED = "/api/v1/reports/{reference}"
COMMENTS = "/api/v1/reports/{reference}/comments"
MEMBERS = "/api/v1/projects/{project_id}/members"
GITHUB = "/api/v1/projects/{project_id}/integrations/github"
ATTACHMENTS = "/api/v1/reports/{reference}/attachments"


async def _sent_to(
    tenant: Tenant, anonymous: ApiClient, widget_key: str, sent: tuple[str, str, Any, str], ids: dict[str, str]
) -> httpx.Response:
    """`sent`'s body (method, path, body, media type) sent to its operation on the objects of `ids`, with the
    credentials the operation takes."""
    method, path, body, media_type = sent
    client, key = (anonymous, widget_key) if (method, path) in _WIDGET_OPERATIONS else (tenant.client, None)
    headers = {"Content-Type": media_type, **({"X-API-Key": key} if key else {})}
    return await client.request(method.upper(), path.format(**ids), content=json.dumps(body), headers=headers)


HOOK = "https://hooks.example.com/x"


async def test_a_body_the_server_refuses_does_not_fit_the_document_either(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The schemas that take other products' forms still say what is refused: a client learns it before sending.
    So do the rules across fields: a filed report's title or a description to take it from (`{}` and
    `{"task": {}}` fitted), a person named by id or by address but not both, a text or BugHerd's comment that
    is not null, a title that is more than spaces, a webhook's http(s) address, a partial widget configuration,
    a JSON:API document's members."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    async with tenants.create() as tenant:
        me, my_address = tenant.user_id, tenant.email
        late = {**BUGPIN_EXAMPLE, "metadata": {**BUGPIN_EXAMPLE["metadata"], "timestamp": "yesterday"}}
        refused = [
            ("post", "/api/v1/projects", {"project": {"name": "Blog", "colour": "red"}}),  # an unknown field
            ("post", "/api/v1/projects", {"project": {"name": "Blog"}, "name": "Blog"}),  # no wrapper beside fields
            ("patch", CHANGED, {"task": {"priority": "urgent"}}),
            ("post", FILED, {"task": {"description": "Example", "priority": "urgent"}}),
            ("post", FILED, {"title": "Card refused", "assignedToEmail": "a@b.example"}),
            ("post", "/api/v1/webhooks", {"targetUrl": HOOK, "target_url": HOOK, "event": "task_create"}),  # twice
            ("post", "/api/v1/webhooks", {"url": HOOK, "events": ["task_create"], "event": "task_create"}),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"url": HOOK, "target_url": HOOK}),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"events": ["comment"], "event": "comment"}),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"event": ["comment"]}),  # BugHerd's one event, not a list
            ("post", COMMENTS, {"internal": True}),
            # Events in neither our names nor BugHerd's, or none: the document listed no names.
            ("post", "/api/v1/webhooks", {"url": "https://hooks.example.com/x", "events": ["task_created"]}),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"events": []}),
            # No title, and no description whose first line is one.
            ("post", FILED, {}),
            ("post", FILED, {"task": {}}),
            ("post", FILED, {"description": "ab\nCard refused at the checkout"}),
            ("post", FILED, {"title": "    ", "description": "Card refused"}),
            ("patch", CHANGED, {"title": "    "}),
            ("post", "/api/v1/reports", {"title": "    "}),
            ("post", "/api/v1/widget/submit", {**BUGPIN_EXAMPLE, "title": "    "}),
            ("post", "/api/v1/widget/submit", late),
            # A person by id and by address at once, under any of their names.
            ("post", FILED, {"title": "Card refused", "assigneeId": me, "assignee_email": my_address}),
            ("post", FILED, {"task": {"description": "Example", "requester_id": me, "requester_email": my_address}}),
            ("post", COMMENTS, {"text": "Called back", "userId": me, "email": my_address}),
            ("post", COMMENTS, {"comment": {"text": "Called back", "user_id": me, "email": my_address}}),
            ("post", MEMBERS, {"user_id": me, "email": my_address}),
            # A field under two of its names; a column by name and by number, null or not.
            ("patch", CHANGED, {"assigneeId": me, "assignee_id": None}),
            ("patch", CHANGED, {"task": {"assigned_to_id": me, "assignee_id": None}}),
            ("patch", CHANGED, {"task": {"assigned_to_id": me, "assigneeId": None}}),
            ("patch", CHANGED, {"status": "todo", "status_id": 4}),
            ("patch", CHANGED, {"status": None, "statusId": 4}),
            (
                "post",
                "/api/v1/reports",
                {"title": "Checkout fails", "reporterIdentifier": "x", "reporter_identifier": "y"},
            ),
            (
                "post",
                "/api/v1/projects",
                {"project": {"name": "Blog", "devurl": "https://a.example", "siteUrl": "https://b.example"}},
            ),
            # What is required is not null.
            ("post", COMMENTS, {"text": None}),
            ("post", COMMENTS, {"comment": None}),
            ("post", MEMBERS, {"userId": None}),
            ("patch", CHANGED, {"task": {"updater_email": 5}}),
            ("patch", CHANGED, {"task": {"priority": "Urgent"}}),
            ("post", "/api/v1/projects", {"name": "Blog", "widgetConfig": {"theme": "pink"}}),
            ("post", "/api/v1/projects", {"project": {"name": "Blog", "widget_config": {"colour": "red"}}}),
            ("post", "/api/v1/webhooks", {"url": "ftp://hooks.example.com/x", "events": ["task_create"]}),
            ("post", "/api/v1/webhooks", {"target_url": "hooks.example.com/x", "event": "comment"}),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"url": "hooks.example.com/x"}),
            # Unknown fields, where the body's type refuses them: Litestar's schemas of such types allowed any.
            ("patch", "/api/v1/organization", {"colour": "red"}),
            ("patch", "/api/v1/organization", {"security": {"foo": True}}),
            ("post", "/api/v1/organization/members", {"email": "new@example.com", "team": "QA"}),
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "colour": "red"}),
            # A language Lantern ships; an address's domain. (A time zone is an IANA name, which the document says
            # in words: too many names for an enum, and no pattern tells them. A known limit, not sent here.)
            ("patch", "/api/v1/organization", {"defaultLocale": "xx"}),
            ("patch", "/api/v1/organization", {"security": {"allowedEmailDomains": ["not a domain"]}}),
            # A link to a file, bare or in BugHerd's wrapper, with an unknown field (it was taken, and fitted).
            ("post", ATTACHMENTS, {"url": "https://files.example.com/a.log", "colour": "red"}),
            ("post", ATTACHMENTS, {"attachment": {"url": "https://files.example.com/a.log", "size": 5}}),
            # A list's items keep their rules: a GitHub label is 1 to 50 characters.
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "labels": [""]}),
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "labels": ["x" * 51]}),
            # An address Lantern calls: http(s), a port up to 65535.
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "apiUrl": "ftp://github.example.com"}),
            ("post", "/api/v1/webhooks", {"url": "https://hooks.example.com:99999/x", "events": ["task_create"]}),
        ]
        documents = [  # JSON:API changes: attributes or relationships, the assignee's only, nothing beside
            ("patch", CHANGED, {"data": {"type": "report"}}),
            ("patch", CHANGED, {"data": {"type": "report", "relationships": {"project": {"data": None}}}}),
            ("patch", CHANGED, {"data": {"type": "report", "attributes": {"severity": "low"}}, "links": {}}),
            ("patch", CHANGED, {"data": {"type": "report", "attributes": {"severity": "low"}, "links": {}}}),
            ("patch", CHANGED, {"data": {"type": "report", "attributes": {}}, "jsonapi": {"version": "2.0"}}),
            ("patch", CHANGED, {"data": {"attributes": {"severity": "low"}}}),
            (
                "patch",
                CHANGED,
                {
                    "data": {
                        "type": "report",
                        "attributes": {"assignee_id": None},
                        "relationships": {"assignee": {"data": {"type": "user", "id": me}}},
                    }
                },
            ),
        ]
        project = await tenant.create_project("Shop")
        created = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout fails"}, headers={"X-API-Key": project["apiKey"]}
        )
        hook = {"url": "https://hooks.example.com/x", "events": ["task_update"]}
        ids = {
            "project_id": project["id"],
            "reference": created.json()["data"]["id"],
            "webhook_id": (await tenant.client.post("/api/v1/webhooks", json=hook)).json()["data"]["id"],
        }
        assert _request_schema_errors(document, "post", "/api/v1/webhooks", hook, "application/json") == []
        forms = [(*sent, "application/json") for sent in refused] + [(*sent, MEDIA_TYPE) for sent in documents]
        for method, path, body, media_type in forms:
            answer = await _sent_to(tenant, anonymous, project["apiKey"], (method, path, body, media_type), ids)
            assert answer.status_code == 400, (path, body, answer.text)
            assert _request_schema_errors(document, method, path, body, media_type) != [], (path, body)


async def test_a_body_that_fits_the_document_is_taken(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The other way round, at the edges of the rules across fields: a null is no value (a person by id and a
    null address), BugHerd's priorities in any case, a title with spaces around it, a description whose first
    line is the title, a webhook's address as pasted, a timestamp as RFC 3339 allows it, a partial widget
    configuration, a JSON:API change of a relationship alone."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    async with tenants.create() as tenant:
        me, my_address = tenant.user_id, tenant.email
        offset = {**BUGPIN_EXAMPLE, "metadata": {**BUGPIN_EXAMPLE["metadata"], "timestamp": "2024-01-15 10:30:00+0100"}}
        taken = [
            ("post", FILED, {"title": None, "description": "\n  Card refused \nAt the checkout"}),
            ("post", FILED, {"task": {"description": "Card refused", "priority": "Normal"}}),
            ("post", FILED, {"task": {"description": "Card refused", "priority": "NOT SET"}}),
            ("post", FILED, {"title": "Card refused", "assigneeId": None, "assigneeEmail": my_address}),
            ("post", FILED, {"task": {"description": "Card refused", "requester_id": me, "requester_email": None}}),
            ("patch", CHANGED, {"task": {"priority": "Critical", "updater_email": None}}),
            ("patch", CHANGED, {"task": {"priority": "High"}}),
            ("patch", CHANGED, {"title": "  Checkout fails  "}),
            ("post", COMMENTS, {"text": "Called back", "userId": None, "email": my_address}),
            ("post", COMMENTS, {"comment": {"text": "Called back", "user_id": None, "email": my_address}}),
            ("post", MEMBERS, {"user_id": me, "email": None}),
            ("post", "/api/v1/projects", {"name": "Blog", "widgetConfig": {"features": {"screenshot": False}}}),
            ("post", "/api/v1/webhooks", {"url": " HTTPS://hooks.example.com/lantern ", "events": ["task_create"]}),
            ("post", "/api/v1/webhooks", {"url": "https://hooks.example.com:8443/x", "events": ["task_create"]}),
            ("post", "/api/v1/webhooks", {"targetUrl": HOOK, "event": "task_create"}),  # BugHerd's, in camelCase
            # A change in BugHerd's names, as a new webhook takes them.
            (
                "patch",
                "/api/v1/webhooks/{webhook_id}",
                {"target_url": HOOK, "event": "task_update", "project_id": None},
            ),
            ("patch", "/api/v1/webhooks/{webhook_id}", {"targetUrl": HOOK, "events": ["comment"]}),
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "apiUrl": "HTTPS://ghe.example.com/api/v3"}),
            ("put", GITHUB, {"repository": "acme/shop", "token": "ghp_x", "apiUrl": ""}),
            ("patch", "/api/v1/organization", {"defaultLocale": "zh-Hant"}),
            ("patch", "/api/v1/organization", {"defaultLocale": "DE_at", "timezone": "Europe/Berlin"}),
            ("post", "/api/v1/widget/submit", offset),
            ("post", "/api/v1/reports", {"title": " Checkout fails "}),
        ]
        documents = [
            ("patch", CHANGED, {"data": {"type": "report", "relationships": {"assignee": {"data": None}}}}),
            # The `jsonapi` object and `meta` any document may carry, and a resource object's `meta`.
            (
                "patch",
                CHANGED,
                {
                    "data": {"type": "report", "attributes": {"severity": "low"}, "meta": {"by": "sync"}},
                    "jsonapi": {"version": "1.1", "profile": []},
                    "meta": {"requestId": "r-1"},
                },
            ),
        ]
        project = await tenant.create_project("Shop")
        created = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout fails"}, headers={"X-API-Key": project["apiKey"]}
        )
        hook = await tenant.client.post("/api/v1/webhooks", json={"url": HOOK, "events": ["task_update"]})
        ids = {
            "project_id": project["id"],
            "reference": created.json()["data"]["id"],
            "webhook_id": hook.json()["data"]["id"],
        }
        forms = [(*sent, "application/json") for sent in taken] + [(*sent, MEDIA_TYPE) for sent in documents]
        unfit = []
        for method, path, body, media_type in forms:
            answer = await _sent_to(tenant, anonymous, project["apiKey"], (method, path, body, media_type), ids)
            assert answer.status_code in {200, 201}, (path, body, answer.text)
            if errors := _request_schema_errors(document, method, path, body, media_type):
                unfit.append((path, body, errors))
    assert unfit == []


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def _answers_bytes(handler: HTTPRouteHandler) -> bool:
    returned = handler.parsed_fn_signature.return_type
    if returned.is_subclass_of((File, Stream)):
        return True
    return returned.is_subclass_of(Response) and [inner.annotation for inner in returned.inner_types] == [bytes]


async def test_every_operation_that_answers_bytes_documents_their_media_type(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """Screenshots, thumbnails and attachment downloads were documented as JSON; a client generated from the
    document tried to decode an image. Each names the types it answers in, and its answer while the file waits
    for its worker (a thumbnail's `202` without a body, an image's `409` envelope), each with `Retry-After`."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    downloads = {
        (method.lower(), re.sub(r"{(\w+):\w+}", r"{\1}", route.path)): handler.operation_id
        for route in app.routes
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items()
        if method != "HEAD" and handler.resolve_include_in_schema() and _answers_bytes(handler)
    }
    operations = _operations(document)
    documented = {key: operations[key]["responses"] for key in downloads if key in operations}
    assert {operation_id for key, operation_id in downloads.items() if key in operations} >= {
        "GetScreenshot",
        "GetScreenshotThumbnail",
        "DownloadAttachment",
        "GetAttachmentThumbnail",
        "WidgetScript",
    }
    for key, responses in documented.items():
        media_types = set(responses["200"].get("content", {}))
        assert media_types, key
        assert not {media_type for media_type in media_types if "json" in media_type}, key
    screenshot = "/api/v1/reports/{reference}/screenshots/{screenshot_id}"
    shots = operations["get", screenshot]["responses"]
    assert set(shots["200"]["content"]) == {"image/png", "image/jpeg", "image/webp"}
    counted = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}  # the files' bucket
    assert set(shots["409"]["headers"]) == {"Retry-After", *counted}
    assert shots["409"]["content"] == {"application/json": {"schema": ERROR_REF}}
    pending = operations["get", f"{screenshot}/thumbnail"]["responses"]["202"]
    assert ("content" not in pending, set(pending["headers"])) == (True, {"Retry-After", *counted})
    attachment = operations["get", "/api/v1/reports/{reference}/attachments/{attachment_id}/content"]["responses"]
    assert set(attachment["200"]["content"]) == {"application/octet-stream"}

    # What the server answers is what the document says. No worker runs: the image stays pending.
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        widget = {"X-API-Key": project["apiKey"]}
        upload = await anonymous.post(
            "/api/v1/upload/screenshot", files={"file": ("shot.png", _png(), "image/png")}, headers=widget
        )
        body = {"title": "Checkout fails", "screenshot_url": upload.json()["key"]}
        report = (await anonymous.post("/api/v1/reports", json=body, headers=widget)).json()["data"]
        shot = (await tenant.client.get(f"/api/v1/reports/{report['id']}")).json()["data"]["screenshots"][0]
        image = await tenant.client.get(shot["url"])
        thumbnail = await tenant.client.get(f"{shot['url'].rstrip('/')}/thumbnail")
        files = {"file": ("notes.txt", b"steps to reproduce", "text/plain")}
        added = await tenant.client.post(f"/api/v1/reports/{report['id']}/attachments", files=files)
        download = await tenant.client.get(added.json()["data"]["url"])
    assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
    assert (thumbnail.status_code, thumbnail.content, "retry-after" in thumbnail.headers) == (202, b"", True)
    assert (download.status_code, download.headers["content-type"]) == (200, "application/octet-stream")


# openapi-python-client reads binary answers as `application/octet-stream` alone: an image it leaves out of the
# client (`Unsupported content_type`), whatever the document says of it. Its limit, not the document's.
IMAGE_ANSWERS = frozenset(
    {
        "GET /api/v1/reports/{reference}/screenshots/{screenshot_id}",
        "GET /api/v1/reports/{reference}/screenshots/{screenshot_id}/thumbnail",
        "GET /api/v1/reports/{reference}/attachments/{attachment_id}/thumbnail",
    }
)


async def test_openapi_python_client_generates_every_operation_of_the_document(
    anonymous: ApiClient, tmp_path: Path
) -> None:
    """A project's body held `WidgetConfig` written out twice (`widgetConfig`, `widget_config`): the generator
    dropped the JSON body of CreateProject, PutProject and UpdateProject, whose clients then sent the JSON:API
    document alone and failed to read the answer. Each operation it could not read is a warning of its own."""
    document = tmp_path / "openapi.json"
    document.write_bytes((await anonymous.get("/schema/openapi.json")).content)
    generator = Path(sys.executable).parent / "openapi-python-client"
    ran = subprocess.run(  # noqa: S603 - this environment's generator, on the document just served
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "client"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    warned = set(re.findall(r"WARNING parsing (\S+ \S+) within", ran.stdout + ran.stderr))
    assert warned == IMAGE_ANSWERS, ran.stdout + ran.stderr
    create = (tmp_path / "client" / "api" / "projects" / "create_project.py").read_text()
    assert '"application/json"' in create  # the body a BugHerd or Lantern client sends
    # A body that needs one of two fields has all its fields: its models were that condition's field alone.
    comment = (tmp_path / "client" / "models" / "create_comment_json_comment_create.py").read_text()
    assert {"text:", "comment:", "internal:", "user_id:", "email:"} <= set(
        re.findall(r"^    (\w+:)", comment, re.MULTILINE)
    )


async def test_a_reports_screenshots_are_documented_field_by_field(anonymous: ApiClient) -> None:
    """They were objects of anything: a client generated from the document read them as bare dicts."""
    components = (await anonymous.get("/schema/openapi.json")).json()["components"]["schemas"]
    items = components["ReportRead"]["properties"]["screenshots"]["items"]
    screenshot = components[items["$ref"].removeprefix("#/components/schemas/")]
    assert set(screenshot["properties"]) == {
        "id",
        "status",
        "annotated",
        "width",
        "height",
        "url",
        "thumbnailUrl",
        "error",
        "errorCode",
    }
    assert set(screenshot["required"]) == set(screenshot["properties"])
    status = screenshot["properties"]["status"]
    assert set(components[status["$ref"].removeprefix("#/components/schemas/")]["enum"]) == {
        "pending",
        "ready",
        "failed",
    }


async def test_an_object_of_any_fields_says_so(anonymous: ApiClient) -> None:
    """With neither fields nor `additionalProperties`, openapi-typescript typed BugSpark's `metadata`, the widget's
    `annotations` and `branding`, and JSON:API's `relationships` `Record<string, never>`: bodies the server takes
    did not compile."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    closed = [
        schema
        for schema in _schemas_in(document)
        if schema.get("type") == "object"
        and not {"properties", "additionalProperties", "patternProperties"} & schema.keys()
    ]
    assert closed == []


async def test_every_field_an_answer_always_holds_is_required(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """An answer is encoded whole, yet a field with a default was optional in the document: a generated client typed
    `success`, the widget's settings and a member's invitation link optional. Each answer read here has them all;
    a struct a body holds too (`WidgetConfig`) keeps its defaults optional, as a body may leave them out."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    components = document["components"]["schemas"]
    assert "success" in components["ReportReadEnvelope"]["required"]
    assert components["WidgetSettings"]["required"] == list(components["WidgetSettings"]["properties"])
    assert "features" not in components["WidgetConfig"].get("required", [])
    unfit: list[tuple[str, list[str]]] = []
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        filed = await anonymous.post("/api/v1/reports", json=BUGSPARK_REPORT, headers={"X-Api-Key": project["apiKey"]})
        assert filed.status_code == 201, filed.text
        reads = {
            "/api/v1/auth/me": "/api/v1/auth/me",
            "/api/v1/organization": "/api/v1/organization",
            "/api/v1/organization/members": "/api/v1/organization/members",
            "/api/v1/projects": "/api/v1/projects",
            "/api/v1/projects/{project_id}": f"/api/v1/projects/{project['id']}",
            "/api/v1/reports": "/api/v1/reports",
            "/api/v1/reports/{reference}": f"/api/v1/reports/{filed.json()['data']['id']}",
            "/api/v1/jobs": "/api/v1/jobs",
            "/api/v1/widget/config/{api_key}": f"/api/v1/widget/config/{project['apiKey']}",
        }
        for path, address in reads.items():
            answer = await tenant.client.get(address)
            assert answer.status_code == 200, (address, answer.text)
            if errors := _answer_schema_errors(document, "get", path, answer):
                unfit.append((address, errors))
    assert unfit == []


async def test_a_webhooks_address_says_its_password_is_write_only(anonymous: ApiClient) -> None:
    """The document said nothing of the password a webhook's address may carry (HTTP Basic): that answers show it as
    `********`, and that the address sent back so keeps it."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    create = document["paths"]["/api/v1/webhooks"]["post"]["requestBody"]["content"]
    change = document["paths"]["/api/v1/webhooks/{webhook_id}"]["patch"]["requestBody"]["content"]
    ours, bugherds = create["application/json"]["schema"]["oneOf"]
    documents = [body[MEDIA_TYPE]["schema"]["properties"]["data"]["properties"] for body in (create, change)]
    taken = [
        ours["properties"]["url"],
        bugherds["properties"]["target_url"],
        change["application/json"]["schema"]["properties"]["url"],
        *(data["attributes"]["properties"]["url"] for data in documents),
    ]
    for field in taken:
        assert "The password is write-only: answers show it as `********`" in field["description"], field
        assert "keeps the password Lantern holds" in field["description"], field
    answered = document["components"]["schemas"]["WebhookRead"]["properties"]["url"]["description"]
    assert "shown as `********`, never itself" in answered
