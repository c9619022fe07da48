"""Folding Registration events into per-registration view state, without the aggregate.

Replaying aggregates from the repository for every event would cost a full event-stream
read per event; instead this module folds the typed events directly into the parts of
`Registration` that the read models need (status points, validity, employer, dishonesty).
The rules that decide a standing (in force, lapsed, rule A's run) are the domain's own
(`domain.standing`), so the answers match `Registration.status_at` — the property tests
hold it to that. Events are dispatched by class (`HANDLERS`), never by name.

Time-varying facts are written as *history rows*: each row is the full standing of a
registration from its `at` until the next row, so a point-in-time question is one lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime
from domain.registration import Registration
from domain.schemes import GUANGDONG, GUANGDONG_PROVISION_REGIONS, SchemePolicy
from domain.standing import in_force, lapsed, run_start_after_move
from domain.status import Status


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


def day_text(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


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
    pending_employer_id: str | None = None
    pending_employer_name: str | None = None
    pending_endorsed: int = 0
    owner_id: str | None = None
    """The engineer who drafted the application (the `Drafted` event's actor)."""
    title_regions: str = GUANGDONG
    """Comma-separated regions where the policy applies rule A (a Guangdong provision)."""
    lapses: int = 1
    """1 when the validity lapses by time (`SchemePolicy.validity_lapses`, rule A); 0 under
    a CE compliance cycle (rule B), where `valid_until` is the next review deadline."""

    @property
    def expiry(self) -> date | None:
        """The date after which the registration lapses by time, if it does."""
        return parse_date(self.valid_until) if self.lapses else None

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
    "pending_employer_id",
    "pending_endorsed",
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


def _numbered(state: RegState) -> bool:
    return state.number is not None


Handler = Callable[["Folder", int, RegState, str, Any], None]
R = Registration


class Folder:
    """Applies one typed Registration event to the batch's in-memory state.

    `masked_names` maps a notification id to the masked name decrypted for it before the
    transaction began (the vault cannot be read inside our write transaction on SQLite).
    """

    def __init__(
        self,
        changes: Changes,
        masked_names: dict[int, str | None],
        business: BusinessTime = DEFAULT_BUSINESS_TIME,
    ) -> None:
        self.changes = changes
        self.masked_names = masked_names
        self.business = business
        """The registry's zone: a lapse is judged on the move's *local* day, as the aggregate
        does (`Registration._move`)."""

    def apply(self, notification_id: int, event: Any) -> None:
        rid = str(event.originator_id)
        at = ts(event.at)
        if isinstance(event, R.Drafted):
            if rid in self.changes.states:
                raise ProjectionError(f"registration {rid} drafted twice")
            self._drafted(notification_id, rid, at, event)
            return
        name = type(event).__qualname__
        state = self.changes.states.get(rid)
        if state is None:
            raise ProjectionError(f"event {name} for unknown registration {rid}")
        if event.originator_version != state.version + 1:
            raise ProjectionError(
                f"registration {rid}: version {event.originator_version} follows "
                f"{state.version} (gap or repeat in the event log)"
            )
        handler = handler_for(type(event))
        if handler is None:
            raise ProjectionError(f"no projection rule for {name}")
        handler(self, notification_id, state, at, event)
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
                int(_numbered(state)),
                state.employer_id,
                state.employer_name,
                state.dishonest,
                state.run_start,
                state.pending_employer_id,
                state.pending_endorsed,
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
        """The same move as `Registration._move`, on the view row (times as fixed-width text)."""
        numbered = _numbered(state)
        lapsed_before = lapsed(
            Status(state.status),
            numbered,
            state.expiry,
            self.business.day(datetime.fromisoformat(at)),
        )
        if not isinstance(valid_until, _Keep):
            state.valid_until = valid_until
        state.status = status.value
        state.status_reason = reason_code
        state.status_since = at
        if status in {Status.SUSPENDED, Status.REVOKED} and state.first_bad_at is None:
            state.first_bad_at = at
        if numbered:
            state.run_start = run_start_after_move(
                state.run_start,
                lapsed_before=lapsed_before,
                practising_now=in_force(status, numbered),
                at=at,
            )
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

    def _drafted(self, notification_id: int, rid: str, at: str, event: R.Drafted) -> None:
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
            owner_id=str(event.actor_id),
            version=event.originator_version,
            title_regions=",".join(
                str(r) for r in policy.get("title_route_regions", GUANGDONG_PROVISION_REGIONS)
            ),
            lapses=int(SchemePolicy.from_dict(policy).validity_lapses),
        )
        self.changes.states[rid] = state
        self.changes.touched.add(rid)
        self.changes.applied += 1
        self._history(state, at)


