"""Configuration read from environment variables, lazily, so tests can configure before first use.

Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PASSWORD_HASH_COSTS = ("rfc9106", "owasp")  # the argon2id parameters of each: app/lib/security.py
# The drivers Lantern is built and tested on.
DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
MAX_PORT = 65535
MAX_WHOLE = 2**31 - 1  # what every store and client Lantern hands such a number to takes
MAX_PROJECT_RATE_LIMIT = 10_000  # a project's own limit takes at most this (projects/schemas.py)
MIN_SECRET_LENGTH = 16
# The longest a job runs: an organization's export (app/domain/transfer/services.py), which a stopping worker may
# let finish (LANTERN_WORKER_STOP_SECONDS), as the chart does for a worker pod given that long to stop.
LONGEST_JOB_SECONDS = 3 * 60 * 60
# The longest wait between two tries of outbound work (app/lib/retries.py), so the longest a first wait can be.
MAX_RETRY_SECONDS = 6 * 3600


class Expected(StrEnum):
    """What a variable takes, for the message that names it (the command line words it in the reader's
    language: this module is read before the catalogs)."""

    BOOLEAN = "true or false"
    WHOLE_NUMBER_IN_RANGE = "a whole number in the range"
    NUMBER_IN_RANGE = "a number in the range"
    CHOICE = "one of the choices"
    WEB_ADDRESS = "an http:// or https:// address"
    NETWORKS = "IP addresses or networks"
    IP_ADDRESS = "an IP address"
    URL = "a URL of one of the schemes"
    URL_PARTS = "a URL with a port in range that names its database"
    DIRECTORY = "a directory Lantern can create"
    S3_BUCKET = "a bucket name"
    PORT = "a port number"
    MAIL_ADDRESS = "an e-mail address"
    SECRET = "a long random secret"  # noqa: S105 - what the variable takes, not a secret


class SettingError(ValueError):
    """A variable Lantern cannot use as it is set: a typo must stop the start, not quietly mean the default (a
    `LANTERN_SIGNUP=off` left sign-up open)."""

    def __init__(  # noqa: PLR0913 - what a message says of each kind of value
        self,
        variable: str,
        value: str,
        expected: Expected,
        *,
        choices: tuple[str, ...] = (),
        minimum: float = 0,
        maximum: float = 0,
    ) -> None:
        super().__init__(f"{variable}={value!r}: expected {expected.value} {', '.join(choices)}".rstrip())
        self.variable, self.value, self.expected = variable, value, expected
        self.choices, self.minimum, self.maximum = choices, minimum, maximum


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw and raw not in _TRUE | _FALSE:
        raise SettingError(name, raw, Expected.BOOLEAN)
    return raw in _TRUE if raw else default


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number up to MAX_WHOLE: a larger one was taken, and refused by what it went to (Redis refused a
    session's lifetime, and every login was a 500)."""
    return _env_int_in(name, default, minimum, MAX_WHOLE)


def _env_int_in(
    name: str, default: int, minimum: int, maximum: float, expected: Expected = Expected.WHOLE_NUMBER_IN_RANGE
) -> int:
    """A whole number from `minimum` to `maximum`: 20,000 submissions a minute was taken as every new project's
    limit, where a project itself takes at most 10,000. A value out of it, or no whole number, is told the whole
    range (0 was told "at least 1" alone)."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = minimum - 1
    if not minimum <= value <= maximum:
        raise SettingError(name, raw, expected, minimum=minimum, maximum=maximum)
    return value


def _env_port(name: str, default: int) -> int:
    """A TCP port: one past 65535 was a traceback when binding, or a mail that never left."""
    return _env_int_in(name, default, 1, MAX_PORT, Expected.PORT)


def _env_mail_from(name: str, default: str) -> str:
    """The sender of Lantern's e-mail, `Name <address>` or an address: "notanaddress" was sent as the envelope's
    sender, which a mail server refuses."""
    value = _env(name, default)
    if "@" not in parseaddr(value)[1]:
        raise SettingError(name, value, Expected.MAIL_ADDRESS)
    return value


def _env_secret(name: str) -> str | None:
    """A secret key of at least MIN_SECRET_LENGTH characters, or None (one is generated into the data
    directory): three characters sealed the GitHub tokens and signed the sessions."""
    value = _env(name, "")
    if value and len(value) < MIN_SECRET_LENGTH:
        raise SettingError(name, "…", Expected.SECRET, minimum=MIN_SECRET_LENGTH)
    return value or None


def _env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = minimum - 1
    if not minimum <= value <= maximum:  # NaN too
        raise SettingError(name, raw, Expected.NUMBER_IN_RANGE, minimum=minimum, maximum=maximum)
    return value


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env(name, default)
    if value.upper() not in {choice.upper() for choice in choices}:
        raise SettingError(name, value, Expected.CHOICE, choices=choices)
    return value


def _env_web_address(name: str, default: str) -> str:
    """A base URL that links are made from: a query or fragment would end up in the middle of each one."""
    raw = _env(name, default)
    try:
        parts = urlsplit(raw)  # raises for a broken IPv6 host (`https://[::1`)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise SettingError(name, raw, Expected.WEB_ADDRESS) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or "?" in raw or "#" in raw:
        raise SettingError(name, raw, Expected.WEB_ADDRESS)
    return raw.rstrip("/")


def _env_ip_address(name: str, default: str) -> str:
    """An address to bind to: granian takes no host name, and a bad one crashed each of its workers."""
    value = _env(name, default)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise SettingError(name, value, Expected.IP_ADDRESS) from None
    return value


def _env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL of one of `schemes` whose parts its client can use. Another scheme, a port past 65535 or not a number,
    a Redis database that is not a number, each failed only once used, deep in its client, with a traceback (or,
    Redis' database, was read as 0 by the web server and refused by the worker); `postgresql+asyncpg://` alone
    was taken, and the driver picked a database by the system's user name."""
    value = _env(name, default)
    if not value.startswith(schemes):
        raise SettingError(name, value, Expected.URL, choices=schemes)
    if not _names_its_database(value):
        raise SettingError(name, value, Expected.URL_PARTS)
    return value


