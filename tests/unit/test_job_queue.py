"""The job dashboard's count of the queue: each state, and the jobs arq is retrying, in all and per function."""

from __future__ import annotations

from app.domain.jobs.services import _queue_now
from app.lib.queue import JobState, QueuedJob


def job(function: str, state: JobState, tries: int = 1) -> QueuedJob:
    return QueuedJob(function=function, organization_id=None, state=state, tries=tries, arguments={})


def test_the_jobs_arq_retries_are_counted_per_function_as_in_all() -> None:
    """The queue said how many were retrying in all, and not of which function, as it says of every other state."""
    queue = _queue_now(
        [
            job("deliver_webhook", JobState.SCHEDULED, tries=3),
            job("deliver_webhook", JobState.QUEUED),
            job("process_screenshot", JobState.RUNNING, tries=2),
            job("process_screenshot", JobState.QUEUED),
        ],
        truncated=False,
    )
    assert (queue.queued, queue.scheduled, queue.running, queue.retrying) == (2, 1, 1, 2)
    assert [
        (entry.function, entry.queued, entry.scheduled, entry.running, entry.retrying) for entry in queue.functions
    ] == [
        ("deliver_webhook", 1, 1, 0, 1),
        ("process_screenshot", 1, 0, 1, 1),
    ]
