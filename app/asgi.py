"""The Litestar application: one `create_app()` that assembles every domain, plugin and middleware."""

from __future__ import annotations

import re
from typing import Any, cast

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Request
from litestar._openapi.plugin import handle_schema_path_not_found
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException, SerializationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.routes import HTTPRoute
from litestar.serialization import decode_json
from litestar.types import HTTPScope, LifeSpanReceive, LifeSpanScope, LifeSpanSend, Receive, Scope, Send

from app.domain.accounts.controllers import AuthController
from app.domain.integrations.controllers import GitHubConnectionController, GitHubIssueController
from app.domain.jobs.controllers import JobController
from app.domain.organizations.controllers import OrganizationController
from app.domain.projects.controllers import ProjectController
from app.domain.reports.controllers import (
    AttachmentController,
    ColumnController,
    IngestController,
    ReportController,
    ScreenshotController,
    WidgetController,
)
from app.domain.system.controllers import HealthController, IndexController
from app.domain.tokens.controllers import TokenController
from app.domain.webhooks.controllers import WebhookController
from app.lib.asgi import REQUEST_ID, SENT_METHOD, request_id_of, with_every_answers_headers, without_body
from app.lib.conditional import EntityTagMiddleware
from app.lib.content_types import refuse_unreadable_body
from app.lib.cors import ProjectCORSMiddleware
from app.lib.csrf import SessionCSRFMiddleware
from app.lib.database import alchemy_config, warn_if_unguarded
from app.lib.drain import UnreadBodyMiddleware
from app.lib.errors import EXCEPTION_HANDLERS
from app.lib.jsonapi import refuse_unanswerable_accept
from app.lib.logging import configure_logging
from app.lib.openapi import ADMIN, SECURITY_SCHEMES, ClosedStructs, LanternDocument
from app.lib.query import CamelCaseQueryMiddleware, refuse_query_sent_twice
from app.lib.runtime import settle_heap
from app.lib.schema import well_formed_json
from app.lib.sessions import session_config, session_store
from app.lib.throttle import RateLimitMiddleware
from app.lib.unknown_query import refuse_unknown_query
from app.lib.unsent import UnsentAnswerMiddleware
from app.settings import get_settings
from app.ui import static_files_router, template_config, ui_router
from app.ui.pages import unrouted_not_found
from tenants.keycache import hearing_credential_changes
from tenants.middleware import RequestContextMiddleware

# Bodies are small JSON unless a route allows more (uploads); multipart requests carry few parts.
MAX_BODY_BYTES = 1024 * 1024
MAX_MULTIPART_PARTS = 20
_NOT_ASCII = re.compile(rb"[\x80-\xff]")
# The name of the OPTIONS handler Litestar adds to every route that has none (`HTTPRoute.create_options_handler`).
_LITESTARS_OPTIONS_ANSWER = "options_handler"


class Lantern(Litestar):
    """Litestar, answering HEAD wherever GET is answered, as HTTP asks of every server: monitors, link checkers
    and proxies probe an address (a screenshot's, the widget's script) with HEAD, and got a 405. A query
    sent with raw UTF-8 (`curl -g '…?search=結帳'`) is read as UTF-8: Litestar reads its bytes as Latin-1, and
    the search found nothing. An OPTIONS request's `Allow` names every method of its address (HEAD too). Every
    answer carries the request's id, the router's own 404 and 405 too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._allow_every_method_in_options()

    def _allow_every_method_in_options(self) -> None:
        """Litestar 2 makes an address's OPTIONS answer with the first controller that serves it, and keeps it when
        another controller adds methods there (litestar#4169, fixed in Litestar 3): `OPTIONS /api/v1/reports` said
        `Allow: OPTIONS, POST`, not GET, as BugSpark's create and the team's list are two controllers'. Each such
        answer is made again from its finished route, and the routes' trie with it."""
        for route in self.routes:
            if not isinstance(route, HTTPRoute):
                continue
            stale, _ = route.route_handler_map["OPTIONS"]
            if stale.handler_name != _LITESTARS_OPTIONS_ANSWER:
                continue  # an OPTIONS handler of our own
            fresh = route.create_options_handler(route.path)
            fresh.owner = stale.owner
            fresh.on_registration(self)
            route.route_handlers[route.route_handlers.index(stale)] = fresh
            parameters = fresh.create_kwargs_model(path_parameters=route.path_parameters)
            route.route_handler_map["OPTIONS"] = (fresh, parameters)
        self.asgi_router.construct_routing_trie()

    async def __call__(
        self, scope: Scope | LifeSpanScope, receive: Receive | LifeSpanReceive, send: Send | LifeSpanSend
    ) -> None:
        if scope["type"] == ScopeType.HTTP:
            http = cast("HTTPScope", scope)
            if not http["query_string"].isascii():
                http["query_string"] = _NOT_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], http["query_string"])
            request_id = request_id_of(http)
            http.setdefault("state", {})[REQUEST_ID] = request_id
            send = with_every_answers_headers(cast("Send", send), request_id)
            if http["method"] == "HEAD":
                http["method"] = "GET"
                http["state"][SENT_METHOD] = "HEAD"
                send = without_body(send)
        await super().__call__(scope, receive, send)


class LanternRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON body reads a lone surrogate as U+FFFD (see `well_formed_json`) for every
    handler's `data`, as `decode_json` does for the bodies handlers read themselves."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except SerializationException:
            repaired = well_formed_json(await self.body())
            if repaired is None:
                raise
            self._json = self._connection_state.json = decode_json(repaired)
            return self._json


def _refuse_unknown_document(request: Request[Any, Any, Any]) -> None:
    """Litestar answers an unknown address under /schema with an English HTML page of its own (its route takes
    any path there); it is the router's 404 in the error envelope, as at any other unknown address."""
    if getattr(request.route_handler, "fn", None) is handle_schema_path_not_found:
        raise NotFoundException


async def _refuse_unreadable_request(request: Request[Any, Any, Any]) -> None:
    """Before any handler reads its request: a query parameter sent in both spellings, one it does not read or sent
    twice, a body in a content type or coding the handler does not read (any body, where it reads none), an `Accept`
    that asks for nothing it can send."""
    _refuse_unknown_document(request)
    refuse_query_sent_twice(request)
    refuse_unknown_query(request)
    await refuse_unreadable_body(request)
    refuse_unanswerable_accept(request)


def create_app() -> Litestar:
    settings = get_settings()
    configure_logging(settings.log_level)
    return Lantern(
        route_handlers=[
            AuthController,
            OrganizationController,
            ProjectController,
            TokenController,
            IngestController,
            ReportController,
            ColumnController,
            AttachmentController,
            ScreenshotController,
            WidgetController,
            WebhookController,
            JobController,
            GitHubConnectionController,
            GitHubIssueController,
            HealthController,
            IndexController,
            ui_router,
            static_files_router,
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy_config()), ClosedStructs()],
        middleware=[
            UnreadBodyMiddleware(),
            UnsentAnswerMiddleware(),
            CamelCaseQueryMiddleware(),
            session_config().middleware,
            RequestContextMiddleware(),
            ProjectCORSMiddleware(),
            RateLimitMiddleware(),
            SessionCSRFMiddleware(),
            EntityTagMiddleware(),
        ],
        request_class=LanternRequest,
        request_max_body_size=MAX_BODY_BYTES,
        multipart_form_part_limit=MAX_MULTIPART_PARTS,
        stores={"sessions": session_store()},
        # Each server process empties its cache of widget keys and tokens when another announces a change on Redis.
        lifespan=[hearing_credential_changes],
        template_config=template_config(),
        # The router's own 404 (no route took the request) is a page under /ui, the API's JSON elsewhere.
        exception_handlers={**EXCEPTION_HANDLERS, NotFoundException: unrouted_not_found},
        before_request=_refuse_unreadable_request,
        on_startup=[settle_heap, warn_if_unguarded],
        openapi_config=OpenAPIConfig(
            title="Lantern API",
            version="1.0.0",
            path="/schema",
            # The document itself, not an HTML viewer: those load their scripts from a CDN, which a
            # self-hosted instance may not reach (a blank page offline).
            render_plugins=[LanternDocument(path=["/", "/openapi.json"])],
            components=Components(security_schemes=SECURITY_SCHEMES),
            security=ADMIN,
        ),
        logging_config=None,
    )
