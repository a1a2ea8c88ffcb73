"""JSON:API 1.1 mode for list and item endpoints: the query parsed into a typed request, documents, links.

A handler checks `requested(request)`; in JSON:API mode it parses the query against its `QueryRules`
(unknown fieldsets, members, includes, filters, sorts and page parameters are a 400 naming the parameter),
builds `Resource`s and answers with `document_response`. Errors keep Lantern's one error envelope
(SPEC §4), served as `application/json`, so a client handles errors the same way in both modes. Which forms of
JSON:API's media type a request may send and ask for (its parameters) is decided here too (`unsupported`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.datastructures import Accept
from litestar.datastructures.headers import MediaTypeHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.lib.asgi import VARIES_ON_ACCEPT
from app.lib.errors import ErrorCode, FieldError, LanternError, repeated_parameter, sent_twice
from app.lib.i18n import format_number
from app.lib.i18n import gettext as _
from app.lib.schema import AsSent, Envelope, created, ok
from app.lib.web_addresses import public_address

MEDIA_TYPE = "application/vnd.api+json"
MAX_LIMIT = 100
MAX_OFFSET = 1_000_000_000  # far past any tenant's rows, and within the databases' 64-bit offsets
DEFAULT_LIMIT = 20
_FAMILY = re.compile(r"^(?P<family>fields|filter|page)\[(?P<member>[^\[\]]*)\]$")
# What looks meant as one of them (`filter=x`, `filter[status`): JSON:API mode, and a 400 that names it.
_FAMILY_LIKE = re.compile(r"^(?:fields|filter)$|^(?:fields|filter|page)\[")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")  # a page parameter's, in ASCII digits
KEYSET_PAGES = ("limit", "offset", "after", "before")  # a list paged in the database
WHOLE_LIST_PAGES = ("limit", "offset")  # a short list read whole, paged in memory
_PAGE_STARTS = ("offset", "after", "before")  # where a page begins: one of them at most


def requested(request: Request[Any, Any, Any]) -> bool:
    """JSON:API mode: asked for by media type (preferred to plain JSON by its q-value, or first of the two at
    the same one, among the forms of it Lantern answers: see `accepted`), by a body sent as a JSON:API document
    (its `Content-Type`) unless `Accept` takes no document (`application/json` alone: answered so), or by any of
    its query parameters. Either way the answer depends on `Accept` (Vary)."""
    answer = asked(request)
    if answer.prefers_document:
        return True
    if request.content_type[0] == MEDIA_TYPE:
        return answer.takes_document
    return any(is_parameter(key) for key in request.query_params)


def is_parameter(key: str) -> bool:
    """A query parameter of JSON:API's (`include`, `sort`, `filter[…]`…), or one that looks meant as one."""
    return key in {"include", "sort"} or bool(_FAMILY_LIKE.match(key))


# Content negotiation (JSON:API 1.1, "Content Negotiation") ------------------------------------------
# JSON:API's media type takes two parameters: `ext`, the extensions a document uses, which change what it means,
# and `profile`, which a server may ignore. Any other (`charset` too: its JSON is UTF-8 by definition) or an
# extension the server does not implement is refused: a 415 for a body, a 406 for an `Accept` that names the media
# type in no other form. Both refusals, and which forms of it `Accept` asks for, are decided here.

EXTENSIONS: frozenset[str] = frozenset()  # the extension URIs Lantern implements: none
_PARAMETERS = frozenset({"ext", "profile"})
_PLAIN = MediaTypeHeader(MEDIA_TYPE)


