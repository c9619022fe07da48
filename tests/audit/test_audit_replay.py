"""The independent replay reproduces the live projections on the demo history."""

from __future__ import annotations

import ast
import gzip
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import registry.audit.replay as replay_module
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.compare import compare
from registry.audit.replay import replay
from registry.bootstrap import open_projections
from registry.demo import demo_start, demo_timeline_end, run_demo
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
    assert result.violations == []  # every recorded transition is a legal one
    # Not vacuous: the demo covers many statuses, and they change over time.
    seen = {
        standing.status
        for reg in result.registrations.values()
        for d in dates
        if (standing := reg.standing(d)) is not None
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
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def _line(leaf: int, rid: str, version: int, name: str, at: str, **state: Any) -> bytes:
    event = {
        "notification_id": leaf + 1,
        "originator_id": rid,
        "originator_version": version,
        "topic": f"domain.registration:Registration.{name}",
        "state": {"at": {"_type_": "datetime_iso", "_data_": at}, **state},
    }
    return json.dumps({"event": event, "leaf_hash": "00" * 32, "leaf_index": leaf}).encode()


def _approved_history(rid: str) -> list[bytes]:
    steps = [
        ("Drafted", {"scheme": "SIE"}),
        ("Submitted", {}),
        ("ReviewStarted", {}),
        ("Approved", {"number": "SIE-44-2024-0000015", "valid_until": "2027-03-01"}),
    ]
    return [
        _line(i, rid, i + 1, name, f"2024-03-0{i + 1}T09:00:00+00:00", **state)
        for i, (name, state) in enumerate(steps)
    ]


@pytest.mark.parametrize(
    ("tail", "illegal"),
    [
        # revoked -> reinstated: the attack of issue 9 item 5
        (
            [
                ("Revoked", {"reason_code": "fraud"}),
                ("DishonestyListed", {}),
                ("DishonestyLifted", {}),
                ("Reinstated", {"valid_until": "2030-12-31"}),
            ],
            [(7, "Reinstated", "revoked")],
        ),
        # a suspended engineer on the dishonesty list is not reinstated
        (
            [
                ("Suspended", {"reason_code": "investigation"}),
                ("DishonestyListed", {}),
                ("Reinstated", {"valid_until": None}),
            ],
            [(6, "Reinstated", "suspended")],
        ),
        # an active registration in force is not "reinstated"; approval happens once
        (
            [("Reinstated", {"valid_until": "2030-12-31"}), ("Approved", {"number": "X"})],
            [(4, "Reinstated", "active"), (5, "Approved", "active")],
        ),
        # a legal lifecycle: suspended, reinstated, revoked
        (
            [
                ("Suspended", {"reason_code": "investigation"}),
                ("Reinstated", {"valid_until": None}),
                ("Revoked", {"reason_code": "misconduct"}),
            ],
            [],
        ),
    ],
)
def test_replay_names_every_illegal_transition_with_its_leaf(
    tail: list[tuple[str, dict[str, Any]]], illegal: list[tuple[int, str, str]]
) -> None:
    rid = "8d6d430f-a828-43d0-bd9e-694ef59dadad"
    lines = _approved_history(rid) + [
        _line(4 + i, rid, 5 + i, name, f"2024-05-0{i + 1}T09:00:00+00:00", **state)
        for i, (name, state) in enumerate(tail)
    ]
    result = replay(lines, [date(2024, 6, 1)])
    assert [(v.leaf_index, v.event, v.from_status) for v in result.violations] == illegal
    standing = result.registrations[rid].standing(date(2024, 6, 1))
    assert standing is not None
    if illegal and illegal[0][2] == "revoked":
        assert standing.status == "revoked"  # the illegal reinstatement was not folded


def test_the_first_release_history_has_no_illegal_transition() -> None:
    """No false alarms on the 2,533 events of the committed first-release demo."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_v1" / "export.jsonl.gz"
    with gzip.open(fixture) as fh:
        result = replay(fh.read().splitlines(), [date(2026, 11, 30)])
    assert result.events > 2500 and result.violations == []


def test_the_replay_cli_names_the_illegal_transition_and_exits_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from registry.cli import app

    rid = "8d6d430f-a828-43d0-bd9e-694ef59dadad"
    lines = [
        *_approved_history(rid),
        _line(4, rid, 5, "Revoked", "2024-05-01T09:00:00+00:00", reason_code="fraud"),
        _line(5, rid, 6, "Reinstated", "2024-05-02T09:00:00+00:00", valid_until="2030-12-31"),
    ]
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(
        app, ["audit", "replay", str(history), "--as-of", "2024-06-01", "--quiet", "--json"]
    )
    assert result.exit_code == 1, result.output
    violations = json.loads(result.stdout)["violations"]
    assert [(v["leaf_index"], v["event"], v["from_status"]) for v in violations] == [
        (5, "Reinstated", "revoked")
    ]
    human = CliRunner().invoke(app, ["audit", "replay", str(history), "--quiet"])
    assert human.exit_code == 1 and "leaf 5" in human.stdout and "Reinstated" in human.stdout
