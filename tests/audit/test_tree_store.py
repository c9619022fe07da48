"""The persistent tree must agree with the pure RFC 9162 functions on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.adapters.migrations import available
from registry.adapters.sql import Database, PostgresDatabase, SqliteDatabase
from registry.audit import tree_store
from registry.audit.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    consistency_proof_ranges,
    inclusion_path_ranges,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from registry.audit.tree_store import (
    MerkleTreeStore,
    TreeSizeConflictError,
    TreeStoreError,
    fold_right,
    range_nodes,
)


def make_leaves(seed: int, size: int) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(size)]


def create_tree_table(database: Database, prefix: str) -> None:
    """The node table exactly as migration 0004 makes ``audit_merkle_nodes``, renamed."""
    audit = next(m for m in available(database.dialect) if m.name == "audit")
    ddl = next(s for s in audit.statements if "audit_merkle_nodes" in s)
    database.execute(ddl.replace("audit_merkle_nodes", f"{prefix}merkle_nodes"))


@dataclass
class Db:
    """One database of either kind, handing out stores with unique table prefixes."""

    kind: str
    target: str
    prefixes: list[str] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)

    def new_prefix(self) -> str:
        prefix = f"t{uuid.uuid4().hex[:12]}_"
        self.prefixes.append(prefix)
        return prefix

    def database(self) -> Database:
        """A database adapter of its own (its own connections), waiting 0.2 s for locks."""
        database: Database
        if self.kind == "sqlite":
            database = SqliteDatabase(self.target, timeout=0.2)
        else:
            database = PostgresDatabase(self.target)
        self.databases.append(database)
        return database

    def store(self, prefix: str | None = None, database: Database | None = None) -> MerkleTreeStore:
        """A store on a new table (no prefix given) or on an existing prefix's table."""
        database = database or self.database()
        if prefix is None:
            prefix = self.new_prefix()
            create_tree_table(database, prefix)
        return MerkleTreeStore(database, prefix=prefix)

    def nodes(self, store: MerkleTreeStore) -> list[tuple[int, int, bytes]]:
        rows = self.database().query(
            f"SELECT level, idx, hash FROM {store.table_name} ORDER BY level, idx"
        )
        return [(int(level), int(idx), bytes(value)) for level, idx, value in rows]

    def close(self) -> None:
        for database in self.databases:
            database.close()
        if self.kind == "postgres":
            with psycopg.connect(self.target, autocommit=True) as connection:
                for prefix in self.prefixes:
                    connection.execute(f"DROP TABLE IF EXISTS {prefix}merkle_nodes")
                    connection.execute(f"DROP TABLE IF EXISTS {prefix}positions")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        database = Db("sqlite", str(tmp_path / "tree.sqlite"))
    else:
        database = Db("postgres", request.getfixturevalue("postgres_dsn"))
    try:
        yield database
    finally:
        database.close()


# --- Agreement with the pure functions -----------------------------------------------------


def test_roots_and_proofs_match_pure_functions(db: Db) -> None:
    rng = random.Random(9162)
    leaves = make_leaves(1, 300)
    store = db.store()
    assert store.size() == 0
    assert store.root() == EMPTY_ROOT
    appended = 0
    while appended < len(leaves):
        batch = leaves[appended : appended + rng.randint(1, 40)]
        assert store.append(batch) == appended + len(batch)
        appended += len(batch)
        assert store.size() == appended
        assert store.root() == root_hash(leaves[:appended])

    for size in range(len(leaves) + 1):
        assert store.root(size) == root_hash(leaves[:size]), size
    for _ in range(300):
        size = rng.randint(1, len(leaves))
        index = rng.randrange(size)
        proof = store.inclusion_proof(index, size)
        assert proof == inclusion_proof(leaves[:size], index)
        verify_inclusion(leaves[index], index, size, proof, store.root(size))
    for _ in range(300):
        new = rng.randint(0, len(leaves))
        old = rng.randint(0, new)
        proof = store.consistency_proof(old, new)
        assert proof == consistency_proof(leaves[:new], old)
        verify_consistency(old, new, store.root(old), store.root(new), proof)
    for index in range(len(leaves)):
        assert store.leaf_hash(index) == leaves[index]


def test_every_proof_of_a_small_tree_matches(db: Db) -> None:
    leaves = make_leaves(2, 33)
    store = db.store()
    store.append(leaves)
    for size in range(1, len(leaves) + 1):
        for index in range(size):
            assert store.inclusion_proof(index, size) == inclusion_proof(leaves[:size], index)
        for old in range(size + 1):
            assert store.consistency_proof(old, size) == consistency_proof(leaves[:size], old)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 70), min_size=1, max_size=8), st.integers(0, 2**32))
