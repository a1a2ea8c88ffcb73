"""Requests that change the same thing at once, through the HTTP API, on the suite's database: each change is
kept against the one it follows, an invitation is accepted once, no report stays assigned to someone taken out
of the organization, a comment on a report being deleted is refused as not found, of two owners leaving the
role at once one stays, and departures, changes to reports, columns and projects, attachments, numbering and
reports filed wait for deletions of organizations, or deletions for them.

Real parts: the app in-process, the test database and Redis. The requests of each case are sent together
(`asyncio.gather`), many times over: on PostgreSQL they run side by side, so each case failed there before its
fix (SQLite's writers take turns). Where only one order of their steps went wrong, another transaction holds a
table's writes off so that they come in that order (`one_after_the_other`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.reports.group_commit import Stored, Submission, report_writer
from app.domain.reports.models import Report
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, LanternError
from tests.support.admin_ui import invite, report
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.isolation import owner_engine
from tests.support.locks import older_transactions_ended
from workers.jobs import assign_tracking_ids

ROUNDS = 10
WAIT_SECONDS = 30.0
FirstT = TypeVar("FirstT")
SecondT = TypeVar("SecondT")


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def reports(tenant: Tenant, count: int) -> list[str]:
    project = await tenant.create_project("Shop")
    return [str((await report(tenant.client, project["apiKey"], f"Checkout {n}"))["id"]) for n in range(count)]


async def test_two_changes_at_once_are_each_kept_against_the_state_they_replaced(tenants: TenantFactory) -> None:
    """Both used to be kept in the history, and told to webhooks, as changes from "new": one of them was false."""
    async with tenants.create() as tenant:
        hook = data(await tenant.client.post("/api/v1/webhooks", json=hook_on("report.updated")), 201)
        ids = await reports(tenant, ROUNDS)
        for report_id in ids:
            answers = await asyncio.gather(
                *(tenant.client.patch(f"/api/v1/reports/{report_id}", json={"status": to}) for to in ("todo", "doing"))
            )
            assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
            history = data(await tenant.client.get(f"/api/v1/reports/{report_id}/history"))
            first, second = (change["changes"]["status"] for change in history)
            assert (first[0], second[0]) == ("new", first[1]), history
        told: dict[str, list[str]] = {report_id: [] for report_id in ids}
        for delivery in await deliveries(tenant, hook["id"]):
            told[delivery["payload"]["data"]["report"]["id"]].append(delivery["payload"]["data"]["changes"]["status"])
        assert all([before for before, _after in changes].count("new") == 1 for changes in told.values()), told


async def test_an_invitation_accepted_six_times_at_once_is_accepted_once(tenants: TenantFactory, app: Any) -> None:
    """All six were accepted, each choosing its password and given a session: one password was left, and five
    of the sessions were dead at once. One is accepted now, and the others are told it was accepted already."""
    async with tenants.create() as tenant:
        email = f"ivy-{secrets.token_hex(4)}@example.com"
        invited = await tenant.client.post("/api/v1/organization/members", json={"email": email, "role": "member"})
        token = data(invited, 201)["invitationToken"]
        passwords = [f"{PASSWORD} {n}" for n in range(6)]
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(ApiClient.for_app(app)) for _password in passwords]
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/auth/invitations/accept", json={"token": token, "password": password})
                    for client, password in zip(clients, passwords, strict=True)
                )
            )
            assert sorted(answer.status_code for answer in answers) == [200] + [409] * 5, [a.text for a in answers]
            accepted = next(n for n, answer in enumerate(answers) if answer.status_code == 200)
            assert (await clients[accepted].get("/api/v1/auth/me")).status_code == 200
            login = {"email": email, "password": passwords[accepted]}
            assert (await clients[accepted - 1].post("/api/v1/auth/login", json=login)).status_code == 200
        refused = next(answer for answer in answers if answer.status_code == 409)
        assert refused.json()["message"].startswith("This invitation was accepted already")


@pytest.mark.parametrize("departure", ["removed", "made a guest", "leaves", "taken off the project"])
async def test_no_report_stays_assigned_to_someone_who_left_meanwhile(
    tenants: TenantFactory, app: Any, departure: str
) -> None:
    """Assignments checked that the person was a member while their removal (or their new role of guest, their
    leaving, a guest's place in the project taken) unassigned their reports: a third of the reports stayed assigned
    to someone who was gone, or who no longer saw them. Now either the assignment is refused, or the departure
    unassigns it."""
    guest = departure == "taken off the project"
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", guestsSeeGuests=True)
        for _round in range(ROUNDS // 2):
            async with tenants.create("Mia's") as person:
                await invite(tenant, app, "guest" if guest else "member", person.email)
                if guest:
                    added = {"userId": person.user_id}
                    data(await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json=added), 201)
                data(
                    await person.client.post(
                        "/api/v1/auth/organization", json={"organizationId": tenant.organization_id}
                    )
                )
                members = data(await tenant.client.get("/api/v1/organization/members"))
                membership = next(member["id"] for member in members if member["userId"] == person.user_id)
                ids = [str((await report(tenant.client, project["apiKey"], f"Assign {n}"))["id"]) for n in range(4)]
                *assigned, departed = await asyncio.gather(
                    *(tenant.client.patch(f"/api/v1/reports/{i}", json={"assigneeId": person.user_id}) for i in ids),
                    depart(tenant, person, membership, departure, project["id"]),
                )
                assert departed.status_code in {200, 204}, departed.text
                assert {answer.status_code for answer in assigned} <= {200, 400}, [a.text for a in assigned]
                for report_id in ids:
                    assert data(await tenant.client.get(f"/api/v1/reports/{report_id}"))["assigneeId"] is None


@pytest.mark.parametrize("departure", ["demoted", "removed", "leaves", "deletes their account"])
async def test_two_owners_leaving_the_role_at_once_leave_one(tenants: TenantFactory, app: Any, departure: str) -> None:
    """Each counted the other as the owner who stays, and both went: the organization was left with no owner.
    Now they take turns, and the second is refused (409), or, removed already, is no longer signed in to it."""
    for _round in range(ROUNDS // 2):
        async with tenants.create() as first, tenants.create("Mia's") as second:
            await invite(first, app, "owner", second.email)
            data(await second.client.post("/api/v1/auth/organization", json={"organizationId": first.organization_id}))
            members = {m["userId"]: m["id"] for m in data(await first.client.get("/api/v1/organization/members"))}
            answers = await asyncio.gather(
                *step_down(first, second, members[first.user_id], members[second.user_id], departure)
            )
            outcomes = [[200, 409], [204, 409]]
            if departure == "removed":  # one was removed before its own request was read: it no longer signs in
                outcomes.append([204, 401])
            assert sorted(answer.status_code for answer in answers) in outcomes, [a.text for a in answers]
            owners = [m for m in await members_of(first, second) if m["role"] == "owner"]
            assert len(owners) == 1, owners


async def test_a_report_moved_into_a_column_being_renamed_or_deleted_ends_in_a_column(tenants: TenantFactory) -> None:
    """A report moved into a column while it was renamed kept the old name, and one moved into a column while it
    was deleted kept its number: on the board it was in no column. Now the rename carries it, the deletion sends
    it back to feedback, or the move comes after them (into the renamed column, or refused: the column is gone)."""
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        ids = [str((await report(tenant.client, project["apiKey"], f"Board {n}"))["id"]) for n in range(6)]
        columns = f"/api/v1/projects/{project['id']}/columns"
        for round_ in range(ROUNDS // 2):
            column = data(await tenant.client.post(columns, json={"name": f"Review {round_}"}), 201)
            for into, change in (
                (column["name"], tenant.client.patch(f"{columns}/{column['id']}", json={"name": f"QA {round_}"})),
                (f"QA {round_}", tenant.client.delete(f"{columns}/{column['id']}")),
            ):
                *moves, changed = await asyncio.gather(
                    *(tenant.client.patch(f"/api/v1/reports/{i}", json={"status": into}) for i in ids), change
                )
                assert changed.status_code in {200, 204}, changed.text
                assert {move.status_code for move in moves} <= {200, 400}, [move.text for move in moves]
                names = {column["name"] for column in data(await tenant.client.get(columns))}
                for report_id in ids:
                    moved = data(await tenant.client.get(f"/api/v1/reports/{report_id}"))
                    assert moved["status"] in names, (moved["status"], names)


async def test_a_change_to_many_reports_and_a_rename_of_their_column_at_once_both_go_through(
    tenants: TenantFactory,
) -> None:
    """The list's change to many reports locks them one by one in the order of their ids; a column's rename (as
    a person's removal) changed them all in one statement, which locked them in the order it met them. Reports
    moved there in another order than their ids made the two wait for each other, and PostgreSQL failed one of
    them: a 500."""
    async with tenants.create() as tenant:
        ids = sorted(await reports(tenant, 20))
        project_id = data(await tenant.client.get(f"/api/v1/reports/{ids[0]}"))["projectId"]
        columns = f"/api/v1/projects/{project_id}/columns"
        for round_ in range(ROUNDS // 2):
            column = data(await tenant.client.post(columns, json={"name": f"Blocked {round_}"}), 201)
            for report_id in reversed(ids):  # stored in the other order than their ids
                data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"status": column["name"]}))
            bulk, renamed = await asyncio.gather(
                tenant.client.post("/ui/reports/bulk", data={"report": ids, "severity": "high"}),
                tenant.client.patch(f"{columns}/{column['id']}", json={"name": f"Stuck {round_}"}),
            )
            assert "notice=changed" in bulk.headers.get("location", ""), (bulk.status_code, bulk.text)
            assert renamed.status_code == 200, renamed.text


@pytest.mark.parametrize(
    ("role", "departure"),
    [
        ("owner", "leaves"),
        ("owner", "removed"),
        ("owner", "made a guest"),
        ("owner", "deletes their account"),
        ("member", "leaves"),
        ("member", "removed"),
        ("member", "deletes their account"),
        ("guest", "taken off the project"),
    ],
)
async def test_a_departure_while_the_organization_is_deleted_waits_for_it_or_it_waits(
    tenants: TenantFactory, app: Any, is_postgres: bool, role: str, departure: str
) -> None:
    """The deletion holds the organization's row, then deletes its memberships; a departure held the person's
    membership, then waited for the organization's row (an owner's, counting the owners who stay; anyone's, to
    write their reports' history) or for rows the deletion had deleted (their invitation): each waited for the
    other, and PostgreSQL failed one of them (503). Now the departure holds the organization's row first: it
    waits for the deletion and finds its person out already (a leaving or an account deletion goes through, a
    change to someone gone is not found), or the deletion waits for it. The deletion is made to hold the row
    while an owner's departure starts, a member's departure to hold their membership while the deletion starts.
    (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant, tenants.create("Mia's") as person:
        project = await tenant.create_project("Shop", guestsSeeGuests=True)
        await invite(tenant, app, role, person.email)
        added = {"userId": person.user_id}
        data(await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json=added), 201)
        data(await person.client.post("/api/v1/auth/organization", json={"organizationId": tenant.organization_id}))
        members = data(await tenant.client.get("/api/v1/organization/members"))
        membership = next(member["id"] for member in members if member["userId"] == person.user_id)
        assigned = str((await report(tenant.client, project["apiKey"], "Checkout button does nothing"))["id"])
        data(await tenant.client.patch(f"/api/v1/reports/{assigned}", json={"assigneeId": person.user_id}))

        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        departed = depart(tenant, person, membership, departure, project["id"])
        if role == "owner":  # the deletion's first cascade (API tokens) waits, its organization row held
            deleted, gone = await one_after_the_other("api_token", deletion, departed)
        else:  # the departure's deletion of the person's places in projects waits, their membership held
            gone, deleted = await one_after_the_other("project_member", departed, deletion)
        assert deleted.status_code == 204, deleted.text
        assert gone.status_code in {200, 204, 404}, gone.text
        if departure in {"leaves", "deletes their account"}:
            assert gone.status_code == 204, gone.text


@pytest.mark.parametrize("first", ["request", "deletion"])
@pytest.mark.parametrize(
    ("request_made", "written"),
    [("change", "report_change"), ("comment", "report_comment"), ("deletion", "webhook_delivery")],
)
async def test_a_report_changed_while_its_organization_is_deleted_is_changed_first_or_not_found(
    tenants: TenantFactory, is_postgres: bool, request_made: str, written: str, first: str
) -> None:
    """A change held the assignee's membership, the column and the report (a comment, or the report's deletion,
    the report), then what it wrote beside the report (its history, the comment, webhook deliveries) waited for
    the organization's row, which each names; the organization's deletion held that row, then waited to delete
    the report: each waited for the other, and PostgreSQL failed one of them (503). Now the request holds the
    organization's row first (FOR KEY SHARE, which other changes share): the organization's deletion waits for it,
    or it waits for the deletion and finds the report gone (404). What the request writes is made to wait while
    the deletion starts, or the deletion's first cascade (API tokens) while the request starts. (PostgreSQL only:
    SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        hook = hook_on("report.updated", "report.deleted", "comment.created")
        data(await tenant.client.post("/api/v1/webhooks", json=hook), 201)
        [report_id] = await reports(tenant, 1)
        project_id = data(await tenant.client.get(f"/api/v1/reports/{report_id}"))["projectId"]
        data(await tenant.client.post(f"/api/v1/projects/{project_id}/columns", json={"name": "Review"}), 201)
        path = f"/api/v1/reports/{report_id}"
        triage = {"status": "Review", "assigneeId": tenant.user_id, "severity": "high"}
        if request_made == "change":
            request, done = tenant.client.patch(path, json=triage), 200
        elif request_made == "comment":
            request, done = tenant.client.post(f"{path}/comments", json={"text": "Still broken"}), 201
        else:
            request, done = tenant.client.delete(path), 204
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        answered, deleted = await raced_with_deletion(written, request, deletion, deletion_first=first == "deletion")
        assert deleted.status_code == 204, deleted.text
        assert answered.status_code == (done if first == "request" else 404), answered.text


@pytest.mark.parametrize("first", ["request", "deletion"])
@pytest.mark.parametrize("change", ["addition", "rename", "deletion"])
async def test_a_column_changed_while_its_organization_is_deleted_is_changed_first_or_not_found(
    tenants: TenantFactory, is_postgres: bool, change: str, first: str
) -> None:
    """A column's rename or deletion held the column and its reports, then wrote their history (and webhook
    deliveries); a new column held the project's row, where it takes its number, then wrote the column. What each
    wrote names the organization, and so waited for its row; the organization's deletion held that row, then
    waited to delete the project, the column and its reports: each waited for the other, and PostgreSQL failed one
    of them (503). Now a column's change holds the organization's row first, as a change to a report does: the
    deletion waits for it, or it waits for the deletion and finds the organization gone (404). What the change
    writes is made to wait while the deletion starts, or the deletion's first cascade (API tokens) while the change
    starts. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        data(await tenant.client.post("/api/v1/webhooks", json=hook_on("report.updated")), 201)
        [report_id] = await reports(tenant, 1)
        project_id = data(await tenant.client.get(f"/api/v1/reports/{report_id}"))["projectId"]
        columns = f"/api/v1/projects/{project_id}/columns"
        column = data(await tenant.client.post(columns, json={"name": "Review"}), 201)
        data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"status": "Review"}))
        path = f"{columns}/{column['id']}"
        if change == "addition":
            request, written, done = tenant.client.post(columns, json={"name": "QA"}), "project_column", 201
        elif change == "rename":
            request, written, done = tenant.client.patch(path, json={"name": "QA"}), "report_change", 200
        else:
            request, written, done = tenant.client.delete(path), "report_change", 204
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        answered, deleted = await raced_with_deletion(written, request, deletion, deletion_first=first == "deletion")
        assert deleted.status_code == 204, deleted.text
        assert answered.status_code == (done if first == "request" else 404), answered.text


