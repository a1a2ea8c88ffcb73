"""The arq worker as a real separate process (`python -m app.cli worker`), for tests that kill it.

    async with worker_process() as worker:   # started, and polling the queue when this returns
        ...
        worker.kill()                        # SIGKILL: dies mid-job, nothing cleaned up
        await worker.restart()               # a fresh process, polling again
        worker.terminate()                   # SIGTERM: arq's graceful stop
    # leaving the block always stops the process (SIGTERM, then SIGKILL) — even after a failure

The process inherits this process's environment (tests/conftest.py `embedded_services` has put
DATABASE_URL, REDIS_URL and LANTERN_DATA_DIR there), plus `env`. It is "polling" once it has written arq's
health-check key, which it does on its first poll of the queue, after its startup hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from arq.constants import default_queue_name, health_check_key_suffix
from redis.asyncio import Redis

from tests.support.environment import environment
from tests.support.logs import json_lines

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 60.0
STOP_SECONDS = 30.0
JOB_END_SECONDS = 15.0
HEALTH_CHECK_KEY = default_queue_name + health_check_key_suffix


class WorkerProcess:
    """One `python -m app.cli worker` process at a time; its output goes to `log_path`."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(tempfile.mkstemp(prefix="lantern-worker-", suffix=".log")[1])
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._live().pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def output(self) -> str:
        """What the worker logged so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace")

    async def job_ended(self, job: str, within: float = JOB_END_SECONDS) -> dict[str, Any]:
        """arq's line that tells how the job (`<job id>:<function>`, or a part of it) ended: done (`●`) or failed
        (`!`). arq writes it at INFO: start the worker with LANTERN_LOG_LEVEL=INFO. Fails the test after `within`
        seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in json_lines(self.output()):
                # A job that returned nothing ends its line with the mark.
                if job in line["event"] and (" ● " in f"{line['event']} " or " ! " in line["event"]):
                    return line
            await asyncio.sleep(0.05)
        msg = f"{job} did not end within {within} s:\n{self.output()}"
        raise AssertionError(msg)

    async def start(self) -> None:
        """Start the worker and return once it polls the queue."""
        if self.running:
            msg = "the worker process is already running"
            raise RuntimeError(msg)
        redis = Redis.from_url(self.env["REDIS_URL"])
        try:
            # A dead worker's key lives on for a few seconds: only a key written after this start counts.
            await redis.delete(HEALTH_CHECK_KEY)
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            await self._wait_polling(redis)
        finally:
            await redis.aclose()

    async def restart(self) -> None:
        """A fresh process after `kill()` or `terminate()`."""
        self.stop()
        await self.start()

    def kill(self) -> int:
        """SIGKILL, as an OOM killer or a lost node would: returns once the process is gone."""
        return self._signal(signal.SIGKILL, STOP_SECONDS)

    def terminate(self, timeout: float = STOP_SECONDS) -> int:
        """SIGTERM (arq stops taking jobs and lets running ones finish); SIGKILL after `timeout` seconds."""
        try:
            return self._signal(signal.SIGTERM, timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def stop(self) -> None:
        """Stop it if it still runs (SIGTERM, then SIGKILL): safe to call at any time."""
        if self.running:
            self.terminate()

    async def _wait_polling(self, redis: Redis) -> None:
        for _ in range(int(READY_SECONDS / 0.05)):
            if not self.running:
                msg = f"the worker exited with status {self.returncode}:\n{self.output()}"
                raise RuntimeError(msg)
            if await redis.exists(HEALTH_CHECK_KEY):
                return
            await asyncio.sleep(0.05)
        self.stop()
        msg = f"the worker did not start polling within {READY_SECONDS:.0f} s:\n{self.output()}"
        raise RuntimeError(msg)

    def _signal(self, signum: signal.Signals, timeout: float) -> int:
        process = self._live()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)  # the whole group: `app.cli worker` execs arq in place
        return process.wait(timeout=timeout)

    def _live(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            msg = "the worker process was never started"
            raise RuntimeError(msg)
        return self._process


@asynccontextmanager
async def worker_process(env: Mapping[str, str] | None = None) -> AsyncIterator[WorkerProcess]:
    """A started, polling worker process, always stopped when the block is left."""
    worker = WorkerProcess(env)
    try:
        await worker.start()
        with environment(LANTERN_TRACKING_WAIT_MS=None):  # the default wait: a worker will answer
            yield worker
    finally:
        worker.stop()
        worker.log_path.unlink(missing_ok=True)
