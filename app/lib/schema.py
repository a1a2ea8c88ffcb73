"""Base schemas: camelCase on the wire, and the `{"success": true, "data": …}` envelope."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, cast

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.enums import HttpMethod
from litestar.openapi.spec import Schema
from litestar.status_codes import HTTP_201_CREATED
from litestar.types import OperationIDCreator

from app.lib.errors import ErrorCode, FieldError, LanternError, every_error, sent_twice, validation_error
from app.lib.i18n import gettext as _
from app.lib.web_addresses import public_address

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)


def from_zero(*, le: int) -> msgspec.Meta:
    """A number from 0 to `le`: `msgspec.Meta(ge=0, le=le)`, with its minimum in the OpenAPI document too
    (Litestar leaves a bound of 0 out)."""
    return msgspec.Meta(ge=0, le=le, extra_json_schema={"extra": {"minimum": 0}})


def any_items(*, max_length: int) -> msgspec.Meta:
    """A list of up to `max_length` JSON values of any kind, documented with `items: {}` (Litestar leaves a list
    of `Any` without `items`, and code generators refuse such an array)."""
    return msgspec.Meta(max_length=max_length, extra_json_schema={"extra": {"items": Schema()}})


def documented_as(**keywords: Any) -> msgspec.Meta:
    """JSON Schema `keywords` for the OpenAPI document alone, where the server checks the same in code of its own
    (a title's length once trimmed): under `extra`, where Litestar reads them, and msgspec's schema keeps them
    until the served document merges them (`app.lib.openapi.completed`)."""
    return msgspec.Meta(extra_json_schema={"extra": keywords})


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False):
    """A request or response body whose fields are camelCase in JSON."""

    # Pairs of fields that name one thing two ways (a person by id and by address, a column by name and by
    # number): a body gives one of each pair at most (`given`). A struct that has some checks them in its
    # `__post_init__` (`refuse_two_ways`), and the OpenAPI document says so (`app.lib.openapi.json_schema`).
    one_way: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Pairs of fields that are one field under two names, each read its own way (a column by name, and by
    # BugHerd's number for it, `status_id`): a body that sends both sends that field twice, refused as one sent in
    # both spellings is (`convert_body`, `sent_twice`), even when the two agree. The document says so as it says
    # `one_way`.
    one_field: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Fields none of which is required alone, but one of which is (a comment's text, or BugHerd's comment): a
    # struct that has some checks them in its `__post_init__` (`refuse_none_given`).
    one_required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def refusals_across_fields(cls, body: dict[str, Any]) -> list[FieldError]:
        """What a body refused for its fields (`every_error`) is refused for besides, as a whole, which the
        struct's `__post_init__` checks once they pass: none of its `one_required` sent. Every refusal comes at
        once."""
        if not cls.one_required or any(body.get(_encoded(cls)[name]) is not None for name in cls.one_required):
            return []
        return validation_error(_missing_one(cls)).details


def refuse_two_ways(body: CamelStruct) -> None:
    """Refuse `body` if it names one thing two ways (`one_way`): the second of the pair is named, in msgspec's
    words for a field it does not take, localized as its own."""
    for first, second in body.one_way:
        if given(body, first) and given(body, second):
            raise ValueError(f"Object contains unknown field `{_encoded(type(body))[second]}`")


def refuse_none_given(body: CamelStruct) -> None:
    """Refuse `body` if it gives none of its `one_required` fields: the first is named, in msgspec's words for a
    required field not sent, localized as its own."""
    if body.one_required and not any(given(body, name) for name in body.one_required):
        raise ValueError(_missing_one(type(body)))


def _missing_one(kind: type[CamelStruct]) -> str:
    return f"Object missing required field `{_encoded(kind)[kind.one_required[0]]}`"


def _encoded(kind: type[msgspec.Struct]) -> dict[str, str]:
    """Each of `kind`'s fields to its name in JSON."""
    return dict(zip(kind.__struct_fields__, kind.__struct_encode_fields__, strict=True))


def given(body: msgspec.Struct, name: str) -> bool:
    """Whether `body` has a value for its field `name`, one of a `one_way` pair: anything but its default. A
    field of a change, left out by default (`UNSET`), is given when sent, null too (a column of null is the
    feedback column); a field null by default, when it is not null."""
    return getattr(body, name) is not defaults(type(body))[name]


@cache
def defaults(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """Each of `kind`'s fields to its default (`msgspec.NODEFAULT` for a required one)."""
    return {each.name: each.default for each in msgspec.structs.fields(kind)}


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    success: bool = True
    data: T


def ok(data: T) -> Envelope[T]:
    return Envelope(data=data)


def created(data: T, location: str) -> Response[Envelope[T]]:
    """A 201 whose `Location` is the address a GET reads the new resource at (`location`, its path), whole as every
    link Lantern writes is (`public_address`)."""
    return Response(ok(data), status_code=HTTP_201_CREATED, headers={"Location": public_address(location)})


# The `Location` of a 201, documented (`created` sets it). Litestar documents a header's schema as the type of
# its `value`: a string here, which documentation_only keeps out of the answers.
LOCATION = [
    ResponseHeader(
        name="Location",
        value="",
        description="Where the new resource is read: its whole address, under LANTERN_PUBLIC_URL.",
        documentation_only=True,
        required=True,
    )
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def extended(read: msgspec.Struct, schema: type[S], **extra: Any) -> S:
    """`read` as its subclass `schema`, with the fields only that one has (a secret shown once, say)."""
    return schema(**{name: getattr(read, name) for name in read.__struct_fields__}, **extra)


@dataclass(frozen=True, slots=True)
class AsSent:
    """A body's fields in Lantern's names, each with where the client sent it: BugHerd's
    `{"task": {"requester_email": …}}` is our `reporter_email`, sent at `task.requester_email`; a JSON:API
    document's `data.attributes.severity` is our `severity`. A refusal names each field as sent (`named_as_sent`).

    `paths` holds the path of each field sent under another name; any other field is at `at` + its name."""

    fields: dict[str, Any]
    paths: Mapping[str, str] = field(default_factory=dict)
    at: str = ""

    def path(self, name: str) -> str:
        return self.paths.get(name, f"{self.at}{name}")

    def one_for_list(self, name: str) -> AsSent:
        """These fields, with the first item of our list `name` named where its one value was sent: BugHerd's
        one `event` is our `events`, and a refusal of `events[0]` names `event`."""
        return AsSent(self.fields, {**self.paths, f"{name}[0]": self.path(name)}, self.at)

    def renamed(self, names: Mapping[str, str]) -> AsSent:
        """The fields `names` maps (another product's name to ours) under our names, still at their paths; one
        sent under both names (BugHerd's `devurl` and our `siteUrl`) is refused (`sent_twice`)."""
        moved = {names[name]: self.path(name) for name in self.fields if name in names}
        for ours, path in moved.items():
            if ours in self.fields:
                raise sent_twice(path, self.path(ours))
        fields = {names.get(name, name): value for name, value in self.fields.items()}
        return AsSent(fields, {**self.paths, **moved}, self.at)

    def without(self, name: str) -> AsSent:
        return AsSent({key: value for key, value in self.fields.items() if key != name}, self.paths, self.at)


def _as_sent(body: dict[str, Any] | AsSent) -> AsSent:
    return body if isinstance(body, AsSent) else AsSent(body)


def convert_body(body: dict[str, Any] | AsSent, schema: type[S], *, camel_only: bool = False) -> S:
    """Validate a JSON object (or one taken from another form, `AsSent`) into `schema`, accepting snake_case and
    camelCase spellings of its fields; a refusal names each field as the client sent it.

    BugSpark's clients send `assignee_id`, ours send `assigneeId`: both are the same field here, and a body
    that sends both is refused (one would be dropped without a word). A body no other product sends
    (`camel_only`: the organization's, its invitations', GitHub's) takes the camelCase names alone, as it always
    has: another spelling is a field it does not know.
    """
    sent = _as_sent(body)
    if camel_only:
        normalized = dict(sent.fields)
    else:
        if (twice := _spelled_twice(sent, schema)) is not None:
            raise twice
        normalized = {name: sent.fields[key] for name, key in _sent_as(sent.fields, schema).items()}
    try:
        return msgspec.convert(normalized, schema, str_keys=True)
    except msgspec.ValidationError as error:
        raise named_as_sent(every_error(normalized, schema, str(error)), sent, schema) from None


def other_spellings(schema: type[msgspec.Struct]) -> dict[str, str]:
    """The other spelling `convert_body` takes of each of `schema`'s fields that has one (`assignee_id` for
    `assigneeId`, `reporterIdentifier` for `reporter_identifier`), to the field's name in `schema`."""
    spelled = {name: _snake(name) if _snake(name) != name else _camel(name) for name in schema.__struct_encode_fields__}
    return {other: name for name, other in spelled.items() if other != name}


def _sent_as(body: dict[str, Any], schema: type[msgspec.Struct]) -> dict[Any, Any]:
    """Each of `body`'s keys by the name `schema` encodes it with (its camelCase), to the key as sent."""
    return {_encoded_name(key, schema) if isinstance(key, str) else key: key for key in body}


def _encoded_name(key: str, schema: type[msgspec.Struct]) -> str:
    """The name `schema` encodes the field `key` names with, in either spelling; `key` itself for no field."""
    known = schema.__struct_encode_fields__
    for candidate in (key, _camel(key), _snake(key)):
        if candidate in known:
            return candidate
    return key


def _spelled_twice(sent: AsSent, schema: type[msgspec.Struct]) -> LanternError | None:
    """The refusal of a body that sends a field of `schema` under both spellings (`assigneeId` and
    `assignee_id`), or under both its names (`status` and `status_id`, `CamelStruct.one_field`), each named where
    it was sent; None for a body that sends each field once."""
    encoded = _encoded(schema)
    same = {encoded[second]: encoded[first] for first, second in getattr(schema, "one_field", ())}
    first_sent: dict[Any, Any] = {}
    for key in sent.fields:
        name = same.get(encoded_name := _encoded_name(key, schema), encoded_name) if isinstance(key, str) else key
        if name in first_sent:
            return sent_twice(sent.path(first_sent[name]), sent.path(key))
        first_sent[name] = key
    return None


# Where a detail's field names the body's own field: up to a nested one (`metadata.url`) or an item (`tags[0]`).
_HEAD = re.compile(r"[^.\[]*")


def named_as_sent(error: LanternError, body: dict[str, Any] | AsSent, schema: type[msgspec.Struct]) -> LanternError:
    """`error` with each detail naming its field as the client sent it in `body`: its spelling (`console_logs`
    or `consoleLogs`) and its place (`task.requester_email`), for a refusal of the body's `schema`, or of a rule
    a service checks later."""
    sent = _as_sent(body)
    sent_as = _sent_as(sent.fields, schema)
    for detail in error.details:
        if detail.field in sent.paths:  # an item sent as a value of its own (`one_for_list`)
            detail.field = sent.paths[detail.field]
            continue
        head = _HEAD.match(detail.field)[0]  # type: ignore[index] # matches any text
        # Not `body`, the whole of it; a field sent under a name `camel_only` does not take is one it names too.
        if head in sent_as or head in schema.__struct_encode_fields__ or head in sent.fields:
            detail.field = sent.path(sent_as.get(head, head)) + detail.field[len(head) :]
    return error


@contextmanager
def refusals_named_as_sent(body: dict[str, Any] | AsSent, schema: type[msgspec.Struct]) -> Iterator[None]:
    """Name the fields of a refusal raised within (a service's rule: an unknown column, a taken prefix) as the
    client sent them in `body`, read as `schema` (see `named_as_sent`)."""
    try:
        yield
    except LanternError as refused:
        raise named_as_sent(refused, body, schema) from None


def unwrapped(body: dict[str, Any], name: str) -> AsSent:
    """BugHerd wraps a body in its resource's name (`{"comment": {...}}`); ours is the bare object."""
    if len(body) != 1 or name not in body:
        return AsSent(body)
    inner = body[name]
    if not isinstance(inner, dict):  # no field of ours is named so: the wrapper, of the wrong kind
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, _("Must be a JSON object."))])
    return AsSent(inner, at=f"{name}.")


