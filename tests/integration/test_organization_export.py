"""An organization exported from the admin UI (Settings → Export organization): started by its owners alone, one at
a time, written by the real worker to the archive the CLI writes (import-organization reads it back), downloaded as
a zip by its owners, kept for a week or until the next export, deleted with its organization, and never another
organization's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from arq.constants import in_progress_key_prefix
from sqlalchemy import select, update

from app.domain.transfer.archive import MANIFEST
from app.domain.transfer.models import ExportStatus, OrganizationExport
from app.domain.transfer.services import LOST_AFTER, SILENT_AFTER, OrganizationExports
from app.lib.database import alchemy_config
from app.lib.redis import get_redis
from app.lib.revisions import current_revision
from app.settings import get_settings
from tenants.context import tenant_scope
from tests.integration.test_attachment_images import attach
from tests.integration.test_transfer import cli, get, screenshot_report
from tests.support.admin_ui import report
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.isolation import member_of
from tests.support.screenshots import numbered, processed
from tests.support.worker import lose_jobs, queued_jobs, running_worker
from workers.jobs import sweep_expired_files, sweep_outbound_work

DOWNLOAD = re.compile(r'href="(/ui/settings/exports/([0-9a-f-]{36})/download)"')
WAIT_SECONDS = 120.0
ATTACHMENT_BYTES = 8 * 1024 * 1024


async def settings_page(client: ApiClient, lang: str = "en") -> str:
    page = await client.get("/ui/settings", params={"lang": lang})
    assert page.status_code == 200, page.text
    return page.text


async def start(client: ApiClient) -> httpx.Response:
    return await client.post("/ui/settings/export")


async def exported(tenant: Tenant) -> str:
    """Start an export as the tenant's owner; the address of its archive once the worker has written it."""
    started = await start(tenant.client)
    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/ui/settings?notice=export-started#export"
    return await archive_address(tenant)


async def archive_address(tenant: Tenant) -> str:
    for _ in range(int(WAIT_SECONDS / 0.1)):
        page = await settings_page(tenant.client)
        assert "Try again" not in page, page
        if found := DOWNLOAD.search(page):
            return found.group(1)
        await asyncio.sleep(0.1)
    msg = "the export was never written"
    raise AssertionError(msg)


def stored_archives(organization_id: str) -> list[Path]:
    return sorted((get_settings().data_dir / "uploads" / organization_id / "exports").glob("*.zip"))


async def changed_since(tenant: Tenant, ago: timedelta) -> None:
    """The organization's export as if last changed `ago`."""
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            await session.execute(update(OrganizationExport).values(updated_at=datetime.now(UTC) - ago))
            await session.commit()


