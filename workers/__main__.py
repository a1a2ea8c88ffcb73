"""`python -m workers`, which `python -m app.cli worker` runs: the arq worker of workers/main.py (`MainWorker`,
whose side workers stop with it at SIGTERM) with every line it writes a JSON object, arq's own and an uncaught
error's too (`arq workers.main.WorkerSettings` writes an error that stops the worker, such as a Redis that went
away, as a plain-text traceback)."""

from __future__ import annotations

import logging.config
import sys

import structlog

from app.lib.logging import LIBRARY_LOGGING, configure_logging
from app.lib.redis import in_cause_chain, redis_unavailable
from app.settings import get_settings
from workers.main import MainWorker, worker_settings


def main() -> None:
    logging.config.dictConfig(LIBRARY_LOGGING)
    configure_logging(get_settings().log_level)
    try:
        MainWorker(**worker_settings()).run()
    except Exception as error:
        if not _redis_cannot_serve(error):
            raise
        # Redis went away (restarted, say): one line says so, where an uncaught traceback was logged as critical;
        # whatever runs the worker (make run, a pod's restart policy) starts it again, and the sweeper queues again
        # what the queue lost.
        structlog.get_logger().error("redis cannot serve: the worker stops", error=repr(error))
        sys.exit(1)


def _redis_cannot_serve(error: BaseException) -> bool:
    """Whether Redis failing is what ended the worker: arq raises it as it is, or as what it led to (a watched
    key's `WatchError` raised for a lost connection)."""
    return in_cause_chain(error, redis_unavailable)


main()
