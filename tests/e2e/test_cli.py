"""The CLI commands `make run` is made of, run on their own (`migrate` then `seed-demo`, twice), and the
operators' own: `create-admin`, `set-password`."""

from __future__ import annotations

import gettext
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import ColumnElement, Row, insert, make_url, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.cli import cli
from app.domain.reports.models import Report, ReportChange
from app.lib.i18n import SUPPORTED_LOCALES, use_locale
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.lantern_cli import (
    CLI,
    ROOT,
    clean_env,
    parse_demo_login,
    refused_cli,
    run_cli,
    sqlite_rows,
)
from tests.support.environment import environment
from tests.support.server import free_port


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory `migrate` set up, once for this module (each run of it costs seconds)."""
    data_dir = tmp_path_factory.mktemp("migrated") / "lantern-data"
    said = run_cli("migrate", env=clean_env(data_dir, LANG="en_US.UTF-8"))
    [revision] = sqlite_rows(data_dir / "lantern.db", "SELECT version_num FROM alembic_version")
    # It used to say nothing, then "up to date" after it had applied every migration.
    assert f"The database schema was upgraded to revision {revision[0]}." in said, said
    again = run_cli("migrate", env=clean_env(data_dir, LANG="en_US.UTF-8"))
    assert f"The database schema is up to date (revision {revision[0]})." in again, again
    return data_dir


@pytest.fixture
def data_dir(migrated: Path, tmp_path: Path) -> Path:
    """A test's own copy of the migrated data directory."""
    return Path(shutil.copytree(migrated, tmp_path / "lantern-data"))