@pytest.mark.parametrize("first", ["request", "deletion"])
@pytest.mark.parametrize("attached", ["file", "link"])
async def test_an_attachment_added_while_its_organization_is_deleted_is_added_first_or_not_found(
    tenants: TenantFactory, is_postgres: bool, attached: str, first: str
) -> None:
    """An attachment's row names its author, the organization and the report, and its insert held them in that
    order: it held its author's account, then waited for the organization's row, which the organization's
    deletion held while it went on to delete the report and that account: each waited for the other, and
    PostgreSQL failed one of them (503). Now the attachment holds the organization's row first, as a comment does:
    the deletion waits for it, or it waits for the deletion and finds the organization gone (404).
    The attachment's insert is made to wait while the deletion starts, or the deletion's first cascade (API
    tokens) while the attachment starts. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        [report_id] = await reports(tenant, 1)
        path = f"/api/v1/reports/{report_id}/attachments"
        if attached == "file":
            request = tenant.client.post(path, files={"file": ("console.txt", b"TypeError: pay is undefined")})
        else:
            request = tenant.client.post(path, json={"url": "https://logs.example.com/checkout.txt"})
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        answered, deleted = await raced_with_deletion(
            "attachment", request, deletion, deletion_first=first == "deletion"
        )
        assert deleted.status_code == 204, deleted.text
        assert answered.status_code == (201 if first == "request" else 404), answered.text


@pytest.mark.parametrize("first", ["request", "deletion"])
async def test_a_project_renamed_while_its_organization_is_deleted_is_renamed_first_or_not_found(
    tenants: TenantFactory, is_postgres: bool, first: str
) -> None:
    """A new tracking prefix held the project's numbering and changed the project's row, then kept the prefix as
    the project's own, a row that names the organization, and so waited for its row; the organization's deletion
    held that row, then waited to delete the project: each waited for the other, and PostgreSQL failed one of them
    (503). Now the rename holds the organization's row with the project's numbering, as a numbering pass does: the
    deletion waits for it, or it waits for the deletion and finds the organization gone (404). The prefix's row
    is made to wait while the deletion starts, or the deletion's first cascade (API tokens) while the rename
    starts. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        await report(tenant.client, project["apiKey"], "Checkout button does nothing")
        rename = tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "QX"})
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        renamed, deleted = await raced_with_deletion(
            "project_prefix", rename, deletion, deletion_first=first == "deletion"
        )
        assert deleted.status_code == 204, deleted.text
        assert renamed.status_code == (200 if first == "request" else 404), renamed.text


