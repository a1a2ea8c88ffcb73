"""Group commit: concurrent submissions share transactions, yet each is stored in its own tenant and gets
its own outcome; and a widget key's cached identity never outlives a change made in this process."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import Table, delete, event, text
from sqlalchemy.engine import Connection

from app.domain.projects.models import Project
from app.domain.reports.group_commit import Submission, UploadLink, report_writer
from app.domain.reports.ingest import save_upload
from app.domain.reports.models import Report
from app.lib.database import alchemy_config
from app.lib.errors import LanternError, envelope
from app.lib.i18n import gettext as _
from app.lib.i18n import use_locale
from tenants.context import tenant_scope
from tests.integration.test_deletion import stored
from tests.integration.test_reports import BUGPIN_EXAMPLE, BUGSPARK_EXAMPLE
from tests.integration.test_screenshots import tenant_session
from tests.support.clients import ApiClient, TenantFactory
from tests.support.database import statements_sent
from tests.support.environment import environment
from tests.support.isolation import png

SUBMISSIONS = 30


async def _listed(client: ApiClient, project_id: str) -> list[dict[str, Any]]:
    listed = await client.get(f"/api/v1/reports?project_id={project_id}&page_size=100")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["data"]["items"]
    return items


async def test_concurrent_submissions_of_two_tenants_share_commits_and_stay_apart(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as shop, tenants.create("Blog") as blog:
        projects = [await shop.create_project("Shop", trackingPrefix="SHP"), await blog.create_project("Blog")]
        for project in projects:  # resolve both keys once, so only the reports' own transactions remain
            warm = await anonymous.post(
                "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": project["apiKey"]}
            )
            assert warm.status_code == 201, warm.text
        # Commits that reach the database (a request's unused session commits nothing).
        engine = alchemy_config().get_engine().sync_engine
        commits: list[Connection] = []

        def count(connection: Connection) -> None:
            commits.append(connection)

        event.listen(engine, "commit", count)
        try:
            answers = await asyncio.gather(
                *(
                    anonymous.post(
                        "/api/v1/widget/submit",
                        json={**BUGPIN_EXAMPLE, "title": f"Report {i}"},
                        headers={"X-Api-Key": projects[i % 2]["apiKey"]},
                    )
                    for i in range(SUBMISSIONS)
                )
            )
        finally:
            event.remove(engine, "commit", count)
        assert [answer.status_code for answer in answers] == [201] * SUBMISSIONS
        assert len(commits) < SUBMISSIONS / 2, f"{len(commits)} commits for {SUBMISSIONS} concurrent submissions"
        for tenant, project, parity in ((shop, projects[0], 0), (blog, projects[1], 1)):
            titles = {item["title"] for item in await _listed(tenant.client, project["id"])}
            assert titles == {BUGPIN_EXAMPLE["title"]} | {f"Report {i}" for i in range(parity, SUBMISSIONS, 2)}


async def test_a_commit_is_on_disk_before_it_is_acknowledged(app: Any, is_postgres: bool) -> None:
    """A `201` says stored once the batch's transaction committed, so the commit must be durable. On SQLite it
    was not: in WAL mode, `synchronous=NORMAL` leaves the last commits out of the disk until a checkpoint, and a
    power cut took reports already acknowledged. PostgreSQL's durable commit is the app's to keep on too."""
    setting = "SHOW synchronous_commit" if is_postgres else "PRAGMA synchronous"
    async with alchemy_config().get_engine().connect() as connection:
        durable = await connection.scalar(text(setting))
    assert durable == ("on" if is_postgres else 2)  # SQLite's FULL


async def test_each_tenants_screenshots_stay_its_own_in_a_shared_batch(tenants: TenantFactory) -> None:
    """One batch, two organizations, each with an uploaded screenshot: the first one's screenshot rows were
    written when the transaction had moved to the second, and took the second's tenant (the report showed no
    screenshot, and its image was filed under the other organization)."""
    async with tenants.create() as shop, tenants.create("Blog") as blog:
        submissions = []
        for tenant, name in ((shop, "Shop"), (blog, "Blog")):
            project = await tenant.create_project(name)
            with tenant_scope(UUID(tenant.organization_id)):
                upload = await save_upload(UUID(project["id"]), png())
                report = Report(project_id=UUID(project["id"]), title=f"{name}'s report", description="")
                submissions.append(Submission(UUID(tenant.organization_id), report, [upload]))
        writer = report_writer()
        # Both wait before the writer's first batch begins: one batch holds the two tenants.
        await asyncio.gather(*(writer.store(submission) for submission in submissions))
        for tenant, submission in zip((shop, blog), submissions, strict=True):
            shown = await tenant.client.get(f"/api/v1/reports/{submission.report.id}")
            assert shown.status_code == 200, shown.text
            assert len(shown.json()["data"]["screenshots"]) == 1, submission.report.title
            assert str(submission.uploads[0].organization_id) == tenant.organization_id
            assert submission.uploads[0].key.startswith(f"{tenant.organization_id}/")


async def test_one_bad_submission_does_not_fail_the_others_of_its_batch(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        headers = {"X-API-Key": project["apiKey"]}
        good = [anonymous.post("/api/v1/reports", json=BUGSPARK_EXAMPLE, headers=headers) for _ in range(10)]
        bad = anonymous.post(
            "/api/v1/reports", json={**BUGSPARK_EXAMPLE, "screenshot_url": "no-such-key"}, headers=headers
        )
        *stored, refused = await asyncio.gather(*good, bad)
        assert [answer.status_code for answer in stored] == [201] * 10
        assert refused.status_code == 400, refused.text
        assert refused.json()["details"][0]["field"] == "screenshot_url"
        assert len(await _listed(tenant.client, project["id"])) == 10


async def test_each_refused_submission_of_a_batch_is_told_why_in_its_own_language(tenants: TenantFactory) -> None:
    """Two requests, one in Japanese and one in German, each naming an upload that does not exist, in one batch:
    the writer's task was started by the first, and both were refused in Japanese."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        unknown = UploadLink("no-such-key", "screenshot_url", annotated=False)
        writer = report_writer()

        async def refusal(locale: str) -> LanternError:
            report = Report(project_id=UUID(project["id"]), title=f"A report in {locale}", description="")
            with use_locale(locale):  # as the request's middleware chose it
                try:
                    await writer.store(Submission(UUID(tenant.organization_id), report, links=[unknown]))
                except LanternError as error:
                    return error
            raise AssertionError(locale)

        # Both wait before the writer's first batch begins: one batch holds the two requests.
        refusals = await asyncio.gather(refusal("ja"), refusal("de"))
        for locale, error in zip(("ja", "de"), refusals, strict=True):
            with use_locale(locale):  # as the request answers
                expected = {
                    "success": False,
                    "error": "VALIDATION_ERROR",
                    "message": _("The request is not valid."),
                    "details": [
                        {
                            "field": "screenshot_url",
                            "message": _(
                                "No upload with this key awaits a report in this project "
                                "(an upload is attached to one report)."
                            ),
                        }
                    ],
                }
                assert envelope(error) == expected, locale


