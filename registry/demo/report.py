"""What the demo reports: counts by scheme and status, and one example per interesting fate.

The examples are registrations that were active once and are something else now, each with
a date to try `registry status NUMBER --as-of DATE` on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.registration import Registration
from domain.status import Status
from registry.application.service import RegistryApp
from registry.demo.cast import DemoEngineer


@dataclass(frozen=True)
class DemoExample:
    category: str
    number: str
    registration_id: str
    scheme: str
    masked_name: str
    story: str
    active_on: str
    status_now: str
    reason_now: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class DemoResult:
    seed: int
    engineers: int
    registrations: int
    start: datetime
    end: datetime
    events: int
    elapsed_seconds: float
    counts: dict[str, dict[str, int]]
    examples: list[DemoExample]
    refusals: Counter[str]
    rule_events: Counter[str]
    stories: Counter[str]
    store: str

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "engineers": self.engineers,
            "registrations": self.registrations,
            "store": self.store,
            "simulated_from": self.start.isoformat(),
            "simulated_until": self.end.isoformat(),
            "events": self.events,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "counts": self.counts,
            "refusals": dict(sorted(self.refusals.items())),
            "rule_events": dict(sorted(self.rule_events.items())),
            "stories": dict(sorted(self.stories.items())),
            "examples": [e.as_dict() for e in self.examples],
        }


def build_result(
    app: RegistryApp,
    cast: list[DemoEngineer],
    *,
    seed: int,
    start: datetime,
    end: datetime,
    events: int,
    elapsed: float,
    refusals: Counter[str],
    rule_events: Counter[str],
) -> DemoResult:
    """Counts by scheme and status at `end`, and the first example of each category."""
    counts: dict[str, dict[str, int]] = {}
    registrations = 0
    examples: dict[str, DemoExample] = {}
    for e in cast:
        for rid in e.registrations:
            reg = app.get(rid)
            registrations += 1
            status = reg.status_at(end).value
            by_scheme = counts.setdefault(reg.scheme, {})
            by_scheme[status] = by_scheme.get(status, 0) + 1
            example = _example(app, reg, end)
            if example is not None and example.category not in examples:
                examples[example.category] = example
    return DemoResult(
        seed=seed,
        engineers=len(cast),
        registrations=registrations,
        start=start,
        end=end,
        events=events,
        elapsed_seconds=elapsed,
        counts={s: dict(sorted(c.items())) for s, c in sorted(counts.items())},
        examples=[examples[k] for k in EXAMPLE_ORDER if k in examples],
        refusals=refusals,
        rule_events=rule_events,
        stories=Counter(e.kind.name for e in cast),
        store=app.settings.describe_store(),
    )


def _example(app: RegistryApp, reg: Registration, end: datetime) -> DemoExample | None:
    if reg.number is None or reg.approved_at is None:
        return None
    now = reg.status_at(end)
    reasons = [p.reason_code for p in reg.timeline]
    last = reg.timeline[-1]
    category: str | None = None
    if now is Status.SUSPENDED and last.reason_code == "ce.missing_consecutive_years":
        category = "suspended_ce"
    elif now is Status.SUSPENDED and last.reason_code == "assessment.failed":
        category = "suspended_assessment"
    elif now is Status.EXPIRED:
        category = "expired"
    elif now is Status.REVOKED and reg.dishonest:
        category = "revoked_dishonest"
    elif now is Status.ACTIVE and "reinstated" in reasons:
        category = "reinstated"
    elif now is Status.ACTIVE and {"amendment.approved", "employer_change.approved"} & set(reasons):
        category = "amended"
    elif reg.personal_data_erased:
        category = "erased"
    elif now is Status.ACTIVE and "ce.review_passed" in reasons:
        category = "iet_ce_renewed"
    elif now is Status.ACTIVE and reg.scheme == "SIE" and reg.title_eligible_at(end):
        category = "title_eligible"
    elif now is Status.ACTIVE and reg.scheme == "IET":
        category = "iet_active"
    if category is None:
        return None
    active_on = _middle_of_first_active_span(reg)
    if active_on is None:
        return None
    masked = app.vault.masked_name(reg.subject_id, reg.personal_data) or "(erased)"
    return DemoExample(
        category=category,
        number=reg.number,
        registration_id=str(reg.id),
        scheme=reg.scheme,
        masked_name=masked,
        story=describe_story(reg, end),
        active_on=active_on.isoformat(),
        status_now=now.value,
        reason_now=_reason_now(reg, now),
    )


EXAMPLE_ORDER = (
    "suspended_ce",
    "suspended_assessment",
    "expired",
    "revoked_dishonest",
    "reinstated",
    "amended",
    "erased",
    "iet_ce_renewed",
    "title_eligible",
    "iet_active",
)


def _reason_now(reg: Registration, now: Status) -> str:
    if now is Status.EXPIRED:
        return "ce.missing" if reg.policy.ce_renews_validity else "validity.ended"
    return reg.timeline[-1].reason_code


def _middle_of_first_active_span(reg: Registration) -> date | None:
    """A date well inside the registration's first active period (for --as-of examples)."""
    points = reg.timeline
    for i, point in enumerate(points):
        if point.status is not Status.ACTIVE:
            continue
        begin = point.at
        end_candidates = [p.at for p in points[i + 1 :] if p.status is not Status.ACTIVE]
        end = end_candidates[0] if end_candidates else None
        if point.valid_until is not None:
            lapse = reg.business_time.start_of_day(point.valid_until)
            end = min(end, lapse) if end else lapse
        if end is None:
            end = begin + timedelta(days=60)
        middle = begin + (end - begin) / 2
        candidate = reg.business_time.day(middle)  # a local calendar day, its local bounds
        first = reg.business_time.start_of_day(candidate)
        last = reg.business_time.end_of_day(candidate)
        if (
            first > begin
            and reg.status_at(first) is Status.ACTIVE
            and reg.status_at(last) is Status.ACTIVE
        ):
            return candidate
    return None


