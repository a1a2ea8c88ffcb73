"""Secrets: argon2id password hashes (bounded concurrency), random credentials and their digests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION
from argon2.profiles import RFC_9106_LOW_MEMORY

from app.settings import get_settings

# RFC 9106's low-memory profile (m = 64 MiB, t = 3, p = 4) is above OWASP's floor of m = 19 MiB, t = 2; the
# semaphore keeps 50 concurrent logins from needing 3.2 GiB at once.
_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
_hashing_slots: asyncio.Semaphore | None = None


def _unmatchable_hash() -> str:
    """A hash in `_hasher`'s parameters that no password matches (its digest is random bytes), verified when an
    account does not exist, so that known and unknown accounts take the same time to answer. Written out rather
    than hashed: hashing one cost every process 150 ms of CPU as it started (each CLI command, every server and
    worker process)."""

    def encoded(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")

    costs = f"m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
    variant = _hasher.type.name.lower()
    return f"$argon2{variant}$v={ARGON2_VERSION}${costs}${encoded(_hasher.salt_len)}${encoded(_hasher.hash_len)}"


_DUMMY_HASH = _unmatchable_hash()

ORG_TOKEN_PREFIX = "lt_org_"  # noqa: S105 - a public prefix, not a secret
WIDGET_KEY_PREFIX = "lt_pub_"
INVITATION_PREFIX = "lt_inv_"
PASSWORD_RESET_PREFIX = "lt_pwr_"  # noqa: S105 - a public prefix, not a secret


def _slots() -> asyncio.Semaphore:
    global _hashing_slots  # noqa: PLW0603 - one semaphore per process, made on first use inside the loop
    if _hashing_slots is None:
        _hashing_slots = asyncio.Semaphore(get_settings().password_hash_concurrency)
    return _hashing_slots


async def hash_password(password: str) -> str:
    async with _slots():
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    async with _slots():
        return await asyncio.to_thread(_verify, password_hash or _DUMMY_HASH, password) and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str) -> str:
    """A credential with a recognisable prefix and 256 random bits."""
    return prefix + secrets.token_urlsafe(32)


def link_secret(prefix: str, row_id: UUID) -> str:
    """The secret of a mailed link (an invitation's, a password reset's), made from its row's id with
    LANTERN_SECRET_KEY rather than drawn: the worker that mails it makes it again, so the secret is kept nowhere,
    neither in the queue nor in the e-mail's row (the database holds its digest alone, as of every credential).
    256 bits no one can make without the key; another key makes other links, which the digest then refuses."""
    message = f"mailed link:{prefix}{row_id}".encode()
    mac = hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).digest()
    return prefix + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def digest(secret: str) -> str:
    """The stored form of a secret credential: high-entropy secrets need no slow hash, only a one-way one."""
    return hashlib.sha256(secret.encode()).hexdigest()