def refuse_nul_text(raw: bytes) -> None:
    """A 400 for JSON whose text holds a NUL character (`\\u0000`), naming where: PostgreSQL cannot store one
    (SQLite could, so the same body was stored on one database and refused on the other). A quick look for the
    escape first: a body without one costs no decoding."""
    if b"\\u0000" not in raw:
        return
    try:
        where = _nul_at(decode_lenient(raw), "")
    except msgspec.DecodeError:
        return  # not JSON: its own refusal says so
    if where is not None:
        message = _("Text cannot contain the NUL character (\\u0000).")
        raise LanternError(ErrorCode.VALIDATION_ERROR, message, details=[FieldError(where or "body", message)])


def _nul_at(value: Any, path: str) -> str | None:
    """The path (`metadata.key`, `consoleLogs[3]`: an index in brackets, as every other refusal names one) of
    the first text in `value` holding a NUL, or None; for a key that holds one, the path of its object."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        if "\x00" in str(key):
            return path
        where = f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}" if path else str(key)
        if (found := _nul_at(child, where)) is not None:
            return found
    return None


class _Members(list[tuple[str, Any]]):
    """An object's members in the order sent, repeats kept, to find where a member was sent twice."""


def refuse_unstorable_json(raw: bytes) -> None:
    """What msgspec's decoding takes and Lantern does not: text with a NUL (`refuse_nul_text`), a member sent
    twice in one object (`refuse_repeated_members`)."""
    refuse_nul_text(raw)
    refuse_repeated_members(raw)


