"""HTTP for webhooks: managed by the organization's owners and admins, with each one's delivery log."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.webhooks import schemas
from app.domain.webhooks.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from app.domain.webhooks.sender import error_message
from app.domain.webhooks.services import DeliveryService, WebhookService, delivery_body
from app.lib import jsonapi
from app.lib.asgi import JSONAPI_QUERY
from app.lib.conditional import TAGGED, require_preconditions
from app.lib.errors import ErrorCode, sent_twice
from app.lib.jsonapi import MEDIA_TYPE, PLAIN_DESCRIPTION
from app.lib.openapi import documented_body, either_spelling, jsonapi_body, may_answer, one_of
from app.lib.outbound import password_masked
from app.lib.paging import PAGES_DESCRIPTION, ListAnswer, Window, page_or_document, provide_window
from app.lib.schema import LOCATION, AsSent, Envelope, convert_body, created, extended, ok, refusals_named_as_sent
from tenants.guards import requires_manager


async def provide_webhooks(db_session: NamedDependency[AsyncSession]) -> WebhookService:
    return WebhookService(session=db_session)


async def provide_deliveries(db_session: NamedDependency[AsyncSession]) -> DeliveryService:
    return DeliveryService(session=db_session)


def webhook_read(webhook: Webhook) -> schemas.WebhookRead:
    return schemas.WebhookRead(
        id=webhook.id,
        url=password_masked(webhook.url),  # write-only, as its signing secret is
        events=list(webhook.events),
        project_id=webhook.project_id,
        active=webhook.active,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def with_secret(webhook: Webhook, secret: str) -> schemas.WebhookWithSecret:
    return extended(webhook_read(webhook), schemas.WebhookWithSecret, secret=secret)


def delivery_read(delivery: WebhookDelivery) -> schemas.DeliveryRead:
    return schemas.DeliveryRead(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        event=Event(delivery.event),
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        error=error_message(delivery.error) if delivery.error else None,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        payload=delivery_body(delivery),
    )


def _creation(sent: AsSent) -> schemas.WebhookCreate:
    """Our body, or BugHerd's (`target_url`, one `event`, `project_id`)."""
    if _from_bugherd(sent):
        return convert_body(sent, schemas.BugherdWebhook).native()
    return convert_body(sent, schemas.WebhookCreate)


def _in_our_names(sent: AsSent) -> AsSent:
    """`sent` with BugHerd's names of a webhook's fields (`target_url`, its one `event`) as ours, each still named
    where it was sent. A field sent under two of its names (`url` and `target_url`, `events` and `event`,
    `target_url` and `targetUrl`) is refused naming both (`sent_twice`): one was dropped, or refused as a field
    "not allowed"."""
    for ours in dict.fromkeys(schemas.BUGHERD_NAMES.values()):
        names = [ours, *(name for name, field in schemas.BUGHERD_NAMES.items() if field == ours)]
        if len(sent_as := [name for name in names if name in sent.fields]) > 1:
            raise sent_twice(sent.path(sent_as[0]), sent.path(sent_as[1]))
    renamed = sent.renamed(schemas.BUGHERD_NAMES)
    if "event" not in sent.fields:
        return renamed
    renamed.fields["events"] = [renamed.fields["events"]]
    return renamed.one_for_list("events")


async def _answer(
    request: Request[Any, Any, Any], webhook: Webhook
) -> Envelope[schemas.WebhookRead] | Response[dict[str, Any]]:
    """A webhook as its GET answers it, natively or as a JSON:API document: a change answers it so too, and its
    conditions (`If-Match`) name this answer's tag."""
    return jsonapi.native_or_document(request, "webhook", webhook_read(webhook), kind=schemas.WebhookRead)


def _queued(delivery: WebhookDelivery) -> Response[Envelope[schemas.DeliveryRead]]:
    """A delivery just queued, and the address it is read at (`GetWebhookDelivery`)."""
    return created(delivery_read(delivery), f"/api/v1/webhooks/{delivery.webhook_id}/deliveries/{delivery.id}")


def _from_bugherd(sent: AsSent) -> bool:
    return "target_url" in sent.fields or "targetUrl" in sent.fields


