"""The Redis connection of this process (sessions, cache, limiter, queue), and script calls batched per
event-loop turn."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    MasterDownError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.settings import get_settings


class RedisNotConfiguredError(RuntimeError):
    """REDIS_URL is unset in a process that needs Redis: `lantern run` starts an embedded one."""


def redis_url() -> str:
    url = get_settings().redis_url
    if url is None:
        msg = "REDIS_URL is not set; `python -m app.cli run` starts an embedded Redis and sets it"
        raise RedisNotConfiguredError(msg)
    return url


REDIS_TIMEOUT_SECONDS = 5
# As many connections as a process may hold at once (each waiting submission holds one for its tracking ID);
# past that, a call waits for one to be released, at most the timeout.
REDIS_MAX_CONNECTIONS = 10_000


@cache
def get_redis() -> Redis:
    """The process's client. Its pool makes each new connection outside the pool's lock (redis-py's default
    pool makes them under it): behind a hung Redis, every caller then waited for the connections before its
    own to time out, one after another (30 to 50 s), where each now waits out its own timeout, together."""
    pool = BlockingConnectionPool.from_url(
        redis_url(),
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=2,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


def instance_channel(redis: Redis, name: str) -> str:
    """The pub/sub channel `name` of the instance whose database `redis` uses. Channels are the server's, not a
    database's (PUBLISH ignores SELECT): instances sharing a server, each on a database of its own as the
    deployment guide asks, would otherwise hear each other's messages."""
    return f"lantern:db{redis.connection_pool.connection_kwargs.get('db', 0)}:{name}"


# Every use Lantern makes of Redis writes (limits, sessions, jobs), so a Redis that refuses writes is as good as
# gone: its disk full or failing (MISCONF), a replica (READONLY), full under `noeviction` (OOM), short of
# replicas (NOREPLICAS, MASTERDOWN). A script's refused write comes inside "Error running script …: -OOM …".
_REFUSED_WRITE = re.compile(r"(?:^|-)(?:MISCONF|READONLY|OOM|NOREPLICAS|MASTERDOWN) ")


def cancel_requested() -> bool:
    """Whether the running task was asked to stop. A loop of Redis calls in a task of its own checks it: a
    cancellation that lands as a redis-py read times out is taken for the timeout (the call fails, or a pub/sub
    read returns no message), the loop goes on with the task still marked as cancelling, and whoever awaits the
    task after cancelling it waits for ever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a loop's task and wait for its end, without taking that end for the caller's: a cancellation of the
    caller itself (a job's timeout, a bound on a shutdown) still goes through, where suppressing the task's
    `CancelledError` swallowed it too."""
    task.cancel()
    await asyncio.wait([task])


def refuses_writes(error: BaseException) -> bool:
    """Whether Redis answered `error` because it takes no writes now, rather than for a mistake of ours."""
    return isinstance(error, ReadOnlyError | OutOfMemoryError | MasterDownError) or (
        isinstance(error, ResponseError) and _REFUSED_WRITE.search(str(error)) is not None
    )


def redis_unavailable(error: BaseException) -> bool:
    """Whether `error` means Redis cannot serve now: unreachable, hung (its timeout), or refusing writes."""
    return isinstance(error, RedisConnectionError | RedisTimeoutError | OSError) or refuses_writes(error)


def caused_by_redis_going_away(error: BaseException | None) -> bool:
    """Whether Redis becoming unreachable, hung or refusing writes is what `error` is, or what led to it (arq raises
    a watched key's `WatchError` for a lost connection). Only Redis' own errors count: an OSError of the disk does
    not."""
    return in_cause_chain(
        error, lambda cause: isinstance(cause, RedisConnectionError | RedisTimeoutError) or refuses_writes(cause)
    )


def in_cause_chain(error: BaseException | None, test: Callable[[BaseException], bool]) -> bool:
    """Whether `error`, or an error that led to it (its cause or context, and theirs), passes `test`."""
    while error is not None:
        if test(error):
            return True
        error = error.__cause__ or error.__context__
    return False


REDIS_RETRY_SECONDS = 1.0
REDIS_RETRY_MAX_SECONDS = 30.0


class RedisHealth:
    """Whether a Redis answered lately. After a failure (unreachable, a hung server's timeout, or writes
    refused), the callers
    that can do without it (the limiter, counting in the process; a report's jobs, which the sweeper queues
    later) skip it and answer at once, rather than each waiting out the socket's timeout: for a second, then
    twice as long after each failure in a row (at most 30 s), until it answers again."""

    def __init__(self) -> None:
        self.failures = 0
        self._in_a_row = 0
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self) -> None:
        if not self.available:
            return  # the same outage, met by a call that was already waiting when it was first seen
        self.failures += 1
        self._in_a_row += 1
        pause = min(REDIS_RETRY_MAX_SECONDS, REDIS_RETRY_SECONDS * 2 ** (self._in_a_row - 1))
        self._down_until = time.monotonic() + pause

    def answered(self) -> None:
        self._in_a_row = 0


@cache
def redis_health() -> RedisHealth:
    """This process's Redis (`get_redis`), as its callers last found it."""
    return RedisHealth()


# A script, its keys, its arguments, and the future its caller awaits.
_Call = tuple[AsyncScript, list[str], list[Any], asyncio.Future[Any]]


class ScriptBatch:
    """Script calls made in one turn of the event loop, sent to Redis together in one pipeline.

    Under load, dozens of requests reach the limiter, or enqueue their jobs, in the same turn; one round trip
    for all of them saves each its own connection checkout, write and wake-up. Each call still gets its own
    result or error.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._calls: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        result = loop.create_future()
        self._calls.append((script, keys, args, result))
        if len(self._calls) == 1:
            # Runs in the loop's next turn, after the calls of every request handled in this one.
            sending = loop.create_task(self._send())
            self._sending.add(sending)
            sending.add_done_callback(self._sending.discard)
        return await result

    async def _send(self) -> None:
        calls, self._calls = self._calls, []
        try:
            answers = await self._execute(calls)
            if missing := [i for i, answer in enumerate(answers) if isinstance(answer, NoScriptError)]:
                # Redis restarted since the scripts were loaded: load them again, then retry those calls.
                for script in {calls[i][0] for i in missing}:
                    await self.redis.script_load(script.script)
                for i, answer in zip(missing, await self._execute([calls[i] for i in missing]), strict=True):
                    answers[i] = answer
        except Exception as error:  # noqa: BLE001 - every caller gets the pipeline's error
            answers = [error] * len(calls)
        for (*_call, result), answer in zip(calls, answers, strict=True):
            if result.done():
                continue
            if isinstance(answer, Exception):
                result.set_exception(answer)
            else:
                result.set_result(answer)

    async def _execute(self, calls: list[_Call]) -> list[Any]:
        """Each call's answer, or the error Redis answered it with (as a pipeline returns them)."""
        if len(calls) == 1:  # alone in its turn, as when idle: a pipeline would add only its own bookkeeping
            script, keys, args, _result = calls[0]
            try:
                # redis-py types the asyncio client's commands as sync-or-async.
                evalsha = cast("Callable[..., Awaitable[Any]]", self.redis.evalsha)
                return [await evalsha(script.sha, len(keys), *keys, *args)]
            except ResponseError as error:
                return [error]
        async with self.redis.pipeline(transaction=False) as pipeline:
            for script, keys, args, _result in calls:
                pipeline.evalsha(script.sha, len(keys), *keys, *args)
            return list(await pipeline.execute(raise_on_error=False))
