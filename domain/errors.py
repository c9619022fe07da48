"""Domain errors: each carries a stable machine-readable code for the adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class DomainError(Exception):
    """A command was refused; nothing was written."""

    code = "domain.refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidTransition(DomainError):
    code = "registration.invalid_transition"


class NotPermitted(DomainError):
    code = "actor.not_permitted"


class InvalidInput(DomainError):
    code = "input.invalid"


class InvalidEvidence(DomainError):
    code = "evidence.invalid"


class ImmutableField(DomainError):
    code = "amendment.immutable_field"


class DuplicateApplication(DomainError):
    code = "registration.duplicate"


class NumberExhausted(DomainError):
    code = "registration_number.exhausted"


@dataclass(frozen=True)
class UnmetCondition:
    """One eligibility condition the applicant does not meet."""

    code: str
    message: str


class Ineligible(DomainError):
    """Eligibility failed; carries every unmet condition, not just the first."""

    code = "registration.ineligible"

    def __init__(self, unmet: Sequence[UnmetCondition]) -> None:
        self.unmet = tuple(unmet)
        super().__init__("; ".join(u.message for u in self.unmet))
