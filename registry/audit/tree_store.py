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
audit log can record its position and the leaves atomically.

Storage: the one SQL adapter (`registry.adapters.sql`, reached through the application's
`Database` port), with `?` placeholders; the table comes from the numbered migrations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from registry.application.ports import Cursor, Database
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

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}\Z")


class TreeStoreError(RuntimeError):
    """The store cannot do what was asked (unknown dialect, or missing nodes)."""


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
    """Node-table primitives bound to one open transaction."""

    def leaf_count(self) -> int: ...

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]: ...

    def insert(self, rows: Sequence[NodeRow]) -> None: ...


class MerkleTreeStore:
    """An append-only Merkle tree whose nodes live in ``<prefix>merkle_nodes``.

    The store goes through the SQL adapter (`registry.adapters.sql`) like every other table of
    ours; ``audit_merkle_nodes`` comes from migration 0004. Reads take a snapshot
    (`Database.reading`), so they never wait for an appender. Thread-safe as its database is.
    """

    def __init__(self, db: Database, *, prefix: str = "audit_") -> None:
        self._db = db
        self._table = _table_name(prefix)
        if db.dialect not in _SESSIONS:
            raise TreeStoreError(f"no Merkle tree store for dialect {db.dialect!r}")
        self._session_class = _SESSIONS[db.dialect]

    @property
    def table_name(self) -> str:
        return self._table

    def _session(self, cursor: Cursor) -> _Session:
        return self._session_class(cursor, self._table)

    def size(self) -> int:
        """Number of leaves appended and committed."""
        with self._db.reading() as cursor:
            return self._session(cursor).leaf_count()

    def leaf_hash(self, index: int) -> bytes:
        if index < 0:
            raise IndexError(f"negative leaf index {index}")
        with self._db.reading() as cursor:
            found = self._session(cursor).fetch([(0, index)])
        if (0, index) not in found:
            raise IndexError(f"no leaf {index} in the tree")
        return found[(0, index)]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them) — any past size works."""
        with self._db.reading() as cursor:
            session = self._session(cursor)
            if size is None:
                size = session.leaf_count()
            if size < 0:
                raise ValueError(f"negative tree size {size}")
            if size == 0:
                return EMPTY_ROOT
            return self._resolve(session, [(0, size)], size)[0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]), for a checkpoint of ``size`` leaves."""
        ranges = inclusion_path_ranges(index, size)
        with self._db.reading() as cursor:
            return self._resolve(self._session(cursor), ranges, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[new_size]) between two checkpoints."""
        ranges = consistency_proof_ranges(old_size, new_size)
        with self._db.reading() as cursor:
            return self._resolve(self._session(cursor), ranges, new_size)

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append a batch in a transaction of the store's own; return the new size."""
        with self._db.transaction() as cursor:
            return _append(self._session(cursor), leaf_hashes, None)

    def append_in(
        self,
        cursor: Cursor,
        leaf_hashes: Sequence[bytes],
        *,
        expected_size: int | None = None,
    ) -> int:
        """Append a batch inside the caller's open transaction; the caller commits or rolls back.

        ``cursor`` comes from the caller's ``Database.transaction()``, so the event log's
        position and the leaves commit together. ``expected_size`` lets the caller assert
        the position it recorded elsewhere is the leaf index the tree assigns; a mismatch
        raises :class:`TreeSizeConflictError` before anything is written.
        """
        return _append(self._session(cursor), leaf_hashes, expected_size)

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
    def __init__(self, cursor: Cursor, table: str) -> None:
        self._cursor = cursor
        self._table = table

    def leaf_count(self) -> int:
        self._cursor.execute(f"SELECT MAX(idx) FROM {self._table} WHERE level = 0")
        row = self._cursor.fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        # A join against a VALUES list uses the primary key per probe; the equivalent
        # "(level, idx) IN (VALUES ...)" makes SQLite scan the whole table.
        values = ", ".join(["(?, ?)"] * len(keys))
        self._cursor.execute(
            f"SELECT n.level, n.idx, n.hash FROM (VALUES {values}) AS k "
            f"JOIN {self._table} AS n ON n.level = k.column1 AND n.idx = k.column2",
            [part for key in keys for part in key],
        )
        return {(int(r[0]), int(r[1])): bytes(r[2]) for r in self._cursor.fetchall()}

    def insert(self, rows: Sequence[NodeRow]) -> None:
        self._cursor.executemany(
            f"INSERT INTO {self._table} (level, idx, hash) VALUES (?, ?, ?)", rows
        )


class _PostgresSession:
    def __init__(self, cursor: Cursor, table: str) -> None:
        self._cursor = cursor
        self._table = table

    def leaf_count(self) -> int:
        self._cursor.execute(f"SELECT MAX(idx) FROM {self._table} WHERE level = 0")
        row = self._cursor.fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        self._cursor.execute(
            "SELECT n.level, n.idx, n.hash "
            "FROM unnest(?::smallint[], ?::bigint[]) AS k(level, idx) "
            f"JOIN {self._table} AS n ON n.level = k.level AND n.idx = k.idx",
            ([level for level, _ in keys], [idx for _, idx in keys]),
        )
        return {(int(r[0]), int(r[1])): bytes(r[2]) for r in self._cursor.fetchall()}

    def insert(self, rows: Sequence[NodeRow]) -> None:
        # One statement, one round trip per batch whatever its size. The hashes travel as ONE
        # bytea (sent in binary) cut into 32-byte pieces by the server: a bytea[] parameter
        # goes as text, and escaping each hash for it cost more than the whole insert.
        self._cursor.execute(
            f"INSERT INTO {self._table} (level, idx, hash) "
            f"SELECT k.level, k.idx, substr(?::bytea, ((k.n - 1) * {HASH_SIZE} + 1)::int,"
            f" {HASH_SIZE}) FROM unnest(?::smallint[], ?::bigint[]) WITH ORDINALITY"
            " AS k(level, idx, n)",
            (b"".join(r[2] for r in rows), [r[0] for r in rows], [r[1] for r in rows]),
        )


_SESSIONS: dict[str, type[_SqliteSession] | type[_PostgresSession]] = {
    "sqlite": _SqliteSession,
    "postgres": _PostgresSession,
}
