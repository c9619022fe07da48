"""What the CLI and the HTTP service share: opening the registry, its projections, progress.

Adapters never construct `RegistryApp` or the projections themselves; they call
:func:`open_app` and :func:`open_projections` so both see the same settings, clock and
working-day calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from registry.application.clock import Clock
from registry.application.service import RegistryApp
from registry.application.settings import Settings

if TYPE_CHECKING:
    from domain.workdays import WorkingCalendar
    from projections import RegistryProjections

__all__ = [
    "open_app",
    "open_projections",
    "registry_session",
    "reset_store",
    "store_has_registrations",
    "working_calendar",
]


def open_app(settings: Settings | None = None, clock: Clock | None = None) -> RegistryApp:
    """The registry application on the configured store (SQLite unless told otherwise).

    Opening creates the event tables, the personal-data vault tables and the default
    scheme policies when they do not exist yet, so this is also what `registry init` does.
    An unreachable PostgreSQL server fails here at once (`psycopg.OperationalError`), not
    after the pools' connect timeout.
    """
    from registry.adapters.sql import (
        bound_reconnect_backoff,
        check_postgres_reachable,
        raise_if_store_file_error,
    )

    settings = settings or Settings.load()
    if settings.store != "postgres":
        try:
            return RegistryApp(settings, clock=clock)
        except OSError as exc:
            raise_if_store_file_error(settings, exc)
            raise

    check_postgres_reachable(settings)
    app = RegistryApp(settings, clock=clock)
    # The event store's pool comes from eventsourcing, which sets no reconnect window.
    bound_reconnect_backoff(getattr(getattr(app.recorder, "datastore", None), "pool", None))
    return app


def working_calendar(settings: Settings) -> WorkingCalendar:
    """The working-day calendar: chinesecalendar data plus the operator's holiday files."""
    from registry.adapters.holidays import default_calendar

    return default_calendar(settings.holiday_file)


def open_projections(app: RegistryApp) -> RegistryProjections:
    """The read models on the application's store (tables are created on first use)."""
    from projections import RegistryProjections

    return RegistryProjections(app, calendar=working_calendar(app.settings))


@contextmanager
def registry_session(
    settings: Settings | None = None, clock: Clock | None = None
) -> Iterator[RegistryApp]:
    """`open_app` that always closes the store's connections, also on errors."""
    app = open_app(settings, clock)
    try:
        yield app
    finally:
        app.close()


def store_has_registrations(app: RegistryApp) -> bool:
    """Whether any registration was ever drafted in this store."""
    return next(iter(app.registration_ids()), None) is not None


def reset_store(settings: Settings) -> str:
    """Delete everything in the configured store (demo `--fresh`); returns what was reset.

    SQLite: the database file and its WAL/SHM side files. PostgreSQL: every table in the
    configured schema (events, vault keys, projections), not the schema itself.
    """
    if settings.store == "postgres":
        from registry.adapters.sql import open_database

        db = open_database(settings)
        try:
            with db.transaction() as cur:
                cur.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = ?",
                    (settings.postgres_schema,),
                )
                tables = [str(row[0]) for row in cur.fetchall()]
                for name in tables:
                    quoted = '"' + name.replace('"', '""') + '"'
                    schema = '"' + settings.postgres_schema.replace('"', '""') + '"'
                    cur.execute(f"DROP TABLE IF EXISTS {schema}.{quoted} CASCADE")
        finally:
            db.close()
        return f"dropped {len(tables)} tables in schema {settings.postgres_schema}"
    removed = 0
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = settings.sqlite_path.with_name(settings.sqlite_path.name + suffix)
        if path.exists():
            path.unlink()
            removed += 1
    return f"removed {settings.sqlite_path}" if removed else "nothing to remove"
