"""Retired and compromised keys against the running server (issue 9 item 4).

The attacker holds a signing key that has left service: one retired by rotation (a stale
backup), one the registry declared compromised. Credentials they mint now are correctly
signed by a key the registry once published, and must still read "not genuine" on the
public page and the API, with the reason, while everything the keys signed in their time
keeps verifying.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from registry.credentials import CredentialClaims, SigningKey, issue_credential
from registry.credentials._internal.jwk import parse_jwks
from registry.credentials._internal.keys import KeyPurpose
from registry.credentials._internal.keystore import KeyStore
from registry.credentials._internal.trustlist import load_trust_list
from tests.security.conftest import Live


def _issue(live: Live, client: httpx.Client, which: str = "active") -> dict[str, Any]:
    r = client.post(
        f"{live.url}/api/v1/registrations/{live.ids[which]}/certificate",
        headers=live.auth("registrar"),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _mint(live: Live, key: SigningKey, number: str, issued_at: datetime) -> str:
    """What an attacker holding ``key`` mints: a well-formed credential for a real number."""
    claims = CredentialClaims(
        issuer=live.settings.issuer,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(days=700),
        registration_number=number,
        scheme_code="SIE",
        certificate_serial="ATTACKER-1",
        masked_name="张*三",
        issuer_region=live.settings.issuer_region,
    )
    return issue_credential(claims, key)


def _verify(live: Live, client: httpx.Client, credential: str) -> dict[str, Any]:
    r = client.post(f"{live.url}/api/v1/verify", json={"credential": credential})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _page(live: Live, client: httpx.Client, credential: str, lang: str) -> str:
    r = client.get(f"{live.url}/v", params={"c": credential, "lang": lang})
    assert r.status_code == 200
    return r.text


def _wait_past_second() -> None:
    """Signing windows have whole-second boundaries (like `iat`): step into the next one."""
    time.sleep(1.05)


def test_retired_and_revoked_keys_cannot_mint_genuine_credentials(
    live: Live, attacker: httpx.Client
) -> None:
    keys = KeyStore(live.settings.keys_dir)
    retired = keys.active()
    before_rotation = _issue(live, attacker)
    _wait_past_second()

    # -- rotation: the old key's window closes; a copy of it mints a credential afterwards
    current = keys.rotate()
    _wait_past_second()
    stale_mint = _mint(live, retired, live.numbers["active"], datetime.now(UTC))
    body = _verify(live, attacker, stale_mint)
    assert body["headline"] == "not_genuine" and body["genuine"] is False
    assert body["steps"]["signature"]["result"] == "VALID"  # the signature itself is real
    key_step = body["steps"]["issuer_key"]
    assert key_step["result"] == "INVALID" and key_step["reason"] == "key.outside_window"
    closed = next(i for i in keys.list() if i.kid == retired.kid).window.not_after
    assert closed is not None and key_step["since"] == closed.isoformat()
    en = _page(live, attacker, stale_mint, "en")
    assert 'data-headline="not_genuine"' in en and 'data-reason="key.outside_window"' in en
    assert "a retired or not yet active key cannot issue certificates" in en
    zh = _page(live, attacker, stale_mint, "zh")
    assert "已停用或尚未启用的密钥不能签发证书" in zh

    # what the retired key signed in its time is still genuine and valid
    assert _verify(live, attacker, before_rotation["credential"])["headline"] == "valid"
    after_rotation = _issue(live, attacker)
    assert after_rotation["kid"] == current.kid_hex
    assert _verify(live, attacker, after_rotation["credential"])["headline"] == "valid"

    # -- compromise: the registry revokes the current key from the instant of the leak
    _wait_past_second()
    leaked_at = datetime.now(UTC).replace(microsecond=0)
    _wait_past_second()
    compromised_mint = _mint(live, current, live.numbers["revoked"], datetime.now(UTC))
    keys.revoke(current.kid, "compromise", at=leaked_at)
    body = _verify(live, attacker, compromised_mint)
    assert body["headline"] == "not_genuine"
    assert body["steps"]["issuer_key"] == {
        "result": "INVALID",
        "reason": "key.revoked",
        "since": leaked_at.isoformat(),
    }
    en = _page(live, attacker, compromised_mint, "en")
    assert 'data-reason="key.revoked"' in en
    # a person reads the registry's local time with its zone (SPEC §12)
    local = leaked_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"reported compromised and revoked as of {local} (Asia/Shanghai)" in en
    zh = _page(live, attacker, compromised_mint, "zh")
    assert "已被报告泄露" in zh and f"{local} (Asia/Shanghai)" in zh
    # signed by the compromised key before the leak: still genuine
    assert _verify(live, attacker, after_rotation["credential"])["headline"] == "valid"

    # the revoked key no longer issues (the registrar's own request, not an attack: its
    # deliberate 503 stays out of the attack tally); after rotation issuing resumes
    refused = httpx.post(
        f"{live.url}/api/v1/registrations/{live.ids['active']}/certificate",
        headers=live.auth("registrar"),
        timeout=60,
    )
    assert refused.status_code == 503 and refused.json()["code"] == "keys.unavailable"
    keys.rotate()
    assert _verify(live, attacker, _issue(live, attacker)["credential"])["headline"] == "valid"

    # -- what the server publishes: every key's window and revocation, in JWKS and trust list
    jwks = attacker.get(f"{live.url}/.well-known/jwks.json").json()
    by_kid = {k["kid"]: k for k in jwks["keys"]}
    b64 = base64.urlsafe_b64encode(current.kid).rstrip(b"=").decode()
    assert by_kid[b64]["revoked_at"] == leaked_at.isoformat()
    assert by_kid[b64]["revocation_reason"] == "compromise"
    old = by_kid[base64.urlsafe_b64encode(retired.kid).rstrip(b"=").decode()]
    assert old["not_after"] == closed.isoformat() and old["not_before"]
    doc = attacker.get(f"{live.url}/.well-known/trust-list.json").json()
    trust_list = load_trust_list(doc["jws"], parse_jwks(jwks))
    signer = next(k for k in parse_jwks(jwks) if k[0] == trust_list.signer_kid)
    assert signer.purpose is KeyPurpose.TRUST_LIST  # not a credential key
    listed = {k["kid"]: k for k in doc["payload"]["issuers"][0]["keys"]}
    assert listed[b64]["revoked_at"] == leaked_at.isoformat()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_credential_backdated_before_its_key_existed_is_not_genuine(
    live: Live, attacker: httpx.Client, lang: str
) -> None:
    keys = KeyStore(live.settings.keys_dir)
    key = keys.active()
    opened = next(i for i in keys.list() if i.kid == key.kid).window.not_before
    assert opened is not None
    backdated = _mint(live, key, live.numbers["active"], opened - timedelta(days=400))
    body = _verify(live, attacker, backdated)
    assert body["headline"] == "not_genuine"
    assert body["steps"]["issuer_key"]["reason"] == "key.outside_window"
    assert body["steps"]["issuer_key"]["since"] == opened.isoformat()
    page = _page(live, attacker, backdated, lang)
    assert 'data-headline="not_genuine"' in page and 'id="key-problem"' in page
