"""The registry's commands: one frozen dataclass per thing a user can ask for.

Entry points (CLI, HTTP, demo, bench) build a command and pass it to `RegistryApp.handle`
with the acting `Actor` and `CommandOptions`; they never call the aggregate themselves.
A command is plain data: who may run it, and what it does, is decided by its handler and
the domain (see `registry.application.handlers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.evidence import EvidenceRef
from domain.facts import ApplicationFacts
from domain.personal import PersonalData


@dataclass(frozen=True)
class CommandOptions:
    """How to run a command: retry-safe key and optimistic-locking version (both optional)."""

    idempotency_key: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the registration, its new version, and the events recorded."""

    registration_id: UUID
    version: int
    events: tuple[str, ...] = ()
    number: str | None = None
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "registration_id": str(self.registration_id),
            "version": self.version,
            "events": list(self.events),
            "number": self.number,
            "extra": self.extra,
        }


@dataclass(frozen=True)
class Command:
    """Base class of every command (the handler table is keyed by the concrete class)."""


@dataclass(frozen=True)
class Apply(Command):
    """Start an application (a draft) for the person with this ID number."""

    scheme: str
    personal: PersonalData
    facts: Mapping[str, Any] | ApplicationFacts


@dataclass(frozen=True)
class RegistrationCommand(Command):
    """A command on one existing registration."""

    registration_id: UUID


@dataclass(frozen=True)
class AttachEvidence(RegistrationCommand):
    evidence: EvidenceRef
    content: bytes


@dataclass(frozen=True)
class Submit(RegistrationCommand):
    pass


@dataclass(frozen=True)
class Endorse(RegistrationCommand):
    note: str = ""


@dataclass(frozen=True)
class Decline(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class StartReview(RegistrationCommand):
    pass


@dataclass(frozen=True)
class RecordExpertScore(RegistrationCommand):
    score: int
    method: str = "combined"


@dataclass(frozen=True)
class ReturnForSupplement(RegistrationCommand):
    reason_codes: Sequence[str]
    note: str = ""


@dataclass(frozen=True)
class ProvideSupplement(RegistrationCommand):
    facts: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RequestFurtherVerification(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class Approve(RegistrationCommand):
    pass


@dataclass(frozen=True)
class Reject(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class Withdraw(RegistrationCommand):
    reason: str = ""


@dataclass(frozen=True)
class RecordCe(RegistrationCommand):
    hours: float
    provider: str
    course: str = ""


@dataclass(frozen=True)
class RecordAnnualAssessment(RegistrationCommand):
    year: int
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Suspend(RegistrationCommand):
    reason_code: str
    reason: str = ""


@dataclass(frozen=True)
class Reinstate(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class Revoke(RegistrationCommand):
    reason_code: str
    reason: str = ""


@dataclass(frozen=True)
class ListAsDishonest(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class LiftDishonesty(RegistrationCommand):
    reason: str


@dataclass(frozen=True)
class Amend(RegistrationCommand):
    """Amend facts and/or personal data; the ID number is immutable."""

    changes: Mapping[str, Any]
    personal: PersonalData | None = None


@dataclass(frozen=True)
class RequestEmployerChange(RegistrationCommand):
    """An approved engineer asks to move to another employer (SPEC §12): the registration
    stays bound to its employer until the new one endorses and the registrar approves."""

    employer_id: str
    employer_name: str
    job_description: str
    note: str = ""


@dataclass(frozen=True)
class EndorseEmployerChange(RegistrationCommand):
    """The employer the engineer claims confirms the employment."""

    note: str = ""


@dataclass(frozen=True)
class DeclineEmployerChange(RegistrationCommand):
    """The claimed employer (or the registrar) refuses the move."""

    reason: str


@dataclass(frozen=True)
class ApproveEmployerChange(RegistrationCommand):
    """The registrar approves an endorsed move."""


@dataclass(frozen=True)
class RecordCertificate(RegistrationCommand):
    """Record a signed credential issued for the registration (see `certificates`)."""

    serial: str
    kid: str
    expires_at: datetime


@dataclass(frozen=True)
class ErasePersonalData(RegistrationCommand):
    """Erase the engineer's personal data on every registration of theirs (one result each)."""


SingleCommand = (
    Apply
    | AttachEvidence
    | Submit
    | Endorse
    | Decline
    | StartReview
    | RecordExpertScore
    | ReturnForSupplement
    | ProvideSupplement
    | RequestFurtherVerification
    | Approve
    | Reject
    | Withdraw
    | RecordCe
    | RecordAnnualAssessment
    | Suspend
    | Reinstate
    | Revoke
    | ListAsDishonest
    | LiftDishonesty
    | Amend
    | RequestEmployerChange
    | EndorseEmployerChange
    | DeclineEmployerChange
    | ApproveEmployerChange
    | RecordCertificate
)
"""Every command that answers with one `CommandResult` (erasure answers with a list)."""
