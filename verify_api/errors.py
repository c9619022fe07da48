"""One error shape for every refusal: JSON `{code, message}` with a stable code.

Handlers never echo request bodies or exception details that could carry personal data,
and an unexpected exception becomes a bare 500 `internal.error` (its traceback goes to the
server log only, by exception type and request path).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    DomainError,
    DuplicateApplication,
    Ineligible,
    NotPermitted,
)
from registry.errors import ConcurrencyConflict, IdempotencyKeyReused, NotFound

log = logging.getLogger("verify_api")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx response."""

    code: str = Field(examples=["registration.not_found"])
    message: str = Field(examples=["no registration with number SIE-44-2026-0000017"])
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems or unmet conditions, when there are any."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "The request is malformed (`request.invalid`)."},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After."},
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
    if exc.code in {"registration.invalid_transition", "user.duplicate"}:
        return 409
    if exc.code == "user.not_found":
        return 404
    return 422


_STATUS_CODES = {
    400: "request.bad",
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return error_response(500, "internal.error", "the registry could not complete the request")
