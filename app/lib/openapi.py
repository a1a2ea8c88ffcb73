"""What Litestar cannot tell the OpenAPI document by itself.

- Credentials (SPEC §3): the admin API is the document's default; routes that take a widget key, only a
  session, or nothing say so.
- The request bodies of handlers that read their body themselves (JSON or multipart): `documented_body`
  describes them from the msgspec types they decode, in every form the server takes (`either_spelling`: both
  spellings of a field and other products' names; `or_wrapped`: BugHerd's `{"project": {...}}`), with the
  rules their types check across fields (`CamelStruct.one_field` and `one_way`, `requiring_any`).
- The answers of handlers that send a stored file's bytes (`file_answer`): their media types, not JSON.
- The bodies Litestar documents from their types (`ClosedStructs`): a body that refuses unknown fields says so,
  and its lists' items keep their own rules (a label's length).
- What every handler answers alike (`completed`, applied to the served document): the error envelope on each
  error response, the errors each kind of operation can meet, and the JSON:API document beside the native
  envelope where a handler answers in either mode.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, cast

import msgspec
from litestar import Litestar, Request, Response
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_202_ACCEPTED
from litestar.typing import FieldDefinition

from app.lib.asgi import JSONAPI_QUERY
from app.lib.conditional import TAGGED, TAGGED_STATUSES
from app.lib.errors import CODE_OF_STATUS, STATUS_OF, ErrorCode
from app.lib.jsonapi import MEDIA_TYPE, VERSIONS, WHOLE_LIST_PAGES, QueryRules
from app.lib.query import camel_spelling
from app.lib.schema import Envelope, defaults, other_spellings

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
        media_type: OpenAPIMediaType(schema=json_schema(body) if isinstance(body, type) else body)
        for media_type, body in content.items()
    }

    @dataclass
    class DocumentedBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=media, description=description, required=True)

    return DocumentedBody


class ClosedStructs(StructSchemaPlugin):
    """Litestar's schema of a msgspec struct, with what it leaves out of one that a request decodes: a struct that
    forbids unknown fields has `additionalProperties: false` (an organization's change took `{"colour": …}` in the
    document), and a list's items keep the constraints of their `Annotated` type (a GitHub label's 1 to 50
    characters), as msgspec's own schema of the struct says them."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        kind = field_definition.type_
        if kind.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        own = cast("dict[str, Any]", json_schema(kind)).get("properties", {})
        for name, documented in (schema.properties or {}).items():
            if isinstance(documented, Schema) and (items := _array_items(own.get(name, {}))) is not None:
                for branch in [documented, *(documented.one_of or [])]:
                    if isinstance(branch, Schema) and branch.type == OpenAPIType.ARRAY and _plain(branch.items):
                        branch.items = cast("Schema", items)
        return schema


