"""An organization archive (see archive.py) imported as a new organization of this instance, all or nothing.

Every row gets a new id, derived from its old one and the new organization's (`Ids`), so the rows that name it
are rewritten without a table of every id in memory, and importing the same archive twice (a backup restored
beside its original) clashes with nothing. What people outside Lantern hold is kept as it was: tracking IDs and
numbers, every prefix a project has had, widget keys (unless this instance has the same key already). People
travel by address, and no password travels: anyone without an account here is invited, and gets one with the
invitation. An account nobody has used yet (an earlier import's or an invitation's, without a password, never
signed in) counts as none: its invitation here opens it too. An account of this instance with the address is invited
in its role too, as an admin invites it: its holder never joined the organization here, and accepts with their
password, or not at all. Only the operator's word (`join_existing_accounts`, when they move their own people) joins
such accounts at once. The rows are written in one transaction, and the files it wrote are deleted again if it
fails; an archive that does not hold what its manifest counts (a kind's records, the files they name) is refused
before any file is written. An archive of an older version is read in this version's form of data (upgrades.py).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from app.domain.accounts.models import User
from app.domain.accounts.services import SLUG_ATTEMPTS, normalize_email, slug_candidates
from app.domain.emails.models import OutgoingEmail
from app.domain.emails.services import INVITATION_MAIL
from app.domain.organizations.models import Invitation, Role
from app.domain.organizations.services import (
    INVITATION_LIFETIME,
    invitation_link,
    invitation_token,
    record_invitation_mail,
)
from app.domain.reports.attachments import MAX_ATTACHMENT_BYTES
from app.domain.reports.ingest import MAX_UPLOAD_BYTES
from app.domain.reports.models import DEFAULT_STATUS_IDS, NEW_STATUS, ProjectCounter, Report
from app.domain.reports.screenshots import largest_processed_image
from app.domain.reports.search import search_fields
from app.domain.transfer.archive import (
    FILES,
    FILES_PROGRESS,
    FORMAT_VERSION,
    MANIFEST,
    MISSING_FILES,
    ORGANIZATION_KIND,
    PEOPLE_KIND,
    TENANT_KINDS,
    InvalidValueError,
    Kind,
    Manifest,
    decoded,
    shown,
)
from app.domain.transfer.upgrades import ArchiveUpgrade, archive_upgrade, archived_revisions
from app.domain.webhooks.models import DisabledReason
from app.domain.webhooks.services import SECRET_PREFIX
from app.lib.database import alchemy_config
from app.lib.i18n import format_megabytes, format_number, ngettext
from app.lib.i18n import gettext as _
from app.lib.mail import mail_configured
from app.lib.names import distinct_names, name_key
from app.lib.queue import job_queue
from app.lib.security import ORG_TOKEN_PREFIX, WIDGET_KEY_PREFIX, digest, new_secret
from app.lib.storage import InvalidKeyError, check_key, storage
from app.settings import get_settings
from tenants.context import tenant_scope
from tenants.db import scoped

IMPORT_BATCH = 500
# A batch's rows are written once they are this many bytes of JSON, if not as many as IMPORT_BATCH: so many rows
# of the largest lines are not held at once.
IMPORT_BATCH_BYTES = 32 * 1024 * 1024
# The longest line of a kind's file. Every row is made of requests of at most 1 MiB (a report's of a few: filed,
# then its description changed), so a longer line is no row of Lantern's: it is refused as it is read, before it is
# held whole (400 MiB of spaces, compressed a thousandfold, took a gigabyte to read). A kind's file may be as long as
# its rows make it: it is read a line at a time.
MAX_LINE_BYTES = 16 * 1024 * 1024
# How many of the files the records name, and the archive lacks, a refusal names (the rest are counted).
_MISSING_FILES_NAMED = 3
Progress = Callable[[str, int], None]
_KINDS = {kind.name: kind for kind in TENANT_KINDS}
# What a damaged zip's reading raises: a wrong CRC or a truncated entry, a broken compressed stream.
_DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, EOFError)
# What an archive's content makes fail: a row or file missing or garbled, one naming a row the archive does not hold,
# JSON nested past the parser's depth, a value the database refuses as it binds or stores it (what the values' checks
# let through, as a row naming one the archive lacks).
_DAMAGED_CONTENT = (KeyError, ValueError, TypeError, OverflowError, RecursionError, StatementError, *_DAMAGED_ZIP)
# An account nobody has used: made without a password (by an earlier import, or an invitation nobody accepted yet),
# never signed in. Nobody here holds it until an invitation that opens it is accepted; one with a password is
# someone's, and is never opened again.
_UNUSED_ACCOUNT = and_(User.password_hash.is_(None), User.last_login_at.is_(None))


def largest_stored_file() -> int:
    """The largest file Lantern stores: a file attached as sent, or a processed image (or its thumbnail), which may
    be larger than the image sent (a JPEG re-encoded at a higher quality), within this instance's pixel limit. An
    archive's file past it is no file of Lantern's, and is refused before it is read, as its size says (a zip entry
    that inflates past its stated size fails its check), so that no such entry fills the memory or the storage. An
    archive of an instance that allowed more pixels imports once LANTERN_MAX_IMAGE_PIXELS allows as many here."""
    return max(MAX_UPLOAD_BYTES, MAX_ATTACHMENT_BYTES, largest_processed_image(get_settings().max_image_pixels))


@dataclass(frozen=True, slots=True)
class ArchivedRow:
    """A row as a kind's file holds it: its line's number and length (in bytes), and its values by column."""

    line: int
    size: int
    values: dict[str, Any]


class DamagedRowError(ValueError):
    """A line of a kind's file that holds no row this version takes: its number, the column at fault (when one
    is), and why, in the reader's language."""

    def __init__(self, line: int, reason: str, column: str | None = None) -> None:
        if column is None:
            super().__init__(_("Line %(line)s: %(reason)s", line=line, reason=reason))
        else:
            super().__init__(_("Line %(line)s, %(field)s: %(reason)s", line=line, field=column, reason=reason))