async def test_an_owner_downloads_the_archive_that_import_organization_reads_back(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    async with tenants.create("Acme Portable") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="PRT")
        shot = await screenshot_report(tenant, project, "The cart is empty")
        await processed(tenant, shot["id"])
        report = await numbered(tenant, shot["id"])  # a numbering may wait for the cluster's older transactions
        original = (await tenant.client.get((await processed(tenant, shot["id"]))["url"])).content

        address = await exported(tenant)
        page = await settings_page(tenant.client)
        assert "Kept until" in page
        download = await tenant.client.get(address)
        assert download.status_code == 200, download.text
        assert download.headers["content-type"] == "application/zip"
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert download.headers["content-disposition"] == f'attachment; filename="{tenant.slug}-export-{today}.zip"'
        assert int(download.headers["content-length"]) == len(download.content)
        archive = tmp_path / "acme.zip"
        archive.write_bytes(download.content)
        with zipfile.ZipFile(archive) as opened:
            manifest = json.loads(opened.read(MANIFEST))
            files = [name for name in opened.namelist() if name.startswith("files/")]
        assert manifest["organization"]["slug"] == tenant.slug
        assert manifest["counts"]["reports"] == 1
        assert len(files) == 2  # the screenshot and its thumbnail

        imported = await cli("import-organization", str(archive), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        me = await get(tenant, "/api/v1/auth/me")
        [copy] = [org for org in me["organizations"] if org["name"] == "Acme Portable" and org["slug"] != tenant.slug]
        switched = await tenant.client.post("/api/v1/auth/organization", json={"organizationId": copy["id"]})
        assert switched.status_code == 200, switched.text
        moved = await get(tenant, f"/api/v1/reports/{report['trackingId']}")
        assert (moved["title"], moved["screenshots"][0]["status"]) == ("The cart is empty", "ready")
        picture = await tenant.client.get(moved["screenshots"][0]["url"])
        assert (picture.status_code, picture.content) == (200, original)


async def test_only_the_organizations_owners_see_start_and_download_it(
    tenants: TenantFactory, app: Any, worker: Any
) -> None:
    """Admins, members and guests are refused (403) on their own organization's export, and see no card; another
    organization's export is not found (404) by anyone, its owners included, as an unknown one is."""
    async with tenants.create("Acme Owners") as tenant, tenants.create("Globex Owners") as other:
        address = await exported(tenant)
        export_id = address.split("/")[-2]
        unknown = address.replace(export_id, "0195f0a0-0000-7000-8000-000000000000")
        async with member_of(tenant, app, "admin") as admin:
            page = await settings_page(admin)
            assert "Organization settings" in page
            assert "Export organization" not in page
            assert "/ui/settings/exports/" not in page
            assert (await start(admin)).status_code == 403
            assert (await admin.get(address)).status_code == 403
        for role in ("member", "guest"):
            async with member_of(tenant, app, role) as person:
                assert (await person.get("/ui/settings")).status_code == 403
                assert (await start(person)).status_code == 403, role
                assert (await person.get(address)).status_code == 403, role
        assert (await tenant.client.get(address)).status_code == 200

        foreign = await other.client.get(address)
        assert foreign.status_code == 404
        assert foreign.text.replace(export_id, "{id}") == (await other.client.get(unknown)).text.replace(
            "0195f0a0-0000-7000-8000-000000000000", "{id}"
        )
        for role in ("admin", "member"):
            async with member_of(other, app, role) as person:
                assert (await person.get(address)).status_code == 404, role
        assert "/ui/settings/exports/" not in await settings_page(other.client)


async def test_a_second_click_while_one_runs_starts_no_other(tenants: TenantFactory) -> None:
    """No worker runs: the first export waits for one, and a second click, or two at once, queue no other."""
    async with tenants.create("Acme Clicks") as tenant:
        assert (await start(tenant.client)).headers["location"].endswith("notice=export-started#export")
        again = await start(tenant.client)
        assert again.headers["location"] == "/ui/settings?notice=export-running#export"
        page = (await tenant.client.get(again.headers["location"])).text
        assert "An export is running already" in page
        assert "Waiting for the worker" in page
        both = await asyncio.gather(start(tenant.client), start(tenant.client))
        assert {answer.status_code for answer in both} == {303}
        assert len(await queued_jobs("export_organization")) == 1


async def test_two_owners_clicking_at_once_start_one_export(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create("Acme Together") as tenant, member_of(tenant, app, "owner") as second:
        answers = await asyncio.gather(start(tenant.client), start(second))
        locations = sorted(answer.headers["location"] for answer in answers)
        assert locations == [
            "/ui/settings?notice=export-running#export",
            "/ui/settings?notice=export-started#export",
        ]
        assert len(await queued_jobs("export_organization")) == 1


async def test_a_failed_export_says_why_in_the_owners_language_and_is_tried_again(
    tenants: TenantFactory, worker: Any
) -> None:
    async with tenants.create("Acme Failing") as tenant:
        # The organization's archives' folder is a file: the storage cannot take the archive.
        blocker = get_settings().data_dir / "uploads" / tenant.organization_id / "exports"
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_bytes(b"in the way")
        assert (await start(tenant.client)).status_code == 303
        for _ in range(int(WAIT_SECONDS / 0.1)):
            page = await settings_page(tenant.client, lang="de")
            if "data-pending" not in page:
                break
            await asyncio.sleep(0.1)
        assert "Das Archiv konnte nicht gespeichert werden" in page, page
        assert "Erneut versuchen" in page
        assert "/ui/settings/exports/" not in page

        blocker.unlink()
        assert (await start(tenant.client)).headers["location"].endswith("notice=export-started#export")
        await archive_address(tenant)


async def test_a_silent_export_is_shown_stopped_and_started_again(tenants: TenantFactory) -> None:
    """Its worker killed, or its job lost with Redis: it would have blocked every export after it."""
    async with tenants.create("Acme Silent") as tenant:
        await start(tenant.client)
        await changed_since(tenant, timedelta(minutes=6))
        page = await settings_page(tenant.client)
        assert "The export stopped before it was done" in page
        assert "data-pending" not in page
        assert (await start(tenant.client)).headers["location"].endswith("notice=export-started#export")
        assert "Waiting for the worker" in await settings_page(tenant.client)


async def test_an_export_whose_job_the_queue_lost_is_queued_again_and_written(tenants: TenantFactory) -> None:
    """Its job lost with Redis before a worker took it: the export waited until it was shown stopped, and its
    owners had to start it again."""
    async with tenants.create("Acme Lost") as tenant:
        await start(tenant.client)
        await lose_jobs(await _queued(tenant))
        await changed_since(tenant, LOST_AFTER + timedelta(seconds=1))
        assert await sweep_outbound_work({}) >= 1
        assert len(await _queued(tenant)) == 1
        async with running_worker(cron_jobs=[]):
            await archive_address(tenant)


async def test_an_export_whose_worker_was_killed_is_queued_again_and_written(tenants: TenantFactory) -> None:
    """The dead worker's claim on its job lasts the longest job's time (3 hours) before arq runs it again: the export
    was shown stopped after `SILENT_AFTER`, and its owners had to start it again."""
    async with tenants.create("Acme Killed") as tenant:
        await start(tenant.client)
        [job_id] = await _queued(tenant)
        await get_redis().set(in_progress_key_prefix + job_id, 1, ex=3 * 60 * 60)  # as the killed worker left it
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                await session.execute(update(OrganizationExport).values(started_at=datetime.now(UTC)))
                await session.commit()
        export_id = await _export_id(tenant)
        await changed_since(tenant, SILENT_AFTER - timedelta(seconds=5))
        await sweep_outbound_work({})  # the suite's other organizations' work too: its count tells nothing here
        assert await queued_jobs("export_organization", naming=export_id) == [job_id]  # its worker may write it
        await changed_since(tenant, SILENT_AFTER + timedelta(seconds=1))
        await sweep_outbound_work({})
        assert len(await queued_jobs("export_organization", naming=export_id)) == 2
        async with running_worker(cron_jobs=[]):
            await taken_up_again(tenant)  # shown stopped (Try again) until the worker takes it up
            await archive_address(tenant)
        assert len(stored_archives(tenant.organization_id)) == 1
        await lose_jobs([job_id])  # the killed worker's, claimed for hours: no later test's worker to meet it


async def test_a_second_job_of_an_export_being_written_leaves_it_to_the_first(tenants: TenantFactory) -> None:
    """The sweeper's job and the lost one's own, both run (the queue had only seemed to lose it): the second wrote
    the same archive again beside the first. A job of an export silent for `SILENT_AFTER` (its worker killed)
    writes it anew."""
    async with tenants.create("Acme Twice") as tenant:
        await start(tenant.client)
        export_id = await _export_id(tenant)
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                exports = OrganizationExports(session=session)
                await session.execute(update(OrganizationExport).values(started_at=datetime.now(UTC)))
                await session.commit()
                assert await exports.write(UUID(export_id), current_revision()) == "gone, or written by another job"
                assert stored_archives(tenant.organization_id) == []
        await changed_since(tenant, SILENT_AFTER + timedelta(seconds=1))
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                written = await OrganizationExports(session=session).write(UUID(export_id), current_revision())
        assert written == ExportStatus.READY
        assert len(stored_archives(tenant.organization_id)) == 1


async def _queued(tenant: Tenant) -> list[str]:
    """The jobs of the organization's export, once there is one (the enqueue after a commit runs beside its
    caller)."""
    naming = await _export_id(tenant)
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if found := await queued_jobs("export_organization", naming=naming):
            return found
        await asyncio.sleep(0.05)
    msg = "no job of the export was queued"
    raise AssertionError(msg)


async def taken_up_again(tenant: Tenant) -> None:
    """Until a worker has taken the organization's silent export up again, or written it."""
    for _ in range(int(WAIT_SECONDS / 0.05)):
        with tenant_scope(UUID(tenant.organization_id)):
            async with alchemy_config().get_session() as session:
                export = await session.scalar(select(OrganizationExport))
        heard_of = export is not None and export.updated_at > datetime.now(UTC) - SILENT_AFTER
        if heard_of or (export is not None and export.status != ExportStatus.RUNNING):
            return
        await asyncio.sleep(0.05)
    msg = "no worker took the export up again"
    raise AssertionError(msg)


async def _export_id(tenant: Tenant) -> str:
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            return str(await session.scalar(select(OrganizationExport.id)))


async def test_an_archive_goes_after_a_week_with_the_next_export_and_with_its_organization(
    tenants: TenantFactory, worker: Any
) -> None:
    async with tenants.create("Acme Kept") as tenant, tenants.create("Globex Kept") as other:
        await exported(tenant)
        await exported(other)
        [first] = stored_archives(tenant.organization_id)
        await changed_since(tenant, timedelta(days=6, hours=23))
        await sweep_expired_files({})
        assert stored_archives(tenant.organization_id) == [first]

        await changed_since(tenant, timedelta(days=7, minutes=1))
        assert await sweep_expired_files({}) >= 1
        assert stored_archives(tenant.organization_id) == []
        page = await settings_page(tenant.client)
        assert "/ui/settings/exports/" not in page
        assert ">Export organization</button>" in page
        assert len(stored_archives(other.organization_id)) == 1  # another organization's is not its to sweep

        await exported(tenant)
        [second] = stored_archives(tenant.organization_id)
        await exported(tenant)  # "Export again": the next archive replaces it
        for _ in range(int(WAIT_SECONDS / 0.1)):
            if second not in stored_archives(tenant.organization_id):
                break
            await asyncio.sleep(0.1)
        [third] = stored_archives(tenant.organization_id)
        assert third != second

        deleted = await other.client.post("/ui/settings/delete", data={"confirm": "Globex Kept"})
        assert deleted.status_code == 303, deleted.text
        folder = get_settings().data_dir / "uploads" / other.organization_id
        for _ in range(int(WAIT_SECONDS / 0.1)):
            if not folder.exists():
                break
            await asyncio.sleep(0.1)
        assert not folder.exists(), list(folder.rglob("*"))  # the archive, and the folders it was in


async def test_the_archive_is_written_while_the_workers_loop_is_held(tenants: TenantFactory, worker: Any) -> None:
    """Deflating a file into the archive holds its event loop for as long as it takes: an 8 MB attachment held the
    worker's, which numbers the reports that requests wait 500 ms for, for 2 s. The exporter has a loop of its own,
    on a thread: with the worker's loop (this test's) held by another job, it still writes both attachments into
    the archive. Held on the worker's loop, it would write nothing until this test let go."""
    async with tenants.create("Acme Heavy") as tenant:
        project = await tenant.create_project("Shop")
        made = await report(tenant.client, project["apiKey"], "Large logs")
        for number in range(2):
            await attach(tenant, made["id"], f"log-{number}.bin", os.urandom(ATTACHMENT_BYTES), "text/plain")
        others = set(archives_being_written())
        started = await start(tenant.client)
        assert started.status_code == 303, started.text
        partial = await archive_being_written(others)
        assert held_until_written(partial, 2 * ATTACHMENT_BYTES), "nothing was written while the worker's loop was held"
        await archive_address(tenant)


def archives_being_written() -> list[Path]:
    return sorted((get_settings().data_dir / "exports").glob("*/.organization.zip.partial"))


async def archive_being_written(others: set[Path]) -> Path:
    """The archive the worker's exporter writes, not one of `others`, once it has opened it (before it reads the
    database)."""
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if found := [path for path in archives_being_written() if path not in others]:
            return found[0]
        await asyncio.sleep(0.05)
    msg = "the export was never started"
    raise AssertionError(msg)


def held_until_written(partial: Path, size: int) -> bool:
    """Block this thread, and the event loop it runs, until the archive holds `size` bytes (or has been written
    whole, under its own name), for at most `WAIT_SECONDS`: whether it did. Deliberately synchronous."""
    whole = partial.with_name(partial.name.removeprefix(".").removesuffix(".partial"))
    for _ in range(int(WAIT_SECONDS / 0.05)):
        with contextlib.suppress(FileNotFoundError):
            if whole.exists() or partial.stat().st_size >= size:
                return True
        time.sleep(0.05)  # holding the loop is the point
    return False
