"""SQLite recorders that authenticate every event and keep the log append-only.

Selected by ``PERSISTENCE_MODULE=registry.adapters.event_store.sqlite`` (see
`Settings.eventsourcing_env`; the module holds exactly one factory class), like
`eventsourcing/examples/searchabletimestamps`.
Tables beside the library's ``stored_events`` / ``stored_snapshots``: ``<table>_mac``
(one MAC per row, same primary key) and ``event_authentication`` (key id and adoption record).

SQLite cannot tell the recorder's INSERT from anyone else's, so the MAC is the defence against
inserted rows; triggers refuse UPDATE and DELETE on the events, the MACs and the record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse
from uuid import UUID

from eventsourcing import sqlite as _library
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    Notification,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
)
from eventsourcing.utils import Environment, EnvType

from registry.adapters.event_store.core import (
    CREATE_MISSING,
    KEYS_DIR,
    META_TABLE,
    Adoption,
    Authenticator,
    CheckedNotification,
    UnauthenticatedEventError,
    WrongEventKeyError,
    load_key,
    log_adoption,
)
from registry.audit.canonical import MacKind

_REFUSE = "SELECT RAISE(ABORT, 'the event log is append-only')"


def create_private_file(db_name: str | None) -> None:
    """Create the database file 0600 before SQLite does (it would use 0644 under umask 022).

    SQLite creates ``-wal`` and ``-shm`` with the database file's permissions, so they follow.
    An existing file is left as it is.
    """
    if not db_name or ":memory:" in db_name or "mode=memory" in db_name:
        return
    path = urlparse(db_name).path if db_name.startswith("file:") else db_name
    if not path:
        return
    try:  # O_EXCL: never open an existing (perhaps read-only) store for writing here
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class _Authenticated(SQLiteAggregateRecorder):
    """MAC on insert, check on select, adoption of legacy rows, append-only triggers."""

    protect_events = False
    has_notifications = False

    def __init__(
        self,
        datastore: SQLiteDatastore,
        events_table_name: str = "stored_events",
        *,
        authenticator: Authenticator,
    ) -> None:
        self.authenticator = authenticator
        self.mac_table_name = f"{events_table_name}_mac"
        super().__init__(datastore, events_table_name)
        t, m = self.events_table_name, self.mac_table_name
        self._join = (
            f"FROM {t} AS e LEFT JOIN {m} AS m "
            "ON m.originator_id = e.originator_id AND m.originator_version = e.originator_version "
        )
        self._insert_mac = (
            f"INSERT INTO {m} (originator_id, originator_version, mac) VALUES (?,?,?)"
        )

    # ------------------------------------------------------------------ tables

    def construct_create_table_statements(self) -> list[str]:
        m = self.mac_table_name
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {m} (originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, mac BLOB NOT NULL, "
            "adopted INTEGER NOT NULL DEFAULT 0, "
            "PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID"
        )
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (table_name TEXT PRIMARY KEY, "
            "key_id TEXT NOT NULL, adopted_rows INTEGER NOT NULL, adopted_up_to INTEGER, "
            "adopted_at TEXT NOT NULL)"
        )
        protected = [m, META_TABLE] + ([self.events_table_name] if self.protect_events else [])
        for table in protected:
            for op in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} "
                    f"ON {table} BEGIN {_REFUSE}; END"
                )
        return statements

    def create_table(self) -> None:
        super().create_table()
        self._adopt()

    def _adopt(self) -> None:
        """Once per store: MACs for the rows an earlier release wrote; check the key after."""
        table = self.events_table_name
        if self._check_key(self.adoption()):
            return  # read-only check first: an adopted store never takes the write lock here
        with self.datastore.get_connection(commit=True) as conn:
            c = conn.cursor()
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute(f"SELECT key_id FROM {META_TABLE} WHERE table_name = ?", (table,))
                if c.fetchone() is not None:  # another process adopted first
                    conn.rollback()
                    self._check_key(self.adoption())
                    return
                c.execute(
                    f"SELECT e.originator_id, e.originator_version, e.topic, e.state {self._join}"
                    "WHERE m.mac IS NULL"
                )
                legacy = c.fetchall()
                up_to = None
                if self.has_notifications:
                    c.execute(f"SELECT MAX(rowid) FROM {table}")
                    up_to = c.fetchone()[0]
                adopt = self.authenticator.adoption_mac
                c.executemany(
                    f"INSERT INTO {self.mac_table_name} (originator_id, originator_version, mac,"
                    " adopted) VALUES (?, ?, ?, 1)",
                    [
                        (
                            r["originator_id"],
                            r["originator_version"],
                            adopt(
                                self.convert_originator_id(r["originator_id"]),
                                r["originator_version"],
                                r["topic"],
                                r["state"],
                            ),
                        )
                        for r in legacy
                    ],
                )
                c.execute(
                    f"INSERT INTO {META_TABLE} (table_name, key_id, adopted_rows, adopted_up_to,"
                    " adopted_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        table,
                        self.authenticator.key_id,
                        len(legacy),
                        up_to,
                        datetime.now(UTC).isoformat(),
                    ),
                )
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        log_adoption(table, len(legacy), up_to)

    def _check_key(self, adoption: Adoption | None) -> bool:
        """True when the table is already authenticated (with this key, else refuse)."""
        if adoption is None:
            return False
        if adoption.key_id != self.authenticator.key_id:
            raise WrongEventKeyError(
                f"the event-mac key file holds key {self.authenticator.key_id}, but the rows "
                f"of {adoption.table} were authenticated with key {adoption.key_id}: restore "
                "the right key file from the key backup"
            )
        return True

    def adoption(self) -> Adoption | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT key_id, adopted_rows, adopted_up_to, adopted_at FROM {META_TABLE}"
                " WHERE table_name = ?",
                (self.events_table_name,),
            )
            row = c.fetchone()
        if row is None:
            return None
        return Adoption(
            self.events_table_name,
            str(row["key_id"]),
            int(row["adopted_rows"]),
            None if row["adopted_up_to"] is None else int(row["adopted_up_to"]),
            str(row["adopted_at"]),
        )

    # ------------------------------------------------------------------ writes

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        mac = self.authenticator.mac
        macs = [
            (
                _hex(s.originator_id),
                s.originator_version,
                mac(s.originator_id, s.originator_version, s.topic, s.state),
            )
            for s in stored_events
        ]
        ids = super()._insert_events(c, stored_events, **kwargs)
        c.executemany(self._insert_mac, macs)
        return ids

    # ------------------------------------------------------------------ reads

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = (
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state, m.mac {self._join}"
            "WHERE e.originator_id = ? "
        )
        params: list[Any] = [_hex(originator_id)]
        if gt is not None:
            statement += "AND e.originator_version > ? "
            params.append(gt)
        if lte is not None:
            statement += "AND e.originator_version <= ? "
            params.append(lte)
        statement += "ORDER BY e.originator_version " + ("DESC " if desc else "ASC ")
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows = c.fetchall()
        require = self.authenticator.require
        return [
            require(
                StoredEvent(
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                ),
                row["mac"],
                self.events_table_name,
            )
            for row in rows
        ]


class AuthenticatedSQLiteAggregateRecorder(_Authenticated):
    """Snapshots (and any other aggregate-only table), authenticated like the events."""


class AuthenticatedSQLiteApplicationRecorder(_Authenticated, SQLiteApplicationRecorder):
    """The event log: authenticated, append-only, with checked notification reads."""

    protect_events = True
    has_notifications = True

    def checked_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[CheckedNotification]:
        """Notifications with their MACs and verdicts; never raises for a bad MAC."""
        clauses: list[str] = []
        params: list[Any] = []
        if start is not None:
            clauses.append("e.rowid >= ?" if inclusive_of_start else "e.rowid > ?")
            params.append(start)
        if stop is not None:
            clauses.append("e.rowid <= ?")
            params.append(stop)
        if topics:
            clauses.append(f"e.topic IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        params.append(limit)
        statement = (
            "SELECT e.rowid AS notification_id, e.originator_id, e.originator_version, e.topic,"
            f" e.state, m.mac {self._join}{where}ORDER BY e.rowid LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows = c.fetchall()
        check = self.authenticator.check
        checked = []
        for row in rows:
            n = Notification(
                id=row["notification_id"],
                originator_id=self.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            mac = None if row["mac"] is None else bytes(row["mac"])
            ok = check(n.originator_id, n.originator_version, n.topic, n.state, mac)
            checked.append(CheckedNotification(n, mac, ok))
        return checked

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        checked = self.checked_notifications(
            start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )
        return [_authentic(c, self.events_table_name) for c in checked]


def _authentic(checked: CheckedNotification, table: str) -> Notification:
    if not checked.authentic:
        n = checked.notification
        raise UnauthenticatedEventError(
            n.originator_id, n.originator_version, n.topic, checked.reason, n.id, table
        )
    return checked.notification


class AuthenticatedSQLiteFactory(_library.SQLiteFactory):
    """`SQLiteFactory` whose recorders authenticate; the database file is created 0600."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        environment = env if isinstance(env, Environment) else Environment(env=env)
        create_private_file(environment.get(self.SQLITE_DBNAME))
        super().__init__(environment)
        self._key: bytes | None = None

    def _authenticator(self, purpose: str) -> Authenticator:
        if self._key is None:
            self._key = load_key(
                self.env.get(KEYS_DIR), self.env.get(CREATE_MISSING), self._store_is_unauthenticated
            )
        uuid_ids = self.datastore.originator_id_type == "uuid"
        kind: MacKind = "snapshot" if purpose == "snapshots" else "event"
        return Authenticator(self._key, kind, uuid_ids=uuid_ids)

    def _store_is_unauthenticated(self) -> bool:
        """No event in this store was ever authenticated (new, or written by a release
        before authentication): its first opener makes the key (the upgrade moment)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
            )
            if c.fetchone() is None:
                return True
            c.execute(f"SELECT 1 FROM {META_TABLE} LIMIT 1")
            return c.fetchone() is None

    def application_recorder(self) -> ApplicationRecorder:
        recorder = AuthenticatedSQLiteApplicationRecorder(
            datastore=self.datastore, authenticator=self._authenticator("events")
        )
        recorder.create_table()
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = AuthenticatedSQLiteAggregateRecorder(
            datastore=self.datastore,
            events_table_name="stored_" + purpose,
            authenticator=self._authenticator(purpose),
        )
        recorder.create_table()
        return recorder
