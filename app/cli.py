"""Lantern's command line: `python -m app.cli run|serve|worker|migrate|seed-demo|create-admin|set-password|
reindex-search|export-organization|import-organization`.

`run` is what `make run` calls: migrate, seed a demo organization, and serve the app with a worker beside
it, starting an embedded Redis when REDIS_URL is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import click
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from asyncpg import PostgresError
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.domain.accounts.schemas import MIN_PASSWORD_LENGTH, SignupRequest
from app.domain.transfer.archive import KIND_LABELS
from app.domain.transfer.exporting import ArchiveUnwritableError, export_organization, organizations_named
from app.domain.transfer.importing import ArchiveRefusedError, import_organization, mail_invitations
from app.lib import terminal
from app.lib.click_i18n import click_speaking
from app.lib.embedded_redis import EmbeddedRedis
from app.lib.errors import LanternError, has_sqlstate, message_of
from app.lib.i18n import format_number, lazy_gettext, match_locale, ngettext, use_locale
from app.lib.i18n import gettext as _
from app.lib.logging import LIBRARY_LOGGING_FILE
from app.lib.queue import release_claims
from app.lib.revisions import alembic_config, current_revision
from app.lib.schema import convert_body
from app.lib.storage import StorageUnavailableError
from app.lib.supervisor import (
    Child,
    GaveUpError,
    data_directory_lock,
    die_with_parent,
    ensure_address_free,
    spawn,
    stop_children,
    supervise,
)
from app.seed import create_admin, reindex_search, seed_demo, set_password
from app.settings import Expected, SettingError, create_data_dir, get_settings, reset_settings

# `serve --workers 1000` started a thousand processes of about 110 MB each and took the machine's memory.
MAX_WEB_WORKERS = 64
# On stop, the worker's own stop after its running jobs' wait (LANTERN_WORKER_STOP_SECONDS): closing its
# connections and queues. Past it, `run` kills what is left.
WORKER_STOP_MARGIN_SECONDS = 5
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for "permission denied"
# PostgreSQL's SQLSTATE for a connection over a limit: its role's or database's CONNECTION LIMIT, or the
# server's max_connections.
TOO_MANY_CONNECTIONS = "53300"


def _cli_locale() -> str:
    raw = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or "en"
    return match_locale(raw.split(".")[0]) or "en"


def migrate() -> str | None:
    """Upgrade the schema to the newest revision (`current_revision`); the revision it was at (None: no schema
    yet). One at a revision newer than this version knows is left as it is: during a rolling upgrade an older
    version's migrate step may run after the newer one migrated (docs/deploy.md)."""
    before = asyncio.run(_database_revision(get_settings().database_owner_url))
    if not _newer(before):
        command.upgrade(alembic_config(), "head")
    return before


async def _database_revision(url: str) -> str | None:
    """The revision the database of `url` is at (None: no schema yet), read as `alembic current` reads it."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


def _behind(revision: str | None) -> bool:
    """No schema yet, or one older than this version's. A newer one is not: during a rolling upgrade the
    older version's servers run on the schema the newer one migrated (docs/deploy.md)."""
    if revision is None:
        return True
    if _newer(revision):
        message = _(
            "The database schema is at revision %(found)s, newer than this version knows (its newest is "
            "%(newest)s): served as it is, as during a rolling upgrade or after a rollback.",
            found=revision,
            newest=current_revision(),
        )
        click.echo(message, err=True)
        return False
    return revision != current_revision()


def _newer(revision: str | None) -> bool:
    """A revision this version does not know: a newer version's."""
    if revision is None:
        return False
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:  # alembic wraps its ResolutionError
        return True
    return False


