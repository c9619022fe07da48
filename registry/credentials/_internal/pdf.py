"""Printable certificate (A4 PDF): registration details, expiry, and the verification QR.

Chinese text needs a CJK font embedded in the PDF. We look for a TrueType CJK font
(``REGISTRY_CJK_FONT``, else WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei``:
``/usr/share/fonts/truetype/wqy/wqy-microhei.ttc``). reportlab cannot embed CFF-flavoured
OpenType such as Noto Sans CJK, hence TrueType. Without one we fall back to the built-in
``STSong-Light`` CID font, which viewers render from their own fonts (not embedded).

Every caller-supplied value (names, numbers, issuer, employer, base URL) reaches the page
through `_draw` only, i.e. `canvas.drawString`, which draws its argument as literal text:
never reportlab's `Paragraph` mini-markup, where ``<img src>`` would embed a server file
and ``<link href>`` plant a URI (issue 9; see `verify_api.bulk_pdf` for the report's rule).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from registry.credentials._internal.qr import qr_png
from registry.credentials._internal.url import credential_url

FONT_ENV = "REGISTRY_CJK_FONT"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
FALLBACK_CID_FONT = "STSong-Light"


@dataclass(frozen=True)
class CertificateDetails:
    """What the certificate prints. ``holder_name`` is printed as given: the certificate is
    the holder's own document, so the caller passes the full name or the masked one."""

    holder_name: str
    registration_number: str
    scheme_name: str
    scheme_code: str
    issuer_name: str
    issuer_region: str
    certificate_serial: str
    issued_on: date
    valid_until: date
    employer: str | None = None


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str]:
    """(registered font name, source) — an embedded TTF when available, else the CID font."""
    configured = os.environ.get(FONT_ENV)
    candidates = [Path(configured)] if configured else []
    candidates.extend(FONT_CANDIDATES)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont("RegistryCJK", str(path), subfontIndex=0))
        except (TTFError, OSError):
            continue
        return "RegistryCJK", str(path)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT, "reportlab built-in CID font (not embedded)"


def certificate_pdf(details: CertificateDetails, credential: str, base_url: str) -> bytes:
    """A one-page A4 certificate whose QR opens ``{base_url}/v?c=...`` for ``credential``."""
    font, _source = cjk_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"Registration certificate {details.registration_number}")
    pdf.setAuthor(details.issuer_name)
    width, height = A4

    def _draw(x: float, y: float, text: str, *, centred: bool = False) -> None:
        """The one way text enters this PDF: literal, whatever characters it holds."""
        (pdf.drawCentredString if centred else pdf.drawString)(x, y, text)

    pdf.setFont(font, 22)
    _draw(width / 2, height - 35 * mm, "工程师登记证书", centred=True)
    pdf.setFont(font, 13)
    _draw(width / 2, height - 44 * mm, "Engineer Registration Certificate", centred=True)

    rows = [
        ("姓名 Name", details.holder_name),
        ("登记编号 Registration No.", details.registration_number),
        ("登记类别 Scheme", f"{details.scheme_name} ({details.scheme_code})"),
        ("发证机构 Issuer", f"{details.issuer_name} (region {details.issuer_region})"),
        ("证书编号 Certificate serial", details.certificate_serial),
        ("发证日期 Issued on", details.issued_on.isoformat()),
        ("有效期至 Valid until", details.valid_until.isoformat()),
    ]
    if details.employer:
        rows.insert(3, ("工作单位 Employer", details.employer))
    y = height - 65 * mm
    for label, value in rows:
        pdf.setFont(font, 10)
        _draw(25 * mm, y, label)
        pdf.setFont(font, 12)
        _draw(85 * mm, y, value)
        y -= 9 * mm

    qr_size = 70 * mm
    qr_y = y - qr_size - 5 * mm
    png = qr_png(credential_url(base_url, credential), box_size=6, border=4)
    pdf.drawImage(ImageReader(io.BytesIO(png)), (width - qr_size) / 2, qr_y, qr_size, qr_size)

    pdf.setFont(font, 10)
    notes = [
        f"本证书有效期至 {details.valid_until.isoformat()}，逾期未办理继续教育登记的自动失效。",
        f"This certificate expires on {details.valid_until.isoformat()} unless renewed.",
        "扫描二维码查验证书真伪及实时状态",
        "Scan the QR code to check authenticity and live status:",
        f"{base_url.rstrip('/')}/v",
    ]
    ny = qr_y - 8 * mm
    for note in notes:
        _draw(width / 2, ny, note, centred=True)
        ny -= 6 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()