def test_seed_demo_twice_prints_the_same_login_and_creates_nothing_new(data_dir: Path) -> None:
    """The demo's first reports come once, numbered, in the language of the locale the command runs in."""
    env = clean_env(data_dir, LANG="de_DE.UTF-8")

    first = parse_demo_login(run_cli("seed-demo", env=env))
    database = data_dir / "lantern.db"
    # A team renames the demo project: the next `make run` finds it all the same (it stopped on a conflict).
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE project SET name = 'Our shop'")
    second = parse_demo_login(run_cli("seed-demo", env=env))

    assert second == first
    counts = {
        table: sqlite_rows(database, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - fixed table names
        for table in ("user_account", "organization", "membership", "project", "project_key", "report_comment")
    }
    assert counts == dict.fromkeys(counts, 1)
    reports = sqlite_rows(database, "SELECT tracking_id, status, title FROM report ORDER BY number")
    assert [(tracking_id, status) for tracking_id, status, _title in reports] == [
        ("DEMO-1", "done"),
        ("DEMO-2", "todo"),
        ("DEMO-3", "doing"),
        ("DEMO-4", "new"),
    ]
    assert reports[3][2] == "Der Bezahlen-Button reagiert nicht"
    # No queue without `run`: the screenshot waits for the worker's sweeper.
    assert sqlite_rows(database, "SELECT status, annotated FROM screenshot") == [("pending", 1)]


def test_the_demo_project_is_found_by_the_prefix_it_had_and_not_made_again_once_deleted(data_dir: Path) -> None:
    """It was looked for by its current prefix: a team that had renamed DEMO made the next `make run` create another
    DEMO, which a project's former prefix no longer allows (a conflict); one deleted would come back, its DEMO-1
    a new report where old links lead."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    first = parse_demo_login(run_cli("seed-demo", env=env))
    database = data_dir / "lantern.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE project SET tracking_prefix = 'SHOP'")
    assert parse_demo_login(run_cli("seed-demo", env=env)) == first

    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("DELETE FROM project")
    said = run_cli("seed-demo", env=env)
    assert first.email in said
    assert "Widget API key" not in said
    assert sqlite_rows(database, "SELECT count(*) FROM project") == [(0,)]


def test_create_admin_makes_an_owner_and_with_operator_an_operator_of_the_instance(data_dir: Path) -> None:
    env = clean_env(data_dir)
    for email, flags in (("owner@example.com", []), ("ops@example.com", ["--operator"])):
        run_cli(
            "create-admin", "--email", email, "--password", "correct horse battery", "--organization", email, *flags,
            env=env,
        )  # fmt: skip
    rows = sqlite_rows(data_dir / "lantern.db", "SELECT email, is_superuser FROM user_account ORDER BY email")
    assert rows == [("ops@example.com", 1), ("owner@example.com", 0)]


def test_set_password_gives_an_account_a_new_one_and_refuses_what_it_cannot_do(data_dir: Path) -> None:
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    run_cli(
        "create-admin", "--email", "owner@example.com", "--password", "correct horse battery", "--organization", "Acme",
        env=env,
    )  # fmt: skip
    database = data_dir / "lantern.db"
    query = "SELECT password_hash, password_changed_at FROM user_account"
    [(before, never_changed)] = sqlite_rows(database, query)

    output = run_cli("set-password", "--email", "owner@example.com", "--password", "a new long password", env=env)
    assert "owner@example.com" in output
    [(after, changed_at)] = sqlite_rows(database, query)
    assert (after != before, never_changed, changed_at is not None) == (True, None, True)

    for email, password, said in (
        ("nobody@example.com", "a new long password", "No account has the address nobody@example.com."),
        ("owner@example.com", "short", "A password needs at least 10 characters."),
    ):
        refused = subprocess.run(  # noqa: S603 - our own interpreter and module
            [*CLI, "set-password", "--email", email, "--password", password],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert refused.returncode != 0
        assert said in refused.stderr
    assert sqlite_rows(database, query)[0][0] == after


def test_the_demo_login_is_not_printed_with_a_password_changed_since(data_dir: Path) -> None:
    """`make run` printed the first password after its owner changed it: a login the page refused."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    first = parse_demo_login(run_cli("seed-demo", env=env))
    run_cli("set-password", "--email", first.email, "--password", "a password of my own", env=env)
    again = run_cli("seed-demo", env=env)
    assert first.password not in again
    assert f"as {first.email} with the password you chose for it" in again


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("LANTERN_SIGNUP", "off", "LANTERN_SIGNUP is set to “off”; it takes one of: open, closed."),
        ("PORT", "abc", "PORT is set to “abc”; it takes a port number from 1 to 65535."),
        (
            "LANTERN_SESSION_MAX_AGE",
            "abc",
            "LANTERN_SESSION_MAX_AGE is set to “abc”; it takes a whole number from 1 to 2,147,483,647.",
        ),
        ("LANTERN_COOKIE_SECURE", "ture", "it takes true or false"),
        ("LANTERN_TRUSTED_PROXIES", "10.0.0.0/8,proxy", "it takes IP addresses or networks (CIDR)"),
        ("LANTERN_PUBLIC_URL", "bugs.example.com", "it takes an address that starts with http:// or https://"),
        # Each of these was a traceback, a crash loop or quietly taken:
        ("LANTERN_PUBLIC_URL", "https://bugs.example.com/x?y=1", "without a query (?) or fragment (#)"),
        ("LANTERN_PUBLIC_URL", "http://", "LANTERN_PUBLIC_URL is set to “http://”; it takes an address"),
        ("LANTERN_PUBLIC_URL", "https://[::1", "LANTERN_PUBLIC_URL is set to “https://[::1”; it takes an address"),
        ("LANTERN_PUBLIC_URL", "https://bugs.example.com:99999", "it takes an address that starts with http://"),
        ("DATABASE_URL", "garbage", "DATABASE_URL is set to “garbage”; it takes a URL that starts with sqlite+"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL is set to “localhost:6379”; it takes a URL that starts with redis"),
        # A port out of range or not a number was a traceback; the scheme alone migrated the database the driver
        # picked by the system's user name; a Redis database that is no number was database 0 to the web server.
        ("DATABASE_URL", "postgresql+asyncpg://", "it takes a URL whose port, if it has one, is from 1 to 65535"),
        ("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:99999/x", "whose port, if it has one, is from 1"),
        ("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:abc/x", "whose port, if it has one, is from 1"),
        ("DATABASE_URL", "postgresql+asyncpg://postgres@[::1/x", "whose port, if it has one, is from 1 to 65535"),
        ("DATABASE_URL", "sqlite+aiosqlite://", "names its database: PostgreSQL's by name, SQLite's file"),
        ("DATABASE_OWNER_URL", "sqlite+aiosqlite:///:memory:", "DATABASE_OWNER_URL is set to “sqlite+aiosqlite:"),
        ("REDIS_URL", "redis://127.0.0.1:99999", "REDIS_URL is set to “redis://127.0.0.1:99999”; it takes a URL"),
        ("REDIS_URL", "redis://127.0.0.1:6379/x", "Redis' by number (if any)"),
        # Taken, and refused once used: Redis refused the session's lifetime, and every login was a 500.
        ("LANTERN_SESSION_MAX_AGE", "9" * 27, "it takes a whole number from 1 to 2,147,483,647."),
        ("LANTERN_DATABASE_POOL_SIZE", "9" * 23, "it takes a whole number from 1 to 2,147,483,647."),
        ("HOST", "999.1.1.1", "HOST is set to “999.1.1.1”; it takes an IP address"),
        ("LANTERN_DEFAULT_LOCALE", "xx", "it takes one of: en, zh_Hant_TW, zh_Hans_CN, ja, es, de."),
        ("LANTERN_OUTBOUND_RETRY_SECONDS", "0", "it takes a number from 0.1 to 21,600."),
        ("LANTERN_OUTBOUND_RETRY_SECONDS", "inf", "it takes a number from 0.1 to 21,600."),  # was taken
        ("LANTERN_STORAGE", "s3", "LANTERN_S3_BUCKET is not set; it takes the bucket's name"),
        ("LANTERN_DATA_DIR", "/proc/nonexistent/x", "“/proc/nonexistent/x”; it takes a directory that Lantern can"),
        ("PORT", "99999", "PORT is set to “99999”; it takes a port number from 1 to 65535."),
        ("SMTP_PORT", "70000", "SMTP_PORT is set to “70000”; it takes a port number from 1 to 65535."),
        ("SMTP_PORT", "0", "SMTP_PORT is set to “0”; it takes a port number from 1 to 65535."),
        ("SMTP_FROM", "notanaddress", "SMTP_FROM is set to “notanaddress”; it takes an e-mail address, such as"),
        ("LANTERN_OUTBOUND_TIMEOUT_SECONDS", "0", "it takes a number from 0.1 to 3,600."),
        ("LANTERN_OUTBOUND_TIMEOUT_SECONDS", "inf", "it takes a number from 0.1 to 3,600."),
        ("LANTERN_OUTBOUND_TIMEOUT_SECONDS", "1e308", "it takes a number from 0.1 to 3,600."),
        ("LANTERN_DEFAULT_PROJECT_RATE_LIMIT", "20000", "it takes a whole number from 1 to 10,000."),
        # Below its range, or no number, a setting with a maximum was told "of at least" its minimum alone.
        ("LANTERN_DEFAULT_PROJECT_RATE_LIMIT", "0", "it takes a whole number from 1 to 10,000."),
        (
            "LANTERN_SCREENSHOT_TIMEOUT_SECONDS",
            "0",
            "LANTERN_SCREENSHOT_TIMEOUT_SECONDS is set to “0”; it takes a whole number from 1 to 3,600.",
        ),
        ("LANTERN_SCREENSHOT_TIMEOUT_SECONDS", "-5", "it takes a whole number from 1 to 3,600."),
        ("LANTERN_SCREENSHOT_TIMEOUT_SECONDS", "a minute", "it takes a whole number from 1 to 3,600."),
        ("LANTERN_SCREENSHOT_TIMEOUT_SECONDS", "86400", "it takes a whole number from 1 to 3,600."),
        ("LANTERN_S3_ENDPOINT_URL", "notaurl", "it takes an address that starts with http:// or https://"),
        ("LANTERN_S3_ENDPOINT_URL", "http://", "it takes an address that starts with http:// or https://"),
        # The key is not repeated in the line: a log would keep it.
        ("LANTERN_SECRET_KEY", "abc", "LANTERN_SECRET_KEY is set to “…”; it takes a random secret of at least 16"),
    ],
)
def test_a_mistyped_setting_stops_a_command_with_a_line_that_names_it(variable: str, value: str, said: str) -> None:
    """`LANTERN_SIGNUP=off` left sign-up open, `PORT=abc` was a 35-line traceback, and a trusted proxy that is
    no address made every login a 500 once serving. (In this process: the line comes before any command runs.)"""
    # Without a secret key, the data directory is made for the one generated into it.
    values = {"LANTERN_S3_BUCKET": None, "LANTERN_SECRET_KEY": None, variable: value}
    with environment(LANG="en_US.UTF-8", LC_ALL=None, LC_MESSAGES=None, **values):
        refused = CliRunner().invoke(cli, ["migrate"])
    assert refused.exit_code == 1, refused.output
    assert said in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_a_commands_help_is_shown_whatever_the_settings() -> None:
    """`PORT=abc … migrate --help` answered with the PORT's line, where `--help` alone showed the help."""
    with environment(LANG="en_US.UTF-8", LC_ALL=None, LC_MESSAGES=None, PORT="abc"):
        shown = CliRunner().invoke(cli, ["migrate", "--help"])
        refused = CliRunner().invoke(cli, ["migrate"])
    assert shown.exit_code == 0, shown.output
    assert "Upgrade the database schema" in shown.output
    assert refused.exit_code == 1
    assert "PORT is set to “abc”" in refused.output


