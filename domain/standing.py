"""What a registration's recorded status means on a given day: expiry, public status, rule A.

Why here, once: the aggregate (`Registration.status_at`, `title_eligible_at`), the read models
(`projections`) and every page that shows a status answer "what is this registration on day
D?". They used to carry their own copies of these rules; now they all call these pure
functions. (The audit replay keeps a fold of its own on purpose: it is the independent check.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from domain.clock import DEFAULT_BUSINESS_TIME, BusinessTime, add_years
from domain.status import REREVIEW, Status

LAPSED_REASON = "validity.lapsed"
"""The reason shown for a registration whose validity ran out (no event records that)."""

BAD_RECORD = frozenset({Status.SUSPENDED, Status.REVOKED})
"""Statuses that, once reached, rule out the title route (rule A) for good."""

IN_FORCE = frozenset({Status.ACTIVE, *REREVIEW})
"""Lifecycle statuses of an approved registration that still practises."""

T = TypeVar("T")


def in_force(status: Status, numbered: bool) -> bool:
    """Approved and practising: active, or numbered and re-reviewed after an amendment."""
    return status is Status.ACTIVE or (numbered and status in REREVIEW)


def lapsed(status: Status, numbered: bool, valid_until: date | None, on: date) -> bool:
    """In force by its status, but `on` is after the last valid day: expired by time."""
    return in_force(status, numbered) and valid_until is not None and on > valid_until


@dataclass(frozen=True)
class Standing:
    """`lifecycle` is what `Registration.status_at` says; `public` is what the public sees
    (an amendment under re-review still practises, so it shows as active)."""

    lifecycle: Status
    public: Status
    lapsed: bool

    @property
    def permitted_to_practise(self) -> bool:
        return self.public is Status.ACTIVE


def standing(status: Status, numbered: bool, valid_until: date | None, on: date) -> Standing:
    """The standing on `on` of a registration whose last recorded status is `status`."""
    if lapsed(status, numbered, valid_until, on):
        return Standing(Status.EXPIRED, Status.EXPIRED, True)
    public = Status.ACTIVE if in_force(status, numbered) else status
    return Standing(status, public, False)


def standing_note(status: Status, numbered: bool, is_lapsed: bool) -> str | None:
    """The explanation shown beside a status that is not what it seems."""
    if numbered and status in REREVIEW:
        if status is Status.RETURNED_FOR_SUPPLEMENT:
            return "amendment returned for supplement; registration remains in force"
        return "amendment under review; registration remains in force"
    if is_lapsed:
        return "continuing-education registration lapsed; reinstatement required"
    return None


def end_of_day(on: date, business: BusinessTime = DEFAULT_BUSINESS_TIME) -> datetime:
    """The last instant of the local day `on`: "as of the tender date" includes that day."""
    return business.end_of_day(on)


def lapse_moment(valid_until: date, business: BusinessTime = DEFAULT_BUSINESS_TIME) -> datetime:
    """When a registration valid until `valid_until` lapses: the next local day, 00:00."""
    return business.start_of_day(valid_until + timedelta(days=1))


def run_start_after_move(
    run_start: T | None, *, lapsed_before: bool, practising_now: bool, at: T
) -> T | None:
    """Rule A's unbroken run of registration across one status move of an approved
    registration. A lapse is judged against the validity in force *before* the move, so a
    reinstatement after expiry starts a new run while a timely renewal does not."""
    if not practising_now:
        return None
    if run_start is None or lapsed_before:
        return at
    return run_start


def title_eligible(
    *,
    years: int | None,
    lifecycle_on: Status,
    dishonest: bool,
    bad_record: bool,
    run_start: date | None,
    on: date,
) -> bool:
    """Rule A: `years` unbroken years registered with no bad record → may apply for the title.

    In force on `on` (an amendment under re-review keeps it in force), never suspended or
    revoked up to then, not on the dishonesty list, and the run began `years` before.
    """
    if years is None or run_start is None or dishonest or bad_record:
        return False
    if lifecycle_on not in IN_FORCE:
        return False
    return add_years(run_start, years) <= on


def registration_years(start: date, end: date) -> list[tuple[date, date]]:
    """The registration years [start + k, start + k + 1) that begin before `end`."""
    years: list[tuple[date, date]] = []
    k = 0
    while (year_start := add_years(start, k)) < end:
        years.append((year_start, add_years(start, k + 1)))
        k += 1
    return years


def next_anniversary(start: date, today: date) -> date:
    """The end of the registration year containing `today`: the first anniversary after it."""
    k = max(1, today.year - start.year)
    while add_years(start, k) <= today:
        k += 1
    while k > 1 and add_years(start, k - 1) > today:
        k -= 1
    return add_years(start, k)


def hours_between(
    records: Iterable[tuple[datetime, float]],
    start: date,
    end: date,
    business: BusinessTime = DEFAULT_BUSINESS_TIME,
) -> float:
    """CE hours recorded on local days in [start, end)."""
    return sum(hours for at, hours in records if start <= business.day(at) < end)


def deficient_run(
    records: Iterable[tuple[datetime, float]],
    start: date,
    today: date,
    minimum: float,
    business: BusinessTime = DEFAULT_BUSINESS_TIME,
) -> list[tuple[date, date]]:
    """The trailing run of completed registration years (from `start`) below `minimum` hours."""
    recorded = list(records)
    run: list[tuple[date, date]] = []
    for year_start, year_end in registration_years(start, today):
        if year_end > today:
            break
        if hours_between(recorded, year_start, year_end, business) < minimum:
            run.append((year_start, year_end))
        else:
            run = []
    return run
