"""Numbered schema migrations for our own tables: everything but the event store's.

Why a runner of our own rather than Alembic or yoyo: Alembic needs SQLAlchemy, which nothing
else here uses; yoyo opens its own connections from a URL and keeps its own lock table. Our
tables are plain DDL on the one SQL adapter (`registry.adapters.sql`), and what we need is
small: apply ``NNNN_name.sql`` files in order, once, record them in ``schema_migrations``,
and let two processes that start together agree. The event store's tables, triggers and
MAC columns stay with the recorder subclasses (`registry.adapters.event_store`), as in the
library's own examples; the read models in `projections` version and rebuild their own
tables (a schema change there is a replay into shadow tables, not an ALTER).

A migration is ``NNNN_name.sql`` for both stores, or a ``NNNN_name.sqlite.sql`` /
``NNNN_name.postgres.sql`` pair where the dialects differ. Statements end with ``;`` at the
end of a line. Every migration runs with the ones before it in ONE transaction that first
takes a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock
per schema), so a second process waits, then finds nothing left to do. DDL is transactional
on both stores, so a failing migration leaves no half-made table behind.

Stores written before migrations existed already hold some of these tables: the migrations
that create them say ``CREATE TABLE IF NOT EXISTS``, so they adopt such a table as it is.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable

from registry.application.ports import Cursor, Database

MIGRATIONS_TABLE = "schema_migrations"

_FILE = re.compile(
    r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>sqlite|postgres))?\.sql"
)
_DIALECTS = ("sqlite", "postgres")
_END_OF_STATEMENT = re.compile(r";[ \t]*(?:\n|\Z)")

_CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class MigrationError(RuntimeError):
    """The migrations on disk and those recorded in the store disagree."""


@dataclass(frozen=True)
class Migration:
    """One numbered migration as written for one dialect."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL, so a migration edited after it was applied is noticed."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)


def split_statements(sql: str) -> list[str]:
    """The statements of a migration file: ``--`` comment lines dropped, split at ``;``."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in _END_OF_STATEMENT.split(text) if part.strip()]


def available(dialect: str, source: Traversable | None = None) -> list[Migration]:
    """The migrations for ``dialect`` in ``source`` (default: this package), in order.

    Refuses gaps, a version both shared and per-dialect, and a dialect left without one.
    """
    if dialect not in _DIALECTS:
        raise MigrationError(f"no migrations for dialect {dialect!r}")
    found: dict[int, dict[str | None, tuple[str, str]]] = {}
    for entry in (source or resources.files(__package__)).iterdir():
        match = _FILE.fullmatch(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        variants = found.setdefault(version, {})
        variants[match["dialect"]] = (match["name"], entry.read_text(encoding="utf-8"))
    migrations: list[Migration] = []
    for position, version in enumerate(sorted(found), start=1):
        variants = found[version]
        if version != position:
            raise MigrationError(f"migration {position:04d} is missing (next is {version:04d})")
        if None in variants and len(variants) > 1:
            raise MigrationError(f"migration {version:04d} is both shared and per-dialect")
        if len({name for name, _ in variants.values()}) > 1:
            raise MigrationError(f"migration {version:04d} has differently named variants")
        chosen = variants.get(None) or variants.get(dialect)
        if chosen is None:
            raise MigrationError(f"migration {version:04d} has no {dialect} variant")
        migrations.append(Migration(version, *chosen))
    return migrations


def migrate(db: Database, migrations: Sequence[Migration] | None = None) -> list[Migration]:
    """Apply every migration not yet recorded, in order; returns those applied now.

    Idempotent and safe to call from every process at start-up: the whole run is one
    transaction behind the migration lock.
    """
    wanted = list(available(db.dialect) if migrations is None else migrations)
    with db.transaction() as cur:
        _lock(cur, db.dialect)
        cur.execute(_CREATE_TABLE)
        applied = _recorded(cur)
        _check(applied, wanted)
        pending = [m for m in wanted if m.version not in applied]
        for migration in pending:
            for statement in migration.statements:
                cur.execute(statement)
            cur.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, checksum, applied_at)"
                " VALUES (?, ?, ?, ?)",
                (
                    migration.version,
                    migration.name,
                    migration.checksum,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
    return pending


@contextmanager
def startup_lock(db: Database) -> Iterator[None]:
    """Hold one process's whole start-up (migrations, then the event store's own tables)
    while another process sets up the same PostgreSQL schema.

    The library's ``CREATE TABLE IF NOT EXISTS`` for the event table is not safe when two
    processes run it on an empty schema at once (one fails on a duplicate catalog entry), so
    the composition root holds this advisory lock around opening the app. SQLite needs
    none: its file lock already serialises DDL, and holding a transaction here would
    block the recorder's own connection.
    """
    if db.dialect != "postgres":
        yield
        return
    with db.transaction() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(?), hashtext(current_schema()))",
            ("registry.startup",),
        )
        yield


def applied_versions(db: Database) -> list[tuple[int, str]]:
    """``(version, name)`` of every recorded migration, oldest first (empty if none ran)."""
    with db.transaction() as cur:
        cur.execute(_CREATE_TABLE)
        return [(v, name) for v, (name, _) in sorted(_recorded(cur).items())]


def _lock(cur: Cursor, dialect: str) -> None:
    """Serialise migration runs. SQLite's transaction is already BEGIN IMMEDIATE (the write
    lock); PostgreSQL takes an advisory lock released at commit, keyed by the schema so
    that stores in different schemas do not wait for each other."""
    if dialect == "postgres":
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(?), hashtext(current_schema()))",
            (MIGRATIONS_TABLE,),
        )


def _recorded(cur: Cursor) -> dict[int, tuple[str, str]]:
    cur.execute(f"SELECT version, name, checksum FROM {MIGRATIONS_TABLE}")
    return {int(row[0]): (str(row[1]), str(row[2])) for row in cur.fetchall()}


def _check(applied: dict[int, tuple[str, str]], wanted: Sequence[Migration]) -> None:
    known = {m.version: m for m in wanted}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise MigrationError(
            f"the store has migration {newer[-1]:04d}, which this release does not know:"
            " it was opened by a newer release"
        )
    for version, (name, checksum) in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{name} was changed after this store applied it;"
                " add a new migration instead of editing an applied one"
            )
