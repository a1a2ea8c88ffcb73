"""People leave of their own accord: a member or guest leaves an organization, and anyone deletes their own
account (its password typed again), through the HTTP API, on the suite's database.

Real parts: the app in-process, the test database and Redis, and an arq worker where files are deleted.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import metadata
from app.seed import create_admin
from tests.integration.test_deletion import report_with_files, stored, until_stored
from tests.support.admin_ui import invite, report
from tests.support.clients import PASSWORD, ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import invite as invited_by_api
from tests.support.isolation import member_of, owner_engine, tenant_rows
from tests.support.worker import running_worker

LEAVE = "/api/v1/organization/membership"
HOOK = {"url": "https://hooks.example.com/lantern", "events": ["report.updated"]}


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def delete_account(client: ApiClient, password: str = PASSWORD) -> httpx.Response:
    return await client.request("DELETE", "/api/v1/auth/me", json={"password": password})


async def switch(tenant: Tenant, organization_id: str) -> None:
    data(await tenant.client.post("/api/v1/auth/organization", json={"organizationId": organization_id}))


async def assigned_report(tenant: Tenant, project: dict[str, Any], user_id: str) -> str:
    """A report of the tenant's project assigned to `user_id`."""
    report_id = str((await report(tenant.client, project["apiKey"], "Checkout button does nothing"))["id"])
    data(await tenant.client.patch(f"/api/v1/reports/{report_id}", json={"assigneeId": user_id}))
    return report_id


async def told(tenant: Tenant, hook_id: str) -> list[Any]:
    deliveries = data(await tenant.client.get(f"/api/v1/webhooks/{hook_id}/deliveries"))
    return [
        (delivery["payload"]["data"]["report"]["id"], delivery["payload"]["data"]["changes"]) for delivery in deliveries
    ]


async def test_a_member_and_a_guest_leave_and_their_reports_go_back_to_nobody(tenants: TenantFactory, app: Any) -> None:
    """No one could leave an organization: only an admin could take them out."""
    async with tenants.create() as acme, tenants.create("Mia's") as mia, tenants.create("Gus's") as gus:
        shop = await acme.create_project("Shop", guestsSeeGuests=True)
        hook = data(await acme.client.post("/api/v1/webhooks", json=HOOK), 201)
        for person, role in ((mia, "member"), (gus, "guest")):
            await invite(acme, app, role, person.email)
            data(await acme.client.post(f"/api/v1/projects/{shop['id']}/members", json={"userId": person.user_id}), 201)
        mine = await assigned_report(acme, shop, mia.user_id)
        guests = await assigned_report(acme, shop, gus.user_id)

        for person in (mia, gus):
            await switch(person, acme.organization_id)
            left = await person.client.delete(LEAVE)
            assert left.status_code == 204, left.text
            me = data(await person.client.get("/api/v1/auth/me"))
            assert me["organization"]["id"] == person.organization_id  # the session goes on in their own
            assert [org["id"] for org in me["organizations"]] == [person.organization_id]

        members = data(await acme.client.get("/api/v1/organization/members"))
        assert [member["userId"] for member in members] == [acme.user_id]
        assert data(await acme.client.get(f"/api/v1/projects/{shop['id']}/members")) == []
        for report_id, user_id in ((mine, mia.user_id), (guests, gus.user_id)):
            assert data(await acme.client.get(f"/api/v1/reports/{report_id}"))["assigneeId"] is None
            history = data(await acme.client.get(f"/api/v1/reports/{report_id}/history"))
            assert (history[-1]["changes"], history[-1]["authorId"]) == ({"assigneeId": [user_id, None]}, user_id)
        heard = await told(acme, hook["id"])
        assert (mine, {"assigneeId": [mia.user_id, None]}) in heard
        assert (guests, {"assigneeId": [gus.user_id, None]}) in heard
        switched = await mia.client.post("/api/v1/auth/organization", json={"organizationId": acme.organization_id})
        assert switched.status_code == 404, switched.text


async def test_the_last_owner_and_someone_in_one_organization_cannot_leave(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as acme, tenants.create("Other") as other:
        await invite(other, app, "member", acme.email)  # Acme's owner has another organization to go on in
        last_owner = await acme.client.delete(LEAVE)
        assert last_owner.status_code == 409, last_owner.text
        assert last_owner.json()["message"] == "An organization must keep at least one owner."
        async with member_of(acme, app) as member:
            only = await member.delete(LEAVE)
            assert (await member.get("/api/v1/auth/me")).status_code == 200
        assert only.status_code == 409, only.text
        assert "delete your account" in only.json()["message"]
        token = (await acme.create_token())["token"]
        async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token}"}) as program:
            assert (await program.delete(LEAVE)).status_code == 403
        assert len(data(await acme.client.get("/api/v1/organization/members"))) == 2


