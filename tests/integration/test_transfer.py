"""An organization exported with `python -m app.cli export-organization` and imported with `import-organization`:
the archive holds its rows and files and nothing of another organization's, and the organization it makes answers
the API as the original does, tracking IDs, files and all; a refused or failed import leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from app.domain.accounts.models import User
from app.domain.organizations.models import SLUG_LENGTH, Invitation, Membership, Organization
from app.domain.reports.attachments import MAX_ATTACHMENT_BYTES
from app.domain.reports.ingest import MAX_UPLOAD_BYTES
from app.domain.reports.models import Attachment, Screenshot
from app.domain.reports.screenshots import largest_processed_image
from app.domain.transfer.archive import MANIFEST, PEOPLE_KIND, TENANT_KINDS
from app.domain.transfer.exporting import export_organization
from app.domain.transfer.importing import ArchiveRefusedError, import_organization, largest_stored_file
from app.domain.webhooks.models import Webhook
from app.lib.database import alchemy_config
from app.lib.revisions import current_revision
from app.lib.storage import storage
from app.settings import get_settings
from tenants.context import system_scope, tenant_scope
from tests.integration.test_attachment_images import attach
from tests.integration.test_screenshots import screenshot_png
from tests.support.admin_ui import invite, png, report
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.screenshots import files_under, numbered, processed

ROOT = Path(__file__).resolve().parents[2]
# Keys whose values are ids or addresses made of ids: another organization's rows have other ones. Widget keys too,
# here: the original organization is on the same instance, and has them (checked on their own below).
_ID_KEYS = {"id", "projectId", "reportId", "url", "thumbnailUrl", "downloadUrl", "links", "apiKey", "key"}


def lantern(
    *args: str,
    lang: str = "en_US.UTF-8",
    max_file_bytes: int | None = None,
    env: dict[str, str] | None = None,
    interpreter: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it, on this suite's database, Redis and data directory (with `env`'s variables
    too); with `max_file_bytes`, on a disk as good as full (a file written past that size fails with EFBIG); with
    `interpreter`, run by that command instead of this Python."""
    env = {**os.environ, **(env or {}), "LANG": lang, "LC_ALL": lang}

    def full_disk() -> None:
        if max_file_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(  # noqa: S603 - our own interpreter and module; the hook only sets a limit
        [*(interpreter or [sys.executable]), "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=full_disk,
    )


async def cli(
    *args: str, lang: str = "en_US.UTF-8", max_file_bytes: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(lantern, *args, lang=lang, max_file_bytes=max_file_bytes, env=env)


async def get(tenant: Tenant, path: str) -> Any:
    response = await tenant.client.get(path)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def screenshot_report(tenant: Tenant, project: dict[str, Any], title: str) -> dict[str, Any]:
    headers = {"X-API-Key": project["apiKey"]}
    files = {"file": ("shot.png", screenshot_png((320, 200)), "image/png")}
    upload = await tenant.client.post("/api/v1/upload/screenshot", files=files, headers=headers)
    assert upload.status_code == 201, upload.text
    return await report(tenant.client, project["apiKey"], title, screenshot_url=upload.json()["key"])


async def exported_with_a_screenshot(tenant: Tenant, prefix: str, path: Path) -> dict[str, Any]:
    """A project of the organization with a report and its processed screenshot, the organization exported to
    `path`: the project. Its owner has an account here: the archive imports with --join-existing-accounts."""
    project = await tenant.create_project("Shop", trackingPrefix=prefix)
    shot = await screenshot_report(tenant, project, "The cart is empty")
    await processed(tenant, shot["id"])
    assert (await cli("export-organization", tenant.organization_id, str(path))).returncode == 0
    return project


def archived(path: Path) -> dict[str, list[dict[str, Any]]]:
    with zipfile.ZipFile(path) as archive:
        return {
            kind.name: [json.loads(line) for line in archive.read(kind.file).splitlines()]
            for kind in (*TENANT_KINDS, PEOPLE_KIND)
        }


def without_ids(value: Any) -> Any:
    """An API answer with the ids that differ between two organizations taken out."""
    if isinstance(value, dict):
        return {key: without_ids(item) for key, item in value.items() if key not in _ID_KEYS}
    if isinstance(value, list):
        return [without_ids(item) for item in value]
    return value


async def organizations() -> int:
    async with alchemy_config().get_session() as session:
        with system_scope("test"):
            return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


def stored_files() -> set[Path]:
    return files_under(get_settings().data_dir / "uploads")


async def filled(tenant: Tenant, app: Any) -> dict[str, Any]:
    """An organization with what a team makes: projects (one renamed), reports with screenshots, attachments,
    tags, comments, history and a custom column, a member and a pending invitation."""
    shop = await tenant.create_project("Shop", trackingPrefix="RLT")
    first = await screenshot_report(tenant, shop, "The cart is empty")
    second = await report(tenant.client, shop["apiKey"], "Checkout fails", severity="critical")
    await numbered(tenant, first["id"])
    await numbered(tenant, second["id"])
    renamed = await tenant.client.patch(f"/api/v1/projects/{shop['id']}", json={"trackingPrefix": "RLX"})
    assert renamed.status_code == 200, renamed.text
    third = await report(tenant.client, shop["apiKey"], "After the rename")
    await numbered(tenant, third["id"])
    blog = await tenant.create_project("Blog", trackingPrefix="BLG")
    await numbered(tenant, (await report(tenant.client, blog["apiKey"], "Typo on the blog"))["id"])
    column = await tenant.client.post(f"/api/v1/projects/{shop['id']}/columns", json={"name": "QA"})
    assert column.status_code == 201, column.text
    member_email, member_id = await invite(tenant, app, "member")
    invited = await tenant.client.post(
        "/api/v1/organization/members", json={"email": "newcomer-transfer@example.com", "role": "guest"}
    )
    assert invited.status_code == 201, invited.text
    triaged = await tenant.client.patch(
        f"/api/v1/reports/{second['id']}", json={"status": "QA", "tags": ["UI", "checkout"], "assigneeId": member_id}
    )
    assert triaged.status_code == 200, triaged.text
    for body in ({"text": "Seen on Firefox too"}, {"text": "Our own note", "internal": True}):
        said = await tenant.client.post(f"/api/v1/reports/{second['id']}/comments", json=body)
        assert said.status_code == 201, said.text
    await attach(tenant, second["id"], "notes.txt", b"steps to reproduce", "text/plain")
    picture = await attach(tenant, second["id"], "picture.png", png(64, 48), "image/png")
    await processed(tenant, first["id"])
    for _ in range(600):  # the attached image's processing, by the worker
        listed = await get(tenant, f"/api/v1/reports/{second['id']}/attachments")
        if all(item["status"] != "pending" for item in listed if item["id"] == picture["id"]):
            break
        await asyncio.sleep(0.1)
    hook = await tenant.client.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.com/in", "events": ["report.deleted"]}
    )
    assert hook.status_code == 201, hook.text
    return {"shop": shop, "member": member_email}


async def answers(tenant: Tenant) -> dict[str, Any]:
    """What the API answers of the organization: projects, columns, reports by tracking ID with their comments,
    history, screenshots and attachments, and every stored file's bytes."""
    seen: dict[str, Any] = {"projects": without_ids(await get(tenant, "/api/v1/projects"))}
    listed = await get(tenant, "/api/v1/reports")
    reports = listed["items"] if isinstance(listed, dict) else listed
    seen["reports"] = {}
    for item in reports:
        reference = item["trackingId"]
        one = await get(tenant, f"/api/v1/reports/{reference}")
        files = []
        for shot in one["screenshots"]:
            files += [(await tenant.client.get(shot[name])).content for name in ("url", "thumbnailUrl")]
        attachments = await get(tenant, f"/api/v1/reports/{reference}/attachments")
        for attachment in attachments:
            files.append((await tenant.client.get(attachment["url"])).content)
        seen["reports"][reference] = {
            "report": without_ids(one),
            "comments": without_ids(await get(tenant, f"/api/v1/reports/{reference}/comments")),
            "history": without_ids(await get(tenant, f"/api/v1/reports/{reference}/history")),
            "attachments": without_ids(attachments),
            "files": files,
        }
        columns = await get(tenant, f"/api/v1/projects/{item['projectId']}/columns")
        seen.setdefault("columns", {})[reference.split("-")[0]] = without_ids(columns)
    return seen


def compression_of_files(path: Path) -> set[tuple[str, int]]:
    """(extension, compression) of each stored file in the archive at `path`."""
    with zipfile.ZipFile(path) as archive:
        files = (info for info in archive.infolist() if info.filename.startswith("files/"))
        return {(info.filename.rsplit(".", 1)[1], info.compress_type) for info in files}


async def test_an_exported_organization_imports_as_one_that_answers_the_same(
    tenants: TenantFactory, app: Any, worker: Any, tmp_path: Path
) -> None:
    async with tenants.create("Acme Transfer") as tenant, tenants.create("Globex Transfer") as other:
        made = await filled(tenant, app)
        theirs = await other.create_project("Theirs", trackingPrefix="THR")
        secret = await screenshot_report(other, theirs, "Globex's secret plan")
        await processed(other, secret["id"])
        before = await answers(tenant)

        path = tmp_path / "acme.zip"
        exported = await cli("export-organization", tenant.slug, str(path))
        assert exported.returncode == 0, exported.stderr
        assert "Exported reports: 4 records" in exported.stderr  # progress, a line per kind
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it was readable by every user of the machine
        rows = archived(path)
        # Nothing of the other organization's, and no credential.
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            names = archive.namelist()
            lines = b"".join(archive.read(name) for name in names if name.endswith(".jsonl")).decode()
        # Images go in as they are (deflate gains a percent on them, for seconds of CPU an image); the text deflated.
        stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
        assert compression_of_files(path) == {("png", stored), ("webp", stored), ("bin", deflated)}
        assert other.organization_id not in lines
        assert theirs["id"] not in lines
        assert "Globex" not in lines
        assert [name for name in names if name.startswith("files/")]
        assert all(name.startswith(f"files/{tenant.organization_id}/") for name in names if name.startswith("files/"))
        for withheld in ("password_hash", "token_hash", "token_sealed", '"secret"', "search_text"):
            assert withheld not in lines
        assert manifest["organization"]["slug"] == tenant.slug
        assert manifest["counts"]["reports"] == len(rows["reports"]) == 4
        assert manifest["counts"]["files"] == 5  # a screenshot and an image with their thumbnails, a text file
        assert {row["prefix"] for row in rows["project_prefixes"]} == {"RLT", "RLX", "BLG"}
        assert {row["email"] for row in rows["people"]} >= {tenant.email, made["member"]}

        # A backup restored beside its original: its people, who have accounts here, join it at once.
        imported = await cli("import-organization", str(path), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        assert "newcomer-transfer@example.com: http" in imported.stdout  # invited again, with a link to pass on
        me = await get(tenant, "/api/v1/auth/me")
        [copy] = [
            org for org in me["organizations"] if org["id"] != tenant.organization_id and org["name"] == "Acme Transfer"
        ]
        assert copy["slug"] != tenant.slug  # the original is on this instance too
        switched = await tenant.client.post("/api/v1/auth/organization", json={"organizationId": copy["id"]})
        assert switched.status_code == 200, switched.text
        after = await answers(tenant)
        assert after == before
        # Its receiver checks the source's secret: the webhook waits, off, saying why, for a new one.
        [hook] = await get(tenant, "/api/v1/webhooks")
        assert (hook["active"], hook["disabledReason"]) == (False, "imported")
        former = await get(tenant, "/api/v1/reports/RLT-1")  # a former prefix's ID names its report still
        assert former["trackingId"] == "RLX-1"

        # The numbering goes on after the highest number, with the imported project's widget key.
        [project] = [item for item in await get(tenant, "/api/v1/projects") if item["trackingPrefix"] == "RLX"]
        assert project["id"] != made["shop"]["id"]
        keys = await get(tenant, f"/api/v1/projects/{project['id']}/keys")
        key = next(item["key"] for item in keys if not item.get("revokedAt"))
        assert key != made["shop"]["apiKey"]  # the original's key is this instance's already
        fresh = await report(tenant.client, key, "The first report after the move")
        assert (await numbered(tenant, fresh["id"]))["trackingId"] == "RLX-4"


async def test_an_archive_of_a_newer_lantern_is_refused_in_one_localized_line(tmp_path: Path, app: Any) -> None:
    for field, value in (("formatVersion", 99), ("revision", "9999")):
        path = tmp_path / f"newer-{field}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            manifest = {
                "formatVersion": 1,
                "revision": "0001",
                "organization": {"id": "0195f0a0-0000-7000-8000-000000000000", "name": "X", "slug": "x"},
                "counts": {},
                "createdAt": "2026-12-01T00:00:00+00:00",
            }
            archive.writestr(MANIFEST, json.dumps({**manifest, field: value}))
        with pytest.raises(ArchiveRefusedError, match="newer version of Lantern"):
            await import_organization(path, revisions=["0001"], progress=lambda _kind, _count: None)
    refused = await cli("import-organization", str(path), lang="de_DE.UTF-8")
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert "9999" in line
    assert "Lantern" in line
    assert "newer version" not in line  # in German


async def test_an_import_that_fails_leaves_no_organization_and_no_file(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    async with tenants.create("Half Done") as tenant:
        path = tmp_path / "half.zip"
        await exported_with_a_screenshot(tenant, "HLF", path)
        organizations_before, files_before = await organizations(), stored_files()
        foreign = "0195f0a0-0000-7000-8000-000000000001"
        for damage in ("a row naming what the archive lacks", "a file of a project it lacks, after the good ones"):
            broken = tmp_path / "broken.zip"
            with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
                for info in source.infolist():
                    data = source.read(info)
                    if info.filename == "screenshots.jsonl" and damage.startswith("a row"):
                        data = json.dumps({**json.loads(data.splitlines()[0]), "report_id": foreign}).encode()
                    target.writestr(info, data)
                if damage.startswith("a file"):
                    target.writestr(f"files/{tenant.organization_id}/{foreign}/{'0' * 32}.png", b"late")
            failed = await cli("import-organization", str(broken), "--join-existing-accounts")
            assert failed.returncode == 1, (damage, failed.stdout, failed.stderr)
            # A line, no traceback; the good files came first in the archive, and were written before the damaged
            # one was met: undone.
            assert "Traceback" not in failed.stderr
            assert failed.stderr.splitlines()[-1].startswith("Error: The archive is damaged:"), failed.stderr
            if damage.startswith("a row"):  # the file of the row is named: the driver's words alone named none
                assert "damaged: screenshots.jsonl: " in failed.stderr.splitlines()[-1], failed.stderr
            assert await organizations() == organizations_before, damage
            assert stored_files() == files_before, damage


def rebuilt(
    path: Path, target: Path, *, leaving_out: Callable[[str], bool], counts: dict[str, int] | None = None
) -> Path:
    """The archive at `path` written again to `target` without the entries `leaving_out` picks, its manifest's
    counts changed by `counts`."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == MANIFEST:
                manifest = json.loads(data)
                manifest["counts"].update(counts or {})
                data = json.dumps(manifest).encode()
            if not leaving_out(info.filename):
                copy.writestr(info, data)
    return target


def tampered(path: Path, target: Path, kind: str, changes: dict[str, Any]) -> Path:
    """The archive at `path` written again to `target` with the first row of `kind` changed by `changes`."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == f"{kind}.jsonl":
                first, *rest = data.splitlines(keepends=True)
                data = b"".join([json.dumps({**json.loads(first), **changes}).encode() + b"\n", *rest])
            copy.writestr(info, data)
    return target


async def test_an_archive_with_values_the_app_does_not_take_is_refused_in_one_line_and_leaves_nothing(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """A tampered archive imported, and broke the instance: a member of role "superadmin" had every request a 500,
    a severity "apocalyptic" made the organization's reports a 500. Some values SQLite took and PostgreSQL refused,
    with a traceback (a status of 42, a NUL or 100,000 characters in a title), and a counter of 2**63 overflowed on
    both. A language "xx-NOPE" or a time zone "Mars/Olympus" of a person or the organization imported, and failed
    what they read. Each row's values are checked against what their columns take as they are read (a language or
    a time zone as the API checks one set: a language Lantern does not ship, French, is refused as the API refuses
    it): a value out of its column's domain is refused as damage, in one line naming the file, the line and the
    field, and nothing is imported. A value the database refuses nonetheless (a moment before year 1 in UTC) is
    refused as damage too."""
    async with tenants.create("Tampered Values") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="TMV")
        await numbered(tenant, (await report(tenant.client, project["apiKey"], "A plain report"))["id"])
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        before = await organizations()
        damaged = {
            "memberships": (
                {"role": "superadmin"},
                'memberships.jsonl: Line 1, role: "superadmin" is not one of owner, admin, member, or guest',
            ),
            "reports severity": (
                {"severity": "apocalyptic"},
                'reports.jsonl: Line 1, severity: "apocalyptic" is not one of',
            ),
            "reports status": ({"status": 42}, "reports.jsonl: Line 1, status: 42 is not a value of type VARCHAR(50)"),
            "reports column": (
                {"status": "apocalyptic", "status_id": 7},
                'reports.jsonl: Line 1, status: "apocalyptic" with status id 7 is no column of its project',
            ),
            "reports number": (
                {"number": -5},
                "reports.jsonl: Line 1, number: -5 is out of range (1 to 2,147,483,647)",
            ),
            "reports NUL": ({"title": "A\0B"}, "reports.jsonl: Line 1, title: text with a character no database"),
            "reports title": ({"title": "x" * 100_000}, "reports.jsonl: Line 1, title: longer than 200 characters"),
            "reports author": ({"assignee_id": 5}, "reports.jsonl: Line 1, assignee_id: 5 is not a value of type UUID"),
            "reports time": (
                {"created_at": "2026-01-01T00:00:00"},
                'reports.jsonl: Line 1, created_at: "2026-01-01T00:00:00" is not a value of type TIMESTAMP WITH',
            ),
            "reports logs": ({"console_logs": ["\0"]}, "reports.jsonl: Line 1, console_logs: text with a character"),
            "reports title null": ({"title": None}, "reports.jsonl: Line 1, title: no value, where one is required"),
            "project_counters": (
                {"last_number": 2**63},
                "project_counters.jsonl: Line 1, last_number: 9223372036854775808 is out of range (0 to 2,147,483,647)",
            ),
            "people locale": (
                {"locale": "xx-NOPE"},
                'people.jsonl: Line 1, locale: "xx-NOPE": This language is not available.',
            ),
            "people French": ({"locale": "fr-FR"}, 'people.jsonl: Line 1, locale: "fr-FR": This language is not'),
            "people timezone": (
                {"timezone": "Mars/Olympus"},
                'people.jsonl: Line 1, timezone: "Mars/Olympus": This time zone is not known. Use its IANA name',
            ),
            "organization default_locale": (
                {"default_locale": "xx-NOPE"},
                'organization.jsonl: Line 1, default_locale: "xx-NOPE": This language is not available.',
            ),
            "organization timezone": (
                {"timezone": "berlin"},
                'organization.jsonl: Line 1, timezone: "berlin": This time zone is not known. Did you mean Europe/',
            ),
            # Refused by the database as it binds it (its conversion to UTC overflows): a line, not a traceback.
            "reports before year 1": ({"created_at": "0001-01-01T00:00:00+14:00"}, "reports.jsonl: "),
        }
        for damage, (changes, reason) in damaged.items():
            kind = damage.split()[0]
            assert f"{kind}.jsonl" in reason, damage
            broken = tampered(path, tmp_path / f"{damage}.zip", kind, changes)
            with pytest.raises(ArchiveRefusedError) as refused:
                await import_organization(
                    broken,
                    revisions=[current_revision()],
                    progress=lambda _kind, _count: None,
                    join_existing_accounts=True,
                )
            [line] = str(refused.value).splitlines()
            assert line.startswith(f"The archive is damaged: {reason}"), (damage, line)
            assert await organizations() == before, damage

        # The operator's command says it in one line, with exit code 1.
        broken = tampered(path, tmp_path / "role.zip", "memberships", {"role": "superadmin"})
        failed = await cli("import-organization", str(broken), "--join-existing-accounts")
        assert failed.returncode == 1, failed.stdout
        assert "Traceback" not in failed.stderr
        assert failed.stderr.splitlines()[-1] == (
            'Error: The archive is damaged: memberships.jsonl: Line 1, role: "superadmin" is not one of owner, admin, '
            "member, or guest"
        ), failed.stderr
        assert await organizations() == before


async def test_an_archives_language_tags_are_kept_as_the_api_keeps_them(tenants: TenantFactory, tmp_path: Path) -> None:
    """A language set through the API as a tag (`de-AT`, `zh-TW`) is kept as the locale Lantern ships (`de`,
    `zh_Hant_TW`); an archive's was kept as it was written, which no catalog is named."""
    async with tenants.create("Tagged Languages") as tenant:
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        newcomer = f"newcomer-{tenant.slug}@example.com"  # an account the import makes, with the archive's language
        tagged = tampered(path, tmp_path / "people.zip", "people", {"email": newcomer, "locale": "de-AT"})
        tagged = tampered(tagged, tmp_path / "tagged.zip", "organization", {"default_locale": "zh-TW"})
        imported = await import_organization(tagged, revisions=[current_revision()], progress=lambda _k, _c: None)
        async with alchemy_config().get_session() as session:
            with system_scope("test"):
                locale = await session.scalar(select(User.locale).where(User.email == newcomer))
                default = await session.scalar(
                    select(Organization.default_locale).where(Organization.id == imported.organization_id)
                )
        assert (locale, default) == ("de", "zh_Hant_TW")


async def test_an_archive_whose_longest_slug_is_taken_here_imports_with_it_shortened_to_take_a_suffix(
    tenants: TenantFactory, tmp_path: Path
) -> None:
    """An organization's slug as long as its column takes, the original's on this instance: the slug with its suffix
    overflowed the column, and the import was refused (SQLite stored it too long). It is shortened to take it."""
    async with tenants.create("Longest Slug") as tenant:
        longest = f"{tenant.slug}-{'x' * SLUG_LENGTH}"[:SLUG_LENGTH]
        async with alchemy_config().get_session() as session, session.begin():
            with tenant_scope(UUID(tenant.organization_id)):
                await session.execute(
                    update(Organization).where(Organization.id == UUID(tenant.organization_id)).values(slug=longest)
                )
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.organization_id, str(path))).returncode == 0
        imported = await import_organization(
            path, revisions=[current_revision()], progress=lambda _k, _c: None, join_existing_accounts=True
        )
        async with alchemy_config().get_session() as session:
            with tenant_scope(imported.organization_id):
                stored = await session.scalar(
                    select(Organization.slug).where(Organization.id == imported.organization_id)
                )
    assert stored == imported.slug
    assert re.fullmatch(rf"{longest[: SLUG_LENGTH - 7]}-[0-9a-f]{{6}}", imported.slug), imported.slug


