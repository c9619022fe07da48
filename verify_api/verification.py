"""Online verification: the offline credential check plus the registry's live status.

One function builds the outcome both the HTML page and the JSON API show, so they can never
disagree. Five steps are reported separately (SPEC §11): format, signature, issuer key,
status, expiry — each VALID, INVALID or COULD_NOT_CHECK. The headline follows from them:
a genuine credential whose registration was since suspended or revoked reads "not valid
now" with the date of the change, and a status that could not be fetched is never shown as
"not revoked".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime
from registry.credentials import Status as StepStatus
from registry.credentials import Step, VerificationResult, verify_credential

Headline = Literal[
    "valid",
    "not_valid_now",
    "expired",
    "unreadable",
    "not_genuine",
    "status_unknown",
    "unavailable",
]
"""Four verdicts a person must tell apart (SPEC §12): could not read the code (`unreadable`),
not genuine, genuine but not valid now, expired on a date — besides valid and the two
could-not-check answers (`status_unknown`, `unavailable`)."""
PUBLIC_STATUSES = ("active", "suspended", "revoked", "expired")


class Check(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    COULD_NOT_CHECK = "COULD_NOT_CHECK"


@dataclass(frozen=True)
class StepOutcome:
    name: str
    result: Check
    reason: str | None = None
    since: datetime | None = None  # the instant a key was revoked / its window closed
    explain: str | None = None  # i18n key of a sentence the page shows (key problems)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.result.value, "reason": self.reason}
        if self.since is not None:
            out["since"] = self.since.isoformat()
        return out


@dataclass(frozen=True)
class LiveStatus:
    """The registry's current public view of a number (no personal data)."""

    number: str
    scheme: str
    status: str  # active | suspended | revoked | expired | unknown
    lifecycle_status: str
    permitted_to_practise: bool
    reason: str | None
    since: datetime | None
    valid_until: date | None
    masked_name: str | None
    issuer: str
    certificate_serial: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "scheme": self.scheme,
            "status": self.status,
            "lifecycle_status": self.lifecycle_status,
            "permitted_to_practise": self.permitted_to_practise,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "masked_name": self.masked_name,
            "issuer": self.issuer,
        }


class StatusUnavailable(Exception):
    """The live status could not be fetched (store down, projection failing)."""


@dataclass(frozen=True)
class Outcome:
    headline: Headline
    genuine: bool | None
    valid_now: bool
    checked_at: datetime
    steps: tuple[StepOutcome, ...]
    live: LiveStatus | None = None
    credential: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    expired_on: date | None = None  # the last day of validity, for the `expired` verdict

    def step(self, name: str) -> StepOutcome:
        return next(s for s in self.steps if s.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "genuine": self.genuine,
            "valid_now": self.valid_now,
            "checked_at": self.checked_at.isoformat(),
            "steps": {s.name: s.as_dict() for s in self.steps},
            "registration": self.live.as_dict() if self.live else None,
            "credential": self.credential,
            "notes": list(self.notes),
            "expired_on": self.expired_on.isoformat() if self.expired_on else None,
        }


_FORMAT_STEPS = (Step.UNPREFIX, Step.BASE45, Step.DECOMPRESS, Step.COSE, Step.CWT)


def _combine(result: VerificationResult, steps: tuple[Step, ...]) -> StepOutcome:
    """Several library steps as one reported step: INVALID beats not-checked beats VALID."""
    outcomes = [result.step(s) for s in steps]
    for o in outcomes:
        if o.status is StepStatus.INVALID:
            return StepOutcome("", Check.INVALID, o.reason)
    if any(o.status is StepStatus.NOT_CHECKED for o in outcomes):
        return StepOutcome("", Check.COULD_NOT_CHECK, "step.not_reached")
    return StepOutcome("", Check.VALID)


def _named(name: str, outcome: StepOutcome) -> StepOutcome:
    return StepOutcome(name, outcome.result, outcome.reason)


