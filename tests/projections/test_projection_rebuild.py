"""Rebuild throughput and the one-command rebuild an operator runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from projections import RebuildLockTarget, RegistryProjections
from projections.rebuild_lock import RebuildLock
from projections.tables import PROJECTION_NAME
from registry.application import RecordCe
from registry.application.clock import SimulatedClock
from registry.application.service import RegistryApp
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_projections
from registry.cli import app as cli
from tests.builders import engineer
from tests.projections.projection_lifecycle import register


@pytest.mark.slow
def test_rebuild_reads_every_notification_of_a_thousand_event_log(
    app: RegistryApp, clock: SimulatedClock, views: RegistryProjections
) -> None:
    """Speed is `registry bench`'s business (issue 11): no rate is asserted here."""
    for n in range(120):
        rid, _ = register(app, clock, n, "IET" if n % 3 == 0 else "SIE", review_days=0)
        app.handle(RecordCe(rid, 20, "继续教育平台"), engineer(n))
    count = views.rebuild()
    assert count == app.recorder.max_notification_id() and count > 1000


def test_the_cli_catches_up_and_reports_its_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `python -m projections catch-up|status` did, now `registry projections …`."""
    env = {
        "REGISTRY_SETTINGS": str(tmp_path / "absent.toml"),
        "REGISTRY_STORE": "sqlite",
        "REGISTRY_SQLITE_PATH": str(tmp_path / "registry.sqlite"),
        "REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clock = SimulatedClock(datetime(2024, 3, 1, 9, tzinfo=UTC))
    app = open_app(Settings.load(), clock=clock)
    _, number = register(app, clock, 1)
    app.close()
    runner = CliRunner()

    done = runner.invoke(cli, ["projections", "catch-up", "--json"], env=env)
    assert done.exit_code == 0, done.stderr
    status = runner.invoke(cli, ["projections", "status", "--json"], env=env)
    assert status.exit_code == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["position"] == report["latest_event"] > 0 and report["lag"] == 0

    app = open_app(Settings.load(), clock=clock)
    try:
        view = open_projections(app).by_number(number)
        assert view is not None and view.public_status == "active"
    finally:
        app.close()


def test_cli_rebuild_reports_its_switch_and_refuses_to_run_twice_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "REGISTRY_SETTINGS": str(tmp_path / "absent.toml"),
        "REGISTRY_STORE": "sqlite",
        "REGISTRY_SQLITE_PATH": str(tmp_path / "registry.sqlite"),
        "REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clock = SimulatedClock(datetime(2024, 3, 1, 9, tzinfo=UTC))
    app = open_app(Settings.load(), clock=clock)
    _, number = register(app, clock, 1)
    app.close()
    runner = CliRunner()

    done = runner.invoke(cli, ["projections", "rebuild", "--json"], env=env)
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events"] == report["position"] > 0
    assert report["switch_attempts"] == 1 and report["switch_lock_ms"] >= 0

    lock = RebuildLockTarget("sqlite", "the test store", sqlite_path=Settings.load().sqlite_path)
    with RebuildLock(lock, PROJECTION_NAME):  # an operator's rebuild elsewhere
        refused = runner.invoke(cli, ["projections", "rebuild", "--json"], env=env)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "Traceback" not in refused.stderr
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "projections.rebuild_in_progress"
    assert "already running" in error["message"]

    again = runner.invoke(cli, ["projections", "rebuild"], env=env)
    assert again.exit_code == 0 and "switched in" in again.stdout
    app = open_app(Settings.load(), clock=clock)
    try:
        view = open_projections(app).by_number(number)
        assert view is not None and view.public_status == "active"
    finally:
        app.close()