@pytest.mark.parametrize("first", ["numbering", "deletion"])
async def test_a_numbering_while_the_organization_is_deleted_numbers_first_or_finds_nothing(
    tenants: TenantFactory, is_postgres: bool, first: str
) -> None:
    """The numbering job numbered the project's reports, holding them, then queued their webhook deliveries,
    which name the organization, and so waited for its row; the organization's deletion held that row, then
    waited to delete the reports: each waited for the other, and PostgreSQL failed one of them (the job's error,
    tried again, or the deletion's 503). Now each numbering pass holds the organization's row first: the deletion
    waits for it, or it waits for the deletion and finds nothing to number. The job's deliveries are made to wait
    while the deletion starts, or the deletion's first cascade (API tokens) while the job starts. The job runs as
    the worker runs it; no worker runs here, so the reports wait for it. (PostgreSQL only: SQLite writes one
    transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        data(await tenant.client.post("/api/v1/webhooks", json=hook_on("report.created")), 201)
        project = await tenant.create_project("Shop")
        job = {"organization_id": tenant.organization_id, "project_id": project["id"]}
        await report(tenant.client, project["apiKey"], "Checkout button does nothing")
        await older_transactions_ended()
        assert await assign_tracking_ids({}, **job) == 1  # the project's first numbering makes its counter
        ids = [(await report(tenant.client, project["apiKey"], f"Checkout {n}"))["id"] for n in range(3)]
        await older_transactions_ended()
        numbering = assign_tracking_ids({}, **job)
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        numbered, deleted = await raced_with_deletion(
            "webhook_delivery", numbering, deletion, deletion_first=first == "deletion"
        )
        assert deleted.status_code == 204, deleted.text
        assert numbered == (len(ids) if first == "numbering" else 0)


@pytest.mark.parametrize("first", ["numbering", "deletion"])
async def test_a_numbering_while_its_project_is_deleted_numbers_first_or_finds_nothing(
    tenants: TenantFactory, is_postgres: bool, first: str
) -> None:
    """The project's numbering job, as the organization's above, but raced with its project's deletion: the job
    held the reports and wrote their deliveries to the project's webhook, which the deletion deleted before it
    waited to delete the reports. The job's deliveries are made to wait while the deletion starts, or the
    deletion's cascade to the project's webhook while the job starts. (PostgreSQL only: SQLite writes one
    transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        hook = {**hook_on("report.created"), "projectId": project["id"]}
        data(await tenant.client.post("/api/v1/webhooks", json=hook), 201)
        job = {"organization_id": tenant.organization_id, "project_id": project["id"]}
        await report(tenant.client, project["apiKey"], "Checkout button does nothing")
        await older_transactions_ended()
        assert await assign_tracking_ids({}, **job) == 1  # the project's first numbering makes its counter
        for n in range(3):
            await report(tenant.client, project["apiKey"], f"Checkout {n}")
        await older_transactions_ended()
        numbering = assign_tracking_ids({}, **job)
        deletion = tenant.client.delete(f"/api/v1/projects/{project['id']}")
        if first == "numbering":
            numbered, deleted = await one_after_the_other("webhook_delivery", numbering, deletion)
        else:
            deleted, numbered = await one_after_the_other("webhook", deletion, numbering, "EXCLUSIVE")
        assert deleted.status_code == 204, deleted.text
        assert numbered == (3 if first == "numbering" else 0)


@pytest.mark.parametrize("first", ["filing", "deletion"])
async def test_a_report_filed_for_someone_while_the_organization_is_deleted_is_filed_first_or_not_found(
    tenants: TenantFactory, app: Any, is_postgres: bool, first: str
) -> None:
    """The group commit's insert of a report the team files for someone checked the assignee's account (its
    foreign key comes first), then waited for the organization's row, which the organization's deletion held;
    the deletion went on to delete that account (in no other organization), and waited for the insert: each
    waited for the other, and PostgreSQL failed the deletion (503; the report was stored) once the insert had
    waited past the deadlock timeout, as it does while a large organization's deletion runs. Now the writer holds
    the batch's organizations first: it waits for the deletion and finds the organization gone (404), or the
    deletion waits for it. The deletion's first cascade (API tokens) is made to wait past the deadlock timeout
    while the report is filed, or the report's history while the deletion starts. (PostgreSQL only: SQLite writes
    one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop")
        _email, assignee = await invite(tenant, app, "member", None)  # an account in this organization alone
        filed = {"description": "The customer says checkout fails", "assigneeId": assignee}
        filing = tenant.client.post(f"/api/v1/projects/{project['id']}/reports", json=filed)
        deletion = tenant.client.delete("/api/v1/organization", params={"confirm": "Acme"})
        answered, deleted = await raced_with_deletion(
            "report_change", filing, deletion, deletion_first=first == "deletion", past_deadlock_timeout=True
        )
        assert deleted.status_code == 204, deleted.text
        assert answered.status_code == (201 if first == "filing" else 404), answered.text


async def test_a_report_batched_with_one_of_an_organization_being_deleted_is_stored_in_the_same_commit(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """One batch of the group commit, two organizations' reports; the first organization is being deleted. The
    batch's insert waited for that organization's row and, the deletion committed, broke its foreign key: the
    whole batch was rolled back and each of its reports stored again alone, one transaction each. Now the writer
    holds the batch's organizations first and leaves out the reports of one that is gone (its sender is told
    404): the other organization's report is stored in the batch's own transaction, and no statement fails. The
    deletion's first cascade (API tokens) is made to wait while the batch begins. (PostgreSQL only: SQLite
    writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as acme, tenants.create("Blog") as blog:
        submissions = []
        for tenant in (acme, blog):
            project = await tenant.create_project("Shop")
            report_of = Report(project_id=UUID(project["id"]), title=f"{tenant.slug}'s report", description="")
            submissions.append(Submission(UUID(tenant.organization_id), report_of))
        writer = report_writer()
        engine = alchemy_config().get_engine().sync_engine
        failed: list[str] = []

        def record(context: ExceptionContext) -> None:
            failed.append(repr(context.original_exception))

        async def batch() -> list[Stored | BaseException]:  # both wait before the writer's batch begins
            stores = (writer.store(submission) for submission in submissions)
            return await asyncio.gather(*stores, return_exceptions=True)

        event.listen(engine, "handle_error", record)
        try:
            deletion = acme.client.delete("/api/v1/organization", params={"confirm": "Acme"})
            deleted, (gone, stored) = await one_after_the_other("api_token", deletion, batch())
        finally:
            event.remove(engine, "handle_error", record)
        assert deleted.status_code == 204, deleted.text
        assert stored == Stored(numbers_project=True)
        assert failed == []
        assert isinstance(gone, LanternError), gone
        assert gone.code is ErrorCode.NOT_FOUND
        shown = await blog.client.get(f"/api/v1/reports/{submissions[1].report.id}")
        assert shown.status_code == 200, shown.text


