"""Headless Chromium opens the URL decoded from a certificate QR PNG on a real uvicorn server
and reads the page like a person would: right status, in words, for active and revoked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from registry.application import Revoke
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.credentials._internal.qr import decode_qr
from tests.api.conftest import Api, make_api
from tests.api.server import free_port, uvicorn_server
from tests.builders import REGISTRAR, approved

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"Chromium not installed at {CHROMIUM} (Debian: apt-get install chromium)",
    ),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Store with an active and a revoked registration; QR PNGs fetched over HTTP."""
    port = free_port()
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    # The server runs on the system clock, so the history ends a little before now.
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=40))
    api, registry = make_api(settings, clock, tmp_path)
    pngs: dict[str, bytes] = {}
    with api.client:
        ids = {
            name: approved(registry, clock, n).registration_id
            for n, name in ((1, "active"), (2, "revoked"))
        }
        for name, rid in ids.items():
            api.issue(rid)
            pngs[name] = _png(api, rid)
        clock.advance(timedelta(days=3))
        registry.handle(Revoke(ids["revoked"], "fraud", "forged diploma"), REGISTRAR)
    registry.close()
    with uvicorn_server(settings.sqlite_path, settings.keys_dir, port) as url:
        yield url, pngs


def _png(api: Api, rid: object) -> bytes:
    client: TestClient = api.client
    r = client.get(
        f"/api/v1/registrations/{rid}/certificate?format=png", headers=api.auth("registrar")
    )
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    return r.content


def test_phone_scan_shows_active_and_revoked(served: tuple[str, dict[str, bytes]]) -> None:
    from playwright.sync_api import sync_playwright

    url, pngs = served
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2
            )
            page = phone.new_page()
            expected = {
                "active": ("valid", "active", "真实有效", "有效"),
                "revoked": ("not_valid_now", "revoked", "证书真实，但当前无效", "已撤销"),
            }
            for name, (headline, status, banner, words) in expected.items():
                target = decode_qr(pngs[name])
                assert target.startswith(f"{url}/v?c=")
                response = page.goto(target)
                assert response is not None and response.status == 200
                verdict = page.locator("#verdict")
                assert verdict.get_attribute("data-headline") == headline
                assert banner in verdict.inner_text()
                live = page.locator("#live-status")
                assert live.get_attribute("data-status") == status
                assert words in live.inner_text()
                steps = page.locator("li.step")
                assert steps.count() == 5
                page.screenshot(path=str(ARTIFACTS / f"verify-{name}-zh.png"), full_page=True)
            page.click("a.lang")  # switch to English on the revoked page
            assert "Genuine, but NOT valid now" in page.locator("#verdict").inner_text()
            assert "Revoked" in page.locator("#live-status").inner_text()
            page.screenshot(path=str(ARTIFACTS / "verify-revoked-en.png"), full_page=True)
        finally:
            browser.close()


def test_api_docs_render_offline_under_their_csp(served: tuple[str, dict[str, bytes]]) -> None:
    """/docs and /redoc render with every request outside the app refused (no internet)
    and without a Content-Security-Policy violation."""
    from playwright.sync_api import Route, sync_playwright

    url, _ = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            outside: list[str] = []
            problems: list[str] = []

            def offline(route: Route) -> None:
                if route.request.url.startswith(url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.goto(f"{url}/docs")
            page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
            assert "Engineer Registry" in page.locator(".swagger-ui .info .title").inner_text()
            assert page.locator(".opblock").count() > 10
            page.goto(f"{url}/redoc")
            page.locator("h1").first.wait_for(timeout=20_000)
            assert "Engineer Registry" in page.locator("h1").first.inner_text()
            assert outside == []
            # ReDoc's footer always tries the Redocly logo from its CDN (and hides it when it
            # fails); the page's CSP blocks it, so nothing leaves. Any other block is a bug.
            blocked = [m for m in problems if "Content Security Policy" in m]
            assert [m for m in blocked if "cdn.redoc.ly/redoc/logo-mini.svg" not in m] == []
        finally:
            browser.close()
