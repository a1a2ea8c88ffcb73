"""`python -m workers`, which `python -m app.cli worker` runs: the arq worker of workers/main.py (`MainWorker`,
whose side workers stop with it at SIGTERM) with every line it writes a JSON object, arq's own and an uncaught
error's too (`arq workers.main.WorkerSettings` writes an error that stops the worker, such as a Redis that went
away, as a plain-text traceback)."""

from __future__ import annotations

import logging.config

from app.lib.logging import LIBRARY_LOGGING, configure_logging
from app.settings import get_settings
from workers.main import MainWorker, worker_settings


def main() -> None:
    logging.config.dictConfig(LIBRARY_LOGGING)
    configure_logging(get_settings().log_level)
    MainWorker(**worker_settings()).run()


main()
