"""Base schemas: camelCase on the wire, and the `{"success": true, "data": …}` envelope."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

import msgspec
from litestar.types import OperationIDCreator

from app.lib.errors import validation_error

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False):
    """A request or response body whose fields are camelCase in JSON."""


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    success: bool = True
    data: T


def ok(data: T) -> Envelope[T]:
    return Envelope(data=data)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def convert_body(body: dict[str, Any], schema: type[S]) -> S:
    """Validate a JSON object into `schema`, accepting snake_case and camelCase spellings of its fields.

    BugSpark's clients send `assignee_id`, ours send `assigneeId`: both are the same field here.
    """
    known = set(schema.__struct_encode_fields__)

    def spelled(key: str) -> str:
        for candidate in (key, _camel(key), _snake(key)):
            if candidate in known:
                return candidate
        return key

    normalized = {spelled(key) if isinstance(key, str) else key: value for key, value in body.items()}
    try:
        return msgspec.convert(normalized, schema, str_keys=True)
    except msgspec.ValidationError as error:
        raise validation_error(str(error)) from None


def unwrapped(body: dict[str, Any], name: str) -> dict[str, Any]:
    """BugHerd wraps a body in its resource's name (`{"comment": {...}}`); ours is the bare object."""
    inner = body.get(name)
    return inner if len(body) == 1 and isinstance(inner, dict) else body


def decode_json(raw: bytes, schema: type[T]) -> T:
    """Decode and validate a JSON body into `schema`, with errors in the envelope's localized form."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError as error:
        raise validation_error(str(error)) from None
    except msgspec.DecodeError:
        raise validation_error("JSON is malformed") from None


def operation_id(name: str) -> OperationIDCreator:
    """An explicit OpenAPI operation id for a handler served on several paths (a compatibility alias):
    the `/api/v1/…` path gets `name`, any other path `name` + "Compat", so ids stay stable and unique."""

    def create(_handler: Any, _method: Any, components: list[Any]) -> str:
        versioned = [str(part) for part in components[:2]] == ["api", "v1"]
        return name if versioned else f"{name}Compat"

    return create
