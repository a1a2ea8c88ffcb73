"""Error envelopes over HTTP speak the negotiated language: ?lang=, the user's preference, Accept-Language,
the organization's default, English — and say so in Content-Language and Vary."""

from __future__ import annotations

import json
import re
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


async def test_an_unknown_address_under_the_schema_answers_as_any_unknown_address(anonymous: ApiClient) -> None:
    """Litestar answered /schema/anything with an English HTML page of its own."""
    for method in ("GET", "HEAD"):
        response = await anonymous.request(method, "/schema/swagger", headers={"Accept-Language": "zh-CN"})
        assert (response.status_code, response.headers["content-type"]) == (404, "application/json"), method
    assert_error(
        await anonymous.get("/schema/foo", headers={"Accept-Language": "zh-CN"}), 404, "NOT_FOUND", "找不到请求的资源。"
    )
    assert (await anonymous.get("/schema/openapi.json")).status_code == 200


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
        assert saved.json()["data"]["user"]["locale"] == "es"
        response = await missing_project(tenant, **{"Accept-Language": "de"})
        explicit = await tenant.client.get(f"/api/v1/projects/{uuid.uuid4()}?lang=zh-TW")
    assert_error(response, 404, "NOT_FOUND", "No se encontró el recurso solicitado.")
    assert_language(response, "es")
    assert_error(explicit, 404, "NOT_FOUND", "找不到要求的資源。")


async def test_saved_preference_is_stored_as_a_shipped_locale(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        refused = await tenant.client.patch("/api/v1/auth/me?lang=de", json={"locale": "tlh"})
        saved = await tenant.client.patch("/api/v1/auth/me", json={"locale": "zh-TW"})
    assert saved.json()["data"]["user"]["locale"] == "zh_Hant_TW"
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


async def test_the_widgets_configuration_speaks_the_organizations_default_to_a_browser_that_asks_for_none(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The configuration takes its key in its path, which named no caller: it answered in English where a
    submission with the same key answered in the organization's language, and so did its refusal of a site."""
    async with tenants.create() as tenant:
        assert (await tenant.client.patch("/api/v1/organization", json={"defaultLocale": "es"})).status_code == 200
        project = await tenant.create_project("Tienda", allowedOrigins=["https://tienda.example"])
        config = f"/api/widget/config/{project['apiKey']}"
        served = await anonymous.get(config, headers={"Origin": "https://tienda.example"})
        refused = await anonymous.get(config, headers={"Origin": "https://other.example"})
        asked = await anonymous.get(config, headers={"Origin": "https://tienda.example", "Accept-Language": "de"})
        unknown = await anonymous.get("/api/widget/config/lt_pub_unknown")
    assert served.status_code == 200, served.text
    assert_language(served, "es")
    assert served.json()["config"]["texts"]["button"] == "Informar de un error"
    assert refused.status_code == 403, refused.text
    assert_language(refused, "es")
    assert_language(asked, "de")  # the visitor's own language first
    assert unknown.status_code == 404, unknown.text
    assert_language(unknown, "en")


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


async def test_an_empty_body_is_told_what_it_lacks(tenants: TenantFactory) -> None:
    """An empty body was "body: This value is not valid.": the fields it lacks are named, as for `{}`, or, where a
    route reads any of several forms, that a JSON object is wanted."""
    json_type = {"Content-Type": "application/json", "Accept-Language": "de"}
    async with tenants.create() as tenant:
        deleting = await tenant.client.request("DELETE", "/api/v1/auth/me", content=b"", headers=json_type)
        naming = await tenant.client.post("/api/v1/tokens", content=b"", headers=json_type)
        paging = await tenant.client.get("/api/v1/reports?page_size=0", headers={"Accept-Language": "de"})
    assert [deleting.status_code, naming.status_code, paging.status_code] == [400, 400, 400]
    assert deleting.json()["details"] == [{"field": "password", "message": "Dieses Feld ist erforderlich."}]
    assert naming.json()["details"] == [
        {"field": "body", "message": "Der Anfragetext ist leer: Senden Sie ein JSON-Objekt."}
    ]
    assert [detail["field"] for detail in paging.json()["details"]] == ["page_size"]  # a GET's query, as before


async def test_a_body_that_needs_one_of_two_fields_is_told_so_with_its_other_refusals(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A comment needs its text (or BugHerd's comment), a project's person their id (or address): a body that
    sent neither, and a field not taken, was told of the field alone, and of the missing one a send later."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": "Broken"}, headers={"X-API-Key": project["apiKey"]}
        )
        report = sent.json()["data"]["id"]
        comment = await tenant.client.post(f"/api/v1/reports/{report}/comments", json={"body": "hi"})
        person = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"user": "x"})
        alone = await tenant.client.post(f"/api/v1/reports/{report}/comments", json={})
    for answer, fields in ((comment, ["body", "text"]), (person, ["user", "userId"]), (alone, ["text"])):
        assert answer.status_code == 400, answer.text
        assert [detail["field"] for detail in answer.json()["details"]] == fields
    assert comment.json()["details"][1]["message"] == alone.json()["details"][0]["message"]


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


