"""Where a request's cost goes: CPU time by kind of process during a load, from Linux's /proc.

A benchmark runs alone on its machine (make bench says so), so every process of a kind is counted: the
server's parent and worker processes, every PostgreSQL backend and helper. The load generator is counted
apart, as the children this process waited for (wrk has exited by the time its run is measured).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Kinds by what a process runs: Python processes by the module they run (`python -m …`), others by name.
MODULE_KINDS = {b"granian": "server", b"workers": "worker"}  # `app.cli serve` and `worker` exec these
NAME_KINDS = {"postgres": "postgresql", "redis-server": "redis"}
KINDS = ("server", "worker", "postgresql", "redis", "load")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _kind(process: Path) -> str | None:
    name = (process / "comm").read_text().strip()
    if name in NAME_KINDS:
        return NAME_KINDS[name]
    _interpreter, option, module, *_rest = [*(process / "cmdline").read_bytes().split(b"\0"), b"", b""]
    return MODULE_KINDS.get(module) if option == b"-m" else None


def cpu_seconds() -> dict[str, float]:
    """User + system CPU seconds used so far by the processes of each kind."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = dict.fromkeys(KINDS, 0.0) | {"load": children.ru_utime + children.ru_stime}
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            kind = _kind(process)
            if kind is None:
                continue
            # Fields 14 and 15 (utime, stime) follow the name, which may itself hold spaces and parentheses.
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        spent[kind] += (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
    return spent


@contextmanager
def metered() -> Iterator[dict[str, float]]:
    """Yields a dict that holds, once the block has ended, the CPU seconds each kind spent in it."""
    spent: dict[str, float] = {}
    before = cpu_seconds()
    yield spent
    after = cpu_seconds()
    spent.update({kind: max(0.0, after[kind] - before[kind]) for kind in KINDS})
