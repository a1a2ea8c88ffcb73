"""An organization written to a zip archive (see archive.py): read inside its tenant scope (row-level security on
PostgreSQL holds it to its own rows too) from one snapshot of the database, batch by batch, and written to the
archive as it is read, so that no step holds the whole organization in memory."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.domain.accounts.models import User
from app.domain.organizations.models import Organization
from app.domain.transfer.archive import (
    FILE_COLUMNS,
    FILES,
    FILES_PROGRESS,
    FORMAT_VERSION,
    MANIFEST,
    MISSING_FILES,
    ORGANIZATION_KIND,
    PEOPLE_KIND,
    TENANT_KINDS,
    Kind,
    Manifest,
    encoded,
)
from app.lib.database import alchemy_config, snapshot_engine
from app.lib.i18n import gettext as _
from app.lib.storage import InvalidKeyError, Storage, check_key, storage
from tenants.context import system_scope, tenant_scope

EXPORT_BATCH = 500
# Told after each batch: the kind of record (the archive's file name without .jsonl, or "files") and how many so far.
Progress = Callable[[str, int], None]
# The kinds `Progress` names, in the order the archive is written, each at least once: how far an export is.
PROGRESS_STEPS = (*(kind.name for kind in TENANT_KINDS), PEOPLE_KIND.name, FILES_PROGRESS)

# Stored files that are compressed already (the images Lantern takes and makes): deflate gains about a percent on
# them, at 3 to 15 MB/s of the worker's CPU (a 2 MB screenshot's PNG took 0.67 s on a busy 2-core machine), so they
# go into the archive as they are. Attachments of other types (logs, JSON, HAR) deflate well.
_COMPRESSED_ALREADY = (".png", ".jpg", ".webp")


class ArchiveUnwritableError(Exception):
    """The archive's file cannot be written (its folder missing or not writable, the disk full): the operator's
    path, not the database, is at fault. Its message is in the reader's language."""


class _ArchiveFile(io.FileIO):
    """The archive's file (written at `path`, named as the operator's `destination`), whose failures to be written
    say so: the export also talks to the database, whose connections fail with OSError too."""

    def __init__(self, path: Path, destination: Path) -> None:
        self.destination = destination
        try:
            # Readable by its owner alone (it was by every user): it holds every report, address and file.
            super().__init__(path, "w", opener=_owner_only)
        except OSError as error:
            raise _unwritable(destination, error) from error

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except OSError as error:
            raise _unwritable(self.destination, error) from error


def _owner_only(path: str, flags: int) -> int:
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left there before keeps its mode through O_TRUNC
    return descriptor


def _unwritable(path: Path, error: OSError) -> ArchiveUnwritableError:
    reason = error.strerror or str(error)
    return ArchiveUnwritableError(_("%(path)s cannot be written: %(reason)s", path=path, reason=reason))


async def organizations_named(reference: str) -> list[Organization]:
    """The organizations `reference` names, as the operators' commands name one: by id, else by slug, else by
    name (which several may share). Read in the system scope, which may read every organization's row."""
    try:
        by_id = Organization.id == UUID(reference)
    except ValueError:
        by_id = None
    async with alchemy_config().get_session() as session:
        with system_scope("organization transfer"):
            async with session.begin():
                for condition in (by_id, Organization.slug == reference, Organization.name == reference):
                    if condition is None:
                        continue
                    found = list(await session.scalars(select(Organization).where(condition).order_by(Organization.id)))
                    if found:
                        return found
    return []


async def export_organization(
    organization_id: UUID, destination: Path, *, revision: str, progress: Progress
) -> Manifest:
    """Write the organization's every record and stored file to `destination`, a zip archive; `revision` is the
    schema revision of this version of Lantern. The archive appears whole or not at all: it is written beside its
    place and moved there once complete."""
    partial = destination.with_name(f".{destination.name}.partial")
    # Opened before the database is read: a path that cannot be written is told at once, not after the export.
    file = io.BufferedWriter(_ArchiveFile(partial, destination))
    engine = snapshot_engine()
    try:
        with file, zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest = await _write_archive(engine, archive, organization_id, revision, progress)
        try:
            partial.replace(destination)
        except OSError as error:
            raise _unwritable(destination, error) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        await engine.dispose()
    return manifest


async def _write_archive(
    engine: AsyncEngine, archive: zipfile.ZipFile, organization_id: UUID, revision: str, progress: Progress
) -> Manifest:
    with tenant_scope(organization_id):
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            writer = _ArchiveWriter(session, archive, organization_id, progress)
            organization = await writer.organization()
            counts = {kind.name: await writer.kind(kind) for kind in TENANT_KINDS}
            counts[PEOPLE_KIND.name] = await writer.people()
            counts[FILES_PROGRESS], counts[MISSING_FILES] = await writer.files()
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        revision=revision,
        organization={name: _json_value(organization[name]) for name in ("id", "name", "slug")},
        counts=counts,
        created_at=datetime.now(UTC).isoformat(),
    )
    archive.writestr(MANIFEST, json.dumps(manifest.to_json(), ensure_ascii=False, indent=2))
    return manifest


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def _lines(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(encoded(row), ensure_ascii=False).encode() + b"\n" for row in rows)


