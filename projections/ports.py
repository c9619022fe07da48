"""What the read side needs from the outside world, and nothing more.

Why a port: the projector used to take the whole `RegistryApp` (and with it the vault, the
settings and every adapter), which tied `projections` to `registry` and `registry` back to
`projections`. Now the composition root (`registry.bootstrap.open_projections`) hands in
these few things, so the read models depend on the domain alone and tests can fake them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from uuid import UUID

from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime
from domain.workdays import WorkingCalendar

Row = tuple[Any, ...]


class Notification(Protocol):
    """One entry of the event log, as the recorder lists it."""

    @property
    def id(self) -> int: ...
    @property
    def topic(self) -> str: ...


class NotificationLog(Protocol):
    """The event log in notification order (the `eventsourcing` application recorder)."""

    def select_notifications(self, start: int, limit: int) -> Sequence[Any]: ...
    def max_notification_id(self) -> int | None: ...


class EventMapper(Protocol):
    """Turns a stored notification back into its typed domain event (upcasting old forms)."""

    def to_domain_event(self, stored_event: Any) -> Any: ...


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Row | None: ...
    def fetchall(self) -> list[Row]: ...


class Database(Protocol):
    """The store the read models live in (the event store's database), `?` placeholders."""

    @property
    def dialect(self) -> str: ...
    def transaction(self) -> AbstractContextManager[Cursor]: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


MaskedNameLookup = Callable[[UUID, str], "str | None"]
"""(subject id, personal-data ciphertext) → the masked name, or None once erased."""


@dataclass(frozen=True)
class RebuildLockTarget:
    """Where the one-rebuild-at-a-time lock lives: a file beside a SQLite store, or a
    PostgreSQL advisory lock keyed by schema. `describe` names the store in refusals."""

    store: Literal["sqlite", "postgres"]
    describe: str
    sqlite_path: Path | None = None
    postgres_dsn: str | None = None
    postgres_schema: str = "public"


@dataclass(frozen=True)
class ReadModelPorts:
    """Everything `RegistryProjections` uses; built by the composition root."""

    notifications: NotificationLog
    mapper: EventMapper
    database: Database
    clock: Clock
    calendar: WorkingCalendar
    masked_name: MaskedNameLookup
    rebuild_lock: RebuildLockTarget
    business_time: BusinessTime = DEFAULT_BUSINESS_TIME
    """The registry's zone: "on day D" and "as of D" are local calendar days."""