async def test_a_wrong_password_deletes_nothing_and_counts_as_a_failed_login(tenants: TenantFactory, app: Any) -> None:
    with environment(LANTERN_LOGIN_FAILURES_PER_HOUR="2"):
        async with tenants.create() as acme:
            guesses = [(await delete_account(acme.client, f"guess {number}")).status_code for number in range(2)]
            async with ApiClient.for_app(app) as browser:
                login = await browser.post("/api/v1/auth/login", json={"email": acme.email, "password": PASSWORD})
            me = await acme.client.get("/api/v1/auth/me")
    assert guesses == [401, 401]
    assert login.status_code == 429, login.text  # the account-wide cap on failures is full
    assert me.status_code == 200, me.text


async def test_the_only_owner_of_an_organization_others_are_in_hands_it_over_first(
    tenants: TenantFactory, app: Any
) -> None:
    async with tenants.create("Acme Corp") as acme, member_of(acme, app) as member:
        refused = await delete_account(acme.client)
        assert refused.status_code == 409, refused.text
        assert "Acme Corp" in refused.json()["message"]
        members = data(await acme.client.get("/api/v1/organization/members"))
        [theirs] = [m["id"] for m in members if m["userId"] != acme.user_id]
        data(await acme.client.patch(f"/api/v1/organization/members/{theirs}", json={"role": "owner"}))
        deleted = await delete_account(acme.client)
        assert deleted.status_code == 204, deleted.text
        organization = data(await member.get("/api/v1/organization"))
        assert organization["name"] == "Acme Corp"
        assert [m["id"] for m in data(await member.get("/api/v1/organization/members"))] == [theirs]


# What deleting an account may change of an organization it leaves: the rows that named the person.
NAMED_THE_PERSON = {
    "membership",
    "invitation",
    "user_account",
    "report",
    "report_comment",
    "report_change",
    "api_token",
}
NAMED_BY_EVENTS = {"webhook_delivery"}  # the unassignments, heard
# The worker sends the organizations' e-mails (invitations) meanwhile, and records each attempt on its row.
SENDING_COLUMNS = {"status", "attempts", "next_attempt_at", "error", "sent_at", "updated_at"}


async def rows_but_sending(database: AsyncEngine, organization_id: str) -> dict[str, list[dict[str, Any]]]:
    """The organization's rows (`tenant_rows`), its e-mails without what the worker records of sending them."""
    rows = await tenant_rows(database, organization_id)
    rows["outgoing_email"] = [
        {column: value for column, value in row.items() if column not in SENDING_COLUMNS}
        for row in rows["outgoing_email"]
    ]
    return rows


async def test_an_account_deleted_takes_its_own_organization_and_leaves_the_others(
    tenants: TenantFactory, app: Any
) -> None:
    async with (
        tenants.create("Solo") as ada,
        tenants.create("Team") as team,
        tenants.create("Bystander") as bystander,
        owner_engine() as database,
        running_worker(),
    ):
        await report_with_files(ada, (await ada.create_project("Own shop"))["apiKey"])
        assert stored(ada.organization_id)
        await invite(team, app, "admin", ada.email)
        await invite(bystander, app, "member")  # someone else, in another organization
        shop = await team.create_project("Shop")
        hook = data(await team.client.post("/api/v1/webhooks", json=HOOK), 201)
        theirs = await assigned_report(team, shop, ada.user_id)
        await switch(ada, team.organization_id)
        comment = data(await ada.client.post(f"/api/v1/reports/{theirs}/comments", json={"text": "On it"}), 201)
        token = (await ada.create_token("CI"))["token"]
        async with ApiClient.for_app(app) as elsewhere:
            data(await elsewhere.post("/api/v1/auth/login", json={"email": ada.email, "password": PASSWORD}))
            before = await rows_but_sending(database, team.organization_id)
            bystanders = await rows_but_sending(database, bystander.organization_id)

            deleted = await delete_account(ada.client)
            assert deleted.status_code == 204, deleted.text

            assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401  # every session ends
        assert (await ada.client.get("/api/v1/auth/me")).status_code == 401
        await until_stored(set(), ada.organization_id)
        async with ApiClient.for_app(app) as again:
            login = await again.post("/api/v1/auth/login", json={"email": ada.email, "password": PASSWORD})
            assert login.status_code == 401, login.text
            signup = {"email": ada.email, "password": PASSWORD, "name": "Ada", "organization": {"name": "Solo"}}
            assert (await again.post("/api/v1/auth/signup", json=signup)).status_code == 201

        assert data(await team.client.get(f"/api/v1/reports/{theirs}"))["assigneeId"] is None
        assert (theirs, {"assigneeId": [ada.user_id, None]}) in await told(team, hook["id"])
        [kept] = data(await team.client.get(f"/api/v1/reports/{theirs}/comments"))
        assert (kept["id"], kept["text"], kept["authorId"], kept["authorTokenId"]) == (
            comment["id"],
            "On it",
            None,
            None,
        )
        page = await team.client.get(f"/ui/reports/{theirs}")
        assert page.text.count("A deleted account") == 2  # the comment, and the unassignment in the history
        assert await rows_but_sending(database, bystander.organization_id) == bystanders
        after = await rows_but_sending(database, team.organization_id)
        untouched = set(before) - NAMED_THE_PERSON - NAMED_BY_EVENTS
        assert {name: after[name] for name in untouched} == {name: before[name] for name in untouched}
        for name, column in (("membership", "user_id"), ("invitation", "user_id"), ("user_account", "id")):
            assert after[name] == [row for row in before[name] if str(row[column]) != ada.user_id]
        for name, column in (
            ("report", "assignee_id"),
            ("report_comment", "author_id"),
            ("api_token", "created_by_id"),
        ):
            unnamed = [{**row, column: None} if str(row[column]) == ada.user_id else row for row in before[name]]
            assert [{**row, "updated_at": None} for row in after[name]] == [
                {**row, "updated_at": None} for row in unnamed
            ], name
        async with ApiClient.for_app(app, headers={"Authorization": f"Bearer {token}"}) as program:
            assert (await program.get("/api/v1/reports")).status_code == 200  # the organization's token stays