# One function per event class: what the event changes in the view row.


def _ignore(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    """Evidence, scores and assessments are not part of any read model (a failed
    assessment is followed by its own Suspended event)."""


def _simple_move(status: Status, reason_code: str) -> Handler:
    def handle(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
        f._move(state, at, status, reason_code)

    return handle


def _submitted(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.submitted_at = at
    f._move(state, at, Status.SUBMITTED, "submitted")


def _returned(f: Folder, nid: int, state: RegState, at: str, e: R.ReturnedForSupplement) -> None:
    f._move(state, at, Status.RETURNED_FOR_SUPPLEMENT, str(e.reason_codes[0]))


def _supplemented(f: Folder, nid: int, state: RegState, at: str, e: R.SupplementProvided) -> None:
    f._facts(state, at, e.facts)
    state.submitted_at = at
    f._move(state, at, Status(e.to_status), "supplement.provided")


def _approved(f: Folder, nid: int, state: RegState, at: str, e: R.Approved) -> None:
    state.number = str(e.number)
    state.approved_at = at
    f._decision(state, at, "approved")
    f._move(state, at, Status.ACTIVE, "approved", day_text(e.valid_until))


def _amendment_approved(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    f._decision(state, at, "amendment_approved")
    f._move(state, at, Status.ACTIVE, "amendment.approved")


def _rejected(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    f._decision(state, at, "rejected")
    f._move(state, at, Status.REJECTED, "rejected")


def _ce_recorded(
    f: Folder, nid: int, state: RegState, at: str, e: R.ContinuingEducationRecorded
) -> None:
    renewed = day_text(e.valid_until)
    if renewed is not None and state.valid_until not in {None, renewed}:
        f._move(state, at, Status(state.status), "ce.renewed", renewed)


def _ce_reviewed(f: Folder, nid: int, state: RegState, at: str, e: R.CeComplianceReviewed) -> None:
    reason = "ce.review_passed" if e.passed else "ce.review_failed"
    f._move(state, at, Status(state.status), reason, day_text(e.valid_until))


def _suspended(f: Folder, nid: int, state: RegState, at: str, e: R.Suspended) -> None:
    f._move(state, at, Status.SUSPENDED, str(e.reason_code))


def _reinstated(f: Folder, nid: int, state: RegState, at: str, e: R.Reinstated) -> None:
    state.reinstated_at = at
    valid_until = KEEP if e.valid_until is None else day_text(e.valid_until)
    f._move(state, at, Status.ACTIVE, "reinstated", valid_until)


def _revoked(f: Folder, nid: int, state: RegState, at: str, e: R.Revoked) -> None:
    f._move(state, at, Status.REVOKED, str(e.reason_code))


def _listed(f: Folder, nid: int, state: RegState, at: str, e: R.DishonestyListed) -> None:
    state.dishonest = 1
    state.dishonest_since = at
    state.dishonest_reason = str(e.reason)
    if state.first_bad_at is None:  # a listing stays a bad record after it is lifted
        state.first_bad_at = at
    f._history(state, at)


def _lifted(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.dishonest = 0
    state.dishonest_since = None
    state.dishonest_reason = None
    f._history(state, at)


def _amended(f: Folder, nid: int, state: RegState, at: str, e: R.Amended) -> None:
    f._facts(state, at, e.facts)
    if e.personal_data is not None and not state.erased:
        state.masked_name = f.masked_names.get(nid)
    if e.rereview:
        state.submitted_at = at
        f._move(state, at, Status.UNDER_REVIEW, "amendment.rereview")


def _change_requested(
    f: Folder, nid: int, state: RegState, at: str, e: R.EmployerChangeRequested
) -> None:
    state.pending_employer_id, state.pending_employer_name = _employer({"employer": e.employer})
    state.pending_endorsed = 0
    state.submitted_at = at
    f._move(state, at, Status.UNDER_REVIEW, "employer_change.requested")


def _change_endorsed(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.pending_endorsed = 1
    f._move(state, at, Status(state.status), "employer_change.endorsed")


def _change_declined(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.pending_employer_id = state.pending_employer_name = None
    state.pending_endorsed = 0
    f._move(state, at, Status.ACTIVE, "employer_change.declined")


def _change_approved(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.employer_id, state.employer_name = state.pending_employer_id, state.pending_employer_name
    state.pending_employer_id = state.pending_employer_name = None
    state.pending_endorsed = 0
    f._decision(state, at, "employer_change_approved")
    f._move(state, at, Status.ACTIVE, "employer_change.approved")


def _certified(f: Folder, nid: int, state: RegState, at: str, e: R.CertificateIssued) -> None:
    state.certificate_serial = str(e.serial)


def _erased(f: Folder, nid: int, state: RegState, at: str, event: Any) -> None:
    state.erased = 1
    state.masked_name = None


HANDLERS: dict[type[Any], Handler] = {
    R.EvidenceAttached: _ignore,
    R.Submitted: _submitted,
    R.EmployerEndorsed: _simple_move(Status.EMPLOYER_ENDORSED, "employer.endorsed"),
    R.EmployerDeclined: _simple_move(Status.RETURNED_FOR_SUPPLEMENT, "employer.declined"),
    R.ReviewStarted: _simple_move(Status.UNDER_REVIEW, "review.started"),
    R.ExpertReviewScored: _ignore,
    R.ReturnedForSupplement: _returned,
    R.SupplementProvided: _supplemented,
    R.FurtherVerificationRequested: _simple_move(
        Status.FURTHER_VERIFICATION, "further_verification"
    ),
    R.Approved: _approved,
    R.AmendmentApproved: _amendment_approved,
    R.Rejected: _rejected,
    R.Withdrawn: _simple_move(Status.WITHDRAWN, "withdrawn"),
    R.ContinuingEducationRecorded: _ce_recorded,
    R.AnnualAssessmentRecorded: _ignore,
    R.CeComplianceReviewed: _ce_reviewed,
    R.Suspended: _suspended,
    R.Reinstated: _reinstated,
    R.Revoked: _revoked,
    R.DishonestyListed: _listed,
    R.DishonestyLifted: _lifted,
    R.Amended: _amended,
    R.CertificateIssued: _certified,
    R.PersonalDataErased: _erased,
    R.EmployerChangeRequested: _change_requested,
    R.EmployerChangeEndorsed: _change_endorsed,
    R.EmployerChangeDeclined: _change_declined,
    R.EmployerChangeApproved: _change_approved,
}
"""Registration event class → its projection rule (`Drafted` starts a row instead)."""


def handler_for(event_class: type[Any]) -> Handler | None:
    for cls in event_class.__mro__:
        handler = HANDLERS.get(cls)
        if handler is not None:
            return handler
    return None


def personal_data_of(event: Any) -> str | None:
    """The ciphertext an event carries, whose masked name the batch must decrypt first."""
    if isinstance(event, R.Drafted):
        return str(event.personal_data)
    if isinstance(event, R.Amended) and event.personal_data is not None:
        return str(event.personal_data)
    return None