def unsupported(params: Mapping[str, str]) -> str | None:
    """Why Lantern cannot take the JSON:API media type with these parameters, naming the one it cannot; None
    when it can (any profile is taken, and ignored)."""
    for name, value in params.items():
        if name not in _PARAMETERS:
            return _("The JSON:API media type takes no parameter %(name)s, only ext and profile.", name=name)
        if name == "ext" and (unknown := [uri for uri in value.split() if uri not in EXTENSIONS]):
            return _("Unsupported JSON:API extension (ext): %(extensions)s.", extensions=" ".join(unknown))
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a request's `Accept` asks of JSON:API: whether it prefers a document to the native JSON, and why
    each form of the media type Lantern cannot answer was ignored. When `Accept` names the media type only in
    such forms, with no range that holds its plain form (`*/*`), or takes neither answer (`text/html` alone, or
    `q=0`), it asks for nothing Lantern can send (406)."""

    prefers_document: bool
    refusals: tuple[str, ...] = ()
    answerable: bool = True
    takes_document: bool = True  # whether a document would do, where the request asks for one another way


# The `Accept` most requests send, which takes the native JSON: fetch()'s and most clients' `*/*`, or none at all
# (`asked` reads that as `*/*`, as RFC 9110 does; an empty one too). Known without parsing: the widget's submit is
# benchmarked.
_PLAINLY_JSON = {
    "*/*": Accepted(prefers_document=False),
    "": Accepted(prefers_document=False),
    "application/json": Accepted(prefers_document=False, takes_document=False),
}
# Ranges that take JSON without naming it: JSON is text (`text/plain`, `text/*`), its names before RFC 4627
# (`text/json`, `application/x-json`, `text/javascript`), `*` for `*/*`, and a JSON-based type (`+json`).
_TAKES_JSON = frozenset({"text/plain", "text/*", "text/json", "application/x-json", "text/javascript", "*/"})
# Bugcrowd's name for its JSON:API documents, which its document tells clients to ask for: they get one.
_DOCUMENT_ALIAS = "application/vnd.bugcrowd+json"


def accepted(header: str) -> Accepted:
    """What an `Accept` header's value asks of JSON:API, and whether it takes either answer: by RFC 9110's ranges
    (12.5.1), `*/*`, `application/*` and the media types themselves, and JSON by the ranges that take it without
    naming it (`_TAKES_JSON`, any `+json`); `text/html` or `image/png` alone takes neither (406)."""
    if (plainly := _PLAINLY_JSON.get(header.strip())) is not None:
        return plainly
    ranges: list[MediaTypeHeader] = []
    refusals: list[str] = []
    for item in header.split(","):
        media = MediaTypeHeader(item)
        if f"{media.maintype}/{media.subtype}" == _DOCUMENT_ALIAS:
            media = MediaTypeHeader(
                ";".join([MEDIA_TYPE, *(f"{name}={value}" for name, value in media.params.items())])
            )
        if f"{media.maintype}/{media.subtype}" != MEDIA_TYPE:
            ranges.append(_as_json(media) if _takes_json(media) else media)
        elif _quality(media) == 0 or (refusal := unsupported(_without_q(media.params))) is None:
            # Its plain form, with its weight: a profile (ignored) makes it no more specific than `application/json`;
            # refused by the client (`q=0`), it is refused whatever its parameters, and asks for nothing.
            ranges.append(MediaTypeHeader(f"{MEDIA_TYPE};q={media.params['q']}" if "q" in media.params else MEDIA_TYPE))
        else:
            refusals.append(refusal)
    # The two answers the client does not refuse (`q=0`); of both, the one its first range by weight holds.
    answers = [offered for offered in (_JSON, _PLAIN) if _acceptable(ranges, offered)]
    if len(answers) > 1:
        weighed = Accept(",".join(str(media) for media in ranges if _quality(media) > 0))
        preferred = weighed.best_match([MediaType.JSON.value, MEDIA_TYPE])
    else:
        preferred = str(answers[0]) if answers else None
    holds_media_type = any(media.match(_PLAIN) for media in ranges)
    return Accepted(
        prefers_document=preferred == MEDIA_TYPE,
        refusals=tuple(dict.fromkeys(refusals)),
        answerable=(holds_media_type or not refusals) and preferred is not None,
        takes_document=_PLAIN in answers,
    )


_JSON = MediaTypeHeader(MediaType.JSON.value)


def _takes_json(media: MediaTypeHeader) -> bool:
    return f"{media.maintype}/{media.subtype}" in _TAKES_JSON or media.subtype.endswith("+json")


def _as_json(media: MediaTypeHeader) -> MediaTypeHeader:
    """A range that takes JSON read as `application/json`, with its weight."""
    return MediaTypeHeader(
        f"{MediaType.JSON.value};q={media.params['q']}" if "q" in media.params else MediaType.JSON.value
    )


def _acceptable(ranges: Sequence[MediaTypeHeader], offered: MediaTypeHeader) -> bool:
    """Whether `Accept` takes `offered`: the most specific of its ranges that holds it (the first of equals) does
    not give it `q=0`, as RFC 9110 (12.5.1) reads it (`application/json;q=0, */*` refuses JSON alone). Litestar's
    `Accept` orders ranges by weight and reads none as a refusal."""
    holding = [media for media in ranges if offered.match(media)]
    return bool(holding) and _quality(max(holding, key=lambda media: media.priority[1])) > 0


def _quality(media: MediaTypeHeader) -> float:
    """A range's q-value: 1 unless it says otherwise, as Litestar reads one it cannot parse."""
    try:
        return float(media.params.get("q", 1))
    except ValueError:
        return 1.0


def _without_q(params: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in params.items() if name != "q"}


# Scope state: what the request's `Accept` asks of JSON:API (`asked`), read once however often it is asked.
_ASKED = "jsonapi_asked"


def asked(request: Request[Any, Any, Any]) -> Accepted:
    """What this request's `Accept` asks of JSON:API, parsed on first use: the check before the handler and every
    `requested` after it read the same. The answer depends on it (Vary)."""
    state = request.scope["state"]
    state[VARIES_ON_ACCEPT] = True
    if (known := state.get(_ASKED)) is None:
        known = state[_ASKED] = accepted(request.headers.get("accept", "*/*"))
    return cast("Accepted", known)


def refuse_unanswerable_accept(request: Request[Any, Any, Any]) -> None:
    """Before a handler does anything (a `before_request` check): a route with a JSON:API mode answers an `Accept`
    that asks for JSON:API only in forms Lantern cannot send, or refuses both its answers, with a 406 that names
    why. A route that answers only its native JSON reads no `Accept`, and is not asked."""
    if not has_mode(request.route_handler):
        return
    answer = asked(request)
    if not answer.answerable:
        refusals = answer.refusals or [_both_refused()]
        raise LanternError(ErrorCode.NOT_ACCEPTABLE, details=[FieldError("Accept", refusal) for refusal in refusals])


def _both_refused() -> str:
    return _(
        "Accept refuses both media types this endpoint answers in: %(native)s and %(document)s.",
        native=MediaType.JSON.value,
        document=MEDIA_TYPE,
    )