def test_a_setting_below_its_range_is_told_the_range_in_the_readers_language() -> None:
    """It was told "mindestens 1", and not that 3,600 is the most it takes."""
    with environment(LANG="de_DE.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANTERN_SCREENSHOT_TIMEOUT_SECONDS="0"):
        refused = CliRunner().invoke(cli, ["migrate"])
    assert refused.exit_code == 1
    assert "LANTERN_SCREENSHOT_TIMEOUT_SECONDS" in refused.output
    assert "eine ganze Zahl von 1 bis 3.600" in refused.output


def test_the_settings_line_is_in_the_readers_language() -> None:
    with environment(LANG="de_DE.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANTERN_SIGNUP="off"):
        refused = CliRunner().invoke(cli, ["migrate"])
    assert refused.exit_code == 1
    assert "LANTERN_SIGNUP" in refused.output
    assert "open, closed" in refused.output
    assert "it takes" not in refused.output


# What `--help` says, and what `export-organization --help` says, in each language: phrases that fit on one line.
_HELP_IN = {
    "en": (
        ["Usage: python -m app.cli [OPTIONS] COMMAND [ARGS]...", "Lantern: self-hostable", "Commands:", "Show this"],
        [
            "export-organization [OPTIONS] ORGANIZATION ARCHIVE",
            "(ORGANIZATION: its id",
            "--overwrite  replace a file already at ARCHIVE",
            "Options:",
        ],
    ),
    "de": (
        [
            "Aufruf: python -m app.cli [OPTIONEN] BEFEHL [ARGUMENTE]...",
            "Lantern: selbst hostbare",
            "Befehle:",
            "Diese Hilfe anzeigen und beenden.",
        ],
        [
            "export-organization [OPTIONEN] ORGANISATION ARCHIV",
            "(ORGANISATION: ihre ID",
            "--overwrite  eine bereits unter ARCHIV vorhandene Datei ersetzen",
            "Optionen:",
        ],
    ),
    "ja": (
        [
            "使い方： python -m app.cli [オプション] コマンド [引数]...",  # noqa: RUF001 - Japanese punctuation
            "Lantern：セルフホストできる",  # noqa: RUF001
            "コマンド：",  # noqa: RUF001
            "このメッセージを表示して終了します。",
        ],
        [
            "export-organization [オプション] 組織 アーカイブ",
            "組織のすべてのレコードと保存済みファイルを",
            "（組織：その",  # noqa: RUF001
            "--overwrite  アーカイブに既存のファイルがあれば置き換える",
            "オプション：",  # noqa: RUF001
        ],
    ),
    "zh_Hant_TW": (
        [
            "用法： python -m app.cli [選項] 命令 [參數]...",  # noqa: RUF001 - Chinese punctuation
            "Lantern：可自行託管",  # noqa: RUF001
            "命令：",  # noqa: RUF001
            "顯示此訊息並結束。",
        ],
        [
            "export-organization [選項] 組織 封存檔",
            "將組織的所有記錄和已儲存檔案",
            "（組織：其",  # noqa: RUF001
            "--overwrite  取代封存檔處已有的檔案",
            "選項：",  # noqa: RUF001
        ],
    ),
}


@pytest.mark.parametrize(
    ("lang", "locale"),
    [("de_DE.UTF-8", "de"), ("ja_JP.UTF-8", "ja"), ("zh_TW.UTF-8", "zh_Hant_TW"), ("C", "en"), ("C.UTF-8", "en")],
)
def test_help_is_in_the_operators_language(lang: str, locale: str, tmp_path: Path) -> None:
    """It was English under any LANG: the commands' and options' descriptions, and click's own words around them
    (zh_TW names a catalog that Python's gettext, which click's words go through, would not find by itself)."""
    env = clean_env(tmp_path, LANG=lang, LC_ALL="", LC_MESSAGES="", LANGUAGE="")
    # Read as a reader reads it: Chinese and Japanese lines break between any two characters, with no space.
    group, export = (
        re.sub(r"(?<=[^\x00-\x7f])\n *(?=[^\x00-\x7f])", "", run_cli(*arguments, env=env))
        for arguments in (["--help"], ["export-organization", "--help"])
    )
    expected_group, expected_export = _HELP_IN[locale]
    assert [phrase for phrase in expected_group if phrase not in group] == [], group
    assert [phrase for phrase in expected_export if phrase not in export] == [], export
    others = [phrase for other, phrases in _HELP_IN.items() if other != locale for phrase in [*phrases[0], *phrases[1]]]
    assert [phrase for phrase in others if phrase in group + export] == [], group + export


def _terminal_columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1 for char in line)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_help_fits_an_80_column_terminal_in_every_language(locale: str) -> None:
    """Click measured a Chinese or Japanese character as one column (it takes two) and broke lines only at spaces,
    which those languages do not put between words: Japanese help ran to 128 columns, the list of commands to 117.
    Every line of every help now fits, and none starts with closing punctuation."""
    with environment(LANG=f"{locale}.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANGUAGE=None):
        # Click's runner lays help out for 80 columns, as a terminal that wide.
        helps = [CliRunner().invoke(cli, [*command, "--help"]) for command in ([], *([name] for name in cli.commands))]
    assert [shown.exit_code for shown in helps] == [0] * len(helps)
    lines = [line for shown in helps for line in shown.output.splitlines()]
    assert [line for line in lines if _terminal_columns(line) > 80] == []
    assert [line for line in lines if line.strip()[:1] in {"。", "、", "，", "）", "："}] == []  # noqa: RUF001
    # A heading's colon is the language's, as the usage line's is (Japanese wrote a full-width one after 使い方, and
    # an ASCII one after オプション).
    if locale in {"ja", "zh_Hant_TW", "zh_Hans_CN"}:
        assert [line for line in lines if line.endswith(":")] == [], lines


def test_a_password_asked_for_when_left_out_is_not_marked_required() -> None:
    """`--password` said `[required]` and, beside it, that left out it is asked for: only the second is so."""
    with environment(LANG="en_US.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANGUAGE=None):
        helps = [CliRunner().invoke(cli, [command, "--help"]).output for command in ("create-admin", "set-password")]
    for shown in helps:
        options = {part.split()[0]: part for part in re.split(r"\n  (?=--)", shown)[1:]}
        assert "[required]" in options["--email"], shown
        assert "[required]" not in options["--password"], shown


def test_every_value_a_command_takes_is_named_in_the_operators_language() -> None:
    """Click names a value by its type (`--email TEXT`, `--workers INTEGER RANGE`), an argument by its parameter
    (`ARCHIVE`), and what the usage line leaves open as `[OPTIONS]` and `COMMAND [ARGS]...`: English in every
    language. Each is a name of ours now, read in the operator's language (Japanese: no name is English there)."""

    def names() -> dict[str, str]:
        context = click.Context(cli, info_name="cli")
        found = {"[OPTIONS]": cli.options_metavar or "", "COMMAND [ARGS]...": cli.subcommand_metavar}
        for name, command in cli.commands.items():
            found[f"{name} [OPTIONS]"] = command.options_metavar or ""
            for parameter in command.params:
                if not getattr(parameter, "is_flag", False):
                    found[f"{name} {parameter.name}"] = parameter.make_metavar(context)
        return found

    with use_locale("en"):
        english = names()
    with use_locale("ja"):
        japanese = names()
    assert {english[name] for name in ("[OPTIONS]", "export-organization archive", "serve workers")} == {
        "[OPTIONS]",
        "ARCHIVE",
        "NUMBER",
    }
    assert [name for name, text in english.items() if japanese[name] == text or text.isascii() != text.isupper()] == []


def test_every_commands_and_options_help_is_translated() -> None:
    """A help written as a plain string (a docstring, say), or an option's help declared without `cls=_Option`
    (read once, at import), would stay English: each reads otherwise in German. Every option has one (create-admin's
    and set-password's --email, --password, … had none: nothing said what they took)."""

    def helps() -> dict[str, str | None]:
        found = {}
        for name, command in {"(the command line)": cli, **cli.commands}.items():
            found[name] = command.help
            for option in command.params:
                if isinstance(option, click.Option):
                    found[f"{name} {option.opts[0]}"] = option.help
        return found

    with use_locale("en"):
        english = helps()
    with use_locale("de"):
        german = helps()
    assert len(english) > len(cli.commands)
    assert [name for name, text in english.items() if not text or german[name] == text] == []


def test_clicks_own_errors_are_in_the_operators_language(tmp_path: Path) -> None:
    """A command line wrongly used was told so in English ("Error: Invalid value for '--workers'", "File '…' does not
    exist."), whatever LANG said. The run leaves this process's gettext as it found it."""
    missing = tmp_path / "missing.zip"
    with environment(LANG="de_DE.UTF-8", LC_ALL=None, LC_MESSAGES=None, LANGUAGE=None):
        too_many = CliRunner().invoke(cli, ["serve", "--workers", "1000"])
        not_there = CliRunner().invoke(cli, ["import-organization", str(missing)])
        assert "LANGUAGE" not in os.environ
        assert gettext.gettext("Usage:") == "Usage:"
    assert too_many.exit_code == 2, too_many.output
    assert "Aufruf: cli serve [OPTIONEN]" in too_many.output
    assert "Fehler: Ungültiger Wert für '--workers': 1000 liegt nicht im Bereich 1<=x<=64." in too_many.output
    assert not_there.exit_code == 2, not_there.output
    assert f"Ungültiger Wert für 'ARCHIV': Datei '{missing}' existiert nicht." in not_there.output


def test_create_admin_keeps_the_password_rule_and_says_when_the_address_is_taken(data_dir: Path) -> None:
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    command = [*CLI, "create-admin", "--email", "owner@example.com", "--organization", "Acme", "--password"]
    short = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*command, "short"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert short.returncode != 0
    assert "A password needs at least 10 characters." in short.stderr
    run_cli(*command[len(CLI) :], "correct horse battery", env=env)
    taken = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*command, "correct horse battery"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert taken.returncode == 1
    assert "Traceback" not in taken.stderr
    assert sqlite_rows(data_dir / "lantern.db", "SELECT email FROM user_account") == [("owner@example.com",)]


def test_a_password_piped_to_a_command_is_read_without_the_terminals_warnings(data_dir: Path) -> None:
    """`printf 'pw\\n' | … set-password` printed Python's "GetPassWarning" with its file's path and "Warning: Password
    input may be echoed." in English, twice, in every language."""
    env = clean_env(data_dir, LANG="de_DE.UTF-8")
    command = [*CLI, "create-admin", "--email", "piped@example.com", "--organization", "Acme"]
    created = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, env=env, input="correct horse battery\n", capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "Warning" not in created.stderr + created.stdout
    assert "piped@example.com" in created.stdout
    changed = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*CLI, "set-password", "--email", "piped@example.com"], cwd=ROOT, env=env,
        input="a new long password\na new long password\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert "Warning" not in changed.stderr + changed.stdout


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--email", "notanemail"], "Invalid value for '--email': Must be an e-mail address, such as name@"),
        (["--organization", ""], "Invalid value for '--organization': This field is required."),
        (["--organization", "A" * 201], "Invalid value for '--organization': Must be at most 200 characters long."),
        (["--name", "two\nlines"], "Invalid value for '--name': Must be one line of text, not blank."),
    ],
)
def test_create_admin_checks_what_sign_up_checks(data_dir: Path, options: list[str], said: str) -> None:
    """Each of these was created: an owner "notanemail", an organization of no name or 201 characters, a name on
    two lines. The API's sign-up refused them all."""
    values = {"--email": "owner@example.com", "--organization": "Acme", "--password": "correct horse battery"}
    values.update(zip(options[::2], options[1::2], strict=True))
    refused = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*CLI, "create-admin", *(part for pair in values.items() for part in pair)],
        cwd=ROOT, env=clean_env(data_dir, LANG="en_US.UTF-8"), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert said in refused.stderr
    assert sqlite_rows(data_dir / "lantern.db", "SELECT email FROM user_account") == []


