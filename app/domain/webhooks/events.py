"""The events that make deliveries: each is written in the transaction of the change it tells of.

A report is announced as created once the worker has numbered it, so its payload carries its tracking ID, and
again once the worker is done with its screenshots, so that its payload carries their final addresses; updates,
deletions and comments are announced by the requests that make them. A payload is read and built only when some
webhook takes the event: most organizations have none, and triage, numbering and images then pay one small query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.models import Organization
from app.domain.reports.models import Comment, ImageStatus, Report, Screenshot
from app.domain.reports.presenters import comment_read, report_reads
from app.domain.reports.services import MovedReports, organization_held
from app.domain.webhooks.models import Event, Webhook
from app.domain.webhooks.services import DeliveryService, event_payload
from app.lib.i18n import DEFAULT_LOCALE, use_locale
from tenants.context import require_tenant

# What a report.updated tells changed: each field, by the API's name, as [before, after] (the report's history).
Changes = dict[str, list[Any]]


class WebhookEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscribers(self, event: Event, project_id: UUID) -> list[Webhook]:
        """The tenant's active webhooks that take this event of this project."""
        webhooks = await self.session.scalars(
            select(Webhook).where(
                Webhook.active.is_(True),
                or_(Webhook.project_id.is_(None), Webhook.project_id == project_id),
            ),
        )
        return [webhook for webhook in webhooks if event.value in webhook.events]

    async def report_changed(self, event: Event, report: Report, changes: Changes | None = None) -> None:
        """`report.updated` with its `changes` (as the report's history keeps them), or `report.deleted`
        (told before the report is gone)."""
        if webhooks := await self.subscribers(event, report.project_id):
            told = {"report": await self._report(report), **({"changes": changes} if changes is not None else {})}
            await self._deliver(webhooks, event, report.project_id, [told])

    async def comment_created(self, report: Report, comment: Comment) -> None:
        if webhooks := await self.subscribers(Event.COMMENT_CREATED, report.project_id):
            data = {"report": await self._report(report), "comment": msgspec.to_builtins(comment_read(comment))}
            await self._deliver(webhooks, Event.COMMENT_CREATED, report.project_id, [data])

    async def reports_numbered(self, project_id: UUID, numbered: Sequence[tuple[UUID, str]]) -> None:
        """`report.created` for reports the worker has just numbered, in their numbers' order."""
        await self._reports(Event.REPORT_CREATED, project_id, [report_id for report_id, _tracking_id in numbered])

    async def reports_updated(self, project_id: UUID, moved: MovedReports) -> None:
        """`report.updated` for reports moved together: their column renamed, or deleted (back to feedback)."""
        await self._reports(Event.REPORT_UPDATED, project_id, moved.ids, moved.changes)

    async def screenshot_processed(self, screenshot: Screenshot) -> None:
        """`report.screenshots_processed` when this screenshot was the last of its report's still pending: once per
        report, however many screenshots it has, with all of them `ready` or `failed`. Called as `OnProcessed`
        (app/domain/reports/screenshots.py): the screenshot's outcome set, not yet written.

        The organization's row, then the report's, are held before the outcome is written, in the order every
        change to a report takes them (`ReportService.hold_organization`): the deliveries name the organization,
        and a report's deletion holds the report, then its screenshots. Held so (FOR NO KEY UPDATE, which a new
        comment's insert does not wait for), the report also makes the last runs of its screenshots take turns:
        the second to finish reads the first's outcome, so exactly one of them finds nothing pending."""
        event = Event.REPORT_SCREENSHOTS_PROCESSED
        if screenshot.report_id is None or not (webhooks := await self.subscribers(event, screenshot.project_id)):
            return
        if await self.session.scalar(organization_held(screenshot.organization_id)) is None:
            return  # deleted meanwhile: so is the screenshot, whose outcome is then not recorded
        report = await self.session.scalar(
            select(Report).where(Report.id == screenshot.report_id).with_for_update(key_share=True)
        )
        if report is None:
            return
        await self.session.flush()  # the outcome, now that the rows it waits on are held
        pending = await self.session.scalar(
            select(Screenshot.id)
            .where(Screenshot.report_id == report.id, Screenshot.status == ImageStatus.PENDING.value)
            .limit(1)
        )
        if pending is None:
            await self._deliver(webhooks, event, report.project_id, [{"report": await self._report(report)}])

    async def unassigned(self, by_project: Mapping[UUID, MovedReports]) -> None:
        """`report.updated` for someone's reports given back to nobody, project by project (they left the
        organization or see them no more)."""
        for project_id, moved in by_project.items():
            await self.reports_updated(project_id, moved)

    async def _reports(
        self, event: Event, project_id: UUID, report_ids: Sequence[UUID], changes: Changes | None = None
    ) -> None:
        """One event per report, in their numbers' order; `changes`, the same for each, when they moved."""
        webhooks = await self.subscribers(event, project_id) if report_ids else []
        if not webhooks:
            return
        reports = (
            await self.session.scalars(select(Report).where(Report.id.in_(report_ids)).order_by(Report.number))
        ).all()
        told = {"changes": changes} if changes is not None else {}
        data = [{"report": report, **told} for report in await self._payloads(reports)]
        await self._deliver(webhooks, event, project_id, data)

    async def _deliver(
        self, webhooks: list[Webhook], event: Event, project_id: UUID, data: Sequence[dict[str, Any]]
    ) -> None:
        """One delivery per webhook for each item of `data`, in order."""
        deliveries = DeliveryService(session=self.session)
        for item in data:
            payload = event_payload(event, project_id, item)
            for webhook in webhooks:
                await deliveries.queue(webhook.id, event, payload)

    async def _report(self, report: Report) -> dict[str, Any]:
        [payload] = await self._payloads([report])
        return payload

    async def _payloads(self, reports: Sequence[Report]) -> list[dict[str, Any]]:
        """The reports as the organization itself reads them (it reads everything), their words (a failed
        screenshot's `error`) in its default language: not the worker's, nor that of whoever made the change."""
        locale = await self.session.scalar(
            select(Organization.default_locale).where(Organization.id == require_tenant())
        )
        with use_locale(locale or DEFAULT_LOCALE):
            reads = await report_reads(self.session, reports, None)
        return [msgspec.to_builtins(read) for read in reads]
