"""One mapping from every exception to the error envelope, with stable codes and localized messages.

`{"success": false, "error": CODE, "message": <localized>, "details": [{"field", "message"}]}`
"""

from __future__ import annotations

import enum
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin

import msgspec
import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
from asyncpg import PostgresError
from babel.support import LazyProxy
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.lib.asgi import PUBLIC_INGEST
from app.lib.i18n import (
    LANGUAGE_COOKIE,
    choose_locale,
    format_megabytes,
    format_number,
    join_sentences,
    language_tag,
    ngettext,
    use_locale,
)
from app.lib.i18n import gettext as _
from app.lib.i18n import lazy_gettext as _lazy
from app.lib.patterns import (
    COLOR,
    DOMAIN,
    EMAIL,
    EMAIL_OR_EMPTY,
    FULL_URL,
    MAILBOX,
    NOT_BLANK,
    ONE_LINE_NAME,
    ORIGIN,
    REPOSITORY,
    TRACKING_PREFIX,
    WEB_URL,
    WEB_URL_OR_EMPTY,
)
from app.lib.query import parameters_read, sent_query_name
from app.lib.redis import refuses_writes

LOCALE_STATE_KEY = "lantern_locale"

logger = structlog.get_logger()


class ErrorCode(enum.StrEnum):
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


STATUS_OF: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PRECONDITION_FAILED: 412,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}
CODE_OF_STATUS = {status: code for code, status in STATUS_OF.items()}

DEFAULT_MESSAGES = {
    ErrorCode.UNAUTHORIZED: _lazy("Authentication is required, or the credentials are not valid."),
    ErrorCode.FORBIDDEN: _lazy("You are not allowed to do this."),
    ErrorCode.NOT_FOUND: _lazy("The requested resource was not found."),
    ErrorCode.METHOD_NOT_ALLOWED: _lazy("This method is not allowed on this resource."),
    ErrorCode.NOT_ACCEPTABLE: _lazy("The answer cannot be sent in any media type the Accept header allows."),
    ErrorCode.VALIDATION_ERROR: _lazy("The request is not valid."),
    ErrorCode.CONFLICT: _lazy("This conflicts with existing data."),
    ErrorCode.PRECONDITION_FAILED: _lazy(
        "This has been changed since you read it. Read it again, then send your change with its new ETag."
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: _lazy("The request body is too large."),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: _lazy("This content type is not supported."),
    ErrorCode.RATE_LIMITED: _lazy("Too many requests. Please wait and try again."),
    ErrorCode.INTERNAL_ERROR: _lazy("Something went wrong on our side. Please try again."),
    ErrorCode.SERVICE_UNAVAILABLE: _lazy("The service is temporarily unavailable."),
}


@dataclass(slots=True)
class FieldError:
    field: str
    message: str


@dataclass
class LanternError(Exception):
    """An error a client should see; `message` is already localized (call `_()` where it is raised), or is
    localized when read (a `LazyProxy`, for an error made before the request's language is known)."""

    code: ErrorCode
    message: str | LazyProxy | None = None
    details: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message or ''}"


def not_found() -> LanternError:
    """The one answer for a missing object and for another tenant's object alike."""
    return LanternError(ErrorCode.NOT_FOUND)


def message_of(error: LanternError) -> str:
    """The error's own message, or its code's, in the request's language."""
    return str(error.message or DEFAULT_MESSAGES[error.code])


def envelope(error: LanternError) -> dict[str, Any]:
    return {
        "success": False,
        "error": error.code.value,
        "message": message_of(error),
        "details": [{"field": d.field, "message": d.message} for d in error.details],  # always there, maybe empty
    }


def error_response(error: LanternError) -> Response[dict[str, Any]]:
    return Response(
        content=envelope(error),
        status_code=STATUS_OF[error.code],
        headers=error.headers,
        media_type=MediaType.JSON,
    )


# Validation messages ------------------------------------------------------------------------------
# msgspec and Litestar describe field errors in English; each known shape becomes a stable, translated
# message. An unknown shape gets the generic "invalid value" message, never the validator's English.


