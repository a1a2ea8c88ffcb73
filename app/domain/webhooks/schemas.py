"""Bodies of webhooks and their deliveries; a webhook is also taken in BugHerd's form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

import msgspec
from litestar.openapi.spec import Schema

from app.domain.webhooks.models import BUGHERD_EVENTS, SUBSCRIBABLE, DeliveryStatus, Event
from app.lib.openapi import either_spelling
from app.lib.patterns import CALLED_URL
from app.lib.schema import CamelStruct, documented_as

# The document's word for what `outbound.url_problem` checks of an address (its host's network is its own rule):
# once the spaces a paste brings around it are trimmed.
WEB_ADDRESS = rf"^\s*{CALLED_URL}\s*$"
WebhookUrl = Annotated[
    str,
    msgspec.Meta(
        max_length=2048,
        description="Where deliveries are sent: an http:// or https:// address. A receiver behind HTTP Basic "
        "authorization takes its user and password in it (`https://user:secret@host/hook`), sent as each delivery's "
        "`Authorization` header. The password is write-only: answers show it as `********` "
        "(`https://user:********@host/hook`), and the address sent back with `********` for its password, as it was "
        "answered, keeps the password Lantern holds. Anywhere else (another host, user or path, a new webhook) "
        "`********` is refused: give the password itself.",
    ),
    documented_as(pattern=WEB_ADDRESS),
]
# Ours or BugHerd's; checked by `subscribed_events` (its refusal lists them), so only documented here.
EventName = Annotated[
    str,
    msgspec.Meta(
        description="An event by our name or BugHerd's (`task_create`…). `report.screenshots_processed`, which "
        "BugHerd has not, is sent once per report, when the worker is done with all its screenshots (each `ready` "
        'or `failed`); its `data` is `{"report"}`.',
        extra_json_schema={"extra": {"enum": [*(event.value for event in SUBSCRIBABLE), *BUGHERD_EVENTS]}},
    ),
]
EventNames = Annotated[list[EventName], msgspec.Meta(extra_json_schema={"extra": {"minItems": 1}})]


class WebhookCreate(CamelStruct, forbid_unknown_fields=True):
    url: WebhookUrl
    # Our names (`report.created`) or BugHerd's (`task_create`).
    events: EventNames
    project_id: UUID | None = None


class BugherdWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """BugHerd's body: one event per webhook, in its own names."""

    target_url: WebhookUrl
    event: EventName
    project_id: UUID | None = None

    def native(self) -> WebhookCreate:
        return WebhookCreate(url=self.target_url, events=[self.event], project_id=self.project_id)


class WebhookUpdate(CamelStruct, forbid_unknown_fields=True):
    url: WebhookUrl | msgspec.UnsetType = msgspec.UNSET
    events: EventNames | msgspec.UnsetType = msgspec.UNSET
    project_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    # Turning a webhook back on (after its target answered 410 Gone, say) clears why it was turned off.
    active: bool | msgspec.UnsetType = msgspec.UNSET


# BugHerd's names of our fields (its one event for our list of them), in either spelling, as every body's names
# are taken: a change takes them as a new webhook does.
BUGHERD_NAMES = {"target_url": "url", "targetUrl": "url", "event": "events"}


def change_schema() -> Schema:
    """A webhook's change as `UpdateWebhook` reads it, for the OpenAPI document: our fields, and BugHerd's names
    of them (`target_url`, its one `event`), none beside another name of its field."""
    schema = cast("dict[str, Any]", either_spelling(WebhookUpdate, also=BUGHERD_NAMES))
    properties: dict[str, Any] = schema["properties"]
    one = "One event, as BugHerd's body gives it: `events` under another name, taken alike: send one of the two."
    properties["event"] = {**properties["events"]["items"], "description": one}
    return cast("Schema", schema)


class WebhookRead(CamelStruct):
    id: UUID
    url: Annotated[
        str,
        msgspec.Meta(
            description="Where deliveries are sent; a password in it (HTTP Basic) is shown as `********`, never "
            "itself: sent back so, it is kept."
        ),
    ]
    events: list[str]
    project_id: UUID | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """Only creation and rotation answer with the secret."""

    secret: str


class DeliveryRead(CamelStruct):
    id: UUID
    webhook_id: UUID
    event: Event
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    # The body as the target receives it.
    payload: dict[str, Any]
