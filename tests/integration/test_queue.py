"""The job queue: arq's own format, written in one script call per job, the calls of one turn together."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from arq import func
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from app.cli import _start_worker
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.queue import IMAGE_QUEUE, OUTBOUND_QUEUE, POSTPONED, JobQueue, deserialize, release_claims
from app.lib.supervisor import stop_children
from tests.support.processes import WorkerProcess
from workers.main import MainWorker, QueueWorker, StoppingWorker, shutdown


async def test_concurrent_enqueues_share_one_connection_and_arq_reads_them_as_its_own(
    separate_redis: EmbeddedRedis,
) -> None:
    client = Redis.from_url(separate_redis.url, client_name="queue-batch")
    queue = JobQueue(client)
    queued = await asyncio.gather(
        *(queue.enqueue("assign_tracking_ids", organization_id="org-a", project_id=f"p-{i}") for i in range(20)),
        *(queue.enqueue("process_screenshot", "shot-1", organization_id="org-a", screenshot_id="1") for _ in range(5)),
    )
    # A job id already queued is not queued again, as with arq's `enqueue_job(_job_id=...)`.
    assert queued.count(True) == 21
    # One connection carried all 25: arq's enqueue holds a connection per job for its WATCH.
    connections = [entry for entry in await client.client_list() if entry["name"] == "queue-batch"]
    assert len(connections) == 1, connections

    arq = ArqRedis(client.connection_pool, job_deserializer=deserialize)
    jobs = await arq.queued_jobs()
    assert sorted(job.kwargs["project_id"] for job in jobs) == sorted(f"p-{i}" for i in range(20))
    # Images wait in a queue of their own (their own worker's), never in front of the other jobs.
    [image_job] = await arq.queued_jobs(queue_name=IMAGE_QUEUE)
    assert image_job.job_id == "shot-1"
    shot = await Job("shot-1", arq, _deserializer=deserialize).info()
    assert shot is not None
    assert (shot.function, shot.kwargs) == ("process_screenshot", {"organization_id": "org-a", "screenshot_id": "1"})
    assert await Job("shot-1", arq, _queue_name=IMAGE_QUEUE).status() is JobStatus.queued
    assert 0 < await client.pttl("arq:job:shot-1") <= 86_400_000  # arq's default expiry of a queued job
    await client.aclose()


async def test_a_postponed_job_is_waiting_under_its_own_id(separate_redis: EmbeddedRedis) -> None:
    """A job over its organization's outbound share is queued again under a marked id; the sweeper, asking
    whether the work still waits, must find it there, or it queues the work a second time."""
    client = Redis.from_url(separate_redis.url)
    queue = JobQueue(client)
    work = ["webhook-delivery:a:0", "webhook-delivery:b:0", "webhook-delivery:c:0"]
    await queue.enqueue("deliver_webhook", f"{work[0]}{POSTPONED}3", organization_id="org-a", delivery_id="a")
    await queue.enqueue("deliver_webhook", f"{work[1]}:1234{POSTPONED}1", organization_id="org-a", delivery_id="b")
    assert await client.zcard(OUTBOUND_QUEUE) == 2
    assert await queue.waiting("deliver_webhook", work) == set(work[:2])
    await client.aclose()


async def test_a_job_id_with_a_result_is_not_queued_again(separate_redis: EmbeddedRedis) -> None:
    client = Redis.from_url(separate_redis.url)
    await client.set("arq:result:shot-2", b"done")
    assert not await JobQueue(client).enqueue("process_screenshot", "shot-2", screenshot_id="2")
    assert await client.zcard(IMAGE_QUEUE) == 0
    await client.aclose()


@pytest.mark.parametrize("kind", [QueueWorker, MainWorker])
async def test_a_worker_told_to_stop_starts_none_of_the_jobs_left_in_the_batch_it_read(
    separate_redis: EmbeddedRedis, kind: type[StoppingWorker]
) -> None:
    """A poll reads a batch of job ids and starts them one by one. arq went on starting the batch after the stop:
    a side worker's stop did not wait for those jobs, and closing the worker cancelled them as they set out (in
    CI, the process ended with an uncaught CancelledError); the main worker ran them while it stopped. Now the
    job being started when the stop comes is the last one: the stop waits for it, the rest of the batch stays
    queued, and every job started ends."""
    queue = "test-stop-queue"
    batch = 20
    release, first_running = asyncio.Event(), asyncio.Event()
    ran: list[int] = []

    async def hold(_ctx: dict[str, object], number: int) -> None:
        ran.append(number)
        first_running.set()
        await release.wait()

    pool = ArqRedis.from_url(separate_redis.url)
    for number in range(batch):  # queued before the worker's first poll, which reads them as one batch
        await pool.enqueue_job("hold", number, _queue_name=queue)
    settings: dict[str, Any] = {"kind": "test"} if kind is QueueWorker else {}
    worker = kind(
        **settings,
        functions=[func(hold, name="hold")],
        redis_pool=pool,
        queue_name=queue,
        max_jobs=batch,
        handle_signals=False,
        poll_delay=0.1,
        keep_result=0,
    )
    running = asyncio.create_task(worker.async_run())
    await asyncio.wait_for(first_running.wait(), 10)  # the batch is being started
    worker.allow_pick_jobs = False
    await worker.started_its_last_job()
    started = len(worker.tasks)
    release.set()
    await asyncio.wait_for(asyncio.gather(*worker.tasks.values()), 10)
    await worker.close()  # raised CancelledError when it met a job just started
    await asyncio.wait([running], timeout=10)
    client = Redis.from_url(separate_redis.url)
    try:
        assert running.cancelled()  # the worker's poll loop, which its close stops
        assert started < batch
        assert len(set(ran)) == len(ran) == started, ran  # each job started ran, once
        assert await client.zcard(queue) == batch - started
    finally:
        await client.aclose()


async def test_make_runs_worker_lets_go_of_the_claims_a_killed_worker_left(separate_redis: EmbeddedRedis) -> None:
    """arq's in-progress keys outlive a SIGKILLed worker in the append-only file: its jobs waited minutes, and
    the job dashboard counted them as running. The jobs themselves stay."""
    client = Redis.from_url(separate_redis.url)
    try:
        await client.set("arq:in-progress:screenshot:1", b"1", px=300_000)
        await client.set("arq:in-progress:webhook:2", b"1", px=300_000)
        await client.set("arq:job:screenshot:1", b"job")
        assert release_claims(separate_redis.url) == 2
        assert await client.keys("arq:in-progress:*") == []
        assert await client.get("arq:job:screenshot:1") == b"job"
    finally:
        await client.aclose()


async def test_a_worker_started_on_a_redis_refusing_writes_waits_for_it(
    embedded_services: dict[str, str], separate_redis: EmbeddedRedis
) -> None:
    """A full disk makes Redis answer writes with MISCONF (here OOM, as a full `maxmemory` under `noeviction`
    does, which lets the test's own DEL through): the worker died at its first heartbeat, five times a minute
    until `make run` gave up. Now it waits for Redis to take writes again, then polls. (The worker starts on a
    migrated database: `embedded_services`.)"""
    client = Redis.from_url(separate_redis.url)
    worker = WorkerProcess({"REDIS_URL": separate_redis.url})
    try:
        await client.config_set("maxmemory", 1)
        started = asyncio.create_task(worker.start())
        for _ in range(600):  # bounded: 60 s for the worker to meet the refusal
            if started.done() or "Redis refuses writes" in worker.output():
                break
            await asyncio.sleep(0.1)
        assert worker.running, worker.output()
        assert "Redis refuses writes" in worker.output(), worker.output()
        await client.config_set("maxmemory", 0)
        await started  # polling: arq's health-check key is written
        assert worker.running
    finally:
        await client.config_set("maxmemory", 0)
        worker.stop()
        worker.log_path.unlink(missing_ok=True)
        await client.aclose()


def test_make_run_starts_the_worker_while_redis_refuses_writes(
    embedded_services: dict[str, str], separate_redis: EmbeddedRedis
) -> None:
    """`run`'s start of a worker on its own Redis, whose claims it cannot let go of now: they expire by
    themselves, and the worker is started (the error went up through the supervisor and stopped `run`)."""
    refusing = SyncRedis.from_url(separate_redis.url)
    refusing.set("arq:in-progress:screenshot:1", b"1", px=300_000)
    refusing.config_set("min-replicas-to-write", 1)
    try:
        worker = _start_worker(separate_redis)
        stop_children([worker])
    finally:
        refusing.config_set("min-replicas-to-write", 0)
        refusing.close()


async def test_a_worker_stopped_before_its_start_up_finished_stops(separate_redis: EmbeddedRedis) -> None:
    """arq's close runs the shutdown even when the start-up was cancelled halfway (a SIGTERM as the worker starts,
    a test's worker closed at once): it failed on the side queues' workers that were never started."""
    context: dict[str, Any] = {"redis": Redis.from_url(separate_redis.url)}
    await shutdown(context)
    assert "lantern_queue_workers" not in context
    await context["redis"].aclose()


async def test_a_bound_on_a_workers_shutdown_holds_while_a_side_queues_loop_is_slow_to_end(
    separate_redis: EmbeddedRedis,
) -> None:
    """The main worker's shutdown waits for each side queue's loop after cancelling it. That wait swallowed a
    cancellation of the shutdown itself along with the loop's: a bound on the shutdown did not hold until the
    loop ended."""
    pool = ArqRedis.from_url(separate_redis.url)
    worker = QueueWorker("test", functions=[func(asyncio.sleep, name="sleep")], redis_pool=pool, handle_signals=False)

    async def slow_to_end() -> None:
        for _ in range(3):  # lets the cancellations of its first seconds go by, then ends
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(1)

    loop = asyncio.create_task(slow_to_end())
    context: dict[str, Any] = {"redis": pool, "lantern_queue_workers": [(worker, loop)]}
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await shutdown(context)
        assert not loop.done()  # the shutdown stopped at its bound, not at the loop's end
    finally:
        await asyncio.wait([loop], timeout=10)
        await pool.aclose()