_NUMBER = r"(?P<n>-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def _bound(match: re.Match[str]) -> str:
    """The number in a msgspec range message, written the reader's way (`10000` is `10.000` in German)."""
    return format_number(Decimal(match["n"]), exact=True)


# A wrong JSON type is named by what the field needs, in words a reader knows, not by msgspec's type name.
_TYPE_MESSAGES: dict[str, Callable[[], str]] = {
    "str": lambda: _("Must be text."),
    "int": lambda: _("Must be a whole number."),
    "float": lambda: _("Must be a number."),
    "bool": lambda: _("Must be true or false."),
    "array": lambda: _("Must be a list."),
    "object": lambda: _("Must be a JSON object."),
    "uuid": lambda: _("Must be a UUID."),
    "datetime": lambda: _("Must be a date and time such as 2026-01-31T09:30:00Z."),
    "date": lambda: _("Must be a date such as 2026-01-31."),
    "time": lambda: _("Must be a time such as 09:30:00."),
}


def _type_message(expected: str) -> str:
    """The message for msgspec's `int | null`-style expectation: its first non-null type, any number when it
    takes floats, any plain value when it takes text, numbers and booleans."""
    names = [name for name in expected.split(" | ") if name != "null"]
    if {"str", "float", "bool"} <= set(names):  # any plain value (a page's custom data): naming one would mislead
        return _("Must be text, a number, or true or false.")
    wanted = "float" if "float" in names else next(iter(names), "null")
    message = _TYPE_MESSAGES.get(wanted)
    return message() if message is not None else _("This value has the wrong type.")


def _pattern(pattern: str) -> re.Pattern[str]:
    """msgspec's message for a text that does not match `pattern`."""
    return re.compile(re.escape(f"Expected `str` matching regex {pattern!r}") + "$")


def _at_least_characters(count: int) -> str:
    """Too short; for at least one character, the field was left empty."""
    if count == 1:
        return _("This field is required.")
    return ngettext("Must be at least %(num)s character long.", "Must be at least %(num)s characters long.", count)


