"""The projector: keeps the registry's read models caught up with the event log.

Why polling and one transaction: `eventsourcing`'s ProjectionRunner needs
`recorder.subscribe()`, which SQLite lacks, so the projector polls
`select_notifications` from its tracked position. Each batch writes every view row *and* the
new position in one transaction; a crash or error anywhere in the batch rolls both back, so a
restart neither loses nor repeats an event (exactly-once).

All views are written by one projector under one tracking row (`proj_tracking`,
name `registry_views`): they are derived from the same per-registration fold, and keeping
them in lock-step means two views can never disagree about how far the log was read.

Tables: `proj_tracking` (position), `proj_registration` (current state, one row per
registration), `proj_history` (every change of standing, for point-in-time answers),
`proj_decision` (review decisions, for turnaround statistics).

Rebuilds (and `SCHEMA_VERSION` changes) never empty or drop the live tables: the log is
folded into shadow tables under their own tracking row while the live tables keep serving and
keep being caught up; then one transaction folds the last notifications, renames the shadow
tables into place and carries the shadow's position over (see `projections.tables`). The
position always travels with the tables it describes, so events written during the rebuild
are applied exactly once: either in the shadow before the switch, or by the live projector
after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any
from uuid import UUID

from domain.registration import TOPIC_PREFIX as REGISTRATION_TOPIC_PREFIX
from domain.registration import Registration
from projections.fold import Changes, Folder, ProjectionError, RegState, personal_data_of
from projections.ports import Cursor, ReadModelPorts
from projections.queries import ViewQueries
from projections.rebuild_lock import RebuildLock
from projections.tables import (
    LIVE,
    PROJECTION_NAME,
    SHADOW,
    TRACKING_DDL,
    VIEW_TABLES,
    TableSet,
    placeholders,
    retired,
    table_exists,
    tracked_position,
)

SCHEMA_VERSION = 5
"""Bump when a table or a fold rule changes: the views are then rebuilt (in shadow) from the log."""

BATCH_SIZE = 500
MAX_SWITCH_ATTEMPTS = 50
"""Rounds of shadow catch-up + switch before a rebuild gives up (the live views stay as they
are): each round only fails when the live views moved past the shadow in the meantime."""
DELETE_CHUNK = 5_000
"""Rows per transaction when SQLite empties a retired table (`secure_delete` overwrites every
page, so one big DROP would hold the write lock, and with it every reader, for long)."""

Drafted = Registration.Drafted
Amended = Registration.Amended


@dataclass(frozen=True)
class RebuildReport:
    """What the last rebuild did: `switch_seconds` is how long the switch held its locks."""

    notifications: int
    position: int
    seconds: float
    switch_attempts: int
    switch_seconds: float


@dataclass(frozen=True)
class _Batch:
    """Notifications after `start` up to `last`, read and decrypted before any transaction."""

    start: int
    last: int
    count: int
    events: list[tuple[int, Any]]
    masked: dict[int, str | None]


class RegistryProjections(ViewQueries):
    """The query API (`ViewQueries`) plus the catch-up projector that keeps it current."""

    def __init__(
        self, ports: ReadModelPorts, *, progress: Callable[[int], None] | None = None
    ) -> None:
        """Open the read models; if they were built by another `SCHEMA_VERSION`, rebuild them
        in shadow first (waiting for a rebuild already under way) — `progress` sees that."""
        super().__init__(ports.database, ports.calendar, ports.clock, ports.business_time)
        self.ports = ports
        self.batch_size = BATCH_SIZE
        self.last_rebuild: RebuildReport | None = None
        if not self._open():
            self._upgrade(progress)

    # ------------------------------------------------------------------ schema

    def _open(self) -> bool:
        """Create what is missing; False when the live views are of another schema version."""
        with self.db.transaction() as cur:
            if self.db.dialect == "postgres":  # two first starts must not both create tables
                cur.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ?, 0))",
                    (f".{PROJECTION_NAME}.open",),
                )
            cur.execute(TRACKING_DDL)
            cur.execute(
                "SELECT schema_version FROM proj_tracking WHERE name = ?", (PROJECTION_NAME,)
            )
            row = cur.fetchone()
            if row is not None and int(row[0]) != SCHEMA_VERSION:
                return False
            for table in LIVE.tables:
                if not table_exists(cur, self.db.dialect, table):
                    for statement in LIVE.ddl(table):
                        cur.execute(statement)
            cur.execute(
                "INSERT INTO proj_tracking (name, position, schema_version) VALUES (?, 0, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (PROJECTION_NAME, SCHEMA_VERSION),
            )
        return True

    def _upgrade(self, progress: Callable[[int], None] | None) -> None:
        """The fold changed: build this version in shadow while the old views keep serving."""
        with RebuildLock(self.ports.rebuild_lock, PROJECTION_NAME, wait=True):
            if self._open():
                return  # another program of this version finished the upgrade meanwhile
            self._rebuild_locked(progress)

    # -------------------------------------------------------------- projecting

    def _position(self, tables: TableSet) -> int:
        return tracked_position(self.db, tables)

    def rebuild_position(self) -> int | None:
        """How far a rebuild under way (or abandoned) got in its shadow tables; else None."""
        rows = self.db.query(
            "SELECT position FROM proj_tracking WHERE name = ?", (SHADOW.tracking_name,)
        )
        return int(rows[0][0]) if rows else None

    def lag(self) -> int:
        """Notifications recorded but not yet applied (an upper bound: ids may have gaps)."""
        latest = self.ports.notifications.max_notification_id() or 0
        return max(0, latest - self.position())

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply every notification after the tracked position; returns how many were read.

        Other aggregates' notifications (indexes, sequences, policies) count too: they
        advance the position although no view changes.
        """
        return self._catch_up(LIVE, progress)

    def _catch_up(self, tables: TableSet, progress: Callable[[int], None] | None) -> int:
        total = 0
        while True:
            consumed = self._step(tables)
            if consumed is None:
                continue  # another projector moved the position first; read from there
            if consumed == 0:
                return total
            total += consumed
            if progress is not None:
                progress(consumed)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Replay the whole log into shadow tables, then switch them in atomically.

        The live views keep answering (and keep being caught up by any running projector)
        until the switch; the switch is one short transaction. Returns the number of
        notifications replayed; `last_rebuild` has the details. Raises `RebuildInProgress`
        when another rebuild of the same store is running.
        """
        with RebuildLock(self.ports.rebuild_lock, PROJECTION_NAME):
            return self._rebuild_locked(progress)

    def _rebuild_locked(self, progress: Callable[[int], None] | None) -> int:
        started = perf_counter()
        self._drop_tables([retired(t) for t in VIEW_TABLES] + list(SHADOW.tables))
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM proj_tracking WHERE name = ?", (SHADOW.tracking_name,))
            for table in SHADOW.tables:
                for statement in SHADOW.ddl(table):
                    cur.execute(statement)
            cur.execute(
                "INSERT INTO proj_tracking (name, position, schema_version) VALUES (?, 0, ?)",
                (SHADOW.tracking_name, SCHEMA_VERSION),
            )
        total = attempts = 0
        held: float | None = None
        while held is None:
            attempts += 1
            if attempts > MAX_SWITCH_ATTEMPTS:
                raise ProjectionError(
                    f"the rebuild could not catch up with the live views in {MAX_SWITCH_ATTEMPTS} "
                    "attempts (writes outpace it); the live views are unchanged — try again later"
                )
            total += self._catch_up(SHADOW, progress)
            tail = self._read(SHADOW, self._position(SHADOW))
            held = self._switch(tail)
        total += tail.count
        if progress is not None and tail.count:
            progress(tail.count)
        self._drop_tables([retired(t) for t in VIEW_TABLES])
        self.last_rebuild = RebuildReport(
            notifications=total,
            position=self.position(),
            seconds=perf_counter() - started,
            switch_attempts=attempts,
            switch_seconds=held,
        )
        return total

    def _switch(self, tail: _Batch) -> float | None:
        """Fold `tail` into the shadow and rename it into place, in one transaction.

        Returns how long the transaction held its locks, or None (nothing changed) when the
        live views have moved past what the shadow would reach: switching then would show
        the public an older state, so the caller catches up and tries again.
        """
        with self.db.transaction() as cur:
            began = perf_counter()
            # The live tracking row first: a live projector's batch (which locks it first
            # too) either committed before us or will see the carried-over position.
            live_position, _ = self._lock_position(cur, LIVE)
            shadow_position, shadow_version = self._lock_position(cur, SHADOW)
            if shadow_position != tail.start:
                raise ProjectionError("the shadow tables moved during the switch")
            if tail.last < live_position:
                return None
            if tail.count:
                self._apply(cur, SHADOW, tail)
            existing = [t for t in VIEW_TABLES if table_exists(cur, self.db.dialect, t)]
            if self.db.dialect == "postgres" and existing:
                # One lock request in the readers' order (registration, history, decision),
                # so a reader's join can never deadlock with the renames.
                cur.execute(f"LOCK TABLE {', '.join(existing)} IN ACCESS EXCLUSIVE MODE")
            for table in existing:
                cur.execute(f"ALTER TABLE {table} RENAME TO {retired(table)}")
            for table, shadow in zip(VIEW_TABLES, SHADOW.tables, strict=True):
                cur.execute(f"ALTER TABLE {shadow} RENAME TO {table}")
            cur.execute(
                "UPDATE proj_tracking SET position = ?, schema_version = ? WHERE name = ?",
                (tail.last, shadow_version, LIVE.tracking_name),
            )
            cur.execute("DELETE FROM proj_tracking WHERE name = ?", (SHADOW.tracking_name,))
        return perf_counter() - began

    def _drop_tables(self, tables: Sequence[str]) -> None:
        """Drop leftovers of earlier rebuilds; SQLite empties them in short transactions."""
        for table in tables:
            with self.db.transaction() as cur:
                if not table_exists(cur, self.db.dialect, table):
                    continue
            if self.db.dialect == "sqlite":
                while True:
                    with self.db.transaction() as cur:
                        cur.execute(
                            f"DELETE FROM {table} WHERE rowid IN "
                            f"(SELECT rowid FROM {table} LIMIT {DELETE_CHUNK})"
                        )
                        cur.execute("SELECT changes()")
                        row = cur.fetchone()
                    if row is None or int(row[0]) == 0:
                        break
            with self.db.transaction() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def _lock_position(self, cur: Cursor, tables: TableSet = LIVE) -> tuple[int, int]:
        """(position, schema version) of `tables`, locked until the transaction ends."""
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        cur.execute(
            f"SELECT position, schema_version FROM proj_tracking WHERE name = ?{lock}",
            (tables.tracking_name,),
        )
        row = cur.fetchone()
        if row is None:
            raise ProjectionError(f"projection tracking row {tables.tracking_name} is missing")
        return int(row[0]), int(row[1])

    def _read(self, tables: TableSet, start: int) -> _Batch:
        """The next batch after `start`, decoded and with its masked names, outside any
        transaction of ours."""
        notifications = self.ports.notifications.select_notifications(start + 1, self.batch_size)
        events = [
            (n.id, self.ports.mapper.to_domain_event(n))
            for n in notifications
            if n.topic.startswith(REGISTRATION_TOPIC_PREFIX)
        ]
        return _Batch(
            start=start,
            last=notifications[-1].id if notifications else start,
            count=len(notifications),
            events=events,
            masked=self._masked_names(events, tables),
        )

    def _step(self, tables: TableSet = LIVE) -> int | None:
        """One batch: 0 when caught up, None when another projector got there first."""
        start = self.position() if tables is LIVE else self._position(tables)
        batch = self._read(tables, start)
        if not batch.count:
            return 0
        with self.db.transaction() as cur:
            position, version = self._lock_position(cur, tables)
            if position != start:
                return None
            if version != SCHEMA_VERSION:
                raise ProjectionError(
                    f"the read models are at schema version {version} but this program folds "
                    f"schema version {SCHEMA_VERSION}; run `registry projections rebuild` "
                    "with the program that should serve them"
                )
            self._apply(cur, tables, batch)
        return batch.count

    def _apply(self, cur: Cursor, tables: TableSet, batch: _Batch) -> None:
        changes = Changes()
        changes.states = self._load_states(
            cur,
            {str(e.originator_id) for _, e in batch.events if not isinstance(e, Drafted)},
            tables,
        )
        folder = Folder(changes, batch.masked, self.ports.business_time)
        for notification_id, event in batch.events:
            folder.apply(notification_id, event)
        self._write(cur, changes, tables)
        cur.execute(
            "UPDATE proj_tracking SET position = ? WHERE name = ?",
            (batch.last, tables.tracking_name),
        )

    def _masked_names(
        self, events: Sequence[tuple[int, Any]], tables: TableSet = LIVE
    ) -> dict[int, str | None]:
        """Decrypt masked names before the write transaction (the vault has its own).

        Only the masked form leaves this method; the decrypted personal data is dropped.
        """
        subjects = {str(e.originator_id): e.subject_id for _, e in events if isinstance(e, Drafted)}
        missing = [
            str(e.originator_id)
            for _, e in events
            if isinstance(e, Amended)
            and e.personal_data is not None
            and str(e.originator_id) not in subjects
        ]
        if missing:
            for chunk in _chunks(sorted(set(missing)), 500):
                rows = self.db.query(
                    f"SELECT registration_id, subject_id FROM {tables.registration} "
                    f"WHERE registration_id IN {placeholders(chunk)}",
                    chunk,
                )
                subjects.update({str(r[0]): UUID(str(r[1])) for r in rows})
        names: dict[int, str | None] = {}
        for notification_id, event in events:
            token = personal_data_of(event)
            if token is None:
                continue
            subject = subjects.get(str(event.originator_id))
            names[notification_id] = (
                self.ports.masked_name(subject, token) if subject is not None else None
            )
        return names

    def _load_states(
        self, cur: Cursor, ids: Iterable[str], tables: TableSet = LIVE
    ) -> dict[str, RegState]:
        states: dict[str, RegState] = {}
        for chunk in _chunks(sorted(ids), 500):
            cur.execute(
                f"{tables.state_select} WHERE registration_id IN {placeholders(chunk)}", chunk
            )
            for row in cur.fetchall():
                state = RegState.from_row(row)
                states[state.registration_id] = state
        return states

    def _write(self, cur: Cursor, changes: Changes, tables: TableSet = LIVE) -> None:
        rows = [changes.states[rid].as_row() for rid in sorted(changes.touched)]
        if rows:
            cur.executemany(tables.state_upsert, rows)
        if changes.history:
            cur.executemany(tables.history_insert, changes.history)
        if changes.decisions:
            cur.executemany(tables.decision_insert, changes.decisions)


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
