"""The Registration aggregate: one engineer's registration under one scheme.

Each public method is a command. It checks the rules first and only then triggers a
past-tense event (a private method decorated with `@event`), so a refused command writes
nothing. Every event records the actor, the actor's role, the effective UTC time and the
reason. Personal data arrives already encrypted by the application layer.

The events are declared classes with typed fields (their nested names are the stored
topics, ``domain.registration:Registration.<Name>``, so they never change). A field whose
stored form changed carries a `class_version` and an `upcast_vN_vN+1` that reads the older
form, so a store written by the first release still replays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actors import Actor
from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime, add_years, require_utc
from domain.errors import ImmutableField, Ineligible, InvalidInput, InvalidTransition
from domain.evidence import EvidenceRef
from domain.facts import ApplicationFacts, Employer
from domain.permissions import check
from domain.reasons import (
    AMENDABLE,
    DISHONEST_REVOCATIONS,
    REQUIRES_REREVIEW,
    RETURN_REASONS,
    REVOCATION_REASONS,
    SCORING_METHODS,
    SUSPENSION_REASONS,
)
from domain.schemes import ApplicantHistory, Materials, SchemePolicy, check_eligibility
from domain.standing import (
    BAD_RECORD,
    deficient_run,
    hours_between,
    in_force,
    lapse_moment,
    lapsed,
    registration_years,
    run_start_after_move,
    standing,
    title_eligible,
)
from domain.status import IN_REVIEW, TERMINAL, Status

__all__ = [
    "AMENDABLE",
    "REQUIRES_REREVIEW",
    "RETURN_REASONS",
    "REVOCATION_REASONS",
    "SUSPENSION_REASONS",
    "TOPIC_PREFIX",
    "Registration",
    "StatusPoint",
]

TOPIC_PREFIX = f"{__name__}:Registration."
"""Every Registration event's stored topic starts with this (read models filter on it)."""


class _Keep:
    """Marker: a status move that leaves the validity as it is."""


KEEP = _Keep()


