"""Business dates are local calendar dates in the registry's zone (issue 11, SPEC §12).

Beijing is UTC+8: 23:30 Beijing is 15:30 UTC the same day, 00:30 Beijing is 16:30 UTC the
day before. Each case sits on that boundary, where a UTC date answers wrongly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from domain.clock import BusinessTime
from domain.errors import InvalidInput
from projections import RegistryProjections
from registry.application import Approve, Suspend
from registry.application.bulk_check import CredentialCheck, Lookups, check_rows
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings, SettingsError
from tests.builders import REGISTRAR, REVIEWER
from tests.projections.projection_lifecycle import draft, to_review

BEIJING = BusinessTime("Asia/Shanghai")


def _in_review(app: RegistryApp, clock: SimulatedClock, n: int, before: datetime) -> UUID:
    clock.set(before - timedelta(days=3))
    rid = draft(app, n)
    to_review(app, clock, rid, n)
    return rid


def _approve_at(app: RegistryApp, clock: SimulatedClock, rid: UUID, at: datetime) -> str:
    clock.set(at)
    number = app.handle(Approve(rid), REVIEWER).number
    assert number is not None
    return number


def test_the_zone_is_a_setting_defaulting_to_beijing() -> None:
    assert Settings().timezone == "Asia/Shanghai"
    assert Settings(timezone="Europe/Paris").business_time() == BusinessTime("Europe/Paris")
    with pytest.raises(SettingsError, match="timezone"):
        Settings.validated(timezone="Mars/Olympus")
    with pytest.raises(InvalidInput):
        BusinessTime("Mars/Olympus")


def test_local_days_and_their_bounds() -> None:
    assert BEIJING.day(datetime(2026, 5, 31, 15, 30, tzinfo=UTC)) == date(2026, 5, 31)
    assert BEIJING.day(datetime(2026, 5, 31, 16, 30, tzinfo=UTC)) == date(2026, 6, 1)
    assert BEIJING.start_of_day(date(2026, 6, 1)) == datetime(2026, 5, 31, 16, tzinfo=UTC)
    assert BEIJING.end_of_day(date(2026, 5, 31)) == datetime(
        2026, 5, 31, 15, 59, 59, 999999, tzinfo=UTC
    )
    assert BEIJING.show(datetime(2026, 5, 31, 18, tzinfo=UTC)) == (
        "2026-06-01 02:00 (Asia/Shanghai)"
    )


def test_valid_until_counts_from_the_local_day_of_approval(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    # 23:30 Beijing on 2024-03-10 and 00:30 Beijing on 2024-03-11 (15:30 / 16:30 UTC, 10th).
    at_2330 = datetime(2024, 3, 10, 15, 30, tzinfo=UTC)
    late_rid = _in_review(app, clock, 1, at_2330)
    early_rid = _in_review(app, clock, 2, at_2330)
    late = _approve_at(app, clock, late_rid, at_2330)
    early = _approve_at(app, clock, early_rid, at_2330 + timedelta(hours=1))
    late_until = app.get(late_rid).valid_until
    early_until = app.get(early_rid).valid_until
    assert late_until is not None and early_until is not None
    assert (late_until.month, late_until.day) == (3, 10)
    assert (early_until.month, early_until.day) == (3, 11)
    views.catch_up()
    late_view, early_view = views.by_number(late), views.by_number(early)
    assert late_view is not None and early_view is not None
    assert (late_view.valid_until, early_view.valid_until) == (late_until, early_until)
    # Approved at 00:30 Beijing on the 11th: not registered "as of" the 10th, active on the 11th.
    on_10th = views.status_as_of(early, date(2024, 3, 10))
    on_11th = views.status_as_of(early, date(2024, 3, 11))
    assert on_10th is not None and on_10th.status == "not_registered"
    assert on_11th is not None and on_11th.permitted_to_practise
    # Approved at 23:30 Beijing on the 10th: registered as of the 10th.
    late_10th = views.status_as_of(late, date(2024, 3, 10))
    assert late_10th is not None and late_10th.permitted_to_practise


def test_a_suspension_at_02_00_beijing_does_not_fail_a_tender_dated_the_day_before(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    approval = datetime(2026, 3, 2, 2, tzinfo=UTC)
    rid = _in_review(app, clock, 3, approval)
    number = _approve_at(app, clock, rid, approval)
    clock.set(datetime(2026, 5, 31, 18, tzinfo=UTC))  # 2026-06-01 02:00 in Beijing
    app.handle(Suspend(rid, "complaint", "投诉调查"), REGISTRAR)
    views.catch_up()
    may_31 = views.status_as_of(number, date(2026, 5, 31))
    june_1 = views.status_as_of(number, date(2026, 6, 1))
    assert may_31 is not None and may_31.permitted_to_practise
    assert june_1 is not None and june_1.status == "suspended"
    assert june_1.since is not None and views.business.day(june_1.since) == date(2026, 6, 1)

    lookups = Lookups(
        status_as_of=views.status_as_of,
        current=views.by_number,
        check_credential=lambda raw: CredentialCheck(False, None, "not.used"),
    )
    assert [r.verdict for r in check_rows([number], date(2026, 5, 31), None, lookups)] == ["pass"]
    assert [r.verdict for r in check_rows([number], date(2026, 6, 1), None, lookups)] == ["fail"]


def test_today_is_the_local_day(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    clock.set(datetime(2026, 5, 31, 15, 30, tzinfo=UTC))  # 23:30 on 31 May in Beijing
    assert views.today() == date(2026, 5, 31)
    clock.set(datetime(2026, 5, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 June in Beijing
    assert views.today() == date(2026, 6, 1)