def refuse_repeated_members(raw: bytes) -> None:
    """A 400 for JSON that sends a member twice in one object (`{"name": "a", "name": "b"}`), at any depth,
    naming each where it is, as a query parameter sent twice is: msgspec keeps the last, and the first was dropped
    without a word. msgspec cannot tell; Python's own scanner, which hands over each object's members as sent,
    costs 3 to 5 times msgspec's decoding, so it reads only a body `_may_repeat_members` says may repeat one."""
    if not _may_repeat_members(raw):
        return
    try:
        members = json.loads(raw, object_pairs_hook=_Members)
    except (ValueError, RecursionError):
        return  # not JSON, or nested past Python's stack: msgspec's decoding answers for it
    if paths := _repeated_at(members, ""):
        message = _("This field takes one value: send it once.")
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(path, message) for path in paths])


def _may_repeat_members(raw: bytes) -> bool:
    """Whether JSON may send a member twice in one object, told at msgspec's speed (the widget's submit is
    benchmarked): msgspec's encoding of what it read holds as many `:` as the JSON sent, one after each member
    and the rest in texts, the same texts in both, unless a member was dropped (with its `:` and any in its
    value), or a `:` was sent escaped (`\\u003a`), which its encoding writes plain."""
    try:
        read = decode_lenient(raw)
    except (msgspec.MsgspecError, RecursionError):
        return False  # not JSON msgspec reads (or nested past its depth): its own decoding refuses it
    escaped = b"\\u003a" in raw or b"\\u003A" in raw
    return escaped or raw.count(b":") != msgspec.json.encode(read).count(b":")