@contextlib.contextmanager
def _database_errors(variable: str) -> Iterator[None]:
    """A database that cannot be reached or logged in to, or a role without the privilege: one line that says
    which setting to look at, in the reader's language (each was a traceback of sixty lines). A statement that
    fails otherwise is no setting's fault, and keeps its traceback."""
    try:
        yield
    except (DBAPIError, OSError, PostgresError) as error:
        privilege = isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
        unusable = not isinstance(error, DBAPIError) or _lost(error)
        if not (privilege or unusable):
            raise
        if privilege:
            raise click.ClickException(_privilege_message(variable, _reason(error))) from None
        variable = _set_variable(variable)
        if has_sqlstate(error, (TOO_MANY_CONNECTIONS,)):
            # It answers, and the URL is right: starting it or correcting the URL would not help.
            message = _(
                "The database of %(variable)s takes no more connections (%(reason)s): raise the connection "
                "limit of its role, database or server (max_connections), or lower LANTERN_DATABASE_POOL_SIZE "
                "or the number of Lantern processes.",
                variable=variable,
                reason=_reason(error),
            )
            raise click.ClickException(message) from None
        message = _(
            "The database of %(variable)s cannot be used (%(reason)s): start it, or correct %(variable)s.",
            variable=variable,
            reason=_reason(error),
        )
        raise click.ClickException(message) from None


def _lost(error: DBAPIError) -> bool:
    """A connection refused, lost or never opened (SQLite: a file it cannot open), not a statement's failure."""
    return isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated


def _reason(error: Exception) -> str:
    """The driver's own words, without SQLAlchemy's statement and background link."""
    origin = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    cause = origin.__cause__ or origin  # asyncpg's error under SQLAlchemy's adapter
    return str(cause) or type(cause).__name__


def _set_variable(variable: str) -> str:
    """The variable a URL came from: DATABASE_URL's stands in for an unset DATABASE_OWNER_URL, and a line that
    named DATABASE_OWNER_URL sent the operator to correct a variable they never set."""
    if variable == "DATABASE_OWNER_URL" and not os.environ.get(variable, "").strip():
        return "DATABASE_URL"
    return variable


def _privilege_message(variable: str, reason: str) -> str:
    if variable == "DATABASE_OWNER_URL":
        return _(
            "The role of DATABASE_OWNER_URL may not change the schema (%(reason)s): migrations run as the role "
            "that owns the tables; set DATABASE_OWNER_URL to its URL (unset, it is DATABASE_URL's).",
            reason=reason,
        )
    return _(
        "The role of DATABASE_URL may not use Lantern's tables (%(reason)s): run python -m app.cli migrate as "
        "the owner role (DATABASE_OWNER_URL), which grants it their use.",
        reason=reason,
    )


def _require_migrated_database() -> None:
    """Every command but `migrate` works on the schema: without it, one line says to migrate first (seed-demo
    on a fresh database was a traceback about a missing table)."""
    with _database_errors("DATABASE_URL"):
        revision = asyncio.run(_database_revision(get_settings().database_url))
    if not _behind(revision):
        return
    if revision is None:
        raise click.ClickException(_("The database has no schema yet: run python -m app.cli migrate first."))
    message = _(
        "The database schema is at revision %(found)s, and this version needs %(needed)s: run python -m "
        "app.cli migrate first.",
        found=revision,
        needed=current_revision(),
    )
    raise click.ClickException(message)


def _lazy(message: str) -> str:
    """Words click shows (a command's or an option's help, a prompt), read in the operator's language as it shows
    them. Typed as the `str` click takes."""
    return cast("str", lazy_gettext(message))


class _ShownAsRead:
    """Words click shows (a help, a metavar), read anew each time it shows them, in the language of the moment: a
    lazy string stored, a `str` read (click runs regular expressions over them and joins them, which take no
    LazyProxy)."""

    def __set_name__(self, _owner: type, name: str) -> None:
        self._stored = f"_shown_{name}"

    def __get__(self, instance: object, _owner: type | None = None) -> str | None:
        value = getattr(instance, self._stored, None)
        return None if value is None else str(value)

    def __set__(self, instance: object, value: str | None) -> None:
        setattr(instance, self._stored, value)


