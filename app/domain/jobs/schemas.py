"""The job dashboard's answer: the queue now, and each kind of background work over a window of hours."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.lib.schema import CamelStruct

# The states of a job in the queue, each counted apart: what each count means, for the API's readers.
Queued = Annotated[int, msgspec.Meta(description="Jobs due now, waiting for a worker.")]
Scheduled = Annotated[
    int, msgspec.Meta(description="Jobs waiting for their time, such as a webhook delivery's next attempt.")
]
Waiting = Annotated[
    int,
    msgspec.Meta(
        description="Webhook deliveries, GitHub issues and e-mails waiting for a free slot: their organization "
        "already runs as many of them at once as its share allows, and they run as its others finish."
    ),
]
Running = Annotated[int, msgspec.Meta(description="Jobs a worker is running.")]
Retrying = Annotated[int, msgspec.Meta(description="Jobs arq runs again after a failed run, in every state.")]


class FunctionQueue(CamelStruct):
    function: str
    queued: Queued
    scheduled: Scheduled
    waiting: Waiting
    running: Running
    retrying: Retrying


class QueueNow(CamelStruct):
    """arq's queue at this moment: due jobs waiting for a worker, deferred ones (retries waiting for their time),
    outbound jobs waiting for a free slot of their organization's share, running ones, and how many of all those
    arq is retrying after a failed run."""

    queued: Queued
    scheduled: Scheduled
    waiting: Waiting
    running: Running
    retrying: Retrying
    functions: list[FunctionQueue]
    # The dashboard reads the first 10,000 jobs of the queue; true when there were more.
    truncated: bool


class HourOutcomes(CamelStruct):
    hour: datetime
    done: int
    failed: int


class KindSummary(CamelStruct):
    """One kind of background work: pending now; done, failed and retried within the window; per hour."""

    kind: str
    pending: int
    done: int
    failed: int
    retries: int
    hourly: list[HourOutcomes]


class OrganizationJobs(CamelStruct):
    organization_id: UUID
    name: str
    pending: int
    failed: int


class JobsOverview(CamelStruct):
    scope: str
    since: datetime
    until: datetime
    queue: QueueNow
    kinds: list[KindSummary]
    # The instance's view only: the organizations with the most pending or failed work first.
    organizations: list[OrganizationJobs] | None = None
