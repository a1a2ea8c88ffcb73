"""Secrets: argon2id password hashes (bounded concurrency), random credentials and their digests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import replace
from functools import cache
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION
from argon2.profiles import RFC_9106_LOW_MEMORY

from app.settings import get_settings

# The argon2id costs an operator chooses from (LANTERN_PASSWORD_HASH_COST): RFC 9106's low-memory profile
# (m = 64 MiB, t = 3, p = 4) by default, or OWASP's floor (m = 19 MiB, t = 2, p = 1), for small machines: a
# seventh of the CPU and under a third of the memory per hash. The semaphore keeps 50 concurrent logins from
# needing 3.2 GiB at once.
_HASHERS = {
    "rfc9106": PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY),
    "owasp": PasswordHasher.from_parameters(
        replace(RFC_9106_LOW_MEMORY, time_cost=2, memory_cost=19 * 1024, parallelism=1)
    ),
}
_hashing_slots: asyncio.Semaphore | None = None


def _hasher() -> PasswordHasher:
    return _HASHERS[get_settings().password_hash_cost]


@cache
def _unmatchable_hash(cost: str) -> str:
    """A hash at `cost` that no password matches (its digest is random bytes), verified when an account does not
    exist, so that known and unknown accounts take the same time to answer. Written out rather than hashed:
    hashing one cost every process 150 ms of CPU (each CLI command, every server and worker process)."""
    hasher = _HASHERS[cost]

    def encoded(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")

    costs = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    variant = hasher.type.name.lower()
    return f"$argon2{variant}$v={ARGON2_VERSION}${costs}${encoded(hasher.salt_len)}${encoded(hasher.hash_len)}"


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
        return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    async with _slots():
        checked = password_hash or _unmatchable_hash(get_settings().password_hash_cost)
        return await asyncio.to_thread(_verify, checked, password) and password_hash is not None


def needs_new_hash(password_hash: str) -> bool:
    """Whether a stored hash was made at another cost than the one set now (the operator changed it since)."""
    return _hasher().check_needs_rehash(password_hash)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
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
