"""Employer binding (SPEC §12, issue 11): an engineer cannot move themselves to another
employer. The move is a request the new employer endorses and the registrar approves; until
then the tender check binds the engineer to the old employer only, and warns of the move."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.actors import Role
from registry.adapters.users import UserStore
from tests.api.conftest import Api
from tests.builders import EMPLOYER_ID, approved

NEWCO = "emp-newco"
NEW_EMPLOYER = {"id": NEWCO, "name": "新公司", "job_description": "ERP 实施"}


def _token(api: Api, name: str, role: Role, actor_id: str) -> dict[str, str]:
    _, token = UserStore(api.registry.db).create(name, role, actor_id=actor_id)
    return {"Authorization": f"Bearer {token}"}


def _tender(api: Api, number: str, employer: str) -> dict[str, Any]:
    r = api.client.post(
        "/api/v1/bulk-check",
        json={
            "items": [number],
            "as_of": api.clock.now().date().isoformat(),
            "bidding_employer_id": employer,
        },
    )
    assert r.status_code == 200, r.text
    row: dict[str, Any] = r.json()["rows"][0]
    return row


def test_a_self_move_never_passes_the_tender_check_until_endorsed_and_approved(api: Api) -> None:
    done = approved(api.registry, api.clock, 1)
    rid, number = done.registration_id, done.number or ""
    api.clock.advance(timedelta(days=1))
    newco = _token(api, "newco-user", Role.EMPLOYER, NEWCO)
    other = _token(api, "other-employer", Role.EMPLOYER, "emp-other")
    assert _tender(api, number, EMPLOYER_ID)["verdict"] == "pass"

    # The engineer amends the employer with their own token: only a request is recorded.
    r = api.client.post(
        f"/api/v1/registrations/{rid}/amend",
        json={"changes": {"employer": NEW_EMPLOYER}},
        headers=api.auth("engineer"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["EmployerChangeRequested"]
    at_new = _tender(api, number, NEWCO)
    assert at_new["verdict"] == "fail" and not at_new["registered_to_bidding_employer"]
    assert "employer.mismatch_on_date" in at_new["problems"]
    assert "employer.change_pending_on_date" in at_new["warnings"]
    at_old = _tender(api, number, EMPLOYER_ID)
    assert at_old["verdict"] == "pass" and at_old["registered_to_bidding_employer"]
    assert at_old["warnings"] == ["employer.change_pending_on_date"]

    # The claimed employer sees the claim; others (and other employers' lists) do not.
    claims = api.client.get("/api/v1/employer-claims", headers=newco)
    assert claims.status_code == 200, claims.text
    assert [c["number"] for c in claims.json()] == [number]
    assert claims.json()[0]["employer_id"] == EMPLOYER_ID
    assert api.client.get("/api/v1/employer-claims", headers=other).json() == []
    peek = api.client.get(f"/api/v1/employer-claims?employer_id={NEWCO}", headers=other)
    assert peek.status_code == 403 and peek.json()["code"] == "actor.not_permitted"

    # The registrar cannot approve before the new employer endorses; no one else endorses.
    early = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change/approve", headers=api.auth("registrar")
    )
    assert early.status_code == 409, early.text
    for headers in (other, api.auth("employer")):
        refused = api.client.post(
            f"/api/v1/registrations/{rid}/employer-change/endorse", json={}, headers=headers
        )
        assert refused.status_code == 403, refused.text
    api.clock.advance(timedelta(hours=1))
    ok = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change/endorse",
        json={"note": "已入职"},
        headers=newco,
    )
    assert ok.status_code == 200, ok.text
    # Endorsed but not yet approved: still bound to the old employer.
    assert _tender(api, number, NEWCO)["verdict"] == "fail"
    assert _tender(api, number, EMPLOYER_ID)["verdict"] == "pass"

    api.clock.advance(timedelta(days=1))
    ok = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change/approve", headers=api.auth("registrar")
    )
    assert ok.status_code == 200, ok.text
    moved = _tender(api, number, NEWCO)
    assert moved["verdict"] == "pass" and moved["warnings"] == []
    assert _tender(api, number, EMPLOYER_ID)["verdict"] == "fail"
    assert api.client.get("/api/v1/employer-claims", headers=newco).json() == []


def test_the_claimed_employer_declines_and_the_old_binding_stays(api: Api) -> None:
    done = approved(api.registry, api.clock, 1)
    rid, number = done.registration_id, done.number or ""
    api.clock.advance(timedelta(days=1))
    newco = _token(api, "newco-user", Role.EMPLOYER, NEWCO)
    body = {"employer_id": NEWCO, "employer_name": "新公司", "job_description": "ERP 实施"}
    r = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change", json=body, headers=api.auth("engineer")
    )
    assert r.status_code == 200, r.text
    again = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change", json=body, headers=api.auth("engineer")
    )
    assert again.status_code == 409 and again.json()["code"]
    empty = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change/decline", json={}, headers=newco
    )
    assert empty.status_code == 422 and empty.json()["code"]
    api.clock.advance(timedelta(hours=1))
    r = api.client.post(
        f"/api/v1/registrations/{rid}/employer-change/decline",
        json={"reason": "非本单位员工"},
        headers=newco,
    )
    assert r.status_code == 200, r.text
    row = _tender(api, number, EMPLOYER_ID)
    assert row["verdict"] == "pass" and row["warnings"] == []
    assert _tender(api, number, NEWCO)["verdict"] == "fail"
    view = api.client.get(f"/api/v1/registrations/{rid}", headers=api.auth("registrar")).json()
    assert view["status"] == "active"