def test_random_batchings_on_sqlite(batches: list[int], seed: int) -> None:
    leaves = make_leaves(seed, sum(batches))
    database = SqliteDatabase(":memory:")
    try:
        create_tree_table(database, "audit_")
        store = MerkleTreeStore(database)
        start = 0
        for length in batches:
            store.append(leaves[start : start + length])
            start += length
            assert store.root() == root_hash(leaves[:start])
        size = len(leaves)
        rng = random.Random(seed)
        index, old = rng.randrange(size), rng.randint(0, size)
        assert store.inclusion_proof(index, size) == inclusion_proof(leaves, index)
        assert store.consistency_proof(old, size) == consistency_proof(leaves, old)
    finally:
        database.close()


def test_batches_and_single_appends_store_identical_nodes(db: Db) -> None:
    leaves = make_leaves(3, 130)
    one_by_one, batched = db.store(), db.store()
    for value in leaves:
        one_by_one.append([value])
    start = 0
    for length in (1, 2, 3, 64, 60):
        batched.append(leaves[start : start + length])
        start += length
    nodes = db.nodes(one_by_one)
    assert nodes == db.nodes(batched)
    # Exactly one node per complete subtree: floor(n / 2**level) at each level.
    expected = [(lv, i) for lv in range(8) for i in range(len(leaves) >> lv)]
    assert [(level, idx) for level, idx, _ in nodes] == expected


def test_past_roots_survive_appends_and_reopening(db: Db) -> None:
    leaves = make_leaves(4, 90)
    store = db.store()
    prefix = db.prefixes[-1]
    roots = {}
    for start in range(0, 60, 7):
        store.append(leaves[start : min(start + 7, 60)])
        roots[store.size()] = store.root()
    reopened = db.store(prefix)  # on connections of its own
    assert reopened.size() == 60
    reopened.append(leaves[60:])
    for size, root in roots.items():
        assert reopened.root(size) == root == root_hash(leaves[:size])
    assert reopened.root() == root_hash(leaves)


# --- Argument checking ---------------------------------------------------------------------


def test_requests_beyond_the_tree_are_refused(db: Db) -> None:
    store = db.store()
    store.append(make_leaves(5, 10))
    with pytest.raises(ValueError):
        store.root(11)
    with pytest.raises(ValueError):
        store.root(-1)
    with pytest.raises(ValueError):
        store.inclusion_proof(3, 11)
    with pytest.raises(ValueError):
        store.inclusion_proof(10, 10)
    with pytest.raises(ValueError):
        store.consistency_proof(4, 11)
    with pytest.raises(ValueError):
        store.consistency_proof(6, 5)
    with pytest.raises(IndexError):
        store.leaf_hash(10)
    with pytest.raises(ValueError):
        store.append([b"\x00" * 31])
    assert store.size() == 10


@pytest.mark.parametrize("prefix", ["1x", "a-b", "x; DROP TABLE y", "a b"])
def test_unsafe_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        MerkleTreeStore(SqliteDatabase(":memory:"), prefix=prefix)


def test_an_unknown_dialect_is_refused() -> None:
    database = SqliteDatabase(":memory:")
    database.dialect = "oracle"
    with pytest.raises(TreeStoreError):
        MerkleTreeStore(database)


def test_range_nodes_refuses_unaligned_ranges() -> None:
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError):
        range_nodes(2, 6)
    with pytest.raises(ValueError):
        range_nodes(3, 3)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_rfc_range_folds_to_its_mth(size: int, data: st.DataObject) -> None:
    leaves = make_leaves(size, size)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    ranges = [(0, size), *inclusion_path_ranges(index, size), *consistency_proof_ranges(old, size)]
    for lo, hi in ranges:
        nodes = range_nodes(lo, hi)
        hashes = [root_hash(leaves[i << lv : (i + 1) << lv]) for lv, i in nodes]
        assert fold_right(hashes) == root_hash(leaves[lo:hi])


# --- Transactions and concurrency ----------------------------------------------------------


class Rollback(Exception):
    """Raised inside a transaction to roll it back."""


