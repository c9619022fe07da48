"""The registry's read models, kept in the same database as the event log.

Why polling and one transaction: `eventsourcing`'s ProjectionRunner needs
`recorder.subscribe()`, which SQLite lacks, so the projector polls
`recorder.select_notifications` from its tracked position. Each batch writes every view row
*and* the new position in one transaction of `app.db`; a crash or error anywhere in the batch
rolls both back, so a restart neither loses nor repeats an event (exactly-once).

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

import math
import statistics as stats
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.clock import add_years
from domain.registration import TOPIC_PREFIX as REGISTRATION_TOPIC_PREFIX
from domain.status import IN_REVIEW, REREVIEW, Status
from domain.workdays import WorkingCalendar
from projections.fold import (
    DECISION_COLUMNS,
    HISTORY_COLUMNS,
    Changes,
    Folder,
    ProjectionError,
    RegState,
    parse_date,
    parse_ts,
    personal_data_of,
    ts,
)
from projections.rebuild_lock import RebuildLock
from projections.tables import (
    LIVE,
    PROJECTION_NAME,
    SHADOW,
    STATE_COLUMNS,
    TRACKING_DDL,
    VIEW_TABLES,
    TableSet,
    retired,
    table_exists,
)
from projections.views import (
    DishonestyEntry,
    EligibilityView,
    QueueItem,
    RegistrationView,
    Statistics,
    StatusAsOf,
)

if TYPE_CHECKING:
    from registry.adapters.sql import Cursor
    from registry.application.service import RegistryApp

SCHEMA_VERSION = 1
"""Bump when a table or a fold rule changes: the views are then rebuilt (in shadow) from the log."""

BATCH_SIZE = 500
MAX_SWITCH_ATTEMPTS = 50
"""Rounds of shadow catch-up + switch before a rebuild gives up (the live views stay as they
are): each round only fails when the live views moved past the shadow in the meantime."""
DELETE_CHUNK = 5_000
"""Rows per transaction when SQLite empties a retired table (`secure_delete` overwrites every
page, so one big DROP would hold the write lock, and with it every reader, for long)."""

_IN_REVIEW_VALUES = tuple(sorted(s.value for s in IN_REVIEW))
_REREVIEW_VALUES = tuple(sorted(s.value for s in REREVIEW))
_PRACTISING_VALUES = tuple(sorted({Status.ACTIVE.value, *_REREVIEW_VALUES}))
_LAPSED_REASON = "validity.lapsed"
_STATE_COLUMNS = STATE_COLUMNS
_STATE_SELECT = LIVE.state_select


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


def _public_status_sql(today: date) -> tuple[str, list[Any]]:
    """SQL for the public status on `today`, so filters and counts agree with the views."""
    practising = _in(_PRACTISING_VALUES)
    rereview = _in(_REREVIEW_VALUES)
    sql = (
        f"(CASE WHEN number IS NOT NULL AND status IN {practising} AND valid_until < ? "
        f"THEN '{Status.EXPIRED.value}' "
        f"WHEN number IS NOT NULL AND status IN {rereview} THEN '{Status.ACTIVE.value}' "
        "ELSE status END)"
    )
    return sql, [*_PRACTISING_VALUES, today.isoformat(), *_REREVIEW_VALUES]


def end_of_day(on: date) -> datetime:
    """The last instant of `on` (UTC): "as of the tender date" includes that day's events."""
    return datetime.combine(on, time.max, tzinfo=UTC)


def _lapse_moment(valid_until: date) -> datetime:
    return datetime.combine(valid_until + timedelta(days=1), time.min, tzinfo=UTC)


def _standing(
    status: str, numbered: bool, valid_until: date | None, on: date
) -> tuple[str, str, bool]:
    """(lifecycle status as `Registration.status_at` gives it, public status, lapsed?)."""
    lifecycle = Status(status)
    practising = lifecycle is Status.ACTIVE or (numbered and lifecycle in REREVIEW)
    lapsed = practising and valid_until is not None and on > valid_until
    derived = Status.EXPIRED if lapsed else lifecycle
    if lapsed:
        public = Status.EXPIRED
    elif practising:
        public = Status.ACTIVE
    else:
        public = lifecycle
    return derived.value, public.value, lapsed