def test_serve_and_worker_without_redis_say_so_in_one_line(data_dir: Path) -> None:
    env = clean_env(data_dir, LANG="en_US.UTF-8", PORT=str(free_port()))  # REDIS_URL left out, as any setting
    for command in ("serve", "worker"):
        said = refused_cli(command, env=env)
        assert "REDIS_URL is not set: serve and worker need the Redis they share" in said


def test_serve_and_worker_with_a_redis_that_does_not_answer_say_so_in_one_line(data_dir: Path) -> None:
    """The worker ended in a traceback of arq's connection retries."""
    env = clean_env(data_dir, LANG="en_US.UTF-8", REDIS_URL=f"redis://127.0.0.1:{free_port()}", PORT=str(free_port()))
    for command in ("serve", "worker"):
        said = refused_cli(command, env=env)
        assert "REDIS_URL cannot be reached (" in said
        assert "): start that Redis, or correct REDIS_URL." in said


def test_every_command_on_a_database_not_migrated_says_to_migrate_first(
    tmp_path: Path, embedded_services: dict[str, str]
) -> None:
    """seed-demo on a fresh database was a traceback about a missing table; so were the others."""
    redis, port = embedded_services["REDIS_URL"], str(free_port())
    env = clean_env(tmp_path / "lantern-data", LANG="en_US.UTF-8", REDIS_URL=redis, PORT=port)
    account = ["--email", "owner@example.com", "--password", "correct horse battery"]
    for command in (
        ["seed-demo"],
        ["create-admin", *account, "--organization", "Acme"],
        ["set-password", *account],
        ["reindex-search"],
        ["serve"],
        ["worker"],
    ):
        said = refused_cli(*command, env=env)
        assert said == "Error: The database has no schema yet: run python -m app.cli migrate first.", command
    in_german = refused_cli("seed-demo", env={**env, "LANG": "de_DE.UTF-8"})
    assert "python -m app.cli migrate" in in_german
    assert "The database" not in in_german


