"""Signing keys and key ids.

kid = first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo of the public key. Deriving
it from the key (not assigning it) means anyone holding the public key can recompute it, and
two registries cannot collide by accident unless their keys do. X.509 trust anchors use the
DCC rule instead (first 8 bytes of SHA-256 over the certificate DER), see `truststore`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from registry.credentials.algorithms import Algorithm, PrivateKey, PublicKey, algorithm_for_key

KID_LENGTH = 8


def kid_for_public_key(public_key: PublicKey) -> bytes:
    """Key id: SHA-256(SubjectPublicKeyInfo DER)[:8]."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KID_LENGTH]


def kid_for_certificate(cert_der: bytes) -> bytes:
    """DCC key id: SHA-256(certificate DER)[:8]."""
    return hashlib.sha256(cert_der).digest()[:KID_LENGTH]


@dataclass(frozen=True)
class SigningKey:
    """A private key with its algorithm and derived kid; `repr` never shows key material."""

    private_key: PrivateKey = field(repr=False)
    kid: bytes
    alg: Algorithm

    @classmethod
    def from_private_key(cls, private_key: PrivateKey) -> SigningKey:
        return cls(
            private_key=private_key,
            kid=kid_for_public_key(private_key.public_key()),
            alg=algorithm_for_key(private_key),
        )

    @classmethod
    def generate(cls, alg: Algorithm = Algorithm.EDDSA) -> SigningKey:
        """A fresh key: Ed25519 by default, ES256 (P-256) on request."""
        key: PrivateKey
        if alg is Algorithm.EDDSA:
            key = ed25519.Ed25519PrivateKey.generate()
        elif alg is Algorithm.ES256:
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"cannot generate signing keys for {alg.jose_name}")
        return cls.from_private_key(key)

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()
