"""Native query parameters in either spelling, as JSON bodies are (SPEC §4a: requests accept camelCase).

A handler declares its query parameters in snake_case (`project_id`, `page_size`, BugSpark's names); a
client that reads `pageSize` in an answer sends `pageSize`, which would otherwise be ignored without a word
(a whole organization listed for `?projectId=…`). Each camelCase key the route's handler does not declare,
whose snake_case spelling it does, is read as that one, and an error names it as it was sent
(`sent_query_name`); a parameter sent in both spellings (`page_size=2&pageSize=3`) is refused
(`refuse_query_sent_twice`), as a body's field is: one would be dropped without a word. JSON:API's parameters
(`filter[…]`, `page[…]`) and keys read elsewhere (`apiKey`, `lang`, `tryPass`) are left as they are.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.typing import FieldDefinition

_CAMEL_KEY = re.compile(rb"(?:^|&)[a-z][a-z0-9]*[A-Z]")
_CAPITAL = re.compile(r"(?<!^)(?=[A-Z])")
# The scope state's map of each parameter read in snake_case to its spelling as sent.
_SENT_AS = "lantern_query_sent_as"
# The scope state's first parameter sent in both spellings: (snake_case, camelCase).
_SENT_TWICE = "lantern_query_sent_twice"


@cache
def parameters_read(handler: BaseRouteHandler) -> dict[str, FieldDefinition]:
    """The arguments of `handler` and of the dependencies it takes (the report lists' filters), by name: every
    parameter the request's query, path or headers hold for it."""
    dependencies = handler.resolve_dependencies()
    own = handler.parsed_fn_signature.parameters
    taken = [dependencies[name].parsed_fn_signature.parameters for name in own if name in dependencies]
    return {name: field for fields in (own, *taken) for name, field in fields.items()}


def _query_fields(handler: BaseRouteHandler) -> list[tuple[str, QueryParameter]]:
    """(argument, its query parameter) of each query parameter `handler` reads (`FromQuery`, `QueryParameter(...)`)."""
    return [
        (name, field.kwarg_definition)
        for name, field in parameters_read(handler).items()
        if isinstance(field.kwarg_definition, QueryParameter)
    ]


@cache
def query_names(handler: BaseRouteHandler) -> frozenset[str]:
    """The names of the query parameters `handler` reads."""
    return frozenset(parameter.name or name for name, parameter in _query_fields(handler))


def camel_spelling(name: str) -> str:
    """The camelCase spelling a declared snake_case parameter is read by too (`pageSize` for `page_size`)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _read_as(key: str, declared: frozenset[str]) -> str:
    snake = _CAPITAL.sub("_", key).lower()
    return snake if key not in declared and snake in declared else key


class CamelCaseQueryMiddleware(ASGIMiddleware):
    """Runs before anything reads the query (Litestar keeps the first parse for the request)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        query: bytes = scope.get("query_string", b"")
        handler: Any = scope.get("route_handler")
        # Cheapest first: most requests have no camelCase key, and the widget's submit (its `apiKey`) a handler
        # that declares no query parameter, so nothing to parse on the hot path.
        declared = query_names(handler) if _CAMEL_KEY.search(query) and isinstance(handler, BaseRouteHandler) else None
        if declared:
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
            renamed = [(_read_as(key, declared), value) for key, value in pairs]
            if renamed != pairs:
                scope["query_string"] = urlencode(renamed, encoding="latin-1").encode("latin-1")
                sent_as = {read: sent for (sent, _), (read, _) in zip(pairs, renamed, strict=True) if read != sent}
                state = scope.setdefault("state", {})
                state[_SENT_AS] = sent_as
                sent = {key for key, _ in pairs}
                if twice := next(((read, camel) for read, camel in sent_as.items() if read in sent), None):
                    state[_SENT_TWICE] = twice
                    del sent_as[twice[0]]  # a refusal names each spelling as sent, this one too
        await next_app(scope, receive, send)


def refuse_query_sent_twice(request: Request[Any, Any, Any]) -> None:
    """A `before_request` check (the middleware runs before the request's language is known): a parameter
    sent in both spellings is a 400 naming both."""
    twice: tuple[str, str] | None = request.scope.get("state", {}).get(_SENT_TWICE)
    if twice is not None:
        # Imported here: the error envelope names query parameters through this module.
        from app.lib.errors import sent_twice  # noqa: PLC0415

        raise sent_twice(*twice)


@cache
def _query_aliases(handler: BaseRouteHandler) -> dict[str, str]:
    """The handler's arguments that read a query parameter of another name (`view` reads `scope`)."""
    return {
        name: parameter.name
        for name, parameter in _query_fields(handler)
        if parameter.name is not None and parameter.name != name
    }


def sent_query_name(scope: Scope, name: str) -> str:
    """A query parameter's name as the client spelled it: `pageSize` for `page_size` when sent so, and the
    parameter's own name where Litestar names the handler's argument (`scope`, not `view`)."""
    handler = scope.get("route_handler")
    if isinstance(handler, BaseRouteHandler):
        name = _query_aliases(handler).get(name, name)
    sent_as: dict[str, str] = scope.get("state", {}).get(_SENT_AS, {})
    return sent_as.get(name, name)
