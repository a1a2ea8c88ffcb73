"""The CLI commands `make run` is made of, run on their own: `migrate` then `seed-demo`, twice."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.lantern_cli import clean_env, parse_demo_login, run_cli, sqlite_rows


def test_seed_demo_twice_prints_the_same_login_and_creates_nothing_new(tmp_path: Path) -> None:
    data_dir = tmp_path / "lantern-data"
    env = clean_env(data_dir)
    run_cli("migrate", env=env)

    first = parse_demo_login(run_cli("seed-demo", env=env))
    second = parse_demo_login(run_cli("seed-demo", env=env))

    assert second == first
    database = data_dir / "lantern.db"
    counts = {
        table: sqlite_rows(database, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - fixed table names
        for table in ("user_account", "organization", "membership", "project", "project_key")
    }
    assert counts == dict.fromkeys(counts, 1)


def test_create_admin_makes_an_owner_and_with_operator_an_operator_of_the_instance(tmp_path: Path) -> None:
    data_dir = tmp_path / "lantern-data"
    env = clean_env(data_dir)
    run_cli("migrate", env=env)
    for email, flags in (("owner@example.com", []), ("ops@example.com", ["--operator"])):
        run_cli(
            "create-admin", "--email", email, "--password", "correct horse battery", "--organization", email, *flags,
            env=env,
        )  # fmt: skip
    rows = sqlite_rows(data_dir / "lantern.db", "SELECT email, is_superuser FROM user_account ORDER BY email")
    assert rows == [("ops@example.com", 1), ("owner@example.com", 0)]
