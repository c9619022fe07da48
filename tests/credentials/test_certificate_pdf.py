"""The printable certificate: Chinese text embedded, expiry stated, QR readable from the page."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from registry.credentials import (
    CertificateDetails,
    SigningKey,
    certificate_pdf,
    credential_from_url,
    decode_qr,
    issue_credential,
    verify_credential,
)
from registry.credentials._internal.pdf import cjk_font
from tests.credentials.conftest import BASE_URL, ISSUED, make_claims, trust_for

DETAILS = CertificateDetails(
    holder_name="张小三",
    registration_number="GD-SIE-2025-000123",
    scheme_name="软件实施工程师登记",
    scheme_code="SIE",
    issuer_name="广东省工程师登记中心",
    issuer_region="44",
    certificate_serial="C2025000123",
    issued_on=date(2025, 3, 1),
    valid_until=date(2027, 3, 1),
    employer="广州某某科技有限公司",
)


def test_pdf_renders_and_qr_verifies(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    key = SigningKey.generate()
    credential = issue_credential(make_claims(), key)
    pdf = certificate_pdf(DETAILS, credential, BASE_URL)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "cert.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "cert.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    text = decode_qr(tmp_path / "page.png")
    assert credential_from_url(text) == credential
    assert verify_credential(text, trust_for(key), ISSUED + timedelta(days=1)).valid
    if shutil.which("pdftotext"):
        subprocess.run(["pdftotext", "cert.pdf", "cert.txt"], cwd=tmp_path, check=True)
        content = (tmp_path / "cert.txt").read_text("utf-8")
        assert "张小三" in content and "软件实施工程师登记" in content
        assert "2027-03-01" in content and "有效期至" in content


def test_cjk_font_is_embedded_when_available() -> None:
    name, source = cjk_font()
    if name == "STSong-Light":
        pytest.skip(
            f"no CJK TrueType font installed ({source}); apt-get install fonts-wqy-microhei"
        )
    pdf = certificate_pdf(DETAILS, issue_credential(make_claims(), SigningKey.generate()), BASE_URL)
    assert b"/FontFile2" in pdf  # an embedded TrueType font program
