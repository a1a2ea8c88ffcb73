"""arq worker settings: `arq workers.main.WorkerSettings` (or `python -m app.cli worker`).

The settings are built when first read (not at import), so the worker's Redis URL comes from the
environment of the process that runs it, and tests can build a worker after configuring theirs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from signal import Signals
from types import SimpleNamespace
from typing import Any, cast

import structlog
from arq import cron, func
from arq.typing import WorkerCoroutine
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.domain.reports.screenshots import run_seconds
from app.domain.transfer.services import EXPORT_SECONDS
from app.lib.database import warn_if_unguarded
from app.lib.logging import configure_logging
from app.lib.queue import IMAGE_QUEUE, OUTBOUND_QUEUE, deserialize, redis_settings, serialize
from app.lib.redis import REDIS_RETRY_MAX_SECONDS, REDIS_RETRY_SECONDS, refuses_writes, stop
from app.settings import get_settings
from workers.jobs import (
    assign_tracking_ids,
    create_github_issue,
    delete_project_files,
    delete_stored_files,
    deliver_webhook,
    export_organization,
    process_attachment_image,
    process_screenshot,
    refresh_search_gram_shares,
    send_invitation_email,
    send_notification_email,
    send_password_reset_email,
    sweep_expired_files,
    sweep_outbound_work,
    sweep_pending_screenshots,
    sweep_unnumbered_reports,
)

logger = structlog.get_logger()

# Images and what is sent out run beside the other jobs, each from its own queue (see app/lib/queue.py) by a
# worker of its own in this process. Images this many at once: the two the process decodes at a time
# (screenshots.py) and two reading or storing their files meanwhile.
IMAGE_JOBS_AT_ONCE = 4
# Deliveries, GitHub issues and e-mails wait on other servers, not on this one's CPU.
OUTBOUND_JOBS_AT_ONCE = 20
QUEUE_WORKER_POLL_SECONDS = 0.1
_QUEUE_WORKERS = "lantern_queue_workers"
_STOP_BY = "lantern_stop_by"  # time.monotonic() by which the running jobs of every worker are to have finished
_WRITABLE_KEY = "lantern:worker:writable"
_WRITABLE_KEY_MS = 60_000
arq_logger = logging.getLogger("arq.worker")  # the line arq would write, among arq's own


class StoppingWorker(Worker):
    """arq's worker, which stops taking jobs when told (`allow_pick_jobs` cleared) also within the batch its poll
    read. arq's went on starting the batch: a side worker's stop did not wait for those jobs, and closing the
    worker cancelled them as they set out, which ended the process with an uncaught CancelledError; the main
    worker ran them while it stopped, into the pod's grace period."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._starting = asyncio.Lock()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        async with self._starting:
            for job_id in job_ids:
                if not self.allow_pick_jobs:
                    return
                await super().start_jobs([job_id])

    async def started_its_last_job(self) -> None:
        """Once the job being started, if any, has started: no other will be once `allow_pick_jobs` is False."""
        async with self._starting:
            pass


class QueueWorker(StoppingWorker):
    """The worker of one of the side queues (images, outbound), which no signal stops: the main worker's
    `shutdown` closes it. arq's line for that named the signal SIGUSR1, which nobody sent, where an operator
    reads what happened."""

    def __init__(self, kind: str, **settings: Any) -> None:
        super().__init__(**settings)
        self.kind = kind

    def handle_sig(self, signum: Signals) -> None:  # noqa: ARG002 - arq's placeholder signal
        arq_logger.info(
            "%s worker stopped with the main worker ◆ %d jobs complete ◆ %d failed ◆ %d retries ◆ %d cancelled",
            self.kind,
            self.jobs_complete,
            self.jobs_failed,
            self.jobs_retried,
            sum(not task.done() for task in self.tasks.values()),
        )
        for task in self.tasks.values():  # as arq's own: what still runs is cancelled (run again later)
            task.cancel()
        if self.main_task is not None:
            self.main_task.cancel()


class MainWorker(StoppingWorker):
    """The worker `python -m workers` runs (`python -m app.cli worker`, the chart's, `make run`'s). On SIGTERM or
    SIGINT the side queues' workers stop taking jobs with it, at once, and their running jobs have what is left of
    the same wait (LANTERN_WORKER_STOP_SECONDS): arq's own handling stops the main worker alone, the side workers
    went on taking outbound jobs while its running jobs finished, and waited their own 25 s after that, past the
    pod's 30 s grace period, whose SIGKILL left their jobs and their organizations' outbound slots held for minutes.
    (`arq workers.main.WorkerSettings` runs arq's Worker: its side workers stop only once it has stopped.)"""

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        _stop_taking_jobs(self.ctx)
        super().handle_sig_wait_for_completion(signum)


def _stop_taking_jobs(ctx: dict[str, Any]) -> None:
    """The side workers take no more jobs; the first stop sets when their running ones are to have finished."""
    ctx.setdefault(_STOP_BY, time.monotonic() + get_settings().worker_stop_seconds)
    for worker, _running in ctx.get(_QUEUE_WORKERS, ()):
        worker.allow_pick_jobs = False


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging(get_settings().log_level)
    await warn_if_unguarded()  # the worker runs every tenant's jobs: its operator is told as the server's is
    await _wait_for_writes(ctx["redis"])
    workers = [QueueWorker("image", **image_worker_settings()), QueueWorker("outbound", **outbound_worker_settings())]
    ctx[_QUEUE_WORKERS] = [(worker, asyncio.create_task(worker.async_run())) for worker in workers]


