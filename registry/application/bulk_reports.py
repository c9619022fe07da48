"""Bulk tender check reports others can verify: stored by id, fetched again, checked offline.

Every signed report is kept append-only (`ports.BulkReports`) under its `report_id`, so a
bid evaluator who receives one can fetch the same report from the registry and check it.
The three forms each carry what is needed to check them with only the published JWKS:

- JSON: the detached JWS in `signature` over the canonical JSON without it (`bulk_check`).
- CSV: a signed manifest at the end of the file. The rows are followed by ``# report_id:``,
  ``# report_sha256:``, ``# timezone:`` (the zone of its dates) (and ``# input_encoding:``)
  lines and a last ``# signature: <JWS>``
  line whose detached JWS covers every byte before that line. In-file rather than a
  detached ``.sig``: one file is what gets e-mailed and archived with a bid, and a signature
  file kept beside it is the first thing to get lost; spreadsheets show the manifest as a
  few trailing rows starting with ``#``.
- PDF: the signed JSON itself is embedded as a file attachment (`REPORT_ATTACHMENT`), and
  the report id and hash are in the document information and printed on the page. The PDF
  is genuine as evidence when the embedded report's signature verifies and its hash and id
  are those the PDF states. (The printed table is a rendering of that embedded report; the
  report is the evidence, and the QR on the page leads to the registry's own copy.)
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any, Literal

from registry.application.bulk_check import (
    PublicKeys,
    canonical_json,
    report_business_time,
    report_csv,
    sign_bytes,
    verify_detached,
    verify_report,
)
from registry.application.ports import BulkReports
from registry.credentials import KeyStore

REPORT_ATTACHMENT = "bulk-check-report.json"
PDF_ID_KEY = "/RegistryReportId"
PDF_HASH_KEY = "/RegistryReportSHA256"
CSV_JWS_TYPE = "registry-bulk-check+csv"
CSV_SIGNATURE = b"# signature: "

FileKind = Literal["json", "csv", "pdf"]


def report_sha256(report: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON the signature covers (the report without it)."""
    body = {k: v for k, v in report.items() if k != "signature"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def store_report(store: BulkReports, signed: dict[str, Any]) -> None:
    """Keep a signed report under its id (append-only)."""
    store.add(
        str(signed["report_id"]),
        str(signed["checked_at"]),
        report_sha256(signed),
        canonical_json(signed).decode("utf-8"),
    )


def load_report(store: BulkReports, report_id: str) -> dict[str, Any] | None:
    document = store.get(report_id)
    if document is None:
        return None
    loaded: dict[str, Any] = json.loads(document)
    return loaded


def signed_csv(keys: KeyStore, report: dict[str, Any]) -> tuple[bytes, str]:
    """The report's CSV with its signed manifest at the end, and the manifest's JWS."""
    manifest = [
        f"# report_id: {report['report_id']}",
        f"# report_sha256: {report_sha256(report)}",
        f"# timezone: {report_business_time(report).timezone}",
    ]
    if report.get("input_encoding"):
        manifest.append(f"# input_encoding: {report['input_encoding']}")
    covered = report_csv(report) + "".join(line + "\r\n" for line in manifest).encode("utf-8")
    jws = sign_bytes(keys, covered, CSV_JWS_TYPE)["jws"]
    return covered + CSV_SIGNATURE + jws.encode("ascii") + b"\r\n", jws


@dataclass(frozen=True)
class FileCheck:
    """The outcome of checking a report file offline; `code` is stable, `reason` is words."""

    valid: bool
    kind: FileKind | None
    code: str
    reason: str
    report_id: str | None = None
    sha256: str | None = None


_REASONS = {
    "signature.valid": "the signature verifies with the trusted keys",
    "signature.invalid": "the signature does not match the content: the file was changed",
    "signature.malformed": "the signature is damaged or not a detached JWS",
    "signature.missing": "the file carries no signature",
    "signature.unknown_key": "signed with a key that is not in the trust list",
    "signature.keys_unavailable": "the trusted keys cannot be read",
    "signature.algorithm_unsupported": "the signature uses an unsupported algorithm",
}


def _check(kind: FileKind, code: str, reason: str | None = None, **more: Any) -> FileCheck:
    return FileCheck(
        code == "signature.valid", kind, code, reason or _REASONS.get(code, code), **more
    )


def verify_report_file(data: bytes, keys: PublicKeys) -> FileCheck:
    """Check a JSON, CSV or PDF bulk report (told apart by content) with `keys` only."""
    if data.startswith(b"%PDF"):
        return _verify_pdf(data, keys)
    if data.lstrip().startswith(b"{"):
        return _verify_json(data, keys)
    return _verify_csv(data, keys)


def _verify_json(data: bytes, keys: PublicKeys, kind: FileKind = "json") -> FileCheck:
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _check(kind, "report.malformed", "the report is not valid JSON")
    if not isinstance(report, dict):
        return _check(kind, "report.malformed", "the report is not a JSON object")
    check = verify_report(keys, report)
    return _check(
        kind, check.code, report_id=_str(report.get("report_id")), sha256=report_sha256(report)
    )


def _verify_csv(data: bytes, keys: PublicKeys) -> FileCheck:
    at = data.rfind(b"\n" + CSV_SIGNATURE)
    if at < 0:
        return _check("csv", "signature.missing", "no '# signature:' line at the end of the CSV")
    covered = data[: at + 1]
    jws = data[at + 1 + len(CSV_SIGNATURE) :].strip().decode("ascii", errors="replace")
    manifest: dict[str, str] = {}
    for line in covered.decode("utf-8", errors="replace").splitlines():
        if line.startswith("# ") and ": " in line:
            name, _, value = line[2:].partition(": ")
            manifest[name] = value.strip()
    check = verify_detached(keys, covered, jws)
    return _check(
        "csv",
        check.code,
        report_id=manifest.get("report_id"),
        sha256=manifest.get("report_sha256"),
    )


def _verify_pdf(data: bytes, keys: PublicKeys) -> FileCheck:
    from pypdf import PdfReader  # only the PDF form needs it

    try:
        reader = PdfReader(io.BytesIO(data))
        info: dict[str, Any] = dict(reader.metadata or {})
        stated_id, stated_hash = _str(info.get(PDF_ID_KEY)), _str(info.get(PDF_HASH_KEY))
        embedded = reader.attachments.get(REPORT_ATTACHMENT)
    except Exception:  # pypdf raises many kinds on a damaged file
        return _check("pdf", "pdf.unreadable", "the PDF is damaged and cannot be read")
    if stated_id is None or stated_hash is None:
        return _check("pdf", "pdf.no_report_hash", "the PDF states no report id and hash")
    if not embedded:
        return _check("pdf", "pdf.no_embedded_report", "the PDF carries no signed report")
    inner = _verify_json(embedded[0], keys, "pdf")
    if not inner.valid:
        return FileCheck(
            False, "pdf", inner.code, f"embedded report: {inner.reason}", stated_id, stated_hash
        )
    if inner.sha256 != stated_hash or inner.report_id != stated_id:
        return FileCheck(
            False,
            "pdf",
            "pdf.hash_mismatch",
            "the report id or hash the PDF states is not that of its signed report",
            stated_id,
            stated_hash,
        )
    return FileCheck(
        True, "pdf", "signature.valid", _REASONS["signature.valid"], stated_id, stated_hash
    )


def _str(value: object) -> str | None:
    return str(value) if value is not None else None
