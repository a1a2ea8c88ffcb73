"""Credentials Lantern must use again (an organization's GitHub token), encrypted at rest.

A token is only ever needed by the worker that calls GitHub with it; the database holds it sealed with a key
derived from LANTERN_SECRET_KEY (Fernet: AES-128-CBC with an HMAC-SHA256 tag), so a copy of the database
alone (a backup, a replica) reveals none. Changing LANTERN_SECRET_KEY makes sealed tokens unreadable: they
must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.settings import get_settings

_PURPOSE = b"lantern: sealed credentials"


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        get_settings().secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The secret, or None when it was sealed with another LANTERN_SECRET_KEY (or tampered with)."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
