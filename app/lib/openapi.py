"""What Litestar cannot tell the OpenAPI document by itself.

- Credentials (SPEC §3): the admin API is the document's default; routes that take a widget key, only a
  session, or nothing say so.
- The request bodies of handlers that read their body themselves (JSON or multipart, BugHerd's wrappers):
  `documented_body` describes them from the msgspec types they decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "organizationToken": SecurityScheme(
        type="http", scheme="bearer", description="An organization API token (`lt_org_…`): `Authorization: Bearer`."
    ),
    "organizationTokenBasic": SecurityScheme(
        type="http", scheme="basic", description="An organization API token as the user, `x` as the password."
    ),
    "session": SecurityScheme(
        type="apiKey",
        name="lantern_session",
        security_scheme_in="cookie",
        description="The session of a signed-in person; unsafe requests also send `X-CSRFToken` with the value "
        "of the `csrftoken` cookie.",
    ),
    "widgetKey": SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="A project's widget key (`lt_pub_…`); the `apiKey` query parameter is taken too.",
    ),
}
ADMIN: list[SecurityRequirement] = [{"organizationToken": []}, {"organizationTokenBasic": []}, {"session": []}]
WIDGET: list[SecurityRequirement] = [{"widgetKey": []}]
SESSION: list[SecurityRequirement] = [{"session": []}]
PUBLIC: list[SecurityRequirement] = [{}]


_DEFS = "#/$defs/{name}"
# A file in a multipart part, or as a whole body.
BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def documented_body(content: Mapping[str, type[msgspec.Struct] | Schema], description: str) -> type[Operation]:
    """An operation class whose request body is `content` (media type: the msgspec type read, or a schema)."""
    media = {
        media_type: OpenAPIMediaType(schema=body if isinstance(body, Schema) else _json_schema(body))
        for media_type, body in content.items()
    }

    @dataclass
    class DocumentedBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=media, description=description, required=True)

    return DocumentedBody


def _json_schema(kind: type[msgspec.Struct]) -> Schema:
    """msgspec's JSON Schema of `kind`, every reference written out in place: Litestar's document keeps only
    the components it generated itself, and serializes a dict as it is."""
    (schema,), definitions = msgspec.json.schema_components([kind], ref_template=_DEFS)

    def inlined(value: Any) -> Any:
        if isinstance(value, dict):
            reference = value.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inlined(definitions[reference.removeprefix("#/$defs/")])
            return {key: inlined(item) for key, item in value.items()}
        if isinstance(value, list):
            return [inlined(item) for item in value]
        return value

    return cast("Schema", inlined(schema))