def _repeated_at(value: Any, path: str) -> list[str]:
    """The paths (`name`, `metadata.browser.name`, `consoleLogs[0].type`) of the members sent twice in `value`,
    read with its objects as `_Members`, each once, in the order sent."""
    if isinstance(value, _Members):
        sent: set[str] = set()
        found: list[str] = []
        for key, child in value:
            where = f"{path}.{key}" if path else key
            if key in sent and where not in found:
                found.append(where)
            sent.add(key)
            found += _repeated_at(child, where)
        return found
    if isinstance(value, list):
        return [where for index, child in enumerate(value) for where in _repeated_at(child, f"{path}[{index}]")]
    return []


# A JSON escape: a UTF-16 surrogate pair, a lone surrogate (group 1), or any other (so that `\\\\ud83d`, an
# escaped backslash and the letters "ud83d", is read as no surrogate).
_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u([dD][89a-fA-F][0-9a-fA-F]{2})|\\.", re.DOTALL
)


def well_formed_json(raw: bytes) -> bytes | None:
    """`raw` with each escape of a lone UTF-16 surrogate (`\\ud83d` without its low half) replaced by U+FFFD's,
    and without a UTF-8 byte order mark before it, or None when it has neither. A browser's JSON.stringify writes
    such an escape for a page's string cut inside an emoji ("Grüße 😀".slice(0, 7) in a console message, a
    title): msgspec refuses it, and a whole report was lost. A mark comes with a file saved as "UTF-8 with BOM"
    and sent as it is (PowerShell 5's `-InFile`), which RFC 8259 lets a reader ignore."""
    unmarked = raw.removeprefix(codecs.BOM_UTF8)
    repaired = _ESCAPE.sub(lambda escape: b"\\ufffd" if escape[1] else escape[0], unmarked)
    return repaired if repaired != raw else None


