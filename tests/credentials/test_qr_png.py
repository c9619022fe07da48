"""`qr_png` (zxing-cpp writer): same symbol as `qr_info` reports, EC level Q, decodable."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from registry.credentials import (
    CredentialClaims,
    SigningKey,
    credential_url,
    decode_qr,
    issue_credential,
    qr_info,
    qr_png,
)

BASE_URL = "https://verify.example.org"


def _url(key: SigningKey, claims: CredentialClaims) -> str:
    return credential_url(BASE_URL, issue_credential(claims, key))


def test_png_decodes_to_the_url(key: SigningKey, claims: CredentialClaims) -> None:
    url = _url(key, claims)
    assert decode_qr(qr_png(url)) == url


def test_symbol_size_and_error_correction(key: SigningKey, claims: CredentialClaims) -> None:
    url = _url(key, claims)
    info = qr_info(url)
    image = Image.open(io.BytesIO(qr_png(url)))
    assert image.mode == "1"
    assert image.size == ((info.modules + 8) * 8, (info.modules + 8) * 8)  # 4-module border
    [result] = zxingcpp.read_barcodes(image.convert("L"))
    assert result.ec_level == "Q"
    assert result.symbology_identifier.startswith("]Q")


@pytest.mark.parametrize(("box", "border"), [(4, 2), (10, 4)])
def test_box_size_and_border(
    key: SigningKey, claims: CredentialClaims, box: int, border: int
) -> None:
    url = _url(key, claims)
    modules = qr_info(url).modules
    image = Image.open(io.BytesIO(qr_png(url, box_size=box, border=border)))
    assert image.size == ((modules + 2 * border) * box,) * 2
    assert image.getpixel((0, 0)) == 255  # quiet zone is white
    assert image.getpixel((border * box, border * box)) == 0  # finder pattern corner is black
    assert decode_qr(image) == url


@pytest.mark.parametrize("text", ["x", "HTTPS://A.B/V?C=ER1%3A" + "A" * 400, "中文 ünïcode"])
def test_other_contents_round_trip(text: str) -> None:
    assert decode_qr(qr_png(text)) == text
