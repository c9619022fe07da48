"""Bulk tender check: status on the tender date and now, employer match, signed outputs."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from domain.numbering import format_number
from registry.application.bulk_check import canonical_json
from registry.credentials._internal.jwk import parse_jwks
from tests.api.conftest import Api, build_world
from tests.builders import EMPLOYER_ID


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_status_on_tender_date_and_now_with_employer(api: Api) -> None:
    world = build_world(api)
    before_changes = (api.clock.now() - timedelta(days=5)).date()
    cert = api.issue(world.active_id)
    items = [
        world.active,
        world.suspended,
        world.revoked,
        "SIE-44-2024-9999990",
        format_number("SIE", "44", 2024, 999_999),
        cert["url"],
        "garbage",
    ]
    r = api.client.post(
        "/api/v1/bulk-check",
        json={
            "items": items,
            "as_of": before_changes.isoformat(),
            "bidding_employer_id": EMPLOYER_ID,
        },
    )
    assert r.status_code == 200, r.text
    report = r.json()
    rows = report["rows"]
    # The verdict is about the tender date; a later change is a warning on the row.
    assert [row["verdict"] for row in rows] == [
        "pass",
        "pass",
        "pass",
        "fail",
        "fail",
        "pass",
        "fail",
    ]
    assert [row["warnings"] for row in rows[:3]] == [
        [],
        ["status.now_suspended"],
        ["status.now_revoked"],
    ]
    # On the tender date (before the suspension and revocation) all three were active...
    assert [row["status_on_date"] for row in rows[:3]] == ["active"] * 3
    assert all(row["registered_to_bidding_employer"] for row in rows[:3])
    # ...but now two are not, and the report says so.
    assert [row["status_now"] for row in rows[:3]] == ["active", "suspended", "revoked"]
    assert "registration_number.malformed" in rows[3]["problems"]
    assert "registration.not_found" in rows[4]["problems"]
    assert rows[5]["kind"] == "credential" and rows[5]["credential_genuine"] is True
    assert rows[6]["kind"] == "invalid" or rows[6]["credential_genuine"] is False
    today = api.client.post(
        "/api/v1/bulk-check",
        json={
            "items": items[:3],
            "as_of": api.clock.now().date().isoformat(),
            "bidding_employer_id": "emp-other",
        },
    ).json()
    assert [row["verdict"] for row in today["rows"]] == ["fail"] * 3
    assert "employer.mismatch_on_date" in today["rows"][0]["problems"]
    assert "status.suspended_on_date" in today["rows"][1]["problems"]
    assert "张小三" not in r.text and "13800138000" not in r.text


def test_report_signature_verifies_and_detects_tampering(sqlite_api: Api) -> None:
    api = sqlite_api
    world = build_world(api)
    report = api.client.post(
        "/api/v1/bulk-check", json={"items": [world.active, world.revoked], "as_of": "2024-03-05"}
    ).json()
    ok = api.client.post("/api/v1/bulk-check/verify", json=report).json()
    assert ok == {
        "valid": True,
        "code": "signature.valid",
        "kid": report["signature"]["kid"],
        "alg": "EdDSA",
    }
    # Independently, with nothing but the published JWKS and RFC 7515:
    keys = dict(parse_jwks(api.client.get("/.well-known/jwks.json").json()))
    header_b64, _, sig_b64 = report["signature"]["jws"].split(".")
    header = json.loads(_b64(header_b64))
    body = {k: v for k, v in report.items() if k != "signature"}
    payload = base64.urlsafe_b64encode(canonical_json(body)).rstrip(b"=").decode()
    key = keys[_b64(header["kid"])]
    assert isinstance(key, Ed25519PublicKey)
    key.verify(_b64(sig_b64), f"{header_b64}.{payload}".encode())
    report["rows"][1]["verdict"] = "pass"
    bad = api.client.post("/api/v1/bulk-check/verify", json=report).json()
    assert bad["valid"] is False and bad["code"] == "signature.invalid"
    unsigned = api.client.post("/api/v1/bulk-check/verify", json={"rows": []}).json()
    assert unsigned["code"] == "signature.missing"


def test_csv_upload_and_csv_pdf_outputs(sqlite_api: Api) -> None:
    api = sqlite_api
    world = build_world(api)
    upload = f"number\n{world.active}\n{world.revoked}\n".encode()
    r = api.client.post(
        "/api/v1/bulk-check/csv?format=csv",  # spreadsheet in, CSV out
        files={"file": ("team.csv", upload, "text/csv")},
        data={"as_of": api.clock.now().date().isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["Registry-Signature"].count(".") == 2
    text = r.content.decode("utf-8-sig")
    # The signed manifest ends the file: "# ..." lines, the last one the signature.
    assert text.splitlines()[-1] == "# signature: " + r.headers["Registry-Signature"]
    rows = [row for row in csv.DictReader(io.StringIO(text)) if row["index"][:1] != "#"]
    assert [(row["number"], row["verdict"]) for row in rows] == [
        (world.active, "pass"),
        (world.revoked, "fail"),
    ]
    # codes for machines, words beside them for people (zh and en)
    assert rows[1]["status_now"] == "revoked"
    assert rows[1]["status_now_words"] == "已撤销 Revoked"
    assert rows[1]["reason_now_words"] == "以欺骗手段取得登记 registration obtained by fraud"
    assert rows[1]["verdict_words"] == "不通过 FAIL"
    pdf = api.client.post(
        "/api/v1/bulk-check?format=pdf",
        json={"items": [world.active, world.revoked], "as_of": "2024-03-20"},
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


def test_more_than_1000_rows_is_refused_with_a_clear_code(sqlite_api: Api) -> None:
    r = sqlite_api.client.post(
        "/api/v1/bulk-check", json={"items": ["SIE-44-2024-0000019"] * 1001, "as_of": "2024-03-01"}
    )
    assert r.status_code == 413 and r.json()["code"] == "bulk.too_many_rows"
    csv_body = ("\n".join(["SIE-44-2024-0000019"] * 1001)).encode()
    r = sqlite_api.client.post(
        "/api/v1/bulk-check/csv",
        files={"file": ("t.csv", csv_body, "text/csv")},
        data={"as_of": "2024-03-01"},
    )
    assert r.status_code == 413 and r.json()["code"] == "bulk.too_many_rows"
    empty = sqlite_api.client.post("/api/v1/bulk-check", json={"items": [], "as_of": "2024-03-01"})
    assert empty.status_code == 422 and empty.json()["code"] == "bulk.empty"
    bad_date = sqlite_api.client.post(
        "/api/v1/bulk-check", json={"items": ["x"], "as_of": "2024-02-30"}
    )
    assert bad_date.status_code == 422 and bad_date.json()["code"] == "request.invalid"


def test_a_thousand_rows_fit(sqlite_api: Api) -> None:
    world = build_world(sqlite_api)
    r = sqlite_api.client.post(
        "/api/v1/bulk-check", json={"items": [world.active] * 1000, "as_of": "2024-03-20"}
    )
    assert r.status_code == 200
    assert r.json()["summary"] == {"rows": 1000, "pass": 1000, "fail": 0, "could_not_check": 0}


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("gbk"), "gb18030"),
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: "\ufeff".encode() + t.encode("utf-8"), "utf-8-sig"),
    ],
)
def test_csv_upload_in_gbk_or_utf8_says_which_encoding_was_used(
    sqlite_api: Api, encode: Any, expected: str
) -> None:
    api = sqlite_api
    world = build_world(api)
    upload = encode(f"登记编号,姓名\n{world.active},张三\n{world.revoked},李四\n")
    r = api.client.post(
        "/api/v1/bulk-check/csv?format=json",
        files={"file": ("团队.csv", upload, "text/csv")},
        data={"as_of": api.clock.now().date().isoformat()},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["input_encoding"] == expected
    assert [(row["input"], row["verdict"]) for row in report["rows"]] == [
        (world.active, "pass"),
        (world.revoked, "fail"),
    ]
    assert api.client.post("/api/v1/bulk-check/verify", json=report).json()["valid"] is True
