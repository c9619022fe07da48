"""COSE signature algorithms we sign and verify with: EdDSA (-8), ES256 (-7), PS256 (-37).

COSE (RFC 9053 §2.1) carries ECDSA signatures as raw ``r || s``; `cryptography` wants DER,
so the conversion lives here, next to the only code that needs it.
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class Algorithm(IntEnum):
    """COSE algorithm identifiers (IANA "COSE Algorithms")."""

    EDDSA = -8
    ES256 = -7
    PS256 = -37

    @property
    def jose_name(self) -> str:
        """The JOSE ``alg`` name, for JWKs and JWS headers."""
        return {Algorithm.EDDSA: "EdDSA", Algorithm.ES256: "ES256", Algorithm.PS256: "PS256"}[self]

    @classmethod
    def from_jose_name(cls, name: str) -> Algorithm:
        for alg in cls:
            if alg.jose_name == name:
                return alg
        raise ValueError(f"unsupported JOSE algorithm {name!r}")


_P256_BYTES = 32


class UnsupportedAlgorithm(ValueError):
    """The algorithm id is not one we accept, or does not fit the key."""


def algorithm_for_key(key: PublicKey | PrivateKey) -> Algorithm:
    """The one algorithm we use with each key type (no algorithm agility per key)."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return Algorithm.EDDSA
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm(f"EC curve {key.curve.name} is not supported (P-256 only)")
        return Algorithm.ES256
    if isinstance(key, rsa.RSAPublicKey):
        return Algorithm.PS256
    raise UnsupportedAlgorithm(f"unsupported key type {type(key).__name__}")


def sign(key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data`` in COSE form (raw ``r || s`` for ES256)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm_for_key(key)  # refuses curves other than P-256
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    raise UnsupportedAlgorithm(f"cannot sign with {type(key).__name__}")


def verify(key: PublicKey, alg: int, signature: bytes, data: bytes) -> bool:
    """True iff ``signature`` over ``data`` verifies under ``key`` with COSE ``alg``.

    Raises `UnsupportedAlgorithm` when ``alg`` is unknown or does not match the key type,
    so that "wrong algorithm" and "bad signature" stay distinguishable for the caller.
    """
    try:
        algorithm = Algorithm(alg)
    except ValueError:
        raise UnsupportedAlgorithm(f"unsupported COSE algorithm {alg}") from None
    expected = algorithm_for_key(key)
    if algorithm is not expected:
        raise UnsupportedAlgorithm(
            f"algorithm {algorithm.jose_name} does not match key type ({expected.jose_name})"
        )
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 2 * _P256_BYTES:
                return False
            r = int.from_bytes(signature[:_P256_BYTES], "big")
            s = int.from_bytes(signature[_P256_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return False
    return True