def test_every_command_on_a_database_at_a_newer_revision_works_and_says_so(data_dir: Path) -> None:
    """An older version's process on a schema a newer one migrated (a rollout's old pods restarting, or after
    `helm rollback`) ended in alembic's "Can't locate revision" traceback, where docs/deploy.md says it starts.
    seed-demo takes the check serve and worker take before they start."""
    database = data_dir / "lantern.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    said = run_cli("seed-demo", env=clean_env(data_dir, LANG="en_US.UTF-8"))
    assert "The database schema is at revision 9999, newer than this version knows" in said, said
    assert parse_demo_login(said)


def test_migrate_on_a_database_at_a_newer_revision_changes_nothing_and_says_so(data_dir: Path) -> None:
    """During a rolling upgrade an older version's migrate step (an old pod's) can run after the newer version
    migrated: it stopped with alembic's "Can't locate revision" traceback, where serve and worker start."""
    database = data_dir / "lantern.db"
    [(newest,)] = sqlite_rows(database, "SELECT version_num FROM alembic_version")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    said = run_cli("migrate", env=clean_env(data_dir, LANG="en_US.UTF-8"))
    in_german = run_cli("migrate", env=clean_env(data_dir, LANG="de_DE.UTF-8"))
    assert said == (
        f"The database schema is at revision 9999, newer than this version knows (its newest is {newest}): "
        "nothing was changed.\n"
    ), said
    assert in_german == (
        f"Das Datenbankschema ist auf Revision 9999, neuer als diese Version kennt (ihre neueste ist {newest}): "
        "Es wurde nichts geändert.\n"
    ), in_german
    assert sqlite_rows(database, "SELECT version_num FROM alembic_version") == [("9999",)]


