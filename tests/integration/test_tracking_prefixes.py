"""A tracking ID names its one report for good: a project keeps every prefix it has had (as Jira keeps a project's
former keys), its reports' IDs follow its current prefix and their former IDs still find them, and no other
project of the organization ever takes one of those prefixes, not even once the project is deleted.

From a trial: after RLT was renamed RLX, a new project took RLT and gave an RLT-1 of its own; `GET /reports/RLT-1`
answered the new report, and the search found two RLT-1.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import NullPool, delete, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.projects.models import ProjectPrefix
from app.domain.projects.schemas import ProjectUpdate
from app.domain.projects.services import ProjectService
from app.domain.reports.models import ProjectCounter
from app.domain.reports.services import TrackingService
from app.lib.database import alchemy_config
from tenants.context import tenant_scope
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.locks import older_transactions_ended

WAIT_SECONDS = 30  # a bound on waiting for the rename to wait, so a regression fails instead of hanging


async def _numbered_reports(tenant: Tenant, anonymous: ApiClient, project: dict[str, Any], count: int) -> list[str]:
    """`count` reports sent to the project and numbered (what its numbering job does, here); their ids."""
    ids = []
    for index in range(count):
        sent = await anonymous.post(
            "/api/v1/reports", json={"title": f"Report {index + 1}"}, headers={"X-API-Key": project["apiKey"]}
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["data"]["id"])
    await older_transactions_ended()
    async with alchemy_config().get_session() as session:
        with tenant_scope(UUID(tenant.organization_id)):
            await TrackingService(session).assign(UUID(project["id"]))
    return ids


async def _report(tenant: Tenant, reference: str) -> tuple[int, dict[str, Any]]:
    found = await tenant.client.get(f"/api/v1/reports/{reference}")
    return found.status_code, found.json().get("data") or {}


async def _searched(tenant: Tenant, term: str) -> list[tuple[str, str]]:
    found = await tenant.client.get("/api/v1/reports", params={"search": term})
    assert found.status_code == 200, found.text
    return [(item["id"], item["trackingId"]) for item in found.json()["data"]["items"]]


async def test_a_project_sent_without_a_prefix_gets_one_from_its_names_words(tenants: TenantFactory) -> None:
    """BugSpark, the spec's example of a BSK project, was given BGS: its camel-case words were read as one."""
    async with tenants.create() as tenant:
        made = [
            (await tenant.create_project(name))["trackingPrefix"]
            for name in ("BugSpark", "Bug Spark", "myApp", "Lantern", "Web Shop Admin")
        ]
        assert made == ["BSK", "BSKA", "MAP", "LNT", "WSA"]  # the second BugSpark goes around the first's


