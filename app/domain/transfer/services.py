"""An organization's export from the admin UI (models.py): asked for by one of its owners, one at a time; written by
the worker with the CLI's exporter (exporting.py) to a file in the data directory, then stored under the
organization in the storage; downloaded by its owners for `ARCHIVE_KEPT`, after which the hourly sweeper deletes
it, or until the next export takes its place."""

from __future__ import annotations

import asyncio
import enum
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.reports.services import DELETE_FILES_JOB
from app.domain.transfer.exporting import PROGRESS_STEPS, ArchiveUnwritableError, export_organization
from app.domain.transfer.models import ExportStatus, OrganizationExport
from app.lib.errors import not_found
from app.lib.i18n import gettext as _
from app.lib.queue import enqueue_after_commit
from app.lib.storage import StorageUnavailableError, export_key, storage
from app.settings import LONGEST_JOB_SECONDS, create_data_dir, get_settings
from tenants.service import TenantRepository, TenantService

logger = structlog.get_logger()

EXPORT_JOB = "export_organization"
# Time enough for an organization of many gigabytes of files: the worker deflates screenshots into the archive at
# about 12 MB a second (measured on a shared 2-core machine), 100 GB in under three hours.
EXPORT_SECONDS = LONGEST_JOB_SECONDS
ARCHIVE_KEPT = timedelta(days=7)
# The worker tells a running export's progress this often. One not heard of for `SILENT_AFTER` has stopped (its
# worker was killed, or its job lost with Redis): it is shown as stopped, and its owners may start another.
PROGRESS_SECONDS = 3.0
SILENT_AFTER = timedelta(minutes=5)
# An export no worker has started this long after it was asked for, and whose job waits in no queue, lost its job
# (Redis restarted, the enqueue failed after the commit): the sweeper queues it again.
LOST_AFTER = timedelta(seconds=30)


class ExportFailure(enum.StrEnum):
    """Why an export failed, as stored; `failure_message` words it for the reader."""

    UNWRITABLE = "unwritable"  # the worker's data directory took no archive (a full disk)
    STORAGE = "storage"  # the storage did not take the archive
    FAILED = "failed"  # anything else: the worker's log says what


def failure_message(error: str | None) -> str:
    messages: dict[str, str] = {
        ExportFailure.UNWRITABLE: _("The worker had no room to write the archive: its data directory is full."),
        ExportFailure.STORAGE: _("The archive could not be stored: the storage did not take it."),
    }
    return messages.get(error or "", _("The export failed before it was written."))


class ExportPhase(enum.StrEnum):
    """Where an export is, as its page shows it."""

    WAITING = "waiting"  # for the worker
    RUNNING = "running"
    STOPPED = "stopped"  # not heard of for `SILENT_AFTER`
    FAILED = "failed"
    READY = "ready"


@dataclass(frozen=True, slots=True)
class ExportShown:
    """The latest export as its page shows it."""

    export: OrganizationExport
    phase: ExportPhase
    steps: int = len(PROGRESS_STEPS)

    @property
    def in_progress(self) -> bool:
        return self.phase in {ExportPhase.WAITING, ExportPhase.RUNNING}

    @property
    def kept_until(self) -> datetime | None:
        finished = self.export.finished_at
        return finished + ARCHIVE_KEPT if finished is not None else None

    @property
    def failure(self) -> str:
        return failure_message(self.export.error)


def phase_of(export: OrganizationExport, now: datetime) -> ExportPhase:
    if export.status == ExportStatus.READY:
        return ExportPhase.READY
    if export.status == ExportStatus.FAILED:
        return ExportPhase.FAILED
    if export.updated_at < now - SILENT_AFTER:
        return ExportPhase.STOPPED
    return ExportPhase.RUNNING if export.started_at is not None else ExportPhase.WAITING


class _StoppedError(Exception):
    """The export's job was cancelled (its worker stops, or its time is up): the exporter stops at its next batch."""