def test_a_database_that_does_not_answer_is_named_in_one_line(data_dir: Path) -> None:
    unreachable = f"postgresql+asyncpg://lantern@127.0.0.1:{free_port()}/lantern"
    env = clean_env(data_dir, LANG="en_US.UTF-8", DATABASE_URL=unreachable)
    said = refused_cli("migrate", env=env)
    # DATABASE_URL's stands in for DATABASE_OWNER_URL, which is not set: the line named that one.
    assert said.startswith("Error: The database of DATABASE_URL cannot be used (")
    assert said.endswith("): start it, or correct DATABASE_URL.")
    said = refused_cli("migrate", env={**env, "DATABASE_OWNER_URL": unreachable})
    assert said.endswith("): start it, or correct DATABASE_OWNER_URL.")
    said = refused_cli("seed-demo", env=env)
    assert said.endswith("): start it, or correct DATABASE_URL.")


async def test_a_role_over_its_connection_limit_is_told_to_raise_it_not_to_start_the_database(
    is_postgres: bool, tmp_path: Path
) -> None:
    """PostgreSQL refusing a connection as "too many connections for role" was told to start the database or
    correct DATABASE_URL, both right already. (PostgreSQL: SQLite has no roles.)"""
    if not is_postgres:
        pytest.skip("SQLite has no roles")
    role = f"lantern_limited_{secrets.token_hex(4)}"
    owner = create_async_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    async with owner.connect() as connection:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
    try:
        limited = make_url(os.environ["TEST_DATABASE_URL"]).set(username=role, password=None)
        env = clean_env(tmp_path / "lantern-data", LANG="en_US.UTF-8", DATABASE_URL=limited.render_as_string())
        said = refused_cli("seed-demo", env=env)
    finally:
        async with owner.connect() as connection:
            await connection.execute(text(f"DROP ROLE {role}"))
        await owner.dispose()
    reason = f'too many connections for role "{role}"'
    assert said.startswith(f"Error: The database of DATABASE_URL takes no more connections ({reason}): raise the")
    assert said.endswith("or lower LANTERN_DATABASE_POOL_SIZE or the number of Lantern processes.")