async def test_a_revoked_widget_key_is_refused_at_once_despite_the_cache(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        headers = {"X-Api-Key": project["apiKey"]}
        accepted = await anonymous.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=headers)
        assert accepted.status_code == 201, accepted.text  # the key's identity is now cached
        revoked = await tenant.client.delete(f"/api/v1/projects/{project['id']}/keys/{project['keys'][0]['id']}")
        assert revoked.status_code == 204, revoked.text
        refused = await anonymous.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=headers)
        assert refused.status_code == 401, refused.text


async def test_concurrent_requests_with_an_uncached_key_look_it_up_once(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """When a key's cached identity expires under a flood, every request in flight misses at once: they
    share one lookup instead of queueing a lookup each on the pool."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")  # the commit empties the cache
        with statements_sent() as sent:
            answers = await asyncio.gather(
                *(
                    anonymous.post(
                        "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": project["apiKey"]}
                    )
                    for _ in range(SUBMISSIONS)
                )
            )
        assert [answer.status_code for answer in answers] == [201] * SUBMISSIONS
        lookups = [statement for statement in sent if "FROM project_key" in statement]
        assert len(lookups) == 1, lookups


async def test_a_report_for_a_project_deleted_meanwhile_is_not_found_and_fails_no_other(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """Another web process deleted the project after this one had checked the widget key (its identity cached
    here): the report's insert broke the foreign key and answered 500. It is not found, in the reader's language,
    and the reports batched with it are stored."""
    with environment(LANTERN_CREDENTIAL_CACHE_SECONDS="600"):
        async with tenants.create() as tenant:
            kept = await tenant.create_project("Shop", trackingPrefix="SHP")
            gone = await tenant.create_project("Blog", trackingPrefix="BLG")
            for project in (kept, gone):  # each key's identity is now cached in this process
                warm = await anonymous.post(
                    "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": project["apiKey"]}
                )
                assert warm.status_code == 201, warm.text
            # Deleted as another process would: a statement on the table, which leaves this process's cache be.
            table = cast("Table", Project.__table__)
            async with tenant_session(tenant) as session:
                await session.execute(delete(table).where(table.c.id == UUID(gone["id"])))
                await session.commit()
            german = {"Accept-Language": "de"}
            *stored, refused = await asyncio.gather(
                *(
                    anonymous.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": kept["apiKey"]})
                    for _ in range(10)
                ),
                anonymous.post(
                    "/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers={"X-Api-Key": gone["apiKey"], **german}
                ),
            )
            assert [answer.status_code for answer in stored] == [201] * 10
            assert refused.status_code == 404, refused.text
            missing = await tenant.client.get(f"/api/v1/reports/{uuid4()}", headers=german)
            assert refused.json()["error"] == "NOT_FOUND"
            assert refused.json() == missing.json()  # the answer of any missing object, in German
            assert len(await _listed(tenant.client, kept["id"])) == 11


async def test_a_screenshot_for_a_project_deleted_meanwhile_leaves_no_file(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """The widget's images and BugSpark's upload were stored before their rows, whose insert then broke the
    foreign key: no row named the files, and the project's file deletion had come before them, so they stayed
    for good. They are deleted when their rows cannot be stored."""
    with environment(LANTERN_CREDENTIAL_CACHE_SECONDS="600"):
        async with tenants.create() as tenant:
            project = await tenant.create_project("Shop", widgetConfig={"features": {"attachments": True}})
            key = {"X-Api-Key": project["apiKey"]}
            warm = await anonymous.post("/api/v1/widget/submit", json=BUGPIN_EXAMPLE, headers=key)
            assert warm.status_code == 201, warm.text  # the key's identity is now cached in this process
            table = cast("Table", Project.__table__)
            async with tenant_session(tenant) as session:
                await session.execute(delete(table).where(table.c.id == UUID(project["id"])))
                await session.commit()
            images = [("media", ("one.png", png(), "image/png")), ("media", ("two.png", png(), "image/png"))]
            widget = await anonymous.post(
                "/api/v1/widget/submit", data={"data": json.dumps(BUGPIN_EXAMPLE)}, files=images, headers=key
            )
            upload = await anonymous.post("/api/v1/upload/screenshot", files={"file": ("shot.png", png())}, headers=key)
            assert (widget.status_code, upload.status_code) == (404, 404), (widget.text, upload.text)
            assert stored(tenant.organization_id, project["id"]) == set()


async def test_a_widget_report_whose_later_part_is_refused_leaves_no_file_of_the_earlier(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    """An image, then a part that is no image: the 415 left the image's file stored, named by no row."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", widgetConfig={"features": {"attachments": True}})
        parts = [("media", ("shot.png", png(), "image/png")), ("media", ("notes.txt", b"not an image", "text/plain"))]
        refused = await anonymous.post(
            "/api/v1/widget/submit",
            data={"data": json.dumps(BUGPIN_EXAMPLE)},
            files=parts,
            headers={"X-Api-Key": project["apiKey"]},
        )
        assert refused.status_code == 415, refused.text
        assert stored(tenant.organization_id, project["id"]) == set()
