"""Auditor-only HTTP API: checkpoints, proofs, export, and locating tampering over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.checkpoints import Checkpoint
from registry.audit.merkle import verify_consistency, verify_inclusion
from registry.audit.oracles import HttpOracle
from registry.audit.verify_export import verify_export
from tests.audit.test_audit_support import World, populate, world_on
from tests.builders import approved
from verify_api.app import create_app

ROLES = ("engineer", "employer", "reviewer", "registrar", "auditor", "admin")


class Api:
    def __init__(self, world: World, client: TestClient, tokens: dict[str, str]) -> None:
        self.world, self.client, self.tokens = world, client, tokens

    def get(self, path: str, role: str | None = "auditor", **params: Any) -> Any:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.client.get(path, params=params or None, headers=headers)


@pytest.fixture
def api(settings: Settings, clock: SimulatedClock, tmp_path: Path) -> Any:
    with world_on(settings, clock) as world:
        populate(world)
        world.audit.unfollow()  # the HTTP app opens its own follower
        users = UserStore(world.app.db)
        tokens = {role: users.create(f"{role}-user", Role(role))[1] for role in ROLES}
        app = create_app(
            app=world.app,
            rate_limit_per_minute=100_000,
            catch_up_interval=0.0,
        )
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(world, client, tokens)


PATHS = [
    "/api/v1/audit/checkpoints",
    "/api/v1/audit/checkpoints/latest",
    "/api/v1/audit/inclusion?leaf=0",
    "/api/v1/audit/consistency?old=1",
    "/api/v1/audit/export",
]


def test_only_auditors_get_in(api: Api) -> None:
    api.world.checkpoint()
    for path in PATHS:
        assert api.get(path, role=None).status_code == 401
        assert api.get(path, role=None).json()["code"] == "auth.required"
        for role in ROLES:
            response = api.get(path, role=role)
            expected = 200 if role == "auditor" else 403
            assert response.status_code == expected, (path, role, response.text)


def test_checkpoints_and_proofs_verify(api: Api) -> None:
    first = api.world.checkpoint()
    approved(api.world.app, api.world.clock, 8)
    second = api.world.checkpoint()
    listed = api.get("/api/v1/audit/checkpoints").json()
    assert [c["tree_size"] for c in listed] == [first.tree_size, second.tree_size]
    latest = Checkpoint.from_json(api.get("/api/v1/audit/checkpoints/latest").json())
    assert latest == second
    latest.verify(api.world.trust())
    old = Checkpoint.from_json(api.get(f"/api/v1/audit/checkpoints/{first.tree_size}").json())
    assert old == first
    assert api.get("/api/v1/audit/checkpoints/3").status_code == 404

    for leaf in (0, 5, first.tree_size - 1, second.tree_size - 1):
        body = api.get("/api/v1/audit/inclusion", leaf=leaf).json()
        assert body["tree_size"] == second.tree_size and body["leaf_index"] == leaf
        verify_inclusion(
            bytes.fromhex(body["leaf_hash"]),
            leaf,
            second.tree_size,
            [bytes.fromhex(p) for p in body["proof"]],
            second.root_hash,
        )
    body = api.get("/api/v1/audit/inclusion", leaf=5).json()
    by_note = api.get("/api/v1/audit/inclusion", notification=body["notification_id"]).json()
    by_event = api.get(
        "/api/v1/audit/inclusion",
        originator_id=body["originator_id"],
        version=body["originator_version"],
        size=first.tree_size + 2,
    ).json()
    assert by_note["leaf_index"] == by_event["leaf_index"] == body["leaf_index"]
    assert by_event["tree_size"] == first.tree_size + 2

    proof = api.get("/api/v1/audit/consistency", old=first.tree_size, new=second.tree_size).json()
    verify_consistency(
        first.tree_size,
        second.tree_size,
        first.root_hash,
        second.root_hash,
        [bytes.fromhex(p) for p in proof["proof"]],
    )
    assert api.get("/api/v1/audit/consistency", old=second.tree_size + 50).status_code == 422
    assert api.get("/api/v1/audit/inclusion").status_code == 422


def test_tree_follows_commands_made_over_http_process(api: Api) -> None:
    api.get("/api/v1/audit/checkpoints")  # opens the process's follower
    before = api.client.app.state.audit_log.size()  # type: ignore[attr-defined]
    approved(api.world.app, api.world.clock, 12)
    after = api.client.app.state.audit_log.position()  # type: ignore[attr-defined]
    assert after[1] > before
    assert after[0] == api.world.app.recorder.max_notification_id()


def test_streamed_export_verifies_and_http_oracle_locates_a_rewrite(api: Api) -> None:
    cp = api.world.checkpoint()
    response = api.get("/api/v1/audit/export", size=cp.tree_size)
    assert response.headers["content-type"].startswith("application/jsonl")
    lines = response.content.splitlines(keepends=True)
    assert verify_export(lines, cp, api.world.trust()).ok
    import json

    from registry.audit.canonical import canonical_json, event_leaf_hash

    obj = json.loads(lines[9])
    obj["event"]["state"]["actor_id"] = "forger"
    obj["leaf_hash"] = event_leaf_hash(obj["event"]).hex()
    lines[9] = canonical_json(obj) + b"\n"
    oracle = HttpOracle("http://testserver", api.tokens["auditor"], client=api.client)
    report = verify_export(lines, cp, api.world.trust(), oracle=oracle)
    assert report.first_bad_leaf == 9 and report.located_by == "live log consistency proofs"
