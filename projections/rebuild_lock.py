"""One rebuild at a time per store, across threads and processes, released if its owner dies.

PostgreSQL: a session advisory lock on a connection of its own, keyed by schema, so two
registries in one database do not block each other. SQLite: `flock` on a file beside the
database (one open file description per lock, so two threads conflict as two processes do).
Both locks vanish with the process that holds them: a killed rebuild never blocks the next.
"""

from __future__ import annotations

import fcntl
import os
import time
from types import TracebackType
from typing import Any

import psycopg

from projections.fold import ProjectionError
from projections.ports import RebuildLockTarget


class RebuildInProgress(ProjectionError):
    """Another rebuild of the same read models holds the rebuild lock."""


POLL_SECONDS = 0.2


class RebuildLock:
    """`with RebuildLock(target, name, wait=False):` — refuse (or wait for) a rival rebuild."""

    def __init__(self, target: RebuildLockTarget, name: str, *, wait: bool = False) -> None:
        self.target = target
        self.name = name
        self.wait = wait
        self._fd: int | None = None
        self._conn: Any = None

    def _refuse(self) -> RebuildInProgress:
        return RebuildInProgress(
            f"a rebuild of the {self.name} read models is already running on "
            f"{self.target.describe}; the live views keep serving — wait for it "
            "to finish, then run the rebuild again if it is still needed"
        )

    def __enter__(self) -> RebuildLock:
        if self.target.store == "postgres":
            self._enter_postgres()
        else:
            self._enter_sqlite()
        return self

    def _enter_postgres(self) -> None:
        if self.target.postgres_dsn is None:
            raise ProjectionError("no PostgreSQL DSN for the rebuild lock")
        conn = psycopg.connect(self.target.postgres_dsn, autocommit=True, connect_timeout=5)
        key = f"{self.target.postgres_schema}.{self.name}.rebuild"
        try:
            while True:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
                ).fetchone()
                if row is not None and row[0]:
                    break
                if not self.wait:
                    raise self._refuse()
                time.sleep(POLL_SECONDS)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _enter_sqlite(self) -> None:
        path = f"{self.target.sqlite_path}.{self.name}.rebuild.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise self._refuse() from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()  # ends the session: the advisory lock goes with it
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