@cache  # a handler's answer does not change: read once, not on every request
def has_mode(handler: HTTPRouteHandler) -> bool:
    """Whether a route has a JSON:API mode: its handler answers the native body or a document (`Envelope[X] |
    Response[dict]`, a list's `paging.ListAnswer`, a creation's `CreatedOrDocument`), the union its OpenAPI
    operation documents under both media types (`openapi._answers_either_mode`)."""
    answer = handler.parsed_fn_signature.return_type
    return answer.is_union and any(member.origin is Response for member in answer.inner_types)


# What a request's document may hold (JSON:API 1.1, "Document Structure" and "Creating Resources"): one resource
# object as `data`, and beside it the `jsonapi` object and the `meta` any document may carry, `meta` ignored. A
# request's `included` (compound documents are answers here), `links` (a request has none to give) or any member
# JSON:API does not name is refused, not dropped without a word; so is one in `data` or `jsonapi`. A resource
# object's `lid` identifies it within the document alone, which has nothing else to refer to it: ignored too.
_DOCUMENT_MEMBERS = ("data", "jsonapi", "meta")
_RESOURCE_MEMBERS = ("type", "id", "lid", "attributes", "relationships", "meta")
_JSONAPI_MEMBERS = ("version", "ext", "profile", "meta")
VERSIONS = frozenset({"1.0", "1.1"})  # the versions whose documents Lantern reads (1.1 reads 1.0's)


async def body_as_sent(  # noqa: PLR0913 - the request, its body, and how its fields are read
    request: Request[Any, Any, Any],
    body: dict[str, Any],
    type_name: str,
    *,
    names_resource: Callable[[str], Awaitable[bool]] | None = None,
    other_form: Callable[[dict[str, Any]], AsSent] = AsSent,
    relationships: Mapping[str, str] | None = None,
) -> AsSent:
    """The fields of a body that creates or changes a resource, in any form the API takes, each where it was
    sent: a JSON:API document (any body sent as its media type, or one with a member `data`, which no native body
    has), or `other_form` (the native body, BugHerd's wrapped one).

    A document holds its resource object and at most `jsonapi` and `meta` (`_resource_object`). Its `data.type` is
    `type_name` and, for a change, its `data.id` one that `names_resource` says names the resource of the address;
    either otherwise is a 409 (`_check_identity`). A creation has no `names_resource`: its id is Lantern's to make,
    and one sent is a 403, as JSON:API answers an id a server does not take from clients. Its attributes and to-one
    relationships are read by `_attributes`, a relationship's id renamed to the field that takes it by
    `relationships` (`authorId` → `userId`). A document with neither creates a resource of nothing sent (what is
    missing named in its attributes), and changes nothing: a change's is a 400, as its documented body
    (`openapi.jsonapi_body`) says."""
    if "data" not in body and request.content_type[0] != MEDIA_TYPE:
        return other_form(body)
    data = _resource_object(body, type_name)
    if names_resource is None and "id" in data:
        message = _("The server gives a new resource its id: send none.")
        raise LanternError(ErrorCode.FORBIDDEN, message, details=[FieldError("data.id", message)])
    await _check_identity(data, type_name, names_resource or _any_id)
    if not {"attributes", "relationships"} & data.keys():
        if names_resource is not None:
            message = _("Send the changes in data.attributes, data.relationships or both.")
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("data", message)])
        return AsSent({}, at="data.attributes.")
    return _attributes(data).renamed(relationships or {})


def _resource_object(body: dict[str, Any], type_name: str) -> dict[str, Any]:
    """The resource object a request's document sends as `data`, of the type `type_name` names; a 400 naming every
    member the document may not hold where it is (see `_DOCUMENT_MEMBERS`), and every one it lacks."""
    data = body.get("data")
    refused = _not_allowed(body, "", _DOCUMENT_MEMBERS)
    if "data" not in body:
        refused.insert(0, FieldError("data", _document_required()))
    elif not isinstance(data, dict):  # a list of resources, say: one at a time
        refused.insert(0, FieldError("data", _('Must be one resource object {"type": …, "attributes": …}.')))
    else:
        refused += _not_allowed(data, "data.", _RESOURCE_MEMBERS) + _not_objects(data, "data.", ("meta",))
        if data.get("type") is None:
            message = _(
                "This field is required: the type of the resources this address takes, %(type)s.", type=type_name
            )
            refused.append(FieldError("data.type", message))
    refused += _not_objects(body, "", ("jsonapi", "meta"))
    if isinstance(implementation := body.get("jsonapi"), dict):
        refused += _not_allowed(implementation, "jsonapi.", _JSONAPI_MEMBERS) + _unread_version(implementation)
    if refused:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=refused)
    return cast("dict[str, Any]", data)


def _document_required() -> str:
    return _("A body sent as %(media_type)s is a JSON:API document: send the resource as data.", media_type=MEDIA_TYPE)


def _not_allowed(members: Mapping[str, Any], at: str, allowed: Sequence[str]) -> list[FieldError]:
    message = _(
        "Not allowed in a JSON:API request document, where this object takes %(members)s.", members=", ".join(allowed)
    )
    return [FieldError(f"{at}{name}", message) for name in members if name not in allowed]


def _not_objects(members: Mapping[str, Any], at: str, names: Sequence[str]) -> list[FieldError]:
    wrong = [name for name in names if name in members and not isinstance(members[name], dict)]
    return [FieldError(f"{at}{name}", _("Must be a JSON object.")) for name in wrong]


