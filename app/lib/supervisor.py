"""`make run`'s processes kept alive: a child that dies is started again (a few times a minute at most), none
outlives `run`, and one data directory serves one `run` at a time.

One server on one machine has no other supervisor (no systemd unit, no orchestrator): a worker killed by
the kernel or a crashed Redis would otherwise leave a web server that answers without a queue, or nothing.
"""

from __future__ import annotations

import ctypes
import fcntl
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import click

from app.lib.i18n import gettext as _

# A child that dies this often within the window is given up on, and `run` stops with an error.
MAX_STARTS_IN_WINDOW = 5
START_WINDOW_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


class GaveUpError(RuntimeError):
    """A child kept dying: `run` stops rather than serve without it."""


def die_with_parent() -> None:
    """In a child, before it runs: SIGTERM when its parent dies, even by SIGKILL (Linux), so that no server
    outlives `run` and answers beside the next one."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(arguments: list[str]) -> subprocess.Popen[bytes]:
    """A child in a process group of its own: Ctrl-C at the terminal reaches `run` alone, which stops the
    children with SIGTERM (a worker then finishes its jobs instead of cancelling them)."""
    return subprocess.Popen(arguments, preexec_fn=die_with_parent, start_new_session=True)  # noqa: S603, PLW1509


@dataclass
class Child:
    """A process `supervise` keeps alive; `start` starts it and returns it."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)

    def run(self) -> None:
        now = time.monotonic()
        self.starts = [moment for moment in self.starts if now - moment < START_WINDOW_SECONDS]
        if len(self.starts) >= MAX_STARTS_IN_WINDOW:
            raise GaveUpError(self.name)
        self.starts.append(now)
        self.process = self.start()


def supervise(children: list[Child], stop: threading.Event) -> None:
    """Start the children not started yet, and each again whenever it dies, until `stop` is set; `GaveUpError`
    for one that keeps dying."""
    for child in children:
        if child.process is None:
            child.run()
    while not stop.wait(0.2):
        for child in children:
            status = child.process.poll() if child.process is not None else None
            if status is not None:
                message = _(
                    "%(name)s stopped unexpectedly (exit status %(status)s): starting it again.",
                    name=child.name,
                    status=status,
                )
                click.echo(message, err=True)
                child.run()


@contextmanager
def data_directory_lock(directory: Path) -> Iterator[IO[str]]:
    """Held while `run` serves from `directory`; a second `run` on it stops at once with a message (two
    servers on one port and one database answer in turns, and their queues write one file)."""
    with (directory / "run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = _("Another Lantern is already running with the data directory %(path)s.", path=directory)
            raise click.ClickException(message) from None
        yield lock