def _names_its_database(url: str) -> bool:
    """Whether `url`'s port, if any, is one, and it names its database: PostgreSQL's by name, SQLite's file (not
    one in memory, gone with the process), Redis' by number if at all, a socket by its path."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for one out of range or not a number
    except ValueError:
        return False
    if port == 0:
        return False
    database = parts.path.strip("/")
    if parts.scheme == "unix":
        return bool(database)  # the socket's path
    if parts.scheme.startswith("redis"):
        return not database or database.isdigit()
    return bool(database) and database != ":memory:"


def _env_locale(name: str, default: str) -> str:
    """A language Lantern ships a catalog for; another one quietly meant English."""
    # i18n reads the settings at import, so it is imported when the settings are read, not before.
    from app.lib.i18n import SUPPORTED_LOCALES, match_locale  # noqa: PLC0415

    value = _env(name, default)
    if match_locale(value) is None:
        raise SettingError(name, value, Expected.CHOICE, choices=SUPPORTED_LOCALES)
    return value


def _env_required_with_s3(name: str, storage_backend: str) -> str | None:
    value = os.environ.get(name, "").strip() or None
    if storage_backend == "s3" and value is None:
        raise SettingError(name, "", Expected.S3_BUCKET)
    return value


def _env_networks(name: str) -> tuple[str, ...]:
    raw = _env(name, "")
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    try:
        for network in networks:
            ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise SettingError(name, raw, Expected.NETWORKS) from None
    return networks


@dataclass(frozen=True, slots=True)
class Settings:
    """One immutable snapshot of the environment."""

    data_dir: Path
    database_url: str
    database_owner_url: str
    database_pool_size: int
    redis_url: str | None
    secret_key: str
    dev_mode: bool
    cookie_secure: bool
    signup_open: bool
    default_locale: str
    log_level: str
    password_hash_concurrency: int
    password_hash_cost: str
    session_max_age: int
    host: str
    port: int
    public_url: str
    tracking_wait_ms: int
    credential_cache_seconds: int
    sweep_after_seconds: int
    admin_rate_per_minute: int
    admin_burst: int
    login_attempts_per_minute: int
    login_failures_per_hour: int
    signups_per_hour: int
    default_project_rate_limit: int
    trusted_proxies: tuple[str, ...]
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str
    smtp_from: str
    smtp_starttls: bool
    storage_backend: str
    s3_bucket: str | None
    s3_endpoint_url: str | None
    s3_region: str
    max_image_pixels: int
    screenshot_timeout_seconds: int
    worker_stop_seconds: int
    allow_private_targets: bool
    outbound_timeout_seconds: float
    outbound_retry_seconds: float

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'lantern.db'}"


def create_data_dir(data_dir: Path) -> bool:
    """Create the data directory readable by its owner alone: it holds password hashes, webhook secrets and
    the sessions' Redis file. True when an existing one was open to others and is now closed to them."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(data_dir.stat().st_mode)
        if mode & 0o077:
            data_dir.chmod(mode & 0o700)
            return True
    except OSError:
        raise SettingError("LANTERN_DATA_DIR", str(data_dir), Expected.DIRECTORY) from None
    return False


