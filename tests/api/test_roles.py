"""Endpoint × role: every registry endpoint, called by every role and by nobody.

The expected matrix is written out here, independently of `verify_api.roles`, so a change
to who may do what has to be made (and reviewed) in both places.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from tests.api.conftest import ROLES, Api, make_api
from tests.builders import approved, person, sie_facts
from verify_api.roles import ROLE_MATRIX

E, EM, RV, RG, AU, AD = "engineer", "employer", "reviewer", "registrar", "auditor", "admin"
ALL = {E, EM, RV, RG, AU, AD}
RID = "{rid}"

# operation: (method, path, body, roles allowed)
MATRIX: dict[str, tuple[str, str, dict[str, Any] | None, set[str]]] = {
    "apply": (
        "POST",
        "/api/v1/registrations",
        {
            "scheme": "SIE",
            "personal": {"name": "李四", "id_number": person(7).id_number},
            "facts": sie_facts(),
        },
        {E, RG},
    ),
    "attach_evidence": (
        "POST",
        f"/api/v1/registrations/{RID}/evidence?kind=degree&filename=a.pdf",
        None,
        {E, RG},
    ),
    "submit": ("POST", f"/api/v1/registrations/{RID}/submit", None, {E, RG}),
    "supplement": ("POST", f"/api/v1/registrations/{RID}/supplement", {}, {E, RG}),
    "withdraw": ("POST", f"/api/v1/registrations/{RID}/withdraw", {}, {E, RG}),
    "record_ce": (
        "POST",
        f"/api/v1/registrations/{RID}/ce",
        {"hours": 8, "provider": "平台"},
        {E, RG},
    ),
    "amend": ("POST", f"/api/v1/registrations/{RID}/amend", {"changes": {"skills": "x"}}, {E, RG}),
    "endorse": ("POST", f"/api/v1/registrations/{RID}/endorse", {}, {EM}),
    "decline": ("POST", f"/api/v1/registrations/{RID}/decline", {"reason": "no"}, {EM}),
    "request_employer_change": (
        "POST",
        f"/api/v1/registrations/{RID}/employer-change",
        {"employer_id": "emp-2", "employer_name": "新公司", "job_description": "实施"},
        {E, RG},
    ),
    "employer_change_endorse": (
        "POST",
        f"/api/v1/registrations/{RID}/employer-change/endorse",
        {},
        {EM},
    ),
    "employer_change_decline": (
        "POST",
        f"/api/v1/registrations/{RID}/employer-change/decline",
        {"reason": "no"},
        {EM, RG},
    ),
    "employer_change_approve": (
        "POST",
        f"/api/v1/registrations/{RID}/employer-change/approve",
        None,
        {RV, RG},
    ),
    "employer_claims": (
        "GET",
        "/api/v1/employer-claims?employer_id=emp-2",
        None,
        {EM, RG, AU, AD},
    ),
    "start_review": ("POST", f"/api/v1/registrations/{RID}/review/start", None, {RV, RG}),
    "score": ("POST", f"/api/v1/registrations/{RID}/review/score", {"score": 80}, {RV, RG}),
    "return": (
        "POST",
        f"/api/v1/registrations/{RID}/review/return",
        {"reason_codes": ["skills.vague"]},
        {RV, RG},
    ),
    "further_verification": (
        "POST",
        f"/api/v1/registrations/{RID}/review/further-verification",
        {"reason": "check"},
        {RV, RG},
    ),
    "approve": ("POST", f"/api/v1/registrations/{RID}/approve", None, {RV, RG}),
    "reject": ("POST", f"/api/v1/registrations/{RID}/reject", {"reason": "no"}, {RV, RG}),
    "assessment": (
        "POST",
        f"/api/v1/registrations/{RID}/assessments",
        {"year": 2023, "passed": True},
        {RG},
    ),
    "suspend": (
        "POST",
        f"/api/v1/registrations/{RID}/suspend",
        {"reason_code": "investigation"},
        {RG},
    ),
    "reinstate": ("POST", f"/api/v1/registrations/{RID}/reinstate", {"reason": "ok"}, {RG}),
    "revoke": ("POST", f"/api/v1/registrations/{RID}/revoke", {"reason_code": "other"}, {RG}),
    "dishonesty_add": ("POST", f"/api/v1/registrations/{RID}/dishonesty", {"reason": "x"}, {RG}),
    "dishonesty_lift": (
        "POST",
        f"/api/v1/registrations/{RID}/dishonesty/lift",
        {"reason": "x"},
        {RG},
    ),
    "issue_certificate": ("POST", f"/api/v1/registrations/{RID}/certificate", None, {RG}),
    "erase": ("POST", f"/api/v1/registrations/{RID}/erase", None, {RG, AD}),
    "read_registration": ("GET", f"/api/v1/registrations/{RID}", None, ALL),
    "certificate_download": ("GET", f"/api/v1/registrations/{RID}/certificate", None, {E, RG, AD}),
    "events": ("GET", f"/api/v1/registrations/{RID}/events", None, {RG, AU, AD}),
    "queue": ("GET", "/api/v1/queue", None, {RV, RG, AU, AD}),
    "search": ("GET", "/api/v1/search", None, {EM, RV, RG, AU, AD}),
    "statistics": ("GET", "/api/v1/statistics", None, {RV, RG, AU, AD}),
    "dishonesty_list": ("GET", "/api/v1/dishonesty-list", None, {EM, RV, RG, AU, AD}),
    "whoami": ("GET", "/api/v1/me", None, ALL),
}


def test_matrix_covers_every_operation_and_matches_the_server_table() -> None:
    assert set(MATRIX) == set(ROLE_MATRIX)
    for op, (_, _, _, roles) in MATRIX.items():
        assert {r.value for r in ROLE_MATRIX[op]} == roles, op


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    tmp: Path = tmp_path_factory.mktemp("roles")
    settings = Settings(
        sqlite_path=tmp / "registry.sqlite", keys_dir=tmp / "keys", create_missing_secrets=True
    )
    clock = SimulatedClock(datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
    made, registry = make_api(settings, clock, tmp)
    with made.client:
        rid = str(approved(registry, clock, 1).registration_id)
        yield made, rid
    registry.close()


def _call(api: Api, op: str, role: str | None, rid: str) -> Any:
    method, path, body, _ = MATRIX[op]
    url = path.replace(RID, rid)
    headers = api.auth(role)
    if op == "attach_evidence":
        headers = {**headers, "Content-Type": "application/pdf"}
        return api.client.post(url, headers=headers, content=b"%PDF-1.4\n%test\n")
    if method == "GET":
        return api.client.get(url, headers=headers)
    return api.client.post(url, headers=headers, json=body)


CASES = [(op, role) for op in MATRIX for role in (None, *ROLES)]


@pytest.mark.parametrize(("op", "role"), CASES, ids=[f"{o}-{r or 'anonymous'}" for o, r in CASES])
def test_endpoint_by_role(shared: tuple[Api, str], op: str, role: str | None) -> None:
    api, rid = shared
    response = _call(api, op, role, rid)
    allowed = MATRIX[op][3]
    assert response.status_code != 500, response.text
    if role is None:
        assert response.status_code == 401
        assert response.json()["code"] == "auth.required"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    elif role not in allowed:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "auth.role_not_allowed"
    else:
        # Allowed through the HTTP gate; the domain may still refuse on state or ownership.
        assert response.status_code not in {401, 405}, response.text
        if response.status_code == 403:
            assert response.json()["code"] == "actor.not_permitted"
        if response.status_code >= 400:
            assert set(response.json()) >= {"code", "message"}


def test_invalid_and_revoked_tokens_are_401(sqlite_api: Api) -> None:
    bad = sqlite_api.client.get("/api/v1/me", headers={"Authorization": "Bearer rgk_nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "auth.invalid_token"
    ok = sqlite_api.client.get("/api/v1/me", headers={"X-API-Key": sqlite_api.tokens["auditor"]})
    assert ok.status_code == 200 and ok.json()["role"] == "auditor"
    services = sqlite_api.client.app.state.services  # type: ignore[attr-defined]
    services.users.revoke("auditor-user")
    gone = sqlite_api.client.get("/api/v1/me", headers=sqlite_api.auth("auditor"))
    assert gone.status_code == 401 and gone.json()["code"] == "auth.invalid_token"


def test_engineer_cannot_touch_someone_elses_registration(sqlite_api: Api) -> None:
    other = approved(sqlite_api.registry, sqlite_api.clock, 2)  # owned by engineer-2
    r = sqlite_api.client.get(
        f"/api/v1/registrations/{other.registration_id}", headers=sqlite_api.auth("engineer")
    )
    assert r.status_code == 403 and r.json()["code"] == "actor.not_permitted"
    r = sqlite_api.client.post(
        f"/api/v1/registrations/{other.registration_id}/ce",
        headers=sqlite_api.auth("engineer"),
        json={"hours": 5, "provider": "p"},
    )
    assert r.status_code == 403 and r.json()["code"] == "actor.not_permitted"
