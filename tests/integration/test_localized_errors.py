"""Error envelopes over HTTP speak the negotiated language: ?lang=, the user's preference, Accept-Language,
the organization's default, English — and say so in Content-Language and Vary."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.clients import ApiClient, Tenant, TenantFactory

SIGNUP = "/api/v1/auth/signup"


def signup_body(**changes: Any) -> dict[str, Any]:
    body = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct horse battery staple",
        "name": "Mei",
        "organization": {"name": "Night Market"},
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


def assert_error(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["success"], body["error"], body["message"]) == (False, code, message)
    assert isinstance(body["details"], list)  # the envelope's every key, also when no field is to blame


def assert_language(response: httpx.Response, tag: str) -> None:
    assert response.headers["content-language"] == tag
    assert "Accept-Language" in response.headers.get_list("vary", split_commas=True)


async def missing_project(tenant: Tenant, **headers: str) -> httpx.Response:
    return await tenant.client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=headers)


async def test_unknown_route_answers_in_traditional_chinese_for_zh_tw(anonymous: ApiClient) -> None:
    response = await anonymous.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-TW"})
    assert_error(response, 404, "NOT_FOUND", "找不到要求的資源。")
    assert_language(response, "zh-Hant-TW")


async def test_unknown_route_answers_in_simplified_chinese_for_zh_cn(anonymous: ApiClient) -> None:
    response = await anonymous.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN"})
    assert_error(response, 404, "NOT_FOUND", "找不到请求的资源。")


async def test_lang_parameter_overrides_accept_language(anonymous: ApiClient) -> None:
    response = await anonymous.get("/api/v1/no-such-thing?lang=ja", headers={"Accept-Language": "zh-TW, de;q=0.9"})
    assert_error(response, 404, "NOT_FOUND", "指定されたリソースが見つかりません。")


async def test_quality_values_pick_the_preferred_language(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        response = await missing_project(tenant, **{"Accept-Language": "zh-TW;q=0.1, de;q=0.9"})
    assert_error(response, 404, "NOT_FOUND", "Die angeforderte Ressource wurde nicht gefunden.")
    assert_language(response, "de")


async def test_validation_details_name_the_field_in_german(anonymous: ApiClient) -> None:
    headers = {"Accept-Language": "de-AT"}
    short = await anonymous.post(SIGNUP, json=signup_body(password="short", name=None), headers=headers)
    missing = await anonymous.post(SIGNUP, json=signup_body(name=None), headers=headers)
    nested = await anonymous.post(SIGNUP, json=signup_body(organization={}), headers=headers)
    wrong_type = await anonymous.post(SIGNUP, json=signup_body(name=42), headers=headers)
    for response in (short, missing, nested, wrong_type):
        assert_error(response, 400, "VALIDATION_ERROR", "Die Anfrage ist ungültig.")
        assert_language(response, "de")
    # Every bad field of a body at once (msgspec alone stops at the first).
    assert short.json()["details"] == [
        {"field": "password", "message": "Muss mindestens 10 Zeichen lang sein."},
        {"field": "name", "message": "Dieses Feld ist erforderlich."},
    ]
    assert missing.json()["details"] == [{"field": "name", "message": "Dieses Feld ist erforderlich."}]
    assert nested.json()["details"] == [{"field": "organization.name", "message": "Dieses Feld ist erforderlich."}]
    assert wrong_type.json()["details"] == [{"field": "name", "message": "Muss ein Text sein."}]
    empty = await anonymous.post(SIGNUP, json=signup_body(name=""), headers=headers)  # not "at least 1 character"
    assert empty.json()["details"] == [{"field": "name", "message": "Dieses Feld ist erforderlich."}]


async def test_validation_details_in_traditional_chinese(anonymous: ApiClient) -> None:
    response = await anonymous.post(SIGNUP, json=signup_body(password="short"), headers={"Accept-Language": "zh-HK"})
    assert_error(response, 400, "VALIDATION_ERROR", "要求無效。")
    assert response.json()["details"] == [{"field": "password", "message": "長度至少須為 10 個字元。"}]
    assert_language(response, "zh-Hant-TW")


async def test_successful_responses_carry_the_language_too(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        response = await tenant.client.get("/api/v1/auth/me", headers={"Accept-Language": "es-419"})
    assert response.status_code == 200
    assert_language(response, "es")


async def test_wrong_login_in_japanese(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        response = await anonymous.post(
            "/api/v1/auth/login",
            json={"email": tenant.email, "password": "not the password"},
            headers={"Accept-Language": "ja-JP,en;q=0.5"},
        )
    assert_error(response, 401, "UNAUTHORIZED", "メールアドレスまたはパスワードが正しくありません。")
    assert_language(response, "ja")


async def test_saved_preference_beats_accept_language(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        saved = await tenant.client.patch("/api/v1/auth/me", json={"locale": "es"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["data"]["locale"] == "es"
        response = await missing_project(tenant, **{"Accept-Language": "de"})
        explicit = await tenant.client.get(f"/api/v1/projects/{uuid.uuid4()}?lang=zh-TW")
    assert_error(response, 404, "NOT_FOUND", "No se encontró el recurso solicitado.")
    assert_language(response, "es")
    assert_error(explicit, 404, "NOT_FOUND", "找不到要求的資源。")


async def test_saved_preference_is_stored_as_a_shipped_locale(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        refused = await tenant.client.patch("/api/v1/auth/me?lang=de", json={"locale": "tlh"})
        saved = await tenant.client.patch("/api/v1/auth/me", json={"locale": "zh-TW"})
    assert saved.json()["data"]["locale"] == "zh_Hant_TW"
    assert_error(refused, 400, "VALIDATION_ERROR", "Die Anfrage ist ungültig.")
    assert refused.json()["details"] == [{"field": "locale", "message": "Diese Sprache ist nicht verfügbar."}]


async def test_organization_default_applies_without_accept_language(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        updated = await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "ja"})
        assert updated.status_code == 200, updated.text
        response = await missing_project(tenant)
        negotiated = await missing_project(tenant, **{"Accept-Language": "zh-CN"})
    assert "accept-language" not in response.request.headers
    assert_error(response, 404, "NOT_FOUND", "指定されたリソースが見つかりません。")
    assert_language(response, "ja")
    assert_error(negotiated, 404, "NOT_FOUND", "找不到请求的资源。")
    assert_language(negotiated, "zh-Hans-CN")


async def test_english_without_any_preference(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        response = await missing_project(tenant, **{"Accept-Language": "fr-CA, fr;q=0.9"})
    assert_error(response, 404, "NOT_FOUND", "The requested resource was not found.")
    assert_language(response, "en")


async def test_every_field_error_of_a_body_is_told_at_once(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """msgspec stops at a body's first error; a client is told them all, nested fields included."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        submission = {"title": "ab", "priority": "urgent", "metadata": {"url": "https://shop.example/", "browser": 5}}
        response = await anonymous.post(
            "/api/v1/widget/submit?lang=de", json=submission, headers={"X-API-Key": project["apiKey"]}
        )
        assert response.status_code == 400, response.text
        details = {detail["field"]: detail["message"] for detail in response.json()["details"]}
        assert details == {
            "title": "Muss mindestens 4 Zeichen lang sein.",
            "priority": details["priority"],
            "metadata.browser": details["metadata.browser"],
            "metadata.device": details["metadata.device"],
            "metadata.viewport": details["metadata.viewport"],
            "metadata.timestamp": details["metadata.timestamp"],
        }
        assert details["metadata.device"] == details["metadata.timestamp"] != details["metadata.browser"]
        # A value that is no choice is told which are (its priorities), in the reader's words.
        assert details["priority"] == (
            "Dieser Wert gehört nicht zu den zulässigen Optionen. Möglich sind: lowest, low, medium, high, highest."
        )

        project_body = {"siteUrl": "shop.example", "colour": "teal", "rateLimitPerMinute": 0}
        refused = await tenant.client.post("/api/v1/projects", json=project_body)
        fields = [detail["field"] for detail in refused.json()["details"]]
        assert sorted(fields) == ["colour", "name", "rateLimitPerMinute", "siteUrl"]


