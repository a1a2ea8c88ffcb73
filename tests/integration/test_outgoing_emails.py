"""No e-mail is lost when its queued job is: each is a row written with the change that calls for it, and the sweeper
queues it again when the queue lost its job (a Redis restart, a worker killed mid-job).

- An invitation whose job the queue lost is sent once the sweeper runs.
- A slow worker and the sweeper racing send it once: the attempt claims its row as webhook deliveries do, for as
  long as a mail server may take.
- A mail server out of reach is tried again later, and given up on after the last attempt.
- An organization's job reads none of another's e-mails.
- Sent e-mails and old password resets are forgotten after the retention.
- The e-mails that pods of the former version queue during a rollout (no row, what they are written from in the
  job) are recorded and sent all the same.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from sqlalchemy import delete, select, text, update

from app.domain.accounts.models import PasswordReset
from app.domain.emails.models import MailStatus, OutgoingEmail
from app.domain.emails.services import MAX_ATTEMPTS, RETENTION_DAYS
from app.lib.database import alchemy_config
from app.lib.mail import SMTP_EXCHANGE_SECONDS
from app.lib.queue import job_queue
from app.lib.redis import get_redis
from app.lib.sealing import seal
from app.lib.security import digest
from tenants.context import system_scope, tenant_scope
from tests.integration.test_concurrent_changes import until_waiting
from tests.integration.test_organization import invitation_id_of
from tests.support.admin_ui import report
from tests.support.clients import ApiClient, Tenant, TenantFactory
from tests.support.environment import environment
from tests.support.isolation import member_of, owner_engine
from tests.support.mailbox import Mailbox, link_in, receiving_mail
from tests.support.server import free_port
from tests.support.worker import lose_jobs, queued_jobs, running_worker
from workers.jobs import send_invitation_email, sweep_outbound_work

MEMBERS = "/api/v1/organization/members"
QUEUED_SECONDS = 15.0


async def _invite(tenant: Tenant) -> tuple[str, UUID]:
    """An invitation to a new address, while no worker runs: the address, and its e-mail's row."""
    address = f"invited-{secrets.token_hex(4)}@example.com"
    invited = await tenant.client.post(MEMBERS, json={"email": address})
    assert invited.status_code == 201, invited.text
    invitation_id = await invitation_id_of(tenant.organization_id, invited.json()["data"]["member"]["userId"])
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            topic = f"invitation-mail:{invitation_id}"
            email_id = await session.scalar(select(OutgoingEmail.id).where(OutgoingEmail.topic == topic))
    assert email_id is not None
    return address, email_id


async def _email(tenant: Tenant, email_id: UUID) -> OutgoingEmail:
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session:
            return await session.get_one(OutgoingEmail, email_id)


async def _change(tenant: Tenant, email_id: UUID, **values: Any) -> None:
    with tenant_scope(UUID(tenant.organization_id)):
        async with alchemy_config().get_session() as session, session.begin():
            await session.execute(update(OutgoingEmail).where(OutgoingEmail.id == email_id).values(**values))


async def _jobs_of(email_id: UUID, attempt: str = "") -> list[str]:
    """The e-mail's jobs in the queue (of one attempt, if given), once there is one (the enqueue after a commit runs
    beside its caller)."""
    for _ in range(int(QUEUED_SECONDS / 0.05)):
        if found := await queued_jobs("send_invitation_email", naming=f"{email_id}{attempt}"):
            return found
        await asyncio.sleep(0.05)
    msg = f"no job of e-mail {email_id} was queued within {QUEUED_SECONDS} s"
    raise AssertionError(msg)


def _long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


async def test_an_invitation_whose_job_was_lost_is_sent_once_the_sweeper_runs(tenants: TenantFactory) -> None:
    """Its job was the only record of the e-mail: lost with Redis, the invitation was never mailed, and nothing
    said so."""
    with receiving_mail() as mailbox:
        async with tenants.create() as tenant:
            address, email_id = await _invite(tenant)
            await lose_jobs(await _jobs_of(email_id))
            await _change(tenant, email_id, next_attempt_at=_long_ago())  # long overdue, as a lost job's is
            assert await sweep_outbound_work({}) >= 1
            async with running_worker():
                message = await mailbox.wait_for(address)
            sent = await _email(tenant, email_id)
    assert "/ui/invitations/accept?token=lt_inv_" in message.get_content()
    assert (sent.status, sent.attempts, sent.error) == (MailStatus.SENT.value, 1, None)
    assert sent.sent_at is not None
    assert len(mailbox.to(address)) == 1


