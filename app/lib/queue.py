"""Enqueueing background jobs on arq, with a safe serializer (msgpack, never pickle) on both sides.

A job is written exactly as arq's `enqueue_job` writes it (the job under `arq:job:{id}`, unless that key or
the job's result exists, and its id in the queue's sorted set), but by one script call instead of arq's
three round trips (WATCH, EXISTS, MULTI/EXEC), and the enqueues of one event-loop turn share one pipeline
(`ScriptBatch`): when a group commit stores a batch of reports, all its requests wake in the same turn and
each asks for its screenshot's processing.

`enqueue_after_commit` queues a job only once the transaction that made its work commits: the worker then
always finds that work, and a rolled-back change queues nothing.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache, partial
from typing import Any
from uuid import uuid4

import msgpack
import structlog
from arq.connections import RedisSettings
from arq.constants import (
    default_queue_name,
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import deserialize_job, serialize_job
from arq.utils import timestamp_ms
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.lib.redis import ScriptBatch, get_redis, redis_url
from tenants.context import require_tenant

logger = structlog.get_logger()

serialize = msgpack.packb
deserialize = partial(msgpack.unpackb, raw=False)

# KEYS: the job's key, its result's key, the queue; ARGV: expiry (ms), the job, its score, its id.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


# Images are processed from a queue of their own, by a worker of their own inside the worker process
# (workers/main.py): a flood of large images from one organization, each seconds of CPU, used to hold every job
# slot while the images waited for a decoder, and other organizations' tracking IDs, webhook deliveries and
# password-reset e-mails waited behind them for minutes.
IMAGE_QUEUE = "lantern:queue:images"
IMAGE_JOBS = frozenset({"process_screenshot", "process_attachment_image"})
# So does what is sent out (webhook deliveries, GitHub issues, e-mails), for the same reason: each waits seconds
# on another server, and one organization's receivers that time out or fail (each failure a retry later) held
# the job slots while every organization's tracking IDs waited behind them (400 failing deliveries held them
# back 40-60 s).
OUTBOUND_QUEUE = "lantern:queue:outbound"
OUTBOUND_JOBS = frozenset(
    {
        "deliver_webhook",
        "create_github_issue",
        "send_invitation_email",
        "send_password_reset_email",
        "send_notification_email",
    }
)
QUEUES = (default_queue_name, IMAGE_QUEUE, OUTBOUND_QUEUE)
# What a job postponed by its organization's outbound share (app/lib/fair_share.py) adds to its id, before
# how often it was postponed: `webhook-delivery:<id>:0:later-2`.
POSTPONED = ":later-"


def queue_of(function: str) -> str:
    """The arq queue a job function is run from."""
    if function in IMAGE_JOBS:
        return IMAGE_QUEUE
    return OUTBOUND_QUEUE if function in OUTBOUND_JOBS else default_queue_name


def redis_settings() -> RedisSettings:
    return RedisSettings.from_dsn(redis_url())


class JobQueue:
    """arq's queues, as the workers read them (`workers/main.py`): each job in the queue of its function."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.script = redis.register_script(_ENQUEUE)
        self.scripts = ScriptBatch(redis)

    async def enqueue(
        self, function: str, job_id: str | None = None, *, defer_seconds: float = 0, **kwargs: Any
    ) -> bool:
        """Queue `function(**kwargs)` to run now, or after `defer_seconds`; False when a job with this id is
        queued or has run."""
        job_id = job_id or uuid4().hex
        enqueued_ms = timestamp_ms()
        defer_ms = round(defer_seconds * 1000)
        job = serialize_job(function, (), kwargs, None, enqueued_ms, serializer=serialize)
        keys = [job_key_prefix + job_id, result_key_prefix + job_id, queue_of(function)]
        arguments = [defer_ms + expires_extra_ms, job, enqueued_ms + defer_ms, job_id]
        return bool(await self.scripts.call(self.script, keys, arguments))

    async def waiting(self, function: str, job_ids: Collection[str]) -> set[str]:
        """Of these jobs of `function`, those waiting in its queue (due or deferred) under their own id or an id
        the sweeper gave them (`<job id>:<window>`), postponed or not, not claimed by a worker: they will run,
        and queueing them again only lengthens the queue. A job lost with Redis is not found, nor one a worker
        holds (one that died lets go of its claim only after minutes)."""
        redis = self.redis
        wanted = set(job_ids)
        found: dict[str, str] = {}
        for queued in await redis.zrange(queue_of(function), 0, -1):
            queued_id = queued.decode() if isinstance(queued, bytes) else str(queued)
            own_id = queued_id.partition(POSTPONED)[0]
            work = own_id if own_id in wanted else own_id.rpartition(":")[0]
            if work in wanted:
                found[queued_id] = work
        async with redis.pipeline(transaction=False) as pipeline:
            for queued_id in found:
                pipeline.exists(job_key_prefix + queued_id)
                pipeline.exists(in_progress_key_prefix + queued_id)
            answers = await pipeline.execute()
        claims = zip(answers[::2], answers[1::2], strict=True)
        return {work for work, (kept, claimed) in zip(found.values(), claims, strict=True) if kept and not claimed}


@cache
def job_queue() -> JobQueue:
    """This process's queue, on its Redis connection."""
    return JobQueue(get_redis())


