"""The admin UI assembled: its pages under /ui (left out of the API's OpenAPI document), its templates and
its own static files."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from app.domain.accounts.controllers import provide_account_service, provide_departures
from app.domain.integrations.controllers import provide_connections, provide_issues
from app.domain.organizations.controllers import provide_membership_service, provide_organization_service
from app.domain.reports.controllers.deps import DEPENDENCIES
from app.domain.tokens.controllers import provide_token_service
from app.domain.webhooks.controllers import provide_deliveries, provide_webhooks
from app.lib.asgi import FILE_DOWNLOAD, OWN_BODY, UI_PAGE
from app.lib.errors import not_found
from app.ui.controllers.auth import AuthPages
from app.ui.controllers.board import BoardPages
from app.ui.controllers.integrations import GitHubPages
from app.ui.controllers.invitations import InvitationPages
from app.ui.controllers.jobs import JobPages
from app.ui.controllers.members import MemberPages
from app.ui.controllers.organization import OrganizationPages
from app.ui.controllers.password_reset import PasswordResetPages
from app.ui.controllers.profile import ProfilePages
from app.ui.controllers.projects import ProjectPages, ProjectSetupPages
from app.ui.controllers.reports import ReportPages
from app.ui.controllers.tokens import TokenPages
from app.ui.controllers.webhooks import WebhookPages
from app.ui.language import PageLanguageMiddleware
from app.ui.pages import EXCEPTION_HANDLERS, HOME_PATH, Layout, provide_layout, requires_person, see_other

STATIC = Path(__file__).parent / "static"


@get("/", name="ui-home")
async def home() -> Redirect:
    return see_other(HOME_PATH)


@get("/{unknown:path}", name="ui-unknown", guards=[requires_person])
async def unknown_page(layout: NamedDependency[Layout]) -> None:  # noqa: ARG001 - the error page shows it
    """An address under /ui that is no page answers the UI's 404 page, in the person's language and with the
    layout; the router's own answer was the API's JSON, in the browser's language."""
    raise not_found()


ui_router = Router(
    path="/ui",
    route_handlers=[
        home,
        unknown_page,
        AuthPages,
        InvitationPages,
        PasswordResetPages,
        ReportPages,
        BoardPages,
        ProjectPages,
        ProjectSetupPages,
        GitHubPages,
        MemberPages,
        WebhookPages,
        TokenPages,
        OrganizationPages,
        ProfilePages,
        JobPages,
    ],
    include_in_schema=False,
    opt={UI_PAGE: True, OWN_BODY: True},
    middleware=[PageLanguageMiddleware()],
    exception_handlers=EXCEPTION_HANDLERS,
    dependencies={
        **DEPENDENCIES,
        "accounts": Provide(provide_account_service),
        "departures": Provide(provide_departures),
        "memberships": Provide(provide_membership_service),
        "organizations": Provide(provide_organization_service),
        "webhooks": Provide(provide_webhooks),
        "deliveries": Provide(provide_deliveries),
        "tokens": Provide(provide_token_service),
        "connections": Provide(provide_connections),
        "issues": Provide(provide_issues),
        "layout": Provide(provide_layout),
    },
)

# Stylesheet and script count as file downloads for the rate limiter, beside the page that loads them.
static_files_router = create_static_files_router(
    path="/ui/static", directories=[STATIC], name="ui-static", opt={FILE_DOWNLOAD: True}, include_in_schema=False
)
