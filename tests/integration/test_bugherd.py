"""A BugHerd API v2 client's calls, as BugHerd documents them (seeds/002), answered by Lantern's API: its PUT
updates, its priorities, its wrappers, its endpoints and fields (found by a black-box trial)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.clients import BASE_URL, ApiClient, Tenant, TenantFactory
from tests.support.isolation import member_of
from tests.support.jsonapi import validate_document

JSONAPI = "application/vnd.api+json"

BUGSPARK_REPORT = {"title": "Checkout button does nothing", "severity": "high"}


async def _report(tenant: Tenant, anonymous: ApiClient, project: dict[str, Any]) -> str:
    """The address of a new report of `project`, sent with its widget key."""
    sent = await anonymous.post("/api/v1/reports", json=BUGSPARK_REPORT, headers={"X-API-Key": project["apiKey"]})
    assert sent.status_code == 201, sent.text
    return f"/api/v1/reports/{sent.json()['data']['id']}"


async def test_bugherds_put_updates_change_the_fields_sent_as_patch_does(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """BugHerd updates a project, a task and a column with PUT, which changes only the fields sent: they were
    405s here."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Web Shop", siteUrl="https://shop.example.com")
        url = await _report(tenant, anonymous, project)
        columns = f"/api/v1/projects/{project['id']}/columns"
        column = (await tenant.client.post(columns, json={"name": "testing", "position": 9})).json()["data"]
        shown = await tenant.client.put(f"/api/v1/projects/{project['id']}", json={"project": {"is_public": True}})
        task = await tenant.client.put(url, json={"task": {"priority": "normal", "status": "backlog"}})
        unassigned = await tenant.client.put(url, json={"task": {"assigned_to_id": None}})
        renamed = await tenant.client.put(f"{columns}/{column['id']}", json={"name": "QA"})
    assert shown.status_code == 200, shown.text
    assert (shown.json()["data"]["isPublic"], shown.json()["data"]["name"]) == (True, "Web Shop")
    assert shown.json()["data"]["siteUrl"] == "https://shop.example.com"
    assert task.status_code == 200, task.text
    changed = task.json()["data"]
    assert (changed["priority"], changed["status"], changed["severity"]) == ("medium", "backlog", "high")
    assert unassigned.json()["data"]["status"] == "backlog"  # what was not sent stays
    assert renamed.status_code == 200, renamed.text
    # What was not sent stays: the place it was given (past the end of the board, the last: 6).
    assert (column["position"], renamed.json()["data"]["position"]) == (6, 6)
    assert renamed.json()["data"]["name"] == "QA"


async def test_the_put_updates_are_documented_beside_patch_with_ids_of_their_own(anonymous: ApiClient) -> None:
    paths = (await anonymous.get("/schema/openapi.json")).json()["paths"]
    for path, patch_id, put_id in (
        ("/api/v1/projects/{project_id}", "UpdateProject", "PutProject"),
        ("/api/v1/reports/{reference}", "UpdateReport", "PutReport"),
        ("/api/v1/projects/{project_id}/columns/{column_id}", "UpdateColumn", "PutColumn"),
    ):
        patch, put = paths[path]["patch"], paths[path]["put"]
        assert (patch["operationId"], put["operationId"]) == (patch_id, put_id)
        assert put["requestBody"] == patch["requestBody"]
        assert put["responses"] == patch["responses"]


