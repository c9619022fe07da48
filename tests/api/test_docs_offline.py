"""The API documentation pages work without internet (issue 11): every asset is served by
the app itself, and the pages' Content-Security-Policy allows exactly what they run."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import Api

EXTERNAL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
INLINE_SCRIPT = re.compile(r"<script( nonce=\"([^\"]+)\")?>")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_app_itself(sqlite_api: Api, page: str) -> None:
    client = sqlite_api.client
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert EXTERNAL.findall(html) == []  # no CDN, no web fonts, no remote favicon
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets)
    for url in assets:
        assert url.startswith("/"), url
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        assert len(fetched.content) > 1000, url
    assert client.get("/openapi.json").status_code == 200

    # the page's CSP lets its own inline start-up script run, and nothing from elsewhere
    csp = response.headers["content-security-policy"]
    nonces = [m.group(2) for m in INLINE_SCRIPT.finditer(html)]
    assert all(n is not None and f"'nonce-{n}'" in csp for n in nonces)
    assert nonces or page == "/redoc"  # Swagger UI starts from an inline script
    assert "script-src 'self' 'nonce-" in csp and "http" not in csp
    assert client.get(page).headers["content-security-policy"] != csp  # a nonce per response