_STORY_WORDS = {
    Status.ACTIVE: "active",
    Status.SUSPENDED: "suspended",
    Status.REVOKED: "revoked",
    Status.UNDER_REVIEW: "re-review",
}


def describe_story(reg: Registration, now: datetime) -> str:
    """`SIE-44-2024-0000123: active 2024-03-01, suspended 2026-06-02 (ce.missing_...)`."""
    parts: list[str] = []
    previous: Status | None = None
    day = reg.business_time.day  # dates a person reads are local calendar dates
    for point in reg.timeline:
        renewal = point.reason_code in {"ce.review_passed", "ce.review_failed"}
        if point.status is Status.ACTIVE and previous is Status.ACTIVE and not renewal:
            continue
        if point.reason_code == "approved":
            parts.append(f"active {day(point.at)}")
        elif point.reason_code == "reinstated":
            parts.append(f"reinstated {day(point.at)}")
        elif point.reason_code == "amendment.rereview":
            parts.append(f"re-review {day(point.at)} (amendment)")
        elif point.reason_code in {"ce.review_passed", "ce.review_failed"}:
            outcome = "passed" if point.reason_code == "ce.review_passed" else "failed"
            parts.append(
                f"CE cycle review {outcome} {day(point.at)} (valid until {point.valid_until})"
            )
        elif point.reason_code == "amendment.approved":
            parts.append(f"re-approved {day(point.at)}")
        elif point.reason_code == "employer_change.approved":
            parts.append(f"employer change approved {day(point.at)}")
        elif reg.approved_at is not None and point.at >= reg.approved_at:
            word = _STORY_WORDS.get(point.status, point.status.value)
            parts.append(f"{word} {day(point.at)} ({point.reason_code})")
        previous = point.status
    if reg.status_at(now) is Status.EXPIRED and reg.valid_until is not None:
        parts.append(f"expired {reg.valid_until + timedelta(days=1)} (no CE renewal)")
    if reg.dishonest:
        parts.append("on the dishonesty list")
    if reg.personal_data_erased:
        parts.append("personal data erased")
    return f"{reg.number}: " + ", ".join(parts)
