"""Native pages of the API's lists, as BugHerd pages its own: `page` and `page_size`, 100 a page by default.

Every native list (a report's comments, the projects, the members…) reads its page through `provide_window`
and answers it with `listed`: `data` stays the array it always was, and `meta` beside it tells the whole
list's count (BugHerd's `meta.count`, also as `total`, JSON:API mode's name for it) and the page. Each sends
`Link` to the pages around it (`page_links`), the reports' lists too, which keep their own body. The
repositories count and slice in SQL (`page_of`). JSON:API mode keeps its own pages (`page[limit]`,
`page[offset]`): there the list is read whole and paged as before, and the native parameters are a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.params import QueryParameter
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.lib import jsonapi
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.schema import CamelStruct
from app.lib.web_addresses import public_address

T = TypeVar("T")
Row = TypeVar("Row")
S = TypeVar("S", bound=msgspec.Struct)

MAX_PAGE_SIZE = jsonapi.MAX_LIMIT
# BugHerd's page: what a client got before lists were paged, for any list of a realistic size.
DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE
_NATIVE_PAGES = ("page", "page_size")

PAGES_DESCRIPTION = (
    f"Paged natively by `page` (from 1) and `page_size` (1-{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}, also "
    "`pageSize`): `data` is the page, `meta` says the whole list's count (`count`, as BugHerd's `meta.count`, "
    "and `total`) and the page (`page`, `pageSize`), and a `Link` header its `next` and `prev` pages (whole "
    "addresses, to follow as given)."
)


@dataclass(frozen=True, slots=True)
class Window:
    """The page a native list answers; `whole` in JSON:API mode, which reads the list whole and pages it by
    its own parameters."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    whole: bool = False
    start: int | None = None  # where a JSON:API page (`page[offset]`) starts, which no page number gives

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size if self.start is None else self.start

    @classmethod
    def at(cls, offset: int, limit: int) -> Window:
        """A JSON:API page the database slices: `limit` rows from `offset`."""
        return cls(page_size=limit, start=offset)


@dataclass(frozen=True, slots=True)
class Paged(Generic[Row]):
    """A page of a list's rows and how many rows the whole list has."""

    items: list[Row]
    total: int


# The native pages' parameters say their defaults in words: documented as `default`, a client generated from the
# document (openapi-python-client) sent them with every call, and a JSON:API request refused them.
PAGE = "The page, from 1; the first when not sent."


def page_size_described(default: int) -> str:
    return f"Items on a page; {default} when not sent."


async def provide_window(
    request: Request[Any, Any, Any],
    page: Annotated[int | None, QueryParameter(ge=1, le=jsonapi.MAX_OFFSET // MAX_PAGE_SIZE, description=PAGE)] = None,
    page_size: Annotated[
        int | None, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=page_size_described(DEFAULT_PAGE_SIZE))
    ] = None,
) -> Window:
    """The native page a list handler reads (its `window` dependency)."""
    if not jsonapi.requested(request):
        return Window(page or 1, page_size or DEFAULT_PAGE_SIZE)
    # A native page in a JSON:API document's pages would silently be another page: refused, as on the reports.
    message = _("In JSON:API mode, pages are page[limit] with page[offset], or the cursors of links.")
    named = [name for name in _NATIVE_PAGES if name in request.query_params]
    if named:
        raise LanternError(ErrorCode.VALIDATION_ERROR, details=[FieldError(name, message) for name in named])
    return Window(whole=True)


async def page_of(session: AsyncSession, statement: Select[Any], window: Window, *, scalars: bool = True) -> Paged[Any]:
    """The rows of `statement` (ordered to the last column, so that pages neither repeat nor skip a row) in
    `window`, counted and sliced by the database: the whole list is never loaded for one page. `scalars`
    answers the first entity of each row; otherwise each row is a tuple."""
    if window.whole:
        rows = await _rows(session, statement, scalars=scalars)
        return Paged(rows, len(rows))
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    if window.offset >= total:
        return Paged([], total)
    sliced = statement.limit(window.page_size).offset(window.offset)
    return Paged(await _rows(session, sliced, scalars=scalars), total)


async def _rows(session: AsyncSession, statement: Select[Any], *, scalars: bool) -> list[Any]:
    if scalars:
        return list(await session.scalars(statement))
    return [tuple(row) for row in (await session.execute(statement)).all()]


class PageMeta(CamelStruct):
    count: int  # the whole list's, as BugHerd's meta.count
    total: int  # the same, under JSON:API mode's name for it
    page: int
    page_size: int


class ListPage(msgspec.Struct, Generic[T], kw_only=True):
    """The native envelope of a list: `data` the page, `meta` the count and the page."""

    success: bool = True
    data: list[T]
    meta: PageMeta


def listed(request: Request[Any, Any, Any], reads: list[T], total: int, window: Window) -> Response[ListPage[T]]:
    """A native list's page, with `Link` to the pages before and after it (RFC 8288)."""
    meta = PageMeta(count=total, total=total, page=window.page, page_size=window.page_size)
    return Response(ListPage(data=reads, meta=meta), headers=page_links(request, total, window))


def page_links(request: Request[Any, Any, Any], total: int, window: Window) -> dict[str, str] | None:
    """The `Link` header (RFC 8288) of a native page of a list of `total` items: its `next` and `prev` pages,
    each only when there is one (from past the end, `prev` is the last page); none for a list of one page. Every
    native list sends it: those of `listed`, and the reports' `{items, total, page, pageSize}`. Its addresses
    are whole (`public_address`), as GitHub's are: paginators follow them as given."""
    links = []
    if window.offset + window.page_size < total:
        links.append(f'<{_page_link(request, window.page + 1)}>; rel="next"')
    if window.page > 1:
        last = max(1, -(-total // window.page_size))
        links.append(f'<{_page_link(request, min(window.page - 1, last))}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else None


def _page_link(request: Request[Any, Any, Any], page: int) -> str:
    params = [(key, value) for key, value in request.query_params.multi_items() if key != "page"]
    params.append(("page", str(page)))
    return public_address(f"{request.url.path}?{urlencode(params)}")


# What a list handler answers: its native page (documented as `ListPage`, sent as a Response for its `Link`
# header, which Litestar takes from any handler), or its JSON:API document.
ListAnswer = ListPage[S] | Response[Any]


def page_or_document(  # noqa: PLR0913 - the request, the page and how its reads become resources
    request: Request[Any, Any, Any],
    type_name: str,
    reads: list[S],
    total: int,
    window: Window,
    *,
    kind: type[S],
    id_field: str = "id",
) -> ListAnswer[S]:
    """A native list's page, or in JSON:API mode (the list read whole) its document (`jsonapi.native_or_document`)."""
    if not window.whole:
        return listed(request, reads, total, window)
    answer = jsonapi.native_or_document(request, type_name, reads, kind=kind, id_field=id_field)
    assert isinstance(answer, Response)  # noqa: S101 - JSON:API mode is what `whole` means
    return answer