class _AlwaysShown(_ShownAsRead):
    """Words click always has (the usage line's `COMMAND [ARGS]...`)."""

    def __get__(self, instance: object, _owner: type | None = None) -> str:
        return str(getattr(instance, self._stored))


class _Context(click.Context):
    formatter_class = terminal.HelpFormatter


class _Command(click.Command):
    """A command whose help and usage line (`[OPTIONS]`) are in the operator's language, laid out in its script's
    lines (`terminal.HelpFormatter`)."""

    context_class = _Context
    help = _ShownAsRead()
    options_metavar = _ShownAsRead()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{"options_metavar": _lazy("[OPTIONS]"), **kwargs})

    def get_short_help_str(self, limit: int = 45) -> str:
        """The command's line in the list of commands: its help's first sentence, as click finds it, cut to
        `limit` terminal columns (click cut it to `limit` characters, which Chinese and Japanese run past)."""
        return terminal.shorten(super().get_short_help_str(limit=sys.maxsize), limit)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command once the settings are known good: a variable set wrong stops it with a line that says so.
        Checked here, after its arguments were read, so that its `--help` shows whatever the settings (`PORT=abc`
        answered `migrate --help` with the PORT's line, where `--help` alone showed the help)."""
        try:
            get_settings()
        except SettingError as error:
            raise click.ClickException(_setting_message(error)) from None
        return super().invoke(ctx)


class _CommandLine(_Command, click.Group):
    """The command line in the operator's language, chosen once for the whole run: from the arguments' parsing on
    (click formats `--help` while it parses them, before any command runs) to each line a command prints."""

    command_class = _Command
    subcommand_metavar = _AlwaysShown()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{"subcommand_metavar": _lazy("COMMAND [ARGS]..."), **kwargs})

    def main(self, *args: Any, **kwargs: Any) -> Any:
        locale = _cli_locale()
        with use_locale(locale), click_speaking(locale):
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        return click.Group.invoke(self, ctx)  # the settings are each command's to check (`_Command.invoke`)


class _Option(click.Option):
    """An option whose help and value's name (`--email ADDRESS`) are in the operator's language."""

    help = _ShownAsRead()
    metavar = _ShownAsRead()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        help_text = kwargs.pop("help", None)  # click dedents a help as it declares the option: read then, at import
        super().__init__(*args, **kwargs)
        self.help = help_text


class _Argument(click.Argument):
    """An argument whose name in the usage line and in errors (`ARCHIVE`) is in the operator's language."""

    metavar = _ShownAsRead()


def _file(**checks: bool) -> click.Path:
    """A file named on the command line, which click's errors call a file in the operator's language ("Datei '…'
    existiert nicht."): click names the type as it is made, at import, in English."""
    file = click.Path(dir_okay=False, path_type=Path, **checks)
    file.name = _lazy("file")
    return file


@click.group(cls=_CommandLine, help=_lazy("Lantern: self-hostable, multi-tenant, multilingual bug reporting."))
def cli() -> None:
    """The command line's group: each command checks the settings as it runs (`_Command.invoke`)."""


