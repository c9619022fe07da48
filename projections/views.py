"""The read models' public shapes: frozen values that adapters serialise as they are.

They carry no personal data beyond the masked name (SPEC §10); `as_public_dict` is the
only shape an unauthenticated caller may see.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID


def _plain_value(value: Any) -> Any:
    """JSON-ready form: adapters and snapshots must not depend on Python types."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    return value


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain_value(v) for k, v in data.items()}


@dataclass(frozen=True)
class RegistrationView:
    """One registration as the registry sees it on `today` (expiry is derived from that day)."""

    registration_id: UUID
    number: str | None
    scheme: str
    status: str
    public_status: str
    status_reason: str
    status_since: datetime
    valid_until: date | None
    next_ce_deadline: date | None
    masked_name: str | None
    employer_id: str | None
    employer_name: str | None
    region: str
    approved_at: datetime | None
    dishonest: bool
    certificate_serial: str | None
    permitted_to_practise: bool
    note: str | None
    submitted_at: datetime | None = None
    today: date | None = None
    pending_employer_id: str | None = None
    """The employer the engineer asked to move to (SPEC §12), until approved or declined."""
    pending_employer_name: str | None = None
    pending_endorsed: bool = False

    @property
    def issuer_region(self) -> str:
        """The region that issued the number (it is part of the number), else the applicant's."""
        if self.number and self.number.count("-") >= 3:
            return self.number.split("-")[1]
        return self.region

    def as_public_dict(self) -> dict[str, Any]:
        return _plain(
            {
                "number": self.number,
                "masked_name": self.masked_name,
                "scheme": self.scheme,
                "status": self.public_status,
                "status_reason": self.status_reason,
                "status_since": self.status_since,
                "valid_until": self.valid_until,
                "issuer_region": self.issuer_region,
                "permitted_to_practise": self.permitted_to_practise,
                "note": self.note,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        data = _plain(asdict(self))
        data["issuer_region"] = self.issuer_region
        return data


@dataclass(frozen=True)
class StatusAsOf:
    """A registration's standing on one past or present day, as known that day.

    `status` is the public status (an approved registration whose amendment is under
    re-review still practises); `lifecycle_status` is what `Registration.status_at` says.
    """

    number: str
    on: date
    status: str
    permitted_to_practise: bool
    reason_code: str | None
    since: datetime | None
    valid_until: date | None
    employer_id: str | None
    scheme: str
    lifecycle_status: str | None = None
    employer_name: str | None = None
    note: str | None = None
    pending_employer_id: str | None = None
    """An employer change requested but not yet approved on that day (bound: `employer_id`)."""
    pending_endorsed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class QueueItem:
    """An application waiting for a decision, with its working-day deadline."""

    registration_id: UUID
    scheme: str
    status: str
    employer_id: str | None
    submitted_at: datetime
    due: date
    working_days_elapsed: int
    overdue: bool
    number: str | None = None
    working_days_allowed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class DishonestyEntry:
    registration_id: UUID
    number: str | None
    masked_name: str | None
    scheme: str
    listed_at: datetime
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class EligibilityView:
    """Rule A: registered without interruption since `since`, long enough for the title."""

    registration_id: UUID
    number: str
    masked_name: str | None
    since: datetime

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Statistics:
    """Counts on `today` (public statuses) and review turnaround in working days."""

    today: date
    total: int
    numbered: int
    permitted: int
    by_scheme: dict[str, int]
    by_status: dict[str, int]
    by_region: dict[str, int]
    by_scheme_status: dict[str, dict[str, int]]
    in_review: int
    overdue_reviews: int
    dishonest: int
    decisions: int
    turnaround_median_working_days: float | None
    turnaround_p90_working_days: float | None
    turnaround_by_scheme: dict[str, dict[str, float | None]]
    position: int

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))
