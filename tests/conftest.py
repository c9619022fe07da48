"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh schema each and skip, with the reason shown, when no server
is reachable (set REGISTRY_TEST_POSTGRES_DSN to point elsewhere).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from registry.application.clock import SimulatedClock
from registry.application.settings import Settings

POSTGRES_DSN = os.environ.get(
    "REGISTRY_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


def _redacted(dsn: str) -> str:
    """The DSN for a skip message, without a password that would end up in CI logs."""
    try:
        parts = conninfo_to_dict(dsn)
    except ProgrammingError:
        return "<unparsable DSN>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**{key: str(value) for key, value in parts.items()})


def _postgres_problem() -> str | None:
    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at {_redacted(POSTGRES_DSN)}: {type(exc).__name__}: {exc}"
    return None


_PG_PROBLEM: str | bool | None = False


def postgres_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_problem()
    return _PG_PROBLEM  # type: ignore[return-value]


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A reachable PostgreSQL DSN; else a visible skip (a failure if REGISTRY_REQUIRE_POSTGRES)."""
    problem = postgres_problem()
    if problem:
        if os.environ.get("REGISTRY_REQUIRE_POSTGRES"):
            pytest.fail(f"REGISTRY_REQUIRE_POSTGRES is set but {problem}")
        pytest.skip(problem)
    return POSTGRES_DSN


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_settings(schema: str, **extra: object) -> Settings:
    """Settings for the test server's ``schema`` (the DSN parsed by libpq's rules, so a
    percent-encoded or key=value DSN gives the same parts)."""
    parts = conninfo_to_dict(POSTGRES_DSN)
    return Settings(
        store="postgres",
        postgres_host=str(parts.get("host") or "127.0.0.1"),
        postgres_port=int(parts.get("port") or 5432),
        postgres_dbname=str(parts.get("dbname") or "test"),
        postgres_user=str(parts.get("user") or "postgres"),
        postgres_password=str(parts.get("password") or ""),
        postgres_schema=schema,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh, empty store of each kind."""
    if request.param == "sqlite":
        return Settings(
            sqlite_path=tmp_path / "registry.sqlite",
            keys_dir=tmp_path / "keys",
            create_missing_secrets=True,
        )
    schema = request.getfixturevalue("postgres_schema")
    return postgres_settings(schema, keys_dir=tmp_path / "keys", create_missing_secrets=True)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