def _array_items(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The items of msgspec's schema of a list field (optional or not), where they have rules of their own."""
    for branch in [schema, *schema.get("anyOf", [])]:
        items = branch.get("items") if branch.get("type") == "array" else None
        if isinstance(items, dict) and set(items) - {"type", "title", "description"}:
            return items
    return None


def _plain(items: Any) -> bool:
    """Whether Litestar's `items` is a bare type, which says nothing of the items' rules."""
    return (
        isinstance(items, Schema)
        and items.type is not None
        and not items.one_of
        and items.pattern is None
        and (items.max_length is None and items.min_length is None and items.enum is None)
    )


def file_answer(media_types: Sequence[str], description: str, *, while_processing: int) -> type[Operation]:
    """An operation class for a handler that answers a stored file's bytes in one of `media_types`, not JSON.
    While a worker still processes the file it answers `while_processing`, with `Retry-After`: `202` without a
    body (a thumbnail not made yet), or `409` with the error envelope (an image that cannot be served yet)."""
    served = {media_type: OpenAPIMediaType(schema=BINARY) for media_type in media_types}
    disposition = OpenAPIHeader(
        schema=_TEXT, description="`inline` for an image to show, `attachment` for a download; with the file's name."
    )
    retry = OpenAPIHeader(schema=_SECONDS, description="Seconds after which the file is likely ready.", required=True)
    # A 409 is an error: `completed` describes it and gives it the envelope.
    pending = "The file is still being processed: no body." if while_processing == HTTP_202_ACCEPTED else ""

    @dataclass
    class FileAnswer(Operation):
        def __post_init__(self) -> None:
            self.responses = {
                **(self.responses or {}),
                "200": OpenAPIResponse(description, content=served, headers={"Content-Disposition": disposition}),
                str(while_processing): OpenAPIResponse(pending, headers={"Retry-After": retry}),
            }

    return FileAnswer


def either_spelling(
    kind: type[msgspec.Struct], *, also: Mapping[str, str] | None = None, exact: Collection[str] = ()
) -> Schema:
    """`kind`'s body as `convert_body` reads it: each field under its other spelling too (`assignee_id` beside
    `assigneeId`), and under the names in `also` (other products', as `{"devurl": "siteUrl"}`); the fields in
    `exact` under their own spelling only."""
    schema = cast("dict[str, Any]", json_schema(kind))
    properties: dict[str, Any] = schema["properties"]
    spellings = other_spellings(kind)
    aliases = {other: name for other, name in spellings.items() if name not in exact}
    aliases |= {alias: spellings.get(name, name) for alias, name in (also or {}).items()}
    for alias, name in aliases.items():
        described = f"`{name}` under another name, taken alike: send one of the two."
        properties[alias] = {**properties[name], "description": described}
    names = {name: [name, *(alias for alias, aliased in aliases.items() if aliased == name)] for name in properties}
    # A required field is sent under any of its names (BugHerd's `target_url` as `targetUrl`).
    required = schema.get("required", [])
    if spelled_ways := [name for name in required if len(names[name]) > 1]:
        schema["required"] = [name for name in required if name not in spelled_ways]
        if not schema["required"]:
            del schema["required"]
        schema["allOf"] = [_any_of([{"required": [spelling]} for spelling in names[name]]) for name in spelled_ways]
    # A field under two of its names is refused (`sent_twice`, `one_field`), as is a thing named two ways (`one_way`).
    refused = [{"required": list(pair)} for spelled in names.values() for pair in combinations(spelled, 2)]
    refused += _two_ways(kind, names)
    if refused:
        schema["not"] = _any_of(refused)
    return cast("Schema", schema)


def one_of(*forms: Schema) -> Schema:
    """A body in one of `forms` (ours, another product's); no body may fit two of them."""
    return cast("Schema", {"oneOf": list(forms)})


def or_wrapped(native: Schema, name: str, inner: Schema | None = None) -> Schema:
    """`native`, or BugHerd's form of it: the object (or `inner`, BugHerd's fields) wrapped in its resource's
    name, `{"project": {...}}`, as `unwrapped` reads it."""
    wrapper = {
        "title": f"BugHerd{name.title()}",
        "type": "object",
        "properties": {name: inner or native},
        "required": [name],
        "additionalProperties": False,
    }
    return one_of(native, cast("Schema", wrapper))


def requiring_any(body: type[msgspec.Struct] | Schema, *names: str) -> Schema:
    """`body` (a msgspec type read, or a schema) with at least one of `names` sent with a value: the same field
    under two spellings, or two forms of it, each optional alone (a null is as good as none)."""
    schema = json_schema(body) if isinstance(body, type) else body
    return fitting_one_of(schema, [_with_value([name]) for name in names])


def fitting_one_of(schema: Schema, conditions: Sequence[dict[str, Any]]) -> Schema:
    """`schema`, which a body fits only if it fits one of `conditions` as well (fields required, values they
    take). They are one of its `allOf`: beside its `properties`, a top-level `anyOf` of them was read by
    openapi-python-client as the body's forms, each with the fields its condition named alone (a comment's
    `text`, and no `internal`)."""
    fitted = cast("dict[str, Any]", schema)
    return cast("Schema", {**fitted, "allOf": [*fitted.get("allOf", []), {"anyOf": list(conditions)}]})


_NOT_NULL = {"not": {"type": "null"}}


def _with_value(names: Sequence[str]) -> dict[str, Any]:
    """A body with a value (not null) for one of `names` at least."""
    return _any_of([{"required": [name], "properties": {name: _NOT_NULL}} for name in names])


def _one_way(kind: type[msgspec.Struct]) -> bool:
    """Whether `kind` has pairs of fields a body gives one of at most (`CamelStruct.one_field`, `one_way`)."""
    return bool(getattr(kind, "one_field", ()) or getattr(kind, "one_way", ()))


def _two_ways(kind: type[msgspec.Struct], names: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """What `kind` refuses: both fields of one of its `one_field` pairs sent (`convert_body`, null too), or both
    of one of its `one_way` pairs given (`refuse_two_ways`), each under any of its `names` (its spellings)."""
    encoded = dict(zip(kind.__struct_fields__, kind.__struct_encode_fields__, strict=True))
    one_field: tuple[tuple[str, str], ...] = getattr(kind, "one_field", ())
    one_way: tuple[tuple[str, str], ...] = getattr(kind, "one_way", ())
    sent = [[_any_of([{"required": [name]} for name in names[encoded[field]]]) for field in pair] for pair in one_field]
    given = [[_given(kind, field, names[encoded[field]]) for field in pair] for pair in one_way]
    return [{"allOf": both} for both in [*sent, *given]]


def _given(kind: type[msgspec.Struct], field: str, names: Sequence[str]) -> dict[str, Any]:
    """A body that gives `kind`'s `field` under one of its `names` (`schema.given`): sent, for a field left out
    by default (a change's, where null is a value); sent with a value, for one null by default."""
    if defaults(kind)[field] is not msgspec.UNSET:
        return _with_value(names)
    return _any_of([{"required": [name]} for name in names])


def _any_of(schemas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return schemas[0] if len(schemas) == 1 else {"anyOf": list(schemas)}


def jsonapi_body(
    kind: type[msgspec.Struct], type_name: str, *relationships: str, made: bool = False, camel_only: bool = False
) -> Schema:
    """A JSON:API document that changes a resource of the type `type_name` names, or creates one (`made`: without
    an id, the server's to give), as `jsonapi.body_as_sent` reads it: its `data.type` that one (another is a 409 a
    client had to guess its way past: a project's people are `user`s), `kind`'s fields as its `data.attributes`
    (under either spelling, or under their camelCase names alone for a body `convert_body` takes `camel_only`),
    and its to-one `relationships` (`assignee`) as resource identifiers, or null to unset them; one of the two at
    least, a relationship not among the attributes too (`assigneeId`), and beside `data` the `jsonapi` object and
    `meta` alone (`meta`, and a resource object's, ignored)."""
    identifier = Schema(
        type=[OpenAPIType.OBJECT, OpenAPIType.NULL], required=["type", "id"], properties={"type": _TEXT, "id": _TEXT}
    )
    relationship = Schema(type=OpenAPIType.OBJECT, required=["data"], properties={"data": identifier})
    related_twice = [_related_twice(kind, name) for name in relationships]
    data = Schema(
        type=OpenAPIType.OBJECT,
        required=["type"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, enum=[type_name]),
            **({} if made else {"id": _TEXT}),
            "lid": _TEXT,
            "attributes": json_schema(kind) if camel_only else either_spelling(kind),
            "relationships": Schema(
                type=OpenAPIType.OBJECT,
                properties=dict.fromkeys(relationships, relationship),
                additional_properties=False,
            ),
            "meta": _OBJECT,
        },
        any_of=[Schema(required=["attributes"]), Schema(required=["relationships"])],
        schema_not=cast("Schema", _any_of(related_twice)) if related_twice else None,
        additional_properties=False,
    )
    return Schema(
        title=f"{kind.__name__}Document",
        type=OpenAPIType.OBJECT,
        required=["data"],
        properties={"data": data, "jsonapi": _JSONAPI_OBJECT, "meta": _OBJECT},
        additional_properties=False,
    )


def _related_twice(kind: type[msgspec.Struct], relationship: str) -> dict[str, Any]:
    """A JSON:API change that sets a to-one `relationship` (`assignee`) and its id among the attributes too
    (`assigneeId` or `assignee_id`), which `jsonapi.body_as_sent` refuses."""
    field = f"{relationship}Id"
    names = [field, *(other for other, name in other_spellings(kind).items() if name == field)]
    return {
        "required": ["attributes", "relationships"],
        "properties": {
            "attributes": _any_of([{"required": [name]} for name in names]),
            "relationships": {"required": [relationship]},
        },
    }


def json_schema(kind: type[msgspec.Struct]) -> Schema:
    """msgspec's JSON Schema of `kind`, every reference written out in place: Litestar's document keeps only
    the components it generated itself, and serializes a dict as it is."""
    (schema,), definitions = msgspec.json.schema_components([kind], ref_template=_DEFS)
    structs = _structs(msgspec.inspect.type_info(kind))

    def inlined(value: Any) -> Any:
        if isinstance(value, dict):
            reference = value.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                name = reference.removeprefix("#/$defs/")
                struct = structs.get(name)
                if struct is not None and _one_way(struct):
                    spellings = {encoded: [encoded] for encoded in struct.__struct_encode_fields__}
                    return inlined({**definitions[name], "not": _any_of(_two_ways(struct, spellings))})
                return inlined(definitions[name])
            return {key: inlined(item) for key, item in value.items()}
        if isinstance(value, list):
            return [inlined(item) for item in value]
        return value

    return cast("Schema", inlined(schema))


def _structs(info: msgspec.inspect.Type) -> dict[str, type[msgspec.Struct]]:
    """Every struct type `info` holds, itself included, by its name in a JSON Schema's definitions."""
    found: dict[str, type[msgspec.Struct]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, msgspec.inspect.StructType):
            if found.get(node.cls.__name__) is node.cls:
                return  # a struct seen (one that holds itself)
            found[node.cls.__name__] = node.cls
        if isinstance(node, msgspec.inspect.Type | msgspec.inspect.Field):
            for name in node.__struct_fields__:
                value = getattr(node, name)
                for inner in value if isinstance(value, tuple) else (value,):
                    visit(inner)

    visit(info)
    return found


# The served document ---------------------------------------------------------------------------------
# Litestar documents what a handler returns; the answers every handler shares are the API's, written here
# once: the error envelope on every error response, the errors each kind of operation can meet (derived from
# its credentials, path, parameters and body), and the JSON:API document beside the native envelope.

_COMPONENTS = "#/components/schemas/{name}"
ERROR_SCHEMA = "Error"
JSONAPI_DOCUMENT_SCHEMA = "JsonApiDocument"
_METHODS = frozenset({"get", "head", "post", "put", "patch", "delete"})
_CHANGES = frozenset({"post", "put", "patch"})
# Methods whose request may carry a body, which is checked before the handler acts even where it reads none.
_MAY_CARRY_BODY = _CHANGES | {"delete"}


def also_answers(kind: type[msgspec.Struct], description: str) -> ResponseSpec:
    """A success besides the handler's own status (a PUT's change beside its creation) that, as the handler's
    own, is `kind` in the native envelope or a JSON:API document: documented under both media types (see
    `_answers_either_mode`). Litestar's `data_container` is typed as one type, though it documents a union."""
    either = cast("type[Any]", Envelope[kind] | Response[dict[str, Any]])  # type: ignore[valid-type]
    return ResponseSpec(either, description=description, generate_examples=False)


def may_answer(*codes: ErrorCode) -> dict[int, ResponseSpec]:
    """Errors an operation meets that `completed` cannot tell from what it takes (`responses=`): a public one's
    rate limit or refused password, a token in its body that finds nothing, a conflict without a body.
    Their content is the error envelope, like every other error response."""
    return {STATUS_OF[code]: ResponseSpec(None, description=code.value) for code in codes}


_ERROR_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "`VALIDATION_ERROR`: a parameter or the body is not valid; `details` names each "
    "field (a dotted path) with its reason.",
    ErrorCode.UNAUTHORIZED: "`UNAUTHORIZED`: no credentials, or credentials that are not valid (anymore).",
    ErrorCode.FORBIDDEN: "`FORBIDDEN`: the credentials do not allow this (a role, a widget key's origin, a "
    "session's missing `X-CSRFToken`).",
    ErrorCode.NOT_FOUND: "`NOT_FOUND`: no such object in the caller's organization; another organization's "
    "objects answer the same.",
    ErrorCode.CONFLICT: "`CONFLICT`: the change clashes with existing data (a taken name or prefix) or the "
    "object's state (an organization's last owner, a webhook turned off), a JSON:API document names another "
    "resource than the URL's, or a file is not ready to be served yet (`Retry-After` says when to try again).",
    ErrorCode.PRECONDITION_FAILED: "`PRECONDITION_FAILED`: `If-Match` names no current tag of the object (it "
    "changed since it was read), it changed after `If-Unmodified-Since`, or `If-None-Match` names it (`*`: it "
    "exists); nothing was changed.",
    ErrorCode.PAYLOAD_TOO_LARGE: "`PAYLOAD_TOO_LARGE`: the body or one of its files is too large.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "`UNSUPPORTED_MEDIA_TYPE`: the body's `Content-Type` is not one this "
    "operation reads, or is JSON:API's media type with a parameter other than `ext` and `profile` (`charset` too) "
    "or with an extension (`ext`: Lantern implements none); `details` then name it (field `Content-Type`). Or the "
    "operation takes no body and one was sent other than JSON (an empty JSON object `{}` is taken; JSON with "
    "members is a 400 naming each), or the body is in a content coding (field `Content-Encoding`: Lantern reads "
    "`identity` alone, as `Accept-Encoding` says).",
    ErrorCode.NOT_ACCEPTABLE: "`NOT_ACCEPTABLE`: `Accept` names JSON:API's media type only with a parameter other "
    "than `ext` and `profile`, or with an extension (`ext`: Lantern implements none), and neither its plain form "
    "nor `*/*`; `details` name each (field `Accept`). A profile is taken, and ignored. Or `Accept` takes neither "
    "JSON:API nor plain JSON (`text/html` alone, `Accept: application/vnd.api+json;q=0` alone).",
    ErrorCode.RATE_LIMITED: "`RATE_LIMITED`: too many requests; `Retry-After` says when to try again.",
    ErrorCode.SERVICE_UNAVAILABLE: "`SERVICE_UNAVAILABLE`: the database or Redis cannot be reached; `details` "
    "names which.",
}
_DEFAULT_ERROR = "`INTERNAL_ERROR` (500) or `SERVICE_UNAVAILABLE` (503: the database or Redis cannot be reached)."

_TEXT = Schema(type=OpenAPIType.STRING)
_SECONDS = Schema(type=OpenAPIType.INTEGER, minimum=0)
# The caller's bucket, on every answer to a request the rate limit counted (see app/lib/throttle.py).
_BUCKET_HEADERS = {
    "X-RateLimit-Limit": OpenAPIHeader(
        schema=_SECONDS, description="Requests the bucket holds (the admin API's: its burst, refilled steadily)."
    ),
    "X-RateLimit-Remaining": OpenAPIHeader(schema=_SECONDS, description="Requests left in the bucket."),
    "X-RateLimit-Reset": OpenAPIHeader(schema=_SECONDS, description="Unix time (seconds) when it has room again."),
}
# A tagged answer's validator, and the conditions it is sent back in (app/lib/conditional.py).
_ETAG = OpenAPIHeader(
    schema=_TEXT,
    description="The strong tag of this representation (a digest of its bytes: the native answer and the JSON:API "
    "document, or two languages, have tags of their own). Send it back in `If-None-Match` to read the resource "
    "only when it changed, and in `If-Match` to change or delete it only while it is still what was read.",
)


def _condition(name: str, description: str) -> dict[str, Any]:
    """An optional request header that makes a request conditional, as the document's parameters list it."""
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": description}


_IF_NONE_MATCH = _condition(
    "If-None-Match", "The `ETag`s of what the client holds (`*`: any): a 304 without a body while one is current."
)
_CHANGE_CONDITIONS = [
    _condition(
        "If-Match",
        "The `ETag` the client read (`*`: the resource exists): a 412, with nothing changed, when it is not the "
        "current one, as when someone else changed the resource since.",
    ),
    _condition(
        "If-Unmodified-Since",
        "An HTTP date: a 412, with nothing changed, when the resource's `updatedAt` is later. Ignored beside "
        "`If-Match`.",
    ),
    _condition(
        "If-None-Match", "`*` (or an `ETag`): a 412, with nothing changed, when the resource exists (is that one)."
    ),
]
# A native list's page links the pages before and after it (`paging.page_links`).
_PAGE_LINKS = OpenAPIHeader(
    schema=_TEXT,
    description="The next and previous pages (RFC 8288), whole addresses under the instance's public URL "
    "(`LANTERN_PUBLIC_URL`, never the request's `Host`), to follow as given: "
    '`<https://bugs.example.com/api/v1/reports?page_size=25&page=3>; rel="next", '
    '<https://bugs.example.com/api/v1/reports?page_size=25&page=1>; rel="prev"`, each only when there is one; '
    "no header on a list of one page.",
)
# For a public operation that counts its own requests (login, sign-up): its answers carry the bucket's headers.
COUNTED_HEADERS = [ResponseHeader(name, documentation_only=True) for name in _BUCKET_HEADERS]
_RATE_HEADERS = {
    "Retry-After": OpenAPIHeader(schema=_SECONDS, description="Seconds until a request can succeed."),
    **_BUCKET_HEADERS,
}
_IDENTITY_ONLY = OpenAPIHeader(
    schema=_TEXT, description="`identity`, on a refused body in a content coding: the one Lantern reads."
)
_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    required=["success", "error", "message", "details"],
    properties={
        "success": Schema(type=OpenAPIType.BOOLEAN, enum=[False]),
        "error": Schema(type=OpenAPIType.STRING, enum=[code.value for code in ErrorCode]),
        "message": Schema(type=OpenAPIType.STRING, description="In the negotiated language."),
        "details": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING, description="The field's dotted path, or `body`."),
                    "message": Schema(type=OpenAPIType.STRING, description="In the negotiated language."),
                },
            ),
        ),
    },
    description="Every error of the API, in both modes.",
)
_OBJECT = Schema(type=OpenAPIType.OBJECT, additional_properties=Schema())

