"""Current status and status as of past dates, against what the aggregate itself says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.actors import Actor, Role
from domain.clock import add_years
from domain.standing import end_of_day
from projections import RegistryProjections
from registry.application import (
    Amend,
    Apply,
    Approve,
    EndorseEmployerChange,
    ErasePersonalData,
    RecordCe,
    Revoke,
    Suspend,
)
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from tests.builders import REGISTRAR, REVIEWER, engineer, id_number, person
from tests.projections.projection_lifecycle import facts, register


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


def test_status_now_and_as_of_past_dates(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    suspended_id, suspended_no = register(app, clock, 1)
    _, lapsed_no = register(app, clock, 2)
    revoked_id, revoked_no = register(app, clock, 3, "IET")
    renewed_id, renewed_no = register(app, clock, 4)
    renewed_approved_on = clock.now().date()
    clock.set(at(2024, 9, 1))
    app.handle(RecordCe(renewed_id, 24, "广东省继续教育中心", "数据库运维"), engineer(4))
    clock.set(at(2025, 1, 10))
    app.handle(
        Suspend(suspended_id, "complaint", "client complaint under investigation"), REGISTRAR
    )
    clock.set(at(2025, 5, 20))
    app.handle(Revoke(revoked_id, "fraud", "forged project certificate"), REGISTRAR)
    clock.set(at(2026, 6, 1))
    assert views.catch_up() > 0

    # Now: suspended, expired (derived from time), revoked, active.
    now = {n: views.by_number(n) for n in (suspended_no, lapsed_no, revoked_no, renewed_no)}
    assert {n: v.public_status for n, v in now.items() if v} == {
        suspended_no: "suspended",
        lapsed_no: "expired",
        revoked_no: "revoked",
        renewed_no: "active",
    }
    lapsed = now[lapsed_no]
    assert lapsed is not None and lapsed.valid_until is not None
    assert lapsed.status == "expired" and not lapsed.permitted_to_practise
    assert lapsed.status_reason == "validity.lapsed"
    # The lapse is the first instant of the next *local* day (00:00 Beijing = 16:00 UTC).
    assert lapsed.status_since == datetime.combine(
        lapsed.valid_until, datetime.min.time().replace(hour=16), tzinfo=UTC
    )
    revoked = now[revoked_no]
    assert revoked is not None and revoked.status_reason == "fraud" and revoked.dishonest
    renewed = now[renewed_no]
    assert renewed is not None and renewed.valid_until == date(2026, 9, 1)
    assert renewed.next_ce_deadline == date(2026, 9, 1) and renewed.permitted_to_practise

    # In the past, all four were active, with the validity known on that day.
    for number in now:
        past = views.status_as_of(number, date(2024, 6, 1))
        assert past is not None and past.status == "active" and past.permitted_to_practise
        assert past.employer_id == "emp-91440300"
    first = views.status_as_of(renewed_no, date(2024, 6, 1))
    assert first is not None and first.valid_until == add_years(renewed_approved_on, 2)
    on_suspension = views.status_as_of(suspended_no, date(2025, 1, 10))
    assert on_suspension is not None and on_suspension.status == "suspended"
    assert on_suspension.reason_code == "complaint" and on_suspension.since == at(2025, 1, 10)
    assert views.status_as_of(suspended_no, date(2025, 1, 9)).status == "active"  # type: ignore[union-attr]
    assert lapsed.valid_until is not None
    assert views.status_as_of(lapsed_no, lapsed.valid_until).status == "active"  # type: ignore[union-attr]
    day_after = lapsed.valid_until + timedelta(days=1)
    assert views.status_as_of(lapsed_no, day_after).status == "expired"  # type: ignore[union-attr]
    before = views.status_as_of(suspended_no, date(2024, 3, 1))
    assert before is not None and before.status == "not_registered"
    assert not before.permitted_to_practise and before.employer_id is None
    assert views.status_as_of("SIE-44-2024-0000999", date(2025, 1, 1)) is None

    # The projection and the aggregate agree on every one of these days.
    for number in now:
        view = views.by_number(number)
        assert view is not None
        registration = app.get(view.registration_id)
        for day in (date(2024, 3, 5), date(2025, 1, 10), date(2025, 6, 1), date(2026, 3, 8)):
            moment = end_of_day(day)
            expected = (
                registration.status_at(moment).value
                if registration.point_at(moment) is not None
                else None
            )
            assert views.lifecycle_status_at(view.registration_id, moment) == expected


def test_expiry_is_derived_from_time_without_new_events(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    rid, number = register(app, clock, 7)
    clock.set(at(2024, 11, 15))
    app.handle(RecordCe(rid, 30, "工信部人才交流中心", "实施方法论"), engineer(7))
    views.catch_up()
    position = views.position()
    # SIE lapses two years after the last CE registration, with no event on that day.
    last_valid = views.by_number(number, today=date(2026, 11, 15))
    first_lapsed = views.by_number(number, today=date(2026, 11, 16))
    assert last_valid is not None and last_valid.public_status == "active"
    assert first_lapsed is not None and first_lapsed.public_status == "expired"
    assert first_lapsed.next_ce_deadline is None
    assert views.position() == position
    assert app.get(rid).status_at(end_of_day(date(2026, 11, 16))).value == "expired"
    # Search sees the same derived status.
    assert [v.number for v in views.search(status="expired", today=date(2026, 11, 16))] == [number]
    assert views.search(status="expired", today=date(2026, 11, 15)) == []


def test_amendment_rereview_keeps_practising_and_employer_history(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    rid, number = register(app, clock, 8)
    clock.set(at(2025, 4, 1))
    new_employer = {"id": "emp-new-4403", "name": "深圳新公司", "job_description": "MES 实施"}
    app.handle(Amend(rid, {"employer": new_employer}), engineer(8))
    views.catch_up()
    view = views.by_number(number)
    assert view is not None
    assert view.status == "under_review" and view.public_status == "active"
    assert view.permitted_to_practise and view.note and "amendment" in view.note
    assert [q.registration_id for q in views.review_queue()] == [rid]
    assert views.status_as_of(number, date(2025, 3, 31)).employer_id == "emp-91440300"  # type: ignore[union-attr]
    # An employer change is a request: bound to the old employer until endorsed and approved.
    during = views.status_as_of(number, date(2025, 4, 1))
    assert during is not None and during.employer_id == "emp-91440300"
    assert during.pending_employer_id == "emp-new-4403" and not during.pending_endorsed
    assert during.status == "active" and during.lifecycle_status == "under_review"
    assert [v.number for v in views.employer_claims("emp-new-4403")] == [number]
    clock.set(at(2025, 4, 2))
    app.handle(EndorseEmployerChange(rid), Actor("emp-new-4403", Role.EMPLOYER))
    clock.set(at(2025, 4, 3))
    app.handle(Approve(rid), REVIEWER)
    views.catch_up()
    after = views.by_number(number)
    assert after is not None and after.status == "active" and after.note is None
    assert after.status_reason == "employer_change.approved"
    assert after.employer_id == "emp-new-4403" and after.pending_employer_id is None
    assert views.status_as_of(number, date(2025, 4, 2)).employer_id == "emp-91440300"  # type: ignore[union-attr]
    assert views.status_as_of(number, date(2025, 4, 3)).employer_id == "emp-new-4403"  # type: ignore[union-attr]
    assert views.review_queue() == [] and views.employer_claims("emp-new-4403") == []


def test_iet_next_ce_deadline_is_the_ce_review_deadline(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    """Issue 11: rule B's next CE deadline is the three-yearly review deadline; the title
    does not expire with it."""
    _, number = register(app, clock, 9, "IET")
    approved_on = clock.now().date()
    views.catch_up()
    review = approved_on.replace(year=approved_on.year + 3)
    view = views.by_number(number, today=approved_on + timedelta(days=400))
    assert view is not None
    assert view.valid_until == review
    assert view.next_ce_deadline == review
    first_year = views.by_number(number, today=approved_on)
    assert first_year is not None and first_year.next_ce_deadline == review
    after = views.by_number(number, today=review + timedelta(days=30))
    assert after is not None and after.public_status == "active"


def test_masked_names_follow_amendment_and_erasure_and_no_personal_data_is_stored(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    rid, number = register(app, clock, 11, name="欧阳小明")
    views.catch_up()
    assert views.by_number(number).masked_name == "欧**明"  # type: ignore[union-attr]
    clock.advance(timedelta(days=1))
    renamed = person(11, "李四")
    app.handle(Amend(rid, {}, personal=renamed), engineer(11))
    views.catch_up()
    view = views.by_number(number)
    assert view is not None and view.masked_name == "李*"
    assert view.as_public_dict()["masked_name"] == "李*"
    text = repr(views.snapshot())
    for secret in (id_number(11), "13800138000", "深圳市南山区", "eng11@example.cn", "李四"):
        assert secret not in text
    assert "id_number" not in text
    clock.advance(timedelta(days=1))
    app.handle(ErasePersonalData(rid), REGISTRAR)
    views.catch_up()
    assert views.by_number(number).masked_name is None  # type: ignore[union-attr]
    erased = views.snapshot()
    views.rebuild()
    assert views.snapshot() == erased


def test_public_dict_shows_only_public_fields(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    _, number = register(app, clock, 12)
    views.catch_up()
    view = views.by_number(number)
    assert view is not None
    public = view.as_public_dict()
    assert set(public) == {
        "number", "masked_name", "scheme", "status", "status_reason", "status_since",
        "valid_until", "issuer_region", "permitted_to_practise", "note",
    }  # fmt: skip
    assert public["issuer_region"] == "44" and public["permitted_to_practise"] is True
    assert "employer_id" in view.as_dict() and "registration_id" not in public


@pytest.mark.parametrize("scheme", ["SIE", "IET"])
def test_drafts_are_visible_by_id_but_not_by_number(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections, scheme: str
) -> None:
    rid = app.handle(Apply(scheme, person(13), facts(scheme)), engineer(13)).registration_id
    views.catch_up()
    view = views.by_id(rid)
    assert view is not None and view.number is None and view.public_status == "draft"
    assert not view.permitted_to_practise and view.next_ce_deadline is None
