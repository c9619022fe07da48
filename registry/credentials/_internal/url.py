"""Verification URLs: ``{base_url}/v?c={credential, percent-encoded}``.

The credential goes in the query, percent-encoded with no safe characters, because Base45
uses space, ``$ % * + / :`` — ``/`` in a path segment is rewritten or refused by common
proxies (``%2F``), and ``+`` means space in a query unless escaped. Every escape ``%XX`` uses
QR alphanumeric characters, so the credential part of the URL still encodes in QR
alphanumeric mode. The HTTP service serves ``GET {base}/v?c=...``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

PATH = "/v"
PARAM = "c"


class CredentialUrlError(ValueError):
    """A URL that does not carry a credential in our shape."""


def credential_url(base_url: str, credential: str) -> str:
    """The URL a phone camera opens to verify ``credential``."""
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CredentialUrlError(f"base URL must be absolute http(s): {base_url!r}")
    if parts.query or parts.fragment:
        raise CredentialUrlError("base URL must not carry a query or fragment")
    return f"{base_url.rstrip('/')}{PATH}?{PARAM}={quote(credential, safe='')}"


def credential_from_url(url: str) -> str:
    """The credential carried by a verification URL (any host; the path must end in /v)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise CredentialUrlError("not an absolute http(s) URL")
    if not parts.path.rstrip("/").endswith(PATH):
        raise CredentialUrlError(f"URL path must end in {PATH}")
    values = parse_qs(parts.query, keep_blank_values=True).get(PARAM)
    if not values or len(values) != 1 or not values[0]:
        raise CredentialUrlError(f"URL must carry exactly one non-empty {PARAM}= parameter")
    return values[0]