_VALIDATION_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Object missing required field `(?P<field>[^`]+)`"), lambda _m: _("This field is required.")),
    # Litestar's own words for a required query parameter or header that was not sent.
    (
        re.compile(r"Missing required (?:query|header|cookie) parameter '(?P<field>[^']+)'"),
        lambda _m: _("This field is required."),
    ),
    (re.compile(r"Object contains unknown field `(?P<field>[^`]+)`"), lambda _m: _("This field is not allowed.")),
    (re.compile(r"Number out of range$"), lambda _m: _("This number is too large to be read.")),
    (
        re.compile(r"Expected `(?:str|bytes)` of length >= (?P<n>\d+)"),
        lambda m: _at_least_characters(int(m["n"])),
    ),
    (
        re.compile(r"Expected `(?:str|bytes)` of length <= (?P<n>\d+)"),
        lambda m: ngettext(
            "Must be at most %(num)s character long.", "Must be at most %(num)s characters long.", int(m["n"])
        ),
    ),
    (
        re.compile(r"Expected `(?:array|object)` of length >= (?P<n>\d+)"),
        lambda m: ngettext("Must contain at least %(num)s item.", "Must contain at least %(num)s items.", int(m["n"])),
    ),
    (
        re.compile(r"Expected `(?:array|object)` of length <= (?P<n>\d+)"),
        lambda m: ngettext("Must contain at most %(num)s item.", "Must contain at most %(num)s items.", int(m["n"])),
    ),
    (re.compile(rf"Expected `(?:int|float)` >= {_NUMBER}$"), lambda m: _("Must be at least %(min)s.", min=_bound(m))),
    (re.compile(rf"Expected `(?:int|float)` <= {_NUMBER}$"), lambda m: _("Must be at most %(max)s.", max=_bound(m))),
    (
        re.compile(rf"Expected `(?:int|float)` > {_NUMBER}$"),
        lambda m: _("Must be greater than %(min)s.", min=_bound(m)),
    ),
    (re.compile(rf"Expected `(?:int|float)` < {_NUMBER}$"), lambda m: _("Must be less than %(max)s.", max=_bound(m))),
    (
        re.compile(rf"Expected `(?:int|float)` that's a multiple of {_NUMBER}$"),
        lambda m: _("Must be a multiple of %(factor)s.", factor=_bound(m)),
    ),
    (re.compile(r"Invalid enum value"), lambda _m: _("This value is not one of the allowed choices.")),
    (_pattern(NOT_BLANK), lambda _m: _("Must not be blank.")),
    (_pattern(ONE_LINE_NAME), lambda _m: _("Must be one line of text, not blank.")),
    (_pattern(FULL_URL), lambda _m: _("Must be a full address, such as https://example.com/checkout.")),
    (_pattern(EMAIL), lambda _m: _("Must be an e-mail address, such as name@example.com.")),
    (_pattern(EMAIL_OR_EMPTY), lambda _m: _("Must be an e-mail address, such as name@example.com.")),
    (
        _pattern(MAILBOX),
        lambda _m: _("Must be an e-mail address, such as name@example.com, with at most 64 characters before the @."),
    ),
    # Sent in lower case, they are taken (and kept in upper case).
    (_pattern(TRACKING_PREFIX), lambda _m: _("Must be letters A to Z only, without digits or accents, such as BSK.")),
    *(
        (_pattern(web_url), lambda _m: _("Must be an address that starts with http:// or https://."))
        for web_url in (WEB_URL, WEB_URL_OR_EMPTY)
    ),
    (_pattern(ORIGIN), lambda _m: _("Must be a site, such as https://example.com or example.com:8080.")),
    (_pattern(COLOR), lambda _m: _("Must be a colour written #RRGGBB, such as #4f46e5.")),
    (_pattern(REPOSITORY), lambda _m: _("Must be a GitHub repository written owner/name.")),
    (_pattern(DOMAIN), lambda _m: _("Must be a domain, such as example.com.")),
    (re.compile(r"Expected `str` matching regex"), lambda _m: _("This value does not have the expected format.")),
    (re.compile(r"Invalid UUID"), lambda _m: _type_message("uuid")),
    (re.compile(r"Invalid RFC3339 encoded (?P<kind>datetime|date|time)"), lambda m: _type_message(m["kind"])),
    (re.compile(r"Expected `(?P<types>[^`]+)`, got `[^`]+`$"), lambda m: _type_message(m["types"])),
    (re.compile(r"JSON is malformed|Input data was truncated"), lambda _m: _("The request body is not valid JSON.")),
]


def _validation_message(raw: str) -> tuple[str | None, str]:
    """(field named inside the message, localized message) for one validator message."""
    for pattern, message in _VALIDATION_MESSAGES:
        if match := pattern.match(raw):
            return match.groupdict().get("field"), message(match)
    return None, _("This value is not valid.")


_EMPTY_TEXT = re.compile(r"Expected `str` of length >= 1$")


def validation_error(message: str) -> LanternError:
    """A VALIDATION_ERROR for one msgspec error message such as "Expected `str` - at `$.title`"."""
    raw, _sep, location = message.partition(" - at `$")
    # Inside an object read without a schema msgspec writes a key it does not know as `[...]`: no field name.
    path = location.rstrip("`").lstrip(".").partition("[...]")[0].rstrip(".")
    named, localized = _validation_message(raw)
    if path.endswith("]") and _EMPTY_TEXT.match(raw):  # an item left empty, not a field left out (a label "")
        localized = _("Must not be empty.")
    field = ".".join(part for part in (path, named or "") if part) or "body"
    return LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(field=field, message=localized)])


def repeated_parameter(name: str) -> FieldError:
    """A query parameter of one value sent more than once, named as sent: taking the last value dropped the others
    without a word (`status=new&status=doing` listed one status's reports)."""
    return FieldError(name, _("This parameter takes one value: send it once."))


def sent_twice(first: str, second: str) -> LanternError:
    """A 400 for one field sent under two names (`assigneeId` and `assignee_id`, `page_size` and `pageSize`),
    each named as sent: taking either would drop the other without a word."""
    return LanternError(
        ErrorCode.VALIDATION_ERROR,
        _("One field was sent under two names: send one of the two."),
        details=[
            FieldError(first, _("The same field as %(other)s: send one of the two.", other=second)),
            FieldError(second, _("The same field as %(other)s: send one of the two.", other=first)),
        ],
    )


