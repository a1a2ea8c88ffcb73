"""A job stopped at one statement, on PostgreSQL: the test locks a table the job reads (ACCESS EXCLUSIVE, which
even a plain SELECT waits for) from a connection of its own, and sees the job wait there.

The job is told from the worker's other sessions (its sweeps read the same tables) by what it holds while it
waits: a lock on the table it read before.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

WAIT_SECONDS = 30.0

_WAITING_PAST = text(
    "SELECT count(*) FROM pg_locks waiting JOIN pg_locks held ON held.pid = waiting.pid"
    " WHERE waiting.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND held.database = waiting.database"
    " AND NOT waiting.granted AND waiting.relation = CAST(:table AS regclass)"
    " AND held.granted AND held.relation = CAST(:past AS regclass)"
)


async def until_waiting_for(holding: AsyncConnection, table: str, past: str) -> None:
    """Until a session waits for `table` (which `holding` locked) while it holds a lock on `past`: a job stopped
    at its read of `table`, having read (or locked) `past`."""
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if await holding.scalar(_WAITING_PAST, {"table": table, "past": past}):
            return
        await asyncio.sleep(0.05)
    msg = f"no session waited for {table} past {past} within {WAIT_SECONDS} s"
    raise AssertionError(msg)


def deletions(table: str) -> dict[str, str]:
    """How a row of `table` can go while a job works on it, each as the deletion's own statement does it: itself,
    with its project, or with its organization (`:id` names the row)."""
    return {
        table: f"DELETE FROM {table} WHERE id = :id",  # noqa: S608 - our own table names
        "project": f"DELETE FROM project WHERE id = (SELECT project_id FROM {table} WHERE id = :id)",  # noqa: S608
        "organization": f"DELETE FROM organization WHERE id = (SELECT organization_id FROM {table} WHERE id = :id)",  # noqa: S608
    }
