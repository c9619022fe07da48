"""The read models' table sets: the live one the public reads, and the shadow a rebuild fills.

A rebuild never touches the live tables: it folds the whole log into `<table>__shadow`
under its own tracking row, then switches in one transaction (rename live to
`<table>__retired`, shadow to live, carry the shadow's position over to the live tracking
row). Plain `ALTER TABLE ... RENAME TO` is transactional on both SQLite and PostgreSQL, and
the tables keep their names, so every reader, writer and tool keeps using `proj_*`.

Index names are schema-global and travel with a renamed table, so every creation of a table
set gives its indexes a fresh tag: a shadow built after a switch never collides with the
indexes of the set that is now live.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from projections.fold import DECISION_COLUMNS, HISTORY_COLUMNS, RegState
from projections.ports import Cursor, Database

PROJECTION_NAME = "registry_views"
VIEW_TABLES = ("proj_registration", "proj_history", "proj_decision")
SHADOW_SUFFIX = "__shadow"
RETIRED_SUFFIX = "__retired"

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS proj_tracking (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL, schema_version INTEGER NOT NULL)"
)

STATE_COLUMNS = RegState.columns()


@dataclass(frozen=True)
class TableSet:
    """One complete set of view tables plus the tracking row that says how far it got."""

    suffix: str
    tracking_name: str

    @property
    def registration(self) -> str:
        return f"proj_registration{self.suffix}"

    @property
    def history(self) -> str:
        return f"proj_history{self.suffix}"

    @property
    def decision(self) -> str:
        return f"proj_decision{self.suffix}"

    @property
    def tables(self) -> tuple[str, str, str]:
        return (self.registration, self.history, self.decision)

    @property
    def state_select(self) -> str:
        return f"SELECT {', '.join(STATE_COLUMNS)} FROM {self.registration}"

    @property
    def state_upsert(self) -> str:
        return (
            f"INSERT INTO {self.registration} ({', '.join(STATE_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in STATE_COLUMNS)}) "
            "ON CONFLICT (registration_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS if c != "registration_id")
        )

    @property
    def history_insert(self) -> str:
        return (
            f"INSERT INTO {self.history} ({', '.join(HISTORY_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in HISTORY_COLUMNS)})"
        )

    @property
    def decision_insert(self) -> str:
        return (
            f"INSERT INTO {self.decision} ({', '.join(DECISION_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in DECISION_COLUMNS)})"
        )

    def ddl(self, table: str) -> list[str]:
        """CREATE statements for one of this set's tables, its indexes freshly tagged."""
        tag = uuid.uuid4().hex[:10]
        base = table.removesuffix(self.suffix) if self.suffix else table
        if base == "proj_registration":
            return [
                f"CREATE TABLE {table} ("
                " registration_id TEXT PRIMARY KEY, scheme TEXT NOT NULL,"
                " created_at TEXT NOT NULL, review_days INTEGER NOT NULL,"
                " fv_days INTEGER NOT NULL, validity_years INTEGER NOT NULL,"
                " title_years INTEGER, ce_renews INTEGER NOT NULL, ce_annual INTEGER NOT NULL,"
                " subject_id TEXT NOT NULL, number TEXT UNIQUE, status TEXT NOT NULL,"
                " status_reason TEXT NOT NULL, status_since TEXT NOT NULL, valid_until TEXT,"
                " submitted_at TEXT, approved_at TEXT, reinstated_at TEXT, employer_id TEXT,"
                " employer_name TEXT, region TEXT NOT NULL, masked_name TEXT,"
                " erased INTEGER NOT NULL, dishonest INTEGER NOT NULL, dishonest_since TEXT,"
                " dishonest_reason TEXT, certificate_serial TEXT, first_bad_at TEXT,"
                " run_start TEXT, updated_at TEXT NOT NULL, version INTEGER NOT NULL,"
                " history_seq INTEGER NOT NULL, decision_seq INTEGER NOT NULL,"
                " pending_employer_id TEXT, pending_employer_name TEXT,"
                " pending_endorsed INTEGER NOT NULL, owner_id TEXT, title_regions TEXT NOT NULL,"
                " lapses INTEGER NOT NULL)",
                f"CREATE INDEX proj_registration_pending_{tag} ON {table} (pending_employer_id)",
                f"CREATE INDEX proj_registration_owner_{tag} ON {table} (owner_id)",
                f"CREATE INDEX proj_registration_employer_{tag} ON {table} (employer_id)",
                f"CREATE INDEX proj_registration_status_{tag} ON {table} (status)",
                f"CREATE INDEX proj_registration_valid_{tag} ON {table} (valid_until)",
            ]
        if base == "proj_history":
            return [
                f"CREATE TABLE {table} ("
                " registration_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,"
                " status TEXT NOT NULL, reason_code TEXT NOT NULL, since TEXT NOT NULL,"
                " valid_until TEXT, numbered INTEGER NOT NULL, employer_id TEXT,"
                " employer_name TEXT, dishonest INTEGER NOT NULL, run_start TEXT,"
                " pending_employer_id TEXT, pending_endorsed INTEGER NOT NULL,"
                " PRIMARY KEY (registration_id, seq))",
                f"CREATE INDEX proj_history_at_{tag} ON {table} (registration_id, at)",
            ]
        if base == "proj_decision":
            return [
                f"CREATE TABLE {table} ("
                " registration_id TEXT NOT NULL, seq INTEGER NOT NULL, scheme TEXT NOT NULL,"
                " decision TEXT NOT NULL, submitted_at TEXT, decided_at TEXT NOT NULL,"
                " PRIMARY KEY (registration_id, seq))"
            ]
        raise ValueError(f"not a view table: {table}")


LIVE = TableSet("", PROJECTION_NAME)
SHADOW = TableSet(SHADOW_SUFFIX, PROJECTION_NAME + SHADOW_SUFFIX)


def retired(table: str) -> str:
    return table + RETIRED_SUFFIX


def table_exists(cur: Cursor, dialect: str, table: str) -> bool:
    if dialect == "postgres":
        cur.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    else:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return cur.fetchone() is not None


def placeholders(values: Sequence[object]) -> str:
    """`(?, ?, …)` for an IN list of `values`."""
    return "(" + ", ".join("?" for _ in values) + ")"


def tracked_position(db: Database, tables: TableSet) -> int:
    """The notification id up to which `tables` were built (0 before the first batch)."""
    rows = db.query("SELECT position FROM proj_tracking WHERE name = ?", (tables.tracking_name,))
    return int(rows[0][0]) if rows else 0
