"""`registry demo` then the queries a user tries first: status as of a date, search, queue."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import DemoStore

EVERY_SIE_STATUS = {
    "draft",
    "submitted",
    "under_review",
    "returned_for_supplement",
    "further_verification",
    "active",
    "expired",
    "suspended",
    "revoked",
    "rejected",
    "withdrawn",
}
EVERY_IET_STATUS = {
    "draft",
    "submitted",
    "employer_endorsed",
    "under_review",
    "returned_for_supplement",
    "active",
    "suspended",
    "revoked",
    "rejected",
    "withdrawn",
}


def test_demo_tells_every_story(demo_store: DemoStore) -> None:
    s = demo_store.summary
    assert s["engineers"] == 200
    assert s["registrations"] > 200  # some engineers hold both schemes (title route)
    assert set(s["counts"]["SIE"]) >= EVERY_SIE_STATUS, s["counts"]["SIE"]
    assert set(s["counts"]["IET"]) >= EVERY_IET_STATUS, s["counts"]["IET"]
    assert sum(sum(c.values()) for c in s["counts"].values()) == s["registrations"]
    assert s["events"] > 1500 and s["events_per_second"] > 0
    assert s["rule_events"].get("Suspended", 0) >= 1  # 2 years without CE, via supervise()
    assert "approve:registration.invalid_transition" in s["refusals"]  # score below the pass mark
    assert s["projections"]["notifications"] >= s["events"]
    categories = {e["category"] for e in s["examples"]}
    assert {
        "suspended_ce",
        "suspended_assessment",
        "expired",
        "revoked_dishonest",
        "reinstated",
        "amended",
        "erased",
    } <= categories
    start, end = s["simulated_from"][:10], s["simulated_until"][:10]
    assert int(end[:4]) - int(start[:4]) == 3


@pytest.mark.parametrize(
    ("category", "now_status", "reason"),
    [
        ("suspended_ce", "suspended", "ce.missing_consecutive_years"),
        ("suspended_assessment", "suspended", "assessment.failed"),
        ("expired", "expired", None),
        ("revoked_dishonest", "revoked", None),
    ],
)
def test_status_as_of_then_and_now(
    demo_store: DemoStore, category: str, now_status: str, reason: str | None
) -> None:
    cli, example = demo_store.cli, demo_store.example(category)
    then = cli.json("status", example["number"], "--as-of", example["active_on"])
    assert then["status"] == "active" and then["permitted_to_practise"] is True
    assert then["number"] == example["number"] and then["on"] == example["active_on"]
    now = cli.json("status", example["number"])
    assert now["status"] == now_status and now["permitted_to_practise"] is False
    assert now["masked_name"] == example["masked_name"]
    if reason:
        assert now["reason_code"] == reason
    human = cli.run("status", example["number"], "--as-of", example["active_on"]).stdout
    assert "PERMITTED TO PRACTISE" in human and "NOT PERMITTED" not in human
    assert "NOT PERMITTED TO PRACTISE" in cli.run("status", example["number"]).stdout


def test_status_by_registration_id_matches_number(demo_store: DemoStore) -> None:
    example = demo_store.example("reinstated")
    by_id = demo_store.cli.json("status", example["registration_id"])
    by_number = demo_store.cli.json("status", example["number"].lower())
    assert by_id == by_number
    assert by_id["status"] == "active"


def test_erased_engineer_shows_no_name(demo_store: DemoStore) -> None:
    example = demo_store.example("erased")
    view = demo_store.cli.json("show", example["number"])
    assert view["masked_name"] is None
    assert example["masked_name"] == "(erased)"


def test_every_query_speaks_json(demo_store: DemoStore) -> None:
    cli = demo_store.cli
    suspended = cli.json("search", "--status", "suspended")
    assert suspended and all(v["public_status"] == "suspended" for v in suspended)
    iet = cli.json("search", "--scheme", "iet", "--limit", "500")
    assert iet and {v["scheme"] for v in iet} == {"IET"}
    employer = iet[0]["employer_id"]
    assert all(v["employer_id"] == employer for v in cli.json("search", "--employer", employer))
    expiring = cli.json("search", "--expiring-within", "400")
    assert all(v["public_status"] == "active" for v in expiring)
    queue = cli.json("queue")
    assert queue and any(item["overdue"] for item in queue)
    assert all(item["overdue"] for item in cli.json("queue", "--overdue"))
    listed = cli.json("dishonesty-list")
    assert listed and all(e["masked_name"] is None or "*" in e["masked_name"] for e in listed)
    assert cli.json("eligible-for-title")
    stats = cli.json("stats")
    assert stats["total"] == demo_store.summary["registrations"]
    assert cli.json("projections", "status")["lag"] == 0


def test_human_tables_render(demo_store: DemoStore) -> None:
    cli = demo_store.cli
    assert "Review queue" in cli.run("queue").stdout
    assert "Dishonesty list" in cli.run("dishonesty-list").stdout
    out = cli.run("stats").stdout
    assert "active" in out and "turnaround" in out


def test_rebuild_reports_rate_and_reproduces_views(demo_store: DemoStore) -> None:
    cli = demo_store.cli
    before = cli.json("stats")
    rebuilt = cli.json("projections", "rebuild", "--quiet")
    assert rebuilt["events"] >= demo_store.summary["events"]
    assert rebuilt["events_per_second"] > 0
    after = cli.json("stats")
    assert after == before
    human = cli.run("projections", "catch-up").stdout
    assert "caught up on 0 events" in human


def test_demo_refuses_a_store_with_registrations(demo_store: DemoStore) -> None:
    demo_store.cli.fails(
        "demo", "--engineers", "60", "--quiet", code=1, error="demo.store_not_empty"
    )


@pytest.mark.skipif(
    shutil.which("registry", path=str(Path(os.sys.executable).parent)) is None,
    reason="the registry console script is not installed in this venv",
)
def test_installed_console_script(demo_store: DemoStore) -> None:
    example = demo_store.example("expired")
    script = Path(os.sys.executable).parent / "registry"
    proc = subprocess.run(
        [str(script), "status", example["number"], "--as-of", example["active_on"], "--json"],
        env={**os.environ, **demo_store.cli.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "active"
    for secret in demo_store.cli.secrets:
        assert secret not in proc.stdout and secret not in proc.stderr
    bad = subprocess.run(
        [str(script), "status", example["number"], "--as-of", "yesterday"],
        env={**os.environ, **demo_store.cli.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "[input.date]" in bad.stderr and "Traceback" not in bad.stderr


def test_projected_statistics_agree_with_the_aggregates(demo_store: DemoStore) -> None:
    """The demo counts from the aggregates; `stats` counts from the read models."""
    projected = demo_store.cli.json("stats")["by_scheme_status"]
    counted = demo_store.summary["counts"]
    for scheme in ("SIE", "IET"):
        for status in ("draft", "expired", "suspended", "revoked", "rejected", "withdrawn"):
            assert projected[scheme].get(status, 0) == counted[scheme].get(status, 0), (
                scheme,
                status,
            )


def test_demo_issues_a_certificate_for_every_active_registration(demo_store: DemoStore) -> None:
    s = demo_store.summary
    active = sum(c.get("active", 0) for c in s["counts"].values())
    assert s["certificates"]["issued"] == active > 0
    assert s["certificates"]["refused"] == 0
    url = s["certificates"]["try"]["url"]
    assert "/v?c=" in url
    verified = json.loads(demo_store.cli.run("verify", url, "--json").stdout)
    assert verified["valid"] is True
    number = s["certificates"]["try"]["number"]
    status = demo_store.cli.json("status", number)
    assert status["status"] == "active"
