"""Stores written before migrations existed: the migrations adopt their tables as they are."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.adapters.migrations import applied_versions, available, migrate
from registry.adapters.sql import Database, SqliteDatabase, open_database
from registry.application.settings import Settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy_v1" / "registry.sqlite.gz"

# What the previous release's constructors created (UserStore, CredentialArchive, AuditLog,
# Database.check_writable), verbatim; the vault's and the tree's are in the SQLite fixture.
PREVIOUS_RELEASE_DDL = (
    "CREATE TABLE IF NOT EXISTS api_users ( name TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " actor_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,"
    " revoked_at TEXT)",
    "CREATE TABLE IF NOT EXISTS api_issued_credentials ( serial TEXT PRIMARY KEY,"
    " registration_id TEXT NOT NULL, credential TEXT NOT NULL, issued_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_tracking (name TEXT PRIMARY KEY,"
    " position BIGINT NOT NULL, tree_size BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit_unauthenticated (leaf_index BIGINT PRIMARY KEY,"
    " notification_id BIGINT NOT NULL, originator_id TEXT NOT NULL,"
    " originator_version BIGINT NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ops_write_probe (id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)",
)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    try:
        yield database
    finally:
        database.close()


def test_the_first_release_store_is_adopted(tmp_path: Path) -> None:
    store = tmp_path / "registry.sqlite"
    with gzip.open(FIXTURE) as src, store.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    db = SqliteDatabase(str(store))
    try:
        counts = {
            table: db.query(f"SELECT COUNT(*) FROM {table}")[0][0]
            for table in ("subject_keys", "audit_merkle_nodes", "audit_leaves", "stored_events")
        }
        tracking = db.query("SELECT name, position, tree_size FROM audit_tracking")
        assert all(counts.values()) and tracking
        assert migrate(db) == available("sqlite")
        assert migrate(db) == []
        for table, count in counts.items():
            assert db.query(f"SELECT COUNT(*) FROM {table}")[0][0] == count, table
        assert db.query("SELECT name, position, tree_size FROM audit_tracking") == tracking
        assert db.query("SELECT COUNT(*) FROM audit_unauthenticated") == [(0,)]  # new table
    finally:
        db.close()


def test_tables_made_by_the_previous_release_keep_their_rows(db: Database) -> None:
    with db.transaction() as cur:
        for statement in PREVIOUS_RELEASE_DDL:
            cur.execute(statement)
        cur.execute(
            "INSERT INTO api_users VALUES ('alice', 'registrar', 'alice', 'digest', 'then', NULL)"
        )
        cur.execute("INSERT INTO api_issued_credentials VALUES ('S1', 'R1', 'HC1:...', 'then')")
        cur.execute("INSERT INTO audit_tracking VALUES ('merkle_tree', 41, 40)")
    assert [m.version for m in migrate(db)] == [m.version for m in available(db.dialect)]
    assert applied_versions(db)[-1][0] == len(available(db.dialect))
    assert db.query("SELECT name, actor_id FROM api_users") == [("alice", "alice")]
    assert db.query("SELECT serial FROM api_issued_credentials") == [("S1",)]
    assert db.query("SELECT position, tree_size FROM audit_tracking") == [(41, 40)]