@dataclass
class _Progress:
    """What the exporter has told so far: records (and files) written of each kind. Told from the exporter's thread,
    read by the job's; `stopped` ends the export at its next batch."""

    counts: dict[str, int] = field(default_factory=dict)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __call__(self, kind: str, count: int) -> None:
        if self.stopped.is_set():
            raise _StoppedError
        self.counts[kind] = count

    @property
    def step(self) -> int:
        return len(self.counts)

    @property
    def records(self) -> int:
        return sum(self.counts.values())


class OrganizationExports(TenantService[OrganizationExport]):
    class Repo(TenantRepository[OrganizationExport]):
        model_type = OrganizationExport

    repository_type = Repo

    async def latest(self) -> OrganizationExport | None:
        return await self.session.scalar(select(OrganizationExport))

    async def shown(self) -> ExportShown | None:
        export = await self.latest()
        return None if export is None else ExportShown(export, phase_of(export, datetime.now(UTC)))

    async def start(self, requested_by: UUID | None) -> bool:
        """Start an export, in place of the latest one and its archive, unless one runs: whether it started. Two
        owners' clicks at once start one: the organization has one export row, and the second's is refused."""
        latest = await self.latest()
        if latest is not None:
            if phase_of(latest, datetime.now(UTC)) in {ExportPhase.WAITING, ExportPhase.RUNNING}:
                return False
            await self._forget(latest)
        export = OrganizationExport(requested_by_id=requested_by)
        try:
            async with self.session.begin_nested():
                self.session.add(export)
        except IntegrityError:
            return False
        enqueue_after_commit(self.session, EXPORT_JOB, export.job_id, export_id=str(export.id))
        return True

    async def forget_latest(self) -> None:
        """The latest export gone, its archive deleted once this commits (the organization is being deleted)."""
        if (latest := await self.latest()) is not None:
            await self._forget(latest)

    async def _forget(self, export: OrganizationExport) -> None:
        await self.session.execute(delete(OrganizationExport).where(OrganizationExport.id == export.id))
        if export.key is not None:
            enqueue_after_commit(self.session, DELETE_FILES_JOB, f"files:export:{export.id}", keys=[export.key])

    async def archive(self, export_id: UUID) -> OrganizationExport:
        """The export whose archive is there to download; not found otherwise (another organization's too)."""
        export = await self.session.scalar(select(OrganizationExport).where(OrganizationExport.id == export_id))
        if export is None or export.status != ExportStatus.READY or export.key is None:
            raise not_found()
        return export

    async def write(self, export_id: UUID, revision: str) -> str:
        """The worker's part: the organization's archive written (the archive `revision` names as its writer's),
        then stored; its progress told as it goes. What became of it: ready, failed, or gone (replaced or its
        organization deleted meanwhile, when its stored archive is deleted again)."""
        if not await self._claimed(export_id):
            return "gone, or written by another job"
        progress = _Progress()
        key, size, failure = await self._written(export_id, revision, progress)
        outcome: dict[str, object] = (
            {"status": ExportStatus.FAILED, "error": failure}
            if failure is not None
            else {"status": ExportStatus.READY, "key": key, "size": size, "step": progress.step}
        )
        if not await self._update(export_id, records=progress.records, finished_at=datetime.now(UTC), **outcome):
            if key is not None:
                await storage().delete(key)
            return "gone"
        return str(outcome["status"])

    async def _claimed(self, export_id: UUID) -> bool:
        """The export started by this job, if it waits for one, or its job stopped (a rerun of a killed worker's);
        committed. Never while another job writes it: the sweeper's job, queued again as the queue's was taken
        from it, would have written the same archive beside it."""
        now = datetime.now(UTC)
        claimed = await self.session.execute(
            update(OrganizationExport)
            .where(
                OrganizationExport.id == export_id,
                OrganizationExport.status == ExportStatus.RUNNING,
                or_(OrganizationExport.started_at.is_(None), OrganizationExport.updated_at < now - SILENT_AFTER),
            )
            .values(started_at=now, step=0, records=0, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        return bool(claimed.rowcount)  # type: ignore[attr-defined]

    async def _written(self, export_id: UUID, revision: str, progress: _Progress) -> tuple[str | None, int, str | None]:
        """The archive made and stored: its key and size, or why it failed."""
        staging = _staging_folder()
        finished = asyncio.Event()
        telling = asyncio.create_task(self._tell_progress(export_id, progress, finished))
        try:
            archive = staging / "organization.zip"
            exporting = export_organization(self.organization_id, archive, revision=revision, progress=progress)
            await _off_the_loop(exporting, progress)
            key = export_key(self.organization_id)
            await storage().put_file(key, archive)
            return key, archive.stat().st_size, None
        except ArchiveUnwritableError as error:
            logger.warning("organization export not written", error=str(error))
            return None, 0, ExportFailure.UNWRITABLE
        except StorageUnavailableError:
            return None, 0, ExportFailure.STORAGE
        except Exception:  # the owner is told it failed (and may try again); the log says why
            logger.exception("organization export failed", export_id=str(export_id))
            return None, 0, ExportFailure.FAILED
        finally:
            finished.set()
            await telling
            shutil.rmtree(staging, ignore_errors=True)

    async def _tell_progress(self, export_id: UUID, progress: _Progress, finished: asyncio.Event) -> None:
        """Every `PROGRESS_SECONDS` until `finished`, how far the export is: also its sign of life."""
        while True:
            try:
                await asyncio.wait_for(finished.wait(), PROGRESS_SECONDS)
            except TimeoutError:
                try:
                    await self._update(export_id, step=progress.step, records=progress.records)
                except DBAPIError as error:  # told at the next turn; the export goes on
                    await self.session.rollback()
                    logger.warning("organization export's progress not saved", error=repr(error))
            else:
                return

    async def _update(self, export_id: UUID, **values: object) -> bool:
        """The running export's row changed and committed; False when it is no longer there to change."""
        changed = await self.session.execute(
            update(OrganizationExport)
            .where(OrganizationExport.id == export_id, OrganizationExport.status == ExportStatus.RUNNING)
            .values(**values, updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        return bool(changed.rowcount)  # type: ignore[attr-defined]


async def _off_the_loop(export: Coroutine[Any, Any, object], progress: _Progress) -> None:
    """Run the exporter on a thread with an event loop of its own: it deflates each file into the archive at once,
    holding its loop for as long as that takes (2 s for an 8 MB attachment), and the worker's other jobs share this
    one (the tracking IDs that requests wait 500 ms for). zlib lets go of the GIL meanwhile. A cancelled job stops
    the exporter at its next batch, so that a stopping worker does not wait for the whole archive."""
    try:
        await asyncio.to_thread(asyncio.run, export)
    except asyncio.CancelledError:
        progress.stopped.set()
        raise


def _staging_folder() -> Path:
    """A folder of the worker's data directory, the owner's alone, for an archive while it is written."""
    settings = get_settings()
    create_data_dir(settings.data_dir)
    parent = settings.data_dir / "exports"
    parent.mkdir(mode=0o700, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent))


async def lost_exports(session: AsyncSession) -> list[OrganizationExport]:
    """The exports whose job is lost, in every tenant (the system scope): those no worker started `LOST_AFTER` after
    they were asked for, and those not heard of for `SILENT_AFTER` since (their worker killed: arq runs its job
    again only once the dead worker's claim expires, after the longest job's time, 3 hours). The sweeper queues
    those whose job waits in no queue again, and the job writes them anew (`_claimed`): their owners found them
    stopped, to be started again by hand."""
    now = datetime.now(UTC)
    lost = select(OrganizationExport).where(
        OrganizationExport.status == ExportStatus.RUNNING,
        or_(
            and_(OrganizationExport.started_at.is_(None), OrganizationExport.updated_at < now - LOST_AFTER),
            OrganizationExport.updated_at < now - SILENT_AFTER,
        ),
    )
    return list(await session.scalars(lost))


async def forget_expired_exports(session: AsyncSession) -> list[str]:
    """Delete the exports last changed more than `ARCHIVE_KEPT` ago, in every tenant (the system scope); their
    archives' keys, for the files to go once this commits."""
    cutoff = datetime.now(UTC) - ARCHIVE_KEPT
    deleted = await session.execute(
        delete(OrganizationExport)
        .where(OrganizationExport.updated_at < cutoff)
        .returning(OrganizationExport.key)
        .execution_options(synchronize_session=False),
    )
    return [key for key in deleted.scalars() if key is not None]