class ArchiveRefusedError(Exception):
    """An archive this version does not import: not one of Lantern's, damaged, made by a newer version, or one
    whose owners have accounts here without the operator's word to join them. Its message is in the reader's
    language."""


@dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    link: str  # where the invitation is accepted, for the operator to pass on (no mail without SMTP)
    mail: OutgoingEmail | None  # its e-mail, recorded when this instance sends e-mail


@dataclass(slots=True)
class Imported:
    """The new organization, how many records of each kind it took, whom it invited (and of them, the accounts of
    this instance that had joined in the archive, invited rather than joined), and the projects whose GitHub
    connection is to be made again (its token did not travel)."""

    organization_id: UUID
    name: str
    slug: str
    counts: dict[str, int] = field(default_factory=dict)
    invited: list[Invitee] = field(default_factory=list)
    not_joined: list[str] = field(default_factory=list)
    reconnect: list[str] = field(default_factory=list)


def read_manifest(archive: zipfile.ZipFile, revisions: Sequence[str]) -> Manifest:
    """The archive's manifest, if this version can import what it describes; `revisions` are the schema revisions
    this version knows (an archive of any of them imports)."""
    try:
        manifest = Manifest.from_json(json.loads(archive.read(MANIFEST)))
    except (KeyError, ValueError, TypeError) as error:
        raise ArchiveRefusedError(_("This file is not an organization archive of Lantern.")) from error
    if manifest.format_version > FORMAT_VERSION or manifest.revision not in revisions:
        message = _(
            "The archive was made by a newer version of Lantern (format %(format)s, schema revision %(revision)s): "
            "upgrade this instance first.",
            format=manifest.format_version,
            revision=manifest.revision,
        )
        raise ArchiveRefusedError(message)
    if manifest.revision not in archived_revisions():  # older than any archive: no Lantern wrote it
        raise ArchiveRefusedError(_("This file is not an organization archive of Lantern."))
    return manifest


