"""Rebuilds run in shadow tables and switch atomically: the public never sees a wrong answer.

Each test runs on SQLite and on PostgreSQL. A reader keeps asking the query API while the
rebuild runs; the rebuild's progress callback waits for the reader after every committed
batch, so the overlap is real on any machine (and asserted), without timing assumptions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.errors import DomainError
from domain.workdays import WorkingCalendar
from projections import ProjectionError, RebuildInProgress, RegistryProjections, projector
from projections.tables import PROJECTION_NAME
from registry.application import ListAsDishonest, RecordCe, Revoke, Suspend
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.bootstrap import open_projections
from tests.builders import REGISTRAR, engineer
from tests.projections.concurrent_reader import ContinuousReader
from tests.projections.projection_lifecycle import draft, register, to_review


@dataclass
class Population:
    numbers: dict[str, UUID] = field(default_factory=dict)
    unnumbered: list[UUID] = field(default_factory=list)


def populate(app: RegistryApp, clock: SimulatedClock, count: int, first: int = 1) -> Population:
    """Registrations in every public state: active, suspended, revoked, listed, in review."""
    population = Population()
    for n in range(first, first + count):
        scheme = "IET" if n % 3 == 0 else "SIE"
        if n % 7 == 6:
            rid = draft(app, n, scheme)
            to_review(app, clock, rid, n)
            population.unnumbered.append(rid)
            continue
        rid, number = register(app, clock, n, scheme, review_days=1)
        population.numbers[number] = rid
        clock.advance(timedelta(hours=3))
        if n % 5 == 1:
            app.handle(Suspend(rid, "complaint", "投诉"), REGISTRAR)
        elif n % 5 == 2:
            app.handle(Revoke(rid, "fraud", "forged diploma"), REGISTRAR)
        elif n % 5 == 3:
            app.handle(RecordCe(rid, 12, "继续教育平台"), engineer(n))
        elif n % 5 == 4:
            try:
                app.handle(ListAsDishonest(rid, "false statement"), REGISTRAR)
            except DomainError:
                app.handle(Suspend(rid, "investigation", "调查"), REGISTRAR)
    return population


Answers = dict[str, Any]


def answers(views: RegistryProjections, population: Population, today: date) -> Answers:
    """What the public (and the registrar) is told about every registration on `today`."""
    out: Answers = {}
    for number in population.numbers:
        view = views.by_number(number, today)
        as_of = views.status_as_of(number, today)
        assert view is not None and as_of is not None, number
        out[number] = (view.as_dict(), as_of.as_dict())
    for rid in population.unnumbered:
        unnumbered = views.by_id(rid, today)
        assert unnumbered is not None, rid
        out[str(rid)] = unnumbered.as_dict()
    return out


def wrong_answers(
    views: RegistryProjections, population: Population, today: date, expected: Answers
) -> list[str]:
    wrong = []
    for number in population.numbers:
        view = views.by_number(number, today)
        as_of = views.status_as_of(number, today)
        if view is None or as_of is None:
            wrong.append(f"{number}: not found")
            continue
        if (view.as_dict(), as_of.as_dict()) != expected[number]:
            wrong.append(
                f"{number}: {view.public_status}, expected {expected[number][0]['status']}"
            )
    for rid in population.unnumbered:
        unnumbered = views.by_id(rid, today)
        if unnumbered is None:
            wrong.append(f"{rid}: not found")
        elif unnumbered.as_dict() != expected[str(rid)]:
            wrong.append(f"{rid}: {unnumbered.status}")
    return wrong


def tracking(app: RegistryApp, name: str = PROJECTION_NAME) -> tuple[int, int]:
    rows = app.db.query(
        "SELECT position, schema_version FROM proj_tracking WHERE name = ?", (name,)
    )
    assert rows, f"no tracking row {name}"
    return int(rows[0][0]), int(rows[0][1])


def assert_applied_exactly_once(app: RegistryApp, views: RegistryProjections) -> None:
    """Every registration's row is at its aggregate's version; history has no gap, no repeat."""
    snapshot = views.snapshot()
    assert snapshot["position"] == app.recorder.max_notification_id()
    versions = {r["registration_id"]: r["version"] for r in snapshot["proj_registration"]}
    ids = {str(rid) for rid in app.registration_ids()}
    assert set(versions) == ids
    for rid in ids:
        assert versions[rid] == app.get(UUID(rid)).version, rid
    seqs: dict[str, list[int]] = defaultdict(list)
    for row in snapshot["proj_history"]:
        seqs[row["registration_id"]].append(row["seq"])
    last = {r["registration_id"]: r["history_seq"] for r in snapshot["proj_registration"]}
    for rid, seen in seqs.items():
        assert seen == list(range(1, last[rid] + 1)), rid


def test_readers_see_no_wrong_answer_while_the_views_are_rebuilt(
    app: RegistryApp, clock: SimulatedClock, calendar: WorkingCalendar, views: RegistryProjections
) -> None:
    population = populate(app, clock, 28)
    views.catch_up()
    before = views.snapshot()
    today = clock.now().date()
    expected = answers(views, population, today)
    head = app.recorder.max_notification_id() or 0
    reader_views = open_projections(app, calendar)  # the server's instance

    def check() -> list[str]:
        reader.count(2 * len(population.numbers) + len(population.unnumbered))
        return wrong_answers(reader_views, population, today, expected)

    shadow_positions: list[int] = []
    views.batch_size = 10
    reader = ContinuousReader(check)
    with reader:

        def progress(consumed: int) -> None:
            shadow = views.rebuild_position()
            assert shadow is not None  # a rebuild is under way in the shadow tables
            shadow_positions.append(shadow)
            reader.marking = True
            reader.await_rounds(1)

        rebuilt = views.rebuild(progress)
        reader.marking = False
        reader.await_rounds(1)  # and after the switch

    assert reader.problems == [], reader.problems[:10]
    # The overlap was real: a whole round of reads after each committed shadow batch,
    # most of them while the shadow held only part of the log.
    assert len(shadow_positions) >= 10
    assert reader.marked_rounds >= len(shadow_positions)
    assert sum(1 for p in shadow_positions if 0 < p < head) >= 8
    assert rebuilt == head
    assert views.rebuild_position() is None
    assert views.snapshot() == before
    assert tracking(app) == (head, projector.SCHEMA_VERSION)


def test_events_written_during_a_rebuild_are_applied_exactly_once(
    app: RegistryApp,
    clock: SimulatedClock,
    calendar: WorkingCalendar,
    views: RegistryProjections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    population = populate(app, clock, 10)
    views.catch_up()
    server = open_projections(app, calendar)  # keeps the live views current meanwhile
    today = clock.now().date()
    expected = answers(server, population, today)
    written: list[str] = []
    rounds = {"n": 0}
    engineers = iter(range(900, 1000))

    def write_registration() -> str:
        """A new registration; the public sees it once the server has caught up."""
        n = next(engineers)
        _, number = register(app, clock, n, review_days=0)
        written.append(number)
        return number

    def served(number: str) -> None:
        view = server.by_number(number, today)
        assert view is not None and view.public_status == "active"
        population.numbers[number] = view.registration_id
        expected.update(answers(server, population, today))

    def progress(consumed: int) -> None:
        rounds["n"] += 1
        # Every answer given before the rebuild is still given, unchanged, mid-rebuild.
        assert wrong_answers(server, population, today, expected) == []
        if rounds["n"] % 3 == 1:
            number = write_registration()
            server.catch_up()  # the server's own catch-up applies it to the live views
            served(number)
        if rounds["n"] == 4:
            number = next(n for n in population.numbers if expected[n][0]["status"] == "active")
            rid = population.numbers[number]
            app.handle(Suspend(rid, "investigation", "调查"), REGISTRAR)
            server.catch_up()
            suspended = server.by_number(number, today)
            assert suspended is not None and suspended.public_status == "suspended"
            expected.update(answers(server, population, today))

    # Race the switch itself: on the first attempt the live views move past the shadow
    # (the switch must catch up or retry, never go back in time); on the second, an event
    # is left for the live projector to apply after the switch.
    original_switch = RegistryProjections._switch
    switches: list[tuple[int, int]] = []

    def racing_switch(self: RegistryProjections, *args: Any, **kwargs: Any) -> Any:
        if len(switches) == 0:
            number = write_registration()
            server.catch_up()
            served(number)
        elif len(switches) == 1:
            write_registration()
        switches.append(tracking(app))
        return original_switch(self, *args, **kwargs)

    monkeypatch.setattr(RegistryProjections, "_switch", racing_switch, raising=False)
    views.batch_size = 7
    views.rebuild(progress)
    monkeypatch.undo()

    assert len(switches) == 2  # the first attempt saw the live views ahead and retried
    assert rounds["n"] >= 8 and len(written) >= 5
    assert server.lag() > 0  # the event written at the switch is still to be applied
    assert server.catch_up() > 0
    assert server.catch_up() == 0
    assert wrong_answers(server, population, today, answers(server, population, today)) == []
    for number in written:
        view = server.by_number(number, today)
        assert view is not None and view.public_status == "active", number
    assert_applied_exactly_once(app, server)
    after = server.snapshot()
    views.rebuild()  # a quiet rebuild from scratch reproduces the same views
    assert views.snapshot() == after


def test_a_schema_version_bump_rebuilds_in_shadow_while_the_old_views_serve(
    app: RegistryApp,
    clock: SimulatedClock,
    calendar: WorkingCalendar,
    views: RegistryProjections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    population = populate(app, clock, 20)
    views.catch_up()
    before = views.snapshot()
    old_version = projector.SCHEMA_VERSION
    today = clock.now().date()
    expected = answers(views, population, today)
    live_during: list[tuple[int, int]] = []

    def check() -> list[str]:
        reader.count(2 * len(population.numbers) + len(population.unnumbered))
        return wrong_answers(views, population, today, expected)

    monkeypatch.setattr(projector, "SCHEMA_VERSION", old_version + 1)
    monkeypatch.setattr(projector, "BATCH_SIZE", 10)
    reader = ContinuousReader(check)
    with reader:

        def progress(consumed: int) -> None:
            live_during.append(tracking(app))
            reader.marking = True
            reader.await_rounds(1)

        upgraded = open_projections(app, calendar, progress=progress)
        reader.marking = False
        reader.await_rounds(1)

    assert reader.problems == [], reader.problems[:10]
    # The old live views were neither dropped nor reset while the new version was built.
    assert len(live_during) >= 8 and reader.marked_rounds >= len(live_during)
    assert set(live_during) == {(before["position"], old_version)}
    assert tracking(app) == (before["position"], old_version + 1)
    assert upgraded.snapshot() == before
    assert upgraded.rebuild_position() is None
    # A second program of the new version finds the views current: no second rebuild.
    again = open_projections(app, calendar, progress=lambda n: pytest.fail("rebuilt twice"))
    assert again.snapshot() == before

    # A projector still running the old fold refuses to write into the new views.
    monkeypatch.setattr(projector, "SCHEMA_VERSION", old_version)
    register(app, clock, 700)
    with pytest.raises(ProjectionError, match="schema version"):
        views.catch_up()
    assert tracking(app) == (before["position"], old_version + 1)


def test_a_second_rebuild_is_refused_while_one_runs(
    app: RegistryApp, clock: SimulatedClock, calendar: WorkingCalendar, views: RegistryProjections
) -> None:
    populate(app, clock, 6)
    views.catch_up()
    before = views.snapshot()
    other = open_projections(app, calendar)
    refusals: list[str] = []

    def progress(consumed: int) -> None:
        if not refusals:
            with pytest.raises(RebuildInProgress) as refused:
                other.rebuild()
            refusals.append(str(refused.value))
            assert other.rebuild_position() is not None

    views.batch_size = 5
    views.rebuild(progress)
    assert len(refusals) == 1 and "already running" in refusals[0]
    assert views.snapshot() == before
    assert other.rebuild() == app.recorder.max_notification_id()  # the lock was released
    assert other.snapshot() == before


def test_a_failed_rebuild_leaves_the_live_views_serving_and_the_next_one_recovers(
    app: RegistryApp, clock: SimulatedClock, calendar: WorkingCalendar, views: RegistryProjections
) -> None:
    population = populate(app, clock, 8)
    views.catch_up()
    before = views.snapshot()
    today = clock.now().date()
    expected = answers(views, population, today)
    batches = {"n": 0}

    def crash(consumed: int) -> None:
        batches["n"] += 1
        if batches["n"] == 3:
            raise RuntimeError("killed mid-rebuild")

    views.batch_size = 5
    with pytest.raises(RuntimeError, match="killed mid-rebuild"):
        views.rebuild(crash)
    assert views.snapshot() == before
    assert wrong_answers(views, population, today, expected) == []
    assert views.rebuild_position() is not None  # the abandoned shadow is still there

    register(app, clock, 800)
    assert views.catch_up() > 0  # the live projector is unaffected by the abandoned shadow
    incremental = views.snapshot()
    assert views.rebuild() == app.recorder.max_notification_id()
    assert views.rebuild_position() is None
    assert views.snapshot() == incremental
