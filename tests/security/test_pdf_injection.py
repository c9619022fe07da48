"""Markup injection in PDFs (issue 9, item 1).

reportlab's `Paragraph` parses a mini-markup: ``<img src>`` embeds any image file the server
can read, ``<link href>`` plants a URI, ``<font>`` restyles the page. Every caller-supplied
string, in every text field of both PDFs (the bulk tender-check report and the certificate),
must come out as its literal text: no image from the attacker, no URI, no markup.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from registry.credentials import CertificateDetails, SigningKey, certificate_pdf, issue_credential
from registry.credentials._internal.qr import qr_png
from tests.credentials.conftest import BASE_URL, make_claims
from tests.security.conftest import Live
from verify_api.bulk_pdf import report_pdf


@pytest.fixture(scope="module")
def server_image() -> Iterator[Path]:
    """A real image on the server's disk (stands in for an uploaded ID scan), short path."""
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        path = Path(directory) / "id.png"
        path.write_bytes(qr_png("SECRET ID SCAN"))
        yield path


def payload(field: str, image: Path) -> str:
    """Every markup trick at once, tagged with the field name so each field is found."""
    return (
        f'<img src="{image}" width="90" height="90"/>'
        f'<link href="https://evil.example/{field}">{field}</link>'
        f'<font size="40" color="red">{field}</font> {field} &amp; & co'
    )


def _squash(text: str) -> str:
    """Text without whitespace: table cells wrap long values across lines."""
    return re.sub(r"\s+", "", text)


def _walk(obj: PdfObject | Any, seen: set[int], found: dict[str, int]) -> None:
    if isinstance(obj, IndirectObject):
        if obj.idnum in seen:
            return
        seen.add(obj.idnum)
        obj = obj.get_object()
    if isinstance(obj, DictionaryObject):
        if obj.get("/Subtype") == "/Image":
            found["images"] += 1
        if "/URI" in obj or obj.get("/S") == "/URI":
            found["uris"] += 1
        if "/Annots" in obj:
            found["annotations"] += len(obj["/Annots"].get_object())
        for key, value in obj.items():
            if key != "/Parent":
                _walk(value, seen, found)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            _walk(item, seen, found)


def inspect_pdf(pdf: bytes) -> tuple[str, dict[str, int]]:
    """(all page text, counts of image XObjects, URI actions and annotations in the file)."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    found = {"images": 0, "uris": 0, "annotations": 0}
    _walk(reader.trailer, set(), found)
    return text, found


def assert_literal(text: str, *expected: str) -> None:
    squashed = _squash(text)
    missing = [e for e in expected if _squash(e) not in squashed]
    assert not missing, f"not printed literally: {missing}"


# -- the bulk tender-check report ----------------------------------------------------------


def _report(image: Path) -> dict[str, Any]:
    p = lambda field: payload(field, image)  # noqa: E731
    return {
        "report_id": p("report_id"),
        "issuer": p("issuer"),
        "checked_at": p("checked_at"),
        "as_of": p("as_of"),
        "bidding_employer_id": p("bidding_employer_id"),
        "summary": {"rows": 2, "pass": 0, "fail": 1, "could_not_check": 1},
        "rows": [
            {
                "index": 0,
                "input": p("input"),
                "number": None,
                "masked_name": p("masked_name"),
                "scheme": p("scheme"),
                "status_on_date": p("status_on_date"),
                "reason_on_date": p("reason_on_date"),
                "registered_to_bidding_employer": False,
                "status_now": p("status_now"),
                "verdict": p("verdict"),
                "problems": [p("problems")],
                "warnings": [p("warnings")],
            },
            {
                "index": 1,
                "input": "x",
                "number": p("number"),
                "verdict": "fail",
                "registered_to_bidding_employer": True,
            },
        ],
        "signature": {"kid": p("kid"), "alg": p("alg"), "jws": p("jws")},
    }


BULK_FIELDS = (
    "report_id",
    "issuer",
    "checked_at",
    "as_of",
    "bidding_employer_id",
    "input",
    "number",
    "masked_name",
    "scheme",
    "status_on_date",
    "reason_on_date",
    "status_now",
    "verdict",
    "problems",
    "warnings",
    "kid",
    "alg",
    "jws",
    "verify_url",
    "page_url",
)


def test_every_bulk_report_field_prints_as_literal_text(server_image: Path) -> None:
    pdf = report_pdf(
        _report(server_image),
        payload("verify_url", server_image),
        payload("page_url", server_image),
    )
    text, found = inspect_pdf(pdf)
    assert_literal(text, *(payload(field, server_image) for field in BULK_FIELDS))
    assert found == {"images": 0, "uris": 0, "annotations": 0}


# -- the certificate -----------------------------------------------------------------------

CERTIFICATE_FIELDS = (
    "holder_name",
    "registration_number",
    "scheme_name",
    "scheme_code",
    "issuer_name",
    "issuer_region",
    "certificate_serial",
    "employer",
)


def test_every_certificate_field_prints_as_literal_text(server_image: Path) -> None:
    short = Path("/x.png")  # the certificate prints on one line per field
    values = {field: payload(field, short) for field in CERTIFICATE_FIELDS}
    details = CertificateDetails(
        **values,  # type: ignore[arg-type]
        issued_on=date(2025, 3, 1),
        valid_until=date(2027, 3, 1),
    )
    base_url = BASE_URL + "/<link href='https://evil.example/'>&amp;"
    credential = issue_credential(make_claims(), SigningKey.generate())
    text, found = inspect_pdf(certificate_pdf(details, credential, base_url))
    assert_literal(text, *values.values(), base_url + "/v")
    assert found == {"images": 1, "uris": 0, "annotations": 0}  # the QR code, nothing else


# -- through the real HTTP server, unauthenticated ----------------------------------------


def test_bulk_pdf_over_http_prints_injected_markup_literally(
    live: Live, attacker: httpx.Client, server_image: Path
) -> None:
    employer = f'<img src="{server_image}"/><link href="https://e.example/">&</link>'
    assert len(employer) <= 100  # the API's limit for bidding_employer_id
    items = [  # the report shows at most 80 characters of an input
        f'<img src="{server_image}" width="90" height="90"/>&',
        '<link href="https://evil.example/x">click</link> &amp;',
        f'<font size="40">{live.numbers["active"]}</font>',
        live.numbers["revoked"] + " & <b>bold</b>",
    ]
    assert all(len(item) <= 80 for item in items)
    r = attacker.post(
        f"{live.url}/api/v1/bulk-check",
        params={"format": "pdf"},
        json={"items": items, "as_of": date.today().isoformat(), "bidding_employer_id": employer},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text, found = inspect_pdf(r.content)
    assert_literal(text, employer, *items)
    assert found == {"images": 0, "uris": 0, "annotations": 0}
    assert b"SECRET" not in r.content