def archived_rows(archive: zipfile.ZipFile, kind: Kind, upgrade: ArchiveUpgrade) -> Iterator[ArchivedRow]:
    """The archive's rows of `kind`, one at a time as they are read (a line of at most MAX_LINE_BYTES), each in
    this version's form (`upgrade`: the steps of the migrations since the archive's revision); `DamagedRowError`
    for a line that holds no JSON object."""
    if kind.file not in archive.namelist():  # a kind an older format did not have
        return
    with archive.open(kind.file) as entry:
        for number, line in enumerate(iter(lambda: entry.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(line) > MAX_LINE_BYTES:
                too_long = _("longer than %(size)s", size=format_megabytes(MAX_LINE_BYTES))
                raise DamagedRowError(number, too_long)
            if line.strip():
                yield ArchivedRow(number, len(line), upgrade.row(kind.name, _parsed(number, line)))


def _parsed(number: int, line: bytes) -> dict[str, Any]:
    try:
        row = json.loads(line.decode(), parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or nested past the parser's depth
        raise DamagedRowError(number, str(error)) from None
    if not isinstance(row, dict):
        raise DamagedRowError(number, _not_of_type(row, "JSON object"))
    return row


def _no_constant(constant: str) -> Any:
    """NaN and Infinity, which Python's JSON reads and no database's JSON takes, are no JSON."""
    raise ValueError(_not_of_type(constant, "JSON"))


def _not_of_type(value: Any, name: str) -> str:
    return _("%(value)s is not a value of type %(type)s", value=shown(value), type=name)


async def import_organization(
    source: Path, *, revisions: Sequence[str], progress: Progress, join_existing_accounts: bool = False
) -> Imported:
    """A new organization made of the archive at `source`; nothing of it is left when any part fails. With
    `join_existing_accounts`, the accounts this instance has of the archive's members join as they had there."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveRefusedError(_("This file is not an organization archive of Lantern.")) from error
    with archive:
        importer = _Importer(archive, read_manifest(archive, revisions), progress, join_existing_accounts)
        try:
            return await importer.run()
        except BaseException as error:
            await importer.remove_files()
            if not isinstance(error, _DAMAGED_CONTENT) or _database_failed(error):
                raise
            reason = _reason(error)
            if importer.reading is not None:  # which file, of a row that is not JSON or names one that is missing
                reason = _("%(file)s: %(reason)s", file=importer.reading, reason=reason)
            raise ArchiveRefusedError(_("The archive is damaged: %(reason)s", reason=reason)) from error


def _database_failed(error: BaseException) -> bool:
    """A connection refused, lost or never opened: the database's failure, which the command tells as such."""
    lost = isinstance(error, DBAPIError) and error.connection_invalidated
    return lost or isinstance(error, OperationalError | InterfaceError)


def _reason(error: Exception) -> str:
    """The failure in one line: the driver's own first line for the database's (asyncpg's runs on with DETAIL)."""
    origin = error.orig if isinstance(error, StatementError) and error.orig is not None else error
    cause = origin.__cause__ or origin
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


class Ids:
    """The archive's ids as this instance's: the organization's new one; people by the accounts they were matched
    with here (None: nobody here has the address); any other row's a UUIDv7 derived from its old id and the new
    organization's, its time (the first 48 bits) kept so that rows sort by id as they did."""

    def __init__(self, organization_id: UUID, old_organization_id: UUID) -> None:
        self.organization_id = organization_id
        self.old_organization_id = old_organization_id
        self.people: dict[UUID, UUID | None] = {}
        self.projects: set[UUID] = set()  # the archive's projects, by their old ids

    def row(self, old: UUID) -> UUID:
        mixed = hashlib.sha256(self.organization_id.bytes + old.bytes).digest()
        raw = bytearray(old.bytes[:6] + mixed[:10])
        raw[6] = 0x70 | (raw[6] & 0x0F)  # version 7
        raw[8] = 0x80 | (raw[8] & 0x3F)  # RFC 4122 variant
        return UUID(bytes=bytes(raw))

    def person(self, old: UUID) -> UUID | None:
        return self.people.get(old)

    def key(self, old: str) -> str:
        """A stored file's key under the new organization and project, its unguessable name kept."""
        try:
            organization, project, name = check_key(old).split("/")
        except InvalidKeyError as error:
            raise ValueError(old) from error
        if UUID(organization) != self.old_organization_id or UUID(project) not in self.projects:
            raise ValueError(old)
        return f"{self.organization_id}/{self.row(UUID(project))}/{name}"

    def remapped(self, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
        """A row's ids and the ids it names, as this instance's."""
        for column in kind.columns():
            value = values.get(column.name)
            if value is None:
                continue
            if column.name == "id":
                values["id"] = self.row(value)
            elif column.foreign_keys:
                target = next(iter(column.foreign_keys)).column.table.name
                values[column.name] = self.person(value) if target == User.__tablename__ else self.row(value)
        values["organization_id"] = self.organization_id
        return values


class _Importer:
    def __init__(
        self, archive: zipfile.ZipFile, manifest: Manifest, progress: Progress, join_existing_accounts: bool
    ) -> None:
        self.archive = archive
        self.manifest = manifest
        self.upgrade = archive_upgrade(manifest.revision)
        self.progress = progress
        self.join_existing_accounts = join_existing_accounts
        self.ids = Ids(uuid7(), UUID(manifest.organization["id"]))
        self.emails: dict[UUID, str] = {}  # the members' addresses, by their old ids
        self.project_names: dict[UUID, str] = {}  # old id: name, to name the projects to connect to GitHub again
        self.stored: set[UUID] = set()  # the new projects that files were written under
        self.named_files: set[str] = set()  # the files' keys that the archive's screenshots and attachments name
        self.read: Counter[str] = Counter()  # the rows read of each kind, to be what the manifest counts
        self.reading: str | None = None  # the file whose rows are read and written now, for a refusal to name
        self.columns: dict[Any, dict[Any, Any]] = {}  # each project's custom columns: status id by name

    def _rows(self, kind: Kind) -> Iterator[tuple[int, dict[str, Any]]]:
        """The rows of `kind` as the table takes them, each checked (`DamagedRowError`), with their lines' sizes."""
        self.reading = kind.file
        for row in archived_rows(self.archive, kind, self.upgrade):
            self.read[kind.name] += 1
            try:
                values = decoded(kind, row.values)
                self._check_rules(kind, values)
            except InvalidValueError as error:
                raise DamagedRowError(row.line, error.reason, error.column) from None  # its words say it all
            yield row.size, values

    def _check_rules(self, kind: Kind, row: dict[str, Any]) -> None:
        """What the app holds of a report beyond its columns' values: its status is a column of its board, and its
        status id, when it has one, that column's (any other fails the board, and its status id's filter). A
        default column's status without its id is taken: rows stored before status ids were kept have none."""
        if kind.name == "project_columns":
            self.columns.setdefault(row.get("project_id"), {})[row.get("name")] = row.get("status_id")
        elif kind.name == "reports":
            status, status_id = row.get("status", NEW_STATUS), row.get("status_id")
            board = {**DEFAULT_STATUS_IDS, **self.columns.get(row.get("project_id"), {})}
            if status not in board or status_id not in {None, board[status]}:
                reason = _(
                    "%(status)s with status id %(status_id)s is no column of its project",
                    status=shown(status),
                    status_id=shown(status_id),
                )
                raise InvalidValueError("status", reason)

    def _batches(self, kind: Kind) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        size = 0
        for line_size, row in self._rows(kind):
            batch.append(row)
            size += line_size
            if len(batch) == IMPORT_BATCH or size >= IMPORT_BATCH_BYTES:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    async def run(self) -> Imported:
        async with alchemy_config().get_session() as session, session.begin():
            members = {row["user_id"]: row for batch in self._batches(_KINDS["memberships"]) for row in batch}
            opening = await self._people(session, members)
            self._check_owners(members, opening)
            async with scoped(session, tenant_scope(self.ids.organization_id)):
                imported = await self._organization(session)
                await self._memberships(session, members, opening, imported)
                imported.counts["memberships"] = len(members)
                for kind in TENANT_KINDS:
                    if kind.name != "memberships":
                        imported.counts[kind.name] = await self._kind(session, kind, imported)
                self.reading = None
                self._check_complete()
                await self._continue_numbering(session)
                imported.counts["files"] = await self._files()
        return imported

    def _check_complete(self) -> None:
        """The archive holds what its manifest counts: each kind's records, as many as it says (a kind's file left
        out reads as none), and every stored file its records name, but for those the manifest says were missing
        from the source's storage. Checked once every row is read (and written, to be rolled back) and before any
        file is stored: an archive short of its members, its comments or its screenshots' files would import as an
        organization nobody can sign in to, or with reports that lost part of themselves."""
        problems = [
            ngettext(
                "%(file)s: %(num)s record, the manifest says %(expected)s",
                "%(file)s: %(num)s records, the manifest says %(expected)s",
                self.read[kind.name],
                file=kind.file,
                expected=format_number(self.manifest.counts.get(kind.name, 0)),
            )
            for kind in (PEOPLE_KIND, *TENANT_KINDS)
            if self.read[kind.name] != self.manifest.counts.get(kind.name, 0)
        ]
        present = {name.removeprefix(FILES) for name in self.archive.namelist() if name.startswith(FILES)}
        absent = sorted(self.named_files - present)
        missing = self.manifest.counts.get(MISSING_FILES, 0)
        if len(absent) > missing:
            names = [FILES + key for key in absent[:_MISSING_FILES_NAMED]]
            problems.append(
                ngettext(
                    "%(num)s file that a screenshot or attachment names is not in the archive (the manifest says "
                    "%(missing)s missing): %(names)s",
                    "%(num)s files that screenshots or attachments name are not in the archive (the manifest says "
                    "%(missing)s missing): %(names)s",
                    len(absent),
                    missing=format_number(missing),
                    names=", ".join(names) + (", …" if len(absent) > len(names) else ""),
                )
            )
        if problems:
            raise ArchiveRefusedError(_("The archive is damaged: %(reason)s", reason="; ".join(problems)))

    async def _people(self, session: AsyncSession, members: dict[UUID, dict[str, Any]]) -> set[UUID]:
        """Each person matched with this instance's account of the same address; a member or guest with none gets
        one (without a password: their invitation opens it). One whose account nobody has used yet (an earlier
        import made it for another organization of theirs, say) is as one with none: their invitation here opens
        it too, and whichever they accept first chooses its password. Returns the people whose invitation opens
        their account."""
        opening = set()
        count = 0
        for batch in self._batches(PEOPLE_KIND):
            for person in batch:
                email = normalize_email(person["email"])
                found = await session.execute(select(User.id, _UNUSED_ACCOUNT).where(User.email == email))
                account, unused = found.tuples().first() or (None, True)
                if person["id"] in members:
                    self.emails[person["id"]] = email
                    if account is None:
                        account = uuid7()
                        fields = {name: person.get(name) for name in ("locale", "timezone")}
                        session.add(User(id=account, email=email, name=person.get("name") or "", **fields))
                    if unused:
                        opening.add(person["id"])
                self.ids.people[person["id"]] = account
            count += len(batch)
            self.progress(PEOPLE_KIND.name, count)
        await session.flush()
        return opening

    async def _organization(self, session: AsyncSession) -> Imported:
        [row] = [values for _size, values in self._rows(ORGANIZATION_KIND)]
        row["id"] = self.ids.organization_id
        # Another organization here may have the slug (its original): a suffix is added, the slug shortened to fit.
        for attempt, slug in enumerate(slug_candidates(row["slug"])):
            row["slug"] = slug
            try:
                async with session.begin_nested():
                    await session.execute(insert(ORGANIZATION_KIND.table), [row])
                break
            except IntegrityError:
                if attempt == SLUG_ATTEMPTS - 1:
                    raise
        return Imported(self.ids.organization_id, row["name"], row["slug"])

    def _existing_accounts(self, members: dict[UUID, dict[str, Any]], opening: set[UUID]) -> set[UUID]:
        """The members (by their old ids) who had joined in the archive and have an account of this instance that
        someone uses."""
        return {
            old_user
            for old_user, row in members.items()
            if not row.get("invitation_pending") and self.ids.person(old_user) is not None and old_user not in opening
        }

    def _check_owners(self, members: dict[UUID, dict[str, Any]], opening: set[UUID]) -> None:
        """An owner of the archive with an account here could take the organization over at once; invited instead,
        they would leave it with no owner (an organization must keep one) until they accept, if ever. An owner
        without an account here, or with one nobody has used, is invited either way (their invitation chooses their
        password). Which it is to be is the operator's word: without it, the import is refused, before anything is
        written."""
        if self.join_existing_accounts:
            return
        existing = self._existing_accounts(members, opening)
        owners = sorted(self.emails[old] for old in existing if members[old].get("role") == Role.OWNER.value)
        if owners:
            message = _(
                "Owners of the organization have accounts on this instance (%(emails)s): invited rather than joined, "
                "they would leave it with no owner until one accepts. Pass --join-existing-accounts for them, and "
                "the other members with accounts here, to join it at once.",
                emails=", ".join(owners),
            )
            raise ArchiveRefusedError(message)

    async def _memberships(
        self, session: AsyncSession, members: dict[UUID, dict[str, Any]], opening: set[UUID], imported: Imported
    ) -> None:
        """Each member and guest with their role, invited as an admin invites them; one who had joined in the
        archive and has an account here joins at once only with the operator's word."""
        kind = _KINDS["memberships"]
        existing = self._existing_accounts(members, opening)
        joining = existing if self.join_existing_accounts else set()
        for old_user, row in members.items():
            if self.ids.person(old_user) is None:
                continue  # their account was deleted before the export
            values = self.ids.remapped(kind, dict(row))
            values["invitation_pending"] = old_user not in joining
            await session.execute(insert(kind.table), [values])
            if values["invitation_pending"]:
                imported.invited.append(
                    await self._invite(session, values["user_id"], opens_account=old_user in opening)
                )
                if old_user in existing:
                    imported.not_joined.append(self.emails[old_user])
        self.progress(kind.name, len(members))

    async def _invite(self, session: AsyncSession, user_id: UUID, *, opens_account: bool) -> Invitee:
        """An invitation as an admin's, its e-mail recorded with it when this instance sends e-mail (the worker sends
        it; the operator is shown its link either way)."""
        invitation_id = uuid7()
        token = invitation_token(invitation_id)
        session.add(
            Invitation(
                id=invitation_id,
                user_id=user_id,
                token_hash=digest(token),
                expires_at=datetime.now(UTC) + INVITATION_LIFETIME,
                opens_account=opens_account,
            )
        )
        mail = await record_invitation_mail(session, invitation_id) if mail_configured() else None
        email = await session.scalar(select(User.email).where(User.id == user_id))
        return Invitee(str(email), invitation_link(token), mail)

    async def _kind(self, session: AsyncSession, kind: Kind, imported: Imported) -> int:
        count = 0
        for batch in self._batches(kind):
            rows = [row for row in (self._adjusted(kind, row, imported) for row in batch) if row is not None]
            if kind.name == "project_keys":
                await self._widget_keys(session, kind, rows)
            elif rows:
                await session.execute(insert(kind.table), rows)
            count += len(batch)
            self.progress(kind.name, count)
        return count

    def _adjusted(self, kind: Kind, row: dict[str, Any], imported: Imported) -> dict[str, Any] | None:
        """The row as this instance takes it (None: not taken), its ids remapped."""
        if kind.name == "projects":
            self.ids.projects.add(row["id"])
            self.project_names[row["id"]] = row["name"]
        elif kind.name == "github_connections":
            imported.reconnect.append(self.project_names.get(row["project_id"], str(row["project_id"])))
            return None
        elif kind.name == "history":
            row["changes"] = self._history(row["changes"])
        elif kind.name in {"screenshots", "attachments"}:
            for column in ("key", "thumbnail_key"):
                if row.get(column) is not None:
                    self.named_files.add(row[column])
                    row[column] = self.ids.key(row[column])
        row = self.ids.remapped(kind, row)
        if kind.name == "project_members" and row["user_id"] is None:
            return None  # someone this instance has no account of, and no membership made one for
        return _derived(kind, row)

    def _history(self, changes: Any) -> Any:
        """An assignee change names the people as this instance's accounts (as it was, for one not matched)."""
        if not isinstance(changes, dict) or not isinstance(changes.get("assigneeId"), list):
            return changes
        assignees = []
        for value in changes["assigneeId"]:
            try:
                person = self.ids.person(UUID(value))
            except (TypeError, ValueError):
                person = None
            assignees.append(str(person) if person is not None else value)
        return {**changes, "assigneeId": assignees}

    async def _widget_keys(self, session: AsyncSession, kind: Kind, rows: list[dict[str, Any]]) -> None:
        """Each widget key as it was, so the sites' widgets go on working; a key this instance has already (the
        archive's original organization is here too) is replaced by a new one."""
        for row in rows:
            try:
                async with session.begin_nested():
                    await session.execute(insert(kind.table), [row])
            except IntegrityError:
                row["key"] = new_secret(WIDGET_KEY_PREFIX)
                await session.execute(insert(kind.table), [row])

    async def _continue_numbering(self, session: AsyncSession) -> None:
        """Each project's numbering goes on after its highest tracking number, whatever its counter said."""
        for old in self.ids.projects:
            project = self.ids.row(old)
            highest = await session.scalar(select(func.max(Report.number)).where(Report.project_id == project)) or 0
            counter = await session.scalar(
                select(ProjectCounter.last_number).where(ProjectCounter.project_id == project)
            )
            if counter is None:
                session.add(ProjectCounter(project_id=project, last_number=highest))
            elif counter < highest:
                await session.execute(
                    update(ProjectCounter).where(ProjectCounter.project_id == project).values(last_number=highest)
                )
        await session.flush()

    async def _files(self) -> int:
        """The archive's stored files that its screenshots and attachments name, written to this instance's storage
        under the new organization's keys; a file no row names would be kept for nothing, and is left out."""
        store = storage()
        largest = largest_stored_file()
        count = 0
        for info in self.archive.infolist():
            if not info.filename.startswith(FILES) or info.is_dir():
                continue
            old_key = info.filename.removeprefix(FILES)
            key = self.ids.key(old_key)
            if old_key not in self.named_files:
                continue
            if info.file_size > largest:
                raise ValueError(_("%(name)s is larger than any file Lantern stores.", name=info.filename))
            self.stored.add(UUID(key.split("/")[1]))
            with self.archive.open(info) as entry:  # read as it is stored, never whole (a file may be 240 MB)
                await store.put_stream(key, entry)
            count += 1
            if count % IMPORT_BATCH == 0:
                self.progress(FILES_PROGRESS, count)
        self.progress(FILES_PROGRESS, count)
        return count

    async def remove_files(self) -> None:
        """The files written for an import that failed: every one is under a project of the new organization."""
        store = storage()
        for project in self.stored:
            await store.delete_project(self.ids.organization_id, project)


def _derived(kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """The columns that did not travel (a report's search text, a token's hash, a webhook's secret), made here."""
    if kind.name == "reports":
        row["tags"] = distinct_names(row.get("tags") or [])
        row["tag_keys"] = [name_key(tag) for tag in row["tags"]]
        row.update(search_fields(row.get("title"), row.get("description")))
    elif kind.name == "api_tokens":
        # Kept as the author it was; a token that travelled without its secret is of use to nobody.
        row["token_hash"] = digest(new_secret(ORG_TOKEN_PREFIX))
        row["revoked_at"] = row.get("revoked_at") or datetime.now(UTC)
    elif kind.name == "webhooks":
        # Off, with a secret of its own: the receiver checks signatures with the old one, and hears from the source
        # instance until that stops. An admin rotates the secret, tells the receiver, and turns the webhook on.
        row["secret"] = new_secret(SECRET_PREFIX)
        if row.get("active", True):  # one turned off already keeps its reason
            row["disabled_reason"] = DisabledReason.IMPORTED.value
        row["active"] = False
    return row


async def mail_invitations(imported: Imported) -> None:
    """The invitations' e-mails the import recorded, queued for the worker now (as an admin's are once made), when
    this process reaches the queue; else the sweeper queues them."""
    if get_settings().redis_url is None:
        return
    organization_id = str(imported.organization_id)
    for mail in (invitee.mail for invitee in imported.invited if invitee.mail is not None):
        await job_queue().enqueue(
            INVITATION_MAIL.function, mail.job_id, organization_id=organization_id, email_id=str(mail.id)
        )