def _setting_message(error: SettingError) -> str:
    """Which variable is wrong, and what it takes, in the reader's language."""
    takes = {
        Expected.BOOLEAN: _("true or false (also 1, yes, on or 0, no, off)"),
        Expected.WHOLE_NUMBER_IN_RANGE: _(
            "a whole number from %(minimum)s to %(maximum)s",
            minimum=format_number(error.minimum),
            maximum=format_number(error.maximum),
        ),
        Expected.NUMBER_IN_RANGE: _(
            "a number from %(minimum)s to %(maximum)s",
            minimum=format_number(error.minimum),
            maximum=format_number(error.maximum),
        ),
        Expected.CHOICE: _("one of: %(choices)s", choices=", ".join(error.choices)),
        Expected.WEB_ADDRESS: _(
            "an address that starts with http:// or https:// and names a host, without a query (?) or fragment (#)"
        ),
        Expected.NETWORKS: _("IP addresses or networks (CIDR), separated by commas"),
        Expected.IP_ADDRESS: _("an IP address, such as 127.0.0.1 or 0.0.0.0 (no host name)"),
        Expected.URL: _("a URL that starts with %(schemes)s", schemes=", ".join(error.choices)),
        Expected.URL_PARTS: _(
            "a URL whose port, if it has one, is from 1 to 65535, and that names its database: PostgreSQL's by name, "
            "SQLite's file, Redis' by number (if any)"
        ),
        Expected.DIRECTORY: _("a directory that Lantern can create and write to"),
        Expected.S3_BUCKET: _("the bucket's name when LANTERN_STORAGE is s3"),
        Expected.PORT: _("a port number from 1 to 65535"),
        Expected.MAIL_ADDRESS: _("an e-mail address, such as Lantern <lantern@example.com>"),
        Expected.SECRET: _(
            "a random secret of at least %(minimum)s characters, such as one that this prints: %(command)s",
            minimum=format_number(error.minimum),
            command='python3 -c "import secrets; print(secrets.token_urlsafe(32))"',
        ),
    }[error.expected]
    if not error.value:
        return _("%(variable)s is not set; it takes %(takes)s.", variable=error.variable, takes=takes)
    return _(
        "%(variable)s is set to “%(value)s”; it takes %(takes)s.",
        variable=error.variable,
        value=error.value,
        takes=takes,
    )


@cli.command("migrate", help=_lazy("Upgrade the database schema (as the owner role: DATABASE_OWNER_URL)."))
def migrate_command() -> None:
    with _database_errors("DATABASE_OWNER_URL"):
        before = migrate()
    revision = current_revision()
    if _newer(before):
        message = _(
            "The database schema is at revision %(found)s, newer than this version knows (its newest is "
            "%(newest)s): nothing was changed.",
            found=before,
            newest=revision,
        )
        click.echo(message)
    elif before != revision:
        click.echo(_("The database schema was upgraded to revision %(revision)s.", revision=revision))
    else:
        click.echo(_("The database schema is up to date (revision %(revision)s).", revision=revision))


@cli.command(
    "seed-demo", help=_lazy("Create the demo organization if it is missing, and print its login and widget API key.")
)
def seed_demo_command() -> None:
    _require_migrated_database()
    _print_demo(_seeded_demo())


class _PasswordOption(_Option):
    """`--password`, asked for twice without being shown when left out; from a pipe (a script's `printf … |`), its
    first line, as it is: Python's terminal prompt read it with two warnings in English, one naming its own file."""

    def prompt_for_value(self, ctx: click.Context) -> Any:
        if sys.stdin.isatty():
            return super().prompt_for_value(ctx)
        return sys.stdin.readline().rstrip("\r\n")


