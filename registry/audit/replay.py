"""Independent replay: every registration's standing on given dates, from the export alone.

Why a second, separate fold: the live read models (`projections/`) and this module both turn
the same events into statuses. They share no code — this file imports only the standard
library: no `eventsourcing`, no `domain`, no `projections`, no database — and it reads the raw
event JSON of the export, not typed event objects. A bug in either fold therefore shows up as
a difference when `registry audit replay --compare` puts them side by side.

The rules folded here are the ones SPEC §4 states and docs/AUDIT.md lists, event by event
(topic ``domain.registration:Registration.<Name>``); events of other aggregates are skipped.
Memory: one small record per registration plus one standing per requested date — the timeline
itself is never kept, so a history of millions of events replays in a single pass.

The published lifecycle is enforced too (SPEC §12 "Integrity"): each event must be one the
registry could have recorded from the registration's state at that point (`_LEGAL`). An event
that could not — a revoked registration "reinstated", a dishonesty-listed engineer reinstated,
a second approval — is a `Violation`, reported with its leaf index; it is not folded, so the
standings shown are the ones the rules allow, and the CLI exits non-zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REGISTRATION_TOPIC = "domain.registration:Registration."
REREVIEW = frozenset({"under_review", "returned_for_supplement", "further_verification"})
IN_REVIEW = frozenset({"submitted", "employer_endorsed", "under_review", "further_verification"})
TERMINAL = frozenset({"rejected", "withdrawn", "revoked"})
LAPSED = "validity.lapsed"
DEFAULT_TIMEZONE = "Asia/Shanghai"
"""The registry's default zone (SPEC §12 "Time"), restated here: this module imports no domain."""

# Event name -> (new status or None to keep, fixed reason code or None to take from the event).
_MOVES: dict[str, tuple[str | None, str | None]] = {
    "Submitted": ("submitted", "submitted"),
    "EmployerEndorsed": ("employer_endorsed", "employer.endorsed"),
    "EmployerDeclined": ("returned_for_supplement", "employer.declined"),
    "ReviewStarted": ("under_review", "review.started"),
    "ReturnedForSupplement": ("returned_for_supplement", None),
    "SupplementProvided": ("under_review", "supplement.provided"),
    "FurtherVerificationRequested": ("further_verification", "further_verification"),
    "Approved": ("active", "approved"),
    "AmendmentApproved": ("active", "amendment.approved"),
    "Rejected": ("rejected", "rejected"),
    "Withdrawn": ("withdrawn", "withdrawn"),
    "Suspended": ("suspended", None),
    "Reinstated": ("active", "reinstated"),
    "Revoked": ("revoked", None),
    "EmployerChangeRequested": ("under_review", "employer_change.requested"),
    "EmployerChangeEndorsed": (None, "employer_change.endorsed"),
    "EmployerChangeDeclined": ("active", "employer_change.declined"),
    "EmployerChangeApproved": ("active", "employer_change.approved"),
}
_NO_STATUS_CHANGE = frozenset(
    {
        "EvidenceAttached",
        "ExpertReviewScored",
        "AnnualAssessmentRecorded",
        "DishonestyListed",
        "DishonestyLifted",
        "CertificateIssued",
        "PersonalDataErased",
    }
)


_OTHER_RULES = frozenset({"ContinuingEducationRecorded", "CeComplianceReviewed", "Amended"})


class ReplayError(ValueError):
    """The export does not fold: bad JSON, a version gap, or an unknown registration event."""