async def _wait_for_writes(redis: Redis) -> None:
    """Return once Redis takes a write, trying again a second later, then twice as long each time (at most
    30 s): a worker started on a Redis that refuses writes (its disk full) died at its first heartbeat, and
    `make run` stopped after five such starts in a minute. A worker whose Redis refuses writes later dies the
    same way, and waits here once started again."""
    pause = REDIS_RETRY_SECONDS
    while True:
        try:
            await redis.set(_WRITABLE_KEY, 1, px=_WRITABLE_KEY_MS)
        except RedisError as error:
            if not refuses_writes(error):
                raise
            logger.warning("worker: Redis refuses writes, waiting for it", reason=str(error), retry_in=pause)
            await asyncio.sleep(pause)
            pause = min(REDIS_RETRY_MAX_SECONDS, pause * 2)
        else:
            return


async def shutdown(ctx: dict[str, Any]) -> None:
    """The side queues' workers stop with this one: they take no more jobs, and their running ones finish first,
    within the wait the signal began (`MainWorker`), or a whole one when the main worker stopped on its own."""
    _stop_taking_jobs(ctx)
    workers = ctx.pop(_QUEUE_WORKERS, [])  # none when stopped before its start-up had started them
    for worker, _running in workers:
        await worker.started_its_last_job()
    started = [task for worker, _running in workers for task in worker.tasks.values() if not task.done()]
    if started and (left := ctx[_STOP_BY] - time.monotonic()) > 0:
        await asyncio.wait(started, timeout=left)
    for worker, running in workers:
        await worker.close()  # cancels what still runs
        await stop(running)  # and its loop, which a worker stopped as it started had not begun: nothing cancelled it


def image_function(job: Any) -> Any:
    """An image job (screenshot or attached image) with arq's timeout beyond the job's own (which marks the
    row failed, with a reason), and no stored result, so that the sweeper may enqueue the same job id again
    as soon as it is needed."""
    return func(cast("WorkerCoroutine", job), timeout=run_seconds(), keep_result=0)


def _common_settings() -> dict[str, Any]:
    return {
        "redis_settings": redis_settings(),
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "job_timeout": 300,
        "max_tries": 5,
    }


def image_worker_settings() -> dict[str, Any]:
    """The worker of the image queue, run by the main worker's start-up in the same process."""
    return {
        **_common_settings(),
        "functions": [image_function(process_screenshot), image_function(process_attachment_image)],
        "queue_name": IMAGE_QUEUE,
        "max_jobs": IMAGE_JOBS_AT_ONCE,
        "poll_delay": QUEUE_WORKER_POLL_SECONDS,
        "handle_signals": False,  # the main worker's handling stops it (`shutdown`)
    }


def outbound_functions() -> list[Any]:
    # No stored result: each attempt has its own job id, and nobody reads an attempt's result.
    return [
        func(cast("WorkerCoroutine", job), keep_result=0)
        for job in (
            send_invitation_email,
            send_password_reset_email,
            send_notification_email,
            deliver_webhook,
            create_github_issue,
        )
    ]


def outbound_worker_settings() -> dict[str, Any]:
    """The worker of the outbound queue, run by the main worker's start-up in the same process."""
    return {
        **_common_settings(),
        "functions": outbound_functions(),
        "queue_name": OUTBOUND_QUEUE,
        "max_jobs": OUTBOUND_JOBS_AT_ONCE,
        "poll_delay": QUEUE_WORKER_POLL_SECONDS,
        "handle_signals": False,  # the main worker's handling stops it (`shutdown`)
    }


def worker_settings() -> dict[str, Any]:
    """Every option of the worker, in one place."""
    return {
        **_common_settings(),
        "functions": [
            assign_tracking_ids,
            # Outbound jobs that a previous version queued here, before they had a queue of their own, still
            # run during and after an upgrade; new ones go to the outbound queue.
            *outbound_functions(),
            delete_stored_files,
            delete_project_files,
            # An organization's whole archive takes longer than any other job; a rerun (its worker killed) writes
            # it anew, and one that no longer has its export does nothing.
            func(cast("WorkerCoroutine", export_organization), timeout=EXPORT_SECONDS),
        ],
        "cron_jobs": [
            cron(
                cast("WorkerCoroutine", sweep_unnumbered_reports),
                second=set(range(0, 60, 10)),
                run_at_startup=True,
                unique=True,
            ),
            cron(
                cast("WorkerCoroutine", sweep_pending_screenshots),
                second=set(range(5, 60, 10)),
                run_at_startup=True,
                unique=True,
            ),
            cron(
                cast("WorkerCoroutine", sweep_outbound_work),
                second=set(range(7, 60, 10)),
                run_at_startup=True,
                unique=True,
            ),
            # Hourly: an upload is let go a day after it came, an export's archive a week after it was made, give or
            # take an hour.
            cron(cast("WorkerCoroutine", sweep_expired_files), minute=47, second=0, unique=True),
            # Hourly: the shares of common bigrams change slowly, and a stale share only slows a search.
            cron(
                cast("WorkerCoroutine", refresh_search_gram_shares),
                minute=17,
                second=30,
                run_at_startup=True,
                unique=True,
            ),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        # A short interval keeps `arq --check workers.main.WorkerSettings` usable as a liveness probe.
        "health_check_interval": 10,
        # SIGTERM (a deploy) lets running jobs finish for this long before they are cancelled, which spends a try.
        "job_completion_wait": get_settings().worker_stop_seconds,
        # Requests wait up to 500 ms for their tracking ID: poll more often than arq's 0.5 s default.
        "poll_delay": 0.02,
    }


def __getattr__(name: str) -> Any:
    if name == "WorkerSettings":
        return SimpleNamespace(**worker_settings())
    raise AttributeError(name)
