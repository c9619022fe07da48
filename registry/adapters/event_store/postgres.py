"""PostgreSQL recorders that authenticate every event and keep the log append-only.

Selected by ``PERSISTENCE_MODULE=registry.adapters.event_store.postgres`` (see
`Settings.eventsourcing_env`; the module holds exactly one factory class), like
`eventsourcing/examples/searchabletimestamps`. Tables beside the library's
``registry_events`` / ``registry_snapshots`` in the configured schema: ``<table>_mac`` (one MAC
per row, same primary key, written in the event's transaction) and ``event_authentication``.

A statement-level trigger refuses UPDATE, DELETE and TRUNCATE on the events, the MACs and the
adoption record. Inserts cannot be told apart by origin (anyone with INSERT rights can add a
row); the MAC, under a key outside the database, is what exposes a forged one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing import postgres as _library
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import Environment, EnvType, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from registry.adapters.event_store.core import (
    CREATE_MISSING,
    KEYS_DIR,
    META_TABLE,
    Adoption,
    Authenticator,
    CheckedNotification,
    UnauthenticatedEventError,
    WrongEventKeyError,
    digest_name,
    load_key,
    log_adoption,
)
from registry.audit.canonical import MacKind

REFUSE_FUNCTION = "registry_refuse_change"


class _Authenticated(PostgresAggregateRecorder):
    """MAC on insert, check on select, adoption of legacy rows, append-only triggers."""

    protect_events = False
    has_notifications = False

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        authenticator: Authenticator,
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.authenticator = authenticator
        self.mac_table_name = f"{events_table_name}_mac"
        self.check_identifier_length(self.mac_table_name + "_append_only")
        schema = Identifier(self.datastore.schema)
        self._events = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        self._macs = SQL("{}.{}").format(schema, Identifier(self.mac_table_name))
        self._meta = SQL("{}.{}").format(schema, Identifier(META_TABLE))
        self._join = SQL(
            " FROM {} AS e LEFT JOIN {} AS m ON m.originator_id = e.originator_id"
            " AND m.originator_version = e.originator_version"
        ).format(self._events, self._macs)
        id_type = SQL(self.datastore.originator_id_type)
        self._insert_macs = SQL(
            "INSERT INTO {} (originator_id, originator_version, mac)"
            " SELECT * FROM unnest(%s::{}[], %s::bigint[], %s::bytea[])"
        ).format(self._macs, id_type)

    # ------------------------------------------------------------------ tables

    def _setup_statements(self) -> list[Composed]:
        schema = Identifier(self.datastore.schema)
        function = SQL("{}.{}").format(schema, Identifier(REFUSE_FUNCTION))
        statements = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (originator_id {} NOT NULL,"
                " originator_version bigint NOT NULL, mac bytea NOT NULL,"
                " adopted boolean NOT NULL DEFAULT false,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(self._macs, Identifier(self.datastore.originator_id_type)),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (table_name text PRIMARY KEY,"
                " key_id text NOT NULL, adopted_rows bigint NOT NULL, adopted_up_to bigint,"
                " adopted_at timestamptz NOT NULL DEFAULT now())"
            ).format(self._meta),
            SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$ "
                "LANGUAGE plpgsql"
            ).format(function),
        ]
        tables = [self.mac_table_name, META_TABLE]
        if self.protect_events:
            tables.append(self.events_table_name)
        for table in tables:
            trigger = f"{table}_append_only"
            statements.append(
                SQL(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = {}"
                    " AND tgrelid = {}::regclass) THEN CREATE TRIGGER {} BEFORE UPDATE OR"
                    " DELETE OR TRUNCATE ON {}.{} FOR EACH STATEMENT EXECUTE FUNCTION {}();"
                    " END IF; END $$"
                ).format(
                    Literal(trigger),
                    Literal(f'"{self.datastore.schema}"."{table}"'),
                    Identifier(trigger),
                    schema,
                    Identifier(table),
                    function,
                )
            )
        return statements

    def create_table(self) -> None:
        super().create_table()
        lock = digest_name(
            "registry.adapters.event_store", self.datastore.schema, self.events_table_name
        )
        with self.datastore.transaction(commit=True) as curs:
            # One process at a time: CREATE OR REPLACE FUNCTION and the trigger check race.
            curs.execute(SQL("SELECT pg_advisory_xact_lock({})").format(Literal(lock)))
            for statement in self._setup_statements():
                curs.execute(statement, prepare=False)
        self._adopt()

    def _adopt(self) -> None:
        """Once per store: MACs for the rows an earlier release wrote; check the key after."""
        if self._check_key(self.adoption()):
            return
        with self.datastore.transaction(commit=True) as curs:
            # Writers wait while the rows are adopted: nothing slips in unauthenticated.
            curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self._events))
            curs.execute(
                SQL("SELECT key_id FROM {} WHERE table_name = %s").format(self._meta),
                (self.events_table_name,),
            )
            # None: another process adopted first.
            adopted = None if curs.fetchone() is not None else self._adopt_rows(curs)
        if adopted is None:
            self._check_key(self.adoption())
            return
        log_adoption(self.events_table_name, *adopted)

    def _adopt_rows(self, curs: Cursor[DictRow]) -> tuple[int, int | None]:
        curs.execute(
            SQL(
                "SELECT e.originator_id, e.originator_version, e.topic, e.state{}"
                " WHERE m.mac IS NULL"
            ).format(self._join)
        )
        legacy = curs.fetchall()
        adopt = self.authenticator.adoption_mac
        ids = [r["originator_id"] for r in legacy]
        versions = [r["originator_version"] for r in legacy]
        macs = [
            adopt(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
            for r in legacy
        ]
        if legacy:
            curs.execute(
                SQL(
                    "INSERT INTO {} (originator_id, originator_version, mac, adopted)"
                    " SELECT *, true FROM unnest(%s::{}[], %s::bigint[], %s::bytea[])"
                ).format(self._macs, SQL(self.datastore.originator_id_type)),
                (ids, versions, macs),
            )
        up_to = None
        if self.has_notifications:
            curs.execute(SQL("SELECT MAX(notification_id) AS up_to FROM {}").format(self._events))
            row = curs.fetchone()
            up_to = None if row is None or row["up_to"] is None else int(row["up_to"])
        curs.execute(
            SQL(
                "INSERT INTO {} (table_name, key_id, adopted_rows, adopted_up_to)"
                " VALUES (%s, %s, %s, %s)"
            ).format(self._meta),
            (self.events_table_name, self.authenticator.key_id, len(legacy), up_to),
        )
        return len(legacy), up_to

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
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT key_id, adopted_rows, adopted_up_to, adopted_at FROM {}"
                    " WHERE table_name = %s"
                ).format(self._meta),
                (self.events_table_name,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return Adoption(
            self.events_table_name,
            str(row["key_id"]),
            int(row["adopted_rows"]),
            None if row["adopted_up_to"] is None else int(row["adopted_up_to"]),
            row["adopted_at"].isoformat(),
        )

    # ------------------------------------------------------------------ writes

    def _mac_params(self, stored_events: Sequence[StoredEvent]) -> tuple[Any, ...]:
        mac = self.authenticator.mac
        return (
            [s.originator_id for s in stored_events],
            [s.originator_version for s in stored_events],
            [mac(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Snapshots: the rows and their MACs in one transaction (the library uses autocommit)."""
        if stored_events:
            params = self._mac_params(stored_events)
            with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                curs.execute(self._insert_macs, params, prepare=True)
                self._insert_stored_events(curs, stored_events, **kwargs)
        return None

    # ------------------------------------------------------------------ reads

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, m.mac{}"
            " WHERE e.originator_id = %s"
        ).format(self._join)
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += SQL(" AND e.originator_version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND e.originator_version <= %s")
            params.append(lte)
        statement += SQL(" ORDER BY e.originator_version") + SQL(" DESC" if desc else " ASC")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            rows = curs.fetchall()
        require = self.authenticator.require
        return [
            require(
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                ),
                row["mac"],
                self.events_table_name,
            )
            for row in rows
        ]


