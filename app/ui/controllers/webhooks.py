"""Webhooks for the organization's owners and admins: list, create (the signing secret shown once), a test
ping, each webhook's delivery log with redelivery, changing a webhook and turning it back on; through the API's
`WebhookService` and `DeliveryService`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.projects.services import ProjectService
from app.domain.webhooks.models import SUBSCRIBABLE, Webhook
from app.domain.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.domain.webhooks.sender import error_message
from app.domain.webhooks.services import DeliveryService, WebhookService, delivery_body
from app.lib.errors import LanternError
from app.lib.outbound import password_masked
from app.lib.schema import convert_body
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, requires_person, see_other, show_once, shown_once_page
from tenants.guards import requires_manager

FIELDS = {"url": "url", "events": "events", "projectId": "project_id"}


@dataclass
class WebhookForm:
    url: str = ""
    # A checkbox per event: a form with one ticked sends a single value, with more a list, with none nothing.
    events: list[str] | str = field(default_factory=list)
    project_id: str = ""

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookForm:
        """The form of a webhook as it is: its address's password as the API answers it (`********`), which the
        change keeps, so that the page never sends a browser the password."""
        return cls(
            url=password_masked(webhook.url), events=list(webhook.events), project_id=str(webhook.project_id or "")
        )

    @property
    def ticked(self) -> list[str]:
        return [self.events] if isinstance(self.events, str) else self.events

    def body(self) -> dict[str, Any]:
        """What the API's create and change take: no project is every project."""
        return {"url": self.url.strip(), "events": self.ticked, "projectId": self.project_id or None}


