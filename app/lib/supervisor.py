"""`make run`'s processes kept alive: a child that dies is started again (a few times a minute at most), none
outlives `run`, and one data directory serves one `run` at a time.

One server on one machine has no other supervisor (no systemd unit, no orchestrator): a worker killed by
the kernel or a crashed Redis would otherwise leave a web server that answers without a queue, or nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import click

from app.lib.i18n import gettext as _

# A child that dies this often within the window is given up on, and `run` stops with an error.
MAX_DEATHS_IN_WINDOW = 5
DEATH_WINDOW_SECONDS = 60.0
# How often `supervise` looks for a child that died.
CHECK_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


class GaveUpError(RuntimeError):
    """A child kept dying: `run` stops rather than serve without it."""


def die_with_parent() -> None:
    """SIGTERM for this process when its parent dies, even by SIGKILL (Linux): in a child, before it runs, so that
    no server outlives `run` and answers beside the next one; and in `run`, so that it outlives no `make run`."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(arguments: list[str]) -> subprocess.Popen[bytes]:
    """A child in a process group of its own: Ctrl-C at the terminal reaches `run` alone, which stops the
    children with SIGTERM (a worker then finishes its jobs instead of cancelling them), and whatever the child
    started itself can be found, and killed, by that group."""
    return subprocess.Popen(arguments, preexec_fn=die_with_parent, start_new_session=True)  # noqa: S603, PLW1509


def kill_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL what is left of a dead child's process group: granian's web workers outlived a granian killed
    with SIGKILL (their parent death signal is not set), and went on answering on its port beside the next one.
    The group's id is not reused while any of its members lives."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def stop_children(processes: list[subprocess.Popen[bytes]], *, timeout: float = 30) -> None:
    """SIGTERM each process, wait for all of them (SIGKILL after `timeout`), then clear their process groups."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        kill_process_group(process)


@dataclass
class Child:
    """A process `supervise` keeps alive; `start` starts it and returns it."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    process: subprocess.Popen[bytes] | None = None
    deaths: list[float] = field(default_factory=list)

    def died(self) -> None:
        """Count a death: the fifth within the window is a `GaveUpError` (counted by its starts, a child started
        more than a minute before was given up on at its sixth)."""
        now = time.monotonic()
        self.deaths = [*(moment for moment in self.deaths if now - moment < DEATH_WINDOW_SECONDS), now]
        if len(self.deaths) >= MAX_DEATHS_IN_WINDOW:
            raise GaveUpError(self.name)


def supervise(children: list[Child]) -> None:
    """Start the children not started yet, and each again whenever it dies, until a signal's `SystemExit` ends
    it; `GaveUpError` for one that keeps dying."""
    for child in children:
        if child.process is None:
            child.process = child.start()
    while True:
        time.sleep(CHECK_SECONDS)
        for child in children:
            if child.process is None or (status := child.process.poll()) is None:
                continue
            kill_process_group(child.process)  # before its replacement binds the same port
            child.died()
            message = _(
                "%(name)s stopped unexpectedly (exit status %(status)s): starting it again.",
                name=child.name,
                status=status,
            )
            click.echo(message, err=True)
            child.process = child.start()


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


def ensure_address_free(host: str, port: int) -> None:
    """Stop at once when another program listens on host:port. granian binds with SO_REUSEPORT, so a second
    Lantern on a taken port served beside the first, each answering every other request from its own database;
    another program made granian fail five times over without naming the port. A plain socket (no
    SO_REUSEPORT) cannot bind beside a listener; SO_REUSEADDR lets it bind beside the last run's closed
    connections."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET  # noqa: PLR2004
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            address = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            if error.errno == errno.EADDRINUSE:
                message = _(
                    "%(address)s is in use already: stop the program that listens on it, or set another PORT.",
                    address=address,
                )
            else:  # an address this machine does not have, a port below 1024…
                message = _("Lantern cannot listen on %(address)s: %(reason)s.", address=address, reason=error.strerror)
            raise click.ClickException(message) from None
