"""An organization archive written by an older version brought to this version's form of data as its rows are read.

A migration that changes the values of existing rows (tags kept once, addresses in one form), not only the schema,
changes the databases it upgrades, never the archives written before it. Its archive step does to an archive's rows
what it does to a table's: per kind of record, a pure function of one row as the archive holds it (its columns by
name, ids and times as text, JSON as JSON), run on each row as the import reads it, the steps of every migration
after the archive's revision in the order `migrate` runs them. A migration whose change is a function of one row's
values can run the same function on the table's rows (kept here, under its revision's name, and never changed
afterwards: it is what that revision did), so that the database and the archive cannot come out different. A column
added with a default needs no step: the import gives a column the archive lacks its default (see archive.py).

Every migration since archives were first written is declared in `ARCHIVE_STEPS`, with its step or with None when it
changes no row an archive holds; tests/unit/test_archive_upgrades.py fails for one that is not declared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.lib.revisions import revisions_after

RowStep = Callable[[dict[str, Any]], dict[str, Any]]
# What a migration does to an archive's rows: per kind of record (its name in archive.py), its step for a row.
ArchiveStep = Mapping[str, RowStep]

# The revision that the first archives were written at (the export format came with it): none names an earlier one.
FIRST_ARCHIVED_REVISION = "0031"
# Every migration after FIRST_ARCHIVED_REVISION, in order: its archive step, or None when archives hold nothing it
# changes.
ARCHIVE_STEPS: dict[str, ArchiveStep | None] = {
    "0032": None,  # organization_export, a table of its own: no archive holds an organization's exports
    "0033": None,  # outgoing_email and password_reset's e-mail columns: e-mails to send and resets are not archived
}


@dataclass(frozen=True, slots=True)
class ArchiveUpgrade:
    """What the rows of an archive of one revision go through on import: each kind's steps, in revision order."""

    steps: Mapping[str, tuple[RowStep, ...]]

    def row(self, kind: str, row: dict[str, Any]) -> dict[str, Any]:
        """A row of `kind` as the archive holds it, in this version's form."""
        for step in self.steps.get(kind, ()):
            row = step(row)
        return row


def archived_revisions() -> list[str]:
    """The schema revisions an archive may name: the first archives' and every one after it."""
    return [FIRST_ARCHIVED_REVISION, *revisions_after(FIRST_ARCHIVED_REVISION)]


def archive_upgrade(revision: str, steps: Mapping[str, ArchiveStep | None] = ARCHIVE_STEPS) -> ArchiveUpgrade:
    """The upgrade of an archive written at `revision` (one of `archived_revisions()`): the archive steps of the
    migrations after it."""
    by_kind: dict[str, list[RowStep]] = {}
    for later in revisions_after(revision):
        for kind, step in (steps[later] or {}).items():
            by_kind.setdefault(kind, []).append(step)
    return ArchiveUpgrade({kind: tuple(kind_steps) for kind, kind_steps in by_kind.items()})