# A request document's `jsonapi` object, as `jsonapi.body_as_sent` reads it: the versions Lantern reads, no
# extension (it implements none), any profile (ignored).
_JSONAPI_OBJECT = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "version": Schema(type=OpenAPIType.STRING, enum=sorted(VERSIONS)),
        "ext": Schema(type=OpenAPIType.ARRAY, items=_TEXT, max_items=0),
        "profile": Schema(type=OpenAPIType.ARRAY, items=_TEXT),
        "meta": _OBJECT,
    },
    additional_properties=False,
)

_LINK = Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL], description="Null on the first or last page.")
_RESOURCE = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "id"],
    properties={
        "type": _TEXT,
        "id": _TEXT,
        "attributes": _OBJECT,
        "relationships": _OBJECT,
        "links": _OBJECT,
    },
)
_JSONAPI_DOCUMENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["data"],
    properties={
        "jsonapi": _OBJECT,
        "data": Schema(one_of=[_RESOURCE, Schema(type=OpenAPIType.ARRAY, items=_RESOURCE)]),
        "included": Schema(type=OpenAPIType.ARRAY, items=_RESOURCE),
        "links": Schema(
            type=OpenAPIType.OBJECT,
            properties={"self": _TEXT, "next": _LINK, "prev": _LINK, "previous": _LINK},
            additional_properties=_LINK,
            description="Whole addresses under the instance's public URL (`LANTERN_PUBLIC_URL`), as every link "
            "of a document is (a resource's `self`, a relationship's `related`); a list's previous page is `prev` "
            "and, as Bugcrowd names it, `previous`: "
            "`https://bugs.example.com/api/v1/reports?page[limit]=20&page[offset]=20`.",
        ),
        "meta": _OBJECT,
    },
    description="A JSON:API 1.1 document: the answer when the request asks for JSON:API (see the operation).",
)