async def test_two_people_deleting_their_accounts_leave_their_two_organizations_in_one_order(
    tenants: TenantFactory, app: Any, is_postgres: bool
) -> None:
    """Each left their organizations in the order they had joined them, holding each one's row to the end:
    one who joined Acme first and one who joined Globex first each held the row the other waited for, and
    PostgreSQL failed one of them (503). Now both leave in one order. The first is made to wait (its removal
    from projects held off) while the second starts. (PostgreSQL only: SQLite writes one transaction at a
    time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with (
        tenants.create() as acme,
        tenants.create("Globex") as globex,
        tenants.create("Mia's") as mia,
        tenants.create("Gus's") as gus,
    ):
        for first, second, person in ((acme, globex, mia), (globex, acme, gus)):
            await invite(first, app, "member", person.email)
            await invite(second, app, "member", person.email)
        answers = await one_after_the_other(
            "project_member",
            mia.client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD}),
            gus.client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD}),
        )
        assert [answer.status_code for answer in answers] == [204, 204], [answer.text for answer in answers]
        members = [data(await tenant.client.get("/api/v1/organization/members")) for tenant in (acme, globex)]
        assert [[member["userId"] for member in listed] for listed in members] == [[acme.user_id], [globex.user_id]]


@pytest.mark.parametrize("second_change", ["priority", "severity"])
async def test_two_saves_of_the_report_page_at_once_are_each_told_of_the_other(
    tenants: TenantFactory, is_postgres: bool, second_change: str
) -> None:
    """Both saves read what a colleague changed meanwhile from the report as it was before either, then waited
    for the other's: the second was told its changes were saved over the report as it had opened it, and a
    field both changed took the second's value without a word to either. Now the second is told the first's
    change is kept beside its own, or that its own change of that field was not saved. Both are made to read
    the report before either holds it. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        [report_id] = await reports(tenant, 1)
        shown = data(await tenant.client.get(f"/api/v1/reports/{report_id}"))
        form = {name: shown[name] for name in ("status", "severity", "priority")} | {"assignee_id": "", "tags": ""}
        form |= {f"shown_{name}": value for name, value in form.items()}
        changes = [{"severity": "critical"}, {second_change: "low" if second_change == "severity" else "highest"}]
        page = f"/ui/reports/{report_id}"
        answers = await one_after_the_other(
            "report", *(tenant.client.post(page, data=form | change) for change in changes), mode="EXCLUSIVE"
        )
        told = [parse_qs(urlsplit(answer.headers.get("location", "")).query) for answer in answers]
        first = next(n for n, query in enumerate(told) if query.get("saved") == ["1"])
        second = told[1 - first]
        saved = data(await tenant.client.get(f"/api/v1/reports/{report_id}"))
        if second_change == "priority":
            assert second == {"saved": ["merged"]}, told
            assert (saved["severity"], saved["priority"]) == ("critical", "highest")
        else:
            assert second == {"kept": ["severity"]}, told
            assert saved["severity"] == changes[first]["severity"]


