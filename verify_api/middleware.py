"""Pure ASGI middleware that guards the service before a handler (or FastAPI) reads a byte.

FastAPI reads and parses a request body *before* it resolves a route's dependencies, so a
limit written as a dependency or as `@app.middleware("http")` comes too late: one 400 MB POST
is already in memory. These classes sit in front of the app and look only at the request
line and headers, then count the body as it streams in:

* :class:`UrlLengthLimit` answers 414 to an oversized URL,
* :class:`RateLimit` spends a token from the client's bucket for the public routes and
  answers 429 without reading the body,
* :class:`BodySizeLimit` answers 413 when `Content-Length` exceeds the route's cap and stops
  reading a streamed (chunked) body at the cap.

Every refusal is the service's usual JSON `{code, message}` and closes the connection, so
the server never has to drain the rest of an oversized body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verify_api.ratelimit import RateLimiter

KIB = 1024
MIB = 1024 * KIB

MAX_URL_BYTES = 8 * KIB
"""Path plus query string; a verification URL (`/v?c=…`) carries about 350 characters."""

DEFAULT_BODY_LIMIT = 64 * KIB
"""Every JSON command and form: far above the largest application facts."""

RATE_LIMITED_STATE = "rate_limit_charged"
"""`scope["state"]` key set once the middleware has charged the request's token."""


def _json_message(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Sequence[tuple[str, str]] = (),
    *,
    close: bool = True,
) -> None:
    """Send a complete JSON error response (optionally asking the server to close)."""
    body = _json_message(code, message)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    if close:
        raw_headers.append((b"connection", b"close"))
    raw_headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


@dataclass(frozen=True)
class RouteRule:
    """A method set and a path pattern (a full match on the request path)."""

    methods: frozenset[str]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, methods: str, pattern: str) -> RouteRule:
        return cls(frozenset(methods.split()), re.compile(pattern))

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.fullmatch(path) is not None


def _path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    return path


# -------------------------------------------------------------------------- URL length


class UrlLengthLimit:
    """414 `request.uri_too_long` for a path plus query string longer than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_URL_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or _path(scope).encode()
            length = len(raw_path) + len(scope.get("query_string", b""))
            if length > self.max_bytes:
                await send_error(
                    send,
                    414,
                    "request.uri_too_long",
                    f"the URL is limited to {self.max_bytes} bytes",
                )
                return
        await self.app(scope, receive, send)


# -------------------------------------------------------------------------- rate limit

PUBLIC_ROUTES: tuple[RouteRule, ...] = (
    RouteRule.of("GET HEAD", r"/|/v|/lookup"),
    RouteRule.of("POST", r"/api/v1/verify"),
    RouteRule.of("GET HEAD", r"/api/v1/lookup/[^/]*"),
    RouteRule.of("GET HEAD", r"/\.well-known/(?:jwks|trust-list)\.json"),
    RouteRule.of("POST", r"/api/v1/bulk-check(?:/csv|/verify)?"),
)
"""The public, unauthenticated routes: one token per request from the caller's bucket."""


def client_address(scope: Scope) -> str:
    """The client the server believes (uvicorn has applied trusted proxies' X-Forwarded-For)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimit:
    """Spend one token per public request before the app (and so the body) is touched.

    The route dependency `verify_api.deps.rate_limited` sees the mark left in
    ``scope["state"]`` and does not charge the request twice.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        routes: Sequence[RouteRule] = PUBLIC_ROUTES,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limiter.enabled:
            method, path = scope.get("method", "GET"), _path(scope)
            if any(rule.matches(method, path) for rule in self.routes):
                wait = self.limiter.take(client_address(scope))
                if wait > 0:
                    await send_error(
                        send,
                        429,
                        "rate_limited",
                        "too many requests from this address; retry later",
                        [("Retry-After", self.limiter.retry_after(wait))],
                    )
                    return
                scope.setdefault("state", {})[RATE_LIMITED_STATE] = True
        await self.app(scope, receive, send)


# -------------------------------------------------------------------------- body size


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the route's cap."""


def _declared_length(scope: Scope) -> int | None:
    """Content-Length as an int; -1 when it is present but not a plain number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodySizeLimit:
    """Cap each request body by route: refuse on Content-Length, count streamed bytes.

    `limits` maps route rules to caps; anything else gets `default`. A declared length over
    the cap is answered 413 before the app runs; a body without Content-Length (chunked) is
    counted as it arrives, and the first byte past the cap ends the request with 413: the
    app's own response, if it was about to send one, is replaced.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Sequence[tuple[RouteRule, int]] = (),
        default: int = DEFAULT_BODY_LIMIT,
    ) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    def limit_for(self, method: str, path: str) -> int:
        for rule, limit in self.limits:
            if rule.matches(method, path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("method", "GET"), _path(scope))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app answered (e.g. "cannot parse body"): 413 is the truth
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        await send_error(
            send,
            413,
            "request.too_large",
            f"the request body is limited to {limit} bytes on this route",
        )