class Refusals:
    """The checks of one body, each refusing on its own, answered as one refusal: a client fixes every field in one
    go. Each check runs `with refusals:`; `raise_any()` after the last raises what they refused together."""

    def __init__(self) -> None:
        self.details: list[FieldError] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, error: BaseException | None, _traceback: object) -> bool:
        if isinstance(error, LanternError) and error.code is ErrorCode.VALIDATION_ERROR and error.details:
            self.details += error.details
            return True
        return False

    def raise_any(self) -> None:
        if self.details:
            raise LanternError(ErrorCode.VALIDATION_ERROR, details=self.details)


def every_error(body: Any, schema: Any, first: str) -> LanternError:
    """Every field error of a body, where msgspec stops at the first: a client fixes its form in one go.

    Each field sent is checked on its own (a nested object field by field), and each required field not sent
    is named, with what the struct's `refusals_across_fields(body)`, if it has one, refuses of the body as a whole
    (a check its service makes once the fields pass). A check across fields in a struct's own `__post_init__` has
    only `first`, msgspec's words."""
    details = _field_errors(body, schema) if isinstance(body, dict) and _struct(schema) else []
    if details and (across := getattr(schema, "refusals_across_fields", None)) is not None:
        details += across(body)
    return LanternError(ErrorCode.VALIDATION_ERROR, details=details) if details else validation_error(first)


def _field_errors(body: dict[Any, Any], schema: type[msgspec.Struct], at: str = "") -> list[FieldError]:
    fields = {field.encode_name: field for field in msgspec.structs.fields(schema)}
    errors: list[FieldError] = []
    for name, value in body.items():
        field = fields.get(name)
        if field is None:
            if schema.__struct_config__.forbid_unknown_fields:
                errors += validation_error(f"Object contains unknown field `{name}` - at `${at}`").details
            continue
        nested = _struct(field.type)
        if nested is not None and isinstance(value, dict):
            errors += _field_errors(value, nested, f"{at}.{name}")
        else:
            errors += _value_errors(value, field.type, f"{at}.{name}")
    missing = [field.encode_name for field in fields.values() if field.required and field.encode_name not in body]
    for name in missing:
        errors += validation_error(f"Object missing required field `{name}` - at `${at}`").details
    return errors


def _value_errors(value: Any, kind: Any, at: str) -> list[FieldError]:
    """Why a field's value (at `at`, `.name` in its body) is refused: by its type, or by its `CheckedBy` checks.
    A list's items are each checked: msgspec named the first refused one alone (of allowed origins, line 1 of 2)."""
    try:
        msgspec.convert(value, kind, str_keys=True)
    except msgspec.ValidationError as error:
        raw, _sep, inside = str(error).partition(" - at `$")
        if isinstance(value, list) and inside.startswith("[") and (item := _item_kind(kind)) is not None:
            return [
                refusal for index, entry in enumerate(value) for refusal in _value_errors(entry, item, f"{at}[{index}]")
            ]
        refused = validation_error(f"{raw} - at `${at}{inside.rstrip('`')}`").details
        if explained := _explanation(kind, value):
            refused = [FieldError(refused[0].field, explained)]
        if raw.startswith("Invalid enum value") and (choices := _enum_values(kind)):
            for detail in refused:  # which values are, not only that this one is not
                detail.message = join_sentences(detail.message, one_of(choices))
        return refused
    errors: list[FieldError] = []
    for check in _checks(kind):
        try:
            check(value, at.removeprefix("."))
        except LanternError as refused:
            errors += refused.details
    return errors


def one_of(choices: Sequence[str]) -> str:
    """The values a field takes, said after its refusal."""
    return _("Use one of: %(names)s.", names=", ".join(choices))


def _enum_values(kind: Any) -> list[str]:
    """The values of the enum or literal a field holds (`Severity`, `Severity | UnsetType`, `Literal["auto",
    "dark"]`), or none for another type."""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return [str(member.value) for member in kind]
    if get_origin(kind) is Literal:  # a widget's `theme`: its values as a type's
        return [str(value) for value in get_args(kind)]
    return [value for option in get_args(kind) for value in _enum_values(option)]