async def test_a_slow_worker_and_the_sweeper_racing_send_the_invitation_once(
    tenants: TenantFactory, is_postgres: bool
) -> None:
    """A worker slow to take its e-mail (its job still held in the queue's claim) while the sweeper queues the
    e-mail again: the two jobs are stopped at the e-mail's row (the test holds it), then let go together, and only
    the one that claims it first sends it. (PostgreSQL only: SQLite writes one transaction at a time.)"""
    if not is_postgres:
        pytest.skip("SQLite writes one transaction at a time")
    with receiving_mail() as mailbox:
        async with tenants.create() as tenant:
            address, email_id = await _invite(tenant)
            await _jobs_of(email_id)
            await _change(tenant, email_id, next_attempt_at=_long_ago())
            async with owner_engine() as engine, engine.connect() as holding:
                await holding.execute(text("SELECT id FROM outgoing_email WHERE id = :id FOR UPDATE"), {"id": email_id})
                # No sweeper of the worker's own: this test's sweep is the one that races it.
                async with running_worker(cron_jobs=[]):
                    await until_waiting(holding, [], 1)  # the worker's job, at its claim
                    assert await sweep_outbound_work({}) == 1  # a job held by a worker is no job waiting
                    await until_waiting(holding, [], 2)  # the sweeper's job, at its claim too
                    await holding.commit()
                    await mailbox.wait_for(address)
                # Leaving the block waits for both jobs to end.
            sent = await _email(tenant, email_id)
    assert len(mailbox.to(address)) == 1
    assert (sent.status, sent.attempts) == (MailStatus.SENT.value, 1)


class _SlowMailbox(Mailbox):
    """A mail server that takes the message's text, then answers only once the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving, self.answer = threading.Event(), threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.receiving.set()
        await asyncio.to_thread(self.answer.wait, QUEUED_SECONDS)
        return await super().handle_DATA(server, session, envelope)


async def test_an_email_is_held_for_as_long_as_the_mail_server_may_take(tenants: TenantFactory) -> None:
    """smtplib waits up to its timeout at each step of the exchange: held only for one outbound request's timeout
    (40 s), a slow mail server's e-mail was taken as lost mid-exchange, queued again by the sweeper, and sent twice."""
    mailbox = _SlowMailbox()
    with receiving_mail(mailbox=mailbox):
        async with tenants.create() as tenant:
            address, email_id = await _invite(tenant)
            job = {"organization_id": tenant.organization_id, "email_id": str(email_id)}
            sending = asyncio.create_task(send_invitation_email({"job_id": "slow"}, **job))
            try:
                assert await asyncio.to_thread(mailbox.receiving.wait, QUEUED_SECONDS)
                held = await _email(tenant, email_id)
            finally:
                mailbox.answer.set()
            assert await sending is True
    assert held.next_attempt_at is not None
    assert held.next_attempt_at - datetime.now(UTC) > timedelta(seconds=SMTP_EXCHANGE_SECONDS)
    assert len(mailbox.to(address)) == 1


