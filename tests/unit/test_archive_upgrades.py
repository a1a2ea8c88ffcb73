"""An organization archive of an older version is read in this version's form of data: every migration since the
first archives says what it does to an archive's rows, and the import runs those steps after the archive's revision,
in their order, on each row as it reads it. (tests/integration/test_migrations.py imports an archive written at the
first archived revision as exporting the database migrated since gives.)"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.domain.transfer.archive import FILES_PROGRESS, KIND_LABELS, KINDS, MANIFEST
from app.domain.transfer.importing import ArchiveRefusedError, archived_rows, read_manifest
from app.domain.transfer.upgrades import (
    ARCHIVE_STEPS,
    FIRST_ARCHIVED_REVISION,
    ArchiveStep,
    ArchiveUpgrade,
    archive_upgrade,
    archived_revisions,
)
from app.lib.revisions import current_revision, revisions_after

_KIND_NAMES = {kind.name for kind in KINDS}


def test_every_migration_since_the_first_archives_says_what_it_does_to_their_rows() -> None:
    """A new migration is declared in app/domain/transfer/upgrades.py's ARCHIVE_STEPS: None if it changes no value
    an archive holds (a table or a column with its default), else the step that does to an archive's rows what it
    does to the tables'. Undeclared, the archives written before it would be imported in the form it changed."""
    assert list(ARCHIVE_STEPS) == revisions_after(FIRST_ARCHIVED_REVISION), (
        "declare each migration in ARCHIVE_STEPS (app/domain/transfer/upgrades.py), in order: its archive step, or "
        "None when it changes no row an archive holds"
    )
    for revision, step in ARCHIVE_STEPS.items():
        assert set(step or {}) <= _KIND_NAMES, f"{revision}'s archive step names a kind no archive holds"


def _seen(revision: str) -> Any:
    def step(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "seen": [*row["seen"], revision]}

    return step


def test_an_archives_rows_take_the_steps_after_its_revision_in_the_order_migrate_runs_them() -> None:
    first, second = revisions_after(FIRST_ARCHIVED_REVISION)[:2]
    none: dict[str, ArchiveStep | None] = dict.fromkeys(revisions_after(FIRST_ARCHIVED_REVISION))  # test steps only
    steps = {
        **none,
        second: {"reports": _seen(second)},
        first: {"reports": _seen(first), "projects": _seen(first)},
    }
    row = {"seen": []}

    assert archive_upgrade(FIRST_ARCHIVED_REVISION, steps).row("reports", row) == {"seen": [first, second]}
    assert archive_upgrade(FIRST_ARCHIVED_REVISION, steps).row("projects", row) == {"seen": [first]}
    assert archive_upgrade(first, steps).row("reports", row) == {"seen": [second]}
    assert archive_upgrade(first, steps).row("projects", row) == row
    assert archive_upgrade(current_revision(), steps).row("reports", row) == row
    assert row == {"seen": []}  # a step makes a row of its own


def test_rows_are_brought_up_to_date_one_at_a_time_as_they_are_read(tmp_path: Path) -> None:
    """Streamed, as the import reads an archive: a row is taken through its steps before the next is read."""
    [reports] = [kind for kind in KINDS if kind.name == "reports"]
    path = tmp_path / "org.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(reports.file, "".join(json.dumps({"n": n, "seen": []}) + "\n" for n in range(3)))
    stepped: list[int] = []

    def step(row: dict[str, Any]) -> dict[str, Any]:
        stepped.append(row["n"])
        return {**row, "seen": ["step"]}

    with zipfile.ZipFile(path) as archive:
        rows = archived_rows(archive, reports, ArchiveUpgrade({"reports": (step,)}))
        assert next(rows).values == {"n": 0, "seen": ["step"]}
        assert stepped == [0]
        assert [row.values["n"] for row in rows] == [1, 2]
    assert stepped == [0, 1, 2]


def _archive_at(path: Path, revision: str) -> zipfile.ZipFile:
    manifest = {
        "formatVersion": 1,
        "revision": revision,
        "organization": {"id": "0195f0a0-0000-7000-8000-000000000000", "name": "X", "slug": "x"},
        "counts": {},
        "createdAt": "2026-12-05T12:00:00+00:00",
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
    return zipfile.ZipFile(path)


def test_an_archive_of_any_revision_since_the_first_archives_is_read_and_an_earlier_one_is_refused(
    tmp_path: Path,
) -> None:
    """No Lantern wrote an archive before the export came, nor could its rows be brought up to date (no step is
    declared for the migrations before it): a manifest that names such a revision is no archive of Lantern's."""
    known = ["0001", *revisions_after("0001")]
    assert archived_revisions()[0] == FIRST_ARCHIVED_REVISION
    for revision in archived_revisions():
        with _archive_at(tmp_path / f"{revision}.zip", revision) as archive:
            assert read_manifest(archive, known).revision == revision
    for revision in ("0001", "0030"):
        with (
            _archive_at(tmp_path / f"{revision}.zip", revision) as archive,
            pytest.raises(ArchiveRefusedError, match="not an organization archive of Lantern"),
        ):
            read_manifest(archive, known)


def test_the_operators_commands_name_every_kind_of_record_in_their_language() -> None:
    """A kind added to the archive is named in the export's and import's progress lines, not by its file."""
    assert set(KIND_LABELS) == _KIND_NAMES | {FILES_PROGRESS}
