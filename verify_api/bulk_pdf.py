"""The printable bulk tender check report: a PDF a tender officer can file with the bid.

It shows every row with its status on the tender date and now, the verdict, and the
report's signature (key id and JWS) so the JSON form can be verified against the JWKS.
Chinese text needs an embedded CJK font; the same font the certificate PDF uses.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


def cjk_font() -> str:
    """The certificate PDF's CJK font, so both documents embed the same face."""
    from registry.credentials.pdf import cjk_font as certificate_font

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
        Paragraph("工程师登记批量核验报告 · Bulk tender check report", title),
        Spacer(1, 3 * mm),
        Paragraph(
            f"报告编号 Report ID: {report['report_id']}<br/>"
            f"签发机构 Issuer: {report['issuer']}<br/>"
            f"核验时间 Checked at (UTC): {report['checked_at']}<br/>"
            f"投标日期 As of (tender date): {report['as_of']}<br/>"
            f"投标单位 Bidding employer: {report.get('bidding_employer_id') or '—'}<br/>"
            f"共 {summary['rows']} 行 rows · 通过 pass {summary['pass']} · "
            f"不通过 fail {summary['fail']} · 无法核验 could not check "
            f"{summary['could_not_check']}",
            body,
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
    data: list[list[Any]] = [[Paragraph(h, body) for h in header]]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, row in enumerate(report["rows"], start=1):
        employer = row.get("registered_to_bidding_employer")
        data.append(
            [
                Paragraph(str(row["index"] + 1), body),
                Paragraph(_text(row.get("number") or row.get("input")), small),
                Paragraph(_text(row.get("masked_name")), body),
                Paragraph(_text(row.get("scheme")), body),
                Paragraph(
                    _text(row.get("status_on_date"))
                    + (f"<br/>{row['reason_on_date']}" if row.get("reason_on_date") else ""),
                    small,
                ),
                Paragraph("—" if employer is None else ("是 yes" if employer else "否 NO"), body),
                Paragraph(_text(row.get("status_now")), body),
                Paragraph(_VERDICT_WORDS.get(row["verdict"], row["verdict"]), body),
                Paragraph(
                    _text(", ".join([*(row.get("problems") or []), *(row.get("warnings") or [])])),
                    small,
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
        Paragraph(
            "签名 Signature — the JSON form of this report is signed with the registry key "
            f"kid={signature.get('kid', '—')} ({signature.get('alg', '—')}), detached JWS "
            "(RFC 7515) over its canonical JSON. Verify it with the published JWKS "
            f"(/.well-known/jwks.json) or at {verify_url}.",
            small,
        ),
        Paragraph(f"JWS: {_text(signature.get('jws'))}", small),
    ]
    doc.build(story)
    return buffer.getvalue()


def _text(value: object) -> str:
    """Escape for reportlab's mini-markup; echoed input must not become markup."""
    if value is None or value == "":
        return "—"
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