async def test_a_renamed_projects_former_ids_find_its_reports_and_no_other_project_takes_the_prefix(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        renamed = await tenant.create_project("Relaunch", trackingPrefix="RLT")
        ids = await _numbered_reports(tenant, anonymous, renamed, 3)
        before = (await _report(tenant, ids[0]))[1]
        changed = await tenant.client.patch(f"/api/v1/projects/{renamed['id']}", json={"trackingPrefix": "RLX"})
        assert (changed.status_code, changed.json()["data"]["trackingPrefix"]) == (200, "RLX"), changed.text
        after = (await _report(tenant, ids[0]))[1]
        # The report did not change (its project's prefix did): it keeps its place among the recently updated.
        assert (after["trackingId"], after["updatedAt"]) == ("RLX-1", before["updatedAt"])

        # The trial's steps: a new project asks for the freed prefix, another project renames itself to it.
        stolen = await tenant.client.post("/api/v1/projects", json={"name": "Steal", "trackingPrefix": "RLT"})
        other = await tenant.create_project("Other", trackingPrefix="OTH")
        taken = await tenant.client.patch(f"/api/v1/projects/{other['id']}", json={"trackingPrefix": "RLT"})
        current = await tenant.client.post("/api/v1/projects", json={"name": "Steal", "trackingPrefix": "RLX"})
        for refused in (stolen, taken):
            assert refused.status_code == 409, refused.text
            [detail] = refused.json()["details"]
            assert detail["field"] == "trackingPrefix"
            assert detail["message"] == (
                "The project “Relaunch” used this tracking prefix before and keeps it: the tracking IDs it gave still "
                "lead to its reports."
            )
        assert current.status_code == 409
        assert current.json()["message"] == "Another project of this organization already uses this tracking prefix."

        # The former ID and the current one are the same report, which shows its current ID; the search finds it
        # once by either.
        for reference in ("RLT-2", "rlt-002", "RLX-2", ids[1]):
            assert await _report(tenant, reference) == (200, (await _report(tenant, ids[1]))[1]), reference
        assert (await _report(tenant, "RLT-2"))[1]["trackingId"] == "RLX-2"
        assert await _searched(tenant, "RLT-1") == [(ids[0], "RLX-1")]
        assert await _searched(tenant, "rlx-1") == [(ids[0], "RLX-1")]
        # The admin UI's report page and search, alike.
        page = await tenant.client.get("/ui/reports/RLT-2")
        assert page.status_code == 200, page.text
        assert ("RLX-2" in page.text, "Report 2" in page.text) == (True, True)
        searched = await tenant.client.get("/ui/reports", params={"search": "rlt-1"})
        assert ("Report 1" in searched.text, "Report 2" in searched.text) == (True, False)
        changed_by_former = await tenant.client.patch("/api/v1/reports/RLT-2", json={"severity": "low"})
        assert (changed_by_former.status_code, changed_by_former.json()["data"]["id"]) == (200, ids[1])
        commented = await tenant.client.post("/api/v1/reports/RLT-2/comments", json={"text": "Seen again."})
        assert commented.status_code == 201, commented.text
        assert (await tenant.client.delete("/api/v1/reports/RLT-3")).status_code == 204
        assert (await _report(tenant, "RLX-3"))[0] == 404

        # New reports are numbered under the new prefix, after the others.
        [fourth] = await _numbered_reports(tenant, anonymous, renamed, 1)
        assert (await _report(tenant, "RLX-4"))[1]["id"] == fourth

        # Its own former prefix is the project's to take back; the other IDs then find the reports as well.
        back = await tenant.client.patch(f"/api/v1/projects/{renamed['id']}", json={"trackingPrefix": "RLT"})
        assert back.status_code == 200, back.text
        assert [(await _report(tenant, f"RLX-{n}"))[1]["trackingId"] for n in (1, 2, 4)] == ["RLT-1", "RLT-2", "RLT-4"]


async def test_a_deleted_projects_prefix_stays_kept_in_its_organization_alone(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant, tenants.create("Elsewhere") as elsewhere:
        gone = await tenant.create_project("Shop", trackingPrefix="SHP")
        await _numbered_reports(tenant, anonymous, gone, 1)
        renamed = await tenant.client.patch(f"/api/v1/projects/{gone['id']}", json={"trackingPrefix": "SHQ"})
        assert renamed.status_code == 200, renamed.text
        assert (await tenant.client.delete(f"/api/v1/projects/{gone['id']}")).status_code == 204

        for prefix in ("SHP", "SHQ"):
            again = await tenant.client.post("/api/v1/projects", json={"name": "Shop", "trackingPrefix": prefix})
            assert again.status_code == 409, again.text
            assert again.json()["details"][0]["message"].startswith("A deleted project of this organization used")
        # A prefix made from the name goes around the kept ones.
        assert (await tenant.create_project("Shop"))["trackingPrefix"] == "SHPA"

        # Another organization's prefixes are its own business: it takes SHP, and its SHP-1 is its report alone.
        theirs = await elsewhere.create_project("Shop", trackingPrefix="SHP")
        [their_report] = await _numbered_reports(elsewhere, anonymous, theirs, 1)
        assert (await _report(elsewhere, "SHP-1"))[1]["id"] == their_report
        assert (await _report(tenant, "SHP-1"))[0] == 404
        assert (await _report(tenant, "SHQ-1"))[0] == 404
        assert await _searched(tenant, "SHP-1") == []


async def test_a_former_id_finds_its_report_in_its_own_organization_beside_anothers_same_id(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant, tenants.create("Elsewhere") as elsewhere:
        ours = await tenant.create_project("Relaunch", trackingPrefix="RLT")
        [our_report] = await _numbered_reports(tenant, anonymous, ours, 1)
        renamed = await tenant.client.patch(f"/api/v1/projects/{ours['id']}", json={"trackingPrefix": "RLX"})
        assert renamed.status_code == 200, renamed.text
        theirs = await elsewhere.create_project("Relaunch", trackingPrefix="RLT")
        [their_report] = await _numbered_reports(elsewhere, anonymous, theirs, 1)

        assert (await _report(tenant, "RLT-1"))[1]["id"] == our_report
        assert (await _report(elsewhere, "RLT-1"))[1]["id"] == their_report
        assert await _searched(tenant, "RLT-1") == [(our_report, "RLX-1")]
        assert await _searched(elsewhere, "RLT-1") == [(their_report, "RLT-1")]


async def test_the_refusal_says_why_in_the_readers_language(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Relaunch", trackingPrefix="RLT")
        renamed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "RLX"})
        assert renamed.status_code == 200, renamed.text
        refused = await tenant.client.post(
            "/api/v1/projects", json={"name": "Steal", "trackingPrefix": "RLT"}, headers={"Accept-Language": "de"}
        )
    assert refused.status_code == 409
    assert refused.json()["details"][0]["message"].startswith("Das Projekt „Relaunch“")


@pytest.mark.postgres
async def test_a_rename_while_a_batch_numbers_under_the_old_prefix_renames_that_batch_too(
    tenants: TenantFactory, anonymous: ApiClient, embedded_services: dict[str, str]
) -> None:
    """A batch reads the prefix as its statement starts: one still running when the rename came would leave its
    reports under the prefix the project had, where an ID of another project may come to be. The rename waits for
    the batch, then renames its reports as well."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Relaunch", trackingPrefix="RLT")
        await _numbered_reports(tenant, anonymous, project, 1)  # the project's counter, made at its first numbering
        for index in range(3):
            sent = await anonymous.post(
                "/api/v1/reports", json={"title": f"Late {index}"}, headers={"X-API-Key": project["apiKey"]}
            )
            assert sent.status_code == 201, sent.text
        renaming: list[asyncio.Future[httpx.Response]] = []
        watcher = create_async_engine(embedded_services["DATABASE_OWNER_URL"], poolclass=NullPool)

        async def rename_meanwhile(_project_id: UUID, numbered: list[tuple[UUID, str]]) -> None:
            """In the batch's transaction, its reports numbered RLT-2… and not committed: the rename comes."""
            assert [tracking_id for _id, tracking_id in numbered] == ["RLT-2", "RLT-3", "RLT-4"]
            change = tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "RLX"})
            renaming.append(rename := asyncio.ensure_future(change))
            waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            async with watcher.connect() as connection:
                for _ in range(int(WAIT_SECONDS / 0.05)):
                    if rename.done() or await connection.scalar(waiting):
                        break
                    await asyncio.sleep(0.05)
            assert not rename.done(), rename.result().text  # it did not wait for the batch

        try:
            async with alchemy_config().get_session() as session:
                with tenant_scope(UUID(tenant.organization_id)):
                    await TrackingService(session).assign(UUID(project["id"]), on_numbered=rename_meanwhile)
            renamed = await renaming[0]
        finally:
            await watcher.dispose()
        assert renamed.status_code == 200, renamed.text
        listed = await tenant.client.get("/api/v1/reports", params={"project_id": project["id"]})
        assert sorted(item["trackingId"] for item in listed.json()["data"]["items"]) == [
            f"RLX-{number}" for number in range(1, 5)
        ]