async def test_a_mail_server_out_of_reach_is_tried_again_later_and_given_up_on_after_the_last_attempt(
    tenants: TenantFactory,
) -> None:
    closed = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port()), "SMTP_STARTTLS": "false", "SMTP_USER": None}
    with environment(**closed, LANTERN_OUTBOUND_RETRY_SECONDS="60"):
        async with tenants.create() as tenant:
            _address, email_id = await _invite(tenant)
            job = {"organization_id": tenant.organization_id, "email_id": str(email_id)}
            assert await send_invitation_email({"job_id": "first-attempt"}, **job) is False
            retried = await _email(tenant, email_id)
            assert (retried.status, retried.attempts) == (MailStatus.PENDING.value, 1)
            assert "ConnectionRefusedError" in (retried.error or ""), retried.error
            assert retried.next_attempt_at is not None
            assert retried.next_attempt_at - datetime.now(UTC) > timedelta(seconds=50)  # the schedule's first wait
            assert await _jobs_of(email_id, ":1") == [f"{retried.topic}:{email_id}:1"]

            await _change(tenant, email_id, attempts=MAX_ATTEMPTS - 1, next_attempt_at=datetime.now(UTC))
            assert await send_invitation_email({"job_id": "last-attempt"}, **job) is False
            failed = await _email(tenant, email_id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == (MailStatus.FAILED.value, MAX_ATTEMPTS, None)
    assert "ConnectionRefusedError" in (failed.error or "")
    assert await queued_jobs("send_invitation_email", naming=f"{email_id}:{MAX_ATTEMPTS}") == []


async def test_an_organizations_job_sends_none_of_anothers_emails(tenants: TenantFactory) -> None:
    """A job carries its tenant: naming another organization's e-mail, it finds none, sends nothing and counts no
    attempt; the e-mail's own organization's job sends it."""
    with receiving_mail() as mailbox:
        async with tenants.create("Acme") as acme, tenants.create("Globex") as globex:
            address, email_id = await _invite(acme)
            foreign = {"organization_id": globex.organization_id, "email_id": str(email_id)}
            assert await send_invitation_email({"job_id": "foreign"}, **foreign) is False
            untouched = await _email(acme, email_id)
            assert (untouched.status, untouched.attempts) == (MailStatus.PENDING.value, 0)
            with tenant_scope(UUID(globex.organization_id)):
                async with alchemy_config().get_session() as session:
                    assert await session.get(OutgoingEmail, email_id) is None
            own = {"organization_id": acme.organization_id, "email_id": str(email_id)}
            assert await send_invitation_email({"job_id": "own"}, **own) is True
    assert [message["To"] for message in mailbox.messages] == [address]


async def test_sent_emails_and_old_password_resets_are_forgotten_after_the_retention(
    tenants: TenantFactory, anonymous: ApiClient
) -> None:
    old = datetime.now(UTC) - timedelta(days=RETENTION_DAYS + 1)
    async with tenants.create() as tenant:
        _address, sent_id = await _invite(tenant)
        _address, pending_id = await _invite(tenant)
        await _change(tenant, sent_id, status=MailStatus.SENT.value, created_at=old)
        await _change(tenant, pending_id, created_at=old, next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
        asked = await anonymous.post("/api/v1/auth/password-reset", json={"email": tenant.email})
        assert asked.status_code == 202, asked.text
        async with alchemy_config().get_session() as session, session.begin():
            reset = select(PasswordReset.id).where(PasswordReset.user_id == UUID(tenant.user_id))
            reset_id = await session.scalar(reset)
            expired = {"status": MailStatus.SENT.value, "expires_at": old}
            await session.execute(update(PasswordReset).where(PasswordReset.id == reset_id).values(**expired))
        await sweep_outbound_work({})
        with system_scope("read what the sweeper left"):
            async with alchemy_config().get_session() as session:
                left = set(
                    await session.scalars(select(OutgoingEmail.id).where(OutgoingEmail.id.in_([sent_id, pending_id])))
                )
                assert await session.get(PasswordReset, reset_id) is None
    assert left == {pending_id}


async def test_emails_the_former_version_queued_are_recorded_and_sent(
    tenants: TenantFactory, anonymous: ApiClient, app: Any
) -> None:
    """During a rollout the former version's pods queue e-mails as it did: no row, and the invitation's or reset's
    drawn token sealed in the job. This version's worker took such a job for a failure (arguments it did not know),
    and the e-mail was lost; it records it and sends it."""
    with receiving_mail() as mailbox:
        async with tenants.create() as tenant, member_of(tenant, app) as member:
            assignee = (await member.get("/api/v1/auth/me")).json()["data"]["user"]
            project = await tenant.create_project("Shop")
            assigned = await report(tenant.client, project["apiKey"], "Checkout fails")
            await tenant.client.patch(f"/api/v1/reports/{assigned['id']}", json={"assigneeId": assignee["id"]})
            address = f"invited-{secrets.token_hex(4)}@example.com"
            invited = (await tenant.client.post(MEMBERS, json={"email": address})).json()["data"]
            invitation_id = await invitation_id_of(tenant.organization_id, invited["member"]["userId"])
            with tenant_scope(UUID(tenant.organization_id)):
                async with alchemy_config().get_session() as session, session.begin():
                    await session.execute(delete(OutgoingEmail))  # the former version recorded none
            asked = await anonymous.post("/api/v1/auth/password-reset", json={"email": tenant.email})
            assert asked.status_code == 202, asked.text
            drawn = f"lt_pwr_{secrets.token_urlsafe(32)}"
            async with alchemy_config().get_session() as session, session.begin():
                reset = select(PasswordReset.id).where(PasswordReset.user_id == UUID(tenant.user_id))
                reset_id = await session.scalar(reset)
                # As the former version's pods write a reset: its token drawn, its e-mail's columns their defaults.
                former = {"token_hash": digest(drawn), "status": MailStatus.SENT.value, "next_attempt_at": None}
                await session.execute(update(PasswordReset).where(PasswordReset.id == reset_id).values(**former))
            await get_redis().flushdb()  # this version's jobs: the former version queued these instead
            queue = job_queue()
            invitation = {"invitation_id": str(invitation_id), "sealed_token": seal(invited["invitationToken"])}
            await queue.enqueue(
                "send_invitation_email",
                f"invitation-mail:{invitation_id}",
                organization_id=tenant.organization_id,
                **invitation,
            )
            notice = {"kind": "assigned", "report_id": assigned["id"], "recipient_id": assignee["id"]}
            await queue.enqueue(
                "send_notification_email",
                f"notification:assigned:{assigned['id']}:{assignee['id']}",
                organization_id=tenant.organization_id,
                notice={**notice, "actor_id": tenant.user_id},
            )
            await queue.enqueue(
                "send_password_reset_email",
                f"password-reset:{reset_id}",
                user_id=tenant.user_id,
                sealed_token=seal(drawn),
                locale="en",
            )
            async with running_worker():
                invitation_mail = await mailbox.wait_for(address)
                reset_mail = await mailbox.wait_for(tenant.email)
                notification = await mailbox.wait_for(assignee["email"])
            confirmed = await anonymous.post(
                "/api/v1/auth/password-reset/confirm",
                json={
                    "token": parse_qs(urlsplit(link_in(reset_mail)).query)["token"][0],
                    "password": "a new long password",
                },
            )
    assert invited["invitationToken"] in invitation_mail.get_content()
    assert notification["Subject"].endswith("Assigned to you: Checkout fails")
    assert confirmed.status_code == 200, confirmed.text