async def test_migrate_as_the_apps_own_role_says_to_use_the_owner(is_postgres: bool, tmp_path: Path) -> None:
    """Without DATABASE_OWNER_URL, migrate ran as the app's role, which owns nothing: a traceback about a
    permission. (PostgreSQL: SQLite has no roles.)"""
    if not is_postgres:
        pytest.skip("SQLite has no roles")
    owner, app_role = await create_postgres_database(os.environ["TEST_DATABASE_URL"])
    try:
        env = clean_env(tmp_path / "lantern-data", LANG="en_US.UTF-8", DATABASE_URL=app_role)
        said = refused_cli("migrate", env=env)
    finally:
        await drop_postgres_database(os.environ["TEST_DATABASE_URL"], str(make_url(owner).database))
    assert said.startswith("Error: The role of DATABASE_OWNER_URL may not change the schema (permission denied")
    assert said.endswith("set DATABASE_OWNER_URL to its URL (unset, it is DATABASE_URL's).")
    # A database the server does not have: the driver's error came before SQLAlchemy's, as a traceback of its own.
    absent = make_url(app_role).set(database="lantern_absent").render_as_string(hide_password=False)
    said = refused_cli("seed-demo", env={**env, "DATABASE_URL": absent})
    assert said.startswith('Error: The database of DATABASE_URL cannot be used (database "lantern_absent" does not')


def test_going_back_past_internal_notes_is_refused_while_there_are_some(data_dir: Path) -> None:
    """Before revision 0019 every comment is everyone's: the documented rollback showed the team's internal notes
    to guests, and upgrading again left them readable for good."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    run_cli("seed-demo", env=env)  # the demo report has a comment
    database = data_dir / "lantern.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE report_comment SET internal = 1")
    downgrade = [sys.executable, "-m", "alembic", "downgrade", "0018"]
    refused = subprocess.run(downgrade, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert refused.returncode != 0
    assert "1 internal notes would become comments every guest reads" in refused.stderr, refused.stderr
    assert sqlite_rows(database, "SELECT internal FROM report_comment") == [(1,)]  # nothing was changed

    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM report_comment WHERE internal")
    gone_back = subprocess.run(downgrade, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert gone_back.returncode == 0, gone_back.stderr
    assert sqlite_rows(database, "SELECT version_num FROM alembic_version") == [("0018",)]


def test_upgrading_keeps_each_stored_tag_once_and_finds_it_in_any_case(data_dir: Path) -> None:
    """Revision 0026: tags stored before it in several spellings of one (full-width "Ui", " ui ", "UI") become
    the first of them, trimmed and composed, with the keys the tag filter reads."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    run_cli("seed-demo", env=env)
    database = data_dir / "lantern.db"

    def alembic(*command: str) -> None:
        done = subprocess.run([sys.executable, "-m", "alembic", *command], cwd=ROOT, env=env, check=False)  # noqa: S603
        assert done.returncode == 0

    alembic("downgrade", "0025")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE report SET tags = ?", (json.dumps(["\uff35\uff49", " ui ", "UI", "Cafe\u0301 "]),))
    alembic("upgrade", "head")
    stored = sqlite_rows(database, "SELECT DISTINCT tags, tag_keys FROM report")
    assert [(json.loads(tags), json.loads(keys)) for tags, keys in stored] == [
        (["Café", "\uff35\uff49"], ["café", "ui"])
    ]


