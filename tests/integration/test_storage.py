"""Both storage backends against real stores: the local disk, and an S3-compatible server (moto's
standalone server, a separate process on loopback) reached through the S3 backend."""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from PIL import Image

from app.domain.reports.models import Screenshot
from app.domain.reports.screenshots import ScreenshotService
from app.lib.database import alchemy_config
from app.lib.storage import (
    CHUNK_BYTES,
    InvalidKeyError,
    LocalStorage,
    S3Storage,
    Storage,
    StorageUnavailableError,
    check_key,
    export_key,
    new_key,
    storage_from,
)
from app.settings import SettingError, get_settings
from tenants.context import tenant_scope
from tests.support.clients import TenantFactory
from tests.support.environment import environment
from tests.support.screenshots import files_under
from tests.support.server import free_port

BUCKET = "lantern-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with one bucket; stopped after the module."""
    with moto_server() as (endpoint, _server):
        yield endpoint


@contextmanager
def moto_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A moto S3 server of its own, with one bucket: its address and its process."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_listening(port, server)
        assert httpx.put(f"{endpoint}/{BUCKET}").status_code == 200
        yield endpoint, server
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert server.poll() is None, "moto's server exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    msg = "moto's server did not start"
    raise RuntimeError(msg)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Storage:
    return s3_store(s3_endpoint, monkeypatch)


def s3_store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Storage:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lantern-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lantern-test-secret")
    settings = dataclasses.replace(
        get_settings(),
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
    )
    store = storage_from(settings)
    assert isinstance(store, S3Storage)
    return store


@pytest.fixture
def local(tmp_path: Path) -> Storage:
    store = storage_from(dataclasses.replace(get_settings(), storage_backend="local", data_dir=tmp_path))
    assert isinstance(store, LocalStorage)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> Storage:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_an_unknown_backend_is_refused() -> None:
    """By the settings, before anything is served (it used to be at the first upload, a 500)."""
    with environment(LANTERN_STORAGE="ftp"), pytest.raises(SettingError, match="LANTERN_STORAGE"):
        get_settings()
    with pytest.raises(ValueError, match="LANTERN_S3_BUCKET"):
        storage_from(dataclasses.replace(get_settings(), storage_backend="s3", s3_bucket=None))


async def test_put_get_exists_delete(store: Storage) -> None:
    key = new_key(uuid4(), uuid4(), "png")
    assert not await store.exists(key)
    await store.put(key, b"first")
    await store.put(key, b"second")  # a rerun overwrites: one object per key
    assert await store.exists(key)
    assert await store.get(key) == b"second"
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(FileNotFoundError):
        await store.get(key)


async def test_a_large_file_is_stored_and_read_back_a_part_at_a_time(store: Storage, tmp_path: Path) -> None:
    """An organization's export archive, which may be larger than a process should hold: stored from its file,
    sent in parts; under the organization's own prefix, where a project's deletion does not reach."""
    organization_id = uuid4()
    archive = tmp_path / "archive.zip"
    archive.write_bytes(os.urandom(2 * CHUNK_BYTES + 12_345))
    key = export_key(organization_id)
    assert key.startswith(f"{organization_id}/exports/")
    await store.put_file(key, archive)
    chunks = [chunk async for chunk in store.chunks(key)]
    assert b"".join(chunks) == archive.read_bytes()
    assert max(len(chunk) for chunk in chunks) < archive.stat().st_size
    await store.delete_project(organization_id, uuid4())
    assert await store.exists(key)
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(FileNotFoundError):
        _ = [chunk async for chunk in store.chunks(key)]
    with pytest.raises(InvalidKeyError):  # no row or archive may name an archive as its file
        check_key(key)


