"""Property: for any command history, the incremental views equal a rebuild from scratch, and
every projected status equals what the aggregate's own `status_at` says at that moment."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.standing import end_of_day
from projections import RegistryProjections
from registry.application import (
    Amend,
    Apply,
    Approve,
    Decline,
    Endorse,
    ErasePersonalData,
    LiftDishonesty,
    ListAsDishonest,
    ProvideSupplement,
    RecordAnnualAssessment,
    RecordCe,
    RecordCertificate,
    RecordExpertScore,
    Reinstate,
    Reject,
    RequestFurtherVerification,
    ReturnForSupplement,
    Revoke,
    StartReview,
    Submit,
    Suspend,
    Withdraw,
)
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from tests.builders import REGISTRAR, REVIEWER, engineer, person
from tests.projections.projection_lifecycle import facts, to_review

COMMANDS = (
    "submit", "endorse", "decline", "start_review", "score", "return", "supplement",
    "further", "approve", "reject", "withdraw", "ce", "assess", "suspend", "reinstate",
    "revoke", "list", "lift", "amend_employer", "amend_skills", "amend_name", "certificate",
    "rules", "erase", "catch_up",
)  # fmt: skip
# Lifecycle-driving commands are repeated so random histories reach approval often.
WEIGHTED = (
    *COMMANDS,
    *("approve", "approve", "score", "ce", "ce", "rules", "rules", "suspend", "reinstate"),
    *("reinstate", "amend_employer", "assess", "revoke", "list"),
)

command = st.tuples(
    st.sampled_from(WEIGHTED),
    st.integers(0, 3),  # which registration
    st.sampled_from((0, 1, 3, 20, 90, 200, 400, 800)),  # days that pass first
    st.integers(0, 100),  # a parameter (score, hours, ...)
)
scenario = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from(("SIE", "IET")),
            st.sampled_from(("approved", "approved", "review", "draft")),
        ),
        min_size=1,
        max_size=3,
    ),
    st.lists(command, min_size=8, max_size=40),
    st.integers(2, 6),  # catch up after every this many commands
)


def _employer(rid: UUID, app: RegistryApp) -> Actor:
    return Actor(app.get(rid).employer_id or "nobody", Role.EMPLOYER)


def _run(app: RegistryApp, name: str, rid: UUID, n: int, p: int) -> None:
    now = app.clock.now()
    actions: dict[str, Callable[[], Any]] = {
        "submit": lambda: app.handle(Submit(rid), engineer(n)),
        "endorse": lambda: app.handle(Endorse(rid), _employer(rid, app)),
        "decline": lambda: app.handle(Decline(rid, "未在本单位任职"), _employer(rid, app)),
        "start_review": lambda: app.handle(StartReview(rid), REVIEWER),
        "score": lambda: app.handle(RecordExpertScore(rid, p, "defence"), REVIEWER),
        "return": lambda: app.handle(ReturnForSupplement(rid, ["skills.vague"], "补充"), REVIEWER),
        "supplement": lambda: app.handle(ProvideSupplement(rid), engineer(n)),
        "further": lambda: app.handle(RequestFurtherVerification(rid, "学信网核验"), REVIEWER),
        "approve": lambda: app.handle(Approve(rid), REVIEWER),
        "reject": lambda: app.handle(Reject(rid, "材料不符"), REVIEWER),
        "withdraw": lambda: app.handle(Withdraw(rid, "撤回"), engineer(n)),
        "ce": lambda: app.handle(RecordCe(rid, p or 1, "继续教育平台"), engineer(n)),
        "assess": lambda: app.handle(
            RecordAnnualAssessment(rid, now.year - p % 2, p > 30, "年度考核"), REGISTRAR
        ),
        "suspend": lambda: app.handle(Suspend(rid, "complaint", "投诉"), REGISTRAR),
        "reinstate": lambda: app.handle(Reinstate(rid, "恢复"), REGISTRAR),
        "revoke": lambda: app.handle(
            Revoke(rid, "fraud" if p % 2 else "misconduct", "x"), REGISTRAR
        ),
        "list": lambda: app.handle(ListAsDishonest(rid, "失信"), REGISTRAR),
        "lift": lambda: app.handle(LiftDishonesty(rid, "撤销失信"), REGISTRAR),
        "amend_employer": lambda: app.handle(
            Amend(
                rid,
                {
                    "employer": {
                        "id": f"emp-{p % 3}",
                        "name": f"公司{p % 3}",
                        "job_description": "实施",
                    }
                },
            ),
            engineer(n),
        ),
        "amend_skills": lambda: app.handle(Amend(rid, {"skills": f"技能 {p}"}), engineer(n)),
        "amend_name": lambda: app.handle(Amend(rid, {}, personal=person(n, f"李{p}")), engineer(n)),
        "certificate": lambda: app.handle(
            RecordCertificate(rid, f"S-{rid.hex[:8]}-{p}", "kid-1", now + timedelta(days=365)),
            REGISTRAR,
        ),
        "rules": lambda: app.apply_scheme_rules(rid),
        "erase": lambda: app.handle(ErasePersonalData(rid), REGISTRAR),
    }
    actions[name]()


def _moments(app: RegistryApp, rid: UUID) -> list[datetime]:
    registration = app.get(rid)
    tick = timedelta(microseconds=1)
    moments = [app.clock.now() + timedelta(days=3 * 365)]
    for point in registration.timeline:
        moments += [point.at - tick, point.at, point.at + tick]
        if point.valid_until is not None:
            last = end_of_day(point.valid_until, app.business_time)  # the last local instant
            moments += [last, last + tick]
    return moments


def test_rebuild_equals_incremental_and_status_matches_the_aggregate(
    app: RegistryApp, views: RegistryProjections, settings: Settings
) -> None:
    engineers = itertools.count(1)
    examples = 40 if settings.store == "sqlite" else 10
    stats = {"refused": 0, "applied": 0}

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(scenario)
    def check(case: tuple[list[tuple[str, str]], list[tuple[str, int, int, int]], int]) -> None:
        schemes, commands, every = case
        # Each example starts in 2024 with new engineers; each registration's events still
        # move forward in time, which is all the domain requires.
        clock = SimulatedClock(datetime(2024, 3, 1, 9, tzinfo=UTC))
        app.clock = clock
        views.clock = clock  # the read side was handed the app's clock by its port
        registrations: list[tuple[UUID, int]] = []
        for scheme, stage in schemes:
            n = next(engineers)
            rid = app.handle(Apply(scheme, person(n), facts(scheme)), engineer(n)).registration_id
            registrations.append((rid, n))
            if stage != "draft":
                to_review(app, clock, rid, n)
            if stage == "approved":
                clock.advance(timedelta(days=2))
                if scheme == "IET":
                    app.handle(RecordExpertScore(rid, 70, "combined"), REVIEWER)
                app.handle(Approve(rid), REVIEWER)
        for i, (name, which, days, p) in enumerate(commands, start=1):
            clock.advance(timedelta(days=days, hours=1))
            rid, n = registrations[which % len(registrations)]
            if name == "catch_up" or i % every == 0:
                views.catch_up()
                if name == "catch_up":
                    continue
            before = app.recorder.max_notification_id()
            try:
                _run(app, name, rid, n, p)
            except DomainError:
                stats["refused"] += 1
                assert app.recorder.max_notification_id() == before  # refused: nothing written
            else:
                stats["applied"] += 1
        views.catch_up()
        incremental = views.snapshot()
        views.rebuild()
        assert views.snapshot() == incremental

        for rid, _ in registrations:
            registration = app.get(rid)
            for moment in _moments(app, rid):
                expected = (
                    registration.status_at(moment).value
                    if registration.point_at(moment) is not None
                    else None
                )
                assert views.lifecycle_status_at(rid, moment) == expected, (moment, expected)
            view = views.by_id(rid)
            assert view is not None
            assert view.status == registration.status_at(clock.now()).value
            assert view.number == registration.number
            assert view.valid_until == registration.valid_until
            assert view.dishonest == registration.dishonest
            assert view.employer_id == registration.employer_id
            if registration.personal_data_erased:
                assert view.masked_name is None
            if view.number is not None:
                on = views.today()  # the local day: "as of" it ends at local midnight
                as_of = views.status_as_of(view.number, on)
                assert as_of is not None and as_of.lifecycle_status == view.status
                assert as_of.status == view.public_status

    check()
    assert stats["applied"] > 0 and stats["refused"] > 0