def _password_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--password`, asked for twice without being shown when left out (as create-admin and set-password take it)."""
    return click.option(
        "--password",
        prompt=_lazy("Password"),  # never missing, so not marked "[required]": left out, it is asked for
        hide_input=True,
        confirmation_prompt=True,
        cls=_PasswordOption,
        metavar=_lazy("PASSWORD"),
        help=help_text,
    )


@cli.command(
    "create-admin", help=_lazy("Create an organization with its first owner (for operators; sign-up may be closed).")
)
@click.option(
    "--email",
    required=True,
    cls=_Option,
    metavar=_lazy("ADDRESS"),
    help=_lazy("the owner's e-mail address, which they log in with"),
)
@_password_option(
    _lazy(
        "the owner's password; left out, it is asked for without being shown (given here, it stays in the shell's "
        "history)"
    )
)
@click.option(
    "--organization",
    "organization_name",
    required=True,
    cls=_Option,
    metavar=_lazy("NAME"),
    help=_lazy("the new organization's name"),
)
@click.option(
    "--name",
    default="",
    cls=_Option,
    metavar=_lazy("NAME"),
    help=_lazy("the owner's name, as their team sees it (left out: their e-mail address)"),
)
@click.option(
    "--operator",
    is_flag=True,
    cls=_Option,
    help=_lazy("also an operator of the instance: sees every organization's jobs"),
)
def create_admin_command(email: str, password: str, organization_name: str, name: str, operator: bool) -> None:
    _require_migrated_database()
    _check_password_length(password)
    _check_as_signup(email=email, password=password, name=name or email, organization_name=organization_name)
    try:
        asyncio.run(
            create_admin(
                email=email, password=password, organization_name=organization_name, name=name, operator=operator
            )
        )
    except LanternError as error:  # an address that has an account already, say
        raise click.ClickException(message_of(error)) from None
    click.echo(_("Created %(email)s as owner of %(organization)s.", email=email, organization=organization_name))


@cli.command(
    "set-password",
    help=_lazy("Give an account a new password (for operators: without SMTP, nobody receives a reset link)."),
)
@click.option(
    "--email", required=True, cls=_Option, metavar=_lazy("ADDRESS"), help=_lazy("the e-mail address of the account")
)
@_password_option(
    _lazy(
        "the new password; left out, it is asked for without being shown (given here, it stays in the shell's history)"
    )
)
def set_password_command(email: str, password: str) -> None:
    _require_migrated_database()
    _check_password_length(password)
    if not asyncio.run(set_password(email, password)):
        raise click.ClickException(_("No account has the address %(email)s.", email=email))
    click.echo(_("The password of %(email)s is changed; its sessions have ended.", email=email))


@cli.command(
    "reindex-search",
    help=_lazy(
        "Index every report's text for search again: after a rolling upgrade across migration 0021, for the "
        "reports that servers of the older version wrote or changed meanwhile."
    ),
)
def reindex_search_command() -> None:
    _require_migrated_database()
    # A line per batch, the count so far: the last line is the total.
    if not asyncio.run(reindex_search(lambda count: click.echo(_reindexed(count)))):
        click.echo(_reindexed(0))


def _reindexed(count: int) -> str:
    return ngettext("%(num)s report indexed for search.", "%(num)s reports indexed for search.", count)


@cli.command(
    "export-organization",
    help=_lazy(
        "Write an organization's every record and stored file to a zip archive (ORGANIZATION: its id, slug or "
        "name), for import-organization on this or another instance."
    ),
)
@click.argument("organization", cls=_Argument, metavar=_lazy("ORGANIZATION"))
@click.argument("archive", type=_file(writable=True), cls=_Argument, metavar=_lazy("ARCHIVE"))
@click.option("--overwrite", is_flag=True, cls=_Option, help=_lazy("replace a file already at ARCHIVE"))
def export_organization_command(organization: str, archive: Path, overwrite: bool) -> None:
    _require_migrated_database()
    organization_id = _organization_named(organization)
    # It may be an earlier export, the only copy of an organization deleted since.
    if archive.exists() and not overwrite:
        message = _("%(path)s exists already: name another file, or pass --overwrite to replace it.", path=archive)
        raise click.ClickException(message)
    progress = _transfer_progress(importing=False)
    try:
        with _database_errors("DATABASE_URL"):
            manifest = asyncio.run(
                export_organization(organization_id, archive, revision=current_revision(), progress=progress)
            )
    except ArchiveUnwritableError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        _(
            "%(organization)s is exported to %(archive)s.",
            organization=manifest.organization["name"],
            archive=archive,
        )
    )
    if missing := manifest.counts["missing_files"]:
        message = ngettext(
            "%(num)s file that a screenshot or attachment names was missing from the storage.",
            "%(num)s files that screenshots or attachments name were missing from the storage.",
            missing,
        )
        click.echo(message, err=True)


@cli.command(
    "import-organization",
    help=_lazy(
        "Make a new organization of an archive that export-organization wrote (on this or another instance): its "
        "tracking IDs kept, its people invited (or, with --join-existing-accounts, those with an account here "
        "joining), its files in this instance's storage."
    ),
)
@click.argument("archive", type=_file(exists=True), cls=_Argument, metavar=_lazy("ARCHIVE"))
@click.option(
    "--join-existing-accounts",
    is_flag=True,
    cls=_Option,
    help=_lazy(
        "join the members who have an account on this instance at once, as they had joined in the archive (your "
        "own people); without it they are invited, and an archive whose owner has one is refused"
    ),
)
def import_organization_command(archive: Path, join_existing_accounts: bool) -> None:
    _require_migrated_database()
    known = [revision.revision for revision in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    try:
        with _database_errors("DATABASE_URL"):
            imported = asyncio.run(
                import_organization(
                    archive,
                    revisions=known,
                    progress=_transfer_progress(importing=True),
                    join_existing_accounts=join_existing_accounts,
                )
            )
    except ArchiveRefusedError as error:
        raise click.ClickException(str(error)) from None
    except StorageUnavailableError as error:  # the store's failure, not the database's
        message = _(
            "The files cannot be stored (%(reason)s), so nothing was imported: see that the storage of "
            "LANTERN_STORAGE takes files (a full or read-only disk, a bucket out of reach).",
            reason=_reason(error),
        )
        raise click.ClickException(message) from None
    asyncio.run(mail_invitations(imported))
    click.echo(
        _(
            "%(archive)s is imported as the organization %(organization)s (slug %(slug)s).",
            archive=archive,
            organization=imported.name,
            slug=imported.slug,
        )
    )
    for invitee in imported.invited:
        click.echo(_("Invited %(email)s: %(link)s", email=invitee.email, link=invitee.link))
    if imported.not_joined:
        message = ngettext(
            "%(num)s member with an account on this instance is invited rather than joined: %(emails)s",
            "%(num)s members with accounts on this instance are invited rather than joined: %(emails)s",
            len(imported.not_joined),
            emails=", ".join(imported.not_joined),
        )
        click.echo(message)
    if webhooks := imported.counts.get("webhooks"):
        message = ngettext(
            "%(num)s webhook is imported turned off, with a new secret: rotate its secret, give it to the "
            "receiver, then turn it on.",
            "%(num)s webhooks are imported turned off, with new secrets: rotate each one's secret, give it to the "
            "receiver, then turn it on.",
            webhooks,
        )
        click.echo(message)
    if imported.reconnect:
        projects = ", ".join(imported.reconnect)
        click.echo(
            _("Connect these projects to GitHub again (their tokens stay behind): %(projects)s", projects=projects)
        )


def _organization_named(reference: str) -> UUID:
    """The one organization `reference` (an id, a slug or a name) names, or a line that says why not."""
    found = asyncio.run(organizations_named(reference))
    if not found:
        raise click.ClickException(_("No organization has the id, slug or name %(name)s.", name=reference))
    if len(found) > 1:
        slugs = ", ".join(organization.slug for organization in found)
        message = _(
            "Several organizations are named %(name)s: name one by its slug (%(slugs)s).", name=reference, slugs=slugs
        )
        raise click.ClickException(message)
    return found[0].id


def _transfer_progress(*, importing: bool) -> Callable[[str, int], None]:
    """A line on stderr per batch of a long transfer: the kind of record and how many so far."""

    def told(kind_name: str, count: int) -> None:
        kind = KIND_LABELS[kind_name]
        if importing:
            line = ngettext("Imported %(kind)s: %(num)s record", "Imported %(kind)s: %(num)s records", count, kind=kind)
        else:
            line = ngettext("Exported %(kind)s: %(num)s record", "Exported %(kind)s: %(num)s records", count, kind=kind)
        click.echo(line, err=True)

    return told


# The options of `create-admin` by the sign-up body's fields they fill.
_SIGNUP_OPTIONS = {
    "email": "--email",
    "password": "--password",
    "name": "--name",
    "organization.name": "--organization",
}


def _check_as_signup(*, email: str, password: str, name: str, organization_name: str) -> None:
    """The sign-up's checks of the new owner and organization, which create-admin skipped: "notanemail", an
    organization of no name and a name on two lines were all created."""
    body = {"email": email, "password": password, "name": name, "organization": {"name": organization_name}}
    try:
        convert_body(body, SignupRequest)
    except LanternError as error:
        refused = error.details[0]
        option = _SIGNUP_OPTIONS.get(refused.field or "")
        raise click.BadParameter(refused.message, param_hint=f"'{option}'" if option else None) from None


def _check_password_length(password: str) -> None:
    """The sign-up's rule, which the operators' commands used to skip (create-admin took "short")."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = _("A password needs at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
        raise click.BadParameter(message, param_hint="--password")


@cli.command("serve", help=_lazy("Serve the web app with granian (production: run the worker as its own process)."))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_WEB_WORKERS),
    cls=_Option,
    metavar=_lazy("NUMBER"),
    help=_lazy("granian worker processes (each holds its own connections and about 110 MB)"),
)
def serve_command(workers: int) -> None:
    _require_free_address()
    _require_redis()
    _require_migrated_database()
    os.execvp(sys.executable, _granian_args(workers))  # noqa: S606 - replaces this process with granian


@cli.command("worker", help=_lazy("Run the arq worker."))
def worker_command() -> None:
    _require_redis()
    _require_migrated_database()
    os.execvp(sys.executable, _worker_args())  # noqa: S606 - replaces this process with the worker


def _require_redis() -> None:
    """`serve` and `worker` share a Redis the operator runs: without one, or with one that does not answer, one
    line says so, where each granian worker used to fail with a traceback until granian gave up on a crash loop,
    and the worker with a traceback of its own."""
    url = get_settings().redis_url
    if url is None:
        message = _("REDIS_URL is not set: serve and worker need the Redis they share (run starts its own).")
        raise click.ClickException(message)
    if reason := _redis_unreachable(url):
        raise click.ClickException(
            _("REDIS_URL cannot be reached (%(reason)s): start that Redis, or correct REDIS_URL.", reason=reason)
        )


def _require_free_address() -> None:
    settings = get_settings()
    ensure_address_free(settings.host, settings.port)


def _redis_unreachable(url: str) -> str | None:
    """Why the Redis of `url` does not answer; None when it does. For `run` on the operator's Redis, one that did
    not was a 92-line traceback from the demo's seeding."""
    try:
        with Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5) as client:
            client.ping()
    except RedisError as error:
        return str(error) or type(error).__name__
    return None


def _prepare_data_dir(data_dir: Path) -> None:
    try:
        opened = create_data_dir(data_dir)
    except SettingError as error:
        raise click.ClickException(_setting_message(error)) from None
    if opened:  # an operator who opened it on purpose should hear that it is closed again
        click.echo(
            _("The data directory %(path)s was open to other users; now only its owner can read it.", path=data_dir)
        )


@cli.command(
    "run",
    help=_lazy(
        "Migrate, seed the demo organization, and serve with a worker (embedded Redis if REDIS_URL is unset), "
        "each started again if it dies."
    ),
)
def run_command() -> None:
    settings = get_settings()
    _stop_on_signals()
    # `make run` killed (with SIGKILL, say) leaves `run` without a parent: it stops then, as on a SIGTERM, where it
    # served on with all its children.
    die_with_parent()
    embedded = None
    servers: list[Child] = []
    _prepare_data_dir(settings.data_dir)
    with data_directory_lock(settings.data_dir):
        _require_free_address()
        try:
            if settings.redis_url is None:
                embedded = EmbeddedRedis(settings.data_dir / "redis", persistent=True)
                os.environ["REDIS_URL"] = embedded.start()
                reset_settings()
            elif reason := _redis_unreachable(settings.redis_url):
                message = _(
                    "REDIS_URL cannot be reached (%(reason)s): start that Redis, or unset REDIS_URL.", reason=reason
                )
                raise click.ClickException(message)
            with _database_errors("DATABASE_OWNER_URL"):
                migrate()
            _print_demo(_seeded_demo())
            servers = [
                Child(_("The web server"), lambda: spawn(_granian_args(1))),
                Child(_("The worker"), lambda: _start_worker(embedded)),
            ]
            supervise([*servers, *([_redis_child(embedded)] if embedded is not None else [])])
        except GaveUpError as error:
            raise click.ClickException(_("%(name)s keeps stopping: Lantern stops.", name=str(error))) from None
        finally:
            _stop(servers, embedded)


def _start_worker(embedded: EmbeddedRedis | None) -> subprocess.Popen[bytes]:
    """The worker; on the embedded Redis, the only one, so the claims a worker killed before it left on its
    jobs are let go (see `release_claims`): its jobs run again now."""
    if embedded is not None:
        try:
            release_claims(embedded.url)
        except RedisError as error:  # refusing writes (a full disk): the worker waits for it, the claims expire
            message = _("Redis kept the claims on running jobs (%(reason)s): they expire by themselves.", reason=error)
            click.echo(message, err=True)
    return spawn(_worker_args())


def _stop(servers: list[Child], embedded: EmbeddedRedis | None) -> None:
    """The web server and the worker first, and the embedded Redis once they are gone: the worker finishes its
    running jobs, which need Redis to the end (stopped together, they were cut off with connection errors), for
    as long as the worker lets them, and a little more for its own stop."""
    _ignore_stop_signals()
    running = [server.process for server in servers if server.process is not None]
    stop_children(running, timeout=get_settings().worker_stop_seconds + WORKER_STOP_MARGIN_SECONDS)
    if embedded is not None:
        embedded.stop()


def _redis_child(embedded: EmbeddedRedis) -> Child:
    """The embedded Redis, started already; started again on its port and append-only file if it dies."""

    def restart() -> subprocess.Popen[bytes]:
        embedded.start()
        assert embedded.process is not None  # noqa: S101 - start() made it
        return embedded.process

    return Child(_("Redis"), restart, process=embedded.process)


def _stop_on_signals() -> None:
    """Ctrl-C or SIGTERM leaves whatever step is running, and its `finally` stops the children; installed first
    so that no step can leave children behind.

    The handler runs in the main thread between two of its steps, wherever it was, so it takes no lock: one that
    thread held then (waiting on a `threading.Event`, say), or that the handler held itself when a second signal
    came during the first's (`kill` of `make run`'s process group, which make passes on), would never be released,
    and `run` would hang stopping nothing. Further signals are ignored from the first on: none cuts the stop short.
    """

    def request_stop(_signum: int, _frame: object) -> None:
        _ignore_stop_signals()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _granian_args(workers: int) -> list[str]:
    settings = get_settings()
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(workers),
        "--no-ws",
        "--respawn-failed-workers",  # a web worker that dies is replaced; the server goes on
        "--log-config",  # granian's own lines as JSON, like the app's
        str(LIBRARY_LOGGING_FILE),
        "--log-level",
        settings.log_level.lower(),
        "app.asgi:create_app",
    ]


def _worker_args() -> list[str]:
    return [sys.executable, "-m", "workers"]  # arq's worker, every line of it JSON like the app's


def _seeded_demo() -> dict[str, str]:
    return asyncio.run(seed_demo())  # its reports are written in the language its lines are printed in


def _print_demo(demo: dict[str, str]) -> None:
    click.echo(_("Demo organization: %(name)s", name=demo["organization"]))
    if demo["password"]:
        click.echo(_("Log in at %(url)s/ as %(email)s with password %(password)s", **demo))
    else:
        click.echo(_("Log in at %(url)s/ as %(email)s with the password you chose for it", **demo))
    if demo["api_key"]:  # none once the team deleted the demo project (or revoked its every key)
        click.echo(_("Widget API key of the demo project: %(key)s", key=demo["api_key"]))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
