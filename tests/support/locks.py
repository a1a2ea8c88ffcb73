"""A job stopped at one statement, on PostgreSQL: the test locks a table the job reads (ACCESS EXCLUSIVE, which
even a plain SELECT waits for) from a connection of its own, and sees the job wait there.

The job is told from the worker's other sessions (its sweeps read the same tables) by what it holds while it
waits: a lock on the table it read before. And the wait of a test that numbers reports itself for the cluster's
older transactions, which hold them back.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.lib.database import alchemy_config

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


_NEXT_TRANSACTION = text("SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS bigint)")
_OLDEST_RUNNING = text("SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)")


async def older_transactions_ended() -> None:
    """Until every write transaction that began on the PostgreSQL cluster before this call has ended (at once on
    SQLite). A numbering holds back the reports stored after the oldest transaction still running anywhere on the
    cluster (TrackingService), and pytest-xdist's other processes write to their own databases of the same
    cluster, with the same transaction ids: a test that numbers reports itself, and counts what was numbered,
    waits here first, or one of their longer transactions leaves its reports for the sweeper."""
    async with alchemy_config().get_engine().connect() as connection:
        if connection.dialect.name != "postgresql":
            return
        began_before = await connection.scalar(_NEXT_TRANSACTION)
        for _ in range(int(WAIT_SECONDS / 0.05)):  # each statement reads a snapshot of its own (READ COMMITTED)
            if await connection.scalar(_OLDEST_RUNNING) >= began_before:
                return
            await asyncio.sleep(0.05)
    msg = f"a transaction of the cluster ran on for more than {WAIT_SECONDS} s"
    raise AssertionError(msg)
