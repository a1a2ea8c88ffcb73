"""The job dashboard's answer: the queue now, and each kind of background work over a window of hours."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.lib.schema import CamelStruct


class FunctionQueue(CamelStruct):
    function: str
    queued: int
    scheduled: int
    running: int


class QueueNow(CamelStruct):
    """arq's queue at this moment: due jobs waiting for a worker, deferred ones (retries waiting for their
    time), running ones, and how many of all those arq is retrying after a failed run."""

    queued: int
    scheduled: int
    running: int
    retrying: int
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
