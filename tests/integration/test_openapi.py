"""The OpenAPI document is served and every operation has a stable, explicit id."""

from __future__ import annotations

from typing import Any

from tests.support.clients import ApiClient, TenantFactory


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


async def test_the_upload_is_documented_as_the_part_it_reads(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """The document names the multipart part `file`, and a client that sends another name is told so."""
    document = (await anonymous.get("/schema/openapi.json")).json()
    body = document["paths"]["/api/v1/upload/screenshot"]["post"]["requestBody"]["content"]["multipart/form-data"]
    schema = document["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]
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


async def test_bodies_read_by_their_handlers_are_documented(anonymous: ApiClient) -> None:
    """The widget submit, BugSpark's create, the report change and the attachment read their bodies themselves
    (JSON or multipart, other products' wrappers); the document still describes what they take."""
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
    assert "statusId" in body("/api/v1/reports/{reference}", "patch")["application/json"]["schema"]["properties"]
    attachment = body("/api/v1/reports/{reference}/attachments", "post")
    assert attachment["multipart/form-data"]["schema"]["required"] == ["file"]
    assert "url" in attachment["application/json"]["schema"]["properties"]