def test_append_in_joins_the_callers_transaction(db: Db) -> None:
    leaves = make_leaves(6, 8)
    database = db.database()
    store = db.store(database=database)
    positions = store.table_name.replace("merkle_nodes", "positions")
    database.execute(f"CREATE TABLE {positions} (position BIGINT PRIMARY KEY)")
    observer = db.store(prefix=db.prefixes[-1])

    with pytest.raises(Rollback), database.transaction() as cursor:
        cursor.execute(f"INSERT INTO {positions} VALUES (0)")
        assert store.append_in(cursor, leaves[:5], expected_size=0) == 5
        assert observer.size() == 0  # not visible outside the transaction yet
        raise Rollback
    assert store.size() == 0
    assert database.query(f"SELECT COUNT(*) FROM {positions}") == [(0,)]

    with database.transaction() as cursor:
        cursor.execute(f"INSERT INTO {positions} VALUES (0)")
        assert store.append_in(cursor, leaves[:5], expected_size=0) == 5
    assert observer.size() == 5
    assert observer.root() == root_hash(leaves[:5])


def test_expected_size_mismatch_writes_nothing(db: Db) -> None:
    leaves = make_leaves(7, 6)
    database = db.database()
    store = db.store(database=database)
    store.append(leaves[:3])
    with pytest.raises(TreeSizeConflictError), database.transaction() as cursor:
        store.append_in(cursor, leaves[3:], expected_size=2)
    assert store.size() == 3


def test_readers_do_not_wait_for_an_open_append(db: Db) -> None:
    """Reads take a snapshot: an appender holding the write lock does not stall proofs."""
    leaves = make_leaves(8, 4)
    database = db.database()
    store = db.store(database=database)
    store.append(leaves[:2])
    reader = db.store(prefix=db.prefixes[-1])
    with database.transaction() as cursor:
        store.append_in(cursor, leaves[2:])
        assert reader.size() == 2
        assert reader.root() == root_hash(leaves[:2])
    assert reader.root() == root_hash(leaves)


def test_an_appender_with_a_stale_size_fails_loudly(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the cause of a stale view, the primary key must stop a second leaf n."""
    leaves = make_leaves(11, 8)
    store = db.store()
    store.append(leaves[:5])
    session_class = (
        tree_store._SqliteSession if db.kind == "sqlite" else tree_store._PostgresSession
    )
    monkeypatch.setattr(session_class, "leaf_count", lambda self: 3)
    integrity_error = sqlite3.IntegrityError if db.kind == "sqlite" else psycopg.IntegrityError
    with pytest.raises(integrity_error):
        store.append(make_leaves(12, 2))
    monkeypatch.undo()
    assert store.size() == 5
    assert db.nodes(store) == db.nodes(_fresh_copy(db, leaves[:5]))


def _fresh_copy(db: Db, leaves: list[bytes]) -> MerkleTreeStore:
    store = db.store()
    store.append(leaves)
    return store


def test_concurrent_appenders_cannot_fork_the_tree(db: Db) -> None:
    """A holds leaf n uncommitted; B tries to append too. B must fail, never write a fork."""
    leaves = make_leaves(13, 4)
    seed = db.store()
    prefix = db.prefixes[-1]
    seed.append(leaves[:2])
    database_a = db.database()
    store_a = db.store(prefix, database=database_a)
    transaction_a = ExitStack()
    cursor_a = transaction_a.enter_context(database_a.transaction())
    store_a.append_in(cursor_a, [leaves[2]])

    errors: list[BaseException] = []

    def append_b() -> None:
        store_b = db.store(prefix)
        try:
            store_b.append([make_leaves(14, 1)[0]])
        except Exception as exc:
            errors.append(exc)

    if db.kind == "sqlite":
        # SQLite serialises writers: B cannot even start while A holds the write lock.
        append_b()
        transaction_a.close()  # commits
        assert len(errors) == 1
        assert isinstance(errors[0], sqlite3.OperationalError)
    else:
        # PostgreSQL lets B read size 2 and block on A's uncommitted leaf 2; once A commits,
        # B's insert of leaf 2 hits the primary key.
        thread = threading.Thread(target=append_b)
        thread.start()
        _wait_until_blocked_on_a_lock(db.target, store_a.table_name)
        transaction_a.close()  # commits
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert len(errors) == 1
        assert isinstance(errors[0], psycopg.errors.UniqueViolation)
    assert seed.size() == 3
    assert seed.root() == root_hash(leaves[:3])
    assert seed.append([leaves[3]]) == 4
    assert seed.root() == root_hash(leaves)


def _wait_until_blocked_on_a_lock(dsn: str, table: str) -> None:
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as monitor:
        while time.monotonic() < deadline:
            row = monitor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                " AND position(%s in query) > 0",
                (table,),
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError("the second appender never blocked on the first one's leaf")
