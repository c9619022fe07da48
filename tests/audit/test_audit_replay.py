"""The independent replay reproduces the live projections on the demo history."""

from __future__ import annotations

import ast
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import registry.audit.replay as replay_module
from registry.audit.compare import compare
from registry.audit.replay import replay
from registry.clock import SimulatedClock
from registry.config import Settings
from registry.demo import demo_start, demo_timeline_end, run_demo
from registry.runtime import open_projections
from tests.audit.test_audit_support import World, world_on

ENGINEERS = 60


@pytest.fixture
def demo_world(settings: Settings) -> Any:
    end = demo_timeline_end(None)
    clock = SimulatedClock(demo_start(end))
    with world_on(settings, clock) as world:
        run_demo(world.app, clock, seed=11, engineers=ENGINEERS, end=end)
        yield world


def _dates(world: World) -> list[date]:
    today = world.clock.now().date()
    return [
        today - timedelta(days=800),
        today - timedelta(days=400),
        today - timedelta(days=90),
        today,
    ]


def test_replay_of_the_demo_matches_live_projections_today_and_on_past_dates(
    demo_world: World,
) -> None:
    lines = demo_world.export()
    dates = _dates(demo_world)
    result = replay(lines, dates)
    assert len(result.registrations) >= ENGINEERS
    assert result.events == len(lines)
    projections = open_projections(demo_world.app)
    assert compare(result, projections) == []
    # Not vacuous: the demo covers many statuses, and they change over time.
    seen = {
        reg.standing(d).status
        for reg in result.registrations.values()
        for d in dates
        if reg.standing(d) is not None
    }
    assert {"active", "not_registered", "suspended", "revoked"} <= seen
    numbered = [r for r in result.registrations.values() if r.number]
    assert any(r.standing(dates[0]) != r.standing(dates[-1]) for r in numbered)


def test_compare_reports_a_difference_when_the_history_disagrees(demo_world: World) -> None:
    lines = demo_world.export()
    dates = _dates(demo_world)
    suspended = next(
        i
        for i, line in enumerate(lines)
        if json.loads(line)["event"]["topic"].endswith("Registration.Suspended")
    )
    obj = json.loads(lines[suspended])
    obj["event"]["state"]["reason_code"] = "misreported"
    tampered = [*lines]
    tampered[suspended] = json.dumps(obj).encode() + b"\n"
    differences = compare(replay(tampered, dates), open_projections(demo_world.app))
    assert differences
    assert {d.field for d in differences} == {"reason_code"}
    assert all(d.replayed == "misreported" for d in differences)


def test_replay_imports_no_store_library_or_live_fold() -> None:
    """Independence is structural: the module imports the standard library only."""
    tree = ast.parse(Path(replay_module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
