"""HTTP for organization API tokens."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.tokens import schemas
from app.domain.tokens.models import ApiToken
from app.domain.tokens.services import TokenService
from app.lib import jsonapi
from app.lib.jsonapi import MEDIA_TYPE, PLAIN_DESCRIPTION
from app.lib.openapi import SESSION, documented_body, jsonapi_body
from app.lib.paging import PAGES_DESCRIPTION, ListAnswer, Window, page_or_document, provide_window
from app.lib.schema import LOCATION, Envelope, convert_body, extended
from tenants.guards import provide_identity, requires_manager, requires_session
from tenants.identity import Identity


async def provide_token_service(db_session: NamedDependency[AsyncSession]) -> TokenService:
    return TokenService(session=db_session)


def token_read(token: ApiToken) -> schemas.TokenRead:
    return schemas.TokenRead(
        id=token.id,
        name=token.name,
        hint=token.hint,
        created_at=token.created_at,
        created_by_id=token.created_by_id,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["API tokens"]
    guards = [requires_manager]
    dependencies = {
        "tokens": Provide(provide_token_service),
        "identity": Provide(provide_identity),
        "window": Provide(provide_window),
    }

    @get(
        "/", operation_id="ListTokens", description=f"The tokens, oldest first. {PAGES_DESCRIPTION} {PLAIN_DESCRIPTION}"
    )
    async def list_tokens(
        self, request: Request[Any, Any, Any], tokens: NamedDependency[TokenService], window: NamedDependency[Window]
    ) -> ListAnswer[schemas.TokenRead]:
        found = await tokens.page(window)
        reads = [token_read(token) for token in found.items]
        return page_or_document(request, "token", reads, found.total, window, kind=schemas.TokenRead)

    # A person makes tokens: one made by a token would outlive the revocation of the token that leaked.
    @post(
        "/",
        operation_id="CreateToken",
        guards=[requires_session],
        security=SESSION,
        status_code=HTTP_201_CREATED,
        response_headers=LOCATION,
        operation_class=documented_body(
            {
                "application/json": schemas.TokenCreate,
                MEDIA_TYPE: jsonapi_body(schemas.TokenCreate, "token", made=True),
            },
            "The token's name; also as a JSON:API document's `data.attributes`.",
        ),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[dict[str, Any]],
        tokens: NamedDependency[TokenService],
    ) -> jsonapi.CreatedOrDocument[schemas.TokenCreated]:
        creation = convert_body(await jsonapi.body_as_sent(request, data, "token"), schemas.TokenCreate)
        token, secret = await tokens.issue(creation.name, identity.user_id)
        read = extended(token_read(token), schemas.TokenCreated, token=secret)
        location = f"/api/v1/tokens/{token.id}"
        return jsonapi.created_or_document(request, "token", read, kind=schemas.TokenCreated, location=location)

    @get("/{token_id:uuid}", operation_id="GetToken", description=PLAIN_DESCRIPTION)
    async def show(
        self, request: Request[Any, Any, Any], token_id: FromPath[UUID], tokens: NamedDependency[TokenService]
    ) -> Envelope[schemas.TokenRead] | Response[dict[str, Any]]:
        read = token_read(await tokens.get(token_id))
        return jsonapi.native_or_document(request, "token", read, kind=schemas.TokenRead)

    @delete("/{token_id:uuid}", operation_id="RevokeToken", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, token_id: FromPath[UUID], tokens: NamedDependency[TokenService]) -> None:
        await tokens.revoke(token_id)
