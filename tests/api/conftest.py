"""HTTP fixtures: the real FastAPI app over a fresh store (SQLite and PostgreSQL), a signing
key, one API user per role, and a few registrations in known states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application import Revoke, Suspend
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from tests.builders import EMPLOYER_ID, REGISTRAR, approved, engineer
from verify_api.app import create_app

ROLES = ("engineer", "employer", "reviewer", "registrar", "auditor", "admin")


@dataclass
class Api:
    client: TestClient
    registry: RegistryApp
    clock: SimulatedClock
    settings: Settings
    tokens: dict[str, str]

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def issue(self, registration_id: UUID) -> dict[str, Any]:
        r = self.client.post(
            f"/api/v1/registrations/{registration_id}/certificate", headers=self.auth("registrar")
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


def make_api(
    settings: Settings, clock: SimulatedClock, tmp_path: Path, rate_limit: int = 100_000
) -> tuple[Api, RegistryApp]:
    KeyStore(settings.keys_dir).generate(not_before=clock.now())
    registry = open_app(settings, clock=clock)
    users = UserStore(registry.db)
    tokens = {}
    for role in ROLES:
        # engineer-1 owns registration 1; the employer is the one in the builders' facts
        actor_id = {"engineer": "engineer-1", "employer": EMPLOYER_ID}.get(role)
        _, tokens[role] = users.create(f"{role}-user", Role(role), actor_id=actor_id)
    app = create_app(
        app=registry,
        rate_limit_per_minute=rate_limit,
        catch_up_interval=0.0,
    )
    client = TestClient(app, raise_server_exceptions=False)
    return Api(client, registry, clock, settings, tokens), registry


@pytest.fixture
def api(settings: Settings, clock: SimulatedClock, tmp_path: Path) -> Iterator[Api]:
    made, registry = make_api(settings, clock, tmp_path)
    with made.client:
        yield made
    registry.close()


@pytest.fixture
def sqlite_api(tmp_path: Path, clock: SimulatedClock) -> Iterator[Api]:
    """SQLite only: for tests about the HTTP layer rather than the store."""
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    made, registry = make_api(settings, clock, tmp_path)
    with made.client:
        yield made
    registry.close()


@dataclass
class World:
    active: str
    active_id: UUID
    revoked: str
    revoked_id: UUID
    suspended: str
    suspended_id: UUID


def build_world(api: Api) -> World:
    """Three approved registrations: one stays active, one is suspended, one revoked."""
    results = [approved(api.registry, api.clock, n) for n in (1, 2, 3)]
    api.clock.advance(timedelta(days=10))
    api.registry.handle(
        Suspend(results[1].registration_id, "investigation", "complaint"), REGISTRAR
    )
    api.registry.handle(Revoke(results[2].registration_id, "fraud", "forged diploma"), REGISTRAR)
    api.clock.advance(timedelta(days=1))
    numbers = [r.number or "" for r in results]
    return World(
        numbers[0],
        results[0].registration_id,
        numbers[2],
        results[2].registration_id,
        numbers[1],
        results[1].registration_id,
    )


__all__ = ["ROLES", "Api", "World", "build_world", "engineer", "make_api"]
