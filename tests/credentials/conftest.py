"""Fixtures for credential tests: a signing key, claims, and a matching trust store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.credentials import CredentialClaims, SigningKey, TrustStore, mask_name

ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BASE_URL = "https://verify.example.org"


def make_claims(**overrides: object) -> CredentialClaims:
    values: dict[str, object] = {
        "issuer": "CN-44-REG",
        "issued_at": ISSUED,
        "expires_at": ISSUED + timedelta(days=730),
        "registration_number": "GD-SIE-2025-000123",
        "scheme_code": "SIE",
        "certificate_serial": "C2025000123",
        "masked_name": mask_name("张小三"),
        "issuer_region": "44",
    }
    values.update(overrides)
    return CredentialClaims(**values)  # type: ignore[arg-type]


def trust_for(*keys: SigningKey, issuer: str | None = "CN-44-REG") -> TrustStore:
    return TrustStore.from_public_keys(
        [(k.kid, k.public_key) for k in keys], issuer=issuer, region="44"
    )


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def claims() -> CredentialClaims:
    return make_claims()
