"""Issue 11: a rule B (IET) registration's standing is a function of time and the record,
never of when `registry supervise` ran — a late sweep reaches the punctual result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import UUID

from domain.clock import add_years
from projections import RegistryProjections
from registry.application import RecordAnnualAssessment, RecordCe
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from tests.builders import REGISTRAR, engineer
from tests.projections.projection_lifecycle import register

Action = tuple[datetime, int, Callable[[], object]]


def _history(
    app: RegistryApp, rid: UUID, n: int, start: datetime, end: datetime, monthly: bool, ce: bool
) -> list[Action]:
    actions: list[Action] = []
    for year in range(7):
        if ce or year != 1:  # the non-compliant one misses CE in its second year only
            moment = start + timedelta(days=30 + 365 * year)
            actions.append(
                (moment, 0, lambda: app.handle(RecordCe(rid, 92, "基地", "课程"), engineer(n)))
            )
        moment = start + timedelta(days=300 + 365 * year)
        assessed = moment.year
        actions.append(
            (
                moment,
                1,
                lambda y=assessed: app.handle(RecordAnnualAssessment(rid, y, True), REGISTRAR),
            )
        )
    sweeps = [start + timedelta(days=30 * k) for k in range(1, 80)] if monthly else [end]
    actions += [(s, 2, lambda: app.apply_scheme_rules(rid)) for s in sweeps if s <= end]
    return [a for a in actions if a[0] <= end]


def _summary(views: RegistryProjections, number: str, approved: date) -> dict[str, object]:
    view = views.by_number(number, today=approved + timedelta(days=365 * 6 + 200))
    assert view is not None and view.valid_until is not None
    assert view.next_ce_deadline is not None
    asof = {
        k: views.status_as_of(number, approved + timedelta(days=k))
        for k in (365 * 3 + 2, 365 * 4, 365 * 6 + 5, 365 * 6 + 200)
    }
    return {
        "status": view.public_status,
        "valid_until": (view.valid_until - approved).days,
        "next_ce_deadline": (view.next_ce_deadline - approved).days,
        # as of a past date the registry answers with what it had recorded by then: the
        # status agrees, the deadline it knew may be the one before a not-yet-run review
        "as_of": {k: a.status for k, a in asof.items() if a},
    }


def test_a_late_sweep_reaches_the_punctual_result(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    regs = [register(app, clock, n, "IET") for n in (1, 2, 3, 4)]
    approved = {}
    for rid, _ in regs:
        approved_at = app.get(rid).approved_at
        assert approved_at is not None
        approved[rid] = views.business.day(approved_at)
    start = clock.now()
    end = start + timedelta(days=365 * 6 + 200)
    actions: list[Action] = []
    for n, ((rid, _), monthly, ce) in enumerate(
        zip(regs, (True, False, True, False), (True, True, False, False), strict=True), 1
    ):
        actions += _history(app, rid, n, start, end, monthly, ce)
    for moment, _, act in sorted(actions, key=lambda a: (a[0], a[1])):
        clock.set(moment)
        act()
    views.catch_up()
    summaries = [_summary(views, number, approved[rid]) for rid, number in regs]
    punctual, late, bad_punctual, bad_late = summaries
    assert punctual == late
    assert punctual["status"] == "active"
    # two passed reviews: the deadline moved on twice (approval + 9 years)
    (rid0, _) = regs[0]
    assert app.get(rid0).valid_until == _plus_years(approved[rid0], 9)
    # suspended (never expired) either way; a late suspension is recorded after the events
    # that preceded the sweep, so only today's standing is compared
    assert bad_punctual["status"] == bad_late["status"] == "suspended"
    assert bad_punctual["next_ce_deadline"] == bad_late["next_ce_deadline"]
    assert "expired" not in {*bad_punctual["as_of"].values(), *bad_late["as_of"].values()}  # type: ignore[attr-defined]
    for rid, _ in regs[2:]:
        assert app.get(rid).timeline[-1].reason_code == "ce.missing_consecutive_years" or (
            app.get(rid).timeline[-1].reason_code == "ce.review_failed"
        )


def _plus_years(day: date, years: int) -> date:
    return add_years(day, years)
