"""Signing keys and key ids.

kid = first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo of the public key. Deriving
it from the key (not assigning it) means anyone holding the public key can recompute it, and
two registries cannot collide by accident unless their keys do. X.509 trust anchors use the
DCC rule instead (first 8 bytes of SHA-256 over the certificate DER), see `truststore`.

Every key of ours has a signing window (`SigningWindow`, SPEC §12): it opens when the key is
made, rotation closes it, and revocation ("compromised from this instant") cuts it short.
Verifiers refuse a credential whose ``iat`` lies outside the window of the key that signed it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from registry.credentials._internal.algorithms import (
    Algorithm,
    PrivateKey,
    PublicKey,
    algorithm_for_key,
)

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


class KeyPurpose(StrEnum):
    """What a key may sign: credentials, or only trust lists (SPEC §12: a dedicated key)."""

    CREDENTIAL = "credential"
    TRUST_LIST = "trust-list"


class RevocationReason(StrEnum):
    """Why a key was revoked (the RFC 5280 CRLReason values that apply to a signing key)."""

    COMPROMISE = "compromise"
    SUPERSEDED = "superseded"
    CESSATION = "cessation"


def signing_instant(moment: datetime) -> datetime:
    """A window boundary as stored: UTC, whole seconds (a credential's ``iat`` is whole
    seconds too, so a credential signed in the rotation's own second stays inside)."""
    if moment.tzinfo is None:
        raise ValueError("signing-window instants must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class WindowRefusal:
    """Why a signature time is outside a key's window: a stable reason code, words for
    people, and the boundary instant it crossed (shown on the verification page)."""

    reason: str
    detail: str
    boundary: datetime | None


@dataclass(frozen=True)
class SigningWindow:
    """When a key may sign: ``not_before`` ≤ signed ≤ ``not_after`` (either end may be open),
    and nothing signed at or after ``revoked_at``. Published in the JWKS and the trust list;
    verifiers compare a credential's ``iat`` against it."""

    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    def refusal(self, signed_at: datetime | None) -> WindowRefusal | None:
        """None when a signature made at ``signed_at`` is inside the window."""
        if self.revoked_at is not None and (signed_at is None or signed_at >= self.revoked_at):
            return WindowRefusal(
                "key.revoked",
                f"key revoked ({self.revocation_reason or 'unspecified'}) as of "
                f"{self.revoked_at.isoformat()}; "
                + (f"signed {signed_at.isoformat()}" if signed_at else "no issue time"),
                self.revoked_at,
            )
        if signed_at is None:
            if self.not_before is None and self.not_after is None:
                return None
            return WindowRefusal(
                "key.outside_window", "no issue time (iat) to place in the key's window", None
            )
        if self.not_before is not None and signed_at < self.not_before:
            return WindowRefusal(
                "key.outside_window",
                f"signed {signed_at.isoformat()}, before the key's window opened "
                f"({self.not_before.isoformat()})",
                self.not_before,
            )
        if self.not_after is not None and signed_at > self.not_after:
            return WindowRefusal(
                "key.outside_window",
                f"signed {signed_at.isoformat()}, after the key's window closed "
                f"({self.not_after.isoformat()})",
                self.not_after,
            )
        return None

    def to_json(self) -> dict[str, Any]:
        """JWK members: ``not_before``/``not_after`` (ISO-8601, null = open) and, when
        revoked, ``revoked_at`` and ``revocation_reason``."""
        members: dict[str, Any] = {
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "not_after": self.not_after.isoformat() if self.not_after else None,
        }
        if self.revoked_at is not None:
            members["revoked_at"] = self.revoked_at.isoformat()
            members["revocation_reason"] = self.revocation_reason
        return members

    @classmethod
    def from_json(cls, members: Mapping[str, Any]) -> SigningWindow | None:
        """The window a JWK publishes, or None when it publishes none; ValueError if bad."""
        names = ("not_before", "not_after", "revoked_at")
        if not any(name in members for name in names):
            return None

        def instant(name: str) -> datetime | None:
            value = members.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise ValueError(f"{name} must be an ISO-8601 string or null")
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone")
            return moment

        reason = members.get("revocation_reason")
        if reason is not None and not isinstance(reason, str):
            raise ValueError("revocation_reason must be a string")
        return cls(instant("not_before"), instant("not_after"), instant("revoked_at"), reason)


class PublishedKey(tuple[bytes, PublicKey]):
    """A ``(kid, public key)`` pair, as every caller unpacks it, that also carries the key's
    signing window and purpose (None where the source published none)."""

    window: SigningWindow | None
    purpose: KeyPurpose | None

    def __new__(
        cls,
        kid: bytes,
        public_key: PublicKey,
        window: SigningWindow | None = None,
        purpose: KeyPurpose | None = None,
    ) -> PublishedKey:
        entry = super().__new__(cls, (kid, public_key))
        entry.window = window
        entry.purpose = purpose
        return entry

    @property
    def kid(self) -> bytes:
        return self[0]

    @property
    def public_key(self) -> PublicKey:
        return self[1]


def window_of(entry: tuple[bytes, PublicKey]) -> SigningWindow | None:
    return entry.window if isinstance(entry, PublishedKey) else None


def purpose_of(entry: tuple[bytes, PublicKey]) -> KeyPurpose | None:
    return entry.purpose if isinstance(entry, PublishedKey) else None
