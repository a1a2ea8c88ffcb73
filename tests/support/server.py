"""Lantern served by granian with several worker processes, on the test session's database and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


# Below the kernel's ephemeral range (32768 and up): a port the kernel hands out is also what every outgoing
# connection is given, and the other suite running beside this one took one before a server started on it.
_PORTS_FOR_SERVERS = range(20_000, 32_768)


def free_port() -> int:
    """A loopback port nothing listens on, for a server to be started on it; outside the range outgoing
    connections draw from, so none of them takes it in the meantime."""
    while True:
        port = random.choice(_PORTS_FOR_SERVERS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@asynccontextmanager
async def granian_server(workers: int, output: Path | None = None, **env: str) -> AsyncIterator[str]:
    """Serve the app with `workers` processes; yields its base URL and stops the whole group after. What the
    processes write goes to `output` when given."""
    port = free_port()
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--no-ws",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "app.asgi:create_app",
    ]  # fmt: skip
    with contextlib.ExitStack() as files:
        written = files.enter_context(output.open("wb")) if output is not None else subprocess.DEVNULL
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=written,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(base_url, workers, process)
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _wait_healthy(base_url: str, workers: int, process: subprocess.Popen[bytes]) -> None:
    """Up when /health answers; then a moment for the remaining workers to bind."""
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        for _ in range(STARTUP_SECONDS * 10):
            if process.poll() is not None:
                msg = f"granian exited with status {process.returncode}"
                raise RuntimeError(msg)
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health")).status_code == 200:
                    await asyncio.sleep(0.5 * workers)
                    return
            await asyncio.sleep(0.1)
    msg = "granian did not become healthy"
    raise RuntimeError(msg)