async def test_a_rename_sent_twice_at_once_renames_the_project_once_and_answers_both(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """A form sent twice: both renames passed the check before either kept the prefix, and the second was refused
    by the database although the prefix had become its own project's (500). The second waits for the first now,
    and finds the project renamed. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Race", trackingPrefix="RAA")
        rename = {"trackingPrefix": "RBB"}
        answers = await one_after_the_other(
            "project_prefix",
            tenant.client.patch(f"/api/v1/projects/{project['id']}", json=rename),
            tenant.client.patch(f"/api/v1/projects/{project['id']}", json=rename),
        )
        assert [answer.status_code for answer in answers] == [200, 200], [answer.text for answer in answers]
        assert data(await tenant.client.get(f"/api/v1/projects/{project['id']}"))["trackingPrefix"] == "RBB"


async def test_a_new_project_asking_for_the_prefix_another_is_renamed_to_is_refused_saying_why(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """The rename kept the prefix, then waited for the project's row the new project had taken under that prefix,
    which waited to keep it in turn: PostgreSQL failed one of them (503). Both take the project's row first now;
    the new project, second, is refused with the reason. (PostgreSQL only: SQLite writes one transaction at a
    time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        renamed, created = await one_after_the_other(
            "project_prefix",
            tenant.client.patch(f"/api/v1/projects/{project['id']}", json={"trackingPrefix": "QX"}),
            tenant.client.post("/api/v1/projects", json={"name": "Quux", "trackingPrefix": "QX"}),
        )
        assert renamed.status_code == 200, renamed.text
        assert created.status_code == 409, created.text
        message = "Another project of this organization already uses this tracking prefix."
        assert created.json()["details"] == [{"field": "trackingPrefix", "message": message}]


async def test_two_projects_named_alike_at_once_each_get_a_prefix_from_the_name(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """Both made CSP from the name and passed the check; the second was refused with a bare 409. A prefix made
    from the name steps to the next free one now, as it does one after the other. (PostgreSQL only: SQLite
    writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    async with tenants.create() as tenant:
        answers = await one_after_the_other(
            "project_prefix",
            tenant.client.post("/api/v1/projects", json={"name": "Concurrent Shop"}),
            tenant.client.post("/api/v1/projects", json={"name": "Concurrent Shop"}),
        )
        assert [data(answer, 201)["trackingPrefix"] for answer in answers] == ["CSP", "CSPA"]


async def raced_with_deletion(
    written: str,
    request: Awaitable[FirstT],
    deletion: Awaitable[SecondT],
    *,
    deletion_first: bool,
    past_deadlock_timeout: bool = False,
) -> tuple[FirstT, SecondT]:
    """The answers of a request and of its organization's deletion, raced: the request held at its first write
    to `written` while the deletion starts, or the deletion held at its first cascade (API tokens) while the
    request starts."""
    if not deletion_first:
        return await one_after_the_other(written, request, deletion)
    deleted, answered = await one_after_the_other(
        "api_token", deletion, request, past_deadlock_timeout=past_deadlock_timeout
    )
    return answered, deleted


async def one_after_the_other(
    table: str,
    first: Awaitable[FirstT],
    second: Awaitable[SecondT],
    mode: str = "SHARE",
    *,
    past_deadlock_timeout: bool = False,
) -> tuple[FirstT, SecondT]:
    """The answers of two requests (or a request and a job) sent while another transaction holds `table` in `mode`
    (SHARE: writes to it wait; EXCLUSIVE: its rows' locks wait too): the second is sent once the first waits for a
    lock, and the lock is let go once both wait (`past_deadlock_timeout`: once both have waited longer than
    PostgreSQL's deadlock timeout, when each has looked for a deadlock once, and found none: a wait that closes
    a circle later is found by the second of its two)."""
    async with owner_engine() as engine, engine.connect() as holding:
        await holding.execute(text(f"LOCK TABLE {table} IN {mode} MODE"))
        started = asyncio.ensure_future(first)
        await until_waiting(holding, [started], 1)
        then = asyncio.ensure_future(second)
        await until_waiting(holding, [started, then], 2)
        if past_deadlock_timeout:
            timeout = "SELECT extract(epoch FROM current_setting('deadlock_timeout')::interval)"
            await asyncio.sleep(float(await holding.scalar(text(timeout)) or 0) + 0.5)
        await holding.commit()
        return await started, await then


async def until_waiting(holding: AsyncConnection, answers: list[asyncio.Future[Any]], count: int) -> None:
    """Until `count` of the database's sessions wait for a lock (none of the requests answered before)."""
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if any(answer.done() for answer in answers) or await waiting_for_locks(holding) >= count:
            break
        await asyncio.sleep(0.05)
    assert not any(answer.done() for answer in answers), [told(answer.result()) for answer in answers if answer.done()]
    assert await waiting_for_locks(holding) >= count


def told(answer: Any) -> Any:
    """What an answer that came too soon said: a response's text, or what a job returned."""
    return answer.text if isinstance(answer, httpx.Response) else answer


async def waiting_for_locks(connection: AsyncConnection) -> int:
    """How many of the database's sessions wait for a lock, read afresh: within a transaction PostgreSQL keeps
    the activity it read first."""
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    return int(await connection.scalar(text(waiting)) or 0)


def step_down(first: Tenant, second: Tenant, mine: str, theirs: str, departure: str) -> list[Awaitable[httpx.Response]]:
    """Both owners leaving the role at once: each made a member, each removing the other, or the second leaving
    (or deleting their account) while the first makes themselves a member."""
    if departure == "removed":
        return [
            first.client.delete(f"/api/v1/organization/members/{theirs}"),
            second.client.delete(f"/api/v1/organization/members/{mine}"),
        ]
    demoted = first.client.patch(f"/api/v1/organization/members/{mine}", json={"role": "member"})
    if departure == "demoted":
        return [demoted, second.client.patch(f"/api/v1/organization/members/{theirs}", json={"role": "member"})]
    if departure == "leaves":
        return [demoted, second.client.delete("/api/v1/organization/membership")]
    return [demoted, second.client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD})]


async def members_of(first: Tenant, second: Tenant) -> list[Any]:
    """The organization's members, read by whichever of its two owners is still in it."""
    for client in (first.client, second.client):
        answer = await client.get("/api/v1/organization/members")
        if answer.status_code == 200 and answer.json()["data"]:
            return data(answer)  # type: ignore[no-any-return]
    raise AssertionError("neither owner reads the organization")


async def test_a_comment_on_a_report_being_deleted_is_not_found(tenants: TenantFactory) -> None:
    """It was a 409 ("This conflicts with existing data", the comment's broken reference), and a comment.created
    webhook could come after the report's report.deleted."""
    async with tenants.create() as tenant:
        hook = data(
            await tenant.client.post("/api/v1/webhooks", json=hook_on("comment.created", "report.deleted")), 201
        )
        for report_id in await reports(tenant, ROUNDS):
            comments = [f"/api/v1/reports/{report_id}/comments"] * 5
            *before, deleted = await asyncio.gather(
                *(tenant.client.post(path, json={"text": "Still broken"}) for path in comments),
                tenant.client.delete(f"/api/v1/reports/{report_id}"),
            )
            after = await asyncio.gather(*(tenant.client.post(path, json={"text": "Still?"}) for path in comments))
            assert deleted.status_code == 204, deleted.text
            assert {answer.status_code for answer in before} <= {201, 404}, [answer.text for answer in before]
            assert {answer.status_code for answer in after} == {404}
        events = [(d["payload"]["data"]["report"]["id"], d["event"]) for d in await deliveries(tenant, hook["id"])]
        for report_id, event in events:
            if event == "comment.created":
                assert (report_id, "report.deleted") not in events[: events.index((report_id, event))], events


def depart(
    tenant: Tenant, person: Tenant, membership: str, departure: str, project_id: str
) -> Awaitable[httpx.Response]:
    if departure == "removed":
        return tenant.client.delete(f"/api/v1/organization/members/{membership}")
    if departure == "made a guest":
        return tenant.client.patch(f"/api/v1/organization/members/{membership}", json={"role": "guest"})
    if departure == "taken off the project":
        return tenant.client.delete(f"/api/v1/projects/{project_id}/members/{person.user_id}")
    if departure == "deletes their account":
        return person.client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD})
    return person.client.delete("/api/v1/organization/membership")


def hook_on(*events: str) -> dict[str, Any]:
    return {"url": "https://hooks.example.com/lantern", "events": list(events)}


async def deliveries(tenant: Tenant, hook_id: str) -> list[Any]:
    """The webhook's deliveries in the order they were made."""
    made = data(await tenant.client.get(f"/api/v1/webhooks/{hook_id}/deliveries"))
    return sorted(made, key=lambda delivery: (delivery["createdAt"], delivery["id"]))