def _query(name: str, schema: Schema, description: str, *, deep: bool = False) -> dict[str, Any]:
    """A query parameter of JSON:API mode; `deep`: a family of them (`page[limit]`, `filter[status]`)."""
    parameter = {"name": name, "in": "query", "required": False, "schema": schema.to_schema()}
    return {**parameter, "description": description, **({"style": "deepObject", "explode": True} if deep else {})}


_MEMBERS = Schema(type=OpenAPIType.OBJECT, additional_properties=_TEXT)
# Each by its own name, not as a deep `page` object: the native list's `page` is BugSpark's page number.
_PAGE_PARAMETERS = {
    "limit": _query(
        "page[limit]", Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=100), "JSON:API: the page's size."
    ),
    "offset": _query("page[offset]", Schema(type=OpenAPIType.INTEGER, minimum=0), "JSON:API: how many to skip."),
    "after": _query("page[after]", _TEXT, "JSON:API: the cursor of `links.next`."),
    "before": _query("page[before]", _TEXT, "JSON:API: the cursor of `links.prev`."),
}
# What an operation of a type with no relationships takes (`jsonapi.native_or_document`), unless its handler names
# its own rules (`JSONAPI_QUERY`): an item its sparse fieldsets, a list its members to sort by and pages too.
_PLAIN_ITEM = [_query("fields", _MEMBERS, "JSON:API sparse fieldsets: `fields[<type>]=a,b`.", deep=True)]
_PLAIN_LIST = [
    *_PLAIN_ITEM,
    _query("sort", _TEXT, "JSON:API: members to sort by, comma-separated; `-` descends."),
    *(_PAGE_PARAMETERS[page] for page in WHOLE_LIST_PAGES),
]


