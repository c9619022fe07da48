"""Registry commands over HTTP: a whole lifecycle, idempotency, optimistic concurrency,
evidence limits, and the error shape."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from registry.samples import required_evidence
from tests.api.conftest import Api
from tests.builders import iet_facts, person, sie_facts

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _apply(api: Api, scheme: str = "SIE", n: int = 1) -> str:
    facts = sie_facts() if scheme == "SIE" else iet_facts()
    p = person(n)
    r = api.client.post(
        "/api/v1/registrations",
        headers=api.auth("engineer"),
        json={
            "scheme": scheme,
            "personal": {"name": p.name, "id_number": p.id_number, "phone": p.phone},
            "facts": facts,
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    return str(r.json()["registration_id"])


def _materials(api: Api, rid: str, n: int = 1) -> None:
    """Upload the materials required at submission (ID copy, photo, CHSI report)."""
    for ref, content in required_evidence(n):
        up = api.client.post(
            f"/api/v1/registrations/{rid}/evidence?kind={ref.kind}&filename={ref.filename}",
            headers={**api.auth("engineer"), "Content-Type": ref.media_type},
            content=content,
        )
        assert up.status_code == 201, up.text


def test_iet_lifecycle_over_http(api: Api, tmp_path: Path) -> None:
    rid = _apply(api, "IET")
    base = f"/api/v1/registrations/{rid}"
    up = api.client.post(
        f"{base}/evidence?kind=degree&filename=学位证.pdf",
        headers={**api.auth("engineer"), "Content-Type": "application/pdf"},
        content=PDF,
    )
    assert up.status_code == 201, up.text
    sha = hashlib.sha256(PDF).hexdigest()
    assert up.json()["sha256"] == sha and up.json()["media_type"] == "application/pdf"
    # Sealed at rest under the subject's key: the file on disk is not the upload.
    (stored,) = (tmp_path / "evidence").glob(f"*/{sha}")
    assert PDF not in stored.read_bytes()
    assert api.registry.evidence_content(UUID(rid), sha) == PDF
    # Without the required materials the submission is refused, each missing item named.
    refused = api.client.post(f"{base}/submit", headers=api.auth("engineer"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "registration.ineligible"
    assert {d["code"] for d in refused.json()["details"]} == {
        "materials.id_document",
        "materials.photo",
        "materials.chsi_report",
    }
    _materials(api, rid)
    steps = [
        ("engineer", "submit", None),
        ("employer", "endorse", {"note": "在职"}),
        ("reviewer", "review/start", None),
        ("reviewer", "review/score", {"score": 81, "method": "defence"}),
        ("reviewer", "approve", None),
    ]
    for role, path, body in steps:
        api.clock.advance(timedelta(hours=5))
        r = api.client.post(f"{base}/{path}", headers=api.auth(role), json=body)
        assert r.status_code == 200, (path, r.text)
    number = r.json()["number"]
    assert number.startswith("IET-44-2024-")
    cert = api.client.post(f"{base}/certificate", headers=api.auth("registrar"))
    assert cert.status_code == 201, cert.text
    assert cert.json()["credential"].startswith("ER1:")
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<"), ("pdf", b"%PDF")):
        d = api.client.get(f"{base}/certificate?format={fmt}", headers=api.auth("engineer"))
        assert d.status_code == 200 and d.content.lstrip()[:4].startswith(magic), fmt
    mine = api.client.get(base, headers=api.auth("engineer")).json()
    assert mine["status"] == "active" and mine["personal"]["id_number"] == person(1).id_number
    theirs = api.client.get(base, headers=api.auth("employer")).json()
    assert theirs["personal"] is None and theirs["masked_name"] == "张*三"
    events = api.client.get(f"{base}/events", headers=api.auth("auditor")).json()
    assert [e["type"] for e in events][:2] == ["Drafted", "EvidenceAttached"]
    assert person(1).id_number not in str(events)
    queue = api.client.get("/api/v1/queue", headers=api.auth("reviewer"))
    assert queue.status_code == 200 and queue.json() == []
    found = api.client.get("/api/v1/search", headers=api.auth("employer")).json()
    assert [v["number"] for v in found] == [number]
    stats = api.client.get("/api/v1/statistics", headers=api.auth("auditor")).json()
    assert stats["permitted"] == 1
    revoke = api.client.post(
        f"{base}/revoke",
        headers=api.auth("registrar"),
        json={"reason_code": "forged_material", "reason": "假证"},
    )
    assert revoke.status_code == 200
    listed = api.client.get("/api/v1/dishonesty-list", headers=api.auth("auditor")).json()
    assert [e["number"] for e in listed] == [number]


def test_idempotency_key_replays_and_refuses_reuse(api: Api) -> None:
    rid = _apply(api)
    base = f"/api/v1/registrations/{rid}"
    headers = {**api.auth("engineer"), "Idempotency-Key": "ce-2024-1"}
    _materials(api, rid)
    api.client.post(f"{base}/submit", headers=api.auth("engineer"))
    api.client.post(f"{base}/review/start", headers=api.auth("reviewer"))
    api.client.post(f"{base}/approve", headers=api.auth("reviewer"))
    first = api.client.post(f"{base}/ce", headers=headers, json={"hours": 12, "provider": "p"})
    again = api.client.post(f"{base}/ce", headers=headers, json={"hours": 12, "provider": "p"})
    assert first.status_code == again.status_code == 200
    assert first.json()["version"] == again.json()["version"]
    assert again.json()["replayed"] is True and first.json()["replayed"] is False
    other = api.client.post(f"{base}/ce", headers=headers, json={"hours": 99, "provider": "p"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency.key_reused"
    events = api.client.get(f"{base}/events", headers=api.auth("auditor")).json()
    assert sum(e["type"] == "ContinuingEducationRecorded" for e in events) == 1


def test_if_match_gives_optimistic_concurrency(api: Api) -> None:
    rid = _apply(api)
    base = f"/api/v1/registrations/{rid}"
    _materials(api, rid)
    version = api.client.get(base, headers=api.auth("engineer")).headers["ETag"]
    ok = api.client.post(f"{base}/submit", headers={**api.auth("engineer"), "If-Match": version})
    assert ok.status_code == 200
    stale = api.client.post(
        f"{base}/withdraw", headers={**api.auth("engineer"), "If-Match": version}, json={}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "registration.conflict"
    junk = api.client.post(
        f"{base}/withdraw", headers={**api.auth("engineer"), "If-Match": "abc"}, json={}
    )
    assert junk.status_code == 422 and junk.json()["code"] == "request.invalid_if_match"


def test_domain_refusals_keep_their_codes(sqlite_api: Api) -> None:
    api = sqlite_api
    rid = _apply(api)
    base = f"/api/v1/registrations/{rid}"
    r = api.client.post(f"{base}/approve", headers=api.auth("reviewer"))
    assert r.status_code == 409 and r.json()["code"] == "registration.invalid_transition"
    r = api.client.post(
        f"{base}/suspend", headers=api.auth("registrar"), json={"reason_code": "nonsense"}
    )
    assert r.status_code == 422 and r.json()["code"] == "input.invalid"
    r = api.client.post(
        "/api/v1/registrations",
        headers=api.auth("engineer"),
        json={
            "scheme": "SIE",
            "personal": {"name": "王五", "id_number": "110101199001011234"},
            "facts": sie_facts(),
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "input.invalid"
    assert "110101199001011234" not in r.text
    r = api.client.post(
        f"/api/v1/registrations/{'0' * 8}-0000-0000-0000-{'0' * 12}/submit",
        headers=api.auth("engineer"),
    )
    assert r.status_code == 404 and r.json()["code"] == "registration.not_found"


def test_evidence_limits_enforced_while_streaming(sqlite_api: Api, tmp_path: Path) -> None:
    api = sqlite_api
    rid = _apply(api)
    url = f"/api/v1/registrations/{rid}/evidence?kind=photo&filename=x"
    headers = api.auth("engineer")

    sent = 0

    def stream() -> object:
        nonlocal sent
        chunk = b"%PDF-" + b"0" * (64 * 1024 - 5)
        for _ in range(200):  # 12.8 MB offered; the server must stop reading at 5 MB
            sent += len(chunk)
            yield chunk
            chunk = b"0" * (64 * 1024)

    big = api.client.post(
        url, headers={**headers, "Content-Type": "application/pdf"}, content=stream()
    )
    # The test client hands the app the whole stream as one message, so the outer body cap
    # (request.too_large) may see it first; over a real socket the route answers first.
    assert big.status_code == 413
    assert big.json()["code"] in {"evidence.too_large", "request.too_large"}
    declared = api.client.post(
        url,
        headers={
            **headers,
            "Content-Type": "application/pdf",
            "Content-Length": str(6 * 1024 * 1024),
        },
        content=b"%PDF-",
    )
    assert declared.status_code == 413
    exe = api.client.post(
        url,
        headers={**headers, "Content-Type": "application/pdf"},
        content=b"MZ\x90\x00" + b"\x00" * 100,
    )
    assert exe.status_code == 415 and exe.json()["code"] == "evidence.type_not_allowed"
    lie = api.client.post(url, headers={**headers, "Content-Type": "application/pdf"}, content=PNG)
    assert lie.status_code == 415 and lie.json()["code"] == "evidence.type_mismatch"
    empty = api.client.post(url, headers={**headers, "Content-Type": "image/png"}, content=b"")
    assert empty.status_code == 422
    store = tmp_path / "evidence"
    assert not any(p.is_file() for p in store.rglob("*")), "rejected uploads left files"
    events = api.client.get(f"/api/v1/registrations/{rid}/events", headers=api.auth("registrar"))
    assert [e["type"] for e in events.json()] == ["Drafted"]
    png = api.client.post(url, headers={**headers, "Content-Type": "image/png"}, content=PNG)
    assert png.status_code == 201 and png.json()["media_type"] == "image/png"


def test_error_shapes(sqlite_api: Api) -> None:
    c = sqlite_api.client
    nf = c.get("/no/such/route")
    assert nf.status_code == 404 and nf.json() == {
        "code": "route.not_found",
        "message": "no such resource",
    }
    na = c.delete("/api/v1/verify")
    assert na.status_code == 405 and na.json()["code"] == "method.not_allowed"
    bad = c.post(
        "/api/v1/verify", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    wrong = c.post("/api/v1/verify", json={"credential": 5, "extra": 1})
    assert wrong.status_code == 422 and wrong.json()["code"] == "request.invalid"
    assert "Traceback" not in wrong.text


def test_public_endpoints_are_rate_limited(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from registry.application.clock import SimulatedClock
    from registry.application.settings import Settings
    from tests.api.conftest import make_api

    settings = Settings(
        sqlite_path=tmp_path / "r.sqlite", keys_dir=tmp_path / "keys", create_missing_secrets=True
    )
    api, registry = make_api(
        settings, SimulatedClock(datetime(2024, 3, 1, tzinfo=UTC)), tmp_path, rate_limit=5
    )
    with api.client:
        codes = [api.client.get("/api/v1/lookup/SIE-44-2024-0000019").status_code for _ in range(8)]
        assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3
        r = api.client.get("/api/v1/lookup/SIE-44-2024-0000019")
        assert r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        assert api.client.get("/healthz").status_code == 200  # operations are not limited
    registry.close()


def test_evidence_store_stops_reading_at_the_limit(tmp_path: Path) -> None:
    import asyncio

    import pytest

    from verify_api.evidence import EvidenceReceiver, EvidenceRejected

    pulled = 0

    async def chunks():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield (b"%PDF-" if i == 0 else b"") + b"x" * 1024

    store = EvidenceReceiver(max_bytes=10 * 1024)
    with pytest.raises(EvidenceRejected) as refused:
        asyncio.run(store.receive(chunks(), "application/pdf"))
    assert refused.value.code == "evidence.too_large"
    assert pulled == 10  # the 10th chunk crosses 10 KiB; nothing after it is read
    assert list(tmp_path.iterdir()) == []


def test_search_status_is_an_enum_unknown_value_is_422(sqlite_api: Api) -> None:
    api = sqlite_api
    bad = api.client.get("/api/v1/search?status=foo", headers=api.auth("registrar"))
    assert bad.status_code == 422
    assert set(bad.json()) >= {"code", "message"}
    good = api.client.get("/api/v1/search?status=active", headers=api.auth("registrar"))
    assert good.status_code == 200
    schema = api.client.get("/openapi.json").json()
    params = schema["paths"]["/api/v1/search"]["get"]["parameters"]
    status = next(p for p in params if p["name"] == "status")
    assert "enum" in json.dumps(status) or "$ref" in json.dumps(status)
