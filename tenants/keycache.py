"""Identities of widget keys and organization tokens, kept for a few seconds: resolving one costs two or
three short transactions that would otherwise run on every report submitted and every API call.

Within a process the cache is exact: a committed change to any project, widget key, token or
organization (the rows an identity is made of) empties it, whether made through the ORM or by an
UPDATE/DELETE statement, and a lookup under way meanwhile answers its own requests but is not remembered (it
may have read the rows before the change). Other processes see the change once their entry expires
(LANTERN_CREDENTIAL_CACHE_SECONDS, default 5; 0 turns the cache off), so a revoked key or token stops
working everywhere within that time. Sessions (people) are not cached: their rights change with roles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from app.domain.organizations.models import Organization
from app.domain.projects.models import Project, ProjectKey
from app.domain.tokens.models import ApiToken
from app.settings import get_settings
from tenants.identity import Identity

# Identities whose rows these models hold; a change to any of them may change what a key resolves to.
_SOURCES = (Project, ProjectKey, ApiToken, Organization)
_STALE = "lantern_widget_identities_stale"
# Unknown keys are not cached (a flood of made-up keys must not fill memory); known keys are few.
_MAX_ENTRIES = 10_000

_entries: dict[str, tuple[float, Identity]] = {}
_loading: dict[str, asyncio.Future[Any]] = {}
# How many times the cache was emptied: a lookup remembers its answer only if it was not emptied meanwhile.
_generation = 0

# What a lookup answers when it finds no identity (None, or why not).
Refusal = TypeVar("Refusal")


async def remembered(key: str, load: Callable[[], Coroutine[Any, Any, Identity | Refusal]]) -> Identity | Refusal:
    """The identity cached under `key`, else what `load()` resolves (kept when it is an identity).

    Concurrent requests with the same key share one load: when an entry expires under a flood, every
    request in flight misses at once, and each opening its own lookup would queue them all on the pool.
    """
    if (identity := _cached(key)) is not None:
        return identity
    loading = _loading.get(key)
    if loading is None or loading.get_loop() is not asyncio.get_running_loop():
        loading = _loading[key] = asyncio.ensure_future(_load(key, load))
    # A request that goes away does not cancel the load the others wait for.
    answer: Identity | Refusal = await asyncio.shield(loading)
    return answer


async def _load(key: str, load: Callable[[], Coroutine[Any, Any, Identity | Refusal]]) -> Identity | Refusal:
    began = _generation
    try:
        answer = await load()
    finally:
        if _loading.get(key) is asyncio.current_task():  # not a load begun after the cache was emptied
            del _loading[key]
    if isinstance(answer, Identity) and began == _generation:
        _remember(key, answer)
    return answer


def _cached(key: str) -> Identity | None:
    entry = _entries.get(key)
    if entry is None:
        return None
    expires, identity = entry
    if time.monotonic() >= expires:
        del _entries[key]
        return None
    return identity


def _remember(key: str, identity: Identity) -> None:
    ttl = get_settings().credential_cache_seconds
    if ttl <= 0:
        return
    if len(_entries) >= _MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (time.monotonic() + ttl, identity)


def forget_identities() -> None:
    """Empty the cache. Lookups under way answer the requests waiting for them but are not remembered (they may
    have read the rows before the change), and the requests that come from now on look up afresh."""
    global _generation  # noqa: PLW0603 - one count per process, as the cache is
    _generation += 1
    _entries.clear()
    _loading.clear()


def _touches_sources(objects: Any) -> bool:
    return any(isinstance(obj, _SOURCES) for obj in objects)


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_sources(session.new) or _touches_sources(session.dirty) or _touches_sources(session.deleted):
        session.info[_STALE] = True


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(mapper.class_ in _SOURCES for mapper in state.all_mappers):
        state.session.info[_STALE] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_STALE, False):
        forget_identities()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_STALE, None)