@dataclass(frozen=True)
class PartOf:
    """Marks a field sent as an object of some of `struct`'s fields, to be merged into a stored one (a project's
    widget configuration: the fields sent change, the others stay) and checked whole once merged. When the body
    is refused for another field, its fields are checked too, each as `struct`'s, so every refusal comes at once."""

    struct: type[msgspec.Struct]


@dataclass(frozen=True)
class CheckedBy:
    """Marks a field whose value is checked beyond its type by `check(value, field)`, which raises a refusal (a
    time zone the server knows). When the body is refused for another field, this one is checked too, so every
    refusal comes at once: a client fixed a name, sent again, and only then heard of the time zone."""

    check: Callable[[Any, str], object]


@dataclass(frozen=True)
class ExplainedBy:
    """Marks a field whose refusal by its type says more in `explain(value)`'s words, when it has any (None): an
    allowed origin with a path was refused as no site at all, which did not say what to take away."""

    explain: Callable[[Any], str | None]


def _explanation(kind: Any, value: Any) -> str | None:
    """The words of the `ExplainedBy` mark of a field's type for `value`, if it has one with some."""
    if get_origin(kind) is Annotated:
        marks = [mark.explain for mark in kind.__metadata__ if isinstance(mark, ExplainedBy)]
        return next((words for explain in marks if (words := explain(value))), None)
    return None


def _item_kind(kind: Any) -> Any | None:
    """The type of a list field's items (`list[Origin]`, annotated, or `| UnsetType`), or None for another type."""
    if get_origin(kind) is Annotated:
        return _item_kind(get_args(kind)[0])
    if get_origin(kind) is list:
        return get_args(kind)[0]
    lists = [option for option in get_args(kind) if get_origin(option) in {list, Annotated}]
    if get_origin(kind) in {Union, UnionType} and len(lists) == 1:
        return _item_kind(lists[0])
    return None


def _checks(kind: Any) -> list[Callable[[Any, str], object]]:
    """The `CheckedBy` checks of a field's type (`TimeZone`, `TimeZone | UnsetType | None`)."""
    if get_origin(kind) is Annotated:
        own = [mark.check for mark in kind.__metadata__ if isinstance(mark, CheckedBy)]
        return own + _checks(get_args(kind)[0])
    if get_origin(kind) in {Union, UnionType}:
        return [check for option in get_args(kind) for check in _checks(option)]
    return []


def _struct(kind: Any) -> type[msgspec.Struct] | None:
    """The struct a field holds (`Page`, `Page | None`) or is `PartOf`, or None for any other type."""
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return kind
    if get_origin(kind) is Annotated:
        part_of = next((mark.struct for mark in kind.__metadata__ if isinstance(mark, PartOf)), None)
        return part_of or _struct(get_args(kind)[0])
    candidates = [option for option in get_args(kind) if option not in {type(None), msgspec.UnsetType}]
    if get_origin(kind) in {Union, UnionType} and len(candidates) == 1:
        return _struct(candidates[0])
    return None


def field_errors(extra: Any, handler: Any = None) -> list[FieldError]:
    """Field errors of a Litestar `ValidationException.extra`, localized; a parameter of `handler` that takes
    an enum's values (a query's `severity`) is told which, as a body's field is."""
    parameters = parameters_read(handler) if isinstance(handler, HTTPRouteHandler) else {}
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        raw = str(item.get("message", ""))
        named, message = _validation_message(raw)
        key = str(item.get("key", "")).removeprefix("data").strip(".")
        parameter = parameters.get(key)
        if raw.startswith("Invalid enum value") and parameter and (choices := _enum_values(parameter.annotation)):
            message = join_sentences(message, one_of(choices))
        path = ".".join(part for part in (key, named or "") if part)
        errors.append(FieldError(field=path or "body", message=message))
    return errors


# Exception handlers ---------------------------------------------------------------------------------


