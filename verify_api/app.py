"""The FastAPI app factory: one router per audience, shared services, one error shape.

`create_app()` with no arguments opens the configured store (SQLite by default); tests and
the CLI pass their own `RegistryApp` and clock. Served by uvicorn (`registry serve`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from domain.evidence import MAX_EVIDENCE_BYTES
from registry.application import Clock, RegistryApp, Settings
from registry.bootstrap import (
    open_app,
    open_bulk_reports,
    open_credential_archive,
    open_projections,
    open_users,
)
from registry.credentials import KeyStore
from verify_api.docs import install_docs
from verify_api.errors import ErrorBody, install_error_handlers, store_unavailable_response
from verify_api.evidence import EvidenceReceiver
from verify_api.middleware import (
    KIB,
    MIB,
    BodySizeLimit,
    RateLimit,
    RouteRule,
    UrlLengthLimit,
)
from verify_api.ratelimit import RateLimiter
from verify_api.routers import audit, bulk, pages, public, reads, registry
from verify_api.services import Services

log = logging.getLogger("verify_api")
STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
Public verification of engineer registrations, bulk tender checks, and the role-based
registry API.

* **Public** (no account, rate limited per client address): the verification page the QR
  code opens (`/v?c=…`), `POST /api/v1/verify`, `GET /api/v1/lookup/{number}`, the bulk
  tender check, `/.well-known/jwks.json` and `/.well-known/trust-list.json`.
* **Registry API** (bearer token from `registry users create NAME --role ROLE`, sent as
  `Authorization: Bearer rgk_…` or `X-API-Key`): every registry command, enforced by role
  (engineer, employer, reviewer, registrar, auditor, admin). Commands accept
  `Idempotency-Key` and `If-Match: "<version>"` (stale → 409 `registration.conflict`).
* **Errors**: every 4xx/5xx body is `{"code": …, "message": …}` with a stable code.
"""

TAGS = [
    {"name": "public", "description": "Verification and lookup, no account needed."},
    {"name": "pages", "description": "Server-rendered HTML (Chinese / English)."},
    {"name": "bulk tender check", "description": "Many registrations as of a tender date."},
    {"name": "registry", "description": "Commands and reads for signed-in users."},
    {"name": "reviewer", "description": "Review queue."},
    {"name": "registrar", "description": "Certificates."},
    {"name": "engineer", "description": "Certificate downloads."},
    {"name": "auditor", "description": "Event history."},
    {"name": "operations", "description": "Liveness and readiness."},
]

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # verification URLs carry the credential
    "X-Frame-Options": "DENY",
}
_CSP = "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

BODY_LIMITS: tuple[tuple[RouteRule, int], ...] = (
    # The file itself is the body; the route enforces the exact 5 MB while streaming (and
    # answers `evidence.too_large`), this outer cap only bounds what reaches it.
    (RouteRule.of("POST", r"/api/v1/registrations/[^/]+/evidence"), MAX_EVIDENCE_BYTES + MIB),
    (RouteRule.of("POST", r"/api/v1/bulk-check/csv"), bulk.MAX_CSV_BYTES + 64 * KIB),
    (RouteRule.of("POST", r"/api/v1/bulk-check"), bulk.MAX_JSON_BYTES),
    (RouteRule.of("POST", r"/api/v1/bulk-check/verify"), bulk.MAX_REPORT_BYTES),
)
"""Per-route body caps; every other request body is capped at 64 KiB (JSON commands)."""


def create_app(
    settings: Settings | None = None,
    *,
    app: RegistryApp | None = None,
    clock: Clock | None = None,
    rate_limit_per_minute: int | None = None,
    catch_up_interval: float = 0.5,
) -> FastAPI:
    """Build the HTTP service on `app` (or a RegistryApp opened from `settings`)."""
    owns_registry = app is None
    registry_app = app if app is not None else open_app(settings, clock)
    settings = registry_app.settings
    the_clock = registry_app.clock
    services = Services(
        settings=settings,
        registry=registry_app,
        projections=open_projections(registry_app),
        users=open_users(registry_app),
        keys=KeyStore(settings.keys_dir),
        archive=open_credential_archive(registry_app),
        bulk_reports=open_bulk_reports(registry_app),
        evidence=EvidenceReceiver(),
        limiter=RateLimiter(
            rate_limit_per_minute
            if rate_limit_per_minute is not None
            else settings.rate_limit_per_minute
        ),
        clock=the_clock,
        catch_up_interval=catch_up_interval,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            services.refresh(force=True)
        except Exception as exc:  # serve anyway; /readyz reports it
            log.warning("projection catch-up at start failed: %s", type(exc).__name__)
        yield
        if owns_registry:
            registry_app.close()

    api = FastAPI(
        title="Engineer Registry — verification and registry API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by `install_docs` (no CDN)
        redoc_url=None,
        responses={
            404: {"model": ErrorBody, "description": "Unknown route or resource."},
            405: {"model": ErrorBody, "description": "Method not allowed."},
        },
    )
    api.state.services = services
    install_error_handlers(api)

    @api.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", _CSP)
        return response

    api.include_router(pages.router)
    api.include_router(public.router)
    api.include_router(bulk.router)
    api.include_router(registry.router)
    api.include_router(reads.router)
    api.include_router(audit.router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_docs(api)

    # Pure ASGI guards, outermost last: URL length, then the rate limit, then the body cap,
    # all before FastAPI reads a byte of the body.
    api.add_middleware(BodySizeLimit, limits=BODY_LIMITS)
    api.add_middleware(RateLimit, limiter=services.limiter)
    api.add_middleware(UrlLengthLimit)

    @api.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get(
        "/readyz",
        tags=["operations"],
        summary="The store can be read and written and the signing keys load",
        responses={503: {"model": ErrorBody, "description": "Not ready (see details)."}},
    )
    def readyz() -> Any:
        problems: list[dict[str, str]] = []
        try:
            services.store_writable()
            services.registry.recorder.max_notification_id()
        except Exception as exc:
            problems.append({"check": "store", "problem": type(exc).__name__})
        try:
            services.keys.active()
            services.trust_store()
        except Exception as exc:
            problems.append({"check": "keys", "problem": type(exc).__name__})
        if any(p["check"] == "store" for p in problems):
            return store_unavailable_response(
                "the service is not ready: the store cannot be written", details=problems
            )
        if problems:
            return JSONResponse(
                {
                    "code": "service.not_ready",
                    "message": "the service is not ready",
                    "details": problems,
                },
                status_code=503,
            )
        return {
            "status": "ready",
            "store": settings.describe_store(),
            "projection_position": str(services.projections.position()),
        }

    return api
