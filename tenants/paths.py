"""The objects a route's path names by id, each found as its handler finds it for the caller.

A request refused for the caller's role must still not tell another organization's object from a missing one
(SPEC §3): the role guards ask `names_unseen_object` before they answer 403, and answer 404 when the path
names anything the caller does not see — another organization's object, no one's, or (for a guest) one of a
project they were not added to, which their own reads answer 404 too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from advanced_alchemy.exceptions import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.organizations.models import Role
from app.domain.organizations.services import MembershipService
from app.domain.projects.services import ProjectService
from app.domain.reports.attachments import AttachmentService
from app.domain.reports.audience import guest_view
from app.domain.reports.models import Report
from app.domain.reports.screenshots import ScreenshotService
from app.domain.reports.services import ColumnService, ReportService
from app.domain.tokens.services import TokenService
from app.domain.transfer.services import OrganizationExports
from app.domain.webhooks.services import DeliveryService, WebhookService
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, LanternError
from tenants.identity import Identity

# Finds the object one path parameter names, given the request's path parameters (a nested object within the
# one its parent parameter names), or raises not found.
Finder = Callable[[AsyncSession, Identity, Mapping[str, Any]], Awaitable[object]]


async def _project(session: AsyncSession, identity: Identity, ids: Mapping[str, Any]) -> object:
    return await ProjectService(session=session).visible_one(identity, ids["project_id"])


async def _key(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await ProjectService(session=session).key(ids["project_id"], ids["key_id"])


async def _project_person(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await ProjectService(session=session).person(ids["project_id"], ids["user_id"])


async def _column(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await ColumnService(session=session).one(ids["project_id"], ids["column_id"])


async def _report(session: AsyncSession, identity: Identity, ids: Mapping[str, Any]) -> Report:
    view = await guest_view(session, identity.user_id) if identity.role is Role.GUEST and identity.user_id else None
    return await ReportService(session=session).by_reference(ids["reference"], view)


async def _screenshot(session: AsyncSession, identity: Identity, ids: Mapping[str, Any]) -> object:
    report = await _report(session, identity, ids)
    return await ScreenshotService(session).of_report(report.id, ids["screenshot_id"])


async def _attachment(session: AsyncSession, identity: Identity, ids: Mapping[str, Any]) -> object:
    report = await _report(session, identity, ids)
    return await AttachmentService(session=session).one(report.id, ids["attachment_id"])


async def _membership(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await MembershipService(session=session).member(ids["membership_id"])


async def _token(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await TokenService(session=session).get(ids["token_id"])


async def _webhook(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await WebhookService(session=session).get(ids["webhook_id"])


async def _delivery(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await DeliveryService(session=session).of_webhook(ids["webhook_id"], ids["delivery_id"])


async def _export(session: AsyncSession, _identity: Identity, ids: Mapping[str, Any]) -> object:
    return await OrganizationExports(session=session).get(ids["export_id"])


# Path parameter -> how to find what it names. Every route names its objects by these names (a test holds the
# route table to it), so a new kind of id in a path needs its finder here.
PATH_OBJECTS: dict[str, Finder] = {
    "project_id": _project,
    "key_id": _key,  # a widget key of the project of `project_id`
    "user_id": _project_person,  # a person added to the project of `project_id`
    "column_id": _column,  # a custom column of the project of `project_id`
    "reference": _report,  # a report's UUID or tracking ID (BSK-42)
    "screenshot_id": _screenshot,  # of the report of `reference`
    "attachment_id": _attachment,  # of the report of `reference`
    "membership_id": _membership,
    "token_id": _token,
    "webhook_id": _webhook,
    "delivery_id": _delivery,  # of the webhook of `webhook_id`
    "export_id": _export,  # the organization's export
}


async def names_unseen_object(identity: Identity, path_params: Mapping[str, Any]) -> bool:
    """Whether the path names an object the caller does not see. Asked only when a request is refused, so
    the requests that pass pay nothing for it."""
    finders = [PATH_OBJECTS[name] for name in path_params if name in PATH_OBJECTS]
    if not finders:
        return False
    async with alchemy_config().get_session() as session:
        for find in finders:
            try:
                await find(session, identity, path_params)
            except NotFoundError:
                return True
            except LanternError as error:
                if error.code is not ErrorCode.NOT_FOUND:
                    raise
                return True
    return False
