"""Persistent, append-only RFC 9162 Merkle tree on SQLite or PostgreSQL.

Why this shape: the auditor asks for roots, inclusion proofs and consistency proofs at *past*
checkpoints, and the log only grows.  So the store keeps the hash of every complete subtree in one
table, ``(level, idx, hash)``, where node ``(level, idx)`` covers leaves
``[idx * 2**level, (idx + 1) * 2**level)``.  Such a node never changes once written, so appending
leaf ``n`` inserts the leaf and every parent it completes, and nothing is ever updated.  Every
range a proof needs (see :mod:`registry.audit.merkle`) splits into at most ~log2(n) stored nodes —
an aligned power-of-two range is one node, a ragged right edge is a right fold of a few — so any
root or proof is one indexed query of O(log n) keys, for any past size.

Concurrency: the leaf index is part of the primary key, so two appenders that both believe the
tree has ``n`` leaves collide on leaf ``n`` and one fails with the driver's integrity error instead
of writing a second, conflicting tree.  ``append_in`` runs inside the caller's transaction so the
event log can record its position and the leaf atomically.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol

import psycopg
from psycopg import pq

from registry.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Range,
    consistency_proof_ranges,
    inclusion_path_ranges,
    node_hash,
)

NodeKey = tuple[int, int]
"""``(level, idx)`` of a stored complete subtree."""

NodeRow = tuple[int, int, bytes]

SqliteTarget = str | os.PathLike[str] | sqlite3.Connection
PostgresTarget = str | psycopg.Connection[Any]
ExternalConnection = (
    sqlite3.Connection | sqlite3.Cursor | psycopg.Connection[Any] | psycopg.Cursor[Any]
)

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}\Z")


class TreeStoreError(RuntimeError):
    """The store cannot do what was asked (wrong connection state, or missing nodes)."""


class TreeSizeConflictError(TreeStoreError):
    """The tree did not have the size the appender expected: someone else appended first."""


def range_nodes(lo: int, hi: int) -> list[NodeKey]:
    """Split the leaf range ``[lo, hi)`` into stored nodes, largest (leftmost) first.

    Only ranges produced by the RFC recursion qualify: their ``lo`` is a multiple of a power of
    two at least ``hi - lo``, so greedy largest-power-first pieces are all aligned and their right
    fold is exactly MTH(D[lo:hi]).  Anything else is a caller bug and is refused.
    """
    if not 0 <= lo < hi:
        raise ValueError(f"empty or negative leaf range [{lo}, {hi})")
    keys: list[NodeKey] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo & ((1 << level) - 1):
            raise ValueError(f"leaf range starting at {lo} is not aligned for level {level}")
        keys.append((level, lo >> level))
        lo += 1 << level
    return keys


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine the node hashes of a ragged range the way MTH does: right-heavy."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


class _Session(Protocol):
    """Node-table primitives bound to one connection."""

    def leaf_count(self) -> int: ...

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]: ...

    def insert(self, rows: Sequence[NodeRow]) -> None: ...


class MerkleTreeStore:
    """An append-only Merkle tree whose nodes live in ``<prefix>merkle_nodes``.

    Not thread-safe: share a store between threads only with external locking, or give each
    thread its own store on its own connection.
    """

    def __init__(self, backend: _SqliteBackend | _PostgresBackend) -> None:
        """Prefer :meth:`sqlite` or :meth:`postgres`; they pick and prepare the backend."""
        self._backend = backend
        backend.create_table()

    @classmethod
    def sqlite(
        cls, target: SqliteTarget, *, prefix: str = "audit_", busy_timeout: float = 5.0
    ) -> MerkleTreeStore:
        """Open (or share) a SQLite database.

        A path opens a private connection in autocommit mode, closed by :meth:`close`, that waits
        up to ``busy_timeout`` seconds for another writer; a connection is used as-is and left
        open, so the tree can share the event log's database.
        """
        return cls(_SqliteBackend(target, _table_name(prefix), busy_timeout))

    @classmethod
    def postgres(cls, target: PostgresTarget, *, prefix: str = "audit_") -> MerkleTreeStore:
        """Open (or share) a PostgreSQL database: a DSN opens a private autocommit connection."""
        return cls(_PostgresBackend(target, _table_name(prefix)))

    @property
    def table_name(self) -> str:
        return self._backend.table

    def close(self) -> None:
        """Close the connection if the store opened it; a borrowed one stays open."""
        self._backend.close()

    def __enter__(self) -> MerkleTreeStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def size(self) -> int:
        """Number of leaves appended and visible to this connection."""
        return self._backend.session().leaf_count()

    def leaf_hash(self, index: int) -> bytes:
        if index < 0:
            raise IndexError(f"negative leaf index {index}")
        found = self._backend.session().fetch([(0, index)])
        if (0, index) not in found:
            raise IndexError(f"no leaf {index} in the tree")
        return found[(0, index)]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them) — any past size works."""
        session = self._backend.session()
        if size is None:
            size = session.leaf_count()
        if size < 0:
            raise ValueError(f"negative tree size {size}")
        if size == 0:
            return EMPTY_ROOT
        return self._resolve(session, [(0, size)], size)[0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]), for a checkpoint of ``size`` leaves."""
        return self._resolve(self._backend.session(), inclusion_path_ranges(index, size), size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[new_size]) between two checkpoints."""
        ranges = consistency_proof_ranges(old_size, new_size)
        return self._resolve(self._backend.session(), ranges, new_size)

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append a batch in a transaction of the store's own; return the new size.

        Refuses to run when the connection already has a transaction open, because committing
        someone else's transaction (or silently not committing) would both be surprising: use
        :meth:`append_in` there.
        """
        with self._backend.transaction() as session:
            return _append(session, leaf_hashes, None)

    def append_in(
        self,
        connection: ExternalConnection,
        leaf_hashes: Sequence[bytes],
        *,
        expected_size: int | None = None,
    ) -> int:
        """Append a batch inside the caller's open transaction; the caller commits or rolls back.

        ``expected_size`` lets the caller assert the position it recorded elsewhere (e.g. in the
        event log) is the leaf index the tree assigns; a mismatch raises
        :class:`TreeSizeConflictError` before anything is written.
        """
        return _append(self._backend.session_in(connection), leaf_hashes, expected_size)

    @staticmethod
    def _resolve(session: _Session, ranges: Sequence[Range], size: int) -> list[bytes]:
        """MTH of each range, fetched with one query; also proves ``size`` leaves exist."""
        if size == 0:
            return []  # only the empty proof between empty trees gets here
        plans = [range_nodes(lo, hi) for lo, hi in ranges]
        last_leaf: NodeKey = (0, size - 1)
        wanted = list(dict.fromkeys([last_leaf, *(key for plan in plans for key in plan)]))
        found = session.fetch(wanted)
        if last_leaf not in found:
            raise ValueError(f"the tree has fewer than {size} leaves")
        missing = [key for key in wanted if key not in found]
        if missing:
            raise TreeStoreError(f"node table is missing complete subtrees {missing[:5]}")
        return [fold_right([found[key] for key in plan]) for plan in plans]


def _append(session: _Session, leaf_hashes: Sequence[bytes], expected_size: int | None) -> int:
    """Insert the new leaves and every parent they complete, in one statement batch.

    The right edge of the current tree (one complete subtree per set bit of ``size``) is the
    only state needed to extend it; it is read from the table, never cached, so several stores
    on several connections stay correct.
    """
    for position, value in enumerate(leaf_hashes):
        if len(value) != HASH_SIZE:
            raise ValueError(f"leaf hash {position} is {len(value)} bytes, not {HASH_SIZE}")
    size = session.leaf_count()
    if expected_size is not None and expected_size != size:
        raise TreeSizeConflictError(f"expected the tree to have {expected_size} leaves, has {size}")
    if not leaf_hashes:
        return size
    edge_keys = [
        (level, (size >> level) - 1)
        for level in reversed(range(size.bit_length()))
        if size >> level & 1
    ]
    found = session.fetch(edge_keys)
    if len(found) != len(edge_keys):
        raise TreeStoreError(f"right edge of the size-{size} tree is incomplete")
    stack: list[NodeRow] = [(level, idx, found[(level, idx)]) for level, idx in edge_keys]
    rows: list[NodeRow] = []
    for offset, value in enumerate(leaf_hashes):
        node: NodeRow = (0, size + offset, value)
        rows.append(node)
        while stack and stack[-1][0] == node[0]:
            left = stack.pop()
            node = (node[0] + 1, left[1] >> 1, node_hash(left[2], node[2]))
            rows.append(node)
        stack.append(node)
    session.insert(rows)
    return size + len(leaf_hashes)


def _table_name(prefix: str) -> str:
    # Identifiers cannot be bound as parameters, so the prefix is the one thing interpolated
    # into SQL; restricting it to a plain identifier rules out injection and quoting issues.
    if not _PREFIX.match(prefix) and prefix != "":
        raise ValueError(f"table prefix must be a plain SQL identifier prefix, got {prefix!r}")
    return f"{prefix}merkle_nodes"


class _SqliteSession:
    def __init__(self, connection: sqlite3.Connection, table: str) -> None:
        self._connection = connection
        self._table = table

    def leaf_count(self) -> int:
        row = self._connection.execute(
            f"SELECT MAX(idx) FROM {self._table} WHERE level = 0"
        ).fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        # A join against a VALUES list uses the primary key per probe; the equivalent
        # "(level, idx) IN (VALUES ...)" makes SQLite scan the whole table.
        values = ", ".join(["(?, ?)"] * len(keys))
        sql = (
            f"SELECT n.level, n.idx, n.hash FROM (VALUES {values}) AS k "
            f"JOIN {self._table} AS n ON n.level = k.column1 AND n.idx = k.column2"
        )
        params = [part for key in keys for part in key]
        return {
            (int(level), int(idx)): bytes(value)
            for level, idx, value in self._connection.execute(sql, params)
        }

    def insert(self, rows: Sequence[NodeRow]) -> None:
        self._connection.executemany(
            f"INSERT INTO {self._table} (level, idx, hash) VALUES (?, ?, ?)", rows
        )


class _SqliteBackend:
    def __init__(self, target: SqliteTarget, table: str, busy_timeout: float) -> None:
        self.table = table
        if isinstance(target, sqlite3.Connection):
            self._connection, self._owned = target, False
        else:
            # Autocommit mode: the store issues its own BEGIN IMMEDIATE, so concurrent
            # appenders queue on the write lock instead of failing on a stale snapshot.
            connection = sqlite3.connect(target, isolation_level=None, timeout=busy_timeout)
            self._connection, self._owned = connection, True

    def create_table(self) -> None:
        self._connection.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),"
            " idx INTEGER NOT NULL CHECK (idx >= 0),"
            f" hash BLOB NOT NULL CHECK (typeof(hash) = 'blob' AND length(hash) = {HASH_SIZE}),"
            " PRIMARY KEY (level, idx)"
            ") WITHOUT ROWID"
        )

    def session(self) -> _SqliteSession:
        return _SqliteSession(self._connection, self.table)

    def session_in(self, connection: ExternalConnection) -> _SqliteSession:
        if isinstance(connection, sqlite3.Cursor):
            connection = connection.connection
        if not isinstance(connection, sqlite3.Connection):
            raise TypeError(f"a SQLite tree store cannot append through {type(connection)!r}")
        if not connection.in_transaction:
            # Outside a transaction each INSERT would commit on its own, so a failure midway
            # would leave leaves without their parents.
            raise TreeStoreError("append_in needs an open transaction: execute BEGIN first")
        return _SqliteSession(connection, self.table)

    @contextmanager
    def transaction(self) -> Iterator[_SqliteSession]:
        connection = self._connection
        if connection.in_transaction:
            raise TreeStoreError("a transaction is already open on this connection; use append_in")
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteSession(connection, self.table)
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def close(self) -> None:
        if self._owned:
            self._connection.close()


class _PostgresSession:
    def __init__(self, connection: psycopg.Connection[Any], table: str) -> None:
        self._connection = connection
        self._table = table

    def leaf_count(self) -> int:
        with self._connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(idx) FROM {self._table} WHERE level = 0")
            row = cursor.fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        with self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT n.level, n.idx, n.hash "
                "FROM unnest(%s::smallint[], %s::bigint[]) AS k(level, idx) "
                f"JOIN {self._table} AS n ON n.level = k.level AND n.idx = k.idx",
                ([level for level, _ in keys], [idx for _, idx in keys]),
            )
            return {(int(r[0]), int(r[1])): bytes(r[2]) for r in cursor.fetchall()}

    def insert(self, rows: Sequence[NodeRow]) -> None:
        # One statement with array parameters: one round trip per batch, whatever its size.
        # Binary arrays: psycopg's text array dumper escapes each bytea with a regex, which
        # cost more than the whole insert.
        with self._connection.cursor(binary=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (level, idx, hash) "
                "SELECT * FROM unnest(%b::smallint[], %b::bigint[], %b::bytea[])",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )


class _PostgresBackend:
    def __init__(self, target: PostgresTarget, table: str) -> None:
        self.table = table
        if isinstance(target, psycopg.Connection):
            self._connection, self._owned = target, False
        else:
            self._connection, self._owned = psycopg.connect(target, autocommit=True), True

    def create_table(self) -> None:
        # transaction() commits on an idle connection and is a savepoint inside the caller's
        # transaction, so the DDL never leaves a borrowed connection mid-transaction.
        with self._connection.transaction():
            self._connection.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                " level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 63),"
                " idx BIGINT NOT NULL CHECK (idx >= 0),"
                f" hash BYTEA NOT NULL CHECK (octet_length(hash) = {HASH_SIZE}),"
                " PRIMARY KEY (level, idx))"
            )

    def session(self) -> _PostgresSession:
        return _PostgresSession(self._connection, self.table)

    def session_in(self, connection: ExternalConnection) -> _PostgresSession:
        if isinstance(connection, psycopg.Cursor):
            connection = connection.connection
        if not isinstance(connection, psycopg.Connection):
            raise TypeError(f"a PostgreSQL tree store cannot append through {type(connection)!r}")
        status = connection.info.transaction_status
        if connection.autocommit and status == pq.TransactionStatus.IDLE:
            raise TreeStoreError(
                "append_in needs an open transaction: use `with connection.transaction():`"
            )
        return _PostgresSession(connection, self.table)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresSession]:
        connection = self._connection
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            raise TreeStoreError("a transaction is already open on this connection; use append_in")
        with connection.transaction():
            yield _PostgresSession(connection, self.table)

    def close(self) -> None:
        if self._owned:
            self._connection.close()
