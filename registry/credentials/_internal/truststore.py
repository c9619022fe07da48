"""Verifier-side trust: which public keys are accepted, for which issuer, and when.

Sources: our signed trust list (see `trustlist`), a plain JWKS, or X.509 trust anchors
(PEM or DER; DCC-style kid = SHA-256(cert DER)[:8]; EC P-256, RSA and Ed25519 keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from registry.credentials._internal.algorithms import PublicKey
from registry.credentials._internal.jwk import parse_jwks
from registry.credentials._internal.keys import (
    KeyPurpose,
    SigningWindow,
    kid_for_certificate,
    purpose_of,
    window_of,
)


class TrustStoreError(ValueError):
    """A trust source that cannot be used."""


@dataclass(frozen=True)
class TrustedKey:
    """A public key accepted for verification, with what we know about its issuer.

    ``not_before``/``not_after`` bound when we trust the key at all (checked against the
    verification time); ``window`` is the key's own signing window, published by its issuer
    (checked against the credential's ``iat``; None when the source publishes none).
    """

    kid: bytes
    public_key: PublicKey = field(repr=False)
    issuer: str | None = None
    region: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    source: str = ""
    window: SigningWindow | None = None

    def valid_at(self, at: datetime) -> bool:
        if self.not_before is not None and at < self.not_before:
            return False
        return not (self.not_after is not None and at > self.not_after)


class TrustStore:
    """A set of trusted keys, looked up by kid (several keys may share a kid)."""

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._by_kid: dict[bytes, list[TrustedKey]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: TrustedKey) -> None:
        self._by_kid.setdefault(key.kid, []).append(key)

    def lookup(self, kid: bytes) -> list[TrustedKey]:
        return list(self._by_kid.get(kid, ()))

    def __iter__(self) -> Iterator[TrustedKey]:
        for keys in self._by_kid.values():
            yield from keys

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_kid.values())

    def merged(self, other: TrustStore) -> TrustStore:
        return TrustStore([*self, *other])

    @classmethod
    def from_public_keys(
        cls,
        keys: Iterable[tuple[bytes, PublicKey]],
        *,
        issuer: str | None = None,
        region: str | None = None,
        source: str = "keys",
    ) -> TrustStore:
        """Trust credential keys; a key published for trust lists only is never trusted for
        credentials, and a key's signing window (see `keys.PublishedKey`) goes with it."""
        return cls(
            TrustedKey(
                entry[0],
                entry[1],
                issuer=issuer,
                region=region,
                source=source,
                window=window_of(entry),
            )
            for entry in keys
            if purpose_of(entry) is not KeyPurpose.TRUST_LIST
        )

    @classmethod
    def from_jwks(
        cls, document: Any, *, issuer: str | None = None, region: str | None = None
    ) -> TrustStore:
        """Trust every key of a JWKS (e.g. our `/.well-known/jwks.json`)."""
        try:
            keys = parse_jwks(document)
        except ValueError as exc:
            raise TrustStoreError(str(exc)) from None
        return cls.from_public_keys(keys, issuer=issuer, region=region, source="jwks")

    @classmethod
    def from_x509(cls, certificates: Iterable[bytes]) -> TrustStore:
        """Trust anchors from PEM (one or more certificates) or DER bytes."""
        store = cls()
        for blob in certificates:
            for cert in _load_certificates(blob):
                key = cert.public_key()
                if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(
                    key.curve, ec.SECP256R1
                ):
                    raise TrustStoreError(f"certificate uses unsupported curve {key.curve.name}")
                if not isinstance(
                    key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
                ):
                    raise TrustStoreError(f"certificate key type {type(key).__name__} unsupported")
                der = cert.public_bytes(Encoding.DER)
                store.add(
                    TrustedKey(
                        kid_for_certificate(der),
                        key,
                        not_before=None,
                        not_after=None,
                        source=f"x509:{cert.subject.rfc4514_string()}",
                    )
                )
        return store


def _load_certificates(blob: bytes) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN CERTIFICATE-----" in blob:
            return x509.load_pem_x509_certificates(blob)
        return [x509.load_der_x509_certificate(blob)]
    except ValueError as exc:
        raise TrustStoreError(f"not an X.509 certificate (PEM or DER): {exc}") from None
