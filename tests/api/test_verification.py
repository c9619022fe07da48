"""The public verification page and JSON API: genuine or not, live status, each step."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest

from registry.application import Revoke
from registry.credentials._internal.claims import CredentialClaims
from registry.credentials._internal.issue import issue_credential
from registry.credentials._internal.jwk import parse_jwks
from registry.credentials._internal.keys import SigningKey
from registry.credentials._internal.trustlist import load_trust_list
from registry.credentials._internal.url import credential_from_url
from tests.api.conftest import Api, build_world


def _steps(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-result="(\w+)"', html))


def test_active_credential_reads_valid_with_every_step(api: Api) -> None:
    world = build_world(api)
    cert = api.issue(world.active_id)
    assert credential_from_url(cert["url"]) == cert["credential"]
    page = api.client.get(cert["url"].split("8000", 1)[1], headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-headline="valid"' in page.text
    assert "Genuine and valid" in page.text
    assert 'data-status="active"' in page.text and "Active" in page.text
    assert world.active in page.text
    assert "张*三" in page.text  # masked name, never the full name
    assert "张小三" not in page.text
    assert _steps(page.text) == {
        "format": "VALID",
        "signature": "VALID",
        "issuer_key": "VALID",
        "status": "VALID",
        "expiry": "VALID",
    }
    api_result = api.client.post("/api/v1/verify", json={"credential": cert["credential"]}).json()
    assert api_result["headline"] == "valid" and api_result["valid_now"] is True
    assert api_result["registration"]["number"] == world.active


def test_revoked_after_issue_reads_not_valid_now_with_date(api: Api) -> None:
    world = build_world(api)
    cert = api.issue(world.active_id)
    api.clock.advance(timedelta(days=30))
    from tests.builders import REGISTRAR

    api.registry.handle(Revoke(world.active_id, "misconduct", "court ruling"), REGISTRAR)
    revoked_on = api.clock.now().date().isoformat()
    page = api.client.get("/v", params={"c": cert["credential"], "lang": "zh"})
    assert page.status_code == 200
    assert 'data-headline="not_valid_now"' in page.text
    assert "证书真实，但当前无效" in page.text
    assert 'data-status="revoked"' in page.text and "已撤销" in page.text
    assert revoked_on in page.text
    steps = _steps(page.text)
    assert steps["signature"] == "VALID" and steps["status"] == "INVALID"
    # never both "verified" and "not verified": the headline is the only verdict
    assert "Genuine and valid" not in page.text and "真实有效" not in page.text
    body = api.client.post("/api/v1/verify", json={"credential": cert["url"]}).json()
    assert body["genuine"] is True and body["valid_now"] is False
    assert body["steps"]["status"] == {"result": "INVALID", "reason": "status.revoked"}
    assert body["registration"]["since"].startswith(revoked_on)


@pytest.mark.parametrize(
    "garbage",
    [
        "hello",
        "ER1:",
        "ER1:%%%%",
        "ER1:" + "A" * 5000,
        "https://evil.example/x?c=1",
        "ER1:6BF+CYT2" + "\u4e2d" * 3,
        "\x00\x01",
    ],
)
def test_garbage_gets_a_could_not_read_page_never_a_500(sqlite_api: Api, garbage: str) -> None:
    page = sqlite_api.client.get(f"/v?c={quote(garbage, safe='')}")
    assert page.status_code == 200
    assert 'data-headline="unreadable"' in page.text
    assert _steps(page.text)["format"] == "INVALID"
    assert _steps(page.text)["status"] == "COULD_NOT_CHECK"
    r = sqlite_api.client.post("/api/v1/verify", json={"credential": garbage})
    assert r.status_code == 200 and r.json()["headline"] == "unreadable"
    assert r.json()["genuine"] is None  # nothing was proved false


def test_forged_credential_signed_by_unknown_key_is_not_genuine(sqlite_api: Api) -> None:
    world = build_world(sqlite_api)
    now = sqlite_api.clock.now()
    claims = CredentialClaims(
        issuer=sqlite_api.settings.issuer,
        issued_at=now,
        expires_at=now + timedelta(days=700),
        registration_number=world.revoked,
        scheme_code="SIE",
        certificate_serial="FORGED-1",
        masked_name="张*三",
        issuer_region="44",
    )
    forged = issue_credential(claims, SigningKey.generate())
    page = sqlite_api.client.get("/v", params={"c": forged, "lang": "en"})
    assert page.status_code == 200
    assert 'data-headline="not_genuine"' in page.text
    assert "NOT genuine" in page.text
    steps = _steps(page.text)
    assert steps["issuer_key"] == "INVALID"
    assert steps["status"] == "COULD_NOT_CHECK"  # no live status shown for a forgery
    assert "data-status=" not in page.text


def test_one_changed_character_is_never_accepted_nor_called_a_forgery(sqlite_api: Api) -> None:
    """A character changed inside the compressed body is what a misread QR looks like: it
    can never verify, and it reads "could not read", not "not genuine" (issue 11)."""
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    text = cert["credential"]
    i = len(text) // 2
    tampered = text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]
    body = sqlite_api.client.post("/api/v1/verify", json={"credential": tampered}).json()
    assert body["headline"] == "unreadable"
    assert body["genuine"] is not True and body["valid_now"] is False
    assert "INVALID" in {s["result"] for s in body["steps"].values()}


def test_status_that_cannot_be_fetched_is_never_not_revoked(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    services = sqlite_api.client.app.state.services  # type: ignore[attr-defined]

    def broken(number: str, today: object = None) -> None:
        raise ConnectionError("store down")

    monkeypatch.setattr(services.projections, "by_number", broken)
    page = sqlite_api.client.get("/v", params={"c": cert["credential"], "lang": "en"})
    assert page.status_code == 200
    assert 'data-headline="status_unknown"' in page.text
    assert "NOT a statement that it is not revoked" in page.text
    assert _steps(page.text)["status"] == "COULD_NOT_CHECK"
    body = sqlite_api.client.post("/api/v1/verify", json={"credential": cert["credential"]})
    assert body.json()["valid_now"] is False
    assert body.json()["steps"]["status"]["reason"] == "status.unavailable"


def test_expired_credential_stays_viewable_with_a_banner(sqlite_api: Api) -> None:
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    sqlite_api.clock.advance(timedelta(days=365 * 3))
    body = sqlite_api.client.post("/api/v1/verify", json={"credential": cert["credential"]})
    data = body.json()
    assert data["headline"] == "expired"
    # the last day of validity: the registration's own (it lapsed too), never after the
    # credential's exp instant
    assert data["expired_on"] == data["registration"]["valid_until"]
    assert data["expired_on"] < data["credential"]["expires_at"]
    assert data["steps"]["expiry"]["result"] == "INVALID"
    assert data["steps"]["signature"]["result"] == "VALID"


def test_language_negotiation_and_switch(sqlite_api: Api) -> None:
    zh = sqlite_api.client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "工程师登记核验" in zh.text and 'lang="zh-CN"' in zh.text
    en = sqlite_api.client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Engineer registration check" in en.text
    forced = sqlite_api.client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Engineer registration check" in forced.text
    assert 'href="/?lang=zh"' in forced.text


def test_public_lookup_has_public_fields_only(sqlite_api: Api) -> None:
    world = build_world(sqlite_api)
    r = sqlite_api.client.get(f"/api/v1/lookup/{world.suspended}")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "suspended" and body["permitted_to_practise"] is False
    assert body["status_reason"] == "investigation"
    assert body["masked_name"] == "张*三"
    assert set(body) == {
        "number",
        "masked_name",
        "scheme",
        "status",
        "permitted_to_practise",
        "status_reason",
        "status_since",
        "valid_until",
        "issuer",
        "issuer_region",
        "checked_at",
    }
    text = r.text
    for secret in ("13800138000", "深圳市南山区", "张小三", "eng2@example.cn"):
        assert secret not in text
    missing = sqlite_api.client.get("/api/v1/lookup/SIE-44-2024-9999990")
    assert missing.status_code == 404
    assert missing.json()["code"] in {"registration.not_found", "registration_number.malformed"}
    html = sqlite_api.client.get("/lookup", params={"number": world.revoked, "lang": "en"})
    assert 'data-status="revoked"' in html.text and "Revoked" in html.text


def test_jwks_and_signed_trust_list_verify(sqlite_api: Api) -> None:
    jwks = sqlite_api.client.get("/.well-known/jwks.json").json()
    keys = parse_jwks(jwks)
    assert keys and all("d" not in k for k in jwks["keys"])
    doc = sqlite_api.client.get("/.well-known/trust-list.json").json()
    trust = load_trust_list(doc["jws"], keys, at=sqlite_api.clock.now())
    assert trust.list_issuer == sqlite_api.settings.issuer
    assert doc["payload"]["issuers"][0]["id"] == sqlite_api.settings.issuer


@pytest.mark.parametrize(
    ("lang", "status_words", "reason_words"),
    [("zh", "已暂停", "正在调查"), ("en", "Suspended", "under investigation")],
)
def test_suspended_page_shows_reason_and_status_in_words(
    sqlite_api: Api, lang: str, status_words: str, reason_words: str
) -> None:
    world = build_world(sqlite_api)
    page = sqlite_api.client.get("/lookup", params={"number": world.suspended, "lang": lang})
    assert page.status_code == 200
    reason = re.search(r'<dd id="reason" data-reason="([^"]*)">([^<]*)</dd>', page.text)
    assert reason is not None
    assert reason.groups() == ("investigation", reason_words)
    assert status_words in page.text
    # the code is kept for machines (an attribute), never shown as the words
    assert ">investigation<" not in page.text and "(suspended)" not in page.text


def test_step_reasons_are_words(sqlite_api: Api) -> None:
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    sqlite_api.clock.advance(timedelta(days=365 * 3))
    page = sqlite_api.client.get("/v", params={"c": cert["credential"], "lang": "en"})
    assert 'data-reason="expiry.expired">the certificate has expired<' in page.text
    zh = sqlite_api.client.get("/v", params={"c": cert["credential"], "lang": "zh"})
    assert 'data-reason="expiry.expired">证书已过有效期<' in zh.text


# Four verdicts a person must tell apart (SPEC §12), over HTTP, in zh and en.
WORDS = {
    "zh": {
        "unreadable": ("无法读取此二维码", "请重新扫描"),
        "not_genuine": ("非真实证书", "签名不符"),
        "not_valid_now": ("证书真实，但当前无效", "正在调查"),
        "expired": ("已过期（有效期至 {date}）", "有效期至 {date} 已届满"),
    },
    "en": {
        "unreadable": ("Could not read this code", "Scan it again"),
        "not_genuine": ("NOT genuine", "signature"),
        "not_valid_now": ("Genuine, but NOT valid now", "under investigation"),
        "expired": ("expired: valid until {date}", "validity ended with {date}"),
    },
}


def _verdict(html: str) -> tuple[str, str, str]:
    m = re.search(r'data-headline="(\w+)".*?<h1>(.*?)</h1>\s*<p id="explain">(.*?)</p>', html, re.S)
    assert m is not None, html
    return m.group(1), m.group(2), m.group(3)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_truncated_qr_reads_could_not_read_not_forgery(sqlite_api: Api, lang: str) -> None:
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    for cut in (len(cert["credential"]) * 2 // 3, len(cert["credential"]) - 1):
        truncated = cert["credential"][:cut]  # a QR read only in part
        page = sqlite_api.client.get("/v", params={"c": truncated, "lang": lang})
        assert page.status_code == 200
        headline, h1, explain = _verdict(page.text)
        assert headline == "unreadable", (cut, h1)
        assert WORDS[lang]["unreadable"][0] in h1
        assert WORDS[lang]["unreadable"][1] in explain
        assert "NOT genuine" not in page.text and "非真实" not in page.text
        assert 'action="/lookup"' in page.text  # enter the number instead


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forged_signature_reads_not_genuine(sqlite_api: Api, lang: str) -> None:
    world = build_world(sqlite_api)
    now = sqlite_api.clock.now()
    claims = CredentialClaims(
        issuer=sqlite_api.settings.issuer,
        issued_at=now,
        expires_at=now + timedelta(days=700),
        registration_number=world.active,
        scheme_code="SIE",
        certificate_serial="FORGED-2",
        masked_name="张*三",
        issuer_region="44",
    )
    forged = issue_credential(claims, SigningKey.generate())
    page = sqlite_api.client.get("/v", params={"c": forged, "lang": lang})
    headline, h1, explain = _verdict(page.text)
    assert headline == "not_genuine"
    assert WORDS[lang]["not_genuine"][0] in h1 and WORDS[lang]["not_genuine"][1] in explain


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_suspended_reads_not_valid_now_with_reason_words_and_date(
    sqlite_api: Api, lang: str
) -> None:
    from domain.status import Status
    from registry.application import Suspend
    from tests.builders import REGISTRAR

    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    sqlite_api.clock.advance(timedelta(days=5))
    sqlite_api.registry.handle(Suspend(world.active_id, "investigation", "audit"), REGISTRAR)
    day = sqlite_api.clock.now().date().isoformat()
    page = sqlite_api.client.get("/v", params={"c": cert["credential"], "lang": lang})
    headline, h1, explain = _verdict(page.text)
    assert headline == "not_valid_now"
    assert WORDS[lang]["not_valid_now"][0] in h1
    assert WORDS[lang]["not_valid_now"][1] in explain and day in explain
    assert ("已暂停" if lang == "zh" else "suspended") in explain
    assert "changed after" not in explain and Status.SUSPENDED.value != explain


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_expired_credential_reads_expired_on_date(sqlite_api: Api, lang: str) -> None:
    world = build_world(sqlite_api)
    cert = sqlite_api.issue(world.active_id)
    sqlite_api.clock.advance(timedelta(days=365 * 3))
    data = sqlite_api.client.post("/api/v1/verify", json={"credential": cert["credential"]})
    day = data.json()["expired_on"]
    assert day
    page = sqlite_api.client.get("/v", params={"c": cert["credential"], "lang": lang})
    headline, h1, explain = _verdict(page.text)
    assert headline == "expired"
    assert WORDS[lang]["expired"][0].format(date=day) in h1
    assert WORDS[lang]["expired"][1].format(date=day) in explain
    # an expired credential is never told its registration changed after issue
    assert "changed after" not in page.text and "签发后状态已变更" not in page.text