def request_locale(request: Request[Any, Any, Any]) -> str:
    """The locale chosen for this request, or, where no middleware ran (unknown route), negotiated now."""
    chosen: str | None = request.scope["state"].get(LOCALE_STATE_KEY)
    return chosen or choose_locale(
        explicit=request.query_params.get("lang"),
        browser_choice=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def _respond(request: Request[Any, Any, Any], error: LanternError) -> Response[dict[str, Any]]:
    """The error in the request's language, its fields named as sent; where no middleware ran (unknown
    route), with its headers."""
    for detail in error.details:
        detail.field = sent_query_name(request.scope, detail.field)
    locale = request_locale(request)
    with use_locale(locale):
        response = error_response(error)
    if LOCALE_STATE_KEY not in request.scope["state"]:
        response.headers.update({"Content-Language": language_tag(locale), "Vary": "Accept-Language"})
    if error.code is ErrorCode.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = _challenge(request)
    return response


def _challenge(request: Request[Any, Any, Any]) -> str:
    """The schemes a 401 takes (RFC 9110): clients that send Basic credentials only once challenged (BugHerd's,
    the token as the user name) need it named. Not to a browser opening a page, which would answer Basic with a
    sign-in dialog of its own. A widget route takes its project's key alone, in `X-API-Key`: a challenge to a
    token or a password sent a client (or a browser's dialog) after a credential the route never reads."""
    route = request.scope.get("route_handler")
    if route is not None and route.opt.get(PUBLIC_INGEST):
        return 'ApiKey realm="Lantern", header="X-API-Key"'
    bearer = 'Bearer realm="Lantern"'
    return bearer if "text/html" in request.headers.get("accept", "") else f'{bearer}, Basic realm="Lantern"'


def lantern_error_handler(request: Request[Any, Any, Any], exc: LanternError) -> Response[dict[str, Any]]:
    return _respond(request, exc)


def route_error_response(request: Request[Any, Any, Any], error: LanternError | HTTPException) -> Response[Any]:
    """The route's own answer to an error a middleware met (a page's is an HTML page, the API's JSON): the
    handler the route would have used, had the error been raised inside it."""
    route = request.scope.get("route_handler")
    handlers: ExceptionHandlersMap = route.resolve_exception_handlers() if route is not None else EXCEPTION_HANDLERS
    # Every route's handlers include the app's, whose `Exception` entry takes what nothing closer does.
    handler = next(handlers[kind] for kind in type(error).__mro__ if kind in handlers)
    return handler(request, error)


async def answer_error(scope: Scope, receive: Receive, send: Send, error: LanternError) -> None:
    """Answer from a middleware, through the `send` it was given (so with the headers its wrappers add),
    where a raised error would be answered outside it."""
    request: Request[Any, Any, Any] = Request(scope)
    await route_error_response(request, error).to_asgi_response(app=None, request=request)(scope, receive, send)


def too_large(limit: int) -> LanternError:
    """A 413 that says how much the route takes, so that a client knows what to send instead."""
    return LanternError(
        ErrorCode.PAYLOAD_TOO_LARGE, _("The request body is too large: at most %(size)s.", size=format_megabytes(limit))
    )


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    """The body size the request's route takes (Litestar answered 413 for more)."""
    handler = request.scope.get("route_handler")
    return handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    server_error = exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR
    code = CODE_OF_STATUS.get(exc.status_code, ErrorCode.INTERNAL_ERROR if server_error else None)
    with use_locale(request_locale(request)):
        if isinstance(exc, ValidationException) and exc.extra:
            details = _every_body_error(request, exc.extra) or field_errors(
                exc.extra, request.scope.get("route_handler")
            )
            error = LanternError(ErrorCode.VALIDATION_ERROR, details=details)
        elif exc.status_code == HTTP_400_BAD_REQUEST and "Request Entity Too Large" in str(exc.detail):
            # Litestar answers 400 when a multipart body has too many parts, or a part headers longer than its
            # parser takes (a file name of thousands of characters); its own FIXME says 413.
            message = _("The request has too many parts, or a part's headers (its file name) are too long.")
            error = LanternError(ErrorCode.PAYLOAD_TOO_LARGE, message)
        elif code is None or code is ErrorCode.VALIDATION_ERROR:
            # Litestar's own 400s (a body that is not JSON, a malformed form) carry only English text.
            error = validation_error("JSON is malformed" if "JSON" in str(exc.detail) else str(exc.detail))
        elif code is ErrorCode.PAYLOAD_TOO_LARGE and (limit := _body_limit(request)) is not None:
            error = too_large(limit)
        elif code is ErrorCode.FORBIDDEN and "CSRF" in str(exc.detail):
            error = LanternError(code, _("The CSRF token is missing or does not match."))
        else:
            error = LanternError(code, headers=dict(exc.headers or {}))
    return _respond(request, error)


def _every_body_error(request: Request[Any, Any, Any], extra: Any) -> list[FieldError]:
    """Every field error of the JSON object Litestar decoded for a handler's `data` struct (Litestar names only
    msgspec's first, so a client would fix its body one field per round); none for any other refusal."""
    state = ScopeState.from_scope(request.scope)
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    schema = _struct(data.annotation) if data is not None else None
    if state.body == b"" and _body_missing(extra):
        # Said as "body: This value is not valid.": what the body lacks is named, as for `{}`.
        if schema is None:
            return [FieldError("body", _("The body is empty: send a JSON object."))]
        return _field_errors({}, schema)
    body = state.json
    if not isinstance(body, dict) or schema is None:
        return []
    return _field_errors(body, schema)


def _body_missing(extra: Any) -> bool:
    """Whether Litestar refused a request for the `data` its handler reads, which an empty body does not give."""
    items = extra if isinstance(extra, list) else []
    return any(isinstance(item, dict) and (item.get("key"), item.get("source")) == ("data", "body") for item in items)


def not_found_handler(request: Request[Any, Any, Any], _exc: NotFoundError) -> Response[dict[str, Any]]:
    return _respond(request, not_found())


# PostgreSQL's text holds no NUL character (SQLite's does): 22021 in text, 22P05 as JSON's \u0000.
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})
# A database that cannot take the request now: connection exceptions (08…), insufficient resources (53…: too
# many connections, out of memory or disk), shutting down or starting up (57P01 to 57P03). asyncpg raises these
# as they are when a connection is opened, with no SQLAlchemy error around them.
_DATABASE_CANNOT_SERVE = ("08", "53", "57P01", "57P02", "57P03")
# A transaction the database gave up for another's sake (a deadlock, 40P01; a serialization failure, 40001): the
# request did nothing, and the same request a moment later succeeds.
_TRANSACTION_GIVEN_UP = ("40P01", "40001")