async def test_a_bucket_out_of_reach_while_a_file_is_read_is_the_stores_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An export reads each file a part at a time (it read it whole): a bucket gone out of reach after the first
    part was an error of no known kind, and the export merely "failed". It is the store's failure, as one before the
    first part is: the export is told to be tried again once the storage is back."""
    with moto_server() as (endpoint, server):
        store = s3_store(endpoint, monkeypatch)
        key = new_key(uuid4(), uuid4(), "bin")
        await store.put(key, bytes(32 * CHUNK_BYTES))  # more than the connection's buffers hold
        chunks = store.chunks(key)
        assert len(await anext(chunks)) >= CHUNK_BYTES
        server.kill()
        server.wait(timeout=10)
        with pytest.raises(StorageUnavailableError):
            _ = [chunk async for chunk in chunks]


async def test_a_disk_failing_while_a_file_is_read_is_the_stores_failure(tmp_path: Path) -> None:
    """As a bucket out of reach is: a local disk's read error once the file was open was an OSError, and the
    export reading it merely "failed" instead of being tried again. The file here is one the kernel opens and then
    refuses to read (EIO: a process's memory at address 0)."""
    store = LocalStorage(tmp_path)
    key = new_key(uuid4(), uuid4(), "bin")
    stored = tmp_path / key
    stored.parent.mkdir(parents=True)
    stored.symlink_to("/proc/self/mem")
    with pytest.raises(StorageUnavailableError) as refused:
        _ = [chunk async for chunk in store.chunks(key)]
    assert isinstance(refused.value.__cause__, OSError)
    assert refused.value.__cause__.errno == errno.EIO


async def test_a_file_of_an_archive_is_stored_as_it_is_read_and_a_damaged_one_leaves_nothing(
    store: Storage, tmp_path: Path
) -> None:
    """A file of an organization's archive is read from the zip as it is stored (it was read whole into memory):
    one of a few bytes and one of several parts (of an S3 upload too) come back whole. One whose bytes do not match
    their CRC fails as the zip's damage, not as the store's, and leaves nothing stored, not even in part."""
    small, large = b"a thumbnail", os.urandom(6 * CHUNK_BYTES + 12_345)
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writing:
        writing.writestr("small", small)
        writing.writestr("large", large)
    organization_id, project_id = uuid4(), uuid4()
    with zipfile.ZipFile(archive) as reading:
        for name, data in (("small", small), ("large", large)):
            key = new_key(organization_id, project_id, "bin")
            with reading.open(name) as entry:
                await store.put_stream(key, entry)
            assert await store.get(key) == data, name

    damaged = bytearray(archive.read_bytes())
    at = damaged.index(large[:64]) + len(large) - 1  # its last byte: read after the first parts were sent
    damaged[at] ^= 0xFF
    archive.write_bytes(bytes(damaged))
    key = new_key(organization_id, project_id, "bin")
    with zipfile.ZipFile(archive) as reading, reading.open("large") as entry, pytest.raises(zipfile.BadZipFile):
        await store.put_stream(key, entry)
    assert not await store.exists(key)
    assert [path for path in files_under(tmp_path) if path.suffix == ".partial"] == []


async def test_local_files_are_the_owners_alone_whatever_the_umask(tmp_path: Path) -> None:
    """Under `serve` and `worker` (`run` closes the data directory itself) every organization's screenshots were
    readable by every local account: folders 755 and files 644 under the usual umask."""
    data_dir = tmp_path / "data"
    previous = os.umask(0o022)
    try:
        store = storage_from(dataclasses.replace(get_settings(), storage_backend="local", data_dir=data_dir))
        key = new_key(uuid4(), uuid4(), "png")
        await store.put(key, b"a screenshot")
    finally:
        os.umask(previous)
    stored = data_dir / "uploads" / key
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in (data_dir, *stored.parents[:3], stored)}
    assert {path: mode & 0o077 for path, mode in modes.items()} == dict.fromkeys(modes, 0), modes