async def test_the_list_filters_by_bugherds_priorities_as_a_task_takes_them(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """`?priority=normal` was a 400 ("Use one of: lowest, low, medium, high, highest") though a task's body takes
    BugHerd's priorities: the filters take them too, in any case, mapped as the body maps them."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        urgent, usual = await _report(tenant, anonymous, project), await _report(tenant, anonymous, project)
        await tenant.client.patch(urgent, json={"task": {"priority": "critical"}})
        ids = {url.rsplit("/", 1)[-1]: name for url, name in ((urgent, "urgent"), (usual, "usual"))}

        async def listed(**params: str) -> list[str]:
            answer = await tenant.client.get("/api/v1/reports", params=params)
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            items = data if isinstance(data, list) else data["items"]  # a JSON:API document's, or the native page's
            return sorted(ids[item["id"]] for item in items)

        found = {
            value: (await listed(priority=value), await listed(**{"filter[priority]": value}))
            for value in ("normal", "Critical", "NOT SET", "HIGHEST", "medium")
        }
        either = await listed(**{"filter[priority]": "minor,critical"})
        refused = await tenant.client.get("/api/v1/reports", params={"priority": "urgent"})
        refused_filter = await tenant.client.get("/api/v1/reports", params={"filter[priority]": "urgent"})
    assert found == {
        "normal": (["usual"], ["usual"]),
        "Critical": (["urgent"], ["urgent"]),
        "NOT SET": (["usual"], ["usual"]),  # BugHerd's unset priority is our default
        "HIGHEST": (["urgent"], ["urgent"]),
        "medium": (["usual"], ["usual"]),
    }
    assert either == ["urgent"]
    assert refused.status_code == 400
    [detail] = refused.json()["details"]
    assert detail["field"] == "priority"
    assert "lowest, low, medium, high, highest" in detail["message"]
    assert refused_filter.status_code == 400
    assert [detail["field"] for detail in refused_filter.json()["details"]] == ["filter[priority]"]


async def test_bugherds_show_attachment(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """`GET …/attachments/{id}` was a 405: one attachment, as the list shows it, natively and as JSON:API; another
    report's, another organization's or an unknown one is a 404."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project()
        url, elsewhere = await _report(tenant, anonymous, project), await _report(tenant, anonymous, project)
        link = {"attachment": {"file_name": "resolution.gif", "url": "http://i.imgur.com/U9h3jZI.gif"}}
        linked = (await tenant.client.post(f"{url}/attachments", json=link)).json()["data"]
        files = {"file": ("console.log", b"TypeError: submit is null\n", "text/plain")}
        uploaded = (await tenant.client.post(f"{url}/attachments", files=files)).json()["data"]
        listed = (await tenant.client.get(f"{url}/attachments")).json()["data"]
        shown = [(await tenant.client.get(f"{url}/attachments/{item['id']}")).json()["data"] for item in listed]
        document = await tenant.client.get(
            f"{url}/attachments/{linked['id']}", params={"fields[attachment]": "name,url"}
        )
        whole = await tenant.client.get(f"{url}/attachments/{uploaded['id']}", headers={"Accept": JSONAPI})
        missing = [
            await tenant.client.get(f"{elsewhere}/attachments/{linked['id']}"),
            await other.client.get(f"{url}/attachments/{linked['id']}"),
            await tenant.client.get(f"{url}/attachments/{project['id']}"),
        ]
    assert [item["id"] for item in listed] == [linked["id"], uploaded["id"]]
    assert shown == listed
    assert document.status_code == 200, document.text
    assert document.json()["data"] == {
        "type": "attachment",
        "id": linked["id"],
        "attributes": {"name": "resolution.gif", "url": "http://i.imgur.com/U9h3jZI.gif"},
        "links": {"self": f"{BASE_URL}{url}/attachments/{linked['id']}"},
    }
    validate_document(whole.json())
    assert whole.json()["data"]["attributes"] == {
        name: value for name, value in uploaded.items() if name not in {"id", "reportId"}
    }
    assert whole.json()["data"]["relationships"]["report"]["data"] == {"type": "report", "id": url.rsplit("/", 1)[-1]}
    assert [answer.status_code for answer in missing] == [404, 404, 404]


async def test_bugherds_list_tasks_of_a_project(tenants: TenantFactory, anonymous: ApiClient, app: Any) -> None:
    """`GET /api/v1/projects/{id}/reports` was a 405 beside its POST: the project's reports, with the list's
    filters, pages and JSON:API mode; another organization's project, an unknown one or one a guest was not
    added to is a 404."""
    async with (
        tenants.create() as tenant,
        tenants.create("Other") as other,
        member_of(tenant, app, "guest") as guest,
    ):
        shop, blog = await tenant.create_project("Shop", trackingPrefix="SHP"), await tenant.create_project("Blog")
        in_shop = [await _report(tenant, anonymous, shop) for _ in range(3)]
        await _report(tenant, anonymous, blog)
        await tenant.client.patch(in_shop[0], json={"task": {"status": "todo", "priority": "normal"}})
        url = f"/api/v1/projects/{shop['id']}/reports"
        everything = (await tenant.client.get(url)).json()["data"]
        paged = (await tenant.client.get(url, params={"pageSize": "2", "page": "2"})).json()["data"]
        todo = (await tenant.client.get(url, params={"status": "TODO", "priority": "normal"})).json()["data"]
        document = await tenant.client.get(url, params={"page[limit]": "2", "sort": "createdAt"})
        unknown_status = await tenant.client.get(url, params={"status": "nowhere"})
        refused = [
            await other.client.get(url),
            await tenant.client.get(f"/api/v1/projects/{other.organization_id}/reports"),
            await guest.get(url),
        ]
    shop_ids = [report.rsplit("/", 1)[-1] for report in in_shop]
    assert (sorted(item["id"] for item in everything["items"]), everything["total"]) == (sorted(shop_ids), 3)
    assert (paged["total"], paged["page"], paged["pageSize"], len(paged["items"])) == (3, 2, 2, 1)
    assert [item["id"] for item in todo["items"]] == shop_ids[:1]
    assert document.status_code == 200, document.text
    validate_document(document.json())
    assert [resource["id"] for resource in document.json()["data"]] == shop_ids[:2]
    assert document.json()["links"]["next"] is not None
    assert unknown_status.status_code == 400
    assert [answer.status_code for answer in refused] == [404, 404, 404]


async def test_bugherds_column_wrapper(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """`{"column": {"name": …}}` was a 400 on a column's create and update, while the other resources' wrappers are
    taken: taken too, documented beside the bare fields."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        columns = f"/api/v1/projects/{project['id']}/columns"
        created = await tenant.client.post(columns, json={"column": {"name": "testing"}})
        column = f"{columns}/{created.json()['data']['id']}"
        bare = await tenant.client.post(columns, json={"name": "blocked"})
        renamed = await tenant.client.put(column, json={"column": {"name": "QA", "position": 7}})
        unknown = await tenant.client.patch(column, json={"column": {"name": "QA", "colour": "red"}})
        paths = (await anonymous.get("/schema/openapi.json")).json()["paths"]
    assert created.status_code == 201, created.text
    assert (created.json()["data"]["name"], created.json()["data"]["statusId"]) == ("testing", 6)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["data"]["name"], renamed.json()["data"]["position"]) == ("QA", 7)  # after "blocked"
    assert unknown.status_code == 400
    assert bare.status_code == 201, bare.text
    for method, path in (("post", "/columns"), ("patch", "/columns/{column_id}")):
        body = paths[f"/api/v1/projects/{{project_id}}{path}"][method]["requestBody"]["content"]["application/json"]
        native, wrapped = body["schema"]["oneOf"]
        assert "name" in native["properties"]
        assert wrapped["required"] == ["column"]


async def test_default_columns_have_an_id_their_address_takes(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """A default column's id was null natively and `status:todo` in JSON:API, and no address took either: now both
    say `status:todo`, which GET, PATCH, PUT and DELETE take (as BugHerd's number for a column, its statusId,
    names it too). A default column keeps its name and place: a change to either, or its deletion, is a 409."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        project = await tenant.create_project()
        columns = f"/api/v1/projects/{project['id']}/columns"
        custom = (await tenant.client.post(columns, json={"name": "testing"})).json()["data"]
        listed = (await tenant.client.get(columns)).json()["data"]
        document = (await tenant.client.get(columns, headers={"Accept": JSONAPI})).json()["data"]
        shown = {
            reference: (await tenant.client.get(f"{columns}/{reference}")).json()["data"]
            for reference in ("status:todo", "status:TODO", "1", "status:feedback", "6", custom["id"])
        }
        as_document = await tenant.client.get(f"{columns}/status:done", params={"fields[column]": "name"})
        unchanged = await tenant.client.put(f"{columns}/status:todo", json={"column": {"name": "Todo", "position": 2}})
        renamed = await tenant.client.patch(f"{columns}/status:todo", json={"name": "To do"})
        moved = await tenant.client.put(f"{columns}/2", json={"position": 9})
        deleted = await tenant.client.delete(f"{columns}/status:closed")
        unknown = [
            await tenant.client.get(f"{columns}/{path}") for path in ("status:nowhere", "3", "7", "todo", "99999999999")
        ]
        foreign = [
            await other.client.get(f"{columns}/status:todo"),
            await other.client.patch(f"{columns}/status:todo", json={"name": "todo"}),
            await other.client.delete(f"{columns}/status:todo"),
            await other.client.get(f"{columns}/6"),
        ]
        custom_by_number = await tenant.client.put(f"{columns}/6", json={"name": "QA"})
    assert [column["id"] for column in listed] == [
        *(f"status:{name}" for name in ("new", "backlog", "todo", "doing", "done", "closed")),
        custom["id"],
    ]
    assert [resource["id"] for resource in document] == [column["id"] for column in listed]
    todo = {"id": "status:todo", "name": "todo", "statusId": 1, "position": 2, "custom": False}
    assert shown["status:todo"] == shown["status:TODO"] == shown["1"] == todo
    assert shown["status:feedback"]["id"] == "status:new"  # BugHerd's name for it
    assert shown["6"] == shown[custom["id"]] == listed[-1]
    assert as_document.json()["data"] == {
        "type": "column",
        "id": "status:done",
        "attributes": {"name": "done"},
        "links": {"self": f"{BASE_URL}{columns}/status:done"},
    }
    assert (unchanged.status_code, unchanged.json()["data"]) == (200, todo)
    assert renamed.status_code == 409
    assert [detail["field"] for detail in renamed.json()["details"]] == ["name"]
    refusal = "A default column keeps its name and place; add a column of your own for another."
    assert renamed.json()["message"] == refusal
    assert (moved.status_code, [detail["field"] for detail in moved.json()["details"]]) == (409, ["position"])
    assert (deleted.status_code, deleted.json()["message"]) == (409, "A default column cannot be deleted.")
    assert [answer.status_code for answer in unknown] == [404] * 5
    assert [answer.status_code for answer in foreign] == [404] * 4
    assert (custom_by_number.status_code, custom_by_number.json()["data"]["name"]) == (200, "QA")


async def test_a_project_says_whether_it_has_custom_columns(tenants: TenantFactory) -> None:
    """BugHerd's `has_custom_columns`, as `hasCustomColumns`: a client knows whether a task's status may name a
    column of the project's own."""
    async with tenants.create() as tenant:
        shop, blog = await tenant.create_project("Shop"), await tenant.create_project("Blog")
        column = await tenant.client.post(f"/api/v1/projects/{shop['id']}/columns", json={"name": "testing"})
        url = f"/api/v1/projects/{shop['id']}"
        shown = (await tenant.client.get(url)).json()["data"]
        listed = (await tenant.client.get("/api/v1/projects")).json()["data"]
        document = (await tenant.client.get("/api/v1/projects", headers={"Accept": JSONAPI})).json()["data"]
        updated = (await tenant.client.put(url, json={"project": {"is_public": True}})).json()["data"]
        await tenant.client.delete(f"{url}/columns/{column.json()['data']['id']}")
        emptied = (await tenant.client.get(url)).json()["data"]
    assert (shop["hasCustomColumns"], blog["hasCustomColumns"]) == (False, False)
    assert (shown["hasCustomColumns"], updated["hasCustomColumns"], emptied["hasCustomColumns"]) == (True, True, False)
    assert [(project["name"], project["hasCustomColumns"]) for project in listed] == [("Shop", True), ("Blog", False)]
    assert [resource["attributes"]["hasCustomColumns"] for resource in document] == [True, False]


async def test_a_report_says_since_when_it_is_closed(tenants: TenantFactory, anonymous: ApiClient) -> None:
    """BugHerd's `closed_at`, as `closedAt`: when the report was last moved into the closed column (by its name
    or its number), kept while other fields change, null in any other column."""
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        url = await _report(tenant, anonymous, project)
        fresh = (await tenant.client.get(url)).json()["data"]

        async def changed(change: dict[str, Any]) -> dict[str, Any]:
            answer = await tenant.client.put(url, json=change)
            assert answer.status_code == 200, answer.text
            return answer.json()["data"]  # type: ignore[no-any-return]

        closed = await changed({"task": {"status": "closed"}})
        relabelled = await changed({"priority": "high"})
        again = await changed({"statusId": 5})
        reopened = await changed({"status": "done"})
        closed_anew = await changed({"status_id": 5})
        document = await tenant.client.get(url, params={"fields[report]": "status,closedAt"})
        filed = await tenant.client.post(
            f"/api/v1/projects/{project['id']}/reports", json={"task": {"description": "Old bug", "status": "closed"}}
        )
        filed_open = await tenant.client.post(
            f"/api/v1/projects/{project['id']}/reports", json={"task": {"description": "New bug", "status": "todo"}}
        )
    assert fresh["closedAt"] is None
    assert datetime.fromisoformat(closed["closedAt"]) >= datetime.fromisoformat(fresh["createdAt"])
    assert relabelled["closedAt"] == again["closedAt"] == closed["closedAt"]  # still closed since then
    assert reopened["closedAt"] is None
    assert datetime.fromisoformat(closed_anew["closedAt"]) >= datetime.fromisoformat(closed["closedAt"])
    assert document.json()["data"]["attributes"] == {"status": "closed", "closedAt": closed_anew["closedAt"]}
    assert filed.status_code == 201, filed.text
    assert filed.json()["data"]["closedAt"] is not None
    assert filed_open.json()["data"]["closedAt"] is None


async def test_bugherds_list_active_projects(tenants: TenantFactory) -> None:
    """BugHerd lists the active projects apart (`projects/active.json`); its clients asked `is_active=true` and got
    a 400 that named only the pages' parameters."""
    async with tenants.create() as tenant, tenants.create("Other") as other:
        live = await tenant.create_project("Live shop")
        paused = await tenant.create_project("Old shop")
        await other.create_project("Their shop")
        changed = await tenant.client.put(f"/api/v1/projects/{paused['id']}", json={"project": {"is_active": False}})
        assert changed.status_code == 200, changed.text
        lists = {
            query: await tenant.client.get(f"/api/v1/projects?{query}")
            for query in ("is_active=true", "isActive=true", "isActive=false", "")
        }
        refused = await tenant.client.get("/api/v1/projects?isActive=maybe")
    names = {query: [p["name"] for p in answer.json()["data"]] for query, answer in lists.items()}
    assert names == {
        "is_active=true": ["Live shop"],
        "isActive=true": ["Live shop"],
        "isActive=false": ["Old shop"],
        "": ["Live shop", "Old shop"],
    }
    assert lists["isActive=true"].json()["meta"]["count"] == 1
    assert refused.status_code == 400, refused.text
    assert [detail["field"] for detail in refused.json()["details"]] == ["isActive"]
    assert live["isActive"] is True
