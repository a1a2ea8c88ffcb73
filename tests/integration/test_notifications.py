"""The person a report is assigned to hears of it by e-mail, and of comments on it while it is theirs: in their
language, never for what they did themselves, and not once they turn it off."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from tests.support.admin_ui import report
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.isolation import member_of
from tests.support.logs import json_lines
from tests.support.mailbox import link_in, receiving_mail
from tests.support.processes import worker_process
from tests.support.worker import running_worker


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_an_assignee_hears_of_the_assignment_and_of_comments_in_their_language(
    tenants: TenantFactory, app: Any, anonymous: ApiClient
) -> None:
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        me = (await member.patch("/api/v1/auth/me", json={"locale": "de"})).json()["data"]["user"]
        bot = {"Authorization": f"Bearer {(await tenant.create_token('CI bot'))['token']}"}
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails")
                path = f"/api/v1/reports/{created['id']}"
                # Their own doing is not news to them: taking the report, commenting on it.
                assert (await member.patch(path, json={"assigneeId": me["id"]})).status_code == 200
                assert (await member.post(f"{path}/comments", json={"text": "Mine."})).status_code == 201
                assert (await member.patch(path, json={"assigneeId": None})).status_code == 200
                # Given to them by someone else, then commented on by the owner and by an integration.
                assert (await tenant.client.patch(path, json={"assigneeId": me["id"]})).status_code == 200
                assigned = await mailbox.wait_for(me["email"])
                commented = await tenant.client.post(f"{path}/comments", json={"text": "Seen on iOS 18 too."})
                assert commented.status_code == 201
                await mailbox.wait_for_many(me["email"], 2)
                by_bot = await anonymous.post(f"{path}/comments", json={"text": "Build 812"}, headers=bot)
                assert by_bot.status_code == 201
                _assigned, by_owner, from_bot = await mailbox.wait_for_many(me["email"], 3)
        tracking_id = (await tenant.client.get(path)).json()["data"]["trackingId"]
    assert assigned["Subject"] == f"[{tracking_id}] Ihnen zugewiesen: Checkout fails"
    assert "Owner hat Ihnen einen Bericht in Shop zugewiesen:" in text_of(assigned)
    assert link_in(assigned) == f"/ui/reports/{tracking_id}"
    assert by_owner["Subject"] == f"[{tracking_id}] Neuer Kommentar: Checkout fails"
    assert "Seen on iOS 18 too." in text_of(by_owner)
    assert "API-Token „CI bot“" in text_of(from_bot)
    assert "/ui/profile" in text_of(from_bot)  # where to turn them off
    assert len(mailbox.to(me["email"])) == 3
    # The headers a mail server and a mail program expect of a robot's mail (it had none of these).
    assert assigned["List-Unsubscribe"].endswith("/ui/profile>")
    assert assigned["Auto-Submitted"] == "auto-generated"
    assert assigned["Date"]
    assert assigned["Message-ID"] != by_owner["Message-ID"]


async def test_no_mail_once_turned_off_nor_for_a_report_given_to_someone_else(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, member_of(tenant, app) as member, member_of(tenant, app) as other:
        project = await tenant.create_project("Shop")
        me = (await member.patch("/api/v1/auth/me", json={"emailNotifications": False})).json()["data"]["user"]
        assert me["emailNotifications"] is False
        someone = (await other.get("/api/v1/auth/me")).json()["data"]["user"]
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails")
                path = f"/api/v1/reports/{created['id']}"
                await tenant.client.patch(path, json={"assigneeId": me["id"]})
                await tenant.client.post(f"{path}/comments", json={"text": "Any news?"})
                # Reassigned: the new assignee hears of it, and the comments after it are theirs to hear.
                await tenant.client.patch(path, json={"assigneeId": someone["id"]})
                await mailbox.wait_for(someone["email"])
            # The worker finished what it had started: nothing went to the one who turned it off.
        assert mailbox.to(me["email"]) == []


async def test_no_mail_of_a_report_deleted_before_it_was_sent_and_its_jobs_end_done(
    tenants: TenantFactory, app: Any
) -> None:
    """The notices of an assignment and of a comment, queued while no worker ran, then their report deleted (its
    comment with it): nothing is left to tell, and each job ends as done, not failed."""
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await tenant.create_project("Shop")
        me = (await member.get("/api/v1/auth/me")).json()["data"]["user"]
        with receiving_mail() as mailbox:
            created = await report(tenant.client, project["apiKey"], "Checkout fails")
            path = f"/api/v1/reports/{created['id']}"
            assert (await tenant.client.patch(path, json={"assigneeId": me["id"]})).status_code == 200
            comment = await tenant.client.post(f"{path}/comments", json={"text": "Any news?"})
            assert comment.status_code == 201, comment.text
            assert (await tenant.client.delete(path)).status_code == 204
            async with worker_process({"LANTERN_LOG_LEVEL": "INFO"}) as process:
                ended = [
                    await process.job_ended(f"notification:assigned:{created['id']}:{me['id']}"),
                    await process.job_ended(f"notification:commented:{comment.json()['data']['id']}:{me['id']}"),
                ]
                log = process.output()
        assert [line["event"].endswith(":send_notification_email ● False") for line in ended] == [True, True], log
        assert not [line for line in json_lines(log) if "exception" in line], log
        # Other tests' organizations' invitations may be sent by this worker too.
        assert mailbox.to(me["email"]) == []


async def test_a_title_with_line_breaks_is_mailed_on_one_subject_line(tenants: TenantFactory, app: Any) -> None:
    """A reporter's title is part of the subject: its line breaks made no header (the mail was never sent), and
    never a header of its own."""
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        me = (await member.get("/api/v1/auth/me")).json()["data"]["user"]
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails\r\nBcc: someone@example.com")
                await tenant.client.patch(f"/api/v1/reports/{created['id']}", json={"assigneeId": me["id"]})
                assigned = await mailbox.wait_for(me["email"])
    assert assigned["Subject"].endswith("Assigned to you: Checkout fails Bcc: someone@example.com")
    assert assigned["Bcc"] is None
    # One mail to the assignee alone (the worker may send other tests' organizations' invitations meanwhile).
    assert len(mailbox.to(me["email"])) == 1
    assert "someone@example.com" not in mailbox.recipients


async def test_a_guest_assignee_is_not_mailed_the_teams_internal_notes(tenants: TenantFactory, app: Any) -> None:
    async with tenants.create() as tenant, member_of(tenant, app, "guest") as guest:
        project = await tenant.create_project("Shop", guestsSeeGuests=True)
        me = await _on_project(tenant, guest, project)
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails")
                path = f"/api/v1/reports/{created['id']}"
                assigned = await tenant.client.patch(path, json={"assigneeId": me["id"]})
                assert assigned.status_code == 200, assigned.text
                for text, internal in (("Do not promise a date.", True), ("We are on it.", False), ("Fixed.", False)):
                    commented = await tenant.client.post(f"{path}/comments", json={"text": text, "internal": internal})
                    assert commented.status_code == 201, commented.text
                mails = await mailbox.wait_for_many(me["email"], 3)
    bodies = [text_of(mail) for mail in mails]
    assert len(mailbox.to(me["email"])) == 3  # the assignment and the two comments for everyone
    assert not [body for body in bodies if "Do not promise a date." in body]


async def test_a_guest_reads_who_did_it_by_name_never_by_address(tenants: TenantFactory, app: Any) -> None:
    """A person without a name was named by their address, which guests read nowhere else."""
    async with (
        tenants.create() as tenant,
        member_of(tenant, app, "guest") as guest,
        member_of(tenant, app, "member") as nameless,
    ):
        project = await tenant.create_project("Shop", guestsSeeGuests=True)
        me = await _on_project(tenant, guest, project)
        member = (await nameless.get("/api/v1/auth/me")).json()["data"]["user"]
        assert member["name"] == ""
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails")
                path = f"/api/v1/reports/{created['id']}"
                assert (await nameless.patch(path, json={"assigneeId": me["id"]})).status_code == 200
                assert (await nameless.post(f"{path}/comments", json={"text": "On it."})).status_code == 201
                mails = await mailbox.wait_for_many(me["email"], 2)
    bodies = [text_of(mail) for mail in mails]
    assert [body for body in bodies if member["email"] in body] == []
    assert all(body.startswith("A team member ") for body in bodies), bodies


async def _on_project(tenant: Tenant, guest: ApiClient, project: dict[str, Any]) -> dict[str, Any]:
    """The guest's account, added to the project (a guest sees the projects they are added to alone)."""
    me: dict[str, Any] = (await guest.get("/api/v1/auth/me")).json()["data"]["user"]
    added = await tenant.client.post(f"/api/v1/projects/{project['id']}/members", json={"userId": me["id"]})
    assert added.status_code in {200, 201}, added.text
    return me