def _named(names: Collection[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names))


def _jsonapi_parameters(rules: QueryRules) -> list[dict[str, Any]]:
    """The query parameters `rules` take (any other JSON:API parameter is refused), each naming its values."""
    types = _named({rules.primary.name, *(kind.name for kind in rules.includes.values())})
    parameters = [
        _query("fields", _MEMBERS, f"JSON:API sparse fieldsets: `fields[<type>]=a,b`, of {types}.", deep=True)
    ]
    if rules.includes:
        named = _named(rules.includes)
        parameters.append(
            _query("include", _TEXT, f"JSON:API: related resources to include, comma-separated: {named}.")
        )
    if rules.sorts:
        named = _named(rules.sorts)
        parameters.append(
            _query("sort", _TEXT, f"JSON:API: members to sort by, comma-separated; `-` descends: {named}.")
        )
    if rules.filters:
        named = _named(rules.filters)
        parameters.append(
            _query("filter", _MEMBERS, f"JSON:API filters: `filter[<name>]=a,b` (any of), by {named}.", deep=True)
        )
    return [*parameters, *(_PAGE_PARAMETERS[page] for page in rules.pages)]


def _rules_by_operation(app: Litestar) -> dict[tuple[str, str], QueryRules]:
    """The JSON:API query rules handlers name (`JSONAPI_QUERY`), by the document's path and method."""
    return {
        (route.path_format, method.lower()): handler.opt[JSONAPI_QUERY]
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if JSONAPI_QUERY in handler.opt
        for method in handler.http_methods
    }


