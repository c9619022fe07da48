"""Thin DB-API access for our own tables (vault, projections) beside the event store.

One interface over sqlite3 and psycopg so read models and the vault run on both; SQL is
written with `?` placeholders and translated for PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from registry.config import Settings

Row = tuple[Any, ...]


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Row | None: ...
    def fetchall(self) -> list[Row]: ...


class Database(ABC):
    """A connection factory plus the dialect facts callers need."""

    dialect: str

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Cursor]:
        """One transaction: commit on success, roll back on any exception."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.transaction() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.transaction() as cur:
            cur.execute(sql, params)


class _SqliteCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql, tuple(params))

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql, [tuple(p) for p in params])

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cursor.fetchall()]


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        conn = self._connection()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteCursor(cur)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


_QMARK = re.compile(r"\?")


class _PostgresCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(_QMARK.sub("%s", sql), tuple(params))

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(_QMARK.sub("%s", sql), [tuple(p) for p in params])

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [tuple(r) for r in self._cursor.fetchall()]


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, dsn: str, schema: str = "public") -> None:
        from psycopg_pool import ConnectionPool

        self.schema = schema
        options = f"-c search_path={schema}"
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=8, kwargs={"options": options}, open=True
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _PostgresCursor(cur)

    def close(self) -> None:
        self._pool.close()


def open_database(settings: Settings) -> Database:
    if settings.store == "postgres":
        return PostgresDatabase(settings.postgres_dsn, settings.postgres_schema)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(str(settings.sqlite_path))


def blob_type(db: Database) -> str:
    return "BYTEA" if db.dialect == "postgres" else "BLOB"
