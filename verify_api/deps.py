"""FastAPI dependencies: the application objects, the caller's identity, role checks, limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from domain.actors import Actor
from registry.application import ApiUser, CommandOptions
from verify_api.errors import ApiError
from verify_api.middleware import RATE_LIMITED_STATE
from verify_api.roles import ROLE_MATRIX
from verify_api.services import Services

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="A registry API token (`rgk_…`) from `registry users create NAME --role ROLE`.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="The same token, for clients that cannot set an Authorization header.",
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_ip(request: Request) -> str:
    """The client address the server believes (proxies only count when trusted)."""
    return request.client.host if request.client else "unknown"


def rate_limited(cost: float = 1.0) -> Callable[[Request], None]:
    """A dependency spending `cost` tokens from the caller's bucket; 429 when empty.

    Public routes are charged by the `RateLimit` middleware before the body is read; this
    dependency then does nothing, and only charges routes the middleware does not know.
    """

    def check(request: Request) -> None:
        if request.scope.get("state", {}).get(RATE_LIMITED_STATE):
            return
        services: Services = request.app.state.services
        wait = services.limiter.take(client_ip(request), cost)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests from this address; retry later",
                headers={"Retry-After": services.limiter.retry_after(wait)},
            )

    return check


def current_user(
    services: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> ApiUser:
    token = bearer.credentials if bearer is not None else api_key
    if not token:
        raise ApiError(
            401,
            "auth.required",
            "this endpoint needs a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = services.users.authenticate(token)
    if user is None:
        raise ApiError(
            401,
            "auth.invalid_token",
            "the token is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


UserDep = Annotated[ApiUser, Depends(current_user)]


def allow(operation: str) -> Callable[[ApiUser], Actor]:
    """Dependency factory: the caller's `Actor` if their role may perform `operation`."""
    roles = ROLE_MATRIX[operation]

    def check(user: UserDep) -> Actor:
        if user.role not in roles:
            raise ApiError(
                403,
                "auth.role_not_allowed",
                f"role {user.role.value} may not {operation.replace('_', ' ')}",
            )
        return user.actor

    check.__name__ = f"allow_{operation}"
    return check


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retrying with the same key returns the first result instead of acting twice.",
    ),
]

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def parse_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=64,
            description='Expected registration version (the ETag, e.g. `"3"`); 409 if stale.',
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    if not match:
        raise ApiError(422, "request.invalid_if_match", 'If-Match must be a version like "3"')
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(parse_if_match)]


def command_options(
    idempotency_key: IdempotencyKey = None, expected_version: ExpectedVersion = None
) -> CommandOptions:
    """The `Idempotency-Key` and `If-Match` headers as the application's `CommandOptions`."""
    return CommandOptions(idempotency_key, expected_version)


Options = Annotated[CommandOptions, Depends(command_options)]