def peak_memory_of(*args: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    """The CLI run as `lantern` runs it, by a parent of its own: its peak memory (resident, in bytes) and its run."""
    measure = (
        "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], check=False).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    measured = lantern(*args, interpreter=[sys.executable, "-c", measure, sys.executable])
    return int(measured.stdout.splitlines()[-1]) * 1024, measured


async def test_a_line_longer_than_any_row_is_refused_as_it_is_read_in_bounded_memory(
    tenants: TenantFactory, tmp_path: Path
) -> None:
    """400 MiB of spaces before a row (JSON still) compress to half a megabyte: the import read the line whole, and
    took a gigabyte of memory. A line past the longest row is refused as damage once it is that long, in one line,
    reading no more of it."""
    async with tenants.create("Padded Line") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="PAD")
        await report(tenant.client, project["apiKey"], "A padded report")
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        padded = tmp_path / "padded.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if info.filename != "reports.jsonl":
                    target.writestr(info, source.read(info))
                    continue
                with target.open(info.filename, "w", force_zip64=True) as entry:
                    for _ in range(400):
                        entry.write(b" " * 1024 * 1024)
                    entry.write(source.read(info))
        assert padded.stat().st_size < 2 * 1024 * 1024
        before = await organizations()

        peak, failed = await asyncio.to_thread(
            peak_memory_of, "import-organization", str(padded), "--join-existing-accounts"
        )
    assert failed.returncode == 1, failed.stdout
    assert "Traceback" not in failed.stderr
    assert failed.stderr.splitlines()[-1] == "Error: The archive is damaged: reports.jsonl: Line 1: longer than 16 MB"
    assert peak < 400 * 1024 * 1024, peak
    assert await organizations() == before


async def test_an_archive_short_of_what_its_manifest_counts_is_refused_in_one_line_and_leaves_nothing(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """An archive without its members' file imported as an organization nobody could sign in to, one with fewer
    reports than its manifest counts imported those it had, and one without its screenshots' files imported them
    as ready with nothing behind them. Each is refused as a damaged archive, in one line saying what is short, with
    no organization and no file left; the files the manifest says the source's storage lacked may be absent."""
    async with tenants.create("Short Archive") as tenant:
        path = tmp_path / "org.zip"
        await exported_with_a_screenshot(tenant, "SHT", path)
        with zipfile.ZipFile(path) as archive:
            counts = json.loads(archive.read(MANIFEST))["counts"]
            files = sorted(name for name in archive.namelist() if name.startswith("files/"))
        assert counts["memberships"] == 1
        assert counts["reports"] == 1
        assert (counts["files"], counts["missing_files"], len(files)) == (2, 0, 2)  # the screenshot, its thumbnail
        organizations_before, files_before = await organizations(), stored_files()
        damaged = {
            "no memberships": (
                rebuilt(path, tmp_path / "members.zip", leaving_out=lambda name: name == "memberships.jsonl"),
                "en_US.UTF-8",
                "memberships.jsonl: 0 records, the manifest says 1",
            ),
            "more reports counted": (
                rebuilt(path, tmp_path / "reports.zip", leaving_out=lambda _name: False, counts={"reports": 99}),
                "de_DE.UTF-8",
                "reports.jsonl: 1 Datensatz, laut Manifest 99",
            ),
            "no files": (
                rebuilt(path, tmp_path / "files.zip", leaving_out=lambda name: name.startswith("files/")),
                "en_US.UTF-8",
                "2 files that screenshots or attachments name are not in the archive (the manifest says 0 missing): "
                + ", ".join(files),
            ),
        }
        for damage, (broken, lang, reason) in damaged.items():
            failed = await cli("import-organization", str(broken), "--join-existing-accounts", lang=lang)
            assert failed.returncode == 1, (damage, failed.stdout, failed.stderr)
            assert "Traceback" not in failed.stderr
            assert failed.stderr.splitlines()[-1].endswith(reason), (damage, failed.stderr)
            assert await organizations() == organizations_before, damage
            assert stored_files() == files_before, damage

        # The source's storage had lost the screenshot's file: not in the archive, and the manifest says so.
        lost = {"files": 1, "missing_files": 1}
        lost_at_the_source = rebuilt(
            path, tmp_path / "lost.zip", leaving_out=lambda name: name == files[0], counts=lost
        )
        imported = await cli("import-organization", str(lost_at_the_source), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        assert len(stored_files() - files_before) == 1


async def test_an_archives_file_that_no_record_names_is_left_out(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """A file under one of the archive's projects that no screenshot or attachment names (added by hand, or by a
    tool that wrote archives badly) was written to the storage, kept for nothing; it is left out, and the files
    that rows name are imported as before."""
    async with tenants.create("Unnamed File") as tenant:
        path = tmp_path / "org.zip"
        project = await exported_with_a_screenshot(tenant, "UNF", path)
        padded = tmp_path / "padded.zip"
        unnamed = f"{'f' * 32}.png"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(padded, "w") as target:
            for info in source.infolist():
                target.writestr(info, source.read(info))
            target.writestr(f"files/{tenant.organization_id}/{project['id']}/{unnamed}", b"named by nobody")
        files_before = stored_files()
        imported = await cli("import-organization", str(padded), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        added = stored_files() - files_before
        assert len(added) == 2  # the screenshot and its thumbnail
        assert unnamed not in {file.name for file in added}


async def test_a_damaged_zip_or_an_oversized_file_is_refused_in_one_line_and_leaves_nothing(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """A zip whose data is damaged (a wrong CRC, found while reading its rows) was a traceback; a file past the
    largest Lantern stores (a zip bomb's few kilobytes that inflate to anything) was read whole into memory and
    written to the storage. Both are refused as a damaged archive, before the oversized file is read; so is a
    stored file whose CRC is wrong, found as it is stored, none of it left in the storage."""
    async with tenants.create("Zip Damage") as tenant:
        path = tmp_path / "zip.zip"
        await exported_with_a_screenshot(tenant, "ZIP", path)
        organizations_before, files_before = await organizations(), stored_files()

        wrong_crc = tmp_path / "crc.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(wrong_crc, "w", zipfile.ZIP_STORED) as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info))
        data = bytearray(wrong_crc.read_bytes())
        at = data.index(b"The cart is empty")
        data[at] = ord("X")  # the stored bytes changed, their CRC not
        wrong_crc.write_bytes(bytes(data))
        # A stored file's last byte changed: found as it is stored, after its first bytes were written.
        wrong_file_crc = tmp_path / "file-crc.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(wrong_file_crc, "w", zipfile.ZIP_STORED) as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info))
            stored_name = next(info.filename for info in source.infolist() if info.filename.startswith("files/"))
            stored = source.read(stored_name)
        data = bytearray(wrong_file_crc.read_bytes())
        data[data.index(stored) + len(stored) - 1] ^= 0xFF
        wrong_file_crc.write_bytes(bytes(data))

        # With few pixels allowed, no processed image outgrows an upload: the largest file is an upload's.
        few_pixels = 1_000_000
        assert largest_processed_image(few_pixels) < MAX_UPLOAD_BYTES
        largest = max(MAX_UPLOAD_BYTES, MAX_ATTACHMENT_BYTES)
        oversized = tmp_path / "oversized.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(oversized, "w", zipfile.ZIP_DEFLATED) as target:
            # The screenshot's own file, which its row names (a file no row names is not read at all).
            name = next(info.filename for info in source.infolist() if info.filename.startswith("files/"))
            for info in source.infolist():
                if info.filename != name:
                    target.writestr(info, source.read(info))
            target.writestr(name, b"\0" * (largest + 1))
        assert oversized.stat().st_size < path.stat().st_size + 100_000

        for broken, reason in (
            (wrong_crc, "Bad CRC-32 for file 'reports.jsonl'"),
            (wrong_file_crc, f"Bad CRC-32 for file '{stored_name}'"),
            (oversized, name),
        ):
            failed = await cli(
                "import-organization",
                str(broken),
                "--join-existing-accounts",
                env={"LANTERN_MAX_IMAGE_PIXELS": str(few_pixels)},
            )
            assert failed.returncode == 1, (broken, failed.stdout, failed.stderr)
            assert "Traceback" not in failed.stderr
            assert failed.stderr.splitlines()[-1].startswith("Error: The archive is damaged:"), failed.stderr
            assert reason in failed.stderr.splitlines()[-1]
            assert await organizations() == organizations_before, broken
            assert stored_files() == files_before, broken


async def test_a_processed_image_larger_than_any_upload_is_exported_and_imported_back(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """A 9 MB JPEG of quality 45, an upload Lantern takes, is stored re-encoded at quality 90: 18 MB. The import
    refused any file past the upload's limit ("larger than any file Lantern stores"), so a normal export of it could
    not be imported back. Its processed file is made that large here directly, as processing would make it."""
    async with tenants.create("Large Image") as tenant:
        path = tmp_path / "large.zip"
        project = await tenant.create_project("Photos", trackingPrefix="LRG")
        shot = await screenshot_report(tenant, project, "A large photo")
        await processed(tenant, shot["id"])
        async with alchemy_config().get_session() as session:
            with tenant_scope(UUID(tenant.organization_id)):
                key = await session.scalar(select(Screenshot.key))
        assert key is not None
        reencoded = os.urandom(18_269_664)
        assert MAX_UPLOAD_BYTES < len(reencoded) < largest_processed_image(get_settings().max_image_pixels)
        await storage().put(key, reencoded)
        assert (await cli("export-organization", tenant.organization_id, str(path))).returncode == 0
        files_before = stored_files()

        imported = await cli("import-organization", str(path), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        added = stored_files() - files_before
        assert reencoded in {file.read_bytes() for file in added}


async def test_an_archives_large_file_is_imported_in_bounded_memory(tenants: TenantFactory, tmp_path: Path) -> None:
    """Each stored file of an archive was read whole into memory to be stored: a processed image may be 240 MB.
    It is stored as it is read from the zip, a part at a time: the import's peak of memory (as Python allocates
    it) is a fraction of the file's size."""
    async with tenants.create("Large File") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="LGF")
        first = await report(tenant.client, project["apiKey"], "Big notes")
        await attach(tenant, first["id"], "notes.bin", b"to be replaced", "application/octet-stream")
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        size = 48 * 1024 * 1024
        assert size < largest_stored_file()
        large = tmp_path / "large.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(large, "w", zipfile.ZIP_DEFLATED) as target:
            [name] = [info.filename for info in source.infolist() if info.filename.startswith("files/")]
            for info in source.infolist():
                if info.filename != name:
                    target.writestr(info, source.read(info))
            with target.open(name, "w", force_zip64=True) as entry:
                for _ in range(size // (1024 * 1024)):
                    entry.write(b"\0" * 1024 * 1024)
        files_before = stored_files()

        tracemalloc.start()
        try:
            await import_organization(
                large, revisions=[current_revision()], progress=lambda _k, _c: None, join_existing_accounts=True
            )
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    [stored] = stored_files() - files_before
    assert stored.stat().st_size == size
    assert peak < size // 4, peak


async def test_an_organizations_large_file_is_exported_in_bounded_memory(
    tenants: TenantFactory, tmp_path: Path
) -> None:
    """Each stored file was read whole into memory to be written to the archive: a processed image may be 240 MB,
    read in the worker beside its other jobs. It is copied into the archive a part at a time as the storage reads
    it: the export's peak of memory (as Python allocates it) is a fraction of the file's size. The archive holds it
    whole; a file the storage lost is still counted as missing and left out."""
    async with tenants.create("Large Export") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="LGE")
        first = await report(tenant.client, project["apiKey"], "Big notes")
        await attach(tenant, first["id"], "notes.bin", b"to be replaced", "application/octet-stream")
        await attach(tenant, first["id"], "lost.bin", b"to be lost", "application/octet-stream")
        organization_id = UUID(tenant.organization_id)
        async with alchemy_config().get_session() as session:
            with tenant_scope(organization_id):
                keys = dict((await session.execute(select(Attachment.name, Attachment.key))).tuples().all())
        large, lost = keys["notes.bin"], keys["lost.bin"]
        assert large is not None
        assert lost is not None
        size = 48 * 1024 * 1024
        zeros = tmp_path / "zeros.bin"
        with zeros.open("wb") as file:
            file.truncate(size)
        with zeros.open("rb") as source:
            await storage().put_stream(large, source)
        await storage().delete(lost)
        path = tmp_path / "org.zip"

        tracemalloc.start()
        try:
            manifest = await export_organization(
                organization_id, path, revision=current_revision(), progress=lambda _k, _c: None
            )
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < size // 4, peak
    assert (manifest.counts["files"], manifest.counts["missing_files"]) == (1, 1)
    with zipfile.ZipFile(path) as archive:
        assert [info.filename for info in archive.infolist() if info.filename.startswith("files/")] == [
            f"files/{large}"
        ]
        assert archive.getinfo(f"files/{large}").file_size == size
        assert archive.testzip() is None  # every entry's CRC is right, read a part at a time
        assert json.loads(archive.read(MANIFEST))["counts"]["missing_files"] == 1
    assert [file for file in files_under(tmp_path) if file.suffix == ".partial"] == []


async def test_an_archive_that_cannot_be_written_is_told_as_such_and_leaves_no_file(
    tenants: TenantFactory, tmp_path: Path
) -> None:
    """A folder that is missing or is a file, or a disk that fills up midway: a line that names the archive's path
    and why, in the reader's language, and no partial file left. It said the database could not be used."""
    async with tenants.create("Unwritable") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="UNW")
        first = await report(tenant.client, project["apiKey"], "Big notes")
        await attach(tenant, first["id"], "notes.bin", os.urandom(1024 * 1024), "application/octet-stream")
        plain_file = tmp_path / "plain.txt"
        plain_file.write_text("not a folder")
        for path, why, full in (
            (tmp_path / "missing" / "org.zip", "No such file or directory", None),
            (plain_file / "org.zip", "Not a directory", None),
            (tmp_path / "full" / "org.zip", "File too large", 256 * 1024),
        ):
            if full:
                path.parent.mkdir()
            failed = await cli("export-organization", tenant.slug, str(path), max_file_bytes=full)
            assert failed.returncode == 1, (path, failed.stdout, failed.stderr)
            assert "Traceback" not in failed.stderr
            assert failed.stderr.splitlines()[-1] == f"Error: {path} cannot be written: {why}"
            assert not path.parent.is_dir() or list(path.parent.iterdir()) == []
        refused = await cli(
            "export-organization", tenant.slug, str(tmp_path / "missing" / "org.zip"), lang="de_DE.UTF-8"
        )
        assert refused.returncode == 1
        assert "cannot be written" not in refused.stderr  # in German
        assert str(tmp_path / "missing" / "org.zip") in refused.stderr


async def test_an_export_never_replaces_a_file_unless_told_to(tenants: TenantFactory, tmp_path: Path) -> None:
    """A file at the archive's path may be an earlier export, the only copy of an organization deleted since: it
    is refused in one line in the reader's language and left as it was; `--overwrite` replaces it, whole. An export
    replaced it without a word."""
    async with tenants.create("Kept archive") as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="KPT")
        await report(tenant.client, project["apiKey"], "Kept report")
        earlier = tmp_path / "org.zip"
        earlier.write_bytes(b"an earlier export")
        refused = await cli("export-organization", tenant.slug, str(earlier))
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr
        assert refused.stderr.splitlines()[-1] == (
            f"Error: {earlier} exists already: name another file, or pass --overwrite to replace it."
        )
        assert earlier.read_bytes() == b"an earlier export"
        in_german = await cli("export-organization", tenant.slug, str(earlier), lang="de_DE.UTF-8")
        assert in_german.returncode == 1
        assert str(earlier) in in_german.stderr
        assert "exists already" not in in_german.stderr
        assert earlier.read_bytes() == b"an earlier export"
        replaced = await cli("export-organization", tenant.slug, str(earlier), "--overwrite", lang="de_DE.UTF-8")
        assert replaced.returncode == 0, replaced.stderr
        # Each kind of record by its name in the reader's language ("project_prefixes exportiert" said the file's).
        assert "Berichte exportiert: 1 Datensatz" in replaced.stderr, replaced.stderr
        assert "Tracking-Präfixe exportiert: 1 Datensatz" in replaced.stderr, replaced.stderr
        with zipfile.ZipFile(earlier) as archive:
            manifest = json.loads(archive.read(MANIFEST))
        assert manifest["organization"]["slug"] == tenant.slug
        assert manifest["counts"]["reports"] == 1
        assert not earlier.with_name(f".{earlier.name}.partial").exists()


async def test_an_import_whose_files_cannot_be_stored_says_so_and_leaves_no_organization(
    tenants: TenantFactory, worker: Any, tmp_path: Path
) -> None:
    """A store that fails (a full or read-only disk, a bucket out of reach) was told as the database's fault."""
    async with tenants.create("Unstored") as tenant:
        path = tmp_path / "unstored.zip"
        await exported_with_a_screenshot(tenant, "UNS", path)
        organizations_before = await organizations()
        uploads = get_settings().data_dir / "uploads"
        aside = uploads.rename(uploads.with_name("uploads-aside"))
        uploads.write_bytes(b"")  # the uploads directory is no directory: every write fails
        try:
            failed = await cli("import-organization", str(path), "--join-existing-accounts", lang="de_DE.UTF-8")
        finally:
            uploads.unlink()
            aside.rename(uploads)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "Traceback" not in failed.stderr
    line = failed.stderr.splitlines()[-1]
    assert line.startswith("Fehler: Die Dateien können nicht gespeichert werden ("), failed.stderr  # click's word too
    assert "Not a directory" in line or "NotADirectoryError" in line, line
    assert "DATABASE_URL" not in line
    assert await organizations() == organizations_before


def readdressed(path: Path, target: Path, addresses: dict[str, str]) -> Path:
    """The archive at `path` written to `target` with people's addresses changed, as if made where they had
    other ones (another instance's)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == PEOPLE_KIND.file:
                people = [json.loads(line) for line in data.splitlines() if line.strip()]
                rows = [{**person, "email": addresses.get(person["email"], person["email"])} for person in people]
                data = "".join(json.dumps(row) + "\n" for row in rows).encode()
            copy.writestr(info, data)
    return target


async def copies(name: str, original: str) -> set[UUID]:
    """The organizations imported as `name` beside the original, of id `original`."""
    async with alchemy_config().get_session() as session:
        with system_scope("test"):
            found = await session.scalars(
                select(Organization.id).where(Organization.name == name, Organization.id != UUID(original))
            )
            return set(found)


async def people_of(organization_id: UUID) -> dict[str, dict[str, Any]]:
    """An organization's people by address: their role, whether their invitation is pending, and whether their
    invitation (if they have one) opens their account."""
    async with alchemy_config().get_session() as session:
        with tenant_scope(organization_id):
            members = await session.execute(
                select(User.email, Membership.role, Membership.invitation_pending).join(
                    User, User.id == Membership.user_id
                )
            )
            invitations = await session.execute(
                select(User.email, Invitation.opens_account).join(User, User.id == Invitation.user_id)
            )
            opens = dict(invitations.tuples().all())
            return {
                email: {"role": role, "pending": pending, "opens_account": opens.get(email)}
                for email, role, pending in members.tuples()
            }


def invitation_token(stdout: str, email: str) -> str:
    [link] = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith(f"Invited {email}: ")]
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_a_member_with_an_account_here_is_invited_not_joined_unless_the_operator_says_so(
    tenants: TenantFactory, app: Any, tmp_path: Path
) -> None:
    """An archive's member whose address has an account on this instance was joined to the imported organization
    without a word: its holder, who never joined it here, found it among theirs. They are invited in their role
    now, as an admin invites them, and accept with their own password; the summary says so. With
    --join-existing-accounts (an operator moving their own people) they join as before; an address with no account
    here is invited as before, its invitation opening the account."""
    name = "Existing Member Transfer"
    async with tenants.create(name) as tenant:
        member, _member_id = await invite(tenant, app, "admin", email="existing-admin-transfer@example.com")
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0

        def moved(elsewhere: str) -> str:
            """The archive as made on an instance where its owner had an address nobody has here (an import makes
            an account for it, so each import below takes another)."""
            return str(readdressed(path, tmp_path / f"{elsewhere}.zip", {tenant.email: elsewhere}))

        elsewhere = "owner-elsewhere-transfer@example.com"
        imported = await cli("import-organization", moved(elsewhere))
        assert imported.returncode == 0, imported.stderr
        [copy] = await copies(name, tenant.organization_id)
        people = await people_of(copy)
        assert people[member] == {"role": "admin", "pending": True, "opens_account": False}
        assert people[elsewhere] == {"role": "owner", "pending": True, "opens_account": True}  # as before
        said = f"1 member with an account on this instance is invited rather than joined: {member}"
        assert said in imported.stdout.splitlines(), imported.stdout
        # The app's own invitation: its holder accepts it with their password, and joins.
        async with ApiClient.for_app(app) as holder:
            accepted = await holder.post(
                "/api/v1/auth/invitations/accept",
                json={"token": invitation_token(imported.stdout, member), "password": PASSWORD},
            )
            assert accepted.status_code == 200, accepted.text

        in_german = await cli(
            "import-organization", moved("owner-elsewhere-de-transfer@example.com"), lang="de_DE.UTF-8"
        )
        assert in_german.returncode == 0, in_german.stderr
        said = f"1 Mitglied mit einem Konto auf dieser Instanz ist eingeladen statt aufgenommen: {member}"
        assert said in in_german.stdout.splitlines(), in_german.stdout

        seen = await copies(name, tenant.organization_id)
        elsewhere = "owner-elsewhere-joined-transfer@example.com"
        joined = await cli("import-organization", moved(elsewhere), "--join-existing-accounts")
        assert joined.returncode == 0, joined.stderr
        assert "rather than joined" not in joined.stdout
        assert f"Invited {member}:" not in joined.stdout
        [latest] = await copies(name, tenant.organization_id) - seen
        people = await people_of(latest)
        assert people[member] == {"role": "admin", "pending": False, "opens_account": None}
        assert people[elsewhere] == {"role": "owner", "pending": True, "opens_account": True}


async def test_an_archive_whose_owner_has_an_account_here_is_refused_unless_the_operator_says_so(
    tenants: TenantFactory, app: Any, tmp_path: Path
) -> None:
    """Its owner invited rather than joined would leave the organization with no owner until they accept, if
    ever: the import is refused in one line in the reader's language that names them and the flag, and leaves
    nothing. With --join-existing-accounts, the owner joins as the owner."""
    name = "Existing Owner Transfer"
    async with tenants.create(name) as tenant:
        await tenant.create_project("Shop", trackingPrefix="OWN")
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        before = await organizations()

        refused = await cli("import-organization", str(path))
        assert refused.returncode == 1, refused.stdout
        assert "Traceback" not in refused.stderr
        line = refused.stderr.splitlines()[-1]
        assert line.startswith("Error: Owners of the organization have accounts on this instance"), refused.stderr
        assert tenant.email in line
        assert "--join-existing-accounts" in line
        assert await organizations() == before
        in_german = await cli("import-organization", str(path), lang="de_DE.UTF-8")
        assert in_german.returncode == 1
        assert tenant.email in in_german.stderr
        assert "--join-existing-accounts" in in_german.stderr
        assert "Owners of the organization" not in in_german.stderr
        assert await organizations() == before

        joined = await cli("import-organization", str(path), "--join-existing-accounts")
        assert joined.returncode == 0, joined.stderr
        [copy] = await copies(name, tenant.organization_id)
        assert (await people_of(copy))[tenant.email] == {"role": "owner", "pending": False, "opens_account": None}


async def test_a_webhooks_password_in_its_address_never_travels(tenants: TenantFactory, tmp_path: Path) -> None:
    """A webhook's address with HTTP Basic credentials (`https://user:secret@host/in`) was written whole to the
    archive, and imported with its password. The archive holds it without the password (its user stays, to say
    whose password to enter again), and an archive written before holds one that the import leaves out."""
    name = "Basic Hook Transfer"
    async with tenants.create(name) as tenant:
        hook = await tenant.client.post(
            "/api/v1/webhooks",
            json={"url": "https://hook%40acme:s3%40cret@hooks.example.com/in", "events": ["report.created"]},
        )
        assert hook.status_code == 201, hook.text
        path = tmp_path / "org.zip"
        assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
        with zipfile.ZipFile(path) as archive:
            written = archive.read("webhooks.jsonl").decode()
        assert "s3%40cret" not in written
        assert [json.loads(line)["url"] for line in written.splitlines()] == [
            "https://hook%40acme@hooks.example.com/in"
        ]

        older = tampered(path, tmp_path / "older.zip", "webhooks", {"url": "https://hook:s3cret@hooks.example.com/in"})
        imported = await cli("import-organization", str(older), "--join-existing-accounts")
        assert imported.returncode == 0, imported.stderr
        [copy] = await copies(name, tenant.organization_id)
        async with alchemy_config().get_session() as session:
            with tenant_scope(copy):
                urls = list(await session.scalars(select(Webhook.url)))
        assert urls == ["https://hook@hooks.example.com/in"]


async def accept(app: Any, token: str, password: str) -> Any:
    """An invitation accepted by whoever holds its token, with `password`: the answer."""
    async with ApiClient.for_app(app) as holder:
        return await holder.post("/api/v1/auth/invitations/accept", json={"token": token, "password": password})


async def test_an_account_an_import_made_that_nobody_used_is_opened_by_the_next_import_too(
    tenants: TenantFactory, app: Any, tmp_path: Path
) -> None:
    """Two organizations of one owner moved one after the other, a member in both: the first import made their
    accounts, without a password until they accept. The second counted those accounts, which nobody here had used,
    as accounts here: it refused the archive for its owner (and would have told of the member as invited rather
    than joined). Each is invited to the second organization as to the first now, and either invitation chooses
    the account's password, whichever is accepted first; the other is then accepted with it, and chooses nothing.
    An account with a password is someone's: the next import refuses an archive its holder owns, as for any account
    here, and --join-existing-accounts joins them."""
    owner, member = "owner-moved-twice-transfer@example.com", "member-moved-twice-transfer@example.com"
    names, originals, archives = ("First Moved Transfer", "Second Moved Transfer"), [], []
    for name in names:
        async with tenants.create(name) as tenant:
            here, _member_id = await invite(tenant, app, "admin")
            path = tmp_path / f"{tenant.slug}.zip"
            assert (await cli("export-organization", tenant.slug, str(path))).returncode == 0
            # As made on another instance, where one owner and one member have these addresses in both.
            archives.append(
                str(readdressed(path, tmp_path / f"moved-{tenant.slug}.zip", {tenant.email: owner, here: member}))
            )
            originals.append(tenant.organization_id)
    first_archive, second_archive = archives

    first = await cli("import-organization", first_archive)
    assert first.returncode == 0, first.stderr
    second = await cli("import-organization", second_archive)
    assert second.returncode == 0, second.stderr
    assert "rather than joined" not in second.stdout, second.stdout
    for name, original in zip(names, originals, strict=True):
        [copy] = await copies(name, original)
        people = await people_of(copy)
        assert people[owner] == {"role": "owner", "pending": True, "opens_account": True}
        assert people[member] == {"role": "admin", "pending": True, "opens_account": True}

    # The member accepts the second organization's invitation first: it chooses their password. The first's, whose
    # token chooses nothing any more, takes that password, and no other.
    chosen = await accept(app, invitation_token(second.stdout, member), PASSWORD)
    assert chosen.status_code == 200, chosen.text
    wrong = await accept(app, invitation_token(first.stdout, member), "another password altogether")
    assert wrong.status_code == 401, wrong.text
    confirmed = await accept(app, invitation_token(first.stdout, member), PASSWORD)
    assert confirmed.status_code == 200, confirmed.text
    joined = {organization["name"] for organization in confirmed.json()["data"]["organizations"]}
    assert joined == set(names)

    # The owner accepts theirs: their account is someone's now, and an archive they own needs the operator's word.
    owned = await accept(app, invitation_token(first.stdout, owner), PASSWORD)
    assert owned.status_code == 200, owned.text
    before = await organizations()
    refused = await cli("import-organization", second_archive)
    assert refused.returncode == 1, refused.stdout
    line = refused.stderr.splitlines()[-1]
    assert line.startswith("Error: Owners of the organization have accounts on this instance (" + owner + ")"), line
    assert await organizations() == before
    seen = await copies(names[1], originals[1])
    again = await cli("import-organization", second_archive, "--join-existing-accounts")
    assert again.returncode == 0, again.stderr
    [latest] = await copies(names[1], originals[1]) - seen
    people = await people_of(latest)
    assert people[owner] == {"role": "owner", "pending": False, "opens_account": None}
    assert people[member] == {"role": "admin", "pending": False, "opens_account": None}
