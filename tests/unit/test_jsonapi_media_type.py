"""JSON:API's media type, as JSON:API 1.1's "Content Negotiation" has a server read it: only its parameters `ext`
and `profile` are taken (a profile ignored, an extension only one the server implements: Lantern none), and an
`Accept` that names the media type only with other parameters asks for nothing that can be sent."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from app.lib.jsonapi import CreatedOrDocument, accepted, has_mode, unsupported
from app.lib.paging import ListAnswer
from app.lib.schema import Envelope

JSONAPI = "application/vnd.api+json"
EXTENSION = "https://jsonapi.org/ext/atomic"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"profile": "https://example.com/profile"},
        {"profile": "https://a.example/p https://b.example/p"},
        {"ext": ""},  # no extension named
    ],
)
def test_a_profile_is_taken_and_ignored(params: dict[str, str]) -> None:
    assert unsupported(params) is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"charset": "utf-8"}, "charset"),  # JSON:API's media type has no charset: its JSON is UTF-8
        ({"version": "1.1"}, "version"),
        ({"q": "0.5"}, "q"),  # in a Content-Type, a parameter like any other
        ({"profile": "https://example.com/profile", "charset": "utf-8"}, "charset"),
        ({"ext": EXTENSION}, EXTENSION),
        ({"ext": f"https://example.com/known {EXTENSION}"}, EXTENSION),
    ],
)
def test_any_other_parameter_or_an_extension_is_refused_by_name(params: dict[str, str], named: str) -> None:
    refusal = unsupported(params)
    assert refusal is not None
    assert named in refusal


@pytest.mark.parametrize(
    ("header", "document"),
    [
        (JSONAPI, True),
        (f"{JSONAPI}; profile=https://example.com/profile", True),
        # A profile makes the media type no more specific than plain JSON listed before it at the same weight.
        (f"application/json, {JSONAPI}; profile=https://example.com/profile", False),
        (f"application/json;q=0.5, {JSONAPI}; profile=https://example.com/profile", True),
        # A form Lantern cannot answer is ignored: the plain JSON, or the plain form of JSON:API, is what is asked.
        (f"{JSONAPI}; charset=utf-8, application/json;q=0.5, */*", False),
        (f"{JSONAPI}; charset=utf-8, {JSONAPI};q=0.5", True),
        (f'{JSONAPI}; ext="{EXTENSION}", */*;q=0.1', False),
        ("application/json", False),
        ("*/*", False),
        # No JSON:API named: plain JSON, wherever a range holds it (RFC 9110, 12.5.1); none at all is `*/*`.
        ("", False),
        ("application/*", False),
        ("APPLICATION/JSON", False),
        ("application/json; charset=utf-8", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # a browser's address bar
        ("application/json, text/plain, */*", False),  # axios
        # `q=0` refuses: the media type is not answered however else the header would weigh it.
        (f"application/json, {JSONAPI};q=0", False),
        (f"{JSONAPI};q=0, */*", False),
        (f"{JSONAPI};q=0.0, application/*", False),
        (f"{JSONAPI}; charset=utf-8;q=0, application/json", False),  # refused by the client, not asked for
        (f"application/json;q=0, */*, {JSONAPI};q=0.1", True),  # the more specific range refuses JSON
        (f"*/*, application/json;q=0, {JSONAPI};q=0.1", True),
    ],
)
def test_accept_prefers_a_document_by_the_forms_lantern_answers(header: str, document: bool) -> None:
    asked = accepted(header)
    assert (asked.prefers_document, asked.answerable) == (document, True)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        (f"{JSONAPI}; charset=utf-8", ["charset"]),
        (f'{JSONAPI}; ext="{EXTENSION}"', [EXTENSION]),
        (f'{JSONAPI}; charset=utf-8, {JSONAPI}; ext="{EXTENSION}"', ["charset", EXTENSION]),
        (f'{JSONAPI}; profile="https://example.com/profile"; ext="{EXTENSION}"', [EXTENSION]),
        # Plain JSON is another media type: it does not make up for JSON:API's named only in forms refused.
        (f"{JSONAPI}; charset=utf-8, application/json", ["charset"]),
        ("APPLICATION/VND.API+JSON; Charset=UTF-8", ["charset"]),
    ],
)
def test_accept_naming_the_media_type_only_in_forms_refused_asks_for_nothing(header: str, named: list[str]) -> None:
    asked = accepted(header)
    assert (asked.prefers_document, asked.answerable) == (False, False)
    assert len(asked.refusals) == len(named)
    assert all(name in refusal for name, refusal in zip(named, asked.refusals, strict=True))


@pytest.mark.parametrize(
    "header",
    [
        f"{JSONAPI};q=0",
        f"{JSONAPI};q=0.000",
        f"{JSONAPI};q=0, text/html",
        f"{JSONAPI};q=0, application/json;q=0",
        f"{JSONAPI};q=0, */*;q=0",
        f"{JSONAPI}; charset=utf-8;q=0",
        # Neither named nor held by a range: these were answered plain JSON.
        "text/html",
        "image/png",
        "application/xml",
        "application/json;q=0",
        "application/json;q=0, text/html",
        "application/json;q=0, text/plain",  # JSON refused by name: text takes no more of it
    ],
)
def test_accept_refusing_the_media_type_and_admitting_no_json_asks_for_nothing(header: str) -> None:
    """Litestar's `Accept` reads `q=0` as the least wanted, not as refused: the document was answered. An `Accept`
    that names neither answer was answered plain JSON too."""
    asked = accepted(header)
    assert (asked.prefers_document, asked.answerable, asked.refusals) == (False, False, ())


@get("/native", sync_to_thread=False)
def native() -> Envelope[str]:
    raise NotImplementedError


@get("/item", sync_to_thread=False)
def item() -> Envelope[str] | Response[dict[str, Any]]:
    raise NotImplementedError


@get("/list", sync_to_thread=False)
def listed() -> ListAnswer[str]:
    raise NotImplementedError


@get("/created", sync_to_thread=False)
def created() -> CreatedOrDocument[str]:
    raise NotImplementedError


@get("/file", sync_to_thread=False)
def file() -> Response[bytes]:
    raise NotImplementedError


@pytest.mark.parametrize(
    ("handler", "mode"), [(native, False), (file, False), (item, True), (listed, True), (created, True)]
)
def test_a_route_has_a_jsonapi_mode_when_it_answers_a_document_or_its_native_body(
    handler: HTTPRouteHandler, mode: bool
) -> None:
    assert has_mode(handler) is mode


@pytest.mark.parametrize(
    ("header", "prefers_document"),
    [
        # Bugcrowd's document tells its clients to ask for its JSON:API documents by its own name: a 406.
        ("application/vnd.bugcrowd+json", True),
        ("Application/Vnd.Bugcrowd+JSON; q=0.9, application/json; q=0.5", True),
        ("application/vnd.bugcrowd+json; q=0.5, application/json", False),
        # JSON by other names, or as the text it is: each a 406, and a client with one fixed Accept was refused.
        ("application/problem+json", False),
        ("application/*+json", False),
        ("text/plain", False),
        ("text/*", False),
        ("text/json", False),
        ("application/x-json", False),
        ("*", False),
    ],
)
def test_accept_taking_json_by_another_name_is_answered(header: str, *, prefers_document: bool) -> None:
    asked = accepted(header)
    assert (asked.answerable, asked.prefers_document) == (True, prefers_document)
