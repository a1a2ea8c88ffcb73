"""Running Lantern's command line the way a newcomer does: a fresh data directory and no configuration.

The pytest process carries the suite's own database and Redis settings (tests/conftest.py), so every child
gets a copy of the environment without them. Children start in their own process group, and whatever is
left of that group is killed when the test ends, passed or failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "app.cli"]

_CONFIGURATION = {
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "TEST_DATABASE_URL",
    "TEST_REDIS_URL",
    "HOST",
    "PORT",
}

# The demo lines are localized (LANG picks the language), so they are parsed by the shape of the values,
# never by the words around them. ASCII classes only: CJK text may touch a value without a space.
_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]/%_~-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_WIDGET_KEY = re.compile(r"\blt_pub_[A-Za-z0-9_-]{20,}")
_PASSWORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{12,}(?![A-Za-z0-9_-])")


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment minus every Lantern setting, plus a data directory and `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _CONFIGURATION and not name.startswith("LANTERN_")
    }
    env["LANTERN_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    widget_key: str


def parse_demo_login(output: str) -> DemoLogin:
    """The login and widget key printed by `_print_demo` in app/cli.py, in whatever language it spoke."""
    keys = set(_WIDGET_KEY.findall(output))
    assert len(keys) == 1, f"expected one widget key (lt_pub_…) in the output:\n{output}"
    login_lines = [line for line in output.splitlines() if _EMAIL.search(_URL.sub(" ", line))]
    assert len(login_lines) == 1, f"expected one line with the demo e-mail address:\n{output}"
    rest = _URL.sub(" ", login_lines[0])
    email = _EMAIL.findall(rest)
    assert len(email) == 1, f"expected one e-mail address on the login line: {login_lines[0]!r}"
    passwords = _PASSWORD.findall(_EMAIL.sub(" ", rest))
    assert len(passwords) == 1, f"expected one password on the login line: {login_lines[0]!r}"
    return DemoLogin(email=email[0], password=passwords[0], widget_key=keys.pop())


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run one CLI command to completion; its combined output, or a failed assertion showing it."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*CLI, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"`app.cli {' '.join(args)}` exited with {result.returncode}:\n{result.stdout}"
    return result.stdout


def refused_cli(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run one CLI command that must stop with one line on stderr and exit code 1, not a traceback; that line."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 1, f"`app.cli {' '.join(args)}` exited with {result.returncode}:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@contextlib.contextmanager
def spawned(args: list[str], *, env: dict[str, str], output: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `args` in its own process group, output to a file (a pipe nobody reads would block it)."""
    with output.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        kill_everything(process)


def descendants(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_everything(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process, its descendants and its process group; a no-op when all are gone already."""
    survivors = descendants(process)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for child in survivors:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    psutil.wait_procs(survivors, timeout=10)


def command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""


def sqlite_rows(database: Path, query: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()
