"""Numbered migrations: applied once, in order, atomically, by every start-up, on both stores."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.adapters.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    MigrationError,
    applied_versions,
    available,
    migrate,
    split_statements,
)
from registry.adapters.sql import Database, open_database
from registry.application.settings import Settings
from registry.bootstrap import open_app

OUR_TABLES = {
    "subject_keys",
    "api_users",
    "api_issued_credentials",
    "audit_merkle_nodes",
    "audit_tracking",
    "audit_leaves",
    "audit_checkpoints",
    "audit_unauthenticated",
    "ops_write_probe",
}


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    try:
        yield database
    finally:
        database.close()


def tables(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = db.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {str(row[0]) for row in rows}


def test_a_fresh_store_gets_every_migration_once_in_order(db: Database) -> None:
    shipped = available(db.dialect)
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    assert migrate(db) == shipped
    assert applied_versions(db) == [(m.version, m.name) for m in shipped]
    assert tables(db) >= OUR_TABLES
    assert db.query("SELECT name, position, tree_size FROM audit_tracking") == [
        ("merkle_tree", 0, 0)
    ]
    assert migrate(db) == []  # idempotent: nothing left, nothing re-run
    assert len(db.query(f"SELECT version FROM {MIGRATIONS_TABLE}")) == len(shipped)


def test_later_migrations_apply_after_earlier_ones_only(db: Database) -> None:
    first = Migration(1, "one", "CREATE TABLE m_one (id INTEGER PRIMARY KEY);")
    second = Migration(2, "two", "CREATE TABLE m_two (id INTEGER REFERENCES m_one (id));")
    third = Migration(
        3, "three", "INSERT INTO m_one (id) VALUES (7);\nINSERT INTO m_two (id) VALUES (7);"
    )
    assert migrate(db, [first]) == [first]
    assert migrate(db, [first, second, third]) == [second, third]
    assert applied_versions(db) == [(1, "one"), (2, "two"), (3, "three")]
    assert db.query("SELECT id FROM m_two") == [(7,)]


def test_a_failing_migration_leaves_nothing_behind(db: Database) -> None:
    good = Migration(1, "good", "CREATE TABLE m_good (id INTEGER PRIMARY KEY);")
    bad = Migration(
        2,
        "bad",
        "CREATE TABLE m_half (id INTEGER);\nINSERT INTO m_missing VALUES (1);\n",
    )
    with pytest.raises(Exception, match=r"(?i)m_missing"):
        migrate(db, [good, bad])
    assert applied_versions(db) == []  # one transaction: not even the good one is recorded
    assert not {"m_good", "m_half"} & tables(db)
    assert migrate(db, [good]) == [good]


def test_an_edited_or_unknown_migration_is_refused(db: Database) -> None:
    original = Migration(1, "one", "CREATE TABLE m_one (id INTEGER PRIMARY KEY);")
    migrate(db, [original])
    edited = Migration(1, "one", "CREATE TABLE m_one (id BIGINT PRIMARY KEY);")
    with pytest.raises(MigrationError, match="changed after this store applied it"):
        migrate(db, [edited])
    with pytest.raises(MigrationError, match="newer release"):
        migrate(db, [])


def test_concurrent_starts_apply_each_migration_once(settings: Settings) -> None:
    """Several runners at once (each its own connections): the lock serialises them, so a
    CREATE TABLE without IF NOT EXISTS runs exactly once and nobody fails."""
    sql = "CREATE TABLE m_race (id INTEGER PRIMARY KEY);"
    if settings.store == "postgres":
        sql += "\nSELECT pg_sleep(0.3);"  # hold the lock while the others arrive
    race = [Migration(1, "race", sql)]
    barrier = threading.Barrier(4)
    results: list[list[Migration]] = []
    errors: list[BaseException] = []

    def start() -> None:
        database = open_database(settings)
        try:
            barrier.wait()
            results.append(migrate(database, race))
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]


_START = """
import sys
from registry.application.settings import Settings
from registry.bootstrap import open_app
open_app(Settings.validated(**dict(a.split("=", 1) for a in sys.argv[1:]))).close()
"""


def test_two_processes_opening_a_new_store_at_once(settings: Settings, tmp_path: Path) -> None:
    fields = settings.model_dump(exclude_none=True)
    args = [f"{name}={value}" for name, value in fields.items()]
    root = Path(__file__).resolve().parents[2]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _START, *args],
            cwd=tmp_path,
            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    database = open_database(settings)
    try:
        shipped = available(database.dialect)
        assert applied_versions(database) == [(m.version, m.name) for m in shipped]
    finally:
        database.close()


def test_open_app_migrates(settings: Settings) -> None:
    app = open_app(settings)
    try:
        assert applied_versions(app.db) == [(m.version, m.name) for m in available(app.db.dialect)]
        app.db.check_writable("2024-03-01T09:00:00+00:00")  # its probe table is migrated
    finally:
        app.close()


def test_the_shipped_migrations_differ_only_where_the_dialects_do() -> None:
    sqlite, postgres = available("sqlite"), available("postgres")
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgres]
    for a, b in zip(sqlite, postgres, strict=True):
        assert len(a.statements) == len(b.statements), a.name


def test_migration_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (id INTEGER);")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (id INTEGER);")
    with pytest.raises(MigrationError, match="0002 is missing"):
        available("sqlite", tmp_path)
    (tmp_path / "0003_c.sql").unlink()
    (tmp_path / "0002_b.sqlite.sql").write_text("CREATE TABLE b (id BLOB);")
    assert [m.name for m in available("sqlite", tmp_path)] == ["a", "b"]
    with pytest.raises(MigrationError, match="no postgres variant"):
        available("postgres", tmp_path)
    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (id BLOB);")
    with pytest.raises(MigrationError, match="both shared and per-dialect"):
        available("sqlite", tmp_path)
    (tmp_path / "README.md").write_text("not a migration")
    (tmp_path / "0002_b.sql").unlink()
    assert len(available("sqlite", tmp_path)) == 2


def test_statements_are_split_at_line_ends_and_comments_dropped() -> None:
    sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\nSELECT 1;  \n"
    assert split_statements(sql) == ["CREATE TABLE a (x TEXT DEFAULT 'a;b')", "SELECT 1"]