class _ArchiveWriter:
    """One organization's records and files into the archive, from the session's snapshot in its tenant scope."""

    def __init__(
        self, session: AsyncSession, archive: zipfile.ZipFile, organization_id: UUID, progress: Progress
    ) -> None:
        self.session = session
        self.archive = archive
        self.organization_id = organization_id
        self.progress = progress
        self.named: set[UUID] = set()  # whom the records name, by their accounts' ids

    async def _rows(self, kind: Kind, *conditions: Any) -> list[dict[str, Any]]:
        statement = select(*kind.columns()).where(*conditions).order_by(kind.table.c.id).limit(EXPORT_BATCH)
        return [dict(row) for row in (await self.session.execute(statement)).mappings()]

    async def _batches(self, table: Table, *columns: Any, where: Any = None) -> AsyncIterator[list[Any]]:
        """The organization's rows of `table`, a batch at a time in the order of their ids (a keyset: each batch is
        one index range, however deep). Its rows by an explicit condition too: the scope's loader criteria hold
        ORM entities only (row-level security holds every statement on PostgreSQL)."""
        after: UUID | None = None
        while True:
            statement = select(table.c.id, *columns).where(table.c.organization_id == self.organization_id)
            if where is not None:
                statement = statement.where(where)
            if after is not None:
                statement = statement.where(table.c.id > after)
            rows = list(await self.session.execute(statement.order_by(table.c.id).limit(EXPORT_BATCH)))
            if rows:
                yield rows
            if len(rows) < EXPORT_BATCH:
                return
            after = rows[-1][0]

    async def organization(self) -> dict[str, Any]:
        rows = await self._rows(ORGANIZATION_KIND, ORGANIZATION_KIND.table.c.id == self.organization_id)
        if not rows:
            raise LookupError(self.organization_id)
        self.archive.writestr(ORGANIZATION_KIND.file, _lines(rows))
        return rows[0]

    async def kind(self, kind: Kind) -> int:
        """The organization's rows of `kind`; the people they name are kept in `named`."""
        named = [column.name for column in kind.columns() if _names_a_person(column)]
        count = 0
        with self.archive.open(kind.file, "w", force_zip64=True) as entry:
            async for batch in self._batches(kind.table, *(column for column in kind.columns() if column.name != "id")):
                rows = [kind.without_credentials(row._asdict()) for row in batch]
                for row in rows:
                    self.named.update(row[name] for name in named if row[name] is not None)
                    self.named.update(_assignees_in(row.get("changes")))
                entry.write(_lines(rows))
                count += len(rows)
                self.progress(kind.name, count)
        if not count:
            self.progress(kind.name, 0)
        return count

    async def people(self) -> int:
        """Every person the organization's records name (its members and guests, authors, assignees), by address
        and name; an account deleted since is not among them."""
        ordered = sorted(self.named)
        count = 0
        with self.archive.open(PEOPLE_KIND.file, "w", force_zip64=True) as entry:
            for start in range(0, len(ordered), EXPORT_BATCH):
                chosen = ordered[start : start + EXPORT_BATCH]
                rows = await self._rows(PEOPLE_KIND, PEOPLE_KIND.table.c.id.in_(chosen))
                entry.write(_lines(rows))
                count += len(rows)
                self.progress(PEOPLE_KIND.name, count)
        if not ordered:
            self.progress(PEOPLE_KIND.name, 0)
        return count

    async def files(self) -> tuple[int, int]:
        """The stored files the organization's screenshots and attachments name, read through the storage (local
        disk or S3) one at a time; how many were written, and how many were missing from the storage (a row whose
        file is gone shows a missing image on the source too)."""
        store = storage()
        tables = {kind.name: kind.table for kind in TENANT_KINDS}
        written = missing = 0
        for kind_name in dict.fromkeys(kind for kind, _column in FILE_COLUMNS):
            table = tables[kind_name]
            columns = [table.c[column] for kind, column in FILE_COLUMNS if kind == kind_name]
            async for batch in self._batches(table, *columns, where=or_(*(column.is_not(None) for column in columns))):
                for key in (key for _id, *keys in batch for key in keys if self._is_own(key)):
                    if await self._file(store, key):
                        written += 1
                    else:
                        missing += 1
                self.progress(FILES_PROGRESS, written)
        if not written:
            self.progress(FILES_PROGRESS, 0)
        return written, missing

    async def _file(self, store: Storage, key: str) -> bool:
        """The stored file copied into the archive a part at a time as the storage reads it, never whole (a processed
        image may be 240 MB, and the worker runs other jobs beside the export); False when the storage has none."""
        async with aclosing(store.chunks(key)) as chunks:  # its file closed, should the archive's fail to be written
            try:
                first = await anext(chunks, b"")  # a missing file is found here, before its entry is begun
            except FileNotFoundError:
                return False
            info = zipfile.ZipInfo(FILES + key, date_time=time.localtime()[:6])
            info.compress_type = zipfile.ZIP_STORED if key.endswith(_COMPRESSED_ALREADY) else self.archive.compression
            with self.archive.open(info, "w", force_zip64=True) as entry:
                entry.write(first)
                async for chunk in chunks:
                    entry.write(chunk)
        return True

    def _is_own(self, key: str | None) -> bool:
        """A key Lantern made under this organization's prefix: no other tenant's file is named into its archive."""
        if key is None:
            return False
        try:
            check_key(key)
        except InvalidKeyError:
            return False
        return key.startswith(f"{self.organization_id}/")


def _names_a_person(column: Any) -> bool:
    return any(key.column.table.name == User.__tablename__ for key in column.foreign_keys)


def _assignees_in(changes: Any) -> set[UUID]:
    """The people a history entry's assignee change names (`assigneeId: [before, after]`)."""
    found = set()
    if isinstance(changes, dict):
        for value in changes.get("assigneeId") or ():
            try:
                found.add(UUID(value))
            except (TypeError, ValueError):
                continue
    return found