def _unread_version(implementation: Mapping[str, Any]) -> list[FieldError]:
    """A `jsonapi` object's version Lantern does not read, or an extension it does not implement (`ext`, which
    its `Content-Type` names too): each refused where it was sent."""
    refused = []
    if "version" in implementation and implementation["version"] not in VERSIONS:
        message = _("Lantern reads JSON:API 1.0 and 1.1 documents: send the version 1.1, or none.")
        refused.append(FieldError("jsonapi.version", message))
    extensions = implementation.get("ext") or []
    sent = extensions if isinstance(extensions, list) else [extensions]
    if unknown := [str(uri) for uri in sent if uri not in EXTENSIONS]:
        message = _("Unsupported JSON:API extension (ext): %(extensions)s.", extensions=" ".join(unknown))
        refused.append(FieldError("jsonapi.ext", message))
    return refused


async def _any_id(_sent_id: str) -> bool:
    return True


def same_id(resource_id: object) -> Callable[[str], Awaitable[bool]]:
    """A `names_resource` for a resource whose address gives its one id (a UUID in any case)."""

    async def names(sent_id: str) -> bool:
        return sent_id.strip().casefold() == str(resource_id).casefold()

    return names


def _attributes(data: dict[str, Any]) -> AsSent:
    """The changes a resource object asks for: its `attributes`, with each to-one relationship it sets
    (`relationships.assignee.data`, a resource identifier or null) as that resource's id (`assigneeId`). Each
    where it was sent, for a refusal to name."""
    sent, relationships = data.get("attributes", {}), data.get("relationships", {})
    not_objects = [
        FieldError(f"data.{member}", _("Must be a JSON object."))
        for member, value in (("attributes", sent), ("relationships", relationships))
        if not isinstance(value, dict)
    ]
    if not_objects:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=not_objects)
    changes = dict(sent)
    paths: dict[str, str] = {}
    for name, relationship in relationships.items():
        at = f"data.relationships.{name}"
        linked = relationship.get("data") if isinstance(relationship, dict) else relationship
        at = f"{at}.data" if isinstance(relationship, dict) else at
        if linked is not None and not isinstance(linked, dict):  # an id alone (5) says not what it is of
            message = _('Must be a resource identifier object {"type": …, "id": …}, or null.')
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(at, message)])
        value, path = (linked.get("id"), f"{at}.id") if isinstance(linked, dict) else (linked, at)
        if f"{name}Id" in changes:  # in the attributes too: neither may be dropped without a word
            raise sent_twice(f"data.attributes.{name}Id", path)
        changes[f"{name}Id"], paths[f"{name}Id"] = value, path
    return AsSent(changes, paths, at="data.attributes.")


async def _check_identity(
    data: dict[str, Any], type_name: str, names_resource: Callable[[str], Awaitable[bool]]
) -> None:
    """A JSON:API document's resource object names the resource it creates or changes: another `type`, or an `id`
    that `names_resource` says names another (an id of the resource in another spelling, as its address may give
    it, names it), is a 409 (JSON:API's answer), not a change applied to the resource of the address."""
    mismatched = []
    if str(data["type"]) != type_name:
        mismatched.append(_not_the_resource("type", data["type"]))
    if (sent_id := data.get("id")) is not None and not await names_resource(str(sent_id)):
        mismatched.append(_not_the_resource("id", sent_id))
    if mismatched:
        raise LanternError(ErrorCode.CONFLICT, details=mismatched)


def _not_the_resource(member: str, sent: object) -> FieldError:
    return FieldError(f"data.{member}", _("This is not the resource of the address: %(value)s.", value=sent))


def member_name(raw: str) -> str:
    """A member name as documents spell it (camelCase, like the native API); `created_at` is accepted too."""
    head, *rest = raw.strip().split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    attributes: tuple[str, ...]
    relationships: tuple[str, ...] = ()

    @property
    def members(self) -> frozenset[str]:
        return frozenset((*self.attributes, *self.relationships))


@dataclass(frozen=True, slots=True)
class QueryRules:
    """What one endpoint accepts: its resource type, includable relationships (name → type), filter names,
    sortable members, and its page parameters (none: not a list)."""

    primary: ResourceType
    includes: Mapping[str, ResourceType] = field(default_factory=dict)
    filters: frozenset[str] = frozenset()
    sorts: frozenset[str] = frozenset()
    pages: tuple[str, ...] = ()

    def type_named(self, name: str) -> ResourceType | None:
        known = {self.primary.name: self.primary, **{kind.name: kind for kind in self.includes.values()}}
        return known.get(name)


@dataclass(frozen=True, slots=True)
class SortKey:
    member: str
    descending: bool


@dataclass(frozen=True, slots=True)
class JsonApiQuery:
    fields: Mapping[str, frozenset[str]]
    include: tuple[str, ...]
    filters: Mapping[str, tuple[str, ...]]
    sort: tuple[SortKey, ...]
    limit: int = DEFAULT_LIMIT
    offset: int | None = None
    after: str | None = None
    before: str | None = None

    def fieldset(self, type_name: str) -> frozenset[str] | None:
        """The members asked for on `type_name`, or None for all of them."""
        return self.fields.get(type_name)