# A row written for one that is gone: PostgreSQL's foreign_key_violation, SQLite's extended result code.
_FOREIGN_KEY_VIOLATION = "23503"
_SQLITE_FOREIGN_KEY = "SQLITE_CONSTRAINT_FOREIGNKEY"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error and each it was raised from: the driver's, with its SQLSTATE, is deepest."""
    cause: BaseException | None = exc
    while cause is not None:
        yield cause
        cause = cause.__cause__


def has_sqlstate(exc: BaseException, prefixes: tuple[str, ...]) -> bool:
    """Whether an error in the chain of causes carries a SQLSTATE that starts with one of `prefixes`."""
    return any(str(getattr(cause, "sqlstate", None) or "").startswith(prefixes) for cause in _causes(exc))


def refused_statement(exc: BaseException) -> LanternError | None:
    """What a statement the database refused means to the client, found anywhere in the chain of causes; else
    None. Text it cannot store is the client's mistake (400). A row referring to one that is gone was checked
    before a deletion committed meanwhile (its project's, its organization's): it no longer exists (404, where
    the insert answered 500)."""
    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate in _UNSTORABLE_TEXT:
            return LanternError(ErrorCode.VALIDATION_ERROR, _("Text cannot contain the NUL character (\\u0000)."))
        if sqlstate == _FOREIGN_KEY_VIOLATION or getattr(cause, "sqlite_errorname", None) == _SQLITE_FOREIGN_KEY:
            return not_found()
    return None