async def test_chinese_and_japanese_sentences_follow_each_other_without_a_space(tenants: TenantFactory) -> None:
    """ "此值不在允許的選項中。 請使用…": the sentences of a refusal were joined with an ASCII space, which
    after a full-width stop is a stray one. A widget's theme was refused without its values, unlike every
    other field of a few choices."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        body = {"widgetConfig": {"theme": "neon"}}
        answers = {
            lang: [
                await tenant.client.patch(f"/api/v1/projects/{project['id']}", json=body, params={"lang": lang}),
                await tenant.client.get("/api/v1/reports", params={"severity": "urgent", "lang": lang}),
                await tenant.client.get("/api/v1/reports", params={"status": "nowhere", "lang": lang}),
            ]
            for lang in ("zh-TW", "ja", "en")
        }
    messages = {
        lang: [answer.json()["details"][0]["message"] for answer in refused] for lang, refused in answers.items()
    }
    assert messages["zh-TW"][0] == "此值不在允許的選項中。請使用下列其中之一：auto, light, dark。"  # noqa: RUF001
    assert messages["ja"][0] == "選択できる値ではありません。次のいずれかを使用してください：auto, light, dark。"  # noqa: RUF001
    assert messages["en"][0] == "This value is not one of the allowed choices. Use one of: auto, light, dark."
    for lang in ("zh-TW", "ja"):
        assert all("。 " not in message and "。" in message for message in messages[lang]), messages[lang]
    assert all(". Use one of: " in message for message in messages["en"]), messages["en"]


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


def _hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`, as a browser sends them."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert form is not None, page
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[1]))


async def test_what_a_page_opened_with_lang_leads_to_is_in_that_language_and_the_preference_stays(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Bob, German by preference, opened a report with `?lang=en`, saved a change and read the result in German:
    `?lang=` held for the one page, where for someone with no saved language it stayed in the browser. The
    page's forms carry its language: what they lead to is in it, refused or saved, and the saved preference is
    not changed."""
    async with tenants.create() as bob:
        assert (await bob.client.patch("/api/v1/auth/me", json={"locale": "de"})).status_code == 200
        project = await bob.create_project("Shop")
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": "Checkout"}, headers={"X-API-Key": project["apiKey"]}
        )
        path = f"/ui/reports/{sent.json()['data']['id']}"
        opened = await bob.client.get(f"{path}?lang=en")
        fields = _hidden_fields(opened.text, path)
        saved = await bob.client.post(path, data={**fields, "severity": "high"})
        result = await bob.client.get(saved.headers["location"])
        new = await bob.client.get("/ui/reports/new?lang=en")
        form = {**_hidden_fields(new.text, "/ui/reports/new"), "project_id": project["id"], "title": "No"}
        refused = await bob.client.post("/ui/reports/new", data=form)
        later = await bob.client.get(path)
        me = (await bob.client.get("/api/v1/auth/me")).json()["data"]["user"]
    assert '<html lang="en">' in opened.text
    assert fields["lang"] == "en"
    assert saved.status_code == 303, saved.text
    assert "lang=en" in saved.headers["location"]
    assert '<html lang="en">' in result.text
    assert "The changes were saved." in result.text
    assert refused.status_code == 400, refused.text
    assert '<html lang="en">' in refused.text
    assert '<input type="hidden" name="lang" value="en">' in refused.text  # shown again, it still carries it
    assert '<html lang="de">' in later.text  # a page opened without it: the person's own language
    assert me["locale"] == "de"