class LanternDocument(JsonRenderPlugin):
    """The OpenAPI document as JSON, completed (see `completed`) once for the life of the app."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = self.render_json(
                request, completed(openapi_schema, _rules_by_operation(request.app), _tagged_operations(request.app))
            )
        return self._rendered


def completed(
    document: dict[str, Any],
    rules: Mapping[tuple[str, str], QueryRules],
    tagged: Mapping[str, Collection[str]],
) -> dict[str, Any]:
    """Litestar's document with the API's shared answers, each operation's JSON:API parameters (by the `rules`
    of its path and method) and conditions (where its path's methods are `tagged`), and its generic envelopes named
    as a client's code generator would name them (`ReportReadEnvelope`, not
    `Envelope_app.domain.reports.schemas.ReportRead_`)."""
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        _document_conditions(item, tagged.get(path, set()))
        for method, operation in item.items():
            if method in _METHODS:
                _complete(path, method, operation, schemas, rules.get((path, method)))
    schemas[ERROR_SCHEMA] = _ERROR.to_schema()
    schemas[JSONAPI_DOCUMENT_SCHEMA] = _JSONAPI_DOCUMENT.to_schema()
    _merge_extra(document)
    _open_objects_said_open(document)
    _bodies_refer_to_components(document)
    _answers_hold_every_field(document, written_here={ERROR_SCHEMA, JSONAPI_DOCUMENT_SCHEMA})
    return _renamed(
        document, {name: _envelope_name(name) for name in schemas if name.startswith(("Envelope_", "ListPage_"))}
    )


def _document_conditions(item: dict[str, Any], tagged: Collection[str]) -> None:
    """The conditional requests of an address: each answer of its `tagged` operations (`conditional.TAGGED`, whose
    header Litestar documents as a bare `etag`) says what its `ETag` is; where its GET is tagged, that GET takes
    `If-None-Match` (304), and its changes and deletion `If-Match`, `If-Unmodified-Since` and `If-None-Match`
    (412), as they evaluate them (`conditional.require_preconditions`)."""
    for method in tagged:
        for status, response in item[method]["responses"].items():
            response.get("headers", {}).pop("etag", None)
            # Each answer the middleware tags: a PUT's 200 too, beside the 201 that Litestar documents alone.
            if status in {str(code) for code in TAGGED_STATUSES}:
                response.setdefault("headers", {})["ETag"] = _ETAG.to_schema()
    if "get" not in tagged:
        return
    not_modified = "Not Modified: `If-None-Match` names the current `ETag`; no body."
    item["get"]["responses"]["304"] = {"description": not_modified, "headers": {"ETag": _ETAG.to_schema()}}
    item["get"].setdefault("parameters", []).append(_IF_NONE_MATCH)
    for method in ("put", "patch", "delete"):
        if method in item:
            item[method]["responses"].setdefault("412", {"description": ""})
            item[method].setdefault("parameters", []).extend(_CHANGE_CONDITIONS)


def _tagged_operations(app: Litestar) -> dict[str, set[str]]:
    """The methods of each path whose answer is tagged (`conditional.TAGGED`), by the document's path."""
    tagged: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.etag == TAGGED:  # a copy of it: Litestar copies handlers as it registers them
                    tagged.setdefault(route.path_format, set()).update(m.lower() for m in handler.http_methods)
    return tagged


def _bodies_refer_to_components(document: dict[str, Any]) -> None:
    """A struct a request body holds that is a component too (an answer's: `WidgetConfig`), referred to there
    rather than written out (`json_schema`): a body that holds it twice (`widgetConfig` and `widget_config`, in
    ours and in BugHerd's form) defined one model twice, and openapi-python-client dropped the whole body. A
    struct written out with checks of its own (`not`) stays as it is."""
    components = document["components"]["schemas"]

    def referred(value: Any) -> Any:
        if isinstance(value, list):
            return [referred(item) for item in value]
        if not isinstance(value, dict):
            return value
        title, properties = value.get("title"), value.get("properties")
        component = components.get(title) if isinstance(title, str) else None
        if (
            component is not None
            and properties
            and "not" not in value
            and set(properties) == set(component.get("properties", ()))
        ):
            said = {keyword: value[keyword] for keyword in ("description", "default") if keyword in value}
            return {"$ref": f"#/components/schemas/{title}", **said}
        return {key: referred(item) for key, item in value.items()}

    for item in document["paths"].values():
        for method, operation in item.items():
            if method in _METHODS and "requestBody" in operation:
                operation["requestBody"] = referred(operation["requestBody"])


