"""API documentation pages (Swagger UI at `/docs`, ReDoc at `/redoc`) that work offline.

FastAPI's own pages load their JavaScript and CSS from a CDN, so they are blank without
internet. Here the assets come from the `fastapi-offline` package (which vendors current
Swagger UI and ReDoc builds), served under `/docs-assets`, and the pages are FastAPI's
`get_swagger_ui_html` / `get_redoc_html` pointed at them. Each page sends its own Content-
Security-Policy: scripts only from this origin plus its one inline start-up script (by
nonce); ReDoc's styled components need inline styles and a blob: search worker.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-assets"


def _csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "font-src 'self' data:; "
        "worker-src 'self' blob:; "
        "frame-ancestors 'none'"
    )


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    """The page with a nonce on its inline scripts and a CSP that allows exactly those."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode("utf-8").replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp(nonce)})


def install_docs(api: FastAPI) -> None:
    """Serve `/docs` and `/redoc` from local assets (create the app with docs_url=None and
    redoc_url=None)."""
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"
    favicon = f"{ASSETS_URL}/favicon.png"

    @api.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _with_nonce(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{api.title} — Swagger UI",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=favicon,
            )
        )

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_nonce(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{api.title} — ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=favicon,
                with_google_fonts=False,
            )
        )
