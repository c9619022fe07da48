"""The persistent tree must agree with the pure RFC 9162 functions on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

AnyConnection = sqlite3.Connection | psycopg.Connection[Any]


def make_leaves(seed: int, size: int) -> list[bytes]:
    return [leaf_hash(f"{seed}:{i}".encode()) for i in range(size)]


@dataclass
class Db:
    """One database of either kind, handing out stores with unique table prefixes."""

    kind: str
    target: str
    prefixes: list[str] = field(default_factory=list)
    stores: list[MerkleTreeStore] = field(default_factory=list)
    connections: list[AnyConnection] = field(default_factory=list)

    def new_prefix(self) -> str:
        prefix = f"t{uuid.uuid4().hex[:12]}_"
        self.prefixes.append(prefix)
        return prefix

    def store(
        self, prefix: str | None = None, connection: AnyConnection | None = None
    ) -> MerkleTreeStore:
        prefix = self.new_prefix() if prefix is None else prefix
        if self.kind == "sqlite":
            target: Any = self.target if connection is None else connection
            store = MerkleTreeStore.sqlite(target, prefix=prefix, busy_timeout=0.2)
        else:
            target = self.target if connection is None else connection
            store = MerkleTreeStore.postgres(target, prefix=prefix)
        self.stores.append(store)
        return store

    def connect(self) -> AnyConnection:
        """A plain driver connection in the driver's default (transactional) mode."""
        connection: AnyConnection
        if self.kind == "sqlite":
            connection = sqlite3.connect(self.target, timeout=0.2)
        else:
            connection = psycopg.connect(self.target)
        self.connections.append(connection)
        return connection

    def nodes(self, store: MerkleTreeStore) -> list[tuple[int, int, bytes]]:
        connection = self.connect()
        rows = connection.execute(
            f"SELECT level, idx, hash FROM {store.table_name} ORDER BY level, idx"
        ).fetchall()
        connection.rollback()
        return [(int(level), int(idx), bytes(value)) for level, idx, value in rows]

    def close(self) -> None:
        for store in self.stores:
            store.close()
        for connection in self.connections:
            connection.close()
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
    with MerkleTreeStore.sqlite(":memory:") as store:
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
    prefix = db.new_prefix()
    store = db.store(prefix)
    roots = {}
    for start in range(0, 60, 7):
        store.append(leaves[start : min(start + 7, 60)])
        roots[store.size()] = store.root()
    store.close()

    reopened = db.store(prefix)
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
        MerkleTreeStore.sqlite(":memory:", prefix=prefix)


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


def begin(connection: AnyConnection) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute("BEGIN")


def test_append_in_joins_the_callers_transaction(db: Db) -> None:
    leaves = make_leaves(6, 8)
    connection = db.connect()
    store = db.store(connection=connection)
    positions = store.table_name.replace("merkle_nodes", "positions")
    connection.execute(f"CREATE TABLE {positions} (position BIGINT PRIMARY KEY)")
    connection.commit()
    observer = db.store(prefix=db.prefixes[-1])

    begin(connection)
    connection.execute(f"INSERT INTO {positions} VALUES (0)")
    assert store.append_in(connection, leaves[:5], expected_size=0) == 5
    assert observer.size() == 0  # not visible outside the transaction yet
    connection.rollback()
    assert store.size() == 0
    assert connection.execute(f"SELECT COUNT(*) FROM {positions}").fetchone() == (0,)
    connection.rollback()

    begin(connection)
    connection.execute(f"INSERT INTO {positions} VALUES (0)")
    cursor = connection.cursor()
    assert store.append_in(cursor, leaves[:5], expected_size=0) == 5
    connection.commit()
    assert observer.size() == 5
    assert observer.root() == root_hash(leaves[:5])


def test_expected_size_mismatch_writes_nothing(db: Db) -> None:
    leaves = make_leaves(7, 6)
    connection = db.connect()
    store = db.store(connection=connection)
    connection.commit()
    store.append(leaves[:3])
    begin(connection)
    with pytest.raises(TreeSizeConflictError):
        store.append_in(connection, leaves[3:], expected_size=2)
    connection.rollback()
    assert store.size() == 3


def test_append_in_without_a_transaction_is_refused(db: Db) -> None:
    if db.kind == "sqlite":
        connection: AnyConnection = sqlite3.connect(db.target, isolation_level=None)
    else:
        connection = psycopg.connect(db.target, autocommit=True)
    db.connections.append(connection)
    store = db.store(connection=connection)
    with pytest.raises(TreeStoreError):
        store.append_in(connection, make_leaves(8, 2))
    assert store.size() == 0


def test_append_refuses_to_hijack_an_open_transaction(db: Db) -> None:
    connection = db.connect()
    store = db.store(connection=connection)
    connection.commit()
    begin(connection)
    store.append_in(connection, make_leaves(9, 2))
    with pytest.raises(TreeStoreError):
        store.append(make_leaves(9, 1))
    connection.rollback()
    assert store.size() == 0


def test_append_through_the_wrong_driver_is_refused(db: Db) -> None:
    store = db.store()
    with pytest.raises(TypeError):
        store.append_in(object(), make_leaves(10, 1))  # type: ignore[arg-type]
    if db.kind == "postgres":
        with pytest.raises(TypeError):
            store.append_in(sqlite3.connect(":memory:"), make_leaves(10, 1))


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
    prefix = db.new_prefix()
    seed = db.store(prefix)
    seed.append(leaves[:2])
    connection_a = db.connect()
    store_a = db.store(prefix, connection=connection_a)
    begin(connection_a)
    store_a.append_in(connection_a, [leaves[2]])

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
        connection_a.commit()
        assert len(errors) == 1
        assert isinstance(errors[0], sqlite3.OperationalError)
    else:
        # PostgreSQL lets B read size 2 and block on A's uncommitted leaf 2; once A commits,
        # B's insert of leaf 2 hits the primary key.
        thread = threading.Thread(target=append_b)
        thread.start()
        _wait_until_blocked_on_a_lock(db.target, store_a.table_name)
        connection_a.commit()
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