def _answers_hold_every_field(document: dict[str, Any], written_here: Collection[str]) -> None:
    """A struct only answers hold has every field required: an answer is encoded whole (`omit_defaults` off), a
    field with a default as well, yet a client generator typed each such field optional (`success`, the widget's
    settings), and its users checked for a field that is always there. A struct a body holds too keeps its
    defaults optional (`WidgetConfig`: a body may leave them out). `written_here` are this module's own schemas
    (`Error`, `JsonApiDocument`), which say what they require."""
    components = document["components"]["schemas"]
    bodies: list[Any] = []
    answers: list[Any] = []
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in _METHODS:
                bodies += [operation.get("requestBody"), operation.get("parameters")]
                answers.append(operation["responses"])
    for name in _referred_from(answers, components) - _referred_from(bodies, components) - set(written_here):
        schema = components[name]
        if properties := schema.get("properties"):
            schema["required"] = list(properties)


def _referred_from(value: Any, components: Mapping[str, Any]) -> set[str]:
    """The names of the components `value` refers to, and those they refer to in turn."""
    found: set[str] = set()
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending += node
        elif isinstance(node, dict):
            name = _component_named(node.get("$ref"))
            if name is not None and name not in found and name in components:
                found.add(name)
                pending.append(components[name])
            pending += node.values()
    return found


def _component_named(reference: object) -> str | None:
    """The component a `$ref` names, if it names one of the document's schemas."""
    prefix = _COMPONENTS.format(name="")
    return reference.removeprefix(prefix) if isinstance(reference, str) and reference.startswith(prefix) else None


def _open_objects_said_open(value: Any, *, named_properties: bool = False) -> None:
    """An object of any fields (BugSpark's `metadata`, the widget's `branding`, a JSON:API document's
    `relationships`) says so, `additionalProperties: {}`: with neither fields nor that, openapi-typescript typed
    it `Record<string, never>`, and a body the server takes did not compile."""
    if isinstance(value, dict):
        fields = {"properties", "additionalProperties", "patternProperties"} & value.keys()
        if not named_properties and value.get("type") == "object" and not fields:
            value["additionalProperties"] = {}
        for key, inner in value.items():
            _open_objects_said_open(inner, named_properties=key == "properties")
    elif isinstance(value, list):
        for inner in value:
            _open_objects_said_open(inner)


def _merge_extra(value: Any, *, named_properties: bool = False) -> None:
    """Keywords a field's `msgspec.Meta` adds (`from_zero`'s minimum) that Litestar left under a keyword of their
    own, `extra`, in the branches of an optional field's `anyOf`: merged into their schema, which is where
    they mean something. (A property called `extra` is a property, not such a keyword.)"""
    if isinstance(value, dict):
        if not named_properties and isinstance(value.get("extra"), dict):
            value.update(value.pop("extra"))
        for key, inner in value.items():
            _merge_extra(inner, named_properties=key == "properties")
    elif isinstance(value, list):
        for inner in value:
            _merge_extra(inner)


def _complete(
    path: str, method: str, operation: dict[str, Any], schemas: dict[str, Any], rules: QueryRules | None
) -> None:
    responses: dict[str, Any] = operation["responses"]
    dual = [response for response in responses.values() if _answers_either_mode(response)]
    for response in dual:
        native = next(schema for schema in response["content"]["application/json"]["schema"]["oneOf"] if schema)
        response["content"] = {
            "application/json": {"schema": native},
            MEDIA_TYPE: {"schema": {"$ref": _COMPONENTS.format(name=JSONAPI_DOCUMENT_SCHEMA)}},
        }
        if rules is not None:
            parameters = _jsonapi_parameters(rules)
        else:
            parameters = _PLAIN_LIST if _is_list(native, schemas) else _PLAIN_ITEM
        taken = {parameter["name"] for parameter in operation.get("parameters", [])}
        operation.setdefault("parameters", []).extend(p for p in parameters if p["name"] not in taken)
    if _is_page(responses.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {}), schemas):
        responses["200"].setdefault("headers", {})["Link"] = _PAGE_LINKS.to_schema()
    if "201" in responses and "Location" not in responses["201"].get("headers", {}):
        responses["201"]["description"] = "Created."  # Litestar's "Document created, URL follows" promises one
    for code in _errors(path, method, operation, either_mode=bool(dual)):
        responses.setdefault(str(STATUS_OF[code]), {"description": ""})
    for status, response in responses.items():
        if status[0] in "45":
            response.update(_error_response(CODE_OF_STATUS.get(int(status), ErrorCode.INTERNAL_ERROR)))
    responses["default"] = {"description": _DEFAULT_ERROR, **_error_content()}
    _document_bucket_headers(operation)
    _document_camel_case_spellings(operation)


