"""The printable bulk tender check report: a PDF a tender officer can file with the bid.

It shows every row with its status on the tender date and now, the verdict, the report id
and hash, a QR code to the public page that says whether the registry's stored copy is
genuine, and the report's signature (key id and JWS). The signed JSON report itself is
embedded as a file attachment, and the id and hash are in the document information, so
`registry verify-report` can check the PDF offline (`registry.application.bulk_reports`).
Chinese text needs an embedded CJK font; the same font the certificate PDF uses.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.clock import BusinessTime
from domain.wording import describe_both, status_both
from registry.application.bulk_check import canonical_json, report_business_time
from registry.application.bulk_reports import (
    PDF_HASH_KEY,
    PDF_ID_KEY,
    REPORT_ATTACHMENT,
    report_sha256,
)
from registry.credentials import cjk_font as certificate_font


def cjk_font() -> str:
    """The certificate PDF's CJK font, so both documents embed the same face."""
    name, _source = certificate_font()
    return name


_STATUS_COLOURS = {
    "pass": colors.HexColor("#1b7f3b"),
    "fail": colors.HexColor("#b3261e"),
    "could_not_check": colors.HexColor("#8a6d00"),
}
_VERDICT_WORDS = {"pass": "通过 PASS", "fail": "不通过 FAIL", "could_not_check": "无法核验 UNKNOWN"}


def report_pdf(report: dict[str, Any], verify_url: str, page_url: str) -> bytes:
    """The printable report; `page_url` is the public page for this report id (the QR),
    `verify_url` where the JSON form can be posted for checking."""
    digest = report_sha256(report)
    rendered = _render(report, verify_url, page_url, digest)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(rendered)))
    writer.add_attachment(REPORT_ATTACHMENT, canonical_json(report))
    writer.add_metadata(
        {
            NameObject(PDF_ID_KEY): TextStringObject(str(report["report_id"])),
            NameObject(PDF_HASH_KEY): TextStringObject(digest),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url)
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def _render(report: dict[str, Any], verify_url: str, page_url: str, digest: str) -> bytes:
    font = cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    small = ParagraphStyle("small", fontName=font, fontSize=6.5, leading=8, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Bulk tender check {report['report_id']}",
        author=str(report["issuer"]),
    )
    summary = report["summary"]
    business = report_business_time(report)
    facts = _para(
        body,
        f"报告编号 Report ID: {_text(report['report_id'])}",
        f"报告哈希 Report SHA-256: {digest}",
        f"签发机构 Issuer: {_text(report['issuer'])}",
        f"核验时间 Checked at ({business.timezone}): {_local_time(report['checked_at'], business)}",
        f"投标日期 As of (tender date): {_text(report['as_of'])}",
        f"投标单位 Bidding employer: {_text(report.get('bidding_employer_id'))}",
        *(
            [f"上传文件编码 Input CSV encoding: {report['input_encoding']}"]
            if report.get("input_encoding")
            else []
        ),
        f"共 {summary['rows']} 行 rows · 通过 pass {summary['pass']} · "
        f"不通过 fail {summary['fail']} · 无法核验 could not check "
        f"{summary['could_not_check']}",
    )
    story: list[Any] = [
        _para(title, "工程师登记批量核验报告 · Bulk tender check report"),
        Spacer(1, 3 * mm),
        Table(
            [[_qr(page_url, 26 * mm), facts]],
            colWidths=[30 * mm, None],
            style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
        ),
        _para(small, f"扫码核验本报告 Scan to check this report with the registry: {page_url}"),
        Spacer(1, 4 * mm),
    ]
    header = [
        "#",
        "登记编号 Number",
        "姓名 Name",
        "类别 Scheme",
        "投标日状态 On date",
        "单位相符 Employer",
        "当前状态 Now",
        "结论 Verdict",
        "问题 Problems",
    ]
    data: list[list[Any]] = [[_para(body, h) for h in header]]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, row in enumerate(report["rows"], start=1):
        employer = row.get("registered_to_bidding_employer")
        on_date = [status_both(row.get("status_on_date"))]
        if row.get("reason_on_date"):
            on_date.append(describe_both(row["reason_on_date"]))
        data.append(
            [
                _para(body, str(row["index"] + 1)),
                _para(small, _text(row.get("number") or row.get("input"))),
                _para(body, _text(row.get("masked_name"))),
                _para(body, _text(row.get("scheme"))),
                _para(small, *on_date),
                _para(body, "—" if employer is None else ("是 yes" if employer else "否 NO")),
                _para(body, status_both(row.get("status_now"))),
                _para(body, _VERDICT_WORDS.get(row["verdict"], str(row["verdict"]))),
                _para(
                    small,
                    *[
                        describe_both(code)
                        for code in [*(row.get("problems") or []), *(row.get("warnings") or [])]
                    ],
                ),
            ]
        )
        colour = _STATUS_COLOURS.get(row["verdict"])
        if colour is not None:
            style.append(("TEXTCOLOR", (7, i), (7, i), colour))
    table = Table(
        data,
        colWidths=[8 * mm, 48 * mm, 22 * mm, 16 * mm, 38 * mm, 22 * mm, 24 * mm, 26 * mm, 69 * mm],
        repeatRows=1,
    )
    table.setStyle(TableStyle(style))
    story.append(table)
    signature = report.get("signature") or {}
    story += [
        Spacer(1, 5 * mm),
        _para(
            small,
            "签名 Signature — the JSON form of this report is signed with the registry key "
            f"kid={_text(signature.get('kid'))} ({_text(signature.get('alg'))}), detached JWS "
            "(RFC 7515) over its canonical JSON. Verify it with the published JWKS "
            f"(/.well-known/jwks.json) or at {verify_url}.",
        ),
        _para(small, f"JWS: {_text(signature.get('jws'))}"),
    ]
    doc.build(story)
    return buffer.getvalue()


def _para(style: ParagraphStyle, *lines: str) -> Paragraph:
    """The one way text enters this PDF: each line is plain text, never reportlab markup.

    reportlab's `Paragraph` parses an XML-like mini-language (``<img src>``, ``<link href>``,
    ``<font>``, entities); echoed input such as a bidding employer id or a garbage row must
    not become an embedded server file or a URI in an official report. So every line is
    XML-escaped here, and the only markup in any paragraph is the ``<br/>`` between lines.
    """
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def _local_time(value: object, business: BusinessTime) -> str:
    """A stored UTC instant as the local wall-clock time a person reads (SPEC §12)."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    return f"{business.local(at):%Y-%m-%d %H:%M:%S}"


def _text(value: object) -> str:
    """A value as display text: a dash for nothing."""
    if value is None or value == "":
        return "—"
    return str(value)