class WebhookPages(Controller):
    path = "/webhooks"
    guards = [requires_person, requires_manager]

    @get("/")
    async def list_page(
        self,
        layout: NamedDependency[Layout],
        webhooks: NamedDependency[WebhookService],
        projects: NamedDependency[ProjectService],
    ) -> Template:
        every_event = WebhookForm(events=[event.value for event in SUBSCRIBABLE])
        return await _list(layout, webhooks, projects, every_event)

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[WebhookForm, Form],
        webhooks: NamedDependency[WebhookService],
        projects: NamedDependency[ProjectService],
    ) -> Redirect | Template:
        """The signing secret is shown once, on the page this leads to (the API's answer is the only other
        place); a refused form comes back filled in."""
        try:
            webhook, secret = await webhooks.add(convert_body(data.body(), WebhookCreate))
        except LanternError as error:
            return await _list(layout, webhooks, projects, data, field_errors(error, FIELDS))
        return show_once(request, f"/ui/webhooks/{webhook.id}/secret", secret=secret, created=True)

    @get("/{webhook_id:uuid}/secret")
    async def secret_page(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
    ) -> Redirect | Template:
        webhook = await webhooks.get(webhook_id)
        return shown_once_page(request, layout, "webhooks/secret.html", f"/ui/webhooks/{webhook.id}", webhook=webhook)

    @get("/{webhook_id:uuid}")
    async def deliveries_page(  # noqa: PLR0913 - the page and the services it is made from
        self,
        *,
        layout: NamedDependency[Layout],
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
        projects: NamedDependency[ProjectService],
        notice: FromQuery[str | None] = None,
        delivery: FromQuery[UUID | None] = None,
    ) -> Template:
        """`notice` says what was just done: `saved`, `activated`, or `queued` (`delivery`, sent or sent again)."""
        webhook = await webhooks.get(webhook_id)
        form = WebhookForm.of(webhook)
        return await _webhook_page(
            layout, webhook, form, deliveries=deliveries, projects=projects, notice=notice, queued=delivery
        )

    @post("/{webhook_id:uuid}")
    async def change(  # noqa: PLR0913 - the change and the services the page is made from
        self,
        *,
        layout: NamedDependency[Layout],
        webhook_id: FromPath[UUID],
        data: Annotated[WebhookForm, Form],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
        projects: NamedDependency[ProjectService],
    ) -> Redirect | Template:
        """The target, events and project, as `PATCH /api/v1/webhooks/{id}`; a refused form comes back filled in."""
        try:
            await webhooks.change(webhook_id, convert_body(data.body(), WebhookUpdate))
        except LanternError as error:
            webhook, errors = await webhooks.get(webhook_id), field_errors(error, FIELDS)
            return await _webhook_page(layout, webhook, data, deliveries=deliveries, projects=projects, errors=errors)
        return see_other(f"/ui/webhooks/{webhook_id}?notice=saved")

    @post("/{webhook_id:uuid}/ping")
    async def ping(
        self,
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
    ) -> Redirect:
        delivery = await deliveries.ping(await webhooks.get(webhook_id))
        return see_other(f"/ui/webhooks/{webhook_id}?notice=queued&delivery={delivery.id}")

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver")
    async def redeliver(
        self, webhook_id: FromPath[UUID], delivery_id: FromPath[UUID], deliveries: NamedDependency[DeliveryService]
    ) -> Redirect:
        """The delivery's event sent again, as a new delivery (the API's redeliver)."""
        delivery = await deliveries.redeliver(await deliveries.of_webhook(webhook_id, delivery_id))
        return see_other(f"/ui/webhooks/{webhook_id}?notice=queued&delivery={delivery.id}")

    @post("/{webhook_id:uuid}/secret")
    async def rotate_secret(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
    ) -> Redirect:
        """A new signing secret, shown once on the page this leads to; deliveries from now on are signed with it."""
        webhook, secret = await webhooks.rotate(webhook_id)
        return show_once(request, f"/ui/webhooks/{webhook.id}/secret", secret=secret, created=False)

    @post("/{webhook_id:uuid}/delete")
    async def delete(self, webhook_id: FromPath[UUID], webhooks: NamedDependency[WebhookService]) -> Redirect:
        await webhooks.remove(webhook_id)
        return see_other("/ui/webhooks?notice=deleted")

    @post("/{webhook_id:uuid}/activate")
    async def activate(
        self,
        *,
        layout: NamedDependency[Layout],
        webhook_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookService],
        deliveries: NamedDependency[DeliveryService],
        projects: NamedDependency[ProjectService],
    ) -> Redirect | Template:
        """On again (after its target answered 410 Gone, or once imported), as `PATCH /api/v1/webhooks/{id}
        {"active": true}`; an address Lantern does not call is refused beside its field."""
        try:
            await webhooks.change(webhook_id, WebhookUpdate(active=True))
        except LanternError as error:
            webhook, errors = await webhooks.get(webhook_id), field_errors(error, FIELDS)
            form = WebhookForm.of(webhook)
            return await _webhook_page(layout, webhook, form, deliveries=deliveries, projects=projects, errors=errors)
        return see_other(f"/ui/webhooks/{webhook_id}?notice=activated")


async def _list(
    layout: Layout,
    webhooks: WebhookService,
    projects: ProjectService,
    form: WebhookForm,
    errors: dict[str, str] | None = None,
) -> Template:
    return form_page(
        "webhooks/list.html",
        layout,
        form,
        errors=errors,
        webhooks=await webhooks.get_many(order_by=[Webhook.created_at.asc()]),
        projects=await projects.visible(layout.identity),
        events=[event.value for event in SUBSCRIBABLE],
    )


async def _webhook_page(  # noqa: PLR0913 - the page, its form, and what it is made from
    layout: Layout,
    webhook: Webhook,
    form: WebhookForm,
    *,
    deliveries: DeliveryService,
    projects: ProjectService,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    queued: UUID | None = None,
) -> Template:
    """The webhook's delivery log, with the form that changes it."""
    log = await deliveries.recent(webhook.id)
    # "Queued" only until the delivery queued has an answer: a reload once it had one said it above that answer.
    if notice == "queued" and not any(
        each.id == queued and each.response_status is None and each.error is None for each in log
    ):
        notice = None
    return form_page(
        "webhooks/deliveries.html",
        layout,
        form,
        errors=errors,
        notice=notice,
        webhook=webhook,
        deliveries=log,
        error_message=error_message,
        delivery_body=delivery_body,
        projects=await projects.visible(layout.identity),
        events=[event.value for event in SUBSCRIBABLE],
    )