@dataclass(frozen=True)
class Violation:
    """An event the published lifecycle does not allow from the state it was recorded in."""

    leaf_index: int
    notification_id: int | None
    registration_id: str
    number: str | None
    event: str
    from_status: str
    rule: str

    def __str__(self) -> str:
        label = self.number or self.registration_id
        where = f" (notification {self.notification_id})" if self.notification_id else ""
        return (
            f"leaf {self.leaf_index}{where}: {label}: {self.event} is illegal from "
            f"{self.from_status} ({self.rule})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "notification_id": self.notification_id,
            "registration_id": self.registration_id,
            "number": self.number,
            "event": self.event,
            "from_status": self.from_status,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Point:
    """A registration's lifecycle from ``at`` on: what `Registration.status_at` walks."""

    at: datetime
    status: str
    reason: str
    valid_until: date | None
    numbered: bool
    lapses: bool = True
    """The validity lapses by time (rule A). Under a CE compliance cycle (rule B, a policy
    with ``ce_compliance_cycle_years``) ``valid_until`` is the next review deadline and
    nothing lapses: a failed review suspends."""


@dataclass(frozen=True)
class Standing:
    """The standing on one local day (through its last instant in the registry's zone), as a
    tender officer sees it."""

    status: str
    """Public status: not_registered until first approval, then active/expired/suspended/…"""
    lifecycle_status: str
    reason_code: str | None
    since: datetime | None
    valid_until: date | None

    @property
    def permitted_to_practise(self) -> bool:
        return self.status == "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lifecycle_status": self.lifecycle_status,
            "permitted_to_practise": self.permitted_to_practise,
            "reason_code": self.reason_code,
            "since": self.since.isoformat() if self.since else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


def zone_named(name: str) -> tzinfo:
    """An IANA zone (standard library `zoneinfo`), or a `ReplayError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReplayError(f"unknown time zone {name!r}") from None


def local_day(at: datetime, zone: tzinfo) -> date:
    """The calendar date of the instant ``at`` in ``zone``: business dates are local."""
    return at.astimezone(zone).date()


def standing_on(point: Point, on: date, zone: tzinfo | None = None) -> Standing:
    """Expiry is a function of time: a practising registration past its validity has lapsed
    at the first instant of the next local day in ``zone`` (default: the registry's)."""
    zone = zone if zone is not None else ZoneInfo(DEFAULT_TIMEZONE)
    practising = point.status == "active" or (point.numbered and point.status in REREVIEW)
    lapsed = (
        practising and point.lapses and point.valid_until is not None and on > point.valid_until
    )
    lifecycle = "expired" if lapsed and point.status == "active" else point.status
    if not point.numbered:
        return Standing("not_registered", lifecycle, None, None, None)
    public = "expired" if lapsed else "active" if practising else point.status
    if lapsed and point.valid_until is not None:
        next_day = point.valid_until + timedelta(days=1)
        lapse = datetime.combine(next_day, time.min, tzinfo=zone).astimezone(UTC)
        return Standing(public, lifecycle, LAPSED, lapse, point.valid_until)
    return Standing(public, lifecycle, point.reason, point.at, point.valid_until)


@dataclass
class Registration:
    """What the fold keeps per registration: the latest point and one point per date asked."""

    registration_id: str
    scheme: str
    version: int
    point: Point
    number: str | None = None
    dishonest: bool = False
    employer_change: bool | None = None
    """None: no employer change pending; False: requested; True: endorsed by the new employer."""
    on: dict[date, Point] = field(default_factory=dict)
    zone: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))

    def standing(self, day: date) -> Standing | None:
        point = self.on.get(day)
        return None if point is None else standing_on(point, day, self.zone)


@dataclass
class ReplayResult:
    dates: tuple[date, ...]
    registrations: dict[str, Registration]
    events: int = 0
    registration_events: int = 0
    violations: list[Violation] = field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE
    """The zone whose calendar days the dates are (the registry's)."""


def _lapsed(point: Point, at: datetime, zone: tzinfo) -> bool:
    in_force = point.status == "active" or point.status in REREVIEW
    return (
        in_force
        and point.lapses
        and point.valid_until is not None
        and local_day(at, zone) > point.valid_until
    )


def _lapses(policy: Any) -> bool:
    """Whether a registration under ``policy`` (the `Drafted` event's copy) lapses by time:
    only where the scheme has no CE compliance cycle (``SchemePolicy.validity_lapses``)."""
    return not (isinstance(policy, dict) and policy.get("ce_compliance_cycle_years"))


