"""Identities of widget keys and organization tokens, kept for a few seconds: resolving one costs two or
three short transactions that would otherwise run on every report submitted and every API call.

The cache is exact in every process, as soon as Redis delivers a message: a committed change to any project,
widget key, token or organization (the rows an identity is made of), whether made through the ORM or by an
UPDATE/DELETE statement, empties the cache of the process that made it, which announces the change on Redis
before its commit returns; every server process hears it (`hearing_credential_changes`, in the app's lifespan)
and empties its own. So a revoked key or token stops working everywhere at once: by the time the revoking
request is answered, the announcement is on its way to every other process, ahead of any request that follows.
A new one changes no identity known before: creating one empties nothing. A lookup under way while the cache is
emptied answers its own requests but is not remembered: it may have read the rows before the change.

Entries still expire (LANTERN_CREDENTIAL_CACHE_SECONDS, default 5; 0 turns the cache off): that bounds how long a
process that cannot hear (Redis down or restarting) honours a revoked key, and a process that hears again
empties its cache, since announcements may have been missed meanwhile. Sessions (people) are not cached: their
rights change with roles.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cache
from typing import Any, TypeVar
from uuid import uuid4

import structlog
from litestar import Litestar
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.util import await_only

from app.domain.organizations.models import Organization
from app.domain.projects.models import Project, ProjectKey
from app.domain.tokens.models import ApiToken
from app.lib.redis import (
    REDIS_RETRY_MAX_SECONDS,
    REDIS_RETRY_SECONDS,
    REDIS_TIMEOUT_SECONDS,
    cancel_requested,
    instance_channel,
    redis_url,
    stop,
)
from app.settings import get_settings
from tenants.identity import Identity

logger = structlog.get_logger()

# Identities whose rows these models hold; a change to any of them may change what a key resolves to.
_SOURCES = (Project, ProjectKey, ApiToken, Organization)
_STALE = "lantern_widget_identities_stale"
# Unknown keys are not cached (a flood of made-up keys must not fill memory); known keys are few.
_MAX_ENTRIES = 10_000
CHANGES_CHANNEL = "credentials:changed"
# How long the listener waits for a message at a time: between two waits, redis-py pings a quiet connection.
_LISTEN_SECONDS = 10

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
    # A new row makes no entry stale: unknown keys are never cached.
    if _touches_sources(session.dirty) or _touches_sources(session.deleted):
        session.info[_STALE] = True


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(mapper.class_ in _SOURCES for mapper in state.all_mappers):
        state.session.info[_STALE] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_STALE, False):
        forget_identities()
        if get_settings().redis_url is not None:  # else a command run without Redis: no server is there to hear
            # The commit (run by SQLAlchemy's asyncio layer in a greenlet) returns once the change is announced.
            # Announced beside it, a revoking request was answered before the other processes heard, and the
            # next request to one of them was let in by what it had cached.
            await_only(_publish_change())


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_STALE, None)


@cache
def _origin(_pid: int) -> bytes:
    """What this process's announcements carry, so that it does not empty its cache twice for its own changes
    (by the pid: a forked process is another)."""
    return uuid4().bytes


def _client(url: str) -> Redis:
    """A client of its own, not the process's pool: a subscribed connection takes no other command, and an
    announcement is rare (an admin's change) and made from any loop, a command's too (`asyncio.run` per step),
    which a pooled connection would outlive."""
    client: Redis = Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=REDIS_TIMEOUT_SECONDS, health_check_interval=30
    )
    return client


async def _publish_change() -> None:
    """A failure is logged, never raised: the change is committed, and the other processes' entries expire by
    themselves."""
    try:
        async with _client(redis_url()) as redis:
            await redis.publish(instance_channel(redis, CHANGES_CHANNEL), _origin(os.getpid()))
    except (RedisError, OSError) as error:
        logger.warning(
            "credential change not announced: Redis unavailable; other processes' cached identities expire",
            error=repr(error),
            within_seconds=get_settings().credential_cache_seconds,
        )


def hearing_credential_changes(_app: Litestar) -> AbstractAsyncContextManager[None]:
    """The app's lifespan part: the process hears the other processes' changes on the app's Redis."""
    return credential_changes_heard(redis_url())


@asynccontextmanager
async def credential_changes_heard(url: str) -> AsyncIterator[None]:
    """While in the block, empty this process's cache whenever another process announces a change on the Redis
    at `url`, and each time the subscription is made (again after Redis was away: announcements may have been
    missed)."""
    listening = asyncio.create_task(_listen(url))
    try:
        yield
    finally:
        await stop(listening)


async def _listen(url: str) -> None:
    pause, away = REDIS_RETRY_SECONDS, False
    async with _client(url) as redis, redis.pubsub() as pubsub:
        channel = instance_channel(redis, CHANGES_CHANNEL)
        # A cancellation lost in redis-py's read kept it listening, and the app's shutdown waited for it for ever.
        while not cancel_requested():
            try:
                if not pubsub.subscribed:
                    await pubsub.subscribe(channel)
                # After a lost connection, redis-py connects and subscribes again by itself.
                message = await pubsub.get_message(timeout=_LISTEN_SECONDS)
            except (RedisError, OSError) as error:
                logger.warning(
                    "credential changes not heard: Redis unavailable; cached identities expire",
                    error=repr(error),
                    within_seconds=get_settings().credential_cache_seconds,
                    retry_in=pause,
                )
                await asyncio.sleep(pause)
                pause, away = min(REDIS_RETRY_MAX_SECONDS, pause * 2), True
                continue
            if message is None:
                continue
            if message["type"] == "subscribe":  # subscribed: at first, or again after Redis was away
                forget_identities()
                if away:
                    logger.info("credential changes heard again: cached identities forgotten")
                pause, away = REDIS_RETRY_SECONDS, False
            elif message["type"] == "message" and message["data"] != _origin(os.getpid()):
                forget_identities()