def _sort_key(part: str) -> SortKey:
    """`-member` (JSON:API) or, as Bugcrowd writes it, `member-desc`; `member` or `member-asc` ascend."""
    for suffix, descending in (("-asc", False), ("-desc", True)):
        if part.endswith(suffix):
            return SortKey(member_name(part.removesuffix(suffix)), descending)
    return SortKey(member_name(part.removeprefix("-")), part.startswith("-"))


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class _Parser:
    """Collects every problem of a query, so one 400 names them all."""

    def __init__(self, rules: QueryRules) -> None:
        self.rules = rules
        self.errors: list[FieldError] = []
        self.fields: dict[str, frozenset[str]] = {}
        self.include: tuple[str, ...] = ()
        self.filters: dict[str, tuple[str, ...]] = {}
        self.filter_keys: dict[str, str] = {}  # each filter's member to its parameter as sent
        self.sort: tuple[SortKey, ...] = ()
        self.page: dict[str, str] = {}
        self.fed: set[str] = set()

    def feed(self, key: str, value: str) -> None:
        if is_parameter(key) and not key.startswith("filter["):  # a filter sent again adds to its values
            if key in self.fed:
                self.errors.append(repeated_parameter(key))
                return
            self.fed.add(key)
        if key == "include":
            self._include(value)
        elif key == "sort":
            self._sort(value)
        elif match := _FAMILY.match(key):
            getattr(self, f"_{match['family']}")(key, match["member"], value)
        elif _FAMILY_LIKE.match(key):
            self.errors.append(FieldError(key, _("Malformed parameter: %(name)s.", name=key)))

    def _fields(self, key: str, type_name: str, value: str) -> None:
        kind = self.rules.type_named(type_name)
        if kind is None:
            self.errors.append(FieldError(key, _("Unknown resource type: %(name)s.", name=type_name)))
            return
        members = frozenset(member_name(part) for part in _split(value))
        self.errors.extend(
            FieldError(key, _("Unknown field: %(name)s.", name=name)) for name in sorted(members - kind.members)
        )
        self.fields[type_name] = members

    def _include(self, value: str) -> None:
        self.include = tuple(dict.fromkeys(_split(value)))
        if not self.rules.includes:
            self.errors.append(FieldError("include", _("There is nothing to include here.")))
            return
        names = _listed(self.rules.includes)
        self.errors.extend(
            FieldError(
                "include",
                _("This relationship cannot be included: %(name)s. Use one of: %(names)s.", name=name, names=names),
            )
            for name in self.include
            if name not in self.rules.includes
        )

    def _filter(self, key: str, name: str, value: str) -> None:
        if not self.rules.filters:
            self.errors.append(FieldError(key, _("There is nothing to filter here.")))
            return
        member = self._filter_named(name)
        if member not in self.rules.filters:
            names = _listed(self.rules.filters)
            self.errors.append(
                FieldError(key, _("Unknown filter: %(name)s. Use one of: %(names)s.", name=name, names=names))
            )
            return
        sent_as = self.filter_keys.setdefault(member, key)
        if sent_as != key:  # `filter[external_id]` beside `filter[externalId]`: a body's field would be refused
            self.errors.extend(sent_twice(sent_as, key).details)
            return
        # A filter repeated with `&` adds to the same list, like its comma-separated values.
        self.filters[member] = (*self.filters.get(member, ()), *_split(value))

    def _filter_named(self, name: str) -> str:
        """The filter `name` means: `filter[external_id]` is `filter[externalId]`, as in `fields` and `sort`, and
        a relationship's is named by its id too (`filter[project_id]`, as Bugcrowd's `filter[organization_id]`)."""
        member = member_name(name)
        stem = member.removesuffix("Id")
        return stem if member not in self.rules.filters and stem in self.rules.filters else member

    def _sort(self, value: str) -> None:
        parts = _split(value)
        keys = tuple(_sort_key(part) for part in parts)
        self.sort = keys
        if not self.rules.sorts:
            self.errors.append(FieldError("sort", _("There is nothing to sort here.")))
            return
        names = _listed(self.rules.sorts)
        self.errors.extend(
            FieldError("sort", _("Cannot sort by %(name)s. Use one of: %(names)s.", name=part, names=names))
            for part, key in zip(parts, keys, strict=True)
            if key.member not in self.rules.sorts
        )
        # A field once: a second adds no order, and hundreds of them made one request's query take seconds.
        if len({key.member for key in keys}) < len(keys):
            self.errors.append(FieldError("sort", _("Sort by each field once.")))

    def _page(self, key: str, name: str, value: str) -> None:
        if not self.rules.pages:
            self.errors.append(FieldError(key, _("There are no pages here.")))
        elif name not in self.rules.pages:
            self.errors.append(FieldError(key, _("Unknown page parameter: %(name)s.", name=name)))
        else:
            self.page[name] = value.strip()

    def _whole(self, name: str, low: int, high: int) -> int | None:
        key = f"page[{name}]"
        # Digits as a query string writes them: `int` also reads "1_000" and full-width digits, which the native
        # `page_size` refuses.
        if not _WHOLE_NUMBER.fullmatch(self.page[name]):
            self.errors.append(FieldError(key, _("Must be a whole number.")))
            return None
        number = int(self.page[name])
        if number < low:
            self.errors.append(FieldError(key, _("Must be at least %(min)s.", min=low)))
        elif number > high:
            self.errors.append(FieldError(key, _("Must be at most %(max)s.", max=format_number(high))))
        return number

    def result(self) -> JsonApiQuery:
        limit = self._whole("limit", 0, MAX_LIMIT) if "limit" in self.page else DEFAULT_LIMIT
        offset = self._whole("offset", 0, MAX_OFFSET) if "offset" in self.page else None
        starts = [name for name in _PAGE_STARTS if name in self.page]
        if len(starts) > 1:
            message = _("Use only one of page[offset], page[after] and page[before].")
            self.errors.append(FieldError(f"page[{starts[-1]}]", message))
        if self.errors:
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=self.errors)
        return JsonApiQuery(
            fields=self.fields,
            include=self.include,
            filters=self.filters,
            sort=self.sort,
            limit=DEFAULT_LIMIT if limit is None else limit,
            offset=offset,
            after=self.page.get("after") or None,
            before=self.page.get("before") or None,
        )


