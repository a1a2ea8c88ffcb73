"""Webhooks' rules: where they may point, which events they take, and how their deliveries are attempted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import structlog
from litestar.status_codes import HTTP_410_GONE
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.projects.models import Project
from app.domain.webhooks import sender
from app.domain.webhooks.models import (
    BUGHERD_EVENTS,
    SUBSCRIBABLE,
    DeliveryStatus,
    DisabledReason,
    Event,
    Webhook,
    WebhookDelivery,
)
from app.domain.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.lib import outbound, retries
from app.lib.conditional import Precondition
from app.lib.errors import ErrorCode, FieldError, LanternError, Refusals
from app.lib.i18n import gettext as _
from app.lib.outbound import url_problem
from app.lib.paging import Paged, Window, page_of
from app.lib.queue import enqueue_after_commit
from app.lib.security import new_secret
from app.settings import get_settings
from tenants.context import require_tenant
from tenants.service import TenantRepository, TenantService

logger = structlog.get_logger()

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
DELIVERY_JOB = "deliver_webhook"
# Retries wait LANTERN_OUTBOUND_RETRY_SECONDS, then six times longer each time (see app/lib/retries.py): with
# the default 10 s, eight attempts span about 16 hours, long enough to outlast a receiver's bad deploy.
MAX_ATTEMPTS = 8
DELIVERIES_SHOWN = 100
# Finished deliveries are kept this long.
DELIVERY_RETENTION_DAYS = 30


def subscribed_events(names: list[str]) -> list[str]:
    """Our names of the events asked for (ours or BugHerd's), each once, in a fixed order."""
    known = {event.value: event for event in SUBSCRIBABLE} | BUGHERD_EVENTS
    listed = ", ".join(known)
    unknown = [
        FieldError(f"events[{index}]", _("Unknown event: %(name)s. Events: %(events)s.", name=name, events=listed))
        for index, name in enumerate(names)
        if name not in known
    ]
    if unknown:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=unknown)
    chosen = {known[name] for name in names}
    if not chosen:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("events", _("Choose at least one event."))])
    return [event.value for event in SUBSCRIBABLE if event in chosen]


def _checked_url(url: str, stored: str | None = None) -> str:
    """The URL without the spaces and line ends a paste brings around it, once it is one Lantern may call. Its
    password given as `********`, as the API answers it, is the one `stored` holds when the URL is otherwise the one
    answered, so that a webhook read and sent back whole keeps it; not elsewhere: an address moved to another host
    or path with it would hand the password to whoever moved it, as the delivery's `Authorization`."""
    url = url.strip()
    problem = url_problem(url)
    if problem is None and outbound.has_masked_password(url):
        if stored is None or outbound.password_masked(stored) != url:
            problem = _(
                "Give the password itself: ******** stands for the password Lantern already holds for this very "
                "address."
            )
        else:
            url = stored
    if problem is not None:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("url", problem)])
    return url