def evaluate(
    text: str,
    *,
    trust: Any,
    at: datetime,
    own_issuer: str,
    live_status: Any,
    business: BusinessTime = DEFAULT_BUSINESS_TIME,
) -> Outcome:
    """Verify `text` (credential or URL) at `at`; `live_status(number)` → LiveStatus|None.

    `trust` is a TrustStore, or an exception instance when the keys could not be loaded;
    `live_status` may raise `StatusUnavailable`. `business` is the registry's zone: an
    expiry date is the local calendar day (SPEC §12 "Time").
    """
    if isinstance(trust, Exception):
        steps = (
            StepOutcome("format", Check.COULD_NOT_CHECK, "keys.unavailable"),
            StepOutcome("signature", Check.COULD_NOT_CHECK, "keys.unavailable"),
            StepOutcome("issuer_key", Check.COULD_NOT_CHECK, "keys.unavailable"),
            StepOutcome("status", Check.COULD_NOT_CHECK, "keys.unavailable"),
            StepOutcome("expiry", Check.COULD_NOT_CHECK, "keys.unavailable"),
        )
        return Outcome("unavailable", None, False, at, steps)
    result = verify_credential(text, trust, at)
    fmt = _named("format", _combine(result, _FORMAT_STEPS))
    key = _issuer_key(result)
    sig = _named("signature", _combine(result, (Step.SIGNATURE,)))
    expiry = _named("expiry", _combine(result, (Step.EXPIRY,)))
    # A failure before the CWT step leaves CWT not reached; keep the first real failure.
    if fmt.result is Check.COULD_NOT_CHECK and result.first_failure is not None:
        failed = result.first_failure.step
        if failed in {Step.KID, Step.SIGNATURE}:
            fmt = StepOutcome(
                "format",
                Check.VALID if _decoded(result) else Check.COULD_NOT_CHECK,
                None if _decoded(result) else "step.not_reached",
            )
    credential = result.to_dict()["credential"]
    if key.result is Check.INVALID or sig.result is Check.INVALID:
        status = StepOutcome("status", Check.COULD_NOT_CHECK, "credential.not_genuine")
        return Outcome(
            "not_genuine", False, False, at, (fmt, sig, key, status, expiry), None, credential
        )
    if fmt.result is Check.INVALID or result.credential is None:
        # Damaged, truncated or misread: nothing was proved false, so the holder is not
        # accused of forgery; the page asks for another scan or the number.
        status = StepOutcome("status", Check.COULD_NOT_CHECK, "credential.not_decoded")
        return Outcome("unreadable", None, False, at, (fmt, sig, key, status, expiry))
    claims = result.credential
    live: LiveStatus | None = None
    notes: list[str] = []
    if claims.issuer != own_issuer:
        status = StepOutcome("status", Check.COULD_NOT_CHECK, "status.other_issuer")
    else:
        try:
            live = live_status(claims.registration_number)
        except StatusUnavailable:
            live = None
            status = StepOutcome("status", Check.COULD_NOT_CHECK, "status.unavailable")
        else:
            if live is None:
                status = StepOutcome("status", Check.INVALID, "registration.not_found")
            elif live.permitted_to_practise:
                status = StepOutcome("status", Check.VALID)
            else:
                status = StepOutcome("status", Check.INVALID, f"status.{live.status}")
            if (
                live is not None
                and live.certificate_serial
                and live.certificate_serial != claims.certificate_serial
            ):
                notes.append("note.superseded")
    steps = (fmt, sig, key, status, expiry)
    headline: Headline
    expired_on: date | None = None
    # Revoked outranks suspended outranks expired (SPEC §11).
    withdrawn = live is not None and live.status in {"revoked", "suspended"}
    if status.result is Check.INVALID and withdrawn:
        headline = "not_valid_now"
    elif live is not None and live.status == "expired":
        headline, expired_on = "expired", live.valid_until
    elif expiry.reason == "expiry.expired":
        headline, expired_on = "expired", last_valid_day(claims.expires_at, business)
    elif status.result is Check.INVALID or expiry.result is Check.INVALID:
        headline = "not_valid_now"
    elif status.result is Check.COULD_NOT_CHECK or expiry.result is not Check.VALID:
        headline = "status_unknown"
    else:
        headline = "valid"
    return Outcome(
        headline,
        True,
        headline == "valid",
        at,
        steps,
        live,
        credential,
        tuple(notes),
        expired_on,
    )


def _issuer_key(result: VerificationResult) -> StepOutcome:
    """The kid is trusted and, once the claims are read, the credential's ``iat`` lies in
    that key's signing window (not after its revocation): otherwise the key could not have
    issued it, and the credential is not genuine (SPEC §12)."""
    window_step = result.step(Step.KEY_WINDOW)
    if window_step.status is StepStatus.INVALID:
        since = None
        explain = "key.outside_window"
        window = result.key_window
        iat = result.credential.issued_at if result.credential else None
        if window is not None and window_step.reason == "key.revoked":
            since = window.revoked_at
            compromised = window.revocation_reason == "compromise"
            explain = "key.revoked.compromise" if compromised else "key.revoked"
        elif window is not None and iat is not None:
            after = window.not_after is not None and iat > window.not_after
            since = window.not_after if after else window.not_before
        return StepOutcome("issuer_key", Check.INVALID, window_step.reason, since, explain)
    return _named("issuer_key", _combine(result, (Step.KID,)))


def _decoded(result: VerificationResult) -> bool:
    return all(
        result.step(s).status is StepStatus.VALID
        for s in (Step.UNPREFIX, Step.BASE45, Step.DECOMPRESS, Step.COSE)
    )


def last_valid_day(expires_at: datetime, business: BusinessTime) -> date:
    """`exp` is the first instant no longer valid: the last valid day is the local day of
    the instant before it."""
    return business.day(expires_at - timedelta(microseconds=1))


def public_status(value: str) -> str:
    return value if value in PUBLIC_STATUSES else "unknown"