def _note(status: str, numbered: bool, lapsed: bool) -> str | None:
    lifecycle = Status(status)
    if numbered and lifecycle in REREVIEW:
        if lifecycle is Status.RETURNED_FOR_SUPPLEMENT:
            return "amendment returned for supplement; registration remains in force"
        return "amendment under review; registration remains in force"
    if lapsed:
        return "continuing-education registration lapsed; reinstatement required"
    return None


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


class RegistryProjections:
    """Catch-up projector and query API over the registry's read models."""

    def __init__(
        self,
        app: RegistryApp,
        calendar: WorkingCalendar | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Open the read models; if they were built by another `SCHEMA_VERSION`, rebuild them
        in shadow first (waiting for a rebuild already under way) — `progress` sees that."""
        self.app = app
        self.db = app.db
        if calendar is None:
            from registry.adapters.holidays import default_calendar

            calendar = default_calendar(app.settings.holiday_file)
        self.calendar = calendar
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
        with RebuildLock(self.app.settings, PROJECTION_NAME, wait=True):
            if self._open():
                return  # another program of this version finished the upgrade meanwhile
            self._rebuild_locked(progress)

    # -------------------------------------------------------------- projecting

    def _position(self, tables: TableSet) -> int:
        rows = self.db.query(
            "SELECT position FROM proj_tracking WHERE name = ?", (tables.tracking_name,)
        )
        return int(rows[0][0]) if rows else 0

    def position(self) -> int:
        return self._position(LIVE)

    def rebuild_position(self) -> int | None:
        """How far a rebuild under way (or abandoned) got in its shadow tables; else None."""
        rows = self.db.query(
            "SELECT position FROM proj_tracking WHERE name = ?", (SHADOW.tracking_name,)
        )
        return int(rows[0][0]) if rows else None

    def lag(self) -> int:
        """Notifications recorded but not yet applied (an upper bound: ids may have gaps)."""
        latest = self.app.recorder.max_notification_id() or 0
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
        with RebuildLock(self.app.settings, PROJECTION_NAME):
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
        notifications = self.app.recorder.select_notifications(start + 1, self.batch_size)
        events = [
            (n.id, self.app.mapper.to_domain_event(n))
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
            {str(e.originator_id) for _, e in batch.events if type(e).__name__ != "Drafted"},
            tables,
        )
        folder = Folder(changes, batch.masked)
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
        subjects = {
            str(e.originator_id): e.subject_id for _, e in events if type(e).__name__ == "Drafted"
        }
        missing = [
            str(e.originator_id)
            for _, e in events
            if type(e).__name__ == "Amended"
            and e.personal_data is not None
            and str(e.originator_id) not in subjects
        ]
        if missing:
            for chunk in _chunks(sorted(set(missing)), 500):
                rows = self.db.query(
                    f"SELECT registration_id, subject_id FROM {tables.registration} "
                    f"WHERE registration_id IN {_in(chunk)}",
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
                self.app.vault.masked_name(subject, token) if subject is not None else None
            )
        return names

    def _load_states(
        self, cur: Cursor, ids: Iterable[str], tables: TableSet = LIVE
    ) -> dict[str, RegState]:
        states: dict[str, RegState] = {}
        for chunk in _chunks(sorted(ids), 500):
            cur.execute(f"{tables.state_select} WHERE registration_id IN {_in(chunk)}", chunk)
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

    # ----------------------------------------------------------------- queries

    def _today(self, today: date | None) -> date:
        return today if today is not None else self.app.clock.now().date()

    def _state(self, where: str, params: Sequence[Any]) -> RegState | None:
        rows = self.db.query(f"{_STATE_SELECT} WHERE {where}", params)
        return RegState.from_row(rows[0]) if rows else None

    def by_id(self, registration_id: UUID, today: date | None = None) -> RegistrationView | None:
        state = self._state("registration_id = ?", (str(registration_id),))
        return self._view(state, self._today(today)) if state else None

    def by_number(self, number: str, today: date | None = None) -> RegistrationView | None:
        state = self._state("number = ?", (number,))
        return self._view(state, self._today(today)) if state else None

    def _view(self, state: RegState, today: date) -> RegistrationView:
        valid_until = parse_date(state.valid_until)
        numbered = state.number is not None
        status, public, lapsed = _standing(state.status, numbered, valid_until, today)
        reason, since = state.status_reason, parse_ts(state.status_since)
        if lapsed and valid_until is not None:
            reason, since = _LAPSED_REASON, _lapse_moment(valid_until)
        assert since is not None
        return RegistrationView(
            registration_id=UUID(state.registration_id),
            number=state.number,
            scheme=state.scheme,
            status=status,
            public_status=public,
            status_reason=reason,
            status_since=since,
            valid_until=valid_until,
            next_ce_deadline=self._next_ce_deadline(state, public, valid_until, today),
            masked_name=state.masked_name,
            employer_id=state.employer_id,
            employer_name=state.employer_name,
            region=state.region,
            approved_at=parse_ts(state.approved_at),
            dishonest=bool(state.dishonest),
            certificate_serial=state.certificate_serial,
            permitted_to_practise=public == Status.ACTIVE.value,
            note=_note(state.status, numbered, lapsed),
            submitted_at=parse_ts(state.submitted_at),
            today=today,
        )

    @staticmethod
    def _next_ce_deadline(
        state: RegState, public: str, valid_until: date | None, today: date
    ) -> date | None:
        """Scheme A: CE must be registered before validity ends. Scheme B: the hours are due
        by the end of the current registration year (the next anniversary)."""
        if state.number is None or public in {Status.REVOKED.value, Status.EXPIRED.value}:
            return None
        if state.ce_renews:
            return valid_until
        if not state.ce_annual:
            return None
        start_at = parse_ts(state.reinstated_at) or parse_ts(state.approved_at)
        assert start_at is not None
        start = start_at.date()
        k = max(1, today.year - start.year)
        while add_years(start, k) <= today:
            k += 1
        while k > 1 and add_years(start, k - 1) > today:
            k -= 1
        return add_years(start, k)

    def _history_at(self, registration_id: str, moment: datetime) -> tuple[Any, ...] | None:
        rows = self.db.query(
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM proj_history "
            "WHERE registration_id = ? AND at <= ? ORDER BY seq DESC LIMIT 1",
            (registration_id, ts(moment)),
        )
        return rows[0] if rows else None

    def lifecycle_status_at(self, registration_id: UUID, moment: datetime) -> str | None:
        """What `Registration.status_at(moment)` answers, or None before the draft existed."""
        row = self._history_at(str(registration_id), moment)
        if row is None:
            return None
        h = dict(zip(HISTORY_COLUMNS, row, strict=True))
        status, _, _ = _standing(
            h["status"], bool(h["numbered"]), parse_date(h["valid_until"]), moment.date()
        )
        return status

    def status_as_of(self, number: str, on: date) -> StatusAsOf | None:
        """Standing on `on` (through the end of that day, UTC), as the registry knew it then."""
        state = self._state("number = ?", (number,))
        if state is None:
            return None
        row = self._history_at(state.registration_id, end_of_day(on))
        h = dict(zip(HISTORY_COLUMNS, row, strict=True)) if row is not None else None
        if h is None or not h["numbered"]:
            return StatusAsOf(
                number=number,
                on=on,
                status="not_registered",
                permitted_to_practise=False,
                reason_code=None,
                since=None,
                valid_until=None,
                employer_id=None,
                scheme=state.scheme,
                lifecycle_status=None if h is None else h["status"],
                note="not yet approved on that date" if h is not None else None,
            )
        valid_until = parse_date(h["valid_until"])
        lifecycle, public, lapsed = _standing(h["status"], True, valid_until, on)
        reason, since = h["reason_code"], parse_ts(h["since"])
        if lapsed and valid_until is not None:
            reason, since = _LAPSED_REASON, _lapse_moment(valid_until)
        return StatusAsOf(
            number=number,
            on=on,
            status=public,
            permitted_to_practise=public == Status.ACTIVE.value,
            reason_code=reason,
            since=since,
            valid_until=valid_until,
            employer_id=h["employer_id"],
            scheme=state.scheme,
            lifecycle_status=lifecycle,
            employer_name=h["employer_name"],
            note=_note(h["status"], True, lapsed),
        )

    def search(
        self,
        *,
        number: str | None = None,
        employer_id: str | None = None,
        status: str | None = None,
        scheme: str | None = None,
        expiring_within_days: int | None = None,
        today: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RegistrationView]:
        """Filters combine with AND; `status` is the public status on `today`."""
        day = self._today(today)
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        where: list[str] = []
        params: list[Any] = []
        if number is not None:
            where.append("number = ?")
            params.append(number)
        if employer_id is not None:
            where.append("employer_id = ?")
            params.append(employer_id)
        if scheme is not None:
            where.append("scheme = ?")
            params.append(scheme)
        if status is not None or expiring_within_days is not None:
            public_sql, public_params = _public_status_sql(day)
            if status is not None:
                where.append(f"{public_sql} = ?")
                params.extend([*public_params, status])
            if expiring_within_days is not None:
                if expiring_within_days < 0:
                    raise ValueError("expiring_within_days must not be negative")
                horizon = day + timedelta(days=expiring_within_days)
                where.append(f"{public_sql} = ? AND valid_until >= ? AND valid_until <= ?")
                params.extend(
                    [*public_params, Status.ACTIVE.value, day.isoformat(), horizon.isoformat()]
                )
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.query(
            f"{_STATE_SELECT}{clause} ORDER BY (CASE WHEN number IS NULL THEN 1 ELSE 0 END), "
            "number, registration_id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [self._view(RegState.from_row(r), day) for r in rows]

    def review_queue(
        self, today: date | None = None, overdue_only: bool = False
    ) -> list[QueueItem]:
        """Applications awaiting a decision, most urgent first.

        The deadline counts working days from the (latest) submission: the scheme's review
        period, or its further-verification period once that was requested.
        """
        day = self._today(today)
        rows = self.db.query(
            f"{_STATE_SELECT} WHERE status IN {_in(_IN_REVIEW_VALUES)}", _IN_REVIEW_VALUES
        )
        items = []
        for row in rows:
            state = RegState.from_row(row)
            submitted = parse_ts(state.submitted_at)
            if submitted is None:
                raise ProjectionError(f"{state.registration_id} is in review but never submitted")
            allowed = (
                state.fv_days
                if state.status == Status.FURTHER_VERIFICATION.value
                else state.review_days
            )
            due = self.calendar.add_working_days(submitted.date(), allowed)
            overdue = day > due
            if overdue_only and not overdue:
                continue
            items.append(
                QueueItem(
                    registration_id=UUID(state.registration_id),
                    scheme=state.scheme,
                    status=state.status,
                    employer_id=state.employer_id,
                    submitted_at=submitted,
                    due=due,
                    working_days_elapsed=max(
                        0, self.calendar.working_days_between(submitted.date(), day)
                    ),
                    overdue=overdue,
                    number=state.number,
                    working_days_allowed=allowed,
                )
            )
        items.sort(key=lambda i: (i.due, i.submitted_at, str(i.registration_id)))
        return items

    def dishonesty_list(self) -> list[DishonestyEntry]:
        rows = self.db.query(
            "SELECT registration_id, number, masked_name, scheme, dishonest_since, "
            "dishonest_reason FROM proj_registration WHERE dishonest = 1 "
            "ORDER BY dishonest_since, registration_id"
        )
        entries = []
        for rid, number, masked_name, scheme, since, reason in rows:
            listed_at = parse_ts(since)
            assert listed_at is not None
            entries.append(
                DishonestyEntry(UUID(rid), number, masked_name, scheme, listed_at, reason or "")
            )
        return entries

    def title_eligible(self, on: date) -> list[EligibilityView]:
        """Rule A on `on`: registered without a lapse for the scheme's years, active that
        day, never suspended or revoked by then, not on the dishonesty list."""
        moment = ts(end_of_day(on))
        rows = self.db.query(
            "SELECT r.registration_id, r.number, r.masked_name, r.title_years, r.first_bad_at,"
            " h.status, h.valid_until, h.dishonest, h.run_start, h.numbered "
            "FROM proj_registration r JOIN proj_history h"
            " ON h.registration_id = r.registration_id AND h.seq = ("
            "  SELECT MAX(h2.seq) FROM proj_history h2"
            "  WHERE h2.registration_id = r.registration_id AND h2.at <= ?) "
            "WHERE r.title_years IS NOT NULL AND r.number IS NOT NULL AND r.approved_at <= ? "
            "ORDER BY r.number",
            (moment, moment),
        )
        eligible = []
        for (
            rid,
            number,
            masked,
            years,
            first_bad,
            status,
            valid_until,
            dishonest,
            run_start,
            numbered,
        ) in rows:
            if not numbered or status != Status.ACTIVE.value or dishonest:
                continue
            if first_bad is not None and first_bad <= moment:
                continue
            until = parse_date(valid_until)
            if until is not None and on > until:
                continue
            since = parse_ts(run_start)
            if since is None or add_years(since.date(), int(years)) > on:
                continue
            eligible.append(EligibilityView(UUID(rid), number, masked, since))
        return eligible

    def statistics(self, today: date | None = None) -> Statistics:
        day = self._today(today)
        public_sql, public_params = _public_status_sql(day)
        grouped = self.db.query(
            f"SELECT scheme, region, {public_sql} AS public_status, "
            "CASE WHEN number IS NULL THEN 0 ELSE 1 END AS numbered, COUNT(*) "
            "FROM proj_registration GROUP BY 1, 2, 3, 4",
            public_params,
        )
        by_scheme: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_region: dict[str, int] = {}
        by_scheme_status: dict[str, dict[str, int]] = {}
        total = numbered = 0
        for scheme, region, status, is_numbered, count in grouped:
            n = int(count)
            total += n
            numbered += n if is_numbered else 0
            by_scheme[scheme] = by_scheme.get(scheme, 0) + n
            by_status[status] = by_status.get(status, 0) + n
            by_region[region] = by_region.get(region, 0) + n
            per = by_scheme_status.setdefault(scheme, {})
            per[status] = per.get(status, 0) + n
        queue = self.review_queue(day)
        dishonest = self.db.query("SELECT COUNT(*) FROM proj_registration WHERE dishonest = 1")
        turnaround: dict[str, list[int]] = {}
        for scheme, submitted_at, decided_at in self.db.query(
            "SELECT scheme, submitted_at, decided_at FROM proj_decision"
        ):
            submitted, decided = parse_ts(submitted_at), parse_ts(decided_at)
            if submitted is None or decided is None:
                continue
            days = self.calendar.working_days_between(submitted.date(), decided.date())
            turnaround.setdefault(scheme, []).append(max(0, days))
        everything = sorted(d for values in turnaround.values() for d in values)
        return Statistics(
            today=day,
            total=total,
            numbered=numbered,
            permitted=by_status.get(Status.ACTIVE.value, 0),
            by_scheme=dict(sorted(by_scheme.items())),
            by_status=dict(sorted(by_status.items())),
            by_region=dict(sorted(by_region.items())),
            by_scheme_status={
                k: dict(sorted(v.items())) for k, v in sorted(by_scheme_status.items())
            },
            in_review=len(queue),
            overdue_reviews=sum(1 for item in queue if item.overdue),
            dishonest=int(dishonest[0][0]),
            decisions=len(everything),
            turnaround_median_working_days=_median(everything),
            turnaround_p90_working_days=_p90(everything),
            turnaround_by_scheme={
                scheme: {"median": _median(sorted(v)), "p90": _p90(sorted(v)), "count": len(v)}
                for scheme, v in sorted(turnaround.items())
            },
            position=self.position(),
        )

    def snapshot(self) -> dict[str, Any]:
        """Every view's full content in a canonical order: rebuilt and incremental must match."""
        out: dict[str, Any] = {"position": self.position()}
        keys = {
            "proj_registration": ("registration_id",),
            "proj_history": ("registration_id", "seq"),
            "proj_decision": ("registration_id", "seq"),
        }
        columns = {
            "proj_registration": _STATE_COLUMNS,
            "proj_history": HISTORY_COLUMNS,
            "proj_decision": DECISION_COLUMNS,
        }
        for table in VIEW_TABLES:
            cols = columns[table]
            rows = self.db.query(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(keys[table])}"
            )
            out[table] = [dict(zip(cols, row, strict=True)) for row in rows]
        return out


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _median(values: Sequence[int]) -> float | None:
    return float(stats.median(values)) if values else None


def _p90(values: Sequence[int]) -> float | None:
    """Nearest-rank 90th percentile of sorted `values`: an actual observed turnaround."""
    if not values:
        return None
    return float(values[max(0, math.ceil(0.9 * len(values)) - 1)])
