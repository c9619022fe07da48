"""The outcome of verifying a credential: one result per step, never a bare boolean.

A step after a failed one is NOT_CHECKED, so no caller can mistake "not reached" for
"passed" (the bug several DCC and Blockcerts verifiers shipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from registry.credentials._internal.claims import CredentialClaims
from registry.credentials._internal.keys import SigningWindow


class Status(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    NOT_CHECKED = "NOT_CHECKED"


class Step(StrEnum):
    """Verification steps, in the order they run."""

    UNPREFIX = "unprefix"
    BASE45 = "base45"
    DECOMPRESS = "decompress"
    COSE = "cose"
    KID = "kid"
    SIGNATURE = "signature"
    CWT = "cwt"
    KEY_WINDOW = "key_window"  # iat inside the signing key's window, key not revoked then
    EXPIRY = "expiry"
    POLICY = "policy"  # present only when the caller passed a policy


STEPS: tuple[Step, ...] = tuple(s for s in Step if s is not Step.POLICY)


@dataclass(frozen=True)
class StepResult:
    """One step: its status, stable reason codes (empty when VALID) and a human detail."""

    step: Step
    status: Status
    reasons: tuple[str, ...] = ()
    detail: str = ""

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class VerificationResult:
    """All step results plus whatever could be decoded along the way."""

    steps: tuple[StepResult, ...]
    verified_at: datetime
    prefix: str | None = None
    kid: bytes | None = None
    alg: int | None = None
    issuer: str | None = None
    region: str | None = None
    key_source: str | None = None
    claims: Mapping[Any, Any] | None = field(default=None, repr=False)
    credential: CredentialClaims | None = None
    key_window: SigningWindow | None = None

    @property
    def valid(self) -> bool:
        """True only when every step ran and passed."""
        return all(step.status is Status.VALID for step in self.steps)

    def step(self, step: Step | str) -> StepResult:
        for result in self.steps:
            if result.step == step:
                return result
        raise KeyError(step)

    @property
    def reasons(self) -> list[str]:
        """Every failure reason code, in step order."""
        return [reason for result in self.steps for reason in result.reasons]

    @property
    def first_failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.status is Status.INVALID), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the CLI's ``--json`` and the HTTP API use this shape)."""
        credential = None
        if self.credential is not None:
            c = self.credential
            credential = {
                "issuer": c.issuer,
                "issuer_region": c.issuer_region,
                "issued_at": c.issued_at.isoformat(),
                "expires_at": c.expires_at.isoformat(),
                "registration_number": c.registration_number,
                "scheme_code": c.scheme_code,
                "certificate_serial": c.certificate_serial,
                "masked_name": c.masked_name,
            }
        return {
            "valid": self.valid,
            "verified_at": self.verified_at.isoformat(),
            "prefix": self.prefix,
            "kid": self.kid.hex() if self.kid is not None else None,
            "alg": self.alg,
            "issuer": self.issuer,
            "region": self.region,
            "key_source": self.key_source,
            "key_window": self.key_window.to_json() if self.key_window else None,
            "reasons": self.reasons,
            "steps": {s.step.value: s.to_dict() for s in self.steps},
            "credential": credential,
            "claims": _jsonable(self.claims) if self.claims is not None else None,
        }


def _jsonable(value: Any) -> Any:
    """CBOR values as JSON: map keys as strings, bytes as hex, tags unwrapped."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    tag_value = getattr(value, "value", None)
    if tag_value is not None:
        return _jsonable(tag_value)
    return str(value)
