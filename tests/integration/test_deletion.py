"""Deleting a report or a project deletes its stored files too (screenshots, attached files, thumbnails,
uploads never attached), by a real arq worker once the deletion has committed; no other report's, project's or
organization's file goes with them.

Real parts: the app in-process, local storage under the suite's data directory, the test Redis and a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast
from uuid import UUID

import httpx
import pytest
from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.domain.reports.models import Attachment, Screenshot
from app.domain.reports.screenshots import ImageProcessor, ScreenshotService
from app.lib.errors import message_of, not_found
from app.lib.i18n import use_locale
from app.lib.storage import Storage, storage
from app.settings import get_settings
from tests.integration.test_attachment_images import attach, new_report
from tests.integration.test_concurrent_changes import until_waiting, waiting_for_locks
from tests.integration.test_jobs import png, settled, submit_with_screenshot
from tests.integration.test_reports import BUGSPARK_EXAMPLE
from tests.integration.test_screenshots import tenant_session
from tests.support.admin_ui import invite
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import member_of, owner_engine
from tests.support.locks import until_waiting_for
from tests.support.logs import json_lines
from tests.support.processes import worker_process
from tests.support.screenshots import files_under, image_threads_busy
from tests.support.worker import running_worker

WAIT_SECONDS = 30.0


def stored(*parts: str) -> set[str]:
    """The files stored under `organization[/project]`, as keys."""
    uploads = get_settings().data_dir / "uploads"
    return {str(path.relative_to(uploads)) for path in files_under(uploads.joinpath(*parts))}


async def until_stored(expected: set[str], *parts: str) -> None:
    for _ in range(int(WAIT_SECONDS / 0.1)):
        if stored(*parts) == expected:
            return
        await asyncio.sleep(0.1)
    assert stored(*parts) == expected


async def until_gone(*parts: str) -> None:
    """Until the folder of `organization[/project]` is gone, empty folders and all."""
    folder = get_settings().data_dir.joinpath("uploads", *parts)
    for _ in range(int(WAIT_SECONDS / 0.1)):
        if not folder.exists():
            return
        await asyncio.sleep(0.1)
    assert not folder.exists(), sorted(str(path) for path in folder.rglob("*"))


async def report_with_files(tenant: Tenant, api_key: str) -> str:
    """A report with a screenshot, an attached image and an attached text file, all processed."""
    report_id = await submit_with_screenshot(tenant, api_key, png())
    await attach(tenant, report_id, "detail.png", png(), "image/png")
    await attach(tenant, report_id, "console.txt", b"TypeError: cart is undefined", "text/plain")
    await settled(tenant.client)
    return report_id


async def test_a_deleted_reports_files_go_and_no_one_elses(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other, running_worker():
        project = await tenant.create_project("Shop")
        theirs = await other.create_project("Shop")
        await report_with_files(other, theirs["apiKey"])
        kept = await report_with_files(tenant, project["apiKey"])
        before = stored(tenant.organization_id)
        others_before = stored(other.organization_id)
        assert len(before) == 5  # the screenshot and the image, each with its thumbnail; the text file

        deleted = await report_with_files(tenant, project["apiKey"])
        assert len(stored(tenant.organization_id)) == 10
        response = await tenant.client.delete(f"/api/v1/reports/{deleted}")
        assert response.status_code == 204, response.text

        await until_stored(before, tenant.organization_id)
        assert stored(other.organization_id) == others_before
        assert (await tenant.client.get(f"/api/v1/reports/{kept}/attachments")).status_code == 200


async def test_a_deleted_projects_files_go_with_its_unattached_uploads(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant, tenants.create("Other") as other, running_worker():
        doomed = await tenant.create_project("Old shop")
        kept = await tenant.create_project("New shop")
        theirs = await other.create_project("Shop")
        for project, owner in ((doomed, tenant), (kept, tenant), (theirs, other)):
            await report_with_files(owner, project["apiKey"])
        unattached = await tenant.client.post(
            "/api/v1/upload/screenshot", files={"file": ("shot.png", png())}, headers={"X-API-Key": doomed["apiKey"]}
        )
        assert unattached.status_code == 201, unattached.text  # stored as sent: processed once a report has it
        assert len(stored(tenant.organization_id, doomed["id"])) == 6
        kept_files, others_files = stored(tenant.organization_id, kept["id"]), stored(other.organization_id)

        response = await tenant.client.delete(f"/api/v1/projects/{doomed['id']}")
        assert response.status_code == 204, response.text

        await until_gone(tenant.organization_id, doomed["id"])
        assert stored(tenant.organization_id, kept["id"]) == kept_files
        assert stored(other.organization_id) == others_files


class DeletesTheReport:
    """The suite's storage, with the report deleted through the API as the worker first reads the original
    (`when="get"`) or writes a processed file (`when="put"`): a deletion racing the processing of the report's
    screenshot, made certain."""

    def __init__(self, tenant: Tenant, report_id: str, when: str) -> None:
        self.tenant, self.report_id, self.when = tenant, report_id, when
        self.store = storage()
        self.written = 0
        self.deleted = False

    async def _delete_the_report(self, now: str) -> None:
        if now == self.when and not self.deleted:
            response = await self.tenant.client.delete(f"/api/v1/reports/{self.report_id}")
            assert response.status_code == 204, response.text
            self.deleted = True

    async def get(self, key: str) -> bytes:
        await self._delete_the_report("get")
        return await self.store.get(key)

    async def put(self, key: str, data: bytes) -> None:
        await self._delete_the_report("put")
        self.written += 1
        await self.store.put(key, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def pending_screenshot(tenant: Tenant) -> tuple[str, UUID]:
    """A report and its screenshot, not processed (no worker runs yet): the report's id, the screenshot's."""
    project = await tenant.create_project("Shop")
    report_id = await submit_with_screenshot(tenant, project["apiKey"], png())
    async with tenant_session(tenant) as session:
        [screenshot_id] = await session.scalars(select(Screenshot.id).where(Screenshot.report_id == UUID(report_id)))
    return report_id, screenshot_id


async def test_a_screenshot_processed_while_its_report_is_deleted_leaves_no_file(tenants: TenantFactory) -> None:
    async with tenants.create() as tenant:
        report_id, screenshot_id = await pending_screenshot(tenant)
        store = DeletesTheReport(tenant, report_id, when="put")
        async with tenant_session(tenant) as session:
            assert await ScreenshotService(session, cast("Storage", store)).process(screenshot_id) is None
        assert store.written == 2  # the image and its thumbnail were written, then deleted again
        async with running_worker():  # the deletion's own job: the original upload
            await until_stored(set(), tenant.organization_id)


async def test_a_screenshot_refused_while_its_report_is_deleted_ends_quietly(tenants: TenantFactory) -> None:
    """No row is left to mark failed: the run ends, instead of raising and being tried again."""
    async with tenants.create() as tenant:
        report_id, screenshot_id = await pending_screenshot(tenant)
        store = DeletesTheReport(tenant, report_id, when="get")
        # Refused: out of time, its turn in the image threads coming only after the timeout.
        with environment(LANTERN_SCREENSHOT_TIMEOUT_SECONDS="1"), image_threads_busy():
            async with tenant_session(tenant) as session:
                assert await ScreenshotService(session, cast("Storage", store)).process(screenshot_id) is None
        assert store.deleted
        assert store.written == 0


@pytest.mark.parametrize("model", [Screenshot, Attachment], ids=["screenshot", "attachment"])
async def test_an_image_processed_while_its_reports_deletion_runs_leaves_no_file(
    tenants: TenantFactory, is_postgres: bool, model: type[Screenshot | Attachment]
) -> None:
    """The deletion read the report's files (the uploads as sent), then deleted its rows; an image processed in
    between put its clean copy and thumbnail in the upload's place, and no deletion named them: they stayed in
    storage for good. The deletion is made to wait at its DELETE of the report (the report table held in SHARE
    mode) while the image is processed: now the image waits for the deletion and finds nothing to do. (PostgreSQL
    only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        report_id = await submit_with_screenshot(tenant, project["apiKey"], png())
        await attach(tenant, report_id, "detail.png", png(), "image/png")
        async with tenant_session(tenant) as session:
            [image_id] = await session.scalars(select(model.id).where(model.report_id == UUID(report_id)))
        async with owner_engine() as engine, engine.connect() as holding:
            await holding.execute(text("LOCK TABLE report IN SHARE MODE"))
            deletion = asyncio.ensure_future(tenant.client.delete(f"/api/v1/reports/{report_id}"))
            await until_waiting(holding, [deletion], 1)
            processing = asyncio.ensure_future(processed(tenant, model, image_id))
            for _ in range(int(WAIT_SECONDS / 0.05)):  # processed, or waiting for the deletion
                if processing.done() or await waiting_for_locks(holding) == 2:
                    break
                await asyncio.sleep(0.05)
            await holding.commit()
            deleted = await deletion
            await processing
        assert deleted.status_code == 204, deleted.text
        async with running_worker():  # the deletion's own job
            await until_stored(set(), tenant.organization_id)


async def test_an_image_whose_report_is_deleted_as_it_is_claimed_ends_quietly(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """An attached image's run claimed its row (committed), then read its report's project: a deletion of the
    report committed in between made it fail with a NoResultFound traceback. The job is stopped at its read of the
    report (the table held by the test, which deletes the report meanwhile): now the row is read with its project
    before the claim, the run finds nothing to do, ends done and writes no file. (PostgreSQL only: SQLite writes
    one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        report_id, _project_id = await new_report(tenant)
        attachment = await attach(tenant, report_id, "detail.png", png(), "image/png")  # queued; no worker runs yet
        uploaded = stored(tenant.organization_id)
        async with owner_engine() as engine, engine.connect() as holding:
            await holding.execute(text("LOCK TABLE report IN ACCESS EXCLUSIVE MODE"))
            async with worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process:
                await until_waiting_for(holding, "report", past="attachment")
                await holding.execute(text("DELETE FROM report WHERE id = :id"), {"id": UUID(report_id)})
                await holding.commit()
                ended = await process.job_ended(f"attachment:{attachment['id']}:0:process_attachment_image")
                log = process.output()
    assert ended["event"].endswith(" ●"), log  # done, with nothing to return; not failed
    assert "NoResultFound" not in log, log
    assert not [line for line in json_lines(log) if "exception" in line], log  # no traceback
    assert stored(tenant.organization_id) == uploaded  # the upload as sent, the deletion's job's to delete


async def processed(tenant: Tenant, model: type[Screenshot | Attachment], image_id: UUID) -> str | None:
    """The image processed as its job processes it."""
    async with tenant_session(tenant) as session:
        return await ImageProcessor(session, model).process(image_id)


async def test_an_owner_deletes_the_organization_with_all_it_holds_and_nothing_else(
    tenants: TenantFactory, app: Any
) -> None:
    """An organization could not be deleted at all: a tenant that left a shared instance stayed on it for good."""
    async with tenants.create() as tenant, tenants.create("Other") as other, running_worker():
        shop = await tenant.create_project("Shop")
        theirs = await other.create_project("Shop")
        for project, owner in ((shop, tenant), (theirs, other)):
            await report_with_files(owner, project["apiKey"])
        token = (await tenant.client.post("/api/v1/tokens", json={"name": "CI"})).json()["data"]["token"]
        others_files, others_reports = stored(other.organization_id), await _reports(other)
        async with member_of(tenant, app, "admin") as admin:
            assert (await admin.delete("/api/v1/organization", params={"confirm": "Acme"})).status_code == 403
            admin_email = (await admin.get("/api/v1/auth/me")).json()["data"]["user"]["email"]
        # Someone in both organizations keeps their account and the other one.
        await invite(tenant, app, "member", other.email)
        unconfirmed = await tenant.client.delete("/api/v1/organization")
        assert unconfirmed.json()["details"] == [{"field": "confirm", "message": "This field is required."}]
        mistyped = await tenant.client.delete("/api/v1/organization", params={"confirm": "acme corp"})
        assert (mistyped.status_code, mistyped.json()["details"][0]["field"]) == (400, "confirm"), mistyped.text
        name = (await tenant.client.get("/api/v1/organization")).json()["data"]["name"]

        deleted = await tenant.client.delete("/api/v1/organization", params={"confirm": name})
        assert deleted.status_code == 204, deleted.text

        await until_gone(tenant.organization_id)  # no empty folder left either, one for each organization that left
        assert (await tenant.client.get("/api/v1/organization")).status_code == 401  # the session ended
        async with ApiClient.for_app(app) as client:
            by_token = await client.get("/api/v1/reports", headers={"Authorization": f"Bearer {token}"})
            widget = await client.get(f"/api/v1/widget/config/{shop['apiKey']}")
            admin_login = await client.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
            both = await client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD})
        assert by_token.status_code == 401
        assert widget.status_code in {401, 404}, widget.text
        assert both.status_code == 200, both.text
        # An account left in no organization goes too: it could neither log in nor sign up again with its address.
        assert admin_login.status_code == 401, admin_login.text
        async with ApiClient.for_app(app) as again:
            body = {"email": tenant.email, "password": PASSWORD, "name": "Ada", "organization": {"name": "Acme"}}
            assert (await again.post("/api/v1/auth/signup", json=body)).status_code == 201
        assert stored(other.organization_id) == others_files
        assert await _reports(other) == others_reports


async def _reports(tenant: Tenant) -> list[str]:
    listed = await tenant.client.get("/api/v1/reports")
    return sorted(item["id"] for item in listed.json()["data"]["items"])


async def test_a_name_saved_with_spaces_around_it_is_confirmed_as_typed(tenants: TenantFactory) -> None:
    """The typed name was trimmed and the stored one not: such an organization could never be deleted."""
    async with tenants.create("Night Market\N{NO-BREAK SPACE}") as tenant:
        deleted = await tenant.client.delete("/api/v1/organization", params={"confirm": "Night Market"})
    assert deleted.status_code == 204, deleted.text


async def answered_across_a_deletion(
    owner_url: str, request: Coroutine[Any, Any, httpx.Response], table: str, deletion: TextClause
) -> httpx.Response:
    """`request`'s answer when its checks come before a deletion and its insert into `table` after it: another
    transaction holds inserts into `table` off (a table lock), deletes once the request waits for it, commits."""
    engine = create_async_engine(owner_url, poolclass=NullPool)
    try:
        async with engine.connect() as deleting:
            await deleting.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
            answer = asyncio.ensure_future(request)
            waiting = text(
                "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
                "WHERE pg_class.relname = :table AND NOT pg_locks.granted"
            )
            for _ in range(int(WAIT_SECONDS / 0.05)):
                if answer.done() or await deleting.scalar(waiting, {"table": table}):
                    break
                await asyncio.sleep(0.05)
            assert not answer.done(), answer.result().text  # it answered before inserting
            await deleting.execute(deletion)
            await deleting.commit()
            return await answer
    finally:
        await engine.dispose()


@pytest.mark.parametrize("case", ["webhook", "link"])
async def test_what_is_added_while_its_organization_or_project_is_deleted_is_not_found(
    case: str, tenants: TenantFactory, anonymous: ApiClient, embedded_services: dict[str, str], is_postgres: bool
) -> None:
    """A webhook or an attachment checked before the deletion of its organization or project committed and
    inserted after: the insert broke a foreign key, which answered 409 Conflict (500 where the statement was not
    the repository's). A comment holds its report while it is added, so no deletion comes between its check and
    its insert (test_concurrent_changes). (PostgreSQL only: SQLite writes one transaction at a time, so no
    deletion comes between a request's checks and its insert; the ingest's, which reads a cached key, is checked
    in test_group_commit.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        submitted = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        assert submitted.status_code == 201, submitted.text
        report = f"/api/v1/reports/{submitted.json()['data']['id']}"
        organization = text("DELETE FROM organization WHERE id = :id").bindparams(id=UUID(tenant.organization_id))
        the_project = text("DELETE FROM project WHERE id = :id").bindparams(id=UUID(project["id"]))
        path, body, table, deletion = {
            "webhook": ("/api/v1/webhooks", {"url": "https://hooks.example.com/lantern", "events": ["report.created"],
                                             "projectId": project["id"]}, "webhook", organization),
            "link": (f"{report}/attachments", {"url": "https://example.com/log.txt"}, "attachment", the_project),
        }[case]  # fmt: skip
        request = tenant.client.post(path, json=body, headers={"Accept-Language": "de"})
        answer = await answered_across_a_deletion(embedded_services["DATABASE_OWNER_URL"], request, table, deletion)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == "NOT_FOUND"
        with use_locale("de"):
            assert answer.json()["message"] == message_of(not_found())


@pytest.mark.parametrize("kind", ["text", "image"])
async def test_a_file_uploaded_while_its_project_is_deleted_is_not_kept(
    kind: str, tenants: TenantFactory, anonymous: ApiClient, embedded_services: dict[str, str], is_postgres: bool
) -> None:
    """The file was stored before its row, whose insert then broke a foreign key (404): no row named the file,
    and the project's file deletion had come before it, so it stayed on disk for good. It is deleted when its
    row cannot be inserted. (PostgreSQL only, as above.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        submitted = await anonymous.post(
            "/api/v1/reports", json=BUGSPARK_EXAMPLE, headers={"X-API-Key": project["apiKey"]}
        )
        assert submitted.status_code == 201, submitted.text
        path = f"/api/v1/reports/{submitted.json()['data']['id']}/attachments"
        file = ("detail.png", png(), "image/png") if kind == "image" else ("console.txt", b"TypeError", "text/plain")
        request = tenant.client.post(path, files={"file": file})
        the_project = text("DELETE FROM project WHERE id = :id").bindparams(id=UUID(project["id"]))
        answer = await answered_across_a_deletion(
            embedded_services["DATABASE_OWNER_URL"], request, "attachment", the_project
        )
        assert answer.status_code == 404, answer.text
        assert stored(tenant.organization_id, project["id"]) == set()
