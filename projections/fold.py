"""Folding Registration events into per-registration view state, without the aggregate.

Replaying aggregates from the repository for every event would cost a full event-stream
read per event; instead this module mirrors exactly the parts of `Registration` that the
read models need (status points, validity, employer, dishonesty), so its answers must stay
identical to `Registration.status_at` — the property tests hold it to that.

Time-varying facts are written as *history rows*: each row is the full standing of a
registration from its `at` until the next row, so a point-in-time question is one lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from domain.status import REREVIEW, Status


class _Keep:
    """Marker: a status move that leaves the validity as it is."""


KEEP = _Keep()


class ProjectionError(RuntimeError):
    """The event log does not fold: a gap, a foreign event order, or an unknown event."""


def ts(moment: datetime) -> str:
    """Fixed-width UTC text, so string order is time order on both SQL dialects."""
    if moment.tzinfo is None:
        raise ProjectionError("event time without a timezone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@dataclass
class RegState:
    """One `proj_registration` row while it is being folded."""

    registration_id: str
    scheme: str
    created_at: str
    review_days: int
    fv_days: int
    validity_years: int
    title_years: int | None
    ce_renews: int
    ce_annual: int
    subject_id: str
    number: str | None = None
    status: str = Status.DRAFT.value
    status_reason: str = "drafted"
    status_since: str = ""
    valid_until: str | None = None
    submitted_at: str | None = None
    approved_at: str | None = None
    reinstated_at: str | None = None
    employer_id: str | None = None
    employer_name: str | None = None
    region: str = "44"
    masked_name: str | None = None
    erased: int = 0
    dishonest: int = 0
    dishonest_since: str | None = None
    dishonest_reason: str | None = None
    certificate_serial: str | None = None
    first_bad_at: str | None = None
    run_start: str | None = None
    updated_at: str = ""
    version: int = 1
    history_seq: int = 0
    decision_seq: int = 0

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.columns())

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> RegState:
        return cls(**dict(zip(cls.columns(), row, strict=True)))


HISTORY_COLUMNS = (
    "registration_id",
    "seq",
    "at",
    "status",
    "reason_code",
    "since",
    "valid_until",
    "numbered",
    "employer_id",
    "employer_name",
    "dishonest",
    "run_start",
)
DECISION_COLUMNS = (
    "registration_id",
    "seq",
    "scheme",
    "decision",
    "submitted_at",
    "decided_at",
)


@dataclass
class Changes:
    """Everything one batch writes, collected in memory and flushed in one transaction."""

    states: dict[str, RegState] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    applied: int = 0


def _employer(facts: dict[str, Any]) -> tuple[str | None, str | None]:
    employer = facts.get("employer")
    if not employer:
        return None, None
    return str(employer["id"]), str(employer.get("name") or "")


def _practising(state: RegState) -> bool:
    status = Status(state.status)
    return status is Status.ACTIVE or (state.number is not None and status in REREVIEW)


class Folder:
    """Applies one typed Registration event to the batch's in-memory state.

    `masked_names` maps a notification id to the masked name decrypted for it before the
    transaction began (the vault cannot be read inside our write transaction on SQLite).
    """

    def __init__(self, changes: Changes, masked_names: dict[int, str | None]) -> None:
        self.changes = changes
        self.masked_names = masked_names

    def apply(self, notification_id: int, event: Any) -> None:
        name = type(event).__name__
        rid = str(event.originator_id)
        at = ts(event.at)
        if name == "Drafted":
            if rid in self.changes.states:
                raise ProjectionError(f"registration {rid} drafted twice")
            self._drafted(notification_id, rid, at, event)
            return
        state = self.changes.states.get(rid)
        if state is None:
            raise ProjectionError(f"event {name} for unknown registration {rid}")
        if event.originator_version != state.version + 1:
            raise ProjectionError(
                f"registration {rid}: version {event.originator_version} follows "
                f"{state.version} (gap or repeat in the event log)"
            )
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            raise ProjectionError(f"no projection rule for Registration.{name}")
        handler(notification_id, state, at, event)
        state.version = event.originator_version
        state.updated_at = at
        self.changes.touched.add(rid)
        self.changes.applied += 1

    # ----------------------------------------------------------------- helpers

    def _history(self, state: RegState, at: str) -> None:
        state.history_seq += 1
        self.changes.history.append(
            (
                state.registration_id,
                state.history_seq,
                at,
                state.status,
                state.status_reason,
                state.status_since,
                state.valid_until,
                int(state.number is not None),
                state.employer_id,
                state.employer_name,
                state.dishonest,
                state.run_start,
            )
        )

    def _move(
        self,
        state: RegState,
        at: str,
        status: Status,
        reason_code: str,
        valid_until: str | _Keep | None = KEEP,
    ) -> None:
        """Mirror of `Registration._move`, plus the uninterrupted-registration run for rule A.

        A lapse is judged against the validity in force *before* this event, so a
        reinstatement after expiry starts a new run while a timely renewal does not.
        """
        lapsed = (
            _practising(state)
            and state.valid_until is not None
            and at[:10] > state.valid_until  # event date after the last valid day
        )
        if not isinstance(valid_until, _Keep):
            state.valid_until = valid_until
        state.status = status.value
        state.status_reason = reason_code
        state.status_since = at
        if status in {Status.SUSPENDED, Status.REVOKED} and state.first_bad_at is None:
            state.first_bad_at = at
        if state.number is not None:
            if not _practising(state):
                state.run_start = None
            elif state.run_start is None or lapsed:
                state.run_start = at
        self._history(state, at)

    def _decision(self, state: RegState, at: str, decision: str) -> None:
        state.decision_seq += 1
        self.changes.decisions.append(
            (
                state.registration_id,
                state.decision_seq,
                state.scheme,
                decision,
                state.submitted_at,
                at,
            )
        )

    def _facts(self, state: RegState, at: str, facts: dict[str, Any]) -> None:
        employer_id, employer_name = _employer(facts)
        state.region = str(facts.get("region") or "44")
        if (employer_id, employer_name) != (state.employer_id, state.employer_name):
            state.employer_id, state.employer_name = employer_id, employer_name
            self._history(state, at)

    # ------------------------------------------------------------------ events

    def _drafted(self, notification_id: int, rid: str, at: str, event: Any) -> None:
        policy: dict[str, Any] = event.policy
        title_years = policy.get("title_eligibility_after_years")
        employer_id, employer_name = _employer(event.facts)
        state = RegState(
            registration_id=rid,
            scheme=str(event.scheme),
            created_at=at,
            review_days=int(policy["review_working_days"]),
            fv_days=int(policy["further_verification_working_days"]),
            validity_years=int(policy["validity_years"]),
            title_years=int(title_years) if title_years is not None else None,
            ce_renews=int(bool(policy.get("ce_renews_validity"))),
            ce_annual=int(float(policy.get("min_ce_hours_per_year") or 0) > 0),
            subject_id=str(event.subject_id),
            status_since=at,
            employer_id=employer_id,
            employer_name=employer_name,
            region=str(event.facts.get("region") or "44"),
            masked_name=self.masked_names.get(notification_id),
            updated_at=at,
            version=event.originator_version,
        )
        self.changes.states[rid] = state
        self.changes.touched.add(rid)
        self.changes.applied += 1
        self._history(state, at)

    def _on_EvidenceAttached(self, nid: int, state: RegState, at: str, event: Any) -> None:
        pass  # evidence is not part of any read model

    def _on_Submitted(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.submitted_at = at
        self._move(state, at, Status.SUBMITTED, "submitted")

    def _on_EmployerEndorsed(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.EMPLOYER_ENDORSED, "employer.endorsed")

    def _on_EmployerDeclined(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.RETURNED_FOR_SUPPLEMENT, "employer.declined")

    def _on_ReviewStarted(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.UNDER_REVIEW, "review.started")

    def _on_ExpertReviewScored(self, nid: int, state: RegState, at: str, event: Any) -> None:
        pass  # the score is a reviewer's working note, not a public fact

    def _on_ReturnedForSupplement(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.RETURNED_FOR_SUPPLEMENT, str(event.reason_codes[0]))

    def _on_SupplementProvided(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._facts(state, at, event.facts)
        state.submitted_at = at
        to_status = Status(getattr(event, "to_status", Status.UNDER_REVIEW.value))
        self._move(state, at, to_status, "supplement.provided")

    def _on_FurtherVerificationRequested(
        self, nid: int, state: RegState, at: str, event: Any
    ) -> None:
        self._move(state, at, Status.FURTHER_VERIFICATION, "further_verification")

    def _on_Approved(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.number = str(event.number)
        state.approved_at = at
        self._decision(state, at, "approved")
        self._move(state, at, Status.ACTIVE, "approved", str(event.valid_until))

    def _on_AmendmentApproved(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._decision(state, at, "amendment_approved")
        self._move(state, at, Status.ACTIVE, "amendment.approved")

    def _on_Rejected(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._decision(state, at, "rejected")
        self._move(state, at, Status.REJECTED, "rejected")

    def _on_Withdrawn(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.WITHDRAWN, "withdrawn")

    def _on_ContinuingEducationRecorded(
        self, nid: int, state: RegState, at: str, event: Any
    ) -> None:
        renewed = None if event.valid_until is None else str(event.valid_until)
        if renewed is not None and state.valid_until is not None and renewed != state.valid_until:
            self._move(state, at, Status(state.status), "ce.renewed", renewed)

    def _on_AnnualAssessmentRecorded(self, nid: int, state: RegState, at: str, event: Any) -> None:
        pass  # a failure is followed by its own Suspended event

    def _on_CeComplianceReviewed(self, nid: int, state: RegState, at: str, event: Any) -> None:
        reason = "ce.review_passed" if event.passed else "ce.review_failed"
        self._move(state, at, Status(state.status), reason, str(event.valid_until))

    def _on_Suspended(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.SUSPENDED, str(event.reason_code))

    def _on_Reinstated(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.reinstated_at = at
        valid_until = state.valid_until if event.valid_until is None else str(event.valid_until)
        self._move(state, at, Status.ACTIVE, "reinstated", valid_until)

    def _on_Revoked(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._move(state, at, Status.REVOKED, str(event.reason_code))

    def _on_DishonestyListed(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.dishonest = 1
        state.dishonest_since = at
        state.dishonest_reason = str(event.reason)
        self._history(state, at)

    def _on_DishonestyLifted(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.dishonest = 0
        state.dishonest_since = None
        state.dishonest_reason = None
        self._history(state, at)

    def _on_Amended(self, nid: int, state: RegState, at: str, event: Any) -> None:
        self._facts(state, at, event.facts)
        if event.personal_data is not None and not state.erased:
            state.masked_name = self.masked_names.get(nid)
        if event.rereview:
            state.submitted_at = at
            self._move(state, at, Status.UNDER_REVIEW, "amendment.rereview")

    def _on_CertificateIssued(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.certificate_serial = str(event.serial)

    def _on_PersonalDataErased(self, nid: int, state: RegState, at: str, event: Any) -> None:
        state.erased = 1
        state.masked_name = None


def personal_data_of(event: Any) -> str | None:
    """The ciphertext an event carries, whose masked name the batch must decrypt first."""
    name = type(event).__name__
    if name == "Drafted" or (name == "Amended" and event.personal_data is not None):
        return str(event.personal_data)
    return None