class WebhookService(TenantService[Webhook]):
    class Repo(TenantRepository[Webhook]):
        model_type = Webhook

    repository_type = Repo

    async def page(self, window: Window) -> Paged[Webhook]:
        """The webhooks, oldest first."""
        return await page_of(self.session, select(Webhook).order_by(Webhook.created_at, Webhook.id), window)

    async def add(self, data: WebhookCreate) -> tuple[Webhook, str]:
        """A new webhook and its secret. Its target, events and project are checked together: each refused one is
        named at once (a wrong target hid the events' refusal until it was fixed)."""
        secret = new_secret(SECRET_PREFIX)
        webhook = Webhook(secret=secret)
        refusals = Refusals()
        with refusals:
            webhook.url = _checked_url(data.url)
        with refusals:
            webhook.events = subscribed_events(data.events)
        with refusals:
            webhook.project_id = await self._checked_project(data.project_id)
        refusals.raise_any()
        return await self.create(webhook), secret

    async def change(
        self, webhook_id: UUID, changes: WebhookUpdate, precondition: Precondition[Webhook] | None = None
    ) -> Webhook:
        """The webhook with `changes` made. Its fields are checked together, as a new one's are: each refused one
        is named at once (and the transaction refused, nothing is changed). The webhook is held first, and
        `precondition` (a request's `If-Match`) awaited then, which may refuse the change."""
        webhook = await self.hold_row(Webhook.id == webhook_id)
        if precondition is not None:
            await precondition(webhook)
        refusals = Refusals()
        if not isinstance(changes.url, msgspec.UnsetType):
            with refusals:
                webhook.url = _checked_url(changes.url, webhook.url)
        if not isinstance(changes.events, msgspec.UnsetType):
            with refusals:
                webhook.events = subscribed_events(changes.events)
        if not isinstance(changes.project_id, msgspec.UnsetType):
            with refusals:
                webhook.project_id = await self._checked_project(changes.project_id)
        if not isinstance(changes.active, msgspec.UnsetType):
            if changes.active and isinstance(changes.url, msgspec.UnsetType):
                # An address taken where Lantern may call it (an imported organization's, the instance's setting
                # since changed) is not called here.
                with refusals:
                    _checked_url(webhook.url, webhook.url)  # its own password, whatever it is, stands
            webhook.active = changes.active
            webhook.disabled_reason = None
        refusals.raise_any()
        await self.session.flush()
        return webhook

    async def remove(self, webhook_id: UUID, precondition: Precondition[Webhook] | None = None) -> None:
        """Delete the webhook (another organization's is unknown here), held first: `precondition` is awaited
        then."""
        webhook = await self.hold_row(Webhook.id == webhook_id, deleting=True)
        if precondition is not None:
            await precondition(webhook)
        await self.session.delete(webhook)
        await self.session.flush()

    async def rotate(self, webhook_id: UUID) -> tuple[Webhook, str]:
        webhook = await self.get(webhook_id)
        webhook.secret = new_secret(SECRET_PREFIX)
        await self.session.flush()
        return webhook, webhook.secret

    async def _checked_project(self, project_id: UUID | None) -> UUID | None:
        """None (every project), or a project of this organization; another's is as unknown as none."""
        if project_id is None:
            return None
        if await self.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            message = _("No project with this ID exists in this organization.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("projectId", message)])
        return project_id


def _check_on(webhook: Webhook) -> None:
    """A webhook turned off sends nothing: asked to, it says so (a ping used to be accepted, then recorded as
    failed, an attempt counted, though nothing was sent)."""
    if not webhook.active:
        raise LanternError(ErrorCode.CONFLICT, _("This webhook is turned off: turn it on to send it anything."))


def event_payload(event: str, project_id: UUID | None, data: dict[str, Any]) -> dict[str, Any]:
    """What a delivery sends, but its id (see `delivery_body`): the event, when and where, and its data."""
    return {
        "event": event,
        "createdAt": msgspec.to_builtins(datetime.now(UTC)),  # as the API writes times: ...Z
        "organizationId": str(require_tenant()),
        "projectId": str(project_id) if project_id else None,
        "data": data,
    }


def delivery_body(delivery: WebhookDelivery) -> dict[str, Any]:
    """The JSON a target receives: the delivery's id first, so a receiver can drop a repeated delivery."""
    return {"id": str(delivery.id), **delivery.payload}


class DeliveryService(TenantService[WebhookDelivery]):
    class Repo(TenantRepository[WebhookDelivery]):
        model_type = WebhookDelivery

    repository_type = Repo

    async def recent(self, webhook_id: UUID, status: DeliveryStatus | None = None) -> list[WebhookDelivery]:
        """The latest deliveries (at most DELIVERIES_SHOWN), newest first; of one status only, if given (a failure
        among many deliveries stays findable, to send again)."""
        return list(await self.session.scalars(self._newest_first(webhook_id, status).limit(DELIVERIES_SHOWN)))

    async def page(self, webhook_id: UUID, status: DeliveryStatus | None, window: Window) -> Paged[WebhookDelivery]:
        """A page of the deliveries, newest first: every one, page after page."""
        return await page_of(self.session, self._newest_first(webhook_id, status), window)

    @staticmethod
    def _newest_first(webhook_id: UUID, status: DeliveryStatus | None) -> Select[tuple[WebhookDelivery]]:
        query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        if status is not None:
            query = query.where(WebhookDelivery.status == status.value)
        return query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())

    async def of_webhook(self, webhook_id: UUID, delivery_id: UUID) -> WebhookDelivery:
        return await self.get_one(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)

    async def redeliver(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """A new delivery of the same event and data (receivers tell deliveries apart by id)."""
        _check_on(await self.session.get_one(Webhook, delivery.webhook_id))
        return await self.queue(delivery.webhook_id, delivery.event, delivery.payload)

    async def ping(self, webhook: Webhook) -> WebhookDelivery:
        _check_on(webhook)
        payload = event_payload(Event.PING, webhook.project_id, {"webhookId": str(webhook.id)})
        return await self.queue(webhook.id, Event.PING, payload)

    async def queue(self, webhook_id: UUID, event: str, payload: dict[str, Any]) -> WebhookDelivery:
        """Store a delivery, due now; the worker is asked to send it once this transaction commits."""
        delivery = await self.create(
            WebhookDelivery(webhook_id=webhook_id, event=event, payload=payload, next_attempt_at=datetime.now(UTC)),
        )
        enqueue_after_commit(self.session, DELIVERY_JOB, delivery.job_id, delivery_id=str(delivery.id))
        return delivery

    async def attempt(self, delivery_id: UUID) -> str:
        """Send the delivery if it is due and nobody else is sending it; record the outcome, and queue the
        retry a failure earns. No transaction stays open while the target is called. Returns the status."""
        claimed = await retries.claim(
            self.session,
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id == delivery_id),
        )
        if claimed is None:
            return "not due"
        delivery, webhook = claimed
        if webhook.active:
            body = msgspec.json.encode(delivery_body(delivery))
            outcome = await sender.send(
                sender.Message(webhook.url, delivery.event, str(delivery.id), body), webhook.secret
            )
        else:
            outcome = outbound.Answer(None)
        failure = self._record(delivery, webhook, outcome)
        webhook_id = webhook.id  # read now: a failed commit leaves nothing loaded
        if not await retries.recorded(self.session):
            logger.info(
                "webhook delivery dropped: its webhook was deleted while it was sent",
                webhook_id=str(webhook_id),
                delivery_id=str(delivery_id),
            )
            return retries.DROPPED
        if failure is not None:
            _log_failure(delivery, *failure)
        return delivery.status

    def _record(
        self, delivery: WebhookDelivery, webhook: Webhook, outcome: outbound.Answer
    ) -> tuple[str, dict[str, object]] | None:
        """Write the outcome on the delivery (and on the webhook, which a 410 turns off), and queue the retry it
        earns once committed. Returns what the log is to say of a failure, its event and details, for once the
        outcome is recorded: a delivery that went with its webhook meanwhile is not to be retried after all."""
        now = datetime.now(UTC)
        if webhook.active:
            delivery.response_status = outcome.status
            delivery.error = outcome.error
        else:  # no call was made: the claim's count goes back, and the last answer (a 500, say) stays shown
            delivery.error = sender.WEBHOOK_OFF
            delivery.attempts -= 1
        delivery.next_attempt_at = None
        if outcome.succeeded:
            delivery.status = DeliveryStatus.DELIVERED.value
            delivery.delivered_at = now
            return None
        if outcome.status == HTTP_410_GONE:
            # The target asked never to be called again: no retry, and no delivery of later events.
            delivery.status = DeliveryStatus.FAILED.value
            webhook.active = False
            webhook.disabled_reason = DisabledReason.GONE.value
            return "webhook turned off: its target answered 410 Gone", {}
        if not webhook.active or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED.value
            return "webhook delivery failed for good", {}
        delay = retries.retry_delay(delivery.attempts, get_settings().outbound_retry_seconds, asked=outcome.asked_wait)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        enqueue_after_commit(
            self.session, DELIVERY_JOB, delivery.job_id, defer_seconds=delay, delivery_id=str(delivery.id)
        )
        return "webhook delivery failed, trying again later", {"retry_in_seconds": round(delay, 1)}


def _log_failure(delivery: WebhookDelivery, event: str, extra: dict[str, object]) -> None:
    """An operator reads why a receiver is not hearing from Lantern in the log, not only in the UI's delivery
    log. Its address is not written: it may carry a receiver's token."""
    logger.warning(
        event,
        webhook_id=str(delivery.webhook_id),
        delivery_id=str(delivery.id),
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        error=delivery.error,
        **extra,
    )


async def forget_old_deliveries(session: AsyncSession) -> int:
    """Finished deliveries go after the retention: the log shows recent ones."""
    cutoff = datetime.now(UTC) - timedelta(days=DELIVERY_RETENTION_DAYS)
    return await retries.forget_finished(session, WebhookDelivery, WebhookDelivery.created_at < cutoff)
