"""Verification policy as small composable checks over the decoded claims.

A check returns the failures it found (empty tuple = passed), so `AllOf` can report every
unmet condition at once. The expiry step itself is the policy `EXPIRY_POLICY`; callers may
pass extra checks (issuer allow-list, recognised regions) which run as the "policy" step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from registry.credentials._internal.claims import CLAIM_EXP, CLAIM_IAT, CLAIM_ISS
from registry.credentials._internal.truststore import TrustedKey


@dataclass(frozen=True)
class CheckContext:
    """What a check may look at: verified claims, the clock, and the key that signed."""

    claims: Mapping[Any, Any]
    at: datetime
    key: TrustedKey


@dataclass(frozen=True)
class Failure:
    reason: str
    detail: str


class Check(Protocol):
    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]: ...


def _moment(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class NotExpired:
    """``exp`` present and not passed at the verification time (a missing exp fails)."""

    leeway: timedelta = timedelta(0)

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        if CLAIM_EXP not in ctx.claims:
            return (Failure("expiry.missing", "the credential has no expiry (exp) claim"),)
        exp = _moment(ctx.claims[CLAIM_EXP])
        if exp is None:
            return (Failure("expiry.malformed", "exp is not a NumericDate"),)
        if ctx.at > exp + self.leeway:
            return (Failure("expiry.expired", f"expired at {exp.isoformat()}"),)
        return ()


@dataclass(frozen=True)
class IssuedBefore:
    """``iat``, when present, is not after the verification time."""

    leeway: timedelta = timedelta(0)

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        if CLAIM_IAT not in ctx.claims:
            return ()
        iat = _moment(ctx.claims[CLAIM_IAT])
        if iat is None:
            return (Failure("expiry.malformed", "iat is not a NumericDate"),)
        if ctx.at + self.leeway < iat:
            return (Failure("expiry.not_yet_valid", f"issued in the future ({iat.isoformat()})"),)
        return ()


@dataclass(frozen=True)
class IssuerIn:
    """The ``iss`` claim is one of the given issuers."""

    issuers: frozenset[str]

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        iss = ctx.claims.get(CLAIM_ISS)
        if iss not in self.issuers:
            return (Failure("policy.issuer_not_allowed", f"issuer {iss!r} is not accepted"),)
        return ()


@dataclass(frozen=True)
class RegionIn:
    """The signing key belongs to one of the given regions (per the trust list)."""

    regions: frozenset[str]

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        if ctx.key.region not in self.regions:
            return (
                Failure("policy.region_not_recognised", f"region {ctx.key.region!r} not accepted"),
            )
        return ()


class AllOf:
    """Passes when every check passes; reports all failures."""

    def __init__(self, *checks: Check) -> None:
        self.checks = checks

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        return tuple(f for check in self.checks for f in check(ctx))


class AnyOf:
    """Passes when at least one check passes; otherwise reports all their failures."""

    def __init__(self, *checks: Check) -> None:
        if not checks:
            raise ValueError("AnyOf needs at least one check")
        self.checks = checks

    def __call__(self, ctx: CheckContext) -> tuple[Failure, ...]:
        failures: list[Failure] = []
        for check in self.checks:
            found = check(ctx)
            if not found:
                return ()
            failures.extend(found)
        return tuple(failures)


def issuer_in(issuers: Iterable[str]) -> IssuerIn:
    return IssuerIn(frozenset(issuers))


def region_in(regions: Iterable[str]) -> RegionIn:
    return RegionIn(frozenset(regions))


EXPIRY_POLICY: Check = AllOf(IssuedBefore(), NotExpired())