def _load_or_create_secret(data_dir: Path) -> str:
    """A development secret kept in the data directory, so sessions survive restarts of `make run`."""
    path = data_dir / "secret_key"
    if not path.exists():
        if not data_dir.is_dir():
            create_data_dir(data_dir)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; `reset_settings()` re-reads the environment (tests)."""
    data_dir = Path(_env("LANTERN_DATA_DIR", "./.lantern")).resolve()
    database_url = _env_url("DATABASE_URL", _default_database_url(data_dir), DATABASE_SCHEMES)
    dev_mode = _env_bool("LANTERN_DEV", default=False)
    storage_backend = _env_choice("LANTERN_STORAGE", "local", ("local", "s3")).lower()
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        database_owner_url=_env_url("DATABASE_OWNER_URL", database_url, DATABASE_SCHEMES),
        database_pool_size=_env_int("LANTERN_DATABASE_POOL_SIZE", 20, minimum=1),
        redis_url=_env_url("REDIS_URL", "", REDIS_SCHEMES) if _env("REDIS_URL", "") else None,
        secret_key=_env_secret("LANTERN_SECRET_KEY") or _load_or_create_secret(data_dir),
        dev_mode=dev_mode,
        cookie_secure=_env_bool("LANTERN_COOKIE_SECURE", default=not dev_mode),
        signup_open=_env_choice("LANTERN_SIGNUP", "open", ("open", "closed")).lower() == "open",
        default_locale=_env_locale("LANTERN_DEFAULT_LOCALE", "en"),
        log_level=_env_choice("LANTERN_LOG_LEVEL", "INFO", LOG_LEVELS).upper(),
        password_hash_concurrency=_env_int("LANTERN_PASSWORD_HASH_CONCURRENCY", 4, minimum=1),
        password_hash_cost=_env_choice("LANTERN_PASSWORD_HASH_COST", "rfc9106", PASSWORD_HASH_COSTS).lower(),
        session_max_age=_env_int("LANTERN_SESSION_MAX_AGE", 14 * 24 * 3600, minimum=1),
        host=_env_ip_address("HOST", "127.0.0.1"),
        port=_env_port("PORT", 8000),
        public_url=_env_web_address("LANTERN_PUBLIC_URL", f"http://127.0.0.1:{_env_port('PORT', 8000)}"),
        tracking_wait_ms=_env_int("LANTERN_TRACKING_WAIT_MS", 500),
        credential_cache_seconds=_env_int("LANTERN_CREDENTIAL_CACHE_SECONDS", 5),
        sweep_after_seconds=_env_int("LANTERN_SWEEP_AFTER_SECONDS", 5),
        admin_rate_per_minute=_env_int("LANTERN_ADMIN_RATE_PER_MINUTE", 60, minimum=1),
        admin_burst=_env_int("LANTERN_ADMIN_BURST", 10, minimum=1),
        login_attempts_per_minute=_env_int("LANTERN_LOGIN_ATTEMPTS_PER_MINUTE", 5, minimum=1),
        login_failures_per_hour=_env_int("LANTERN_LOGIN_FAILURES_PER_HOUR", 100, minimum=1),
        signups_per_hour=_env_int("LANTERN_SIGNUPS_PER_HOUR", 10, minimum=1),
        default_project_rate_limit=_env_int_in(
            "LANTERN_DEFAULT_PROJECT_RATE_LIMIT", 10, minimum=1, maximum=MAX_PROJECT_RATE_LIMIT
        ),
        trusted_proxies=_env_networks("LANTERN_TRUSTED_PROXIES"),
        smtp_host=os.environ.get("SMTP_HOST", "").strip() or None,
        smtp_port=_env_port("SMTP_PORT", 587),
        smtp_user=os.environ.get("SMTP_USER", "").strip() or None,
        smtp_password=os.environ.get("SMTP_PASSWORD", ""),
        smtp_from=_env_mail_from("SMTP_FROM", "Lantern <lantern@localhost>"),
        smtp_starttls=_env_bool("SMTP_STARTTLS", default=True),
        storage_backend=storage_backend,
        s3_bucket=_env_required_with_s3("LANTERN_S3_BUCKET", storage_backend),
        s3_endpoint_url=(
            _env_web_address("LANTERN_S3_ENDPOINT_URL", "") if _env("LANTERN_S3_ENDPOINT_URL", "") else None
        ),
        s3_region=_env("LANTERN_S3_REGION", "us-east-1"),
        # Pillow only warns below 2 x 89.5 Mpx; a 4K screenshot is 8.3 Mpx, so 40 Mpx leaves ample room.
        max_image_pixels=_env_int("LANTERN_MAX_IMAGE_PIXELS", 40_000_000, minimum=1),
        # 0 failed every image at once; past an hour a stuck image holds a worker's job slot for nothing.
        screenshot_timeout_seconds=_env_int_in("LANTERN_SCREENSHOT_TIMEOUT_SECONDS", 60, minimum=1, maximum=3600),
        # Within the 30 s a pod is given to stop by default; the chart sets it from the pod's grace period.
        worker_stop_seconds=_env_int_in("LANTERN_WORKER_STOP_SECONDS", 25, minimum=1, maximum=LONGEST_JOB_SECONDS),
        # Off: an organization's webhook or integration could otherwise make the server call its own network.
        allow_private_targets=_env_bool("LANTERN_ALLOW_PRIVATE_TARGETS", default=False),
        # 0 gave up every call at once; past an hour a wait holds a job slot for nothing (and past 1e11 s no
        # clock can add it).
        outbound_timeout_seconds=_env_float("LANTERN_OUTBOUND_TIMEOUT_SECONDS", 10.0, minimum=0.1, maximum=3600),
        # 0 retried at once, in a loop; the tests' 0.2 keeps a retry within a test's time.
        outbound_retry_seconds=_env_float(
            "LANTERN_OUTBOUND_RETRY_SECONDS", 10.0, minimum=0.1, maximum=MAX_RETRY_SECONDS
        ),
    )


def reset_settings() -> None:
    get_settings.cache_clear()