def decode_lenient(raw: bytes, schema: Any = Any) -> Any:
    """msgspec's JSON decoding of `raw` into `schema`, reading a lone surrogate as U+FFFD (`well_formed_json`):
    only a body that fails is searched for one, so a well-formed one costs nothing more."""
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError:
        repaired = well_formed_json(raw)
        if repaired is None:
            raise
        return msgspec.json.decode(repaired, type=schema)


def decode_json(raw: bytes, schema: type[T], part: str | None = None) -> T:
    """Decode and validate a JSON body into `schema`, with errors in the envelope's localized form. JSON sent
    in a form's `part` (multipart's `data`) that is not JSON is named by that part."""
    refuse_unstorable_json(raw)
    try:
        return cast("T", decode_lenient(raw, schema))
    except msgspec.ValidationError as error:
        first = str(error)
    except msgspec.DecodeError:
        raise _malformed(part) from None
    try:
        body = decode_lenient(raw)
    except msgspec.ValidationError:  # a number too large for any type (1e999): `first` says where
        raise validation_error(first) from None
    except msgspec.DecodeError:  # msgspec met a wrong field before the JSON broke off
        raise _malformed(part) from None
    raise every_error(body, schema, first)


def _malformed(part: str | None) -> LanternError:
    if part is None:
        return validation_error("JSON is malformed")
    return LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(part, _("Must be valid JSON."))])


def operation_id(name: str) -> OperationIDCreator:
    """An explicit OpenAPI operation id for a handler served on several paths (a compatibility alias):
    the `/api/v1/…` path gets `name`, any other path `name` + "Compat", so ids stay stable and unique."""

    def create(_handler: Any, _method: Any, components: list[Any]) -> str:
        versioned = [str(part) for part in components[:2]] == ["api", "v1"]
        return name if versioned else f"{name}Compat"

    return create


# The methods of a change: ours is PATCH; BugHerd's clients send PUT, which in BugHerd's API changes only the
# fields sent, as our PATCH does. One handler answers both (`by_method` names each operation).
PATCH_OR_PUT = [HttpMethod.PATCH, HttpMethod.PUT]


def by_method(**names: str) -> OperationIDCreator:
    """Explicit OpenAPI operation ids for a handler that answers several methods, one per method
    (`by_method(PATCH="UpdateProject", PUT="PutProject")`), so that each stays stable and unique."""

    def create(_handler: Any, method: Any, _components: list[Any]) -> str:
        return names[method]

    return create
