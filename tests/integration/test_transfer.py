"""An organization exported with `python -m app.cli export-organization` and imported with `import-organization`:
the archive holds its rows and files and nothing of another organization's, and the organization it makes answers
the API as the original does, tracking IDs, files and all; a refused or failed import leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from sqlalchemy import func, select

from app.domain.accounts.models import User
from app.domain.organizations.models import Invitation, Membership, Organization
from app.domain.transfer.archive import MANIFEST, PEOPLE_KIND, TENANT_KINDS
from app.domain.transfer.importing import MAX_FILE_BYTES, ArchiveRefusedError, import_organization
from app.lib.database import alchemy_config
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
    *args: str, lang: str = "en_US.UTF-8", max_file_bytes: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it, on this suite's database, Redis and data directory; with `max_file_bytes`,
    on a disk as good as full (a file written past that size fails with EFBIG)."""
    env = {**os.environ, "LANG": lang, "LC_ALL": lang}

    def full_disk() -> None:
        if max_file_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(  # noqa: S603 - our own interpreter and module; the hook only sets a limit
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=full_disk,
    )


async def cli(
    *args: str, lang: str = "en_US.UTF-8", max_file_bytes: int | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(lantern, *args, lang=lang, max_file_bytes=max_file_bytes)


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
            assert await organizations() == organizations_before, damage
            assert stored_files() == files_before, damage


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
    written to the storage. Both are refused as a damaged archive, before the oversized file is read."""
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

        oversized = tmp_path / "oversized.zip"
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(oversized, "w", zipfile.ZIP_DEFLATED) as target:
            # The screenshot's own file, which its row names (a file no row names is not read at all).
            name = next(info.filename for info in source.infolist() if info.filename.startswith("files/"))
            for info in source.infolist():
                if info.filename != name:
                    target.writestr(info, source.read(info))
            target.writestr(name, b"\0" * (MAX_FILE_BYTES + 1))
        assert oversized.stat().st_size < path.stat().st_size + 100_000

        for broken, reason in ((wrong_crc, "Bad CRC-32 for file 'reports.jsonl'"), (oversized, name)):
            failed = await cli("import-organization", str(broken), "--join-existing-accounts")
            assert failed.returncode == 1, (broken, failed.stdout, failed.stderr)
            assert "Traceback" not in failed.stderr
            assert failed.stderr.splitlines()[-1].startswith("Error: The archive is damaged:"), failed.stderr
            assert reason in failed.stderr.splitlines()[-1]
            assert await organizations() == organizations_before, broken
            assert stored_files() == files_before, broken


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
