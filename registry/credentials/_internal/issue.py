"""Issuing: claims → CBOR → COSE_Sign1 → zlib → Base45 → ``ER1:`` string."""

from __future__ import annotations

import cbor2

from registry.credentials._internal.claims import CredentialClaims
from registry.credentials._internal.cose import sign1
from registry.credentials._internal.encoding import PREFIX, encode
from registry.credentials._internal.keys import SigningKey


def issue_credential(
    claims: CredentialClaims, signing_key: SigningKey, *, prefix: str = PREFIX
) -> str:
    """The QR-ready credential string, signed by ``signing_key`` (kid in the protected header)."""
    payload = cbor2.dumps(claims.to_cwt(), canonical=True)
    return encode(sign1(payload, signing_key), prefix)
