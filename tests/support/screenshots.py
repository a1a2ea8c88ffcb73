"""Reading a report through the API once a worker has done its part: its screenshot processed, its number given."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.domain.reports.models import ImageStatus
from app.domain.reports.screenshots import image_executor
from tests.support.clients import Tenant

# Generous: a loaded CI machine may queue the job behind others; a healthy run takes milliseconds.
PROCESSING_WAIT_SECONDS = 180.0


async def read_report(tenant: Tenant, report_id: str) -> dict[str, Any]:
    response = await tenant.client.get(f"/api/v1/reports/{report_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def processed(tenant: Tenant, report_id: str) -> dict[str, Any]:
    """The report's first screenshot once a worker has finished with it (ready or failed)."""
    for _ in range(int(PROCESSING_WAIT_SECONDS / 0.1)):
        shot: dict[str, Any] = (await read_report(tenant, report_id))["screenshots"][0]
        if shot["status"] != ImageStatus.PENDING.value:
            return shot
        await asyncio.sleep(0.1)
    msg = "the screenshot was never processed"
    raise AssertionError(msg)


async def numbered(tenant: Tenant, report_id: str) -> dict[str, Any]:
    """The report once a worker has given it its tracking ID (the numbering job may wait behind others)."""
    for _ in range(int(PROCESSING_WAIT_SECONDS / 0.1)):
        report = await read_report(tenant, report_id)
        if report["trackingId"]:
            return report
        await asyncio.sleep(0.1)
    msg = "the report was never numbered"
    raise AssertionError(msg)


@contextmanager
def image_threads_busy() -> Iterator[None]:
    """Every image thread of this process taken until the block ends, as by other images ahead in the queue:
    an image processed meanwhile cannot start, and runs out of its time (`LANTERN_SCREENSHOT_TIMEOUT_SECONDS`)
    however fast the machine is."""
    executor = image_executor()
    released = threading.Event()
    taken = [executor.submit(released.wait) for _ in range(executor._max_workers)]
    try:
        yield
    finally:
        released.set()
        for thread in taken:
            thread.result()


def files_under(folder: Path) -> set[Path]:
    """The files under `folder`, read again when a deletion prunes a folder as it is read (its last file gone)."""
    while True:
        try:
            return {path for path in folder.rglob("*") if path.is_file()}
        except FileNotFoundError:
            continue
