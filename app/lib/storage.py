"""Where uploaded bytes live: one interface, local disk under the data directory by default, or any
S3-compatible store (`LANTERN_STORAGE=s3`, through obstore).

Keys are chosen by Lantern (`{organization}/{project}/{uuid}.{ext}`, and an organization's export archive
`{organization}/exports/{uuid}.zip`), never by the client, so a key can neither escape the storage root nor be
guessed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import os
import re
import shutil
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from uuid import UUID, uuid4

import obstore
import structlog
from obstore.exceptions import BaseError
from obstore.store import S3Store

from app.lib.errors import ErrorCode, LanternError
from app.lib.i18n import gettext as _
from app.settings import Settings, create_data_dir, get_settings

if TYPE_CHECKING:
    from obstore.store import S3Config  # a TypedDict of the type stubs only

logger = structlog.get_logger()
_SAFE_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}/[0-9a-f]{32}(\.[a-z0-9]{1,5})?$")
# An organization's export archive: beside its projects' folders, never inside one (a project's deletion leaves it).
_EXPORT_KEY = re.compile(r"^[0-9a-f-]{36}/exports/[0-9a-f]{32}\.zip$")
# A large file (an export archive, a file of one being imported) is read this much at a time, never whole into memory.
CHUNK_BYTES = 1024 * 1024
# The size of each part of a multipart upload to S3 (the least S3 takes, but for the last part; obstore's default).
_S3_PART_BYTES = 5 * 1024 * 1024
_S3_PARTS_IN_FLIGHT = 2


class InvalidKeyError(ValueError):
    """A key that Lantern could not have made."""


# How long a client is asked to wait before sending a file again while the store fails.
STORE_RETRY_AFTER_SECONDS = 30


class StorageUnavailableError(LanternError):
    """The store failed, not the file: a full or read-only disk, an unreachable bucket. A client is asked to
    try again shortly (503), and a worker gives its attempt back (see `ImageProcessor`)."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.SERVICE_UNAVAILABLE,
            _("Files cannot be stored right now. Please try again in a moment."),
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )


@contextmanager
def _store_errors(*store_errors: type[Exception]) -> Iterator[None]:
    """The store's own failures as `StorageUnavailableError`; a missing object stays FileNotFoundError."""
    try:
        yield
    except FileNotFoundError:
        raise
    except store_errors as error:
        # The client is told to try again; the operator is told why (a full disk, a bucket out of reach).
        logger.warning("storage unavailable", error=repr(error))
        raise StorageUnavailableError from error


def new_key(organization_id: UUID, project_id: UUID, extension: str) -> str:
    return f"{organization_id}/{project_id}/{uuid4().hex}.{extension}"


