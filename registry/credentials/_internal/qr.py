"""QR codes for credentials: PNG and SVG out, any image in (decoded by zxing-cpp).

The QR holds the verification URL (see `url`), error correction level Q (25 % of the
symbol may be damaged: printed certificates get folded and stamped on).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.image.svg
import zxingcpp
from PIL import Image, UnidentifiedImageError

from registry.credentials._internal.url import credential_url


class QrDecodeError(ValueError):
    """An image with no readable QR code."""


@dataclass(frozen=True)
class QrInfo:
    """Size facts for a QR symbol."""

    version: int
    modules: int  # per side, without the quiet zone
    data_chars: int


def _build(data: str, box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=box_size, border=border
    )
    qr.add_data(data, optimize=20)
    qr.make(fit=True)
    return qr


def qr_info(data: str) -> QrInfo:
    qr = _build(data)
    version = int(qr.version)
    return QrInfo(version=version, modules=17 + 4 * version, data_chars=len(data))


def qr_png(data: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """PNG (1-bit) of the QR symbol for ``data`` (usually `credential_url(...)`).

    Encoded by zxing-cpp's C++ QR writer (error correction Q, like `_build`): the pure-Python
    `qrcode` encoder spent ~100 ms per credential choosing the mask, which made a batch of
    10,000 certificates take 20 minutes (measured by `registry bench --only qr`).
    """
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="Q")
    bitmap = barcode.to_image(scale=box_size, add_quiet_zones=False)
    shape = bitmap.__array_interface__["shape"]
    height, width = int(shape[0]), int(shape[1])
    symbol = Image.frombuffer("L", (width, height), bytes(memoryview(bitmap)), "raw", "L", 0, 1)  # type: ignore[arg-type]
    margin = border * box_size
    image = Image.new("1", (width + 2 * margin, height + 2 * margin), 1)
    image.paste(symbol.convert("1"), (margin, margin))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(data: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """SVG (single path) of the QR symbol for ``data``."""
    image = _build(data, box_size, border).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def credential_qr_png(base_url: str, credential: str) -> bytes:
    return qr_png(credential_url(base_url, credential))


def credential_qr_svg(base_url: str, credential: str) -> bytes:
    return qr_svg(credential_url(base_url, credential))


def decode_qr(image: bytes | Path | str | Image.Image) -> str:
    """Text of the (first) QR code in an image: bytes, a file path, or a PIL image."""
    try:
        if isinstance(image, Image.Image):
            picture = image
        elif isinstance(image, bytes):
            picture = Image.open(io.BytesIO(image))
        else:
            picture = Image.open(Path(image))
        picture.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise QrDecodeError(f"cannot read image: {exc}") from None
    if picture.mode not in {"L", "RGB"}:
        picture = picture.convert("RGB")
    results = zxingcpp.read_barcodes(
        picture, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise QrDecodeError("no readable QR code in the image")
    return str(texts[0])
