"""Bulk reports others can verify: stored by id, fetched as JSON/CSV/PDF, checked offline."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from registry.application.bulk_reports import report_sha256, verify_report_file
from registry.cli import app as cli
from registry.credentials import TrustStore
from tests.api.conftest import Api, build_world


class _Jwks:
    """Nothing but the published JWKS, as a receiver of the report would have."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.store = TrustStore.from_jwks(jwks)

    def public_keys(self) -> list[tuple[bytes, Any]]:
        return [(k.kid, k.public_key) for k in self.store]


def _report(api: Api) -> dict[str, Any]:
    world = build_world(api)
    r = api.client.post(
        "/api/v1/bulk-check",
        json={"items": [world.active, world.revoked], "as_of": "2024-03-20"},
    )
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def test_every_report_is_stored_and_fetched_as_json_csv_and_pdf(api: Api) -> None:
    report = _report(api)
    report_id = report["report_id"]
    jwks = _Jwks(api.client.get("/.well-known/jwks.json").json())

    got = api.client.get(f"/api/v1/bulk-check/{report_id}")
    assert got.status_code == 200 and got.json() == report
    check = verify_report_file(got.content, jwks)
    assert (check.valid, check.kind, check.report_id) == (True, "json", report_id)

    as_csv = api.client.get(f"/api/v1/bulk-check/{report_id}", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.content.decode("utf-8-sig").splitlines()
    assert lines[-1].startswith("# signature: ") and f"# report_id: {report_id}" in lines
    rows = [r for r in csv.DictReader(io.StringIO("\n".join(lines))) if r["index"][:1] != "#"]
    assert [r["verdict"] for r in rows] == ["pass", "fail"]
    check = verify_report_file(as_csv.content, jwks)
    assert (check.valid, check.kind, check.sha256) == (True, "csv", report_sha256(report))

    pdf = api.client.get(f"/api/v1/bulk-check/{report_id}?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    check = verify_report_file(pdf.content, jwks)
    assert (check.valid, check.kind) == (True, "pdf")
    assert (check.report_id, check.sha256) == (report_id, report_sha256(report))

    page = api.client.get(f"/bulk-check/{report_id}/verify")
    assert page.status_code == 200 and 'data-outcome="genuine"' in page.text
    assert report_sha256(report) in page.text
    missing = "00000000-0000-4000-8000-000000000000"
    assert api.client.get(f"/api/v1/bulk-check/{missing}").json()["code"] == (
        "bulk.report_not_found"
    )
    assert api.client.get(f"/bulk-check/{missing}/verify").status_code == 404
    assert api.client.get("/api/v1/bulk-check/not-a-uuid").status_code == 404


def test_stored_reports_are_append_only(api: Api) -> None:
    report_id = _report(api)["report_id"]
    db = api.registry.db
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE bulk_reports SET document = '{}' WHERE report_id = ?", (report_id,))
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM bulk_reports WHERE report_id = ?", (report_id,))
    assert api.client.get(f"/api/v1/bulk-check/{report_id}").json()["report_id"] == report_id


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_verify_report_cli_checks_each_form_and_names_a_one_byte_change(
    sqlite_api: Api, tmp_path: Path
) -> None:
    api = sqlite_api
    report_id = _report(api)["report_id"]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(api.client.get("/.well-known/jwks.json").json()))
    runner = CliRunner()

    def verify(name: str, data: bytes) -> tuple[int, dict[str, Any]]:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(
            cli, ["verify-report", str(path), "--trust-list", str(jwks), "--json"]
        )
        return result.exit_code, json.loads(result.stdout)

    forms = {
        fmt: api.client.get(f"/api/v1/bulk-check/{report_id}?format={fmt}").content
        for fmt in ("json", "csv", "pdf")
    }
    for fmt, data in forms.items():
        code, out = verify(f"report.{fmt}", data)
        assert (code, out["valid"], out["kind"], out["report_id"]) == (0, True, fmt, report_id)

    # One byte changed in a verdict of the JSON and of the CSV, in the hash a PDF states.
    json_data = forms["json"]
    code, out = verify("bad.json", _flip(json_data, json_data.index(b'"fail"') + 2))
    assert (code, out["valid"], out["code"]) == (1, False, "signature.invalid")
    assert "changed" in out["reason"]
    csv_data = forms["csv"]
    code, out = verify("bad.csv", _flip(csv_data, csv_data.index(b",pass,") + 2))
    assert (code, out["valid"], out["code"]) == (1, False, "signature.invalid")
    pdf_data = forms["pdf"]
    digest = verify_report_file(pdf_data, _Jwks(json.loads(jwks.read_text()))).sha256 or ""
    code, out = verify("bad.pdf", _flip(pdf_data, pdf_data.index(digest.encode()) + 5))
    assert (code, out["valid"], out["code"]) == (1, False, "pdf.hash_mismatch")
    code, out = verify("cut.csv", csv_data[: csv_data.rindex(b"# signature:")])
    assert (code, out["code"]) == (1, "signature.missing")


def test_a_future_tender_date_is_refused_unless_allowed(sqlite_api: Api) -> None:
    api = sqlite_api
    world = build_world(api)
    future = (api.clock.now() + timedelta(days=3)).date().isoformat()
    refused = api.client.post("/api/v1/bulk-check", json={"items": [world.active], "as_of": future})
    assert refused.status_code == 422
    assert refused.json()["code"] == "bulk.tender_date_in_future"
    upload = f"number\n{world.active}\n".encode()
    refused_csv = api.client.post(
        "/api/v1/bulk-check/csv",
        files={"file": ("t.csv", upload, "text/csv")},
        data={"as_of": future},
    )
    assert refused_csv.json()["code"] == "bulk.tender_date_in_future"
    allowed = api.client.post(
        "/api/v1/bulk-check",
        json={"items": [world.active], "as_of": future, "allow_future": True},
    )
    assert allowed.status_code == 200 and allowed.json()["as_of"] == future
    allowed_csv = api.client.post(
        "/api/v1/bulk-check/csv",
        files={"file": ("t.csv", upload, "text/csv")},
        data={"as_of": future, "allow_future": "true"},
    )
    assert allowed_csv.status_code == 200, allowed_csv.text
    today = api.client.post(
        "/api/v1/bulk-check",
        json={"items": [world.active], "as_of": api.clock.now().date().isoformat()},
    )
    assert today.status_code == 200


def test_officer_columns_and_input_encoding_are_kept_in_every_output(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    world = build_world(api)
    upload = (
        f"序号,登记编号,备注,verdict\n"
        f'1,{world.active},=HYPERLINK("http://x"),a\n'
        f"2,{world.revoked},项目经理,b\n"
    ).encode("gbk")
    r = api.client.post(
        "/api/v1/bulk-check/csv",
        files={"file": ("团队.csv", upload, "text/csv")},
        data={"as_of": api.clock.now().date().isoformat()},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["extra_columns"] == ["序号", "备注", "input.verdict"]
    assert [row["extra"] for row in report["rows"]] == [
        {"序号": "1", "备注": '=HYPERLINK("http://x")', "input.verdict": "a"},
        {"序号": "2", "备注": "项目经理", "input.verdict": "b"},
    ]
    report_id = report["report_id"]
    text = api.client.get(f"/api/v1/bulk-check/{report_id}?format=csv").content.decode("utf-8-sig")
    assert "# input_encoding: gb18030" in text.splitlines()
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["index"][:1] != "#"]
    assert [(r["verdict"], r["input.verdict"], r["备注"], r["序号"]) for r in rows] == [
        ("pass", "a", '\'=HYPERLINK("http://x")', "1"),
        ("fail", "b", "项目经理", "2"),
    ]
    pdf = api.client.get(f"/api/v1/bulk-check/{report_id}?format=pdf").content
    page_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "gb18030" in page_text
