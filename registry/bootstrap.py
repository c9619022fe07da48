"""The composition root: the one place that builds adapters and hands them to the application.

Entry points (CLI, HTTP), the demo and the benchmarks call :func:`open_app` and
:func:`open_projections`, so all of them see the same settings, clock, secrets and
working-day calendar; nothing else constructs `RegistryApp`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from domain.workdays import WorkingCalendar
from projections import ReadModelPorts, RebuildLockTarget, RegistryProjections
from registry.adapters.bulk_reports import SqlBulkReports
from registry.adapters.credential_archive import CredentialArchive
from registry.adapters.event_store.sqlite import create_private_file
from registry.adapters.evidence_files import EvidenceFiles
from registry.adapters.holidays import default_calendar
from registry.adapters.migrations import migrate, startup_lock
from registry.adapters.secrets import SecretFiles
from registry.adapters.sql import (
    Database,
    bound_reconnect_backoff,
    check_postgres_reachable,
    describe_store_failure,
    is_store_failure,
    open_database,
    raise_if_store_file_error,
)
from registry.adapters.users import UserStore
from registry.adapters.vault import PersonalDataVault
from registry.application.certificates import CredentialArchive as CredentialArchivePort
from registry.application.clock import Clock
from registry.application.ports import BulkReports
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.application.users import Users

__all__ = [
    "describe_store_failure",
    "is_store_failure",
    "open_app",
    "open_bulk_reports",
    "open_credential_archive",
    "open_projections",
    "open_users",
    "registry_session",
    "reset_store",
    "store_has_registrations",
    "working_calendar",
]


def open_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    *,
    database: Database | None = None,
) -> RegistryApp:
    """The registry application on the configured store (SQLite unless told otherwise).

    Opening applies the pending schema migrations (`registry.adapters.migrations`), creates
    the event tables and the default scheme policies when they do not exist yet, so this is
    also what `registry init` does.
    An unreachable PostgreSQL server fails here at once (`psycopg.OperationalError`), not
    after the pools' connect timeout.
    """
    settings = settings or Settings.load()
    if settings.store == "postgres":
        check_postgres_reachable(settings)
        app = _build(settings, clock, database)
        # The event store's pool comes from eventsourcing, which sets no reconnect window.
        bound_reconnect_backoff(getattr(getattr(app.recorder, "datastore", None), "pool", None))
        return app
    try:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        create_private_file(str(settings.sqlite_path))  # 0600 before anything connects
        return _build(settings, clock, database)
    except OSError as exc:
        raise_if_store_file_error(settings, exc)
        raise


def _build(settings: Settings, clock: Clock | None, database: Database | None) -> RegistryApp:
    db = database or open_database(settings)
    secrets = SecretFiles(settings.keys_dir, create_missing=settings.create_missing_secrets)
    hmac_key = bytes.fromhex(settings.pii_hmac_key) if settings.pii_hmac_key else None
    try:
        with startup_lock(db):  # two processes opening a new store at once take turns
            migrate(db)
            vault = PersonalDataVault(db, secrets, hmac_key=hmac_key)
            return RegistryApp(
                settings,
                clock=clock,
                database=db,
                vault=vault,
                evidence_files=EvidenceFiles(settings.evidence_root),
            )
    except BaseException:
        db.close()
        raise


def working_calendar(settings: Settings) -> WorkingCalendar:
    """The working-day calendar: chinesecalendar data plus the operator's holiday files."""
    return default_calendar(settings.holiday_file)


def open_projections(
    app: RegistryApp,
    calendar: WorkingCalendar | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> RegistryProjections:
    """The read models on the application's store (tables are created on first use).

    The read side gets only its port: the app's recorder, mapper, database and clock, the
    working calendar, the vault's masked-name lookup and where the rebuild lock lives.
    """
    settings = app.settings
    ports = ReadModelPorts(
        notifications=app.recorder,
        mapper=app.mapper,
        database=app.db,
        clock=app.clock,
        calendar=calendar or working_calendar(settings),
        masked_name=app.vault.masked_name,
        business_time=app.business_time,
        rebuild_lock=RebuildLockTarget(
            store=settings.store,
            describe=settings.describe_store(),
            sqlite_path=settings.sqlite_path,
            postgres_dsn=settings.postgres_dsn if settings.store == "postgres" else None,
            postgres_schema=settings.postgres_schema,
        ),
    )
    return RegistryProjections(ports, progress=progress)


def open_users(app: RegistryApp) -> Users:
    """The API users on the application's store."""
    return UserStore(app.db)


def open_credential_archive(app: RegistryApp) -> CredentialArchivePort:
    """The archive of issued credentials on the application's store."""
    return CredentialArchive(app.db)


def open_bulk_reports(app: RegistryApp) -> BulkReports:
    """The append-only store of signed bulk tender check reports on the application's store."""
    return SqlBulkReports(app.db)


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