async def test_numbers_in_messages_are_written_the_readers_way(tenants: TenantFactory, anonymous: ApiClient) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        long = {"title": "Checkout", "description": "x" * 20_001}
        response = await anonymous.post(
            "/api/v1/reports", json=long, headers={"X-API-Key": project["apiKey"], "Accept-Language": "de"}
        )
    assert_error(response, 400, "VALIDATION_ERROR", "Die Anfrage ist ungültig.")
    assert response.json()["details"] == [
        {"field": "description", "message": "Darf höchstens 20.000 Zeichen lang sein."}
    ]


async def test_a_query_value_not_taken_is_told_which_are(tenants: TenantFactory) -> None:
    """A body's field said "Use one of: …"; a query parameter only that the value was not one of them."""
    async with tenants.create() as tenant:
        severity = await tenant.client.get("/api/v1/reports?severity=High")
        category = await tenant.client.get("/api/v1/reports?category=BUG&lang=de")
        role = await tenant.client.get("/api/v1/organization/members?role=bogus")
        filtered = await tenant.client.get("/api/v1/reports?filter[severity]=urgent")
    # JSON:API's filter lists them in the same order, not alphabetically.
    assert "critical, high, medium, low" in filtered.json()["details"][0]["message"], filtered.text
    for refused, field in ((severity, "severity"), (category, "category"), (role, "role")):
        assert refused.status_code == 400, refused.text
        [detail] = refused.json()["details"]
        assert detail["field"] == field
    assert "critical, high, medium, low" in severity.json()["details"][0]["message"], severity.text
    assert "bug, ui, performance, crash, other" in category.json()["details"][0]["message"], category.text
    assert "Möglich sind: bug, ui" in category.json()["details"][0]["message"]  # in the request's language
    assert "owner" in role.json()["details"][0]["message"], role.text


async def test_a_form_opened_with_lang_is_refused_in_that_language(tenants: TenantFactory) -> None:
    """`?lang=` was on the one address alone: the form on that page posts to its own, and came back refused in
    English. The page's language stays in the browser, as the language switcher's does."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        opened = await tenant.client.get("/ui/reports/new?lang=ja")
        assert '<html lang="ja">' in opened.text
        refused = await tenant.client.post("/ui/reports/new", data={"project_id": project["id"], "title": "No"})
    assert refused.status_code == 400, refused.text
    assert '<html lang="ja">' in refused.text
