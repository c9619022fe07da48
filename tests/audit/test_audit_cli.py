"""`registry audit …` end to end: checkpoint, proofs, export, verify, replay --compare."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.canonical import canonical_json, event_leaf_hash
from registry.cli import app
from tests.audit.test_audit_support import populate, world_on
from tests.conftest import POSTGRES_DSN

_FIELDS = (
    "store",
    "sqlite_path",
    "postgres_host",
    "postgres_port",
    "postgres_dbname",
    "postgres_user",
    "postgres_password",
    "postgres_schema",
    "keys_dir",
)


class Cli:
    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.env = {f"REGISTRY_{name.upper()}": str(getattr(settings, name)) for name in _FIELDS}
        self.env["REGISTRY_SETTINGS"] = str(tmp / "absent.toml")
        self.runner = CliRunner()

    def run(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)


@pytest.fixture
def cli(settings: Settings, clock: SimulatedClock, tmp_path: Path) -> Cli:
    with world_on(settings, clock) as world:
        populate(world, engineers=5)
    return Cli(settings, tmp_path)


def test_checkpoint_export_verify_and_replay(cli: Cli, tmp_path: Path) -> None:
    cp_file, history = tmp_path / "CP.json", tmp_path / "history.jsonl"
    jwks, trust_list = tmp_path / "jwks.json", tmp_path / "trust-list.jws"
    made = cli.json("audit", "checkpoint", "--out", str(cp_file))
    assert made["recorded"] is True and json.loads(cp_file.read_text())["tree_size"] > 20
    cli.run("keys", "export-public", "--output", str(jwks))
    cli.run("keys", "export-public", "--format", "trust-list", "--output", str(trust_list))
    exported = cli.json("audit", "export", "--out", str(history), "--quiet")
    assert exported["tree_size"] == len(history.read_bytes().splitlines())

    ok = cli.json(
        "audit",
        "verify",
        str(history),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--quiet",
    )
    assert ok["ok"] is True and ok["first_bad_leaf"] is None
    for extra in ([], ["--trust-list-signer", str(jwks)]):
        assert (
            cli.json(
                "audit",
                "verify",
                str(history),
                "--checkpoint",
                str(cp_file),
                "--trust-list",
                str(trust_list),
                *extra,
                "--quiet",
            )["ok"]
            is True
        )
    human = cli.run(
        "audit",
        "verify",
        str(history),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--quiet",
    )
    assert "VERIFIED" in human.stdout

    lines = history.read_bytes().splitlines(keepends=True)
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_bytes(b"".join(lines[:6] + lines[7:]))
    bad = cli.json(
        "audit",
        "verify",
        str(dropped),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--quiet",
        code=1,
    )
    assert bad["ok"] is False and bad["first_bad_leaf"] == 6

    obj = json.loads(lines[11])
    obj["event"]["state"]["actor_id"] = "forger"
    obj["leaf_hash"] = event_leaf_hash(obj["event"]).hex()
    rewritten = tmp_path / "rewritten.jsonl"
    rewritten.write_bytes(b"".join([*lines[:11], canonical_json(obj) + b"\n", *lines[12:]]))
    alone = cli.json(
        "audit",
        "verify",
        str(rewritten),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--quiet",
        code=1,
    )
    assert alone["first_bad_leaf"] is None
    live = cli.json(
        "audit",
        "verify",
        str(rewritten),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--live",
        "--quiet",
        code=1,
    )
    assert live["first_bad_leaf"] == 11

    today = cli.json("audit", "replay", str(history), "--quiet")["dates"]
    replayed = cli.json(
        "audit",
        "replay",
        str(history),
        "--as-of",
        "2024-03-02",
        "--as-of",
        "2024-03-10",
        "--as-of",
        "2024-04-01",
        "--as-of",
        today[0],
        "--compare",
        "--quiet",
    )
    assert replayed["differences"] == [] and replayed["registrations"] == 5
    statuses = {(r["number"], r["date"]): r["status"] for r in replayed["standings"]}
    assert {"suspended", "revoked", "active", "not_registered"} <= set(statuses.values())

    suspended = next(i for i, line in enumerate(lines) if b"Registration.Suspended" in line)
    obj = json.loads(lines[suspended])
    obj["event"]["state"]["reason_code"] = "other"
    altered = tmp_path / "altered.jsonl"
    altered.write_bytes(
        b"".join([*lines[:suspended], canonical_json(obj) + b"\n", *lines[suspended + 1 :]])
    )
    diff = cli.run(
        "audit", "replay", str(altered), "--as-of", today[0], "--compare", "--quiet", code=1
    )
    assert "reason_code" in diff.stdout and "differences" in diff.stdout


def test_proofs_and_checkpoint_listing(cli: Cli, tmp_path: Path) -> None:
    first = cli.json("audit", "checkpoint")
    second = cli.json("audit", "checkpoint")
    assert second["tree_size"] == first["tree_size"] + 1  # covers the first checkpoint's event
    listed = cli.json("audit", "checkpoints")
    assert [c["tree_size"] for c in listed] == [first["tree_size"], second["tree_size"]]
    out = tmp_path / "old.json"
    shown = cli.json("audit", "checkpoints", "--size", str(first["tree_size"]), "--out", str(out))
    assert shown == {k: v for k, v in first.items() if k != "recorded"}
    assert json.loads(out.read_text()) == shown

    proof = cli.json("audit", "prove-inclusion", "--leaf", "4")
    assert proof["verified"] and proof["tree_size"] == second["tree_size"]
    assert proof["root_hash"] == second["root_hash"]
    same = cli.json(
        "audit",
        "prove-inclusion",
        "--event",
        f"{proof['originator_id']}:{proof['originator_version']}",
    )
    by_note = cli.json("audit", "prove-inclusion", "--notification", str(proof["notification_id"]))
    assert same["proof"] == by_note["proof"] == proof["proof"]
    consistency = cli.json("audit", "prove-consistency", "--old", str(first["tree_size"]))
    assert consistency["verified"] and consistency["old_root"] == first["root_hash"]
    cli.run("audit", "prove-inclusion", "--leaf", "100000", code=2)
    cli.run("audit", "prove-inclusion", code=2)


def test_scheduled_checkpoints_and_bad_input(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("audit", "checkpoint", "--every", "0.01s", "--count", "3", "--json")
    rounds = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["recorded"] for r in rounds] == [True, False, False]
    cli.run("audit", "checkpoint", "--every", "soon", code=2)
    cli.run(
        "audit",
        "verify",
        str(tmp_path / "missing.jsonl"),
        "--checkpoint",
        str(tmp_path / "missing.json"),
        "--trust-list",
        str(tmp_path / "x"),
        code=2,
    )
    cli.run("audit", "replay", str(tmp_path / "missing.jsonl"), "--as-of", "yesterday", code=2)


def test_a_deleted_event_is_named_by_export_and_verify_live(
    cli: Cli, settings: Settings, tmp_path: Path
) -> None:
    """Export refuses naming the notification (no cut-off file); verify --live names it too."""
    cp_file, jwks, history = tmp_path / "CP.json", tmp_path / "jwks.json", tmp_path / "h.jsonl"
    cli.json("audit", "checkpoint", "--out", str(cp_file))
    cli.run("keys", "export-public", "--output", str(jwks))
    cli.json("audit", "export", "--out", str(history), "--quiet")
    victim = json.loads(history.read_bytes().splitlines()[9])["event"]["notification_id"]
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_path) as conn:
            conn.execute("DROP TRIGGER stored_events_no_delete")
            conn.execute("DELETE FROM stored_events WHERE rowid = ?", (victim,))
        conn.close()
    else:
        options = f"-c search_path={settings.postgres_schema}"
        with psycopg.connect(POSTGRES_DSN, autocommit=True, options=options) as pg:
            pg.execute("DROP TRIGGER registry_events_append_only ON registry_events")
            pg.execute("DELETE FROM registry_events WHERE notification_id = %s", (victim,))

    again = tmp_path / "again.jsonl"
    failed = cli.run("audit", "export", "--out", str(again), "--quiet", code=1)
    assert f"notification {victim} (leaf 9," in failed.stderr and "missing" in failed.stderr
    assert not again.exists()

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")  # what a refused export used to leave behind
    report = cli.json(
        "audit",
        "verify",
        str(empty),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--live",
        "--quiet",
        code=1,
    )
    assert report["first_bad_leaf"] == 0
    assert [g for g in report["live_log_gaps"] if f"notification {victim} (leaf 9," in g]