@pytest.mark.postgres
async def test_two_projects_renamed_to_one_prefix_at_once_the_second_is_refused_saying_why(
    tenants: TenantFactory, embedded_services: dict[str, str]
) -> None:
    """Both pass the check before either commits; the database keeps the prefix to one (it was a 500)."""
    async with tenants.create() as tenant:
        first = await tenant.create_project("First", trackingPrefix="FST")
        second = await tenant.create_project("Second", trackingPrefix="SND")
        watcher = create_async_engine(embedded_services["DATABASE_OWNER_URL"], poolclass=NullPool)
        try:
            async with alchemy_config().get_session() as session:
                with tenant_scope(UUID(tenant.organization_id)):
                    await ProjectService(session=session).update_project(
                        UUID(first["id"]), ProjectUpdate(tracking_prefix="NEW")
                    )
                    change = tenant.client.patch(f"/api/v1/projects/{second['id']}", json={"trackingPrefix": "NEW"})
                    rename = asyncio.ensure_future(change)
                    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")
                    async with watcher.connect() as connection:
                        for _ in range(int(WAIT_SECONDS / 0.05)):
                            if rename.done() or await connection.scalar(waiting):
                                break
                            await asyncio.sleep(0.05)
                    assert not rename.done(), rename.result().text  # it did not wait for the first rename
                    await session.commit()
            refused = await rename
        finally:
            await watcher.dispose()
    assert refused.status_code == 409, refused.text
    assert refused.json()["details"] == [
        {
            "field": "trackingPrefix",
            "message": "Another project of this organization already uses this tracking prefix.",
        }
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("method", "body", "status"), [("PATCH", {"trackingPrefix": "RLX"}, 200), ("DELETE", None, 204)]
)
async def test_a_rename_or_deletion_during_a_new_projects_first_numbering_waits_for_it(
    tenants: TenantFactory, embedded_services: dict[str, str], method: str, body: dict[str, str] | None, status: int
) -> None:
    """The numbering holds the project's numbering, then makes its counter, which refers to the project's row; a
    rename (its prefix is in a unique key) or a deletion held that row and waited for the numbering: PostgreSQL
    failed one of them (503). Both take the numbering first now, and wait."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Relaunch", trackingPrefix="RLT")
        watcher = create_async_engine(embedded_services["DATABASE_OWNER_URL"], poolclass=NullPool)
        try:
            async with alchemy_config().get_session() as session:
                with tenant_scope(UUID(tenant.organization_id)):
                    await TrackingService(session).hold_numbering(UUID(project["id"]))
                    address = f"/api/v1/projects/{project['id']}"
                    change = asyncio.ensure_future(tenant.client.request(method, address, json=body))
                    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    async with watcher.connect() as connection:
                        for _ in range(int(WAIT_SECONDS / 0.05)):
                            if change.done() or await connection.scalar(waiting):
                                break
                            await asyncio.sleep(0.05)
                    assert not change.done(), change.result().text  # it did not wait for the numbering
                    session.add(ProjectCounter(project_id=UUID(project["id"]), last_number=0))
                    await session.flush()
                    await session.commit()
            changed = await change
        finally:
            await watcher.dispose()
        assert changed.status_code == status, changed.text


async def test_a_project_an_older_pod_made_and_renamed_keeps_its_ids_with_this_version(
    tenants: TenantFactory, anonymous: ApiClient, embedded_services: dict[str, str]
) -> None:
    """During a rolling upgrade, pods of the version before prefixes were kept make projects without a prefix's
    row: `DUR-1` answered 404, and a rename to DUX forgot DUR. The project is found by its current prefix too, and
    a rename keeps the prefix it replaces."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Durable", trackingPrefix="DUR")
        [report_id] = await _numbered_reports(tenant, anonymous, project, 1)
        owner = create_async_engine(embedded_services["DATABASE_OWNER_URL"], poolclass=NullPool)
        try:
            async with owner.begin() as connection:  # as an older pod made it
                await connection.execute(delete(ProjectPrefix).where(ProjectPrefix.project_id == UUID(project["id"])))
        finally:
            await owner.dispose()
        assert (await _report(tenant, "DUR-1"))[1]["id"] == report_id
        taken = await tenant.client.post("/api/v1/projects", json={"name": "Other", "trackingPrefix": "DUR"})
        assert taken.status_code == 409, taken.text
        assert (
            taken.json()["details"][0]["message"]
            == "Another project of this organization already uses this tracking prefix."
        )

        renamed = await tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "DUX"})
        assert renamed.status_code == 200, renamed.text
        assert [(await _report(tenant, reference))[1]["id"] for reference in ("DUR-1", "DUX-1")] == [report_id] * 2
        again = await tenant.client.post("/api/v1/projects", json={"name": "Other", "trackingPrefix": "DUR"})
        assert again.status_code == 409, again.text
