"""Public keys as JWKs (RFC 7517; OKP per RFC 8037, EC and RSA per RFC 7518 §6).

The JWK ``kid`` is the 8-byte key id in unpadded base64url, so a COSE kid and a JWK kid
compare after one decoding step. Our keys add members (ignored by other readers, RFC 7517
§4): ``purpose`` (``credential`` or ``trust-list``) and the signing window ``not_before``,
``not_after`` (ISO-8601, null = open), ``revoked_at``, ``revocation_reason``.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from registry.credentials._internal.algorithms import PublicKey, algorithm_for_key
from registry.credentials._internal.keys import (
    KeyPurpose,
    PublishedKey,
    SigningWindow,
    purpose_of,
    window_of,
)

Jwk = dict[str, Any]


class JwkError(ValueError):
    """A JWK or JWKS document that we cannot use."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise JwkError("expected a base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwkError(f"invalid base64url: {exc}") from None


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big")


def public_key_to_jwk(
    public_key: PublicKey,
    kid: bytes,
    *,
    window: SigningWindow | None = None,
    purpose: KeyPurpose | None = None,
) -> Jwk:
    """A public JWK with ``kid``, ``alg``, ``use: sig`` and, when known, the key's purpose
    and signing window; never private members."""
    jwk: Jwk
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(_int_bytes(numbers.x, 32)),
            "y": b64url_encode(_int_bytes(numbers.y, 32)),
        }
    else:
        rsa_numbers = public_key.public_numbers()
        jwk = {
            "kty": "RSA",
            "n": b64url_encode(_int_bytes(rsa_numbers.n)),
            "e": b64url_encode(_int_bytes(rsa_numbers.e)),
        }
    jwk.update(kid=b64url_encode(kid), alg=algorithm_for_key(public_key).jose_name, use="sig")
    if purpose is not None:
        jwk["purpose"] = purpose.value
    if window is not None:
        jwk.update(window.to_json())
    return jwk


def entry_to_jwk(entry: tuple[bytes, PublicKey]) -> Jwk:
    """The JWK of a ``(kid, key)`` pair, with window and purpose when it is a `PublishedKey`."""
    kid, key = entry
    return public_key_to_jwk(key, kid, window=window_of(entry), purpose=purpose_of(entry))


def jwk_to_public_key(jwk: Jwk) -> PublishedKey:
    """(kid, public key) from a public JWK, with the purpose and signing window it publishes;
    refuses private JWKs, unknown key types and malformed windows."""
    if not isinstance(jwk, dict):
        raise JwkError("a JWK must be a JSON object")
    if "d" in jwk:
        raise JwkError("refusing a private JWK (member 'd' present)")
    kid_text = jwk.get("kid")
    if not isinstance(kid_text, str) or not kid_text:
        raise JwkError("JWK has no 'kid'")
    kid = b64url_decode(kid_text)
    kty = jwk.get("kty")
    try:
        key: PublicKey
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        elif kty == "EC" and jwk.get("crv") == "P-256":
            x = int.from_bytes(b64url_decode(jwk["x"]), "big")
            y = int.from_bytes(b64url_decode(jwk["y"]), "big")
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        elif kty == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(b64url_decode(jwk["e"]), "big")
            key = rsa.RSAPublicNumbers(e, n).public_key()
        else:
            raise JwkError(f"unsupported JWK type kty={kty!r} crv={jwk.get('crv')!r}")
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, JwkError):
            raise
        raise JwkError(f"invalid JWK {kid_text!r}: {exc}") from None
    try:
        window = SigningWindow.from_json(jwk)
        purpose = KeyPurpose(jwk["purpose"]) if "purpose" in jwk else None
    except ValueError as exc:
        raise JwkError(f"invalid JWK {kid_text!r}: {exc}") from None
    return PublishedKey(kid, key, window, purpose)


def jwks(keys: list[tuple[bytes, PublicKey]]) -> dict[str, list[Jwk]]:
    """A JWKS document (``{"keys": [...]}``) for ``(kid, public key)`` pairs."""
    return {"keys": [entry_to_jwk(entry) for entry in keys]}


def parse_jwks(document: Any) -> list[PublishedKey]:
    """Keys from a JWKS document; any unusable key makes the whole document refused."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwkError("a JWKS must be an object with a 'keys' array")
    return [jwk_to_public_key(jwk) for jwk in document["keys"]]
