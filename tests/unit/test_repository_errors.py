"""A repository's failed statement answers for what it is: a broken constraint is the client's conflict, a
locked database is the server's trouble (advanced-alchemy reports both as an integrity error).

Real parts: SQLite files, one connection holding the write lock as another writer would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from advanced_alchemy.exceptions import IntegrityError, wrap_sqlalchemy_exception
from litestar.testing import RequestFactory
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, create_engine, event, insert

from app.lib.errors import ErrorCode, repository_error

NAMES = Table("names", MetaData(), Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    database = create_engine(f"sqlite:///{tmp_path / 'names.db'}", connect_args={"timeout": 0})
    NAMES.metadata.create_all(database)
    yield database
    database.dispose()


def failed_insert(engine: Engine) -> IntegrityError:
    """What a repository raises when its insert of the name "busy" fails."""
    with (
        pytest.raises(IntegrityError) as raised,
        wrap_sqlalchemy_exception(dialect_name="sqlite"),
        engine.begin() as connection,
    ):
        connection.execute(insert(NAMES).values(name="busy"))
    return raised.value


def test_a_broken_constraint_is_a_conflict(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(NAMES).values(name="busy"))
    error = repository_error(RequestFactory().post("/api/v1/auth/signup"), failed_insert(engine))
    assert error.code is ErrorCode.CONFLICT


def test_a_locked_database_is_the_servers_trouble_not_a_conflict(engine: Engine) -> None:
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer's open transaction
        error = repository_error(RequestFactory().post("/api/v1/auth/signup"), failed_insert(engine))
    finally:
        holder.close()
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE


def test_a_row_whose_referent_was_deleted_meanwhile_is_not_found(tmp_path: Path) -> None:
    """A foreign key broken by a deletion that came between a request's checks and its insert: what it adds to no
    longer exists (it answered 409 Conflict)."""
    tables = MetaData()
    Table("project", tables, Column("id", Integer, primary_key=True))
    comments = Table(
        "comment", tables, Column("id", Integer, primary_key=True), Column("project_id", ForeignKey("project.id"))
    )
    database = create_engine(f"sqlite:///{tmp_path / 'comments.db'}")
    event.listen(database, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=ON"))
    tables.create_all(database)
    try:
        with (
            pytest.raises(IntegrityError) as raised,
            wrap_sqlalchemy_exception(dialect_name="sqlite"),
            database.begin() as connection,
        ):
            connection.execute(insert(comments).values(project_id=1))  # the project is gone
    finally:
        database.dispose()
    error = repository_error(RequestFactory().post("/api/v1/reports/SHOP-1/comments"), raised.value)
    assert error.code is ErrorCode.NOT_FOUND