def parse_query(params: Iterable[tuple[str, str]], rules: QueryRules) -> JsonApiQuery:
    """The JSON:API parameters of a query string, checked against `rules`; other parameters are ignored."""
    parser = _Parser(rules)
    for key, value in params:
        parser.feed(key, value)
    return parser.result()


# Documents -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str
    id: str

    def render(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True, slots=True)
class Relationship:
    """`data` is linkage (None: an empty to-one); `linked=False` leaves it out (not loaded, not included)."""

    data: Identifier | list[Identifier] | None = None
    related: str | None = None  # the path a GET reads the related resources at; linked whole (`public_address`)
    linked: bool = True
    # A to-many linkage's size: how many it lists of how many there are (Bugcrowd's `count` and `total_hits`).
    total: int | None = None

    def render(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        data = self.data
        if self.linked:
            body["data"] = [item.render() for item in data] if isinstance(data, list) else data and data.render()
        if self.related:
            address = public_address(self.related)
            if isinstance(data, list) and self.total is not None:
                meta = {"count": len(data), "total_hits": self.total}
                body["links"] = {"related": {"href": address, "meta": meta}}
            else:
                body["links"] = {"related": address}
        return body


# Where a GET reads each type of resource that has an address of its own: its `links.self`, wherever it is
# rendered (a list, an item, `included`). `{id}` is the resource's; another name, the id its relationship of that
# name links to (a column's project), or else its attribute of that name (a delivery's webhookId). A type not here
# (a comment, a project's person, a key) has no address.
ADDRESSES: Mapping[str, str] = {
    "organization": "/api/v1/organization",
    "membership": "/api/v1/organization/members/{id}",
    "project": "/api/v1/projects/{id}",
    "githubConnection": "/api/v1/projects/{id}/integrations/github",  # its id is its project's
    "column": "/api/v1/projects/{project}/columns/{id}",
    "token": "/api/v1/tokens/{id}",
    "webhook": "/api/v1/webhooks/{id}",
    "report": "/api/v1/reports/{id}",
    "attachment": "/api/v1/reports/{report}/attachments/{id}",
    "delivery": "/api/v1/webhooks/{webhookId}/deliveries/{id}",
}


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    id: str
    attributes: Mapping[str, Any]
    relationships: Mapping[str, Relationship] = field(default_factory=dict)

    @property
    def self_link(self) -> str | None:
        address = ADDRESSES.get(self.type)
        if address is None:
            return None
        linked = {name: rel.data.id for name, rel in self.relationships.items() if isinstance(rel.data, Identifier)}
        return public_address(address.format_map({**self.attributes, **linked, "id": self.id}))

    def render(self, fieldset: frozenset[str] | None) -> dict[str, Any]:
        def wanted(name: str) -> bool:
            return fieldset is None or name in fieldset

        body: dict[str, Any] = {"type": self.type, "id": self.id}
        body["attributes"] = {name: value for name, value in self.attributes.items() if wanted(name)}
        relationships = {name: rel.render() for name, rel in self.relationships.items() if wanted(name)}
        if relationships:
            body["relationships"] = relationships
        if self.self_link:
            body["links"] = {"self": self.self_link}
        return body


def document(
    query: JsonApiQuery,
    data: Resource | Sequence[Resource],
    *,
    included: Iterable[Resource] = (),
    links: Mapping[str, str | None],
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A top-level document; `included` is de-duplicated and never repeats a primary resource."""
    primary = [data] if isinstance(data, Resource) else list(data)
    seen = {(resource.type, resource.id) for resource in primary}
    unique: list[Resource] = []
    for resource in included:
        if (resource.type, resource.id) not in seen:
            seen.add((resource.type, resource.id))
            unique.append(resource)
    rendered = [resource.render(query.fieldset(resource.type)) for resource in primary]
    body: dict[str, Any] = {
        "jsonapi": {"version": "1.1"},
        "data": rendered[0] if isinstance(data, Resource) else rendered,
        "links": dict(links),
    }
    if query.include:
        body["included"] = [resource.render(query.fieldset(resource.type)) for resource in unique]
    if meta:
        body["meta"] = dict(meta)
    return body


def page_meta(count: int, total: int | None) -> dict[str, int]:
    """A list page's `meta`: how many resources it holds and, when counted, how many the whole list has, also
    under Bugcrowd's name (`total_hits`) so its clients read it where they look for it."""
    return {"count": count} if total is None else {"count": count, "total": total, "total_hits": total}


def document_response(body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(body, media_type=MEDIA_TYPE)


def written(body: dict[str, Any], location: str | None = None, *, made: bool = False) -> Response[dict[str, Any]]:
    """The document of a resource read or just changed (200), or `made` (201; `location`, the path where a GET
    reads it, whole as every link of a document is, is its `Location` and its self link, not the address the
    request was sent to)."""
    address = public_address(location) if location is not None else None
    if address is not None:
        body["links"] = {**body.get("links", {}), "self": address}
    status = HTTP_201_CREATED if made or address is not None else HTTP_200_OK
    headers = {"Location": address} if address is not None else None
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


T = TypeVar("T")
if TYPE_CHECKING:
    # A creation's answer in either mode: a 201 with the native envelope and its `Location` (`created`), or with
    # the JSON:API document (`written`, `created_or_document`). What mypy checks the handler's answers against.
    CreatedOrDocument: TypeAlias = Response[Envelope[T]] | Response[dict[str, Any]]
else:
    # What Litestar reads, to document it: of a union of responses it documents the first member alone, and that
    # as `{}`. The native body beside the document's response it documents as it does an item's answer in either
    # mode (`Envelope[X] | Response[dict]`), which `openapi.completed` makes the envelope under `application/json`
    # and the JSON:API document under MEDIA_TYPE. The handler declares the `Location` (`response_headers=LOCATION`).
    CreatedOrDocument = Envelope[T] | Response[dict[str, Any]]


PLAIN_DESCRIPTION = (
    "JSON:API mode (`Accept: application/vnd.api+json`, or a JSON:API query parameter) answers a JSON:API "
    "document instead of the envelope: the resource's id, its other fields as attributes, sparse fieldsets; "
    "a list also takes `sort` (its text, number, date and flag fields; `-` descends), `page[limit]` (0-100, "
    "default 20) and `page[offset]`, with `links.next`/`links.prev` (also as Bugcrowd's `links.previous`), "
    "`meta.count` (this page's) and `meta.total` (also as Bugcrowd's `meta.total_hits`)."
)

_SCALARS = (
    msgspec.inspect.StrType,
    msgspec.inspect.IntType,
    msgspec.inspect.FloatType,
    msgspec.inspect.BoolType,
    msgspec.inspect.DateTimeType,
    msgspec.inspect.DateType,
    msgspec.inspect.UUIDType,
    msgspec.inspect.EnumType,
    msgspec.inspect.LiteralType,
)


@cache  # a struct's fields do not change: inspected once, not on every list request
def sortable(kind: type[msgspec.Struct]) -> frozenset[str]:
    """The members of a read struct that a list of it sorts by: those holding one text, number, flag, date
    or id (or nothing), not a list or an object."""

    def scalar(info: msgspec.inspect.Type) -> bool:
        if isinstance(info, msgspec.inspect.UnionType):
            return all(isinstance(option, (*_SCALARS, msgspec.inspect.NoneType)) for option in info.types)
        return isinstance(info, _SCALARS)

    struct = msgspec.inspect.type_info(kind)
    assert isinstance(struct, msgspec.inspect.StructType)  # noqa: S101 - `kind` is a struct
    return frozenset(member.encode_name for member in struct.fields if scalar(member.type))


def _in_order(resources: Sequence[Resource], keys: Sequence[SortKey]) -> list[Resource]:
    """`resources` by the sort's keys (text case-insensitively; a missing value last either way), else as
    they came."""
    ordered = list(resources)
    for key in reversed(keys):  # stable sorts, the least significant key first
        present = [item for item in ordered if item.attributes.get(key.member) is not None]
        missing = [item for item in ordered if item.attributes.get(key.member) is None]

        def value(item: Resource, member: str = key.member) -> Any:
            found = item.attributes[member]
            return found.casefold() if isinstance(found, str) else found

        ordered = [*sorted(present, key=value, reverse=key.descending), *missing]
    return ordered


def page_links(
    request: Request[Any, Any, Any], next_link: str | None, previous_link: str | None
) -> dict[str, str | None]:
    """A page's links: itself, the next page and the previous one, as JSON:API's `prev` and as Bugcrowd's
    `previous` beside it, where its clients look for it."""
    return {"self": link(request), "next": next_link, "prev": previous_link, "previous": previous_link}


def previous_offset(offset: int, limit: int, total: int) -> int:
    """Where the page before an offset page starts: from past the end, the last page with rows (it was the
    page just before, as empty)."""
    last_page = (total - 1) // limit * limit if total and limit else 0
    return max(0, min(offset - limit, last_page))


@dataclass(frozen=True, slots=True)
class WholeList:
    """A short list read whole (a report's comments, a project's keys), sorted and paged in memory: the page's
    resources, the links around it and the list's total."""

    items: list[Resource]
    links: dict[str, str | None]
    total: int

    @classmethod
    def of(cls, request: Request[Any, Any, Any], query: JsonApiQuery, resources: Sequence[Resource]) -> WholeList:
        ordered = _in_order(resources, query.sort)
        offset = query.offset or 0
        return cls.sliced(request, query, ordered[offset : offset + query.limit], len(ordered))

    @classmethod
    def sliced(
        cls, request: Request[Any, Any, Any], query: JsonApiQuery, page: Sequence[Resource], total: int
    ) -> WholeList:
        """The page at `query`'s offset, sliced already (by the database, for a list too long to read whole), of a
        list of `total` resources."""
        offset = query.offset or 0
        end = offset + query.limit
        following = link(request, offset=str(end)) if query.limit and end < total else None
        previous = link(request, offset=str(previous_offset(offset, query.limit, total))) if offset > 0 else None
        return cls(list(page), page_links(request, following, previous), total)

    def document(self, query: JsonApiQuery, included: Iterable[Resource] = ()) -> dict[str, Any]:
        meta = page_meta(len(self.items), self.total)
        return document(query, self.items, included=included, links=self.links, meta=meta)


def native_or_document(  # noqa: PLR0913 - the request, what it reads, and how a creation is answered
    request: Request[Any, Any, Any],
    type_name: str,
    reads: msgspec.Struct | Sequence[msgspec.Struct],
    *,
    kind: type[msgspec.Struct],
    id_field: str = "id",
    made: bool = False,
) -> Envelope[Any] | Response[dict[str, Any]]:
    """The native envelope, or, when the request asks for JSON:API, a document of resources of a type with no
    relationships (projects, members, tokens, keys): each native read struct's `id_field` is the resource's id,
    its other fields its attributes, named as the native API names them. Sparse fieldsets apply, and a list
    sorts and pages (see WholeList); there is nothing to include or filter. A resource just `made` is a 201
    (the native envelope's status is its handler's)."""
    if not requested(request):
        return ok(reads)
    primary, resource = _plain_type(type_name, kind, id_field)
    if isinstance(reads, msgspec.Struct):
        query = parse_query(request.query_params.multi_items(), QueryRules(primary))
        return written(document(query, resource(reads), links={"self": link(request)}), made=made)
    rules = QueryRules(primary, sorts=sortable(kind) - {_id_key(kind, id_field)}, pages=WHOLE_LIST_PAGES)
    query = parse_query(request.query_params.multi_items(), rules)
    return document_response(WholeList.of(request, query, [resource(read) for read in reads]).document(query))


def plain_list_rules(type_name: str, *, kind: type[msgspec.Struct], id_field: str = "id") -> QueryRules:
    """The query of a list of a type with no relationships that the database pages in its own order (a webhook's
    deliveries, too many to read whole): sparse fieldsets and `page[limit]`/`page[offset]`, no sort."""
    primary, _resource = _plain_type(type_name, kind, id_field)
    return QueryRules(primary, pages=WHOLE_LIST_PAGES)


def plain_list_query(
    request: Request[Any, Any, Any], rules: QueryRules, *, kind: type[msgspec.Struct], id_field: str = "id"
) -> tuple[JsonApiQuery, Callable[[msgspec.Struct], Resource]]:
    """The query of such a list (`plain_list_rules`), with how one of its reads becomes a resource, for
    `WholeList.sliced`."""
    _primary, resource = _plain_type(rules.primary.name, kind, id_field)
    return parse_query(request.query_params.multi_items(), rules), resource


def created_or_document(  # noqa: PLR0913 - the request, what it made, and how it is named
    request: Request[Any, Any, Any],
    type_name: str,
    read: msgspec.Struct,
    *,
    kind: type[msgspec.Struct],
    location: str,
    id_field: str = "id",
) -> Response[Any]:
    """A resource just created, of a type with no relationships, at `location`: a 201 naming it, with the
    native envelope or, when the request is JSON:API, its document (see `native_or_document`)."""
    if not requested(request):
        return created(read, location)
    primary, resource = _plain_type(type_name, kind, id_field)
    query = parse_query(request.query_params.multi_items(), QueryRules(primary))
    return written(document(query, resource(read), links={}), location)


def _id_key(kind: type[msgspec.Struct], id_field: str) -> str:
    return kind.__struct_encode_fields__[kind.__struct_fields__.index(id_field)]


def _plain_type(
    type_name: str, kind: type[msgspec.Struct], id_field: str
) -> tuple[ResourceType, Callable[[msgspec.Struct], Resource]]:
    """The resource type of `kind`'s reads, and how one becomes a resource: `id_field` its id, its other fields
    its attributes."""
    id_key = _id_key(kind, id_field)
    primary = ResourceType(type_name, tuple(name for name in kind.__struct_encode_fields__ if name != id_key))

    def resource(read: msgspec.Struct) -> Resource:
        values = msgspec.to_builtins(read)
        return Resource(type_name, str(values.pop(id_key)), values)

    return primary, resource


# Links and cursors -----------------------------------------------------------------------------------


def link(request: Request[Any, Any, Any], **page: str | None) -> str:
    """This request's URL with its page parameters replaced (None removes one): whole, under LANTERN_PUBLIC_URL
    (`public_address`), as every link of a document is, so that a client follows `links.next` as given."""
    replaced = {f"page[{name}]" for name in page}
    params = [(key, value) for key, value in request.query_params.multi_items() if key not in replaced]
    params.extend((f"page[{name}]", value) for name, value in page.items() if value is not None)
    query = urlencode(params, safe="[],.:-")
    return public_address(f"{request.url.path}?{query}" if query else request.url.path)


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor: the sort it belongs to and the last row's sort values (base64url JSON).

    It carries no authority: a tampered cursor only moves the start of a page the tenant scope already
    bounds.
    """
    raw = msgspec.json.encode([sort, *values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: str, parameter: str) -> list[Any]:
    """The values of a cursor made by `encode_cursor` for the same sort; anything else is a 400 that names the
    `parameter` it came in."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        decoded = None
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort:
        raise invalid_cursor(parameter)
    return decoded[1:]


def invalid_cursor(parameter: str) -> LanternError:
    message = _("This cursor is not valid here; start again from the first page.")
    return LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(parameter, message)])