DELIVERY_LIST_RULES = jsonapi.plain_list_rules("delivery", kind=schemas.DeliveryRead)


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["Webhooks"]
    guards = [requires_manager]
    dependencies = {
        "webhooks": Provide(provide_webhooks),
        "deliveries": Provide(provide_deliveries),
        "window": Provide(provide_window),
    }

    @get(
        "/",
        operation_id="ListWebhooks",
        description=f"The webhooks, oldest first. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}",
    )
    async def list_webhooks(
        self,
        request: Request[Any, Any, Any],
        webhooks: NamedDependency[WebhookService],
        window: NamedDependency[Window],
    ) -> ListAnswer[schemas.WebhookRead]:
        found = await webhooks.page(window)
        reads = [webhook_read(webhook) for webhook in found.items]
        return page_or_document(request, "webhook", reads, found.total, window, kind=schemas.WebhookRead)

    @post(
        "/",
        operation_id="CreateWebhook",
        status_code=HTTP_201_CREATED,
        operation_class=documented_body(
            {
                "application/json": one_of(
                    either_spelling(schemas.WebhookCreate),
                    either_spelling(schemas.BugherdWebhook),
                ),
                MEDIA_TYPE: jsonapi_body(schemas.WebhookCreate, "webhook", made=True),
            },
            'Also BugHerd\'s body: `{"target_url", "event": "task_create", "project_id"}`, or a JSON:API '
            "document's `data.attributes`.",
        ),
        response_headers=LOCATION,
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]], webhooks: NamedDependency[WebhookService]
    ) -> jsonapi.CreatedOrDocument[schemas.WebhookWithSecret]:
        """A webhook for some events of every project, or of one (`projectId`); its signing secret is
        shown in this answer only."""
        sent = await jsonapi.body_as_sent(request, data, "webhook")
        ours = _in_our_names(sent)  # a field sent in both forms, refused before either reads the body
        creation = _creation(sent)
        with refusals_named_as_sent(ours, schemas.WebhookCreate):  # an address or an event it refuses
            webhook, secret = await webhooks.add(creation)
        location = f"/api/v1/webhooks/{webhook.id}"
        read = with_secret(webhook, secret)
        return jsonapi.created_or_document(request, "webhook", read, kind=schemas.WebhookWithSecret, location=location)

    @get("/{webhook_id:uuid}", operation_id="GetWebhook", etag=TAGGED, description=PLAIN_DESCRIPTION)
    async def show(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[UUID], webhooks: NamedDependency[WebhookService]
    ) -> Envelope[schemas.WebhookRead] | Response[dict[str, Any]]:
        return await _answer(request, await webhooks.get(webhook_id))

    @patch(
        "/{webhook_id:uuid}",
        operation_id="UpdateWebhook",
        etag=TAGGED,
        operation_class=documented_body(
            {"application/json": schemas.change_schema(), MEDIA_TYPE: jsonapi_body(schemas.WebhookUpdate, "webhook")},
            "The fields to change; events in our names or BugHerd's, and BugHerd's names of the fields as a new "
            "webhook takes them (`target_url`, one `event`). Also as a JSON:API document's `data.attributes`.",
        ),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[UUID],
        data: JSONBody[dict[str, Any]],
        webhooks: NamedDependency[WebhookService],
    ) -> Envelope[schemas.WebhookRead] | Response[dict[str, Any]]:
        """Change the target, the events or the project; `active: true` turns a webhook back on."""
        sent = _in_our_names(
            await jsonapi.body_as_sent(request, data, "webhook", names_resource=jsonapi.same_id(webhook_id))
        )
        changes = convert_body(sent, schemas.WebhookUpdate)
        answer = partial(_answer, request)
        with refusals_named_as_sent(sent, schemas.WebhookUpdate):  # an address or an event it refuses
            webhook = await webhooks.change(webhook_id, changes, partial(require_preconditions, request, answer))
        return await answer(webhook)

    @delete("/{webhook_id:uuid}", operation_id="DeleteWebhook", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self, request: Request[Any, Any, Any], webhook_id: FromPath[UUID], webhooks: NamedDependency[WebhookService]
    ) -> None:
        await webhooks.remove(webhook_id, partial(require_preconditions, request, partial(_answer, request)))

    @post("/{webhook_id:uuid}/secret", operation_id="RotateWebhookSecret", status_code=HTTP_200_OK)
    async def rotate(
        self, webhook_id: FromPath[UUID], webhooks: NamedDependency[WebhookService]
    ) -> Envelope[schemas.WebhookWithSecret]:
        """A new signing secret, shown in this answer only; deliveries sent from now on are signed with it."""
        webhook, secret = await webhooks.rotate(webhook_id)
        return ok(with_secret(webhook, secret))

    @post(
        "/{webhook_id:uuid}/ping",
        operation_id="PingWebhook",
        status_code=HTTP_201_CREATED,
        responses=may_answer(ErrorCode.CONFLICT),  # a webhook turned off
        response_headers=LOCATION,
    )
    async def ping(
        self,
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
    ) -> Response[Envelope[schemas.DeliveryRead]]:
        """Send a `ping` event now, to try the target; `Location` is where its delivery is read."""
        return _queued(await deliveries.ping(await webhooks.get(webhook_id)))

    @get(
        "/{webhook_id:uuid}/deliveries",
        operation_id="ListWebhookDeliveries",
        opt={JSONAPI_QUERY: DELIVERY_LIST_RULES},
        description=(
            "The deliveries, newest first; `?status=failed` (or `pending`, `delivered`) lists those only. "
            f"{PAGES_DESCRIPTION} In JSON:API mode, every one too, by `page[limit]` and `page[offset]` (no `sort`: "
            f"newest first). {PLAIN_DESCRIPTION}"
        ),
    )
    async def list_deliveries(  # noqa: PLR0913 - the request, the webhook, its page and the services they touch
        self,
        *,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
        window: NamedDependency[Window],
        status: FromQuery[DeliveryStatus | None] = None,
    ) -> ListAnswer[schemas.DeliveryRead]:
        """What was sent, and what came of it."""
        webhook = await webhooks.get(webhook_id)
        if window.whole:  # JSON:API mode: paged by the database too (a month of deliveries is too many to read whole)
            query, resource = jsonapi.plain_list_query(request, DELIVERY_LIST_RULES, kind=schemas.DeliveryRead)
            window = Window.at(query.offset or 0, query.limit)
            found = await deliveries.page(webhook.id, status, window)
            resources = [resource(delivery_read(delivery)) for delivery in found.items]
            return jsonapi.document_response(
                jsonapi.WholeList.sliced(request, query, resources, found.total).document(query)
            )
        found = await deliveries.page(webhook.id, status, window)
        reads = [delivery_read(delivery) for delivery in found.items]
        return page_or_document(request, "delivery", reads, found.total, window, kind=schemas.DeliveryRead)

    @get(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}",
        operation_id="GetWebhookDelivery",
        description=f"One delivery, by the id its receiver got as `X-Lantern-Delivery`. {PLAIN_DESCRIPTION}",
    )
    async def show_delivery(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
        deliveries: NamedDependency[DeliveryService],
    ) -> Envelope[schemas.DeliveryRead] | Response[dict[str, Any]]:
        """What was sent, and what came of it: a receiver looked a delivery up by paging through the list."""
        read = delivery_read(await deliveries.of_webhook(webhook_id, delivery_id))
        return jsonapi.native_or_document(request, "delivery", read, kind=schemas.DeliveryRead)

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        operation_id="RedeliverWebhook",
        status_code=HTTP_201_CREATED,
        responses=may_answer(ErrorCode.CONFLICT),  # a webhook turned off
        response_headers=LOCATION,
    )
    async def redeliver(
        self,
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
        deliveries: NamedDependency[DeliveryService],
    ) -> Response[Envelope[schemas.DeliveryRead]]:
        """Send a delivery's event again, as a new delivery; `Location` is where it is read."""
        return _queued(await deliveries.redeliver(await deliveries.of_webhook(webhook_id, delivery_id)))
