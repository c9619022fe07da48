"""One error shape for every refusal: JSON `{code, message}` with a stable code.

Handlers never echo request bodies or exception details that could carry personal data,
and an unexpected exception becomes a bare 500 `internal.error` (its traceback goes to the
server log only, by exception type and request path). A store that cannot serve right now
(PostgreSQL down or restarting, a full disk, a read-only SQLite file) is not a bug: it is a
503 `store.unavailable` with `Retry-After` on every route, and an HTML page for browsers.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    DomainError,
    DuplicateApplication,
    Ineligible,
    NotPermitted,
)
from registry.application import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    NotFound,
    SecretUnavailable,
    StoreIntegrityError,
)
from registry.bootstrap import describe_store_failure, is_store_failure
from verify_api.verification import StatusUnavailable

log = logging.getLogger("verify_api")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx response."""

    code: str = Field(examples=["registration.not_found"])
    message: str = Field(examples=["no registration with number SIE-44-2026-0000017"])
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems or unmet conditions, when there are any."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "Request body too large (`request.too_large`)."},
    414: {"model": ErrorBody, "description": "URL too long (`request.uri_too_long`)."},
    422: {"model": ErrorBody, "description": "The request is malformed (`request.invalid`)."},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After."},
    503: {
        "model": ErrorBody,
        "description": "The store cannot serve right now (`store.unavailable`); see Retry-After.",
    },
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or invalid bearer token."},
    403: {"model": ErrorBody, "description": "The caller's role may not do this."},
    404: {"model": ErrorBody, "description": "No such registration."},
    409: {"model": ErrorBody, "description": "Conflict: stale version or invalid transition."},
    **ERROR_RESPONSES,
}


class ApiError(Exception):
    """An HTTP-layer refusal with a stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def domain_status(exc: DomainError) -> int:
    """HTTP status for a domain refusal."""
    if isinstance(exc, NotPermitted):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, ConcurrencyConflict | DuplicateApplication | IdempotencyKeyReused):
        return 409
    if exc.code in {
        "registration.invalid_transition",
        "certificate.not_permitted",
        "user.duplicate",
    }:
        return 409
    if exc.code == "user.not_found":
        return 404
    return 422


STORE_RETRY_AFTER_SECONDS = 5
_STORE_MESSAGE = "the registry's data store is temporarily unavailable; retry later"
# Server-rendered pages get a page, not JSON (CSS from /static keeps the CSP intact).
_PAGE_PATHS = frozenset({"/", "/v", "/lookup"})
_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>暂时无法查询 · Temporarily unavailable</title>
<link rel="stylesheet" href="/static/verify.css"></head>
<body><main>
<h1>暂时无法查询</h1>
<p>注册数据库暂时不可用，请稍后再试。此页面不表示证书有效或无效。</p>
<h1 lang="en">Temporarily unavailable</h1>
<p lang="en">The registry's database is temporarily unavailable; please try again in a few
seconds. This page says nothing about whether a credential is valid.</p>
</main></body></html>
"""


def store_unavailable_response(
    message: str = _STORE_MESSAGE,
    *,
    html: bool = False,
    details: list[dict[str, Any]] | None = None,
) -> Response:
    """503 `store.unavailable` with Retry-After (an HTML page when a browser asked)."""
    headers = {"Retry-After": str(STORE_RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if html:
        return HTMLResponse(_UNAVAILABLE_PAGE, status_code=503, headers=headers)
    return error_response(503, "store.unavailable", message, headers=headers, details=details)


def _wants_html(request: Request) -> bool:
    return request.method in {"GET", "HEAD"} and request.url.path in _PAGE_PATHS


def _store_failure(request: Request, exc: BaseException) -> Response:
    log.warning(
        "store unavailable on %s %s: %s",
        request.method,
        request.url.path,
        describe_store_failure(exc),
    )
    return store_unavailable_response(html=_wants_html(request))


_STATUS_CODES = {
    400: "request.bad",
    414: "request.uri_too_long",
    401: "auth.required",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "method.not_allowed",
    406: "request.not_acceptable",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status, exc.code, exc.message, headers=exc.headers, details=exc.details
        )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        details = None
        if isinstance(exc, Ineligible):
            details = [{"code": u.code, "message": u.message} for u in exc.unmet]
        return error_response(domain_status(exc), exc.code, exc.message, details=details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "type": str(err.get("type", "")),
                "message": str(err.get("msg", "")),
            }
            for err in exc.errors()
        ]
        return error_response(
            422, "request.invalid", "the request does not match the API schema", details=details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # an unparseable body is a malformed request like any other
            return error_response(422, "request.invalid", "the request body cannot be parsed")
        code = _STATUS_CODES.get(exc.status_code, f"http.{exc.status_code}")
        message = str(exc.detail) if exc.status_code != 404 else "no such resource"
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, headers=headers)

    async def _maybe_store(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StatusUnavailable) or is_store_failure(exc):
            return _store_failure(request, exc)
        raise exc  # not the store's fault: the 500 handler below logs it

    # Store errors are caught here, before Starlette's outermost handler (which would log
    # a traceback for every request while the database is down).
    for kind in _store_exception_types():
        app.add_exception_handler(kind, _maybe_store)

    @app.exception_handler(StoreIntegrityError)
    async def _integrity(request: Request, exc: StoreIntegrityError) -> JSONResponse:
        # Somebody wrote to the event log behind the registry's back: refuse to answer from
        # it (never apply a forged event) and shout, without the event's contents.
        log.critical(
            "event store integrity failure on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return error_response(
            503,
            "store.integrity",
            "the registry cannot vouch for its records right now; an operator has been alerted",
            headers={"Cache-Control": "no-store"},
        )

    @app.exception_handler(SecretUnavailable)
    async def _secrets(request: Request, exc: SecretUnavailable) -> JSONResponse:
        log.critical("secret key unavailable on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "secrets.missing",
            "the registry's keys are not available right now; an operator has been alerted",
            headers={"Cache-Control": "no-store"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if is_store_failure(exc):
            return _store_failure(request, exc)
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return error_response(500, "internal.error", "the registry could not complete the request")


def _store_exception_types() -> tuple[type[Exception], ...]:
    """Exception base classes a store failure arrives as (the handler looks closer)."""
    return (sqlite3.Error, psycopg.Error, PersistenceError, OSError, StatusUnavailable)
