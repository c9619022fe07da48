"""Certificates over HTTP: by registration number (and id), refused with a reason (409) for a
registration that may not practise, and no clean download once it is suspended or revoked."""

from __future__ import annotations

from datetime import timedelta

from domain.numbering import format_number
from registry.application import Suspend
from tests.api.conftest import Api, build_world
from tests.builders import REGISTRAR


def _issue(api: Api, ref: str) -> tuple[int, dict[str, object]]:
    r = api.client.post(f"/api/v1/registrations/{ref}/certificate", headers=api.auth("registrar"))
    return r.status_code, r.json()


def test_issue_by_number_and_download_by_number(api: Api) -> None:
    world = build_world(api)
    status, body = _issue(api, world.active)
    assert status == 201, body
    assert body["number"] == world.active and str(body["credential"]).startswith("ER1:")
    by_id = api.issue(world.active_id)  # the UUID route keeps working
    assert by_id["serial"] != body["serial"]
    pdf = api.client.get(
        f"/api/v1/registrations/{world.active}/certificate?format=pdf",
        headers=api.auth("registrar"),
    )
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    unknown = _issue(api, format_number("SIE", "44", 2020, 4242))
    assert unknown[0] == 404


def test_not_permitted_registrations_get_409_with_the_reason(api: Api) -> None:
    world = build_world(api)
    status, body = _issue(api, world.suspended)
    assert status == 409 and body["code"] == "certificate.not_permitted"
    assert "suspended (investigation)" in str(body["message"])
    status, body = _issue(api, str(world.revoked_id))
    assert status == 409 and body["code"] == "certificate.not_permitted"
    assert "revoked (fraud)" in str(body["message"])


def test_an_expired_registration_is_409_not_500(api: Api) -> None:
    world = build_world(api)
    valid_until = api.registry.get(world.active_id).valid_until
    assert valid_until is not None
    api.clock.advance(timedelta(days=(valid_until - api.clock.now().date()).days + 2))
    status, body = _issue(api, world.active)
    assert status == 409 and body["code"] == "certificate.not_permitted", body
    assert "expired" in str(body["message"]) and str(valid_until) in str(body["message"])


def test_suspended_after_issue_downloads_no_clean_certificate(api: Api) -> None:
    world = build_world(api)
    api.issue(world.active_id)
    api.registry.handle(Suspend(world.active_id, "investigation", "complaint"), REGISTRAR)
    for fmt in ("pdf", "png", "svg", "json"):
        r = api.client.get(
            f"/api/v1/registrations/{world.active_id}/certificate?format={fmt}",
            headers=api.auth("registrar"),
        )
        assert r.status_code == 409, (fmt, r.text)
        assert r.json()["code"] == "certificate.not_permitted"
        assert "suspended" in r.json()["message"]