async def test_a_local_file_is_on_disk_before_it_is_said_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload's row is committed before its `201`, but its file was left in the page cache: a crash moments
    later kept the report and its screenshot's row, and lost the image. The folders made for a file, the file and
    its name in its folder are synced to disk before `put` returns (seen in the calls to the real `os.fsync`)."""
    synced: list[Path] = []
    sync = os.fsync

    def recorded(descriptor: int) -> None:
        synced.append(Path(f"/proc/self/fd/{descriptor}").readlink())
        sync(descriptor)

    monkeypatch.setattr(os, "fsync", recorded)
    root = tmp_path / "uploads"
    root.mkdir()
    store = LocalStorage(root)
    organization_id = uuid4()
    organization = root / str(organization_id)
    screenshot = root / new_key(organization_id, uuid4(), "png")
    await store.put(str(screenshot.relative_to(root)), b"a screenshot")
    # The entries of the new project's and organization's folders, the file under its temporary name (synced
    # before it is renamed), then the rename.
    assert synced == [organization, root, screenshot.with_suffix(".png.partial"), screenshot.parent]
    synced.clear()
    archive = tmp_path / "archive.zip"
    archive.write_bytes(b"an organization's export")
    exported = root / export_key(organization_id)
    await store.put_file(str(exported.relative_to(root)), archive)
    assert synced == [organization, exported.with_suffix(".zip.partial"), exported.parent]


async def test_a_file_a_full_disk_could_not_take_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its half-written `.partial` stayed for good: no row named it, nothing swept it, and it kept the space of a
    disk that had just run full. A full disk may say so at the sync of what was written (delayed allocation)."""

    sync = os.fsync

    def disk_full(descriptor: int) -> None:
        if Path(f"/proc/self/fd/{descriptor}").readlink().suffix == ".partial":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        sync(descriptor)

    root = tmp_path / "uploads"
    root.mkdir()
    store = LocalStorage(root)
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageUnavailableError):
        await store.put(new_key(uuid4(), uuid4(), "png"), b"a screenshot")
    assert [path for path in root.rglob("*") if path.is_file()] == []


async def test_a_projects_objects_are_deleted_and_no_others(store: Storage) -> None:
    organization_id, project_id, other_project_id = uuid4(), uuid4(), uuid4()
    doomed = [new_key(organization_id, project_id, "png") for _ in range(3)]
    kept = [new_key(organization_id, other_project_id, "png"), new_key(uuid4(), project_id, "png")]
    for key in [*doomed, *kept]:
        await store.put(key, b"bytes")
    await store.delete_project(organization_id, project_id)
    assert [await store.exists(key) for key in doomed] == [False, False, False]
    assert [await store.exists(key) for key in kept] == [True, True]
    await store.delete_project(organization_id, project_id)  # nothing left: nothing to do


@pytest.mark.parametrize("key", ["../etc/passwd", "a/b/c.png", f"{UUID(int=1)}/{UUID(int=2)}/../../x.png", "shot.png"])
async def test_a_key_lantern_did_not_make_is_refused(store: Storage, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        await store.put(key, b"x")
    with pytest.raises(InvalidKeyError):
        await store.get(key)


async def test_a_screenshot_is_processed_in_s3(s3: Storage, tenants: TenantFactory) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 300), "purple").save(buffer, "PNG")
    async with tenants.create() as tenant:
        project = await tenant.create_project()
        organization_id, project_id = UUID(tenant.organization_id), UUID(project["id"])
        original = new_key(organization_id, project_id, "png")
        await s3.put(original, buffer.getvalue())
        with tenant_scope(organization_id):
            async with alchemy_config().get_session() as session:
                shot = Screenshot(project_id=project_id, key=original, content_type="image/png", size=1)
                session.add(shot)
                await session.commit()
                assert await ScreenshotService(session, s3).process(shot.id) == "ready"
                assert shot.thumbnail_key is not None
        assert not await s3.exists(original)
        assert Image.open(io.BytesIO(await s3.get(shot.key))).size == (900, 300)
        assert Image.open(io.BytesIO(await s3.get(shot.thumbnail_key))).size == (400, 133)
