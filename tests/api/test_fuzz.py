"""Property-based fuzzing from the OpenAPI schema (schemathesis): no 5xx, every response
matches its documented status, content type, headers and schema — on every public
endpoint, and on the authenticated ones with a valid (registrar) token."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from tests.builders import approved
from verify_api.app import create_app

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-"))
_SETTINGS = Settings(
    sqlite_path=_DIR / "registry.sqlite", keys_dir=_DIR / "keys", create_missing_secrets=True
)
_CLOCK = SimulatedClock(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
KeyStore(_SETTINGS.keys_dir).generate(not_before=_CLOCK.now())
_REGISTRY = open_app(_SETTINGS, clock=_CLOCK)
approved(_REGISTRY, _CLOCK, 1)
_, TOKEN = UserStore(_REGISTRY.db).create("fuzz-registrar", Role.REGISTRAR)
APP = create_app(
    app=_REGISTRY,
    rate_limit_per_minute=1_000_000,
    catch_up_interval=0.0,
)

schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS: list[Any] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.include(tag_regex="public|pages|bulk tender check|operations").parametrize()
@FUZZ
def test_public_endpoints(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.include(tag_regex="registry|reviewer|registrar|engineer|auditor").parametrize()
@FUZZ
def test_authenticated_endpoints(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
