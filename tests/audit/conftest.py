"""Fixtures for the audit tests; ``postgres_dsn`` is generic enough to move up later."""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _redacted(dsn: str) -> str:
    """The DSN for a skip message, without a password that would end up in CI logs."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**{key: str(value) for key, value in parts.items()})


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A reachable PostgreSQL DSN, or a visible skip saying which server was tried and why."""
    dsn = os.environ.get("REGISTRY_TEST_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL not reachable at {_redacted(dsn)}: {exc}")
    return dsn
