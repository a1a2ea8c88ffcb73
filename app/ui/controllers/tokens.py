"""Organization API tokens for its owners and admins: listed by their first characters and when last used,
created (the token shown once, with a request that uses it), revoked; through the API's `TokenService`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.organizations.services import MembershipService
from app.domain.tokens.models import ApiToken
from app.domain.tokens.schemas import TokenCreate
from app.domain.tokens.services import TokenService
from app.lib.errors import LanternError
from app.lib.schema import convert_body
from app.lib.web_addresses import public_address
from app.ui.forms import Form, field_errors
from app.ui.pages import Layout, form_page, people, requires_person, see_other, show_once, shown_once_page
from tenants.guards import requires_manager

TOKENS_PATH = "/ui/tokens"
FIELDS = {"name": "name"}


@dataclass
class TokenForm:
    name: str = ""


class TokenPages(Controller):
    path = "/tokens"
    guards = [requires_person, requires_manager]

    @get("/")
    async def list_page(
        self,
        *,
        layout: NamedDependency[Layout],
        tokens: NamedDependency[TokenService],
        memberships: NamedDependency[MembershipService],
        notice: FromQuery[str | None] = None,
    ) -> Template:
        return await self._page(layout, tokens, memberships, TokenForm(), notice=notice)

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        data: Annotated[TokenForm, Form],
        tokens: NamedDependency[TokenService],
        memberships: NamedDependency[MembershipService],
    ) -> Redirect | Template:
        """The token is shown once, on the page this leads to (the API's answer is the only other place)."""
        try:
            body = convert_body({"name": data.name.strip()}, TokenCreate)
        except LanternError as error:
            return await self._page(layout, tokens, memberships, data, errors=field_errors(error, FIELDS))
        token, secret = await tokens.issue(body.name, layout.identity.user_id)
        return show_once(request, f"{TOKENS_PATH}/{token.id}/created", secret=secret)

    @get("/{token_id:uuid}/created")
    async def created(
        self,
        request: Request[Any, Any, Any],
        layout: NamedDependency[Layout],
        token_id: FromPath[UUID],
        tokens: NamedDependency[TokenService],
    ) -> Redirect | Template:
        token = await tokens.get(token_id)
        example_url = public_address("/api/v1/reports")
        return shown_once_page(
            request, layout, "tokens/created.html", TOKENS_PATH, token=token, example_url=example_url
        )

    @post("/{token_id:uuid}/revoke")
    async def revoke(self, token_id: FromPath[UUID], tokens: NamedDependency[TokenService]) -> Redirect:
        await tokens.revoke(token_id)
        return see_other(f"{TOKENS_PATH}?notice=revoked")

    @staticmethod
    async def _page(  # noqa: PLR0913 - the page, its services, and what it says beside the form
        layout: Layout,
        tokens: TokenService,
        memberships: MembershipService,
        form: TokenForm,
        *,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
    ) -> Template:
        listed = await tokens.get_many(order_by=[ApiToken.created_at.asc()])
        makers = await people(layout, memberships)
        return form_page("tokens/list.html", layout, form, errors=errors, notice=notice, tokens=listed, makers=makers)