async def test_a_comment_written_for_someone_is_theirs_in_the_assignees_mail(
    tenants: TenantFactory, app: Any, anonymous: ApiClient
) -> None:
    """An integration's comment for one of the organization's people (BugHerd's `email`) names that person, and
    one written for the assignee themselves is not news to them."""
    async with tenants.create() as tenant, member_of(tenant, app) as member:
        project = await tenant.create_project("Shop", trackingPrefix="SHP")
        me = (await member.get("/api/v1/auth/me")).json()["data"]["user"]
        bot = {"Authorization": f"Bearer {(await tenant.create_token('BugHerd sync'))['token']}"}
        with receiving_mail() as mailbox:
            async with running_worker():
                created = await report(tenant.client, project["apiKey"], "Checkout fails")
                path = f"/api/v1/reports/{created['id']}"
                assert (await tenant.client.patch(path, json={"assigneeId": me["id"]})).status_code == 200
                await mailbox.wait_for(me["email"])
                for author, text in ((me["email"], "Her own words"), (tenant.email, "The owner's words")):
                    body = {"comment": {"text": text, "email": author}}
                    commented = await anonymous.post(f"{path}/comments", json=body, headers=bot)
                    assert commented.status_code == 201, commented.text
                _assigned, by_owner = await mailbox.wait_for_many(me["email"], 2)
        assert len(mailbox.to(me["email"])) == 2
    assert "Owner commented on a report assigned to you in Shop:" in text_of(by_owner)
    assert "The owner's words" in text_of(by_owner)
