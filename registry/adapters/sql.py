"""The one SQL adapter for our own tables beside the event store.

Vault, API users, the credential archive, the audit tree and the read models all go through
this one interface over sqlite3 and psycopg, so each runs on both stores; SQL is written
with `?` placeholders and translated for PostgreSQL here and nowhere else. The tables
themselves come from the numbered migrations in `registry.adapters.migrations`.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from registry.application.settings import Settings

Row = tuple[Any, ...]

CONNECT_TIMEOUT_SECONDS = 5
"""How long a caller waits for a PostgreSQL connection (new or from a pool) before failing."""

RECONNECT_WINDOW_SECONDS = 10.0
"""How long a pool keeps retrying one lost connection (with doubling delays) before it gives
up and lets the next request start a fresh attempt. psycopg_pool's default of 5 minutes
lets the delay grow past a minute, so a server back after a long outage went unused."""

_UNAVAILABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


class StoreUnavailable(Exception):
    """The configured store cannot be opened or written (wraps the underlying error)."""


def _is_store_failure_itself(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, sqlite3.OperationalError):  # locked, read-only, full, I/O error
        return True
    if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "malformed"
        return True
    if isinstance(exc, OSError):
        return exc.errno in _UNAVAILABLE_ERRNOS
    module = type(exc).__module__
    if module.startswith(("psycopg", "psycopg_pool")):
        import psycopg

        return isinstance(
            exc,
            psycopg.OperationalError  # down, restarting, pool timeout, disk full
            | psycopg.errors.ReadOnlySqlTransaction
            | psycopg.errors.IdleInTransactionSessionTimeout,
        )
    if module.startswith("eventsourcing"):
        from eventsourcing.persistence import InterfaceError, OperationalError

        return isinstance(exc, OperationalError | InterfaceError)
    return False


def is_store_failure(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means the store cannot serve right now.

    PostgreSQL down or restarting, a pool that cannot hand out a connection, a full disk, a
    read-only or locked SQLite file: the request may succeed later, so callers answer
    "unavailable, retry" (HTTP 503, CLI exit 3) rather than reporting a bug.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        if _is_store_failure_itself(current):
            return True
        seen.add(id(current))
        current = _underlying(current)
    return False


def _underlying(exc: BaseException) -> BaseException | None:
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__


def describe_store_failure(exc: BaseException) -> str:
    """One line naming the failure, without connection strings or SQL parameters."""
    current: BaseException | None = exc
    for _ in range(16):
        if current is None or _is_store_failure_itself(current):
            break
        current = _underlying(current)
    failure = current or exc
    first_line = (str(failure).strip().splitlines() or [""])[0][:200]
    return f"{type(failure).__name__}: {first_line}" if first_line else type(failure).__name__


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

    def reading(self) -> AbstractContextManager[Cursor]:
        """One consistent snapshot for reads only; may skip the write lock (SQLite does)."""
        return self.transaction()

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def check_writable(self, at: str) -> None:
        """Commit one tiny write (a one-row probe table), so a read-only or full store fails."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO ops_write_probe (id, checked_at) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                (at,),
            )

    def flush_deleted(self) -> bool:
        """Make deleted rows unrecoverable from the store's files; False if not yet possible.

        Nothing to do by default (secure_delete and the server's own storage); SQLite
        overrides it for the write-ahead log.
        """
        return True

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


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch a (new) database to WAL. The switch needs an exclusive lock and SQLite does not
    wait for one here, so two processes opening a new store at once retry briefly; a
    database already in WAL (the usual case) needs no switch and no lock."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        """``timeout``: seconds a transaction waits for another writer's lock."""
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.RLock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            _use_wal(conn, self.timeout)
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._begin("BEGIN IMMEDIATE") as cur:
            yield cur

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A deferred transaction: under WAL a reader never waits for, nor blocks, a writer."""
        with self._begin("BEGIN") as cur:
            yield cur

    @contextmanager
    def _begin(self, begin: str) -> Iterator[Cursor]:
        conn = self._connection()
        cur = conn.cursor()
        cur.execute(begin)
        try:
            yield _SqliteCursor(cur)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def flush_deleted(self) -> bool:
        """SQLite keeps a deleted row's old page in the write-ahead log until a checkpoint:
        checkpoint and truncate it (on a connection outside any transaction), so a copy of
        the files holds no trace. False when readers kept the log from being truncated."""
        conn = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        return row is None or not row[0]

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
            dsn,
            min_size=1,
            max_size=8,
            kwargs={"options": options, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            open=True,
            # A pooled connection is checked before use, so one that died while the
            # server restarted is replaced instead of failing the request.
            check=ConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT_SECONDS,
            reconnect_timeout=RECONNECT_WINDOW_SECONDS,
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _PostgresCursor(cur)

    def close(self) -> None:
        self._pool.close()


def bound_reconnect_backoff(pool: object) -> None:
    """Shorten a psycopg pool's reconnect window (the event store's pool sets none)."""
    if hasattr(pool, "reconnect_timeout"):
        pool.reconnect_timeout = RECONNECT_WINDOW_SECONDS


def check_postgres_reachable(settings: Settings) -> None:
    """Fail at once (psycopg.OperationalError) when PostgreSQL cannot be reached.

    Pools only time out after waiting for a connection; a command started against a
    stopped server should say so immediately instead.
    """
    import psycopg

    with psycopg.connect(settings.postgres_dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS):
        pass


def raise_if_store_file_error(settings: Settings, exc: OSError) -> None:
    """`StoreUnavailable` from `exc` when it concerns the SQLite store's own files.

    A store file the process may not open for writing (read-only, immutable, owned by
    someone else) is the store being unavailable, not a bug.
    """
    if settings.store != "sqlite" or not exc.filename:
        return
    store = settings.sqlite_path.resolve()
    names = {store, store.parent, *(store.with_name(store.name + s) for s in ("-wal", "-shm"))}
    if Path(str(exc.filename)).resolve() in names:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc.strerror} ({exc.filename})") from exc


def open_database(settings: Settings) -> Database:
    if settings.store == "postgres":
        # libpq's own connect timeout, also for the event store's pool (which sets none)
        os.environ.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT_SECONDS))
        return PostgresDatabase(settings.postgres_dsn, settings.postgres_schema)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(str(settings.sqlite_path))
