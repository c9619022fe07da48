"""Issue 11: an engineer finds their own registrations (`/api/v1/me`) and fetches their own
certificate; nobody else's."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from httpx import Response

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application import Apply
from tests.api.conftest import Api
from tests.builders import approved, attach_required, engineer, iet_facts, person, sie_facts


def test_engineer_lists_own_registrations_and_downloads_only_own_certificate(api: Api) -> None:
    mine = approved(api.registry, api.clock, 1)
    theirs = approved(api.registry, api.clock, 2)
    draft = api.registry.handle(Apply("IET", person(1), iet_facts()), engineer(1))
    api.clock.advance(timedelta(hours=1))
    api.issue(mine.registration_id)
    api.issue(theirs.registration_id)
    _, other_token = UserStore(api.registry.db).create(
        "engineer-2-user", Role.ENGINEER, actor_id="engineer-2"
    )
    other = {"Authorization": f"Bearer {other_token}"}

    me = api.client.get("/api/v1/me", headers=api.auth("engineer"))
    assert me.status_code == 200, me.text
    listed = me.json()["registrations"]
    assert [(r["registration_id"], r["number"], r["scheme"], r["status"]) for r in listed] == [
        (str(mine.registration_id), mine.number, "SIE", "active"),
        (str(draft.registration_id), None, "IET", "draft"),
    ]
    assert (
        listed[0]["valid_until"] == api.registry.get(mine.registration_id).valid_until.isoformat()
    )
    assert listed[0]["certificate_serial"] and listed[1]["valid_until"] is None
    assert person(1).id_number not in me.text

    # The listed id is enough to fetch the certificate (PDF and the credential).
    base = f"/api/v1/registrations/{listed[0]['registration_id']}/certificate"
    pdf = api.client.get(f"{base}?format=pdf", headers=api.auth("engineer"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    own = api.client.get(base, headers=api.auth("engineer")).json()
    assert own["serial"] == listed[0]["certificate_serial"]

    # Someone else's registration stays closed to both engineers.
    refused = api.client.get(
        f"/api/v1/registrations/{theirs.registration_id}/certificate?format=pdf",
        headers=api.auth("engineer"),
    )
    assert refused.status_code == 403 and refused.json()["code"] == "actor.not_permitted"
    assert api.client.get(base, headers=other).status_code == 403
    others = api.client.get("/api/v1/me", headers=other).json()["registrations"]
    assert [r["number"] for r in others] == [theirs.number]
    assert (
        api.client.get(
            f"/api/v1/registrations/{theirs.registration_id}/certificate", headers=other
        ).status_code
        == 200
    )

    # Other roles are told who they are; they have no registrations of their own.
    employer = api.client.get("/api/v1/me", headers=api.auth("employer")).json()
    assert employer["registrations"] == []


def _apply(api: Api, role: str, n: int) -> Response:
    p = person(n)
    return api.client.post(
        "/api/v1/registrations",
        headers=api.auth(role),
        json={
            "scheme": "SIE",
            "personal": {"name": p.name, "id_number": p.id_number, "phone": p.phone},
            "facts": sie_facts(),
        },
    )


def test_lapsed_engineer_applies_again_over_http(api: Api) -> None:
    """Issue 11: after a lapse the same ID number may apply again; a live one still blocks."""
    old = approved(api.registry, api.clock, 1)
    live = _apply(api, "registrar", 1)
    assert live.status_code == 409 and live.json()["code"] == "registration.duplicate"
    valid_until = api.registry.get(old.registration_id).valid_until
    assert valid_until is not None
    api.clock.advance(timedelta(days=(valid_until - api.clock.now().date()).days + 1))

    again = _apply(api, "engineer", 1)
    assert again.status_code == 201, again.text
    base = f"/api/v1/registrations/{again.json()['registration_id']}"
    attach_required(api.registry, UUID(again.json()["registration_id"]), engineer(1), 1)
    for role, step in (("engineer", "submit"), ("reviewer", "review/start")):
        assert api.client.post(f"{base}/{step}", headers=api.auth(role)).status_code == 200
    approval = api.client.post(f"{base}/approve", headers=api.auth("reviewer"))
    assert approval.status_code == 200, approval.text
    number = approval.json()["number"]
    assert number and number != old.number

    # Both are the engineer's: the old one keeps its number and its (lapsed) history.
    mine = api.client.get("/api/v1/me", headers=api.auth("engineer")).json()["registrations"]
    assert sorted((r["number"], r["status"]) for r in mine) == sorted(
        [(old.number, "expired"), (number, "active")]
    )
    public = api.client.get(f"/api/v1/lookup/{old.number}")
    assert public.status_code == 200 and public.json()["status"] == "expired"

    # The new registration is live: a third application and a revival of the old are refused.
    third = _apply(api, "registrar", 1)
    assert third.status_code == 409 and third.json()["code"] == "registration.duplicate"
    revive = api.client.post(
        f"/api/v1/registrations/{old.registration_id}/reinstate",
        headers=api.auth("registrar"),
        json={"reason": "late CE accepted"},
    )
    assert revive.status_code == 409 and revive.json()["code"] == "registration.duplicate"
