"""A real arq worker for tests, running in the test's event loop against the test Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.worker import Worker

from workers.main import worker_settings


@asynccontextmanager
async def running_worker(**overrides: object) -> AsyncIterator[Worker]:
    options = {**worker_settings(), "handle_signals": False, **overrides}
    worker = Worker(**options)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await _drain(worker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()


async def _drain(worker: Worker, seconds: float = 5.0) -> None:
    """Let jobs in flight finish, so stopping the worker cancels nothing half-done."""
    for _ in range(int(seconds / 0.05)):
        if not worker.job_tasks:
            return
        await asyncio.sleep(0.05)
