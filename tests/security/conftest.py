"""The attack suite: every test here attacks a real uvicorn server over real HTTP.

`live` starts the service on a fresh SQLite store holding one user per role and three
approved registrations (active, suspended, revoked). `attacker` is an httpx client whose
every response is tallied; at the end of the session the tally (tried / refused / 5xx per
test) is written to ``test-artifacts/attack-summary-<worker>.json`` for the closing note.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application import Revoke, Suspend
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from tests.api.server import free_port, uvicorn_server
from tests.builders import EMPLOYER_ID, REGISTRAR, approved

ROLES = ("engineer", "employer", "reviewer", "registrar", "auditor", "admin")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

_TALLY: dict[str, Counter[str]] = {}


@dataclass
class Live:
    """A running registry server and what a test needs to attack it."""

    url: str
    settings: Settings
    tokens: dict[str, str]
    numbers: dict[str, str]  # "active" | "suspended" | "revoked" -> registration number
    ids: dict[str, str]  # same keys -> registration id
    env: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def open_app(self) -> RegistryApp:
        """The same store, opened in the test process (e.g. to play the database thief)."""
        return open_app(self.settings)


def build_store(tmp_path: Path) -> tuple[Settings, dict[str, str], dict[str, str], dict[str, str]]:
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    KeyStore(settings.keys_dir).generate()
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=40))
    registry = open_app(settings, clock=clock)
    try:
        users = UserStore(registry.db)
        tokens = {}
        for role in ROLES:
            actor_id = {"engineer": "engineer-1", "employer": EMPLOYER_ID}.get(role)
            _, tokens[role] = users.create(f"{role}-user", Role(role), actor_id=actor_id)
        results = [approved(registry, clock, n) for n in (1, 2, 3)]
        clock.advance(timedelta(days=10))
        registry.handle(
            Suspend(results[1].registration_id, "investigation", "complaint"), REGISTRAR
        )
        registry.handle(Revoke(results[2].registration_id, "fraud", "forged diploma"), REGISTRAR)
    finally:
        registry.close()
    keys = ("active", "suspended", "revoked")
    numbers = {k: r.number or "" for k, r in zip(keys, results, strict=True)}
    ids = {k: str(r.registration_id) for k, r in zip(keys, results, strict=True)}
    return settings, tokens, numbers, ids


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings, tokens, numbers, ids = build_store(tmp_path)
    port = free_port()
    env = {
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
        "REGISTRY_RATE_LIMIT_PER_MINUTE": "100000",
        "REGISTRY_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    with uvicorn_server(settings.sqlite_path, settings.keys_dir, port, extra_env=env) as url:
        yield Live(url, settings, tokens, numbers, ids, env)


@pytest.fixture
def attacker(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An httpx client whose responses are tallied as tried / refused (4xx) / 5xx."""
    tally = _TALLY.setdefault(request.node.nodeid, Counter())

    def record(response: httpx.Response) -> None:
        tally["tried"] += 1
        if 400 <= response.status_code < 500:
            tally["refused"] += 1
        elif response.status_code >= 500:
            tally["5xx"] += 1

    with httpx.Client(timeout=60, event_hooks={"response": [record]}) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _TALLY:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    total: Counter[str] = Counter()
    for counts in _TALLY.values():
        total.update(counts)
    summary: dict[str, Any] = {
        "total": dict(total),
        "tests": {k: dict(v) for k, v in sorted(_TALLY.items())},
    }
    (ARTIFACTS / f"attack-summary-{worker}.json").write_text(json.dumps(summary, indent=2))