async def enqueue_for_tenant(function: str, *, _job_id: str | None = None, **kwargs: Any) -> bool:
    """Enqueue a job that runs in the tenant in context: the tenant travels with the job."""
    return await job_queue().enqueue(function, _job_id, organization_id=str(require_tenant()), **kwargs)


_AFTER_COMMIT = "lantern.jobs_after_commit"
_enqueueing: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


def enqueue_after_commit(
    session: AsyncSession,
    function: str,
    job_id: str,
    *,
    defer_seconds: float = 0,
    of_tenant: bool = True,
    **kwargs: Any,
) -> None:
    """Queue a job of the tenant in context (or, `of_tenant=False`, of nobody's: a person's own e-mail) once
    `session`'s transaction commits; nothing if it rolls back.

    The enqueue runs beside the caller (a request answers without waiting for it); if Redis is unreachable
    then, the job is lost to the queue and the sweeper that owns its kind of work queues it again.
    """
    tenant = {"organization_id": str(require_tenant())} if of_tenant else {}
    pending = session.sync_session.info.setdefault(_AFTER_COMMIT, [])
    pending.append((function, job_id, defer_seconds, {**tenant, **kwargs}))


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    if pending := session.info.pop(_AFTER_COMMIT, None):
        task = asyncio.get_running_loop().create_task(_enqueue_all(pending))
        _enqueueing.add(task)
        task.add_done_callback(_enqueueing.discard)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


async def _enqueue_all(pending: list[tuple[str, str, float, dict[str, Any]]]) -> None:
    queue = job_queue()
    try:
        await asyncio.gather(
            *(
                queue.enqueue(function, job_id, defer_seconds=defer, **kwargs)
                for function, job_id, defer, kwargs in pending
            )
        )
    except (RedisError, OSError):
        logger.warning("jobs not queued after commit: queue unavailable", jobs=[job_id for _f, job_id, *_ in pending])


class JobState(enum.StrEnum):
    QUEUED = "queued"  # due, waiting for a worker
    SCHEDULED = "scheduled"  # waiting for its time (a deferred job: a webhook delivery's retry)
    # Postponed by its organization's outbound share (app/lib/fair_share.py), due or not: it runs once one of the
    # organization's slots is free. It was shown as scheduled, like a retry, and a manager could not tell an
    # organization's backlog behind its own hung receivers from deliveries that had failed.
    WAITING = "waiting"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class QueuedJob:
    function: str
    organization_id: str | None  # None for the instance's own jobs (the sweepers)
    state: JobState
    tries: int  # runs started so far; above 1, arq is retrying the job
    arguments: dict[str, Any]  # the job's keyword arguments: which piece of work it does


# The dashboard reads at most this many jobs of the queue; a longer queue is reported as truncated.
QUEUE_SNAPSHOT_LIMIT = 10_000


async def queue_snapshot(limit: int = QUEUE_SNAPSHOT_LIMIT) -> tuple[list[QueuedJob], bool]:
    """The jobs in arq's queues now, read as arq keeps them (each queue's sorted set of ids by due time, each
    job's data, its in-progress and retry keys), and whether the queues held more than `limit`."""
    redis = get_redis()
    entries = [
        (job_id.decode() if isinstance(job_id, bytes) else str(job_id), score)
        for queue in QUEUES
        for job_id, score in await redis.zrange(queue, 0, limit, withscores=True)
    ]
    truncated = len(entries) > limit
    entries = entries[:limit]
    async with redis.pipeline(transaction=False) as pipeline:
        for job_id, _score in entries:
            pipeline.get(job_key_prefix + job_id)
            pipeline.exists(in_progress_key_prefix + job_id)
            pipeline.get(retry_key_prefix + job_id)
        answers = await pipeline.execute()
    now_ms = timestamp_ms()
    jobs = []
    for index, (job_id, score) in enumerate(entries):
        data, running, tries = answers[3 * index : 3 * index + 3]
        if data is None:
            continue  # finished between the two reads
        job = deserialize_job(data, deserializer=deserialize)
        state = _state(job_id, deferred=score > now_ms, running=bool(running), tries=int(tries or 0))
        jobs.append(QueuedJob(job.function, job.kwargs.get("organization_id"), state, int(tries or 0), job.kwargs))
    return jobs, truncated


def _state(job_id: str, *, deferred: bool, running: bool, tries: int) -> JobState:
    """A queued job's state. A postponed job that started under its id (`tries`) and waits again is one arq retries
    (an e-mail whose SMTP server was down): scheduled, as every retry is."""
    if running:
        return JobState.RUNNING
    if POSTPONED in job_id and not tries:
        return JobState.WAITING
    return JobState.SCHEDULED if deferred else JobState.QUEUED


def release_claims(redis_url: str) -> int:
    """Let go of every job's in-progress claim, for a worker started on a Redis no other worker uses (`make
    run`'s own): a claim left by a worker that died is kept in Redis' append-only file until it expires
    (minutes), holding its job back and counted as running on the job dashboard. Returns how many there were."""
    with SyncRedis.from_url(redis_url) as client:
        claims = list(client.scan_iter(match=f"{in_progress_key_prefix}*"))
        if claims:
            client.delete(*claims)
    return len(claims)