async def test_a_refusal_names_each_field_as_the_client_sent_it(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """BugHerd's wrappers and names (`{"task": {"requester_email"}}`), a JSON:API document's members, BugSpark's
    snake_case beside our camelCase: each refused field is named where and as the client sent it (it was named by
    Lantern's own field, `reporter_email` or `tags`), in the same words as our form's refusal."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        widget = {"X-API-Key": project["apiKey"]}
        report = (await anonymous.post("/api/v1/reports", json={"title": "Checkout fails"}, headers=widget)).json()
        filed, changed = f"/api/v1/projects/{project['id']}/reports", f"/api/v1/reports/{report['data']['id']}"
        stranger, nowhere = other.user_id, str(uuid.uuid4())
        hook = "https://hooks.example.com/lantern"
        # (method, path, body as sent, the fields named, the same in our own form)
        refusals: list[tuple[str, str, Any, list[str], Any]] = [
            (
                "POST",
                filed,
                {"task": {"description": "Card refused", "requester_email": "nobody", "tag_names": ["ui", " "]}},
                ["task.requester_email", "task.tag_names[1]"],
                {"description": "Card refused", "reporterEmail": "nobody", "tags": ["ui", " "]},
            ),
            (  # and the description its title would be the first line of, at once
                "POST",
                filed,
                {"task": {"priority": "urgent"}},
                ["task.priority", "task.description"],
                {"priority": "urgent"},
            ),
            ("POST", filed, {"task": {}}, ["task.description"], {}),
            (  # a rule the service checks: someone who does not see the report
                "POST",
                filed,
                {"task": {"description": "Card refused", "assigned_to_email": other.email}},
                ["task.assigned_to_email"],
                {"description": "Card refused", "assigneeEmail": other.email},
            ),
            (
                "PATCH",
                changed,
                {"task": {"assigned_to_id": "nobody", "tag_names": "ui"}},
                ["task.assigned_to_id", "task.tag_names"],
                {"assigneeId": "nobody", "tags": "ui"},
            ),
            ("PATCH", changed, {"task": {"status_id": 99}}, ["task.status_id"], {"statusId": 99}),
            ("PATCH", changed, {"task": {"updater_email": 5}}, ["task.updater_email"], {"title": 5}),
            (
                "PATCH",
                changed,
                {"data": {"type": "report", "attributes": {"severity": "urgent"}}},
                ["data.attributes.severity"],
                {"severity": "urgent"},
            ),
            (
                "PATCH",
                changed,
                {"data": {"type": "report", "relationships": {"assignee": {"data": {"type": "user", "id": stranger}}}}},
                ["data.relationships.assignee.data.id"],
                {"assigneeId": stranger},
            ),
            (
                "POST",
                "/api/v1/projects",
                {"project": {"name": "Blog", "devurl": "blog.example", "tracking_prefix": "blg"}},
                ["project.devurl", "project.tracking_prefix"],
                {"name": "Blog", "siteUrl": "blog.example", "trackingPrefix": "blg"},
            ),
            (
                "POST",
                "/api/v1/projects",
                {"project": {"name": "Blog", "tracking_prefix": "SHP"}},  # taken: a 409
                ["project.tracking_prefix"],
                {"name": "Blog", "trackingPrefix": "SHP"},
            ),
            (
                "PATCH",
                f"/api/v1/projects/{project['id']}",
                {"project": {"widget_config": {"theme": "pink"}}},
                ["project.widget_config.theme"],
                {"widgetConfig": {"theme": "pink"}},
            ),
            (
                "POST",
                f"/api/v1/projects/{project['id']}/members",
                {"user_id": stranger},  # no one here: a 404
                ["user_id"],
                {"userId": stranger},
            ),
            (
                "POST",
                f"{changed}/attachments",
                {"attachment": {"file_name": "", "url": "ftp://files.example/a.gif"}},
                ["attachment.file_name", "attachment.url"],
                {"name": "", "url": "ftp://files.example/a.gif"},
            ),
            (
                "POST",
                "/api/v1/webhooks",
                {"target_url": hook, "event": "task_create", "project_id": nowhere},
                ["project_id"],
                {"url": hook, "events": ["task_create"], "projectId": nowhere},
            ),
            (
                "POST",
                "/api/v1/reports",
                {"title": "Checkout fails", "screenshotUrl": "no-such-key", "consoleLogs": {}},
                ["consoleLogs"],
                {"title": "Checkout fails", "screenshot_url": "no-such-key", "console_logs": {}},
            ),
            (
                "POST",
                "/api/v1/reports",
                {"title": "Checkout fails", "screenshotUrl": "no-such-key"},  # a key of no upload
                ["screenshotUrl"],
                {"title": "Checkout fails", "screenshot_url": "no-such-key"},
            ),
        ]
        answers = []
        for method, path, body, _fields, ours in refusals:
            client = anonymous if path == "/api/v1/reports" else tenant.client
            headers = {"Accept-Language": "de", **(widget if client is anonymous else {})}
            sent = await client.request(method, path, json=body, headers=headers)
            native = await client.request(method, path, json=ours, headers=headers)
            answers.append((sent, native))
    for (_method, path, body, fields, _ours), (sent, native) in zip(refusals, answers, strict=True):
        assert sent.status_code == native.status_code, (path, body, sent.text, native.text)
        assert sent.status_code in {400, 404, 409}, (path, body, sent.text)
        assert sent.headers["content-language"] == "de"
        details = sent.json()["details"]
        assert [detail["field"] for detail in details] == fields, (path, body, sent.text)
        assert [detail["message"] for detail in details] == [
            detail["message"] for detail in native.json()["details"]
        ], (path, body)
    first = answers[0][0].json()["details"][0]["message"]
    assert first == "Muss eine E-Mail-Adresse sein, etwa name@example.com.", first


async def test_a_body_of_the_wrong_shape_is_named_where_and_how_it_is_wrong(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """A wrapper or a document's member that is not an object is named so, not as a field not taken (`data`:
    "This field is not allowed." for attributes of 5), and a relationship's id alone is told what it must be
    (it was "Must be a UUID." for 5, as if an id were wanted)."""
    identifier = 'Must be a resource identifier object {"type": …, "id": …}, or null.'
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        widget = {"X-API-Key": project["apiKey"]}
        sent = await anonymous.post("/api/v1/reports", json={"title": "Broken"}, headers=widget)
        changed = f"/api/v1/reports/{sent.json()['data']['id']}"
        cases: list[tuple[Any, list[dict[str, str]]]] = [
            ({"task": "x"}, [{"field": "task", "message": "Must be a JSON object."}]),
            (
                {"data": {"type": "report", "attributes": 5}},
                [{"field": "data.attributes", "message": "Must be a JSON object."}],
            ),
            (
                {"data": {"type": "report", "attributes": {}, "relationships": []}},
                [{"field": "data.relationships", "message": "Must be a JSON object."}],
            ),
            (
                {"data": {"type": "report", "relationships": {"assignee": 5}}},
                [{"field": "data.relationships.assignee", "message": identifier}],
            ),
            (
                {"data": {"type": "report", "relationships": {"assignee": {"data": 5}}}},
                [{"field": "data.relationships.assignee.data", "message": identifier}],
            ),
        ]
        answers = []
        for body, _details in cases:
            media = {"Content-Type": "application/vnd.api+json" if "data" in body else "application/json"}
            answers.append(await tenant.client.patch(changed, content=json.dumps(body), headers=media))
    for (body, details), answer in zip(cases, answers, strict=True):
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["details"] == details, (body, answer.text)