def derived_key(organization_id: UUID, project_id: UUID, seed: str, extension: str) -> str:
    """A key that the same seed always gives (so a job that runs twice writes the same object), and that
    nobody without the secret key can compute."""
    digest = hmac.new(get_settings().secret_key.encode(), seed.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{organization_id}/{project_id}/{digest}.{extension}"


def export_key(organization_id: UUID) -> str:
    return f"{organization_id}/exports/{uuid4().hex}.zip"


def check_key(key: str) -> str:
    """A key of an upload or a file derived from one; an export archive's is none (see `_stored_key`)."""
    if not _SAFE_KEY.match(key):
        raise InvalidKeyError(key)
    return key


def _stored_key(key: str) -> str:
    """Any key the store holds: an upload's or derived file's, or an export archive's. Only the store takes the
    latter: a key that a row or an archive names must be an upload's (`check_key`)."""
    if not (_SAFE_KEY.match(key) or _EXPORT_KEY.match(key)):
        raise InvalidKeyError(key)
    return key


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def put_file(self, key: str, path: Path) -> None:
        """The file at `path`, too large to hold in memory (an export archive), stored a part at a time."""

    async def put_stream(self, key: str, source: IO[bytes]) -> None:
        """What `source` reads (a file of an organization's archive, of up to a few hundred megabytes), stored a part
        at a time as it is read. `source.read(size)` gives `size` bytes but at its end, as a buffered file's does.
        An error of its reading (a zip entry's wrong CRC) is raised as it is, and leaves nothing stored."""

    def chunks(self, key: str) -> AsyncGenerator[bytes, None]:
        """The object's bytes a part at a time, for a download or an organization's export; FileNotFoundError when
        there is none, at the first part."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def delete_project(self, organization_id: UUID, project_id: UUID) -> None:
        """Every object stored under the project (`{organization}/{project}/`), gone."""


def project_prefix(organization_id: UUID, project_id: UUID) -> str:
    return f"{organization_id}/{project_id}/"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _stored_key(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with _store_errors(OSError):
            await asyncio.to_thread(_write, path, data)

    async def get(self, key: str) -> bytes:
        with _store_errors(OSError):
            return await asyncio.to_thread(self._path(key).read_bytes)

    async def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        with _store_errors(OSError):
            await asyncio.to_thread(_copy, path, target)

    async def put_stream(self, key: str, source: IO[bytes]) -> None:
        target = self._path(key)
        with _store_errors(OSError):
            await asyncio.to_thread(_copy_from, source, target)

    async def chunks(self, key: str) -> AsyncGenerator[bytes, None]:
        path = self._path(key)
        with _store_errors(OSError):
            file = await asyncio.to_thread(path.open, "rb")
        try:
            while True:
                # A disk failing midway is the store's failure, as in S3Storage.chunks: the export is tried again.
                with _store_errors(OSError):
                    chunk = await asyncio.to_thread(file.read, CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk
        finally:
            file.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(_remove_file, self._path(key), self.root)

    async def delete_project(self, organization_id: UUID, project_id: UUID) -> None:
        await asyncio.to_thread(_remove_tree, self.root / project_prefix(organization_id, project_id), self.root)


def _remove_file(path: Path, root: Path) -> None:
    path.unlink(missing_ok=True)
    _prune(path.parent, root)


def _remove_tree(path: Path, root: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    _prune(path.parent, root)


def _prune(folder: Path, root: Path) -> None:
    """`folder`, then each folder above it below `root`, while empty: a deleted organization left its folder behind
    (its exports' too), one for each organization that ever left. A file written in one meanwhile makes it again
    (`_new_file`)."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone already
            return
        folder = folder.parent


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def _write(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename, so a reader never sees half a file, and on disk before it returns (an
    upload's `201` is sent once its row is committed: its file must outlive a crash as the row does). Folders and
    files are the owner's alone, whatever the umask: they are every organization's screenshots."""
    with _partial(path) as file:
        file.write(data)


def _copy(source: Path, path: Path) -> None:
    with source.open("rb") as data:
        _copy_from(data, path)


def _copy_from(source: IO[bytes], path: Path) -> None:
    with _partial(path) as file:
        shutil.copyfileobj(source, file, CHUNK_BYTES)


@contextmanager
def _partial(path: Path) -> Iterator[io.BufferedWriter]:
    """A file to write `path`'s bytes to, moved to `path` once written whole and on disk (see `_write`). One that
    cannot be written whole (a full disk) is removed: no row names it, and it kept the space a full disk lacks."""
    partial = path.with_suffix(path.suffix + ".partial")
    try:
        with os.fdopen(_new_file(partial), "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    _sync_folder(path.parent)  # the rename itself, which is the folder's


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _new_file(path: Path) -> int:
    """`path` opened for writing, made the owner's alone, with its folders when they are not there: a project's first
    file, or a folder a deletion pruned as the file came (`_prune`)."""
    try:
        return os.open(path, _NEW_FILE, 0o600)
    except FileNotFoundError:
        made = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in made:  # `mkdir` gives the parents it makes the umask's mode, whatever `mode` says
            folder.chmod(0o700)
            _sync_folder(folder.parent)  # the new folder's entry, as the file's is (`_partial`)
        return os.open(path, _NEW_FILE, 0o600)


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, R2, ...); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."""

    def __init__(self, store: S3Store) -> None:
        self.store = store

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        if not settings.s3_bucket:
            msg = "LANTERN_STORAGE=s3 needs LANTERN_S3_BUCKET"
            raise ValueError(msg)
        config: S3Config = {"region": settings.s3_region}
        endpoint = settings.s3_endpoint_url
        if endpoint:
            config["endpoint"] = endpoint
        # Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) come from the environment, as S3Store reads it.
        store = S3Store(
            settings.s3_bucket,
            config=config,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
        )
        return cls(store)

    async def put(self, key: str, data: bytes) -> None:
        # An object PUT is atomic: a reader sees the old object or the whole new one.
        with _store_errors(BaseError):
            await obstore.put_async(self.store, _stored_key(key), data)

    async def get(self, key: str) -> bytes:
        with _store_errors(BaseError):
            result = await obstore.get_async(self.store, _stored_key(key))
            return bytes(await result.bytes_async())

    async def put_file(self, key: str, path: Path) -> None:
        # A multipart upload past the first part: the object appears whole once its last part is in, or not at all.
        with _store_errors(BaseError):
            await obstore.put_async(self.store, _stored_key(key), path)

    async def put_stream(self, key: str, source: IO[bytes]) -> None:
        # A file of one part in one request (a multipart upload takes three: most files are a thumbnail's few
        # kilobytes); a larger one a part at a time, each read as it is to be sent.
        first = await asyncio.to_thread(source.read, _S3_PART_BYTES)
        rest = iter(partial(source.read, CHUNK_BYTES), b"")
        data = first if len(first) < _S3_PART_BYTES else itertools.chain([first], rest)
        # Two parts in flight at most: obstore's default of twelve held 60 MB of a file for a slow bucket.
        with _store_errors(BaseError):
            await obstore.put_async(
                self.store, _stored_key(key), data, chunk_size=_S3_PART_BYTES, max_concurrency=_S3_PARTS_IN_FLIGHT
            )

    async def chunks(self, key: str) -> AsyncGenerator[bytes, None]:
        with _store_errors(BaseError):
            result = await obstore.get_async(self.store, _stored_key(key))
        stream = result.stream(min_chunk_size=CHUNK_BYTES)
        while True:
            # A bucket out of reach midway is the store's failure too, as before the first part: an export reading
            # the file is asked to be tried again, as one that read it whole was.
            with _store_errors(BaseError):
                chunk = await anext(stream, None)
            if chunk is None:
                return
            yield bytes(chunk)

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, _stored_key(key))
        except FileNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await obstore.delete_async(self.store, _stored_key(key))

    async def delete_project(self, organization_id: UUID, project_id: UUID) -> None:
        # Listed whole before deleting: a listing is paged, and deleting under its feet could skip a page.
        stream = obstore.list(self.store, prefix=project_prefix(organization_id, project_id), chunk_size=1000)
        paths = [meta["path"] async for batch in stream for meta in batch]
        for start in range(0, len(paths), 1000):  # S3 deletes at most 1,000 objects per request
            await obstore.delete_async(self.store, paths[start : start + 1000])


def storage_from(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage.from_settings(settings)
    # `serve` and `worker` may be the first to use the data directory (`run` makes it): made the owner's alone
    # here, its folders (made with parents of the umask's mode) are closed to others too.
    create_data_dir(settings.data_dir)
    return LocalStorage(settings.data_dir / "uploads")  # the settings take no other backend


@cache
def storage() -> Storage:
    return storage_from(get_settings())
