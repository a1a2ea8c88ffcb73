"""Where uploaded bytes live: one interface, local disk under the data directory by default.

Keys are chosen by Lantern (`{organization}/{project}/{uuid}.{ext}`), never by the client, so a key can
neither escape the storage root nor be guessed.
"""

from __future__ import annotations

import asyncio
import re
from functools import cache
from pathlib import Path
from typing import Protocol
from uuid import UUID, uuid4

from app.settings import get_settings

_SAFE_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}/[0-9a-f]{32}(\.[a-z0-9]{1,5})?$")


class InvalidKeyError(ValueError):
    """A key that Lantern could not have made."""


def new_key(organization_id: UUID, project_id: UUID, extension: str) -> str:
    return f"{organization_id}/{project_id}/{uuid4().hex}.{extension}"


def check_key(key: str) -> str:
    if not _SAFE_KEY.match(key):
        raise InvalidKeyError(key)
    return key


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        await asyncio.to_thread(_write, path, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    """Write to a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


@cache
def storage() -> Storage:
    return LocalStorage(get_settings().data_dir / "uploads")