def test_upgrading_gives_the_widgets_main_colour_one_value(data_dir: Path) -> None:
    """Revision 0027: a project whose two names of the main colour had drifted apart keeps the one its widget
    drew with (`primaryColor`) under both."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    run_cli("seed-demo", env=env)
    database = data_dir / "lantern.db"
    downgrade = [sys.executable, "-m", "alembic", "downgrade", "0026"]
    went_back = subprocess.run(downgrade, cwd=ROOT, env=env, check=False)  # noqa: S603
    assert went_back.returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE project SET widget_config = json_set(widget_config, '$.primaryColor', '#112233', "
            "'$.brandingPrimaryColor', '#445566')"
        )
    run_cli("migrate", env=env)
    stored = sqlite_rows(
        database,
        "SELECT DISTINCT json_extract(widget_config, '$.primaryColor'), "
        "json_extract(widget_config, '$.brandingPrimaryColor') FROM project",
    )
    assert stored == [("#112233", "#112233")]


def test_upgrading_keeps_addresses_in_the_form_a_login_finds_them_by(data_dir: Path) -> None:
    """Revision 0028: an address kept in full-width letters (as sign-up stored one typed so) is kept as the
    ASCII one a login types, and its domain's xn-- labels in their letters."""
    env = clean_env(data_dir, LANG="en_US.UTF-8")
    run_cli("seed-demo", env=env)
    database = data_dir / "lantern.db"
    downgrade = [sys.executable, "-m", "alembic", "downgrade", "0027"]
    went_back = subprocess.run(downgrade, cwd=ROOT, env=env, check=False)  # noqa: S603
    assert went_back.returncode == 0
    full_width = "".join(chr(ord(letter) + 0xFEE0) for letter in "owner")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE user_account SET email = ?", (f"{full_width}@xn--r8jz45g.jp",))
    run_cli("migrate", env=env)
    assert sqlite_rows(database, "SELECT email FROM user_account") == [("owner@\u4f8b\u3048.jp",)]


async def test_reports_already_closed_take_when_they_were_closed_from_their_history(
    is_postgres: bool, data_dir: Path
) -> None:
    """Migration 0030 gives the reports closed before it their `closed_at`: the latest change of their history
    that moved them into the closed column, or, with none, when they were last changed; any other report none."""
    env, owner = clean_env(data_dir, LANG="en_US.UTF-8"), f"sqlite+aiosqlite:///{data_dir / 'lantern.db'}"
    if is_postgres:
        owner, app_role = await create_postgres_database(os.environ["TEST_DATABASE_URL"])
        env = {**env, "DATABASE_URL": app_role, "DATABASE_OWNER_URL": owner}
        run_cli("migrate", env=env)
    try:
        run_cli("seed-demo", env=env)
        downgrade = [sys.executable, "-m", "alembic", "downgrade", "0029"]
        gone_back = subprocess.run(downgrade, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        assert gone_back.returncode == 0, gone_back.stderr
        await _closed_before_0030(owner)
        run_cli("migrate", env=env)
        closed = await _closed_at(owner)
    finally:
        if is_postgres:
            await drop_postgres_database(os.environ["TEST_DATABASE_URL"], str(make_url(owner).database))
    assert closed["DEMO-1"][0] == datetime(2026, 1, 3, tzinfo=UTC)  # closed again after it was reopened
    assert closed["DEMO-2"][0] == closed["DEMO-2"][1]  # no history: when it was last changed
    assert (closed["DEMO-3"][0], closed["DEMO-4"][0]) == (None, None)  # closed once, but not any more; never


_REPORT, _CHANGE = Report.__table__, ReportChange.__table__


async def _closed_before_0030(database_url: str) -> None:
    """DEMO-1 and DEMO-2 closed, DEMO-1 closed, reopened and closed again by its history, DEMO-3 closed and
    reopened (it stays in doing)."""
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        reports = await _demo_reports(connection)
        closing = [reports["DEMO-1"].id, reports["DEMO-2"].id]
        await connection.execute(update(_REPORT).where(_REPORT.c.id.in_(closing)).values(status="closed", status_id=5))
        moves = [
            ("DEMO-1", 1, ["done", "closed"]),
            ("DEMO-1", 2, ["closed", "todo"]),
            ("DEMO-1", 3, ["todo", "closed"]),
            ("DEMO-3", 4, ["todo", "closed"]),
            ("DEMO-3", 5, ["closed", "doing"]),
        ]
        await connection.execute(
            insert(_CHANGE),
            [
                {
                    "id": uuid4(),
                    "report_id": reports[tracking_id].id,
                    "organization_id": reports[tracking_id].organization_id,
                    "changes": {"status": status},
                    "created_at": datetime(2026, 1, day, tzinfo=UTC),
                    "updated_at": datetime(2026, 1, day, tzinfo=UTC),
                }
                for tracking_id, day, status in moves
            ],
        )
    await engine.dispose()


async def _demo_reports(connection: AsyncConnection, *columns: ColumnElement[Any]) -> dict[str, Row[Any]]:
    """The demo's reports by the tracking IDs they are given in order (a worker may not have given them yet)."""
    rows = await connection.execute(select(_REPORT.c.id, _REPORT.c.organization_id, *columns).order_by(_REPORT.c.id))
    return {f"DEMO-{number}": row for number, row in enumerate(rows, start=1)}


async def _closed_at(database_url: str) -> dict[str, tuple[datetime | None, datetime]]:
    """Each demo report's (closed_at, updated_at)."""
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        reports = await _demo_reports(connection, _REPORT.c.closed_at, _REPORT.c.updated_at)
    await engine.dispose()
    return {name: (row.closed_at, row.updated_at) for name, row in reports.items()}


def test_serve_takes_a_bounded_number_of_web_workers() -> None:
    """`serve --workers 1000` started a thousand processes of about 110 MB each: the machine ran out of memory."""
    refused = CliRunner().invoke(cli, ["serve", "--workers", "1000"])
    assert refused.exit_code == 2, refused.output
    assert "--workers" in refused.output
    assert "1<=x<=64" in refused.output
