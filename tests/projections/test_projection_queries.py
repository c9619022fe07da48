"""Search, review queue with working-day SLA, dishonesty list, rule-A eligibility, statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.clock import add_years
from domain.workdays import CalendarFallbackWarning, WorkingCalendar
from projections import RegistryProjections
from registry.application import (
    Approve,
    LiftDishonesty,
    ListAsDishonest,
    RecordCe,
    Reinstate,
    Reject,
    RequestFurtherVerification,
    Revoke,
    Submit,
    Suspend,
    Withdraw,
)
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.bootstrap import open_projections
from tests.builders import REGISTRAR, REVIEWER, attach_required, engineer
from tests.projections.projection_lifecycle import draft, register, to_review


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, 0, tzinfo=UTC)


def test_search_by_number_employer_status_scheme_and_expiry_window(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    first, first_no = register(app, clock, 31, employer_id="emp-A")
    _, second_no = register(app, clock, 32, employer_id="emp-B")
    iet, iet_no = register(app, clock, 33, "IET", employer_id="emp-A")
    suspended, suspended_no = register(app, clock, 34, employer_id="emp-A")
    app.handle(Suspend(suspended, "investigation", "under investigation"), REGISTRAR)
    pending = draft(app, 35, employer_id="emp-A")
    views.catch_up()

    def numbers(views_found: list[object]) -> list[str | None]:
        return [getattr(v, "number", None) for v in views_found]

    assert numbers(views.search(number=first_no)) == [first_no]
    assert numbers(views.search(number="SIE-44-2024-0000999")) == []
    found = views.search(employer_id="emp-A")
    assert numbers(found) == [iet_no, first_no, suspended_no, None]  # by number, drafts last
    assert found[-1].registration_id == pending
    assert numbers(views.search(status="active")) == [iet_no, first_no, second_no]
    assert numbers(views.search(status="suspended")) == [suspended_no]
    assert numbers(views.search(scheme="IET")) == [iet_no]
    assert numbers(views.search(employer_id="emp-A", status="active")) == [iet_no, first_no]
    assert numbers(views.search(status="active", limit=1, offset=1)) == [first_no]

    sie_valid_until = views.by_id(first)
    assert sie_valid_until is not None and sie_valid_until.valid_until is not None
    today = sie_valid_until.valid_until - timedelta(days=50)
    expiring = views.search(expiring_within_days=60, today=today)
    assert numbers(expiring) == [first_no, second_no]  # not suspended, not IET (3 years)
    assert views.search(expiring_within_days=30, today=today) == []
    assert numbers(views.search(expiring_within_days=60, today=today, employer_id="emp-B")) == [
        second_no
    ]
    # Once lapsed, a registration is no longer "expiring" but "expired".
    after = sie_valid_until.valid_until + timedelta(days=1)
    assert first_no not in numbers(views.search(expiring_within_days=60, today=after))
    assert first_no in numbers(views.search(status="expired", today=after))
    assert views.by_id(iet) is not None
    with pytest.raises(ValueError):
        views.search(expiring_within_days=-1)


def test_review_queue_counts_working_days_over_national_day(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    clock.set(at(2024, 9, 23))  # Monday before the 2024 National Day holiday
    reviewed = draft(app, 21)
    to_review(app, clock, reviewed, 21)
    awaiting_employer = draft(app, 22, "IET")
    attach_required(app, awaiting_employer, engineer(22), 22)
    app.handle(Submit(awaiting_employer), engineer(22))
    verifying = draft(app, 23)
    to_review(app, clock, verifying, 23)
    clock.set(at(2024, 9, 25))
    app.handle(RequestFurtherVerification(verifying, "学历需学信网核验"), REVIEWER)
    views.catch_up()

    # Sun 29 Sep is a working day; 1-7 Oct are holidays: 7 working days end on 8 Oct.
    queue = {q.registration_id: q for q in views.review_queue(today=date(2024, 10, 8))}
    assert set(queue) == {reviewed, awaiting_employer, verifying}
    assert queue[reviewed].due == date(2024, 10, 8) and not queue[reviewed].overdue
    assert queue[reviewed].working_days_elapsed == 7
    assert queue[awaiting_employer].status == "submitted"
    assert queue[awaiting_employer].due == date(2024, 10, 8)
    # Further verification: 15 working days from submission, Sat 12 Oct is a working day.
    assert queue[verifying].due == date(2024, 10, 17)
    assert queue[verifying].working_days_allowed == 15

    next_day = views.review_queue(today=date(2024, 10, 9))
    assert [q.overdue for q in next_day] == [True, True, False]
    assert next_day[0].working_days_elapsed == 8
    overdue = views.review_queue(today=date(2024, 10, 9), overdue_only=True)
    assert {q.registration_id for q in overdue} == {reviewed, awaiting_employer}
    assert views.review_queue(today=date(2024, 10, 17), overdue_only=True)[-1].registration_id != (
        verifying
    )
    assert verifying in {
        q.registration_id for q in views.review_queue(date(2024, 10, 18), overdue_only=True)
    }

    # The plain weekday rule would have made it due on 2 October: the calendar matters.
    with pytest.warns(CalendarFallbackWarning):
        weekday_only = open_projections(app, WorkingCalendar(official={}))
        assert weekday_only.review_queue(date(2024, 10, 8))[0].due == date(2024, 10, 2)

    # Decisions take items off the queue.
    clock.set(at(2024, 10, 9))
    app.handle(Approve(reviewed), REVIEWER)
    app.handle(Withdraw(awaiting_employer, "changed jobs"), engineer(22))
    views.catch_up()
    assert [q.registration_id for q in views.review_queue(date(2024, 10, 9))] == [verifying]


def test_dishonesty_list(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    fraud, fraud_no = register(app, clock, 41, "IET", name="王大锤")
    listed, _ = register(app, clock, 42, name="赵六")
    unnumbered = draft(app, 43, name="钱七")
    clock.advance(timedelta(days=1))
    app.handle(Revoke(fraud, "forged_material", "伪造项目验收报告"), REGISTRAR)
    clock.advance(timedelta(days=1))
    app.handle(ListAsDishonest(listed, "虚假承诺"), REGISTRAR)
    clock.advance(timedelta(days=1))
    app.handle(ListAsDishonest(unnumbered, "冒用他人材料"), REGISTRAR)
    views.catch_up()
    entries = views.dishonesty_list()
    assert [(e.registration_id, e.masked_name) for e in entries] == [
        (fraud, "王*锤"),
        (listed, "赵*"),
        (unnumbered, "钱*"),
    ]
    assert entries[0].number == fraud_no and entries[0].scheme == "IET"
    assert entries[0].reason == "伪造项目验收报告" and entries[2].number is None
    assert entries[1].listed_at < entries[2].listed_at
    clock.advance(timedelta(days=1))
    app.handle(LiftDishonesty(listed, "复核撤销"), REGISTRAR)
    views.catch_up()
    assert [e.registration_id for e in views.dishonesty_list()] == [fraud, unnumbered]
    view = views.by_id(listed)
    assert view is not None and not view.dishonest


def test_title_eligibility_rule_a(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    clean, clean_no = register(app, clock, 51)
    clean_since = app.get(clean).approved_at
    suspended, _ = register(app, clock, 52)
    lapsed, _ = register(app, clock, 53)
    register(app, clock, 54, "IET")
    dishonest, _ = register(app, clock, 55)
    # rule A is a Guangdong provision: a clean registration in region 11 never earns it
    elsewhere, _ = register(app, clock, 56, region="11")
    clock.set(at(2024, 8, 1))
    app.handle(Suspend(suspended, "complaint", "client complaint"), REGISTRAR)
    clock.set(at(2024, 9, 1))
    app.handle(Reinstate(suspended, "complaint unfounded"), REGISTRAR)
    clock.set(at(2025, 6, 1))
    for rid, n in ((clean, 51), (suspended, 52), (dishonest, 55), (elsewhere, 56)):
        app.handle(RecordCe(rid, 40, "广东省继续教育中心"), engineer(n))
    clock.set(at(2025, 7, 1))
    app.handle(ListAsDishonest(dishonest, "虚假材料"), REGISTRAR)
    clock.set(at(2026, 4, 1))  # the lapsed one expired in March 2026, then is reinstated
    app.handle(Reinstate(lapsed, "late CE accepted"), REGISTRAR)
    views.catch_up()

    assert clean_since is not None
    two_years = add_years(clean_since.date(), 2)
    assert views.title_eligible(two_years - timedelta(days=1)) == []
    eligible = views.title_eligible(two_years)
    assert [(e.registration_id, e.number, e.since) for e in eligible] == [
        (clean, clean_no, clean_since)
    ]
    assert eligible[0].masked_name == "张*三"
    # Later: the lapse broke the lapsed one's run; a suspension or listing is a bad record.
    assert [e.registration_id for e in views.title_eligible(date(2026, 6, 1))] == [clean]
    # The applicant history in the app agrees for the clean one.
    assert app.get(clean).title_eligible_at(datetime(2026, 6, 1, tzinfo=UTC))
    assert not app.get(elsewhere).title_eligible_at(datetime(2026, 6, 1, tzinfo=UTC))


def test_statistics(app: RegistryApp, clock: SimulatedClock, views: RegistryProjections) -> None:
    clock.set(at(2024, 3, 4))  # Monday
    quick = draft(app, 61)
    to_review(app, clock, quick, 61)
    slow = draft(app, 62, region="45")
    to_review(app, clock, slow, 62)
    rejected = draft(app, 63, "IET")
    to_review(app, clock, rejected, 63)
    waiting = draft(app, 64)
    to_review(app, clock, waiting, 64)
    clock.set(at(2024, 3, 6))
    app.handle(Approve(quick), REVIEWER)  # 2 working days
    clock.set(at(2024, 3, 11))
    app.handle(Approve(slow), REVIEWER)  # 5 working days
    clock.set(at(2024, 3, 18))
    app.handle(Reject(rejected, "材料不实"), REVIEWER)  # 10 working days
    views.catch_up()

    s = views.statistics(today=date(2024, 3, 25))
    assert s.total == 4 and s.numbered == 2 and s.permitted == 2
    assert s.by_scheme == {"IET": 1, "SIE": 3}
    assert s.by_status == {"active": 2, "rejected": 1, "under_review": 1}
    assert s.by_region == {"44": 3, "45": 1}
    assert s.by_scheme_status == {
        "IET": {"rejected": 1},
        "SIE": {"active": 2, "under_review": 1},
    }
    assert s.in_review == 1 and s.overdue_reviews == 1 and s.dishonest == 0
    assert s.decisions == 3
    assert s.turnaround_median_working_days == 5.0
    assert s.turnaround_p90_working_days == 10.0
    assert s.turnaround_by_scheme["SIE"] == {"median": 3.5, "p90": 5.0, "count": 2}
    assert s.position == views.position()
    later = views.statistics(today=date(2026, 6, 1))  # both SIE registrations have lapsed
    assert later.by_status == {"expired": 2, "rejected": 1, "under_review": 1}
    assert later.permitted == 0