def _legal(name: str, reg: Registration, state: dict[str, Any], at: datetime) -> str | None:
    """None when ``name`` may follow the registration's state; else the rule it breaks.

    The command preconditions of SPEC §4 as the registry enforces them, stated here again
    (not imported) so a bug in the domain cannot hide in both places at once.
    """
    status, numbered = reg.point.status, reg.number is not None

    def needs(allowed: frozenset[str] | set[str], rule: str) -> str | None:
        return None if status in allowed else rule

    if name == "EvidenceAttached":
        return needs({"draft", "returned_for_supplement"}, "evidence only in draft or on return")
    if name == "Submitted":
        return needs({"draft"}, "only a draft is submitted")
    if name in {"EmployerEndorsed", "EmployerDeclined"}:
        return needs({"submitted"}, "the employer answers a submitted application")
    if name == "ReviewStarted":
        return needs({"submitted", "employer_endorsed"}, "review starts after submission")
    if name in {"ExpertReviewScored", "ReturnedForSupplement"}:
        return needs({"under_review", "further_verification"}, "only during review")
    if name == "SupplementProvided":
        if state.get("to_status") not in (None, "submitted", "under_review"):
            return f"a supplement goes back to submitted or under_review, not {state['to_status']}"
        return needs({"returned_for_supplement"}, "only a returned application is supplemented")
    if name == "FurtherVerificationRequested":
        return needs({"under_review"}, "only during review")
    if name == "Approved":
        if numbered:
            return "a registration is approved (and numbered) once"
        return needs({"under_review", "further_verification"}, "approval ends a review")
    if name == "AmendmentApproved":
        if not numbered:
            return "only an approved registration has an amendment approved"
        return needs({"under_review", "further_verification"}, "approval ends a re-review")
    if name in {"Rejected", "Withdrawn"}:
        if numbered:
            return "an approved registration is suspended or revoked, never rejected or withdrawn"
        allowed = IN_REVIEW | {"returned_for_supplement"}
        return needs(
            allowed | {"draft"} if name == "Withdrawn" else allowed, "only before approval"
        )
    if name == "Suspended":
        return needs({"active"}, "only an active registration is suspended")
    if name == "Reinstated":
        if not numbered:
            return "only an approved registration is reinstated"
        if status == "revoked":
            return "a revoked registration is never reinstated"
        if reg.dishonest:
            return "an engineer on the dishonesty list is not reinstated"
        if status == "suspended" or _lapsed(reg.point, at, reg.zone):
            return None
        return "only a suspended or lapsed registration is reinstated"
    if name == "Revoked":
        if not numbered:
            return "only an approved registration is revoked (an application is rejected)"
        return "already revoked" if status == "revoked" else None
    if name in {"ContinuingEducationRecorded", "AnnualAssessmentRecorded"}:
        if not numbered or status in TERMINAL:
            return "only for an approved registration that is not rejected, withdrawn or revoked"
        return None
    if name == "CeComplianceReviewed":
        return needs({"active"}, "the CE cycle of an active registration is reviewed")
    if name == "Amended":
        if status in TERMINAL or status == "suspended":
            return f"a {status} registration cannot be amended"
        if state.get("rereview") and not numbered:
            return "only an approved registration goes back to re-review"
        return None
    if name == "EmployerChangeRequested":
        if not numbered:
            return "only an approved registration changes employer by request"
        if reg.employer_change is not None:
            return "an employer change is already pending"
        return needs({"active", "under_review"}, "an in-force registration changes employer")
    if name in {"EmployerChangeEndorsed", "EmployerChangeDeclined", "EmployerChangeApproved"}:
        if reg.employer_change is None:
            return "no employer change is pending"
        if name == "EmployerChangeEndorsed" and reg.employer_change:
            return "the employer change is already endorsed"
        if name == "EmployerChangeApproved":
            if not reg.employer_change:
                return "the new employer has not endorsed the employer change"
            return needs({"under_review", "further_verification"}, "approval ends a re-review")
        return None
    if name == "CertificateIssued":
        if not numbered or not (status == "active" or status in REREVIEW):
            return "a certificate is issued only for a registration permitted to practise"
        return None
    if name == "DishonestyListed":
        return "already on the dishonesty list" if reg.dishonest else None
    if name == "DishonestyLifted":
        return None if reg.dishonest else "not on the dishonesty list"
    return None


