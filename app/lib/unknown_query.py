"""Refuse a query parameter the API does not read, as bodies refuse a field they do not have.

`GET /api/v1/reports?serverity=high` listed every report: a misspelled filter, or one of another API's
(`per_page`, `status_id`, `limit`), was dropped without a word, and the client took the whole list for the
filtered one. Each route's own parameters (in either spelling, see query.py), JSON:API's (its parser names
what it does not know), and those every route reads (`lang`, the widget's `apiKey`) are taken; anything else is a
400 that names it and lists the route's own. So is a route's parameter sent twice (`status=new&status=doing`, what
`requests` makes of a list): each takes one value, and all but the last were dropped without a word. The
widget-key ingest routes take what they are sent: a widget that adds a parameter of its own must not lose its
visitor's report over it. So do the health probes (`ANY_QUERY`), to which monitors add parameters of their own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.lib import jsonapi
from app.lib.asgi import ANY_QUERY, PUBLIC_INGEST
from app.lib.errors import ErrorCode, FieldError, LanternError, repeated_parameter
from app.lib.i18n import gettext as _
from app.lib.query import query_names, sent_query_name

API_PREFIX = "/api/"
READ_BY_EVERY_ROUTE = frozenset({"lang", "apiKey"})


def refuse_unknown_query(request: Request[Any, Any, Any]) -> None:
    """A `before_request` check of the API's routes (a CORS preflight, which repeats the query, excepted)."""
    if not request.scope["query_string"] or request.method == "OPTIONS":
        return
    handler = request.route_handler
    if not request.scope["path"].startswith(API_PREFIX) or handler.opt.get(PUBLIC_INGEST) or handler.opt.get(ANY_QUERY):
        return
    declared = query_names(handler)
    sent = request.query_params
    keys = list(dict.fromkeys(sent))
    unknown = [
        key for key in keys if key not in declared and key not in READ_BY_EVERY_ROUTE and not jsonapi.is_parameter(key)
    ]
    repeated = [key for key in keys if key in declared and len(sent.getall(key)) > 1]
    if not unknown and not repeated:
        return
    names = ", ".join(sorted(declared))
    raise LanternError(
        ErrorCode.VALIDATION_ERROR,
        details=[
            *(
                FieldError(
                    key,
                    _("Unknown query parameter: %(name)s. Use one of: %(names)s.", name=key, names=names)
                    if names
                    else _("Unknown query parameter: %(name)s. This address takes none.", name=key),
                )
                for key in unknown
            ),
            *(repeated_parameter(sent_query_name(request.scope, key)) for key in repeated),
        ],
    )