async def test_the_last_operator_keeps_their_account_and_another_deletes_theirs(app: Any) -> None:
    """The server would be left with no one to run it."""
    users = metadata.tables["user_account"]
    emails = [f"operator-{secrets.token_hex(4)}@example.com" for _ in range(2)]
    first, second = [
        await create_admin(email=email, password=PASSWORD, organization_name="Ops", name="Ops", operator=True)
        for email in emails
    ]
    async with owner_engine() as database:
        async with database.begin() as connection:  # the suite's other operators step aside for this test
            others = users.c.is_superuser & users.c.id.not_in([first.id, second.id])
            demoted = (
                (await connection.execute(update(users).where(others).values(is_superuser=False).returning(users.c.id)))
                .scalars()
                .all()
            )
        try:
            answers = []
            for email in emails:
                async with ApiClient.for_app(app) as operator:
                    data(await operator.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
                    await operator.ensure_csrf()
                    answers.append(await delete_account(operator))
        finally:
            async with database.begin() as connection:
                await connection.execute(update(users).where(users.c.id.in_(demoted)).values(is_superuser=True))
    assert answers[0].status_code == 204, answers[0].text
    assert answers[1].status_code == 409, answers[1].text
    assert "last operator" in answers[1].json()["message"]


async def test_someone_removed_from_their_only_organization_loses_the_account_and_may_sign_up_again(
    tenants: TenantFactory, app: Any, anonymous: ApiClient
) -> None:
    """Removed from their only organization, a person's login answered 403 ("does not belong to any organization")
    and their address could not sign up again (409), as an invitee's removed before accepting could not: the
    account goes, as when the organization is deleted; their comment stays with no author. Someone in another
    organization keeps theirs."""
    async with tenants.create() as acme, tenants.create("Other") as other:
        shop = await acme.create_project("Shop")
        report_id = str((await report(acme.client, shop["apiKey"], "Checkout button does nothing"))["id"])
        joined, pending = await invited_by_api(acme), await invited_by_api(acme)
        elsewhere_id = data(
            await acme.client.post("/api/v1/organization/members", json={"email": other.email, "role": "member"}), 201
        )["member"]["id"]
        async with ApiClient.for_app(app) as mia:
            token = joined["invitationToken"]
            data(await mia.post("/api/v1/auth/invitations/accept", json={"token": token, "password": PASSWORD}))
            await mia.ensure_csrf()
            data(await mia.post(f"/api/v1/reports/{report_id}/comments", json={"text": "Seen on Safari too"}), 201)
            for member in (joined["member"], pending["member"], {"id": elsewhere_id}):
                removed = await acme.client.delete(f"/api/v1/organization/members/{member['id']}")
                assert removed.status_code == 204, removed.text
            assert (await mia.get("/api/v1/auth/me")).status_code == 401  # the session ended with the account
        for member in (joined["member"], pending["member"]):
            login = {"email": member["email"], "password": PASSWORD}
            assert (await anonymous.post("/api/v1/auth/login", json=login)).status_code == 401
            again = {**login, "name": "Again", "organization": {"name": f"Own {secrets.token_hex(2)}"}}
            async with ApiClient.for_app(app) as newcomer:
                data(await newcomer.post("/api/v1/auth/signup", json=again), 201)
        [comment] = data(await acme.client.get(f"/api/v1/reports/{report_id}/comments"))
        assert comment["text"] == "Seen on Safari too"
        assert (comment["authorId"], comment["authorTokenId"]) == (None, None), comment
        assert (await other.client.get("/api/v1/auth/me")).status_code == 200