def repository_error(request: Request[Any, Any, Any], exc: IntegrityError) -> LanternError:
    """What a repository's failed statement means to the client.

    advanced-alchemy reports every failed statement as an integrity error; only a broken constraint is the
    client's conflict (a row referring to one deleted meanwhile: not found), and text the database cannot store
    the client's mistake. A locked or unreachable database (SQLite's "database is locked", a lost connection) is
    the server's trouble, and passes."""
    if (refused := refused_statement(exc)) is not None:
        return refused
    cause = exc.__cause__
    if cause is None or isinstance(cause, SQLAlchemyIntegrityError):
        logger.info("conflicting change", path=request.url.path, cause=str(cause or exc))
        return LanternError(ErrorCode.CONFLICT)
    logger.error("database statement failed", path=request.url.path, exc_info=exc)
    return LanternError(ErrorCode.SERVICE_UNAVAILABLE)


def repository_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    return _respond(request, repository_error(request, exc))


# Refused or dropped connections and unknown hosts (a database or Redis that is down or misnamed), and waits for
# a connection that ran out.
UNREACHABLE: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    RedisConnectionError,
    RedisTimeoutError,
    PoolTimeoutError,
)
# And the errors that say so by their content: Redis refusing writes (`refuses_writes`), PostgreSQL refusing a
# connection (`_DATABASE_CANNOT_SERVE`).
MAYBE_UNAVAILABLE: tuple[type[Exception], ...] = (*UNREACHABLE, RedisResponseError, PostgresError)
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


def cannot_serve(exc: BaseException) -> bool:
    """Whether a server Lantern needs (the database, Redis) cannot be reached, is locked, keeps it waiting, gave the
    request's transaction up for another's (a deadlock), or refuses writes (Redis)."""
    database_down = (
        isinstance(exc, OperationalError | InterfaceError)
        or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
        or has_sqlstate(exc, _DATABASE_CANNOT_SERVE + _TRANSACTION_GIVEN_UP)
    )
    return database_down or isinstance(exc, UNREACHABLE) or refuses_writes(exc)


def unavailable(path: str, exc: BaseException) -> LanternError | None:
    """A server Lantern needs that cannot serve now (`cannot_serve`): a 503 asking the client to try again
    shortly, as readiness says, not a 500. None for any other failure."""
    if not cannot_serve(exc):
        return None
    logger.warning("service unavailable", path=path, error=repr(exc))
    return LanternError(ErrorCode.SERVICE_UNAVAILABLE, headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)})


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    """A statement the database refused: text it cannot store is the client's mistake, a row referring to one
    deleted meanwhile not found, a database out of reach unavailable for now, the rest ours."""
    if (refused := refused_statement(exc)) is not None:
        return _respond(request, refused)
    return unavailable_handler(request, exc)


def unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if (error := unavailable(request.url.path, exc)) is not None:
        return _respond(request, error)
    return internal_error_handler(request, exc)


# msgspec refuses JSON nested deeper than it decodes (a 2 KB `[[[…]]]` is enough) with a RecursionError
# saying so; any other RecursionError is a fault of ours.
_NESTED_TOO_DEEP = "while deserializing"


def recursion_error_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    if _NESTED_TOO_DEEP not in str(exc):
        return internal_error_handler(request, exc)
    with use_locale(request_locale(request)):
        error = LanternError(
            ErrorCode.VALIDATION_ERROR, details=[FieldError("body", _("The JSON is nested too deeply."))]
        )
    return _respond(request, error)


def unicode_error_handler(request: Request[Any, Any, Any], _exc: UnicodeDecodeError) -> Response[dict[str, Any]]:
    """Bytes that are no UTF-8 where text was sent (msgspec's JSON decoder raises this for any request body)."""
    with use_locale(request_locale(request)):
        message = _("The text is not valid UTF-8.")
    return _respond(request, LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError("body", message)]))


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.error("unhandled error", path=request.url.path, exc_info=exc)
    return _respond(request, LanternError(ErrorCode.INTERNAL_ERROR))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LanternError: lantern_error_handler,
    HTTPException: http_exception_handler,
    NotFoundError: not_found_handler,
    DuplicateKeyError: repository_error_handler,
    IntegrityError: repository_error_handler,
    DBAPIError: database_error_handler,
    **dict.fromkeys(MAYBE_UNAVAILABLE, unavailable_handler),
    RecursionError: recursion_error_handler,
    UnicodeDecodeError: unicode_error_handler,
    Exception: internal_error_handler,
}