class AuthenticatedPostgresAggregateRecorder(_Authenticated):
    """Snapshots (and any other aggregate-only table), authenticated like the events."""


class AuthenticatedPostgresApplicationRecorder(_Authenticated, PostgresApplicationRecorder):
    """The event log: authenticated, append-only, with checked notification reads."""

    protect_events = True
    has_notifications = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The library's (retried) pipelined transaction calls `_insert_events` first:
        # the MACs go there.
        ids: Sequence[int] | None = PostgresApplicationRecorder.insert_events(
            self, stored_events, **kwargs
        )
        return ids

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        if stored_events:
            curs.execute(self._insert_macs, self._mac_params(stored_events), prepare=True)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
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
        clauses: list[SQL] = []
        params: list[Any] = []
        if start is not None:
            clauses.append(
                SQL("e.notification_id >= %s" if inclusive_of_start else "e.notification_id > %s")
            )
            params.append(start)
        if stop is not None:
            clauses.append(SQL("e.notification_id <= %s"))
            params.append(stop)
        if topics:
            clauses.append(SQL("e.topic = ANY(%s)"))
            params.append(list(topics))
        where = SQL(" WHERE ") + SQL(" AND ").join(clauses) if clauses else SQL("")
        params.append(limit)
        statement = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
            " m.mac{}{} ORDER BY e.notification_id LIMIT %s"
        ).format(self._join, where)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            rows = curs.fetchall()
        check = self.authenticator.check
        checked = []
        for row in rows:
            n = Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
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
        result = []
        for c in checked:
            if not c.authentic:
                n = c.notification
                raise UnauthenticatedEventError(
                    n.originator_id,
                    n.originator_version,
                    n.topic,
                    c.reason,
                    n.id,
                    self.events_table_name,
                )
            result.append(c.notification)
        return result


class AuthenticatedPostgresFactory(_library.PostgresFactory):
    """`PostgresFactory` whose event and snapshot recorders authenticate every row."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        if self.datastore.enable_db_functions:
            raise OSError(
                "POSTGRES_ENABLE_DB_FUNCTIONS inserts events without their MACs: "
                "not supported with event authentication"
            )
        self._key: bytes | None = None

    def _table(self, purpose: str) -> str:
        return (self.env.name.lower() or "stored") + "_" + purpose

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
        meta = f'"{self.datastore.schema}"."{META_TABLE}"'
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (meta,))
            row = curs.fetchone()
            if row is None or not row["present"]:
                return True
            curs.execute(SQL("SELECT 1 AS one FROM {} LIMIT 1").format(SQL(meta)))
            return curs.fetchone() is None

    def application_recorder(self) -> ApplicationRecorder:
        recorder = AuthenticatedPostgresApplicationRecorder(
            datastore=self.datastore,
            events_table_name=self._table("events"),
            authenticator=self._authenticator("events"),
        )
        recorder.create_table()
        return recorder

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = AuthenticatedPostgresAggregateRecorder(
            datastore=self.datastore,
            events_table_name=self._table(purpose),
            authenticator=self._authenticator(purpose),
        )
        recorder.create_table()
        return recorder
