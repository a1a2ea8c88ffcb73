"""Work done against another server (a webhook's target, GitHub), one attempt at a time, retried with backoff.

Such work is a row, `pending` until it succeeds or gives up: the row, not the queue, says what is left to
do. An attempt first claims its row (counts the attempt and holds the row for the attempt's length), so two
runs of the same attempt never both call out, and a worker that dies mid-attempt leaves the row to the
sweeper once the hold has passed. No transaction stays open while the other server is called.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ColumnElement, Integer, Select, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from app.settings import MAX_RETRY_SECONDS, get_settings

Rows = TypeVar("Rows", bound=tuple[Any, ...])

PENDING = "pending"
# What an attempt answers when its row went meanwhile (see `recorded`): nothing was recorded.
DROPPED = "dropped"
# Retries wait `base` seconds, then six times longer each time, at most MAX_RETRY_SECONDS (six hours).
RETRY_FACTOR = 6
# An attempt holds its row this long past the longest it may take.
HOLD_MARGIN_SECONDS = 30
# The sweeper takes a pending row this long past its due time.
OVERDUE_AFTER_SECONDS = 30
SWEEP_BATCH = 1000


class AttemptedColumns:
    """The columns of such work: its status, its attempts and when the next is due, and its last error."""

    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)


def retry_delay(attempts: int, base_seconds: float, asked: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: the schedule's, or longer when the other server
    `asked` for longer (a rate limit's reset), within the schedule's longest wait."""
    scheduled = min(base_seconds * RETRY_FACTOR ** (attempts - 1), MAX_RETRY_SECONDS)
    return float(max(scheduled, min(asked or 0.0, MAX_RETRY_SECONDS)))


async def claim(session: AsyncSession, rows: Select[Rows], longest_seconds: float | None = None) -> Rows | None:
    """Count an attempt at a row and hold it for the attempt's length, if it is pending and due; commits. Returns
    what `rows` read, or None when there is no attempt to make. An attempt takes at most `longest_seconds`, by
    default the outbound request's timeout.

    `rows` selects the row (its model first) with what the attempt needs of the rows it belongs to, joined: they
    are read in the statement that locks the row, and kept under that lock until the claim commits. A deletion of
    any of them committed before (nothing is read: no attempt), or waits for the claim; the attempt then finds its
    row gone when it records (see `recorded`). Read after the claim's commit instead, they could be gone already,
    and the job failed on the missing row. (SQLite locks no row: a deletion committed between the read and the
    claim's UPDATE took the row too, and the UPDATE finds nothing.)"""
    model = rows.column_descriptions[0]["entity"]
    found = (await session.execute(rows.with_for_update(of=model))).tuples().first()
    longest = get_settings().outbound_timeout_seconds if longest_seconds is None else longest_seconds
    won = found is not None and await _counted(session, model, found[0].id, longest)
    await session.commit()
    return found if won else None


async def _counted(session: AsyncSession, model: Any, row_id: UUID, longest_seconds: float) -> bool:
    """The attempt counted on the row (and on its object in the session), unless another claim came first."""
    now = datetime.now(UTC)
    held_until = now + timedelta(seconds=longest_seconds + HOLD_MARGIN_SECONDS)
    claimed = await session.execute(
        update(model)
        .where(model.id == row_id, model.status == PENDING, model.next_attempt_at <= now)
        .values(attempts=model.attempts + 1, next_attempt_at=held_until)
        .returning(model)
        .execution_options(synchronize_session=False, populate_existing=True),
    )
    return claimed.first() is not None


async def recorded(session: AsyncSession) -> bool:
    """Commit an attempt's outcome; False, rolled back, when its row went meanwhile, deleted with what it belongs
    to (a webhook, a report) while the other server was called: nothing is left to record, nor to try again (the
    retry queued in the transaction goes with it)."""
    try:
        await session.commit()
    except StaleDataError:
        await session.rollback()
        return False
    return True


async def overdue(session: AsyncSession, model: Any) -> list[Any]:
    """Pending rows long past their due time: their job was lost (Redis restarted, the enqueue failed) or
    its worker died mid-attempt. Every tenant's, when read in the system scope (the sweeper's)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=OVERDUE_AFTER_SECONDS)
    found = await session.scalars(
        select(model)
        .where(model.status == PENDING, model.next_attempt_at < cutoff)
        .order_by(model.next_attempt_at)
        .limit(SWEEP_BATCH),
    )
    return list(found)


async def forget_finished(session: AsyncSession, model: Any, done_before: ColumnElement[bool]) -> int:
    """Delete the rows of `model` no longer pending (done, or given up) that `done_before` says are old: nothing
    reads them once they are done, and the table must not grow without end. How many went."""
    deleted = await session.execute(
        delete(model).where(model.status != PENDING, done_before).execution_options(synchronize_session=False),
    )
    return int(getattr(deleted, "rowcount", 0) or 0)
