"""How the error handlers classify failures (issue 9 item 8): a store that cannot serve is a
503 `store.unavailable` with Retry-After on every route (a page for the HTML routes), found
also behind wrapping exceptions; anything else is still a 500."""

from __future__ import annotations

import errno
import logging
import sqlite3

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from verify_api.errors import install_error_handlers
from verify_api.verification import StatusUnavailable


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    failures: dict[str, Exception] = {
        "readonly": sqlite3.OperationalError("attempt to write a readonly database"),
        "full": sqlite3.OperationalError("database or disk is full"),
        "enospc": OSError(errno.ENOSPC, "No space left on device"),
        "pg_down": psycopg.OperationalError("connection failed: Connection refused"),
        "status": StatusUnavailable("OperationalError"),
        "bug": KeyError("not a store problem"),
        "missing_file": FileNotFoundError(errno.ENOENT, "No such file", "x.pdf"),
    }

    def fail(name: str) -> None:
        if name == "wrapped":
            try:
                raise psycopg.errors.AdminShutdown("terminating connection")
            except psycopg.Error as exc:
                raise RuntimeError("projection catch-up failed") from exc
        raise failures[name]

    @app.get("/")
    def page() -> None:
        fail("pg_down")

    @app.get("/api/v1/fail/{name}")
    def api(name: str) -> None:
        fail(name)

    return app


@pytest.mark.parametrize("name", ["readonly", "full", "enospc", "pg_down", "status", "wrapped"])
def test_store_failures_are_503_with_retry_after(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "verify_api"):
        r = TestClient(_app(), raise_server_exceptions=False).get(f"/api/v1/fail/{name}")
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "store.unavailable" and int(r.headers["retry-after"]) >= 1
    assert all(rec.exc_info is None for rec in caplog.records)  # one line, no traceback


def test_html_routes_get_a_503_page_and_other_failures_stay_500() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    r = client.get("/")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "Temporarily unavailable" in r.text and "Traceback" not in r.text
    assert r.headers["retry-after"]
    for name in ("bug", "missing_file"):  # a bug or a missing file is not "retry later"
        r = client.get(f"/api/v1/fail/{name}")
        assert r.status_code == 500 and r.json()["code"] == "internal.error"
