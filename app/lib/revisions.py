"""The schema revisions this version of Lantern knows, from its migration scripts: the newest is the one `migrate`
upgrades to and the one an organization's archive names as its writer's (the CLI's export and the worker's); those
after an older archive's are the migrations whose archive steps its import applies."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def current_revision() -> str:
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def revisions_after(revision: str) -> list[str]:
    """The revisions after `revision`, up to the newest, in the order `migrate` applies them."""
    later = ScriptDirectory.from_config(alembic_config()).iterate_revisions("heads", revision)
    return [script.revision for script in reversed(list(later))]