def _moment(value: Any) -> datetime:
    """eventsourcing's JSON transcoding of a datetime: {"_type_": "datetime_iso", "_data_": …}."""
    if isinstance(value, dict) and value.get("_type_") == "datetime_iso":
        value = value.get("_data_")
    if not isinstance(value, str):
        raise ReplayError(f"expected a timestamp, got {value!r}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ReplayError(f"timestamp {value!r} has no time zone")
    return moment.astimezone(UTC)


def _day(value: Any) -> date | None:
    """A stored business date: an ISO string (first release) or a transcoded ``date_iso``."""
    if isinstance(value, dict) and value.get("_type_") == "date_iso":
        value = value.get("_data_")
    return None if value is None else date.fromisoformat(str(value))


class Replayer:
    """Folds canonical events (export order) into `Registration` records."""

    def __init__(self, dates: Sequence[date], timezone: str = DEFAULT_TIMEZONE) -> None:
        self.dates = tuple(sorted(set(dates)))
        self.zone = zone_named(timezone)
        self.result = ReplayResult(self.dates, {}, timezone=timezone)

    def add_line(self, raw: bytes | str) -> None:
        try:
            line = json.loads(raw)
            event = line["event"]
            leaf = line.get("leaf_index", self.result.events)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReplayError(f"line {self.result.events}: not an export line ({exc})") from None
        self.add(event, leaf if isinstance(leaf, int) else self.result.events)

    def add(self, event: dict[str, Any], leaf_index: int | None = None) -> None:
        leaf = self.result.events if leaf_index is None else leaf_index
        self.result.events += 1
        topic = str(event.get("topic", ""))
        if not topic.startswith(REGISTRATION_TOPIC):
            return
        self.result.registration_events += 1
        name = topic[len(REGISTRATION_TOPIC) :]
        rid = str(event["originator_id"])
        version = int(event["originator_version"])
        state: dict[str, Any] = event["state"]
        at = _moment(state["at"])
        registrations = self.result.registrations
        if name == "Drafted":
            if rid in registrations or version != 1:
                raise ReplayError(f"registration {rid} drafted twice or not at version 1")
            reg = Registration(
                rid,
                str(state["scheme"]),
                1,
                Point(at, "draft", "drafted", None, False, _lapses(state.get("policy"))),
                zone=self.zone,
            )
            registrations[rid] = reg
            self._record(reg)
            return
        reg_or_none = registrations.get(rid)
        if reg_or_none is None:
            raise ReplayError(f"{name} for registration {rid}, which was never drafted")
        reg = reg_or_none
        if version != reg.version + 1:
            raise ReplayError(f"registration {rid}: version {version} follows {reg.version}")
        reg.version = version
        if name not in _MOVES and name not in _NO_STATUS_CHANGE and name not in _OTHER_RULES:
            raise ReplayError(f"no replay rule for Registration.{name}")
        rule = _legal(name, reg, state, at)
        if rule is not None:
            nid = event.get("notification_id")
            self.result.violations.append(
                Violation(
                    leaf,
                    nid if isinstance(nid, int) else None,
                    rid,
                    reg.number,
                    name,
                    reg.point.status,
                    rule,
                )
            )
            return  # not folded: the standing stays what the rules allow
        self._apply(reg, name, state, at)
        self._record(reg)

    def _apply(self, reg: Registration, name: str, state: dict[str, Any], at: datetime) -> None:
        current = reg.point
        if name == "EmployerChangeRequested":
            reg.employer_change = False
        elif name == "EmployerChangeEndorsed":
            reg.employer_change = True
        elif name in {"EmployerChangeDeclined", "EmployerChangeApproved"}:
            reg.employer_change = None
        if name in _MOVES:
            status, reason = _MOVES[name]
            valid_until = current.valid_until
            if name == "Approved":
                reg.number = str(state["number"])
                valid_until = _day(state["valid_until"])
            elif name == "Reinstated" and state.get("valid_until") is not None:
                valid_until = _day(state["valid_until"])
            elif name == "SupplementProvided" and state.get("to_status"):
                status = str(state["to_status"])  # back to the employer, or on to review
            if reason is None:
                codes = state.get("reason_codes")
                reason = str(codes[0]) if codes else str(state["reason_code"])
            reg.point = Point(
                at,
                status or current.status,
                reason,
                valid_until,
                reg.number is not None,
                current.lapses,
            )
        elif name == "ContinuingEducationRecorded":
            renewed = _day(state.get("valid_until"))
            if (
                renewed is not None
                and current.valid_until is not None
                and (renewed != current.valid_until)
            ):
                reg.point = Point(
                    at, current.status, "ce.renewed", renewed, current.numbered, current.lapses
                )
        elif name == "CeComplianceReviewed":
            reason = "ce.review_passed" if state["passed"] else "ce.review_failed"
            reg.point = Point(
                at,
                current.status,
                reason,
                _day(state["valid_until"]),
                current.numbered,
                current.lapses,
            )
        elif name == "Amended":
            if state.get("rereview"):
                reg.point = Point(
                    at,
                    "under_review",
                    "amendment.rereview",
                    current.valid_until,
                    current.numbered,
                    current.lapses,
                )
        elif name in _NO_STATUS_CHANGE:
            if name == "DishonestyListed":
                reg.dishonest = True
            elif name == "DishonestyLifted":
                reg.dishonest = False
        else:
            raise ReplayError(f"no replay rule for Registration.{name}")

    def _record(self, reg: Registration) -> None:
        """Remember the point in force at the end of each requested (local) day the event
        precedes."""
        day = local_day(reg.point.at, self.zone)
        for wanted in self.dates:
            if day <= wanted:
                reg.on[wanted] = reg.point


def replay(
    lines: Iterable[bytes | str],
    dates: Sequence[date],
    progress: Callable[[int], None] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> ReplayResult:
    """Fold the export's lines; standings are answered for ``dates`` only, each a calendar day
    in ``timezone`` (the registry's zone, an IANA name) through its last local instant."""
    replayer = Replayer(dates, timezone)
    count = 0
    for raw in lines:
        replayer.add_line(raw)
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(10_000)
    if progress is not None:
        progress(count % 10_000)
    return replayer.result
