"""Position tracking: restart neither loses nor repeats events; a failed batch changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.workdays import WorkingCalendar
from projections import ProjectionError, RegistryProjections
from projections.fold import Folder
from registry.application import RecordCe, Submit, Suspend, Withdraw
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.bootstrap import open_projections
from tests.builders import REGISTRAR, attach_required, engineer
from tests.projections.projection_lifecycle import draft, register


def _populate(app: RegistryApp, clock: SimulatedClock, first: int, count: int) -> None:
    for n in range(first, first + count):
        rid, _ = register(app, clock, n, "IET" if n % 3 == 0 else "SIE")
        clock.advance(timedelta(days=5))
        app.handle(RecordCe(rid, 12, "继续教育平台"), engineer(n))
        if n % 4 == 0:
            app.handle(Suspend(rid, "complaint", "投诉"), REGISTRAR)


def test_restart_continues_without_repeating_and_picks_up_new_events(
    app: RegistryApp, clock: SimulatedClock, calendar: WorkingCalendar
) -> None:
    _populate(app, clock, 100, 6)
    first = open_projections(app, calendar)
    progress: list[int] = []
    applied = first.catch_up(progress.append)
    latest = app.recorder.max_notification_id()
    assert applied == latest and sum(progress) == applied and first.position() == latest
    before = first.snapshot()
    history_rows = len(before["proj_history"])

    restarted = open_projections(app, calendar)  # a new process, same database
    assert restarted.position() == latest
    assert restarted.catch_up() == 0
    assert restarted.snapshot() == before
    assert first.catch_up() == 0

    _populate(app, clock, 200, 2)
    assert restarted.lag() > 0
    assert restarted.catch_up() > 0 and restarted.lag() == 0
    after = restarted.snapshot()
    assert after["position"] == app.recorder.max_notification_id()
    assert len(after["proj_registration"]) == 8
    assert len(after["proj_history"]) > history_rows
    keys = [(r["registration_id"], r["seq"]) for r in after["proj_history"]]
    assert len(keys) == len(set(keys))
    # The old rows were not touched again (nothing applied twice).
    old = {(r["registration_id"], r["seq"]): r for r in before["proj_history"]}
    assert all(
        row == old[k] for k, row in zip(keys, after["proj_history"], strict=True) if k in old
    )
    assert restarted.rebuild() == app.recorder.max_notification_id()
    assert restarted.snapshot() == after


def test_failure_mid_batch_leaves_position_and_views_unchanged(
    app: RegistryApp,
    clock: SimulatedClock,
    views: RegistryProjections,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _populate(app, clock, 300, 2)
    views.catch_up()
    before = views.snapshot()
    _populate(app, clock, 310, 3)
    calls = {"n": 0}
    original = Folder.apply

    def failing(self: Folder, notification_id: int, event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("disk full")
        original(self, notification_id, event)

    monkeypatch.setattr(Folder, "apply", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        views.catch_up()
    assert calls["n"] == 7
    assert views.position() == before["position"]
    assert views.snapshot() == before
    monkeypatch.setattr(Folder, "apply", original)

    assert views.catch_up() > 0
    incremental = views.snapshot()
    views.rebuild()
    assert views.snapshot() == incremental


def test_small_batches_give_the_same_views_as_one_big_batch(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    _populate(app, clock, 400, 5)
    views.batch_size = 3  # batch edges fall inside each registration's history
    progress: list[int] = []
    views.rebuild(progress.append)
    assert len(progress) > 5 and max(progress) <= 3
    small = views.snapshot()
    views.batch_size = 10_000
    views.rebuild()
    assert views.snapshot() == small


def test_a_second_projector_that_falls_behind_does_not_reapply(
    app: RegistryApp, clock: SimulatedClock, calendar: WorkingCalendar
) -> None:
    _populate(app, clock, 500, 2)
    one = open_projections(app, calendar)
    two = open_projections(app, calendar)
    stale = two.position()
    one.catch_up()
    snapshot = one.snapshot()
    # `two` read its start position before `one` committed: its batch must be discarded.
    two.position = lambda: stale  # type: ignore[method-assign]
    assert two._step() is None
    del two.position
    assert two.catch_up() == 0
    assert two.snapshot() == snapshot


def test_an_event_for_an_unknown_registration_is_refused(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    rid = draft(app, 600)
    attach_required(app, rid, engineer(600), 600)
    app.handle(Submit(rid), engineer(600))
    views.catch_up()
    # Simulate a view that lost a row: the next event for it cannot be folded.
    app.db.execute("DELETE FROM proj_registration WHERE registration_id = ?", (str(rid),))
    app.handle(Withdraw(rid, "no longer needed"), engineer(600))
    position = views.position()
    with pytest.raises(ProjectionError, match="unknown registration"):
        views.catch_up()
    assert views.position() == position
    views.rebuild()
    view = views.by_id(rid)
    assert view is not None and view.status == "withdrawn"