def _as_date(value: Any) -> date | None:
    """Upcasting: the first release stored dates as ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class StatusPoint:
    """The lifecycle status and validity from `at` onward (until the next point).

    `run_start` is when rule A's unbroken run of registration began (None when not running).
    """

    at: datetime
    status: Status
    valid_until: date | None
    reason_code: str
    numbered: bool = False
    run_start: datetime | None = None


class Registration(Aggregate):
    """A registration's whole life, from draft to revocation."""

    business_time: BusinessTime = DEFAULT_BUSINESS_TIME
    """The registry's zone (data handed in by the application, never stored in an event):
    valid-until, CE years, deadlines and "on day D" are local calendar dates."""

    def _day(self, at: datetime) -> date:
        return self.business_time.day(at)

    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str
        at: datetime

    # ------------------------------------------------------------------ events

    class Drafted(Aggregate.Created, Event):
        """A new application. `policy` and `facts` are snapshots (documents) as submitted."""

        scheme: str
        policy: dict[str, Any]
        subject_id: UUID
        id_hmac: str
        personal_data: str
        facts: dict[str, Any]

    class EvidenceAttached(Event):
        """Version 2 carries an `EvidenceRef`; version 1 stored its fields as a plain dict."""

        class_version: ClassVar[int] = 2
        evidence: EvidenceRef

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            if not isinstance(state["evidence"], EvidenceRef):
                state["evidence"] = EvidenceRef.from_dict(state["evidence"])

    class Submitted(Event):
        pass

    class EmployerEndorsed(Event):
        note: str

    class EmployerDeclined(Event):
        reason: str

    class ReviewStarted(Event):
        pass

    class ExpertReviewScored(Event):
        score: int
        method: str

    class ReturnedForSupplement(Event):
        reason_codes: list[str]
        note: str

    class SupplementProvided(Event):
        facts: dict[str, Any]
        to_status: str

    class FurtherVerificationRequested(Event):
        reason: str

    class Approved(Event):
        """Version 2 stores `valid_until` as a date (version 1: ISO text)."""

        class_version: ClassVar[int] = 2
        number: str
        valid_until: date

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["valid_until"] = _as_date(state["valid_until"])

    class AmendmentApproved(Event):
        pass

    class Rejected(Event):
        reason: str

    class Withdrawn(Event):
        reason: str

    class ContinuingEducationRecorded(Event):
        """CE hours. Version 2 added `course` (version-1 events read with an empty course);
        version 3 stores `valid_until` as a date (before: ISO text)."""

        class_version: ClassVar[int] = 3
        hours: float
        provider: str
        course: str
        valid_until: date | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["course"] = ""

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["valid_until"] = _as_date(state["valid_until"])

    class AnnualAssessmentRecorded(Event):
        year: int
        passed: bool
        note: str

    class CeComplianceReviewed(Event):
        """Version 2 stores `cycle_end` and `valid_until` as dates (version 1: ISO text)."""

        class_version: ClassVar[int] = 2
        cycle_end: date
        passed: bool
        valid_until: date

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["cycle_end"] = _as_date(state["cycle_end"])
            state["valid_until"] = _as_date(state["valid_until"])

    class Suspended(Event):
        reason_code: str
        reason: str

    class Reinstated(Event):
        """Version 2 stores `valid_until` as a date (version 1: ISO text)."""

        class_version: ClassVar[int] = 2
        reason: str
        valid_until: date | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["valid_until"] = _as_date(state["valid_until"])

    class Revoked(Event):
        reason_code: str
        reason: str

    class DishonestyListed(Event):
        reason: str

    class DishonestyLifted(Event):
        reason: str

    class Amended(Event):
        facts: dict[str, Any]
        changed: list[str]
        personal_data: str | None
        rereview: bool

    class CertificateIssued(Event):
        serial: str
        kid: str
        expires_at: datetime
        supersedes: str | None

    class PersonalDataErased(Event):
        pass

    # An approved engineer's move to another employer (SPEC §12 "Employer binding"): a
    # request that the new employer endorses and the registrar approves. Until approved the
    # registration stays bound to the employer it names (`facts["employer"]`).

    class EmployerChangeRequested(Event):
        employer: dict[str, Any]
        note: str

    class EmployerChangeEndorsed(Event):
        note: str

    class EmployerChangeDeclined(Event):
        reason: str

    class EmployerChangeApproved(Event):
        pass

    @event(Drafted)
    def __init__(
        self,
        *,
        scheme: str,
        policy: dict[str, Any],
        subject_id: UUID,
        id_hmac: str,
        personal_data: str,
        facts: dict[str, Any],
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.scheme = scheme
        self.policy_data = policy
        self.subject_id = subject_id
        self.id_hmac = id_hmac
        self.personal_data = personal_data
        self.facts_data = facts
        self.owner_id = actor_id
        self.evidence: list[dict[str, Any]] = []
        self.number: str | None = None
        self.status = Status.DRAFT
        self.last_at = at
        self.submitted_at: datetime | None = None
        self.approved_at: datetime | None = None
        self.valid_until: date | None = None
        self.expert_score: int | None = None
        self.ce_records: list[tuple[datetime, float]] = []
        self.assessments: dict[int, bool] = {}
        self.ce_reviews: set[date] = set()
        self.last_reinstated_at: datetime | None = None
        self.dishonest = False
        self.dishonest_listed_at: list[datetime] = []
        self.certificates: list[dict[str, Any]] = []
        self.personal_data_erased = False
        self.return_reasons: list[str] = []
        self.endorsed = False
        self.pending_employer: dict[str, Any] | None = None
        self.pending_endorsed = False
        self.timeline: list[StatusPoint] = [StatusPoint(at, Status.DRAFT, None, "drafted")]

    # ------------------------------------------------------------------ factory

    @classmethod
    def draft(
        cls,
        *,
        policy: SchemePolicy,
        subject_id: UUID,
        personal_data: str,
        facts: ApplicationFacts,
        actor: Actor,
        at: datetime,
    ) -> Registration:
        """A new application. Nothing derived from the ID number goes into the event (the
        first release stored its HMAC as ``id_hmac``; new drafts leave it empty), so once the
        subject's key is destroyed nothing in the log links to the person."""
        check("apply", actor)
        return cls(
            scheme=policy.code,
            policy=policy.as_dict(),
            subject_id=subject_id,
            id_hmac="",
            personal_data=personal_data,
            facts=facts.as_dict(),
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=require_utc(at),
        )

    # --------------------------------------------------------------- accessors

    @cached_property
    def policy(self) -> SchemePolicy:
        """The scheme policy in force when drafted (it never changes afterwards)."""
        return SchemePolicy.from_dict(self.policy_data)

    @property
    def facts(self) -> ApplicationFacts:
        return ApplicationFacts.from_dict(self.facts_data)

    @property
    def employer_id(self) -> str | None:
        employer = self.facts_data.get("employer")
        return str(employer["id"]) if employer else None

    @property
    def pending_employer_id(self) -> str | None:
        """The employer an approved engineer asked to move to, until approved or declined."""
        return str(self.pending_employer["id"]) if self.pending_employer else None

    def status_at(self, moment: datetime) -> Status:
        """Lifecycle status on `moment`, with expiry derived from time."""
        point = self.point_at(moment)
        if point is None:
            raise InvalidInput("the registration did not exist at that time")
        return standing(
            point.status, point.numbered, self._expiry(point.valid_until), self._day(moment)
        ).lifecycle

    def point_at(self, moment: datetime) -> StatusPoint | None:
        found = None
        for point in self.timeline:
            if point.at > moment:
                break
            found = point
        return found

    def closed_at(self, moment: datetime) -> bool:
        """No longer holds the engineer's place in the scheme on `moment`: rejected,
        withdrawn, revoked, or lapsed (expired by time, SPEC §3 A). The engineer may then
        apply again with the same ID number; a live registration blocks a second one."""
        if self.status in TERMINAL:
            return True
        return self.status_at(moment) is Status.EXPIRED

    @property
    def permitted(self) -> bool:
        """Approved and in force (an amendment under re-review keeps it in force)."""
        return self.number is not None and in_force(self.status, numbered=True)

    def title_eligible_at(self, moment: datetime) -> bool:
        """Rule A (`domain.standing.title_eligible`) on `moment`.

        A lapse and reinstatement restarts the count; any suspension, revocation or
        dishonesty listing up to `moment` disqualifies.
        """
        years = self.policy.title_eligibility_after_years
        if not self.policy.title_route_in(str(self.facts_data.get("region") or "44")):
            return False  # a Guangdong provision, only where the policy applies it
        if years is None or self.approved_at is None or self.dishonest:
            return False
        lifecycle = self.status_at(moment)
        past = [p for p in self.timeline if p.at <= moment]
        run_start = past[-1].run_start
        return title_eligible(
            years=years,
            lifecycle_on=lifecycle,
            dishonest=self.dishonest,
            # every adverse entry counts alike, lifted or not: a suspension, a revocation,
            # a dishonesty listing (issue 11)
            bad_record=any(p.status in BAD_RECORD for p in past)
            or any(listed <= moment for listed in self.dishonest_listed_at),
            run_start=self._day(run_start) if run_start is not None else None,
            on=self._day(moment),
        )

    # --------------------------------------------------------------- commands

    def check_can_attach_evidence(self, actor: Actor) -> None:
        """Refuses as `attach_evidence` would, before any file is received."""
        self._permit("attach_evidence", actor)
        self._require_status({Status.DRAFT, Status.RETURNED_FOR_SUPPLEMENT}, "attach evidence")

    def attach_evidence(self, evidence: EvidenceRef, actor: Actor, at: datetime) -> None:
        self.check_can_attach_evidence(actor)
        if any(e["sha256"] == evidence.sha256 for e in self.evidence):
            raise InvalidInput("this evidence file is already attached")
        self._evidence_attached(evidence=evidence, **self._meta(actor, at))

    def submit(
        self,
        actor: Actor,
        at: datetime,
        history: ApplicantHistory = ApplicantHistory(),
        has_contact: bool | None = None,
    ) -> None:
        """Submit; with `has_contact` (what the sealed personal data says, known to the
        application) the policy's required materials are checked too."""
        self._permit("submit", actor)
        self._require_status({Status.DRAFT}, "submit")
        materials = None
        if has_contact is not None:
            kinds = frozenset(str(e["kind"]) for e in self.evidence)
            materials = Materials(kinds, has_contact)
        self._require_eligible(at, history, materials)
        self._submitted(**self._meta(actor, at))

    def endorse(self, actor: Actor, at: datetime, note: str = "") -> None:
        """Employer preliminary review (单位初审) passed."""
        self._permit("endorse", actor)
        self._require_status({Status.SUBMITTED}, "endorse")
        self._endorsed(note=note, **self._meta(actor, at))

    def decline(self, actor: Actor, at: datetime, reason: str) -> None:
        """Employer does not confirm; the applicant may amend (e.g. employer) and resubmit."""
        self._permit("decline", actor)
        self._require_status({Status.SUBMITTED}, "decline")
        _require_text(reason, "reason")
        self._declined(reason=reason, **self._meta(actor, at))

    def start_review(self, actor: Actor, at: datetime) -> None:
        self._permit("start_review", actor)
        ready = {Status.EMPLOYER_ENDORSED}
        if not self.policy.requires_employer_endorsement:
            ready.add(Status.SUBMITTED)
        self._require_status(ready, "start the review")
        self._review_started(**self._meta(actor, at))

    def record_expert_score(self, score: int, method: str, actor: Actor, at: datetime) -> None:
        self._permit("score", actor)
        self._require_status({Status.UNDER_REVIEW, Status.FURTHER_VERIFICATION}, "score")
        if not isinstance(score, int) or not 0 <= score <= 100:
            raise InvalidInput("score must be an integer 0..100")
        if method not in SCORING_METHODS:
            raise InvalidInput(
                "method must be defence, material_review, practical_test or combined"
            )
        self._scored(score=score, method=method, **self._meta(actor, at))

    def return_for_supplement(
        self, reason_codes: Iterable[str], note: str, actor: Actor, at: datetime
    ) -> None:
        self._permit("return", actor)
        self._require_status({Status.UNDER_REVIEW, Status.FURTHER_VERIFICATION}, "return")
        codes = sorted(set(reason_codes))
        unknown = [c for c in codes if c not in RETURN_REASONS]
        if not codes or unknown:
            raise InvalidInput(
                f"reason codes must be among {', '.join(RETURN_REASONS)}; got {codes}"
            )
        self._returned(reason_codes=codes, note=note, **self._meta(actor, at))

    def provide_supplement(
        self,
        actor: Actor,
        at: datetime,
        facts: ApplicationFacts | None = None,
        history: ApplicantHistory = ApplicantHistory(),
    ) -> None:
        self._permit("supplement", actor)
        self._require_status({Status.RETURNED_FOR_SUPPLEMENT}, "supplement")
        new_facts = facts.as_dict() if facts else self.facts_data
        if self.number is not None and new_facts.get("employer") != self.facts_data.get("employer"):
            raise InvalidTransition(
                "an approved engineer changes employer by an employer-change request"
            )
        if self.number is None:
            unmet = check_eligibility(
                self.policy, ApplicationFacts.from_dict(new_facts), self._day(at), history
            )
            if unmet:
                raise Ineligible(unmet)
        # Back to the employer if they declined or must endorse a changed employer; else review.
        needs_employer = "employer.declined" in self.return_reasons or (
            self.policy.requires_employer_endorsement
            and (not self.endorsed or new_facts.get("employer") != self.facts_data.get("employer"))
        )
        to_status = Status.SUBMITTED if needs_employer else Status.UNDER_REVIEW
        self._supplemented(facts=new_facts, to_status=to_status.value, **self._meta(actor, at))

    def request_further_verification(self, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("further_verification", actor)
        self._require_status({Status.UNDER_REVIEW}, "request further verification")
        _require_text(reason, "reason")
        self._further_verification(reason=reason, **self._meta(actor, at))

    def approve(self, number: str | None, actor: Actor, at: datetime) -> None:
        """Approve; the first approval takes a newly allocated number, a re-review keeps it."""
        self._permit("approve", actor)
        self._require_status({Status.UNDER_REVIEW, Status.FURTHER_VERIFICATION}, "approve")
        policy = self.policy
        if policy.requires_expert_score and self.number is None:
            if self.expert_score is None:
                raise InvalidTransition("an expert review score is required before approval")
            if self.expert_score < policy.pass_score:
                raise InvalidTransition(
                    f"expert score {self.expert_score} is below the pass mark {policy.pass_score}"
                )
        if self.number is None:
            if not number:
                raise InvalidInput("a registration number is required for a first approval")
            valid_until = add_years(self._day(require_utc(at)), policy.validity_years)
            self._approved(number=number, valid_until=valid_until, **self._meta(actor, at))
        elif self.pending_employer is not None:
            self.approve_employer_change(actor, at)
        else:
            self._amendment_approved(**self._meta(actor, at))

    def reject(self, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("reject", actor)
        self._require_status(IN_REVIEW | {Status.RETURNED_FOR_SUPPLEMENT}, "reject")
        _require_text(reason, "reason")
        if self.number is not None:
            raise InvalidTransition(
                "an approved registration under re-review cannot be rejected; suspend or "
                "revoke it instead"
            )
        self._rejected(reason=reason, **self._meta(actor, at))

    def withdraw(self, actor: Actor, at: datetime, reason: str = "") -> None:
        self._permit("withdraw", actor)
        if self.number is not None:
            raise InvalidTransition("an approved registration cannot be withdrawn")
        self._require_status({Status.DRAFT, Status.RETURNED_FOR_SUPPLEMENT} | IN_REVIEW, "withdraw")
        self._withdrawn(reason=reason, **self._meta(actor, at))

    def record_ce(
        self, hours: float, provider: str, course: str, actor: Actor, at: datetime
    ) -> None:
        """Continuing education (继续教育) hours; under rule A this renews the registration."""
        self._permit("record_ce", actor)
        if self.number is None or self.status in TERMINAL:
            raise InvalidTransition("CE hours can only be recorded on an approved registration")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 500:
            raise InvalidInput("hours must be a number in (0, 500]")
        _require_text(provider, "provider")
        moment = require_utc(at)
        valid_until = self.valid_until
        if self.status_at(moment) is Status.EXPIRED or self.status is Status.EXPIRED:
            raise InvalidTransition(
                f"the registration lapsed on {valid_until}; CE hours cannot revive it — "
                "ask the registrar for reinstatement"
            )
        if self.policy.ce_renews_validity and self.permitted:
            renewed = add_years(self._day(moment), self.policy.validity_years)
            if valid_until is None or renewed > valid_until:
                valid_until = renewed
        self._ce_recorded(
            hours=float(hours),
            provider=provider,
            course=course,
            valid_until=valid_until,
            **self._meta(actor, at),
        )

    def record_annual_assessment(
        self, year: int, passed: bool, note: str, actor: Actor, at: datetime
    ) -> None:
        """Annual assessment; a failure suspends the registration where the scheme says so."""
        self._permit("assessment", actor)
        if self.number is None or self.status in TERMINAL:
            raise InvalidTransition("only an approved registration is assessed")
        if not self.policy.annual_assessment:
            raise InvalidTransition(f"scheme {self.scheme} has no annual assessment")
        if year in self.assessments:
            raise InvalidTransition(f"the {year} assessment is already recorded")
        if not 2000 <= year <= self._day(require_utc(at)).year:
            raise InvalidInput("assessment year must not be in the future")
        self._assessed(year=year, passed=passed, note=note, **self._meta(actor, at))
        if not passed and self.status_at(require_utc(at)) is Status.ACTIVE:
            self._suspended(
                reason_code="assessment.failed",
                reason=f"annual assessment {year} failed",
                **self._meta(actor, at),
            )

    def apply_scheme_rules(self, actor: Actor, at: datetime) -> list[str]:
        """Time-driven supervision rules; returns the names of the events triggered.

        The outcome is a function of time and the record, never of when the sweep ran
        (SPEC §4): every rule that fell due up to `at` is applied in order, each taking
        effect when it fell due (or at the last event, if that is later). Rule B's CE
        compliance review falls due at the start of the local day after its deadline; a
        pass moves the deadline on one cycle, a failure suspends. Two consecutive
        registration years below the CE minimum suspend when the second one ends.
        """
        self._permit("apply_scheme_rules", actor)
        moment = require_utc(at)
        triggered: list[str] = []
        policy = self.policy
        while self.number is not None and self.status is Status.ACTIVE:
            due_rules: list[tuple[datetime, str]] = []
            due = self.valid_until
            cycle = policy.ce_compliance_cycle_years
            if cycle and due is not None and due not in self.ce_reviews:
                review_at = lapse_moment(due, self.business_time)
                if review_at <= moment:
                    due_rules.append((review_at, "review"))
            missing_at = self._ce_missing_due(moment)
            if missing_at is not None:
                due_rules.append((missing_at, "missing"))
            if not due_rules:
                break
            effective, rule = min(due_rules)
            effective = max(effective, self.last_at)
            if self.status_at(effective) is Status.EXPIRED:
                break  # lapsed by time first (a scheme whose validity lapses)
            if rule == "missing":
                missing = policy.ce_missing_years_for_suspension
                self._suspended(
                    reason_code="ce.missing_consecutive_years",
                    reason=(
                        f"{missing} consecutive registration years below "
                        f"{policy.min_ce_hours_per_year:g} CE hours"
                    ),
                    **self._meta(actor, effective),
                )
                triggered.append("Suspended")
                continue
            assert cycle and due is not None
            compliant = all(
                hours_between(self.ce_records, start, end, self.business_time)
                >= policy.min_ce_hours_per_year
                for start, end in registration_years(add_years(due, -cycle), due)
            )
            self._ce_reviewed(
                cycle_end=due,
                passed=compliant,
                valid_until=add_years(due, cycle) if compliant else due,
                **self._meta(actor, effective),
            )
            triggered.append("CeComplianceReviewed")
            if not compliant:
                self._suspended(
                    reason_code="ce.review_failed",
                    reason=f"CE compliance review for the cycle ending {due} failed",
                    **self._meta(actor, effective),
                )
                triggered.append("Suspended")
        return triggered

    def _ce_missing_due(self, moment: datetime) -> datetime | None:
        """When the first run of `ce_missing_years_for_suspension` consecutive registration
        years below the CE minimum (since approval or the last reinstatement) was complete,
        if it was by `moment`."""
        missing = self.policy.ce_missing_years_for_suspension
        if not missing or self.approved_at is None:
            return None
        start = self._day(self.last_reinstated_at or self.approved_at)
        today = self._day(moment)
        run = 0
        for year_start, year_end in registration_years(start, today):
            if year_end > today:
                break
            hours = hours_between(self.ce_records, year_start, year_end, self.business_time)
            run = run + 1 if hours < self.policy.min_ce_hours_per_year else 0
            if run >= missing:
                return self.business_time.start_of_day(year_end)
        return None

    def ce_deficient_years(self, moment: datetime) -> list[tuple[date, date]]:
        """The trailing run of completed registration years below the CE minimum."""
        if self.approved_at is None:
            return []
        start = self._day(self.last_reinstated_at or self.approved_at)
        return deficient_run(
            self.ce_records,
            start,
            self._day(moment),
            self.policy.min_ce_hours_per_year,
            self.business_time,
        )

    def suspend(self, reason_code: str, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("suspend", actor)
        if reason_code not in SUSPENSION_REASONS:
            raise InvalidInput(f"suspension reason must be one of {sorted(SUSPENSION_REASONS)}")
        self._require_status({Status.ACTIVE}, "suspend")
        self._require_not_lapsed(at, "suspend")
        self._suspended(reason_code=reason_code, reason=reason, **self._meta(actor, at))

    def reinstate(self, reason: str, actor: Actor, at: datetime) -> None:
        """Lift a suspension, or revive a lapsed registration after late CE (new validity)."""
        self._permit("reinstate", actor)
        _require_text(reason, "reason")
        moment = require_utc(at)
        if self.number is None:
            raise InvalidTransition("only an approved registration can be reinstated")
        current = self.status_at(moment)
        if current not in {Status.SUSPENDED, Status.EXPIRED}:
            raise InvalidTransition(f"cannot reinstate a registration that is {current.value}")
        if self.dishonest:
            raise InvalidTransition("the engineer is on the dishonesty list")
        valid_until = self.valid_until
        if current is Status.EXPIRED or (
            valid_until is not None and self._day(moment) > valid_until
        ):
            valid_until = add_years(self._day(moment), self.policy.validity_years)
        self._reinstated(
            reason=reason,
            valid_until=valid_until,
            **self._meta(actor, at),
        )

    def revoke(self, reason_code: str, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("revoke", actor)
        if reason_code not in REVOCATION_REASONS:
            raise InvalidInput(f"revocation reason must be one of {sorted(REVOCATION_REASONS)}")
        if self.number is None:
            raise InvalidTransition("only an approved registration can be revoked; reject it")
        if self.status is Status.REVOKED:
            raise InvalidTransition("the registration is already revoked")
        self._revoked(reason_code=reason_code, reason=reason, **self._meta(actor, at))
        if reason_code in DISHONEST_REVOCATIONS and not self.dishonest:
            self._dishonesty_listed(reason=reason, **self._meta(actor, at))

    def list_as_dishonest(self, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("dishonesty_add", actor)
        _require_text(reason, "reason")
        if self.dishonest:
            raise InvalidTransition("already on the dishonesty list")
        self._dishonesty_listed(reason=reason, **self._meta(actor, at))

    def lift_dishonesty(self, reason: str, actor: Actor, at: datetime) -> None:
        self._permit("dishonesty_lift", actor)
        _require_text(reason, "reason")
        if not self.dishonest:
            raise InvalidTransition("not on the dishonesty list")
        self._dishonesty_lifted(reason=reason, **self._meta(actor, at))

    def amend(
        self,
        changes: dict[str, Any],
        actor: Actor,
        at: datetime,
        *,
        id_number_changed: bool = False,
        personal_data: str | None = None,
    ) -> None:
        """Amend anything but the ID number; a new employer or project goes back to review."""
        self._permit("amend", actor)
        if id_number_changed:
            raise ImmutableField("the ID number cannot be amended")
        if self.status in TERMINAL or self.status is Status.SUSPENDED:
            raise InvalidTransition(f"a {self.status.value} registration cannot be amended")
        unknown = set(changes) - AMENDABLE
        if unknown:
            raise InvalidInput(f"cannot amend {', '.join(sorted(unknown))}")
        if not changes and personal_data is None:
            raise InvalidInput("nothing to amend")
        merged = {**self.facts_data, **{k: v for k, v in changes.items() if k != "personal_data"}}
        ApplicationFacts.from_dict(merged)  # validates the amended whole
        new_projects = len(merged.get("projects", [])) > len(self.facts_data.get("projects", []))
        employer_changed = merged.get("employer") != self.facts_data.get("employer")
        if self.status in IN_REVIEW and self.number is None and (new_projects or employer_changed):
            raise InvalidTransition("employer and projects cannot change while under review")
        if self.number is not None and employer_changed:
            # An approved engineer cannot move themselves: the move becomes a request that
            # the new employer endorses and the registrar approves; the rest is amended now.
            new_employer = merged.get("employer")
            if not new_employer:
                raise InvalidInput("an approved registration must name an employer")
            self._check_employer_change(new_employer)
            merged["employer"] = self.facts_data.get("employer")
            rest = {k: v for k, v in changes.items() if k != "employer"}
            if rest or personal_data is not None:
                self._amend_now(merged, sorted(rest), personal_data, new_projects, actor, at)
            self._employer_change_requested(
                employer=dict(new_employer), note="", **self._meta(actor, at)
            )
            return
        self._amend_now(merged, sorted(changes), personal_data, new_projects, actor, at)

    def _amend_now(
        self,
        merged: dict[str, Any],
        changed: list[str],
        personal_data: str | None,
        new_projects: bool,
        actor: Actor,
        at: datetime,
    ) -> None:
        rereview = self.number is not None and new_projects and self.pending_employer is None
        self._amended(
            facts=merged,
            changed=changed,
            personal_data=personal_data,
            rereview=rereview,
            **self._meta(actor, at),
        )

    # ------------------------------------------------------ employer change (挂证 guard)

    def request_employer_change(
        self, employer: dict[str, Any], actor: Actor, at: datetime, note: str = ""
    ) -> None:
        """An approved engineer asks to move to `employer` ({"id", "name"})."""
        self._permit("request_employer_change", actor)
        if self.status in TERMINAL or self.status is Status.SUSPENDED:
            raise InvalidTransition(f"a {self.status.value} registration cannot change employer")
        if self.number is None:
            raise InvalidTransition(
                "only an approved registration changes employer by request; amend the application"
            )
        if not isinstance(employer, dict):
            raise InvalidInput("employer must be an object")
        new_employer = Employer.from_dict(employer).as_dict()
        if new_employer["id"] == self.employer_id:
            raise InvalidInput("the registration is already bound to this employer")
        self._check_employer_change(new_employer)
        if len(note) > 2000:
            raise InvalidInput("note is longer than 2000 characters")
        self._employer_change_requested(employer=new_employer, note=note, **self._meta(actor, at))

    def _check_employer_change(self, employer: dict[str, Any]) -> None:
        if self.pending_employer is not None:
            raise InvalidTransition(
                f"an employer change to {self.pending_employer_id!r} is already pending"
            )
        if self.status not in {Status.ACTIVE, Status.UNDER_REVIEW} or (
            self.status is Status.UNDER_REVIEW and self.number is None
        ):
            raise InvalidTransition(
                f"cannot request an employer change: registration is {self.status.value}"
            )

    def endorse_employer_change(self, actor: Actor, at: datetime, note: str = "") -> None:
        """The employer the engineer claims confirms the employment."""
        self._require_pending()
        check(
            "employer_change_endorse",
            actor,
            owner_id=self.owner_id,
            employer_id=self.pending_employer_id,
        )
        if self.pending_endorsed:
            raise InvalidTransition("the employer change is already endorsed")
        self._employer_change_endorsed(note=note, **self._meta(actor, at))

    def decline_employer_change(self, reason: str, actor: Actor, at: datetime) -> None:
        """The claimed employer (or the registrar) refuses; the old binding stays."""
        self._require_pending()
        check(
            "employer_change_decline",
            actor,
            owner_id=self.owner_id,
            employer_id=self.pending_employer_id,
        )
        _require_text(reason, "reason")
        self._employer_change_declined(reason=reason, **self._meta(actor, at))

    def approve_employer_change(self, actor: Actor, at: datetime) -> None:
        """The registrar approves an endorsed move: the registration is bound to the new
        employer from now on."""
        self._permit("employer_change_approve", actor)
        self._require_pending()
        if not self.pending_endorsed:
            raise InvalidTransition("the new employer has not endorsed the employer change")
        self._require_status({Status.UNDER_REVIEW, Status.FURTHER_VERIFICATION}, "approve")
        self._employer_change_approved(**self._meta(actor, at))

    def _require_pending(self) -> None:
        if self.pending_employer is None:
            raise InvalidTransition("no employer change is pending")

    def issue_certificate(
        self, serial: str, kid: str, expires_at: datetime, actor: Actor, at: datetime
    ) -> None:
        """Record a signed credential; a new one supersedes the earlier serial."""
        self._permit("issue_certificate", actor)
        if not self.permitted:
            raise InvalidTransition("a certificate is only issued for an active registration")
        self._require_not_lapsed(at, "issue a certificate")
        if any(c["serial"] == serial for c in self.certificates):
            raise InvalidInput("certificate serial already used")
        supersedes = self.certificates[-1]["serial"] if self.certificates else None
        self._certificate_issued(
            serial=serial,
            kid=kid,
            expires_at=require_utc(expires_at),
            supersedes=supersedes,
            **self._meta(actor, at),
        )

    def record_erasure(self, actor: Actor, at: datetime) -> None:
        """Marks that the subject's key was destroyed; the ciphertext in the log is now noise."""
        self._permit("erase", actor)
        if self.personal_data_erased:
            raise InvalidTransition("personal data already erased")
        self._personal_data_erased(**self._meta(actor, at))

    # ----------------------------------------------------------- applying events

    @event(EvidenceAttached)
    def _evidence_attached(
        self, evidence: EvidenceRef, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.evidence.append(evidence.as_dict())
        self.last_at = at

    @event(Submitted)
    def _submitted(self, actor_id: str, actor_role: str, at: datetime) -> None:
        self.submitted_at = at
        self._move(at, Status.SUBMITTED, "submitted")

    @event(EmployerEndorsed)
    def _endorsed(self, note: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self.endorsed = True
        self._move(at, Status.EMPLOYER_ENDORSED, "employer.endorsed")

    @event(EmployerDeclined)
    def _declined(self, reason: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self.return_reasons = ["employer.declined"]
        self.endorsed = False
        self._move(at, Status.RETURNED_FOR_SUPPLEMENT, "employer.declined")

    @event(ReviewStarted)
    def _review_started(self, actor_id: str, actor_role: str, at: datetime) -> None:
        self._move(at, Status.UNDER_REVIEW, "review.started")

    @event(ExpertReviewScored)
    def _scored(
        self, score: int, method: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.expert_score = score
        self.last_at = at

    @event(ReturnedForSupplement)
    def _returned(
        self, reason_codes: list[str], note: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.return_reasons = list(reason_codes)
        self._move(at, Status.RETURNED_FOR_SUPPLEMENT, reason_codes[0])

    @event(SupplementProvided)
    def _supplemented(
        self, facts: dict[str, Any], to_status: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        if facts.get("employer") != self.facts_data.get("employer"):
            self.endorsed = False
        self.facts_data = facts
        self.submitted_at = at
        self.return_reasons = []
        self._move(at, Status(to_status), "supplement.provided")

    @event(FurtherVerificationRequested)
    def _further_verification(
        self, reason: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self._move(at, Status.FURTHER_VERIFICATION, "further_verification")

    @event(Approved)
    def _approved(
        self, number: str, valid_until: date, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.number = number
        self.approved_at = at
        self._move(at, Status.ACTIVE, "approved", valid_until)

    @event(AmendmentApproved)
    def _amendment_approved(self, actor_id: str, actor_role: str, at: datetime) -> None:
        self._move(at, Status.ACTIVE, "amendment.approved")

    @event(Rejected)
    def _rejected(self, reason: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self._move(at, Status.REJECTED, "rejected")

    @event(Withdrawn)
    def _withdrawn(self, reason: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self._move(at, Status.WITHDRAWN, "withdrawn")

    @event(ContinuingEducationRecorded)
    def _ce_recorded(
        self,
        hours: float,
        provider: str,
        course: str,
        valid_until: date | None,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.ce_records.append((at, hours))
        if valid_until is not None and self.valid_until not in {None, valid_until}:
            self._move(at, self.status, "ce.renewed", valid_until)
        self.last_at = at

    @event(AnnualAssessmentRecorded)
    def _assessed(
        self, year: int, passed: bool, note: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.assessments[year] = passed
        self.last_at = at

    @event(CeComplianceReviewed)
    def _ce_reviewed(
        self,
        cycle_end: date,
        passed: bool,
        valid_until: date,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.ce_reviews.add(cycle_end)
        reason = "ce.review_passed" if passed else "ce.review_failed"
        self._move(at, self.status, reason, valid_until)

    @event(Suspended)
    def _suspended(
        self, reason_code: str, reason: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self._move(at, Status.SUSPENDED, reason_code)

    @event(Reinstated)
    def _reinstated(
        self, reason: str, valid_until: date | None, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.last_reinstated_at = at
        self._move(at, Status.ACTIVE, "reinstated", KEEP if valid_until is None else valid_until)

    @event(Revoked)
    def _revoked(
        self, reason_code: str, reason: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self._move(at, Status.REVOKED, reason_code)

    @event(DishonestyListed)
    def _dishonesty_listed(self, reason: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self.dishonest = True
        self.dishonest_listed_at.append(at)
        self.last_at = at

    @event(DishonestyLifted)
    def _dishonesty_lifted(self, reason: str, actor_id: str, actor_role: str, at: datetime) -> None:
        self.dishonest = False
        self.last_at = at

    @event(Amended)
    def _amended(
        self,
        facts: dict[str, Any],
        changed: list[str],
        personal_data: str | None,
        rereview: bool,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        if facts.get("employer") != self.facts_data.get("employer"):
            self.endorsed = False
        self.facts_data = facts
        if personal_data is not None:
            self.personal_data = personal_data
        if rereview:
            self.submitted_at = at
            self._move(at, Status.UNDER_REVIEW, "amendment.rereview")
        self.last_at = at

    @event(CertificateIssued)
    def _certificate_issued(
        self,
        serial: str,
        kid: str,
        expires_at: datetime,
        supersedes: str | None,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.certificates.append({"serial": serial, "kid": kid, "expires_at": expires_at})
        self.last_at = at

    @event(PersonalDataErased)
    def _personal_data_erased(self, actor_id: str, actor_role: str, at: datetime) -> None:
        self.personal_data_erased = True
        self.evidence = []  # the files were encrypted under the destroyed key: list none
        self.last_at = at

    @event(EmployerChangeRequested)
    def _employer_change_requested(
        self, employer: dict[str, Any], note: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.pending_employer = dict(employer)
        self.pending_endorsed = False
        self.submitted_at = at
        self._move(at, Status.UNDER_REVIEW, "employer_change.requested")

    @event(EmployerChangeEndorsed)
    def _employer_change_endorsed(
        self, note: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.pending_endorsed = True
        self._move(at, self.status, "employer_change.endorsed")

    @event(EmployerChangeDeclined)
    def _employer_change_declined(
        self, reason: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.pending_employer = None
        self.pending_endorsed = False
        self._move(at, Status.ACTIVE, "employer_change.declined")

    @event(EmployerChangeApproved)
    def _employer_change_approved(self, actor_id: str, actor_role: str, at: datetime) -> None:
        self.facts_data = {**self.facts_data, "employer": self.pending_employer}
        self.pending_employer = None
        self.pending_endorsed = False
        self.endorsed = True
        self._move(at, Status.ACTIVE, "employer_change.approved")

    # ----------------------------------------------------------------- helpers

    def _move(
        self,
        at: datetime,
        status: Status,
        reason_code: str,
        valid_until: date | _Keep = KEEP,
    ) -> None:
        """A new status point; the projector's fold (`projections.fold`) makes the same move."""
        numbered = self.number is not None
        lapsed_before = lapsed(self.status, numbered, self._expiry(self.valid_until), self._day(at))
        if not isinstance(valid_until, _Keep):
            self.valid_until = valid_until
        self.status = status
        self.last_at = at
        run_start = self.timeline[-1].run_start
        if numbered:
            run_start = run_start_after_move(
                run_start,
                lapsed_before=lapsed_before,
                practising_now=in_force(status, numbered),
                at=at,
            )
        self.timeline.append(
            StatusPoint(at, status, self.valid_until, reason_code, numbered, run_start)
        )

    def _expiry(self, valid_until: date | None) -> date | None:
        """The date after which the registration lapses by time: its `valid_until` where
        the scheme's validity lapses (rule A); none under a CE compliance cycle (rule B),
        whose `valid_until` is the next review deadline."""
        return valid_until if self.policy.validity_lapses else None

    def _meta(self, actor: Actor, at: datetime) -> dict[str, Any]:
        moment = require_utc(at)
        if moment < self.last_at:
            raise InvalidInput(
                f"event time {moment.isoformat()} is before the registration's last event "
                f"({self.last_at.isoformat()})"
            )
        return {"actor_id": actor.id, "actor_role": actor.role.value, "at": moment}

    def _permit(self, operation: str, actor: Actor) -> None:
        """The permission table's verdict for `actor` on this registration."""
        check(operation, actor, owner_id=self.owner_id, employer_id=self.employer_id)

    def _require_status(self, allowed: Iterable[Status], action: str) -> None:
        allowed = set(allowed)
        if self.status not in allowed:
            names = ", ".join(sorted(s.value for s in allowed))
            raise InvalidTransition(
                f"cannot {action}: registration is {self.status.value} (needs {names})"
            )

    def _require_not_lapsed(self, at: datetime, action: str) -> None:
        moment = require_utc(at)
        if self.point_at(moment) is not None and self.status_at(moment) is Status.EXPIRED:
            raise InvalidTransition(
                f"cannot {action}: the registration lapsed on {self.valid_until}"
            )

    def _require_eligible(
        self, at: datetime, history: ApplicantHistory, materials: Materials | None = None
    ) -> None:
        unmet = check_eligibility(
            self.policy, self.facts, self._day(require_utc(at)), history, materials
        )
        if unmet:
            raise Ineligible(unmet)


def _require_text(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required")
    if len(value) > 2000:
        raise InvalidInput(f"{name} is longer than 2000 characters")
