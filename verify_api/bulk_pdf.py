"""The printable bulk tender check report: a PDF a tender officer can file with the bid.

It shows every row with its status on the tender date and now, the verdict, and the
report's signature (key id and JWS) so the JSON form can be verified against the JWKS.
Chinese text needs an embedded CJK font; the same font the certificate PDF uses.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from domain.wording import describe_both, status_both
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


def report_pdf(report: dict[str, Any], verify_url: str) -> bytes:
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
    story: list[Any] = [
        _para(title, "工程师登记批量核验报告 · Bulk tender check report"),
        Spacer(1, 3 * mm),
        _para(
            body,
            f"报告编号 Report ID: {_text(report['report_id'])}",
            f"签发机构 Issuer: {_text(report['issuer'])}",
            f"核验时间 Checked at (UTC): {_text(report['checked_at'])}",
            f"投标日期 As of (tender date): {_text(report['as_of'])}",
            f"投标单位 Bidding employer: {_text(report.get('bidding_employer_id'))}",
            f"共 {summary['rows']} 行 rows · 通过 pass {summary['pass']} · "
            f"不通过 fail {summary['fail']} · 无法核验 could not check "
            f"{summary['could_not_check']}",
        ),
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


def _text(value: object) -> str:
    """A value as display text: a dash for nothing."""
    if value is None or value == "":
        return "—"
    return str(value)
