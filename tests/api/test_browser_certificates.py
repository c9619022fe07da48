"""A phone scans a printed certificate (issue 11 "What it must show").

Certificates are issued the way a registry issues them, with the CLI (`registry certificates
issue NUMBER --pdf F`); each PDF is rendered to an image with pdftoppm and its QR decoded
with zxing-cpp; headless Chromium at a phone viewport opens the decoded URL in Chinese and
English and must read the right verdict for an active, a suspended (reason in words), an
expired and a damaged (truncated) code. Screenshots go to `test-artifacts/` for CI.

The history is written with a simulated clock that ends before now, the CLI issues at the
real time, and the server reads with a clock some days later, after one registration's
validity ended: that one is then expired while the others are unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from domain.clock import add_years
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from tests.api.server import free_port
from tests.builders import approved
from tests.cli.conftest import Cli, sqlite_env
from verify_api.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
READ_AHEAD = timedelta(days=10)  # how far after now the server reads

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not installed at {CHROMIUM} (Debian: apt-get install chromium)",
    ),
    pytest.mark.skipif(
        shutil.which("pdftoppm") is None,
        reason="pdftoppm not installed (Debian: apt-get install poppler-utils)",
    ),
]


@dataclass
class Scanned:
    base_url: str
    urls: dict[str, str]  # case -> URL decoded from the certificate's QR (or damaged)
    expired_until: date


def _render_qr(pdf: Path) -> str:
    """What a phone camera reads off the printed certificate."""
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    stem = pdf.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(stem)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with image_module.open(f"{stem}.png") as image:
        found = zxingcpp.read_barcodes(image)
    texts = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code on {pdf.name}, found {texts}"
    return str(texts[0])


@pytest.fixture
def scanned(tmp_path: Path) -> Iterator[Scanned]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**sqlite_env(tmp_path), "REGISTRY_PUBLIC_BASE_URL": base_url}
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
        public_base_url=base_url,
    )
    now = datetime.now(UTC)
    # SIE registrations are valid two years: this one, approved a little under two years
    # ago, is still active now (so the CLI issues it) and has lapsed when the server reads.
    start = add_years(now, -2) + timedelta(days=2)
    KeyStore(settings.keys_dir).generate(not_before=start - timedelta(days=1))
    history = SimulatedClock(start)
    registry = open_app(settings, clock=history)
    try:
        expiring = approved(registry, history, 3)
        history.set(now - timedelta(days=30))
        active = approved(registry, history, 1)
        suspended = approved(registry, history, 2)
        expired_until = registry.get(expiring.registration_id).valid_until
    finally:
        registry.close()
    assert expired_until is not None
    assert now.date() < expired_until < (now + READ_AHEAD).date()
    numbers = {
        "active": active.number or "",
        "suspended": suspended.number or "",
        "expired": expiring.number or "",
    }

    cli = Cli(env)
    urls: dict[str, str] = {}
    for case, number in numbers.items():
        pdf = tmp_path / f"certificate-{case}.pdf"
        issued = cli.json("certificates", "issue", number, "--pdf", str(pdf))
        urls[case] = _render_qr(pdf)
        assert urls[case] == issued["url"]
        assert urls[case].startswith(f"{base_url}/v?c=")
    cli.json("suspend", numbers["suspended"], "--reason-code", "investigation")
    # a truncated scan of a real certificate: nothing proves it false
    urls["damaged"] = urls["active"][: len(urls["active"]) - 40]

    reading = open_app(settings, clock=SimulatedClock(datetime.now(UTC) + READ_AHEAD))
    try:
        yield from _serve(reading, port, Scanned(base_url, urls, expired_until))
    finally:
        reading.close()


def _serve(registry: RegistryApp, port: int, scanned: Scanned) -> Iterator[Scanned]:
    import uvicorn

    app = create_app(app=registry, catch_up_interval=0.0)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the verification server did not start")
        time.sleep(0.05)
    try:
        yield scanned
    finally:
        server.should_exit = True
        thread.join(timeout=15)


EXPECTED = {
    # case: (headline, status shown, {lang: words in the verdict})
    "active": ("valid", "active", {"zh": "真实有效", "en": "Genuine and valid"}),
    "suspended": (
        "not_valid_now",
        "suspended",
        {"zh": "证书真实，但当前无效", "en": "Genuine, but NOT valid now"},
    ),
    "expired": ("expired", "expired", {"zh": "证书真实，但已过期", "en": "Genuine, but expired"}),
    "damaged": ("unreadable", None, {"zh": "无法读取此二维码", "en": "Could not read this code"}),
}
REASON_WORDS = {"zh": "正在调查", "en": "under investigation"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_phone_scans_cli_certificates_and_reads_each_verdict(scanned: Scanned, lang: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            phone = browser.new_context(
                viewport=PHONE,
                locale="zh-CN" if lang == "zh" else "en-US",
                device_scale_factor=2,
                is_mobile=True,
            )
            page = phone.new_page()
            for case, (headline, status, banner) in EXPECTED.items():
                response = page.goto(f"{scanned.urls[case]}&lang={lang}")
                assert response is not None and response.status == 200, case
                page.screenshot(path=str(ARTIFACTS / f"scan-{case}-{lang}.png"), full_page=True)
                verdict = page.locator("#verdict")
                assert verdict.get_attribute("data-headline") == headline, case
                words = verdict.inner_text()
                assert banner[lang] in words, (case, words)
                if status is None:
                    assert page.locator("#live-status").count() == 0
                    assert "not genuine" not in words.lower() and "不是真实" not in words
                else:
                    live = page.locator("#live-status")
                    assert live.get_attribute("data-status") == status, case
                if case == "suspended":
                    reason = page.locator("#reason")
                    assert reason.get_attribute("data-reason") == "investigation"
                    assert reason.inner_text().strip() == REASON_WORDS[lang]
                    assert REASON_WORDS[lang] in words
                if case == "expired":
                    assert scanned.expired_until.isoformat() in words
        finally:
            browser.close()