def _document_camel_case_spellings(operation: dict[str, Any]) -> None:
    """Each snake_case query parameter says its camelCase spelling, which the server reads as it (see
    app/lib/query.py): said, not listed as a parameter of its own, so a generated client has one argument for it,
    not two that it may not send together."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and (camel := camel_spelling(parameter["name"])) != parameter["name"]:
            also = f"Also taken as `{camel}`."
            parameter["description"] = f"{parameter['description']} {also}" if parameter.get("description") else also


def _document_bucket_headers(operation: dict[str, Any]) -> None:
    """The bucket's headers on every answer of an operation whose requests a rate limit counts, whatever it
    answers: one that takes a credential (the limit counts each request of a known caller; a 401's caller is none),
    or a public one that counts its own (its success declares `COUNTED_HEADERS`)."""
    responses: dict[str, Any] = operation["responses"]
    credentialed = _credentialed(operation)
    counted_itself = any(
        status.startswith("2") and "X-RateLimit-Limit" in response.get("headers", {})
        for status, response in responses.items()
    )
    if not (credentialed or counted_itself):
        return
    unknown_caller = str(STATUS_OF[ErrorCode.UNAUTHORIZED]) if credentialed else None
    for status, response in responses.items():
        if status != unknown_caller:
            headers = response.setdefault("headers", {})
            headers.update({name: header.to_schema() for name, header in _BUCKET_HEADERS.items()})


def _is_list(native: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether a native envelope holds a list: its `data` an array, or a page of `items`."""
    data = _data(native, schemas)
    return data.get("type") == "array" or data.get("properties", {}).get("items", {}).get("type") == "array"


def _is_page(native: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether a native answer is a list's page, which is sent with `Link` (`paging.page_links`): a
    `paging.ListPage`, or the reports' page of `items` with its `page` and `pageSize`."""
    if str(native.get("$ref", "")).rsplit("/", 1)[-1].startswith("ListPage_"):
        return True
    return {"items", "page", "pageSize"} <= set(_data(native, schemas).get("properties", {}))


def _data(native: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schema of a native envelope's `data`, its references followed."""

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        reference = schema.get("$ref", "")
        return resolved(schemas[reference.rsplit("/", 1)[-1]]) if reference else schema

    return resolved(resolved(native).get("properties", {}).get("data", {}))


def _answers_either_mode(response: dict[str, Any]) -> bool:
    """Litestar documents a handler's `Envelope[...] | Response[dict]` (a creation's `jsonapi.CreatedOrDocument`
    too) as `oneOf: [envelope, {}]`; in this API that `Response[dict]` is always the JSON:API document
    (`jsonapi.document_response`, `jsonapi.written`)."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return {} in schema.get("oneOf", [])


def _errors(path: str, method: str, operation: dict[str, Any], *, either_mode: bool) -> list[ErrorCode]:
    """The errors an operation can meet, from what it takes."""
    credentialed = _credentialed(operation)
    body = "requestBody" in operation
    sendable = body or method in _MAY_CARRY_BODY  # a body where the operation takes none is refused too
    checks = [
        (sendable or either_mode or bool(operation.get("parameters")), ErrorCode.VALIDATION_ERROR),
        (credentialed, ErrorCode.UNAUTHORIZED),
        (credentialed, ErrorCode.FORBIDDEN),
        ("{" in path, ErrorCode.NOT_FOUND),
        (credentialed and body and method in _CHANGES, ErrorCode.CONFLICT),
        (sendable, ErrorCode.PAYLOAD_TOO_LARGE),
        (sendable, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        (either_mode, ErrorCode.NOT_ACCEPTABLE),
        (credentialed, ErrorCode.RATE_LIMITED),
    ]
    return [code for applies, code in checks if applies]


def _credentialed(operation: dict[str, Any]) -> bool:
    """Whether the operation takes a credential (a token, a session, a widget key): its caller is known."""
    return operation.get("security") != PUBLIC


def _error_content() -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": _COMPONENTS.format(name=ERROR_SCHEMA)}}}}


def _error_response(code: ErrorCode) -> dict[str, Any]:
    response = {"description": _ERROR_DESCRIPTIONS.get(code, code.value), **_error_content()}
    if code is ErrorCode.RATE_LIMITED:
        response["headers"] = {name: header.to_schema() for name, header in _RATE_HEADERS.items()}
    if code is ErrorCode.UNSUPPORTED_MEDIA_TYPE:
        response["headers"] = {"Accept-Encoding": _IDENTITY_ONLY.to_schema()}
    return response


# `Envelope[X]`, `Envelope[list[X]]`, and a native list's page (`paging.ListPage[X]`, a list's envelope with meta).
_GENERIC = re.compile(r"^(?:Envelope_(?P<list>list_)?|(?P<page>ListPage_))(?:[\w.]*\.)?(?P<name>\w+?)_$")
_INNER_NAMES = {"NoneType": "Empty", "str": "Text"}


def _envelope_name(name: str) -> str:
    match = _GENERIC.match(name)
    if match is None:
        return name
    inner = _INNER_NAMES.get(match["name"], match["name"])
    return f"{inner}{'List' if match['list'] or match['page'] else ''}Envelope"


def _renamed(document: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """`document` with each component named in `names` renamed, and every reference to it."""
    components = document["components"]
    components["schemas"] = {names.get(name, name): schema for name, schema in components["schemas"].items()}
    return cast("dict[str, Any]", _references_renamed(document, names))


def _references_renamed(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        renamed = {key: _references_renamed(item, names) for key, item in value.items()}
        if (old := _component_named(value.get("$ref"))) is not None:
            renamed["$ref"] = _COMPONENTS.format(name=names.get(old, old))
        return renamed
    if isinstance(value, list):
        return [_references_renamed(item, names) for item in value]
    return value
