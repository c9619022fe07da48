"""The claims a registration credential carries, and their CWT (RFC 8392) encoding.

CWT claim keys used:

====== =========================================================================
 1     iss  issuer id of the registry that signed (e.g. ``CN-44-REG``)
 6     iat  issued-at, seconds since the epoch
 4     exp  expiry, seconds since the epoch
-65537 our private-use claim (RFC 8392 §9.1: keys below -65536 are private use),
       DCC-style: one claim holding a map with small integer keys:
       0 version (1), 1 registration number, 2 scheme code, 3 certificate serial,
       4 masked name (e.g. ``张*三``), 5 issuer region (e.g. ``44``)
====== =========================================================================

No ID number, phone, e-mail or address ever goes in: `CredentialClaims` refuses values
that look like a Chinese ID number, a mobile number or an e-mail address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidInput
from domain.masking import mask_name as _domain_mask_name

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_REGISTRATION = -65537

_VERSION = 0
_REG_NUMBER = 1
_SCHEME = 2
_SERIAL = 3
_MASKED_NAME = 4
_REGION = 5
CLAIMS_VERSION = 1

_FORBIDDEN = (
    (re.compile(r"\d{17}[\dXx]|\d{15}"), "an ID number"),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "a mobile number"),
    (re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "an e-mail address"),
)


class ClaimsError(ValueError):
    """Claims that cannot be issued or decoded."""


def mask_name(name: str) -> str:
    """The one masking rule (`domain.masking.mask_name`), refusing as a claims error."""
    try:
        return _domain_mask_name(name)
    except InvalidInput as exc:
        raise ClaimsError(exc.message) from None


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ClaimsError("timestamps must be timezone-aware")
    return int(moment.timestamp())


@dataclass(frozen=True)
class CredentialClaims:
    """What a registration credential asserts; see the module docstring for claim keys."""

    issuer: str
    issued_at: datetime
    expires_at: datetime
    registration_number: str
    scheme_code: str
    certificate_serial: str
    masked_name: str
    issuer_region: str

    def __post_init__(self) -> None:
        for field_name in (
            "issuer",
            "registration_number",
            "scheme_code",
            "certificate_serial",
            "masked_name",
            "issuer_region",
        ):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value.strip():
                raise ClaimsError(f"{field_name} must be a non-empty string")
            if field_name in {"masked_name", "issuer", "scheme_code", "issuer_region"}:
                for pattern, what in _FORBIDDEN:
                    if pattern.search(value):
                        raise ClaimsError(f"{field_name} looks like {what}; never put it in a QR")
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ClaimsError("issued_at and expires_at must be timezone-aware")
        if self.expires_at <= self.issued_at:
            raise ClaimsError("expires_at must be after issued_at")

    def to_cwt(self) -> dict[int, Any]:
        """The CWT claims map, ready for CBOR encoding."""
        return {
            CLAIM_ISS: self.issuer,
            CLAIM_IAT: _epoch(self.issued_at),
            CLAIM_EXP: _epoch(self.expires_at),
            CLAIM_REGISTRATION: {
                _VERSION: CLAIMS_VERSION,
                _REG_NUMBER: self.registration_number,
                _SCHEME: self.scheme_code,
                _SERIAL: self.certificate_serial,
                _MASKED_NAME: self.masked_name,
                _REGION: self.issuer_region,
            },
        }

    @classmethod
    def from_cwt(cls, claims: Mapping[Any, Any]) -> CredentialClaims:
        """Parse a CWT claims map; `ClaimsError` says what is missing or mistyped."""
        inner = claims.get(CLAIM_REGISTRATION)
        if not isinstance(inner, Mapping):
            raise ClaimsError(f"claim {CLAIM_REGISTRATION} (registration) missing or not a map")
        if inner.get(_VERSION) != CLAIMS_VERSION:
            raise ClaimsError(f"unsupported registration claims version {inner.get(_VERSION)!r}")

        def text(source: Mapping[Any, Any], key: int, name: str) -> str:
            value = source.get(key)
            if not isinstance(value, str):
                raise ClaimsError(f"{name} missing or not text")
            return value

        def moment(key: int, name: str) -> datetime:
            value = claims.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ClaimsError(f"{name} missing or not a number")
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                raise ClaimsError(f"{name} out of range") from None

        return cls(
            issuer=text(claims, CLAIM_ISS, "iss"),
            issued_at=moment(CLAIM_IAT, "iat"),
            expires_at=moment(CLAIM_EXP, "exp"),
            registration_number=text(inner, _REG_NUMBER, "registration number"),
            scheme_code=text(inner, _SCHEME, "scheme code"),
            certificate_serial=text(inner, _SERIAL, "certificate serial"),
            masked_name=text(inner, _MASKED_NAME, "masked name"),
            issuer_region=text(inner, _REGION, "issuer region"),
        )
