"""Issue 9 item 5: events INSERTed straight into the running server's store.

The attacker holds the database file (not the key files) and adds two rows to the revoked,
dishonesty-listed registration: "dishonesty lifted" and "reinstated until 2030". The public
lookup must never call the engineer active, the registry must refuse to sign a checkpoint over
the rows, and an auditor's `registry audit verify` (with the event MAC key) and
`registry audit replay` must name them by leaf index.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from typer.testing import CliRunner, Result

from registry.adapters.secrets import Secret, SecretFiles
from registry.cli import app as cli_app
from tests.security.conftest import Live

TOPIC = "domain.registration:Registration."


def _state(at: datetime, **fields: Any) -> bytes:
    moment = {"_type_": "datetime_iso", "_data_": at.isoformat()}
    body = {"timestamp": moment, "actor_id": "registrar-1", "actor_role": "registrar", "at": moment}
    return json.dumps({**body, **fields}, separators=(",", ":")).encode()


def forge_reinstatement(store: Path, registration_id: UUID) -> list[int]:
    """Two raw INSERTs with sqlite3, as in the reported attack; returns their notification ids."""
    rid = registration_id.hex
    at = datetime.now(UTC)
    with sqlite3.connect(store, timeout=30) as conn:
        (version,) = conn.execute(
            "SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?", (rid,)
        ).fetchone()
        rows = [
            (rid, version + 1, TOPIC + "DishonestyLifted", _state(at, reason="rehabilitated")),
            (
                rid,
                version + 2,
                TOPIC + "Reinstated",
                _state(at + timedelta(seconds=1), reason="appeal upheld", valid_until="2030-12-31"),
            ),
        ]
        ids = [
            int(conn.execute("INSERT INTO stored_events VALUES (?, ?, ?, ?)", row).lastrowid or 0)
            for row in rows
        ]
    conn.close()
    return ids


class Cli:
    """`registry …` in-process against the live server's store, as its operator or auditor."""

    def __init__(self, live: Live) -> None:
        self.env = {
            "REGISTRY_SETTINGS": str(live.settings.sqlite_path.parent / "absent.toml"),
            "REGISTRY_SQLITE_PATH": str(live.settings.sqlite_path),
            "REGISTRY_KEYS_DIR": str(live.settings.keys_dir),
        }

    def run(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli_app, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)


def _not_active(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return response.status_code in {404, 409, 503}  # could not check: never "active"
    body = response.json()
    return body["status"] != "active" and body["permitted_to_practise"] is False


def test_inserted_events_never_reinstate_a_revoked_engineer(
    live: Live, attacker: httpx.Client, tmp_path: Path
) -> None:
    lookup = f"{live.url}/api/v1/lookup/{live.numbers['revoked']}"
    before = attacker.get(lookup)
    assert before.status_code == 200 and before.json()["status"] == "revoked"

    cli = Cli(live)
    cp_file, jwks, history = tmp_path / "CP.json", tmp_path / "jwks.json", tmp_path / "h.jsonl"
    signed = cli.json("audit", "checkpoint", "--out", str(cp_file))
    cli.run("keys", "export-public", "--output", str(jwks))

    forged = forge_reinstatement(live.settings.sqlite_path, UUID(live.ids["revoked"]))

    # The public never sees the engineer active: the projector refuses the forged rows. A
    # registrar's search forces the read models to catch up first (no waiting on a timer).
    # (Its answer is an integrity error today; the server may close that connection.)
    search = attacker.get(
        f"{live.url}/api/v1/search",
        params={"number": live.numbers["revoked"]},
        headers={**live.auth("registrar"), "Connection": "close"},
    )
    assert search.status_code != 200 or all(v["status"] != "active" for v in search.json())
    for _ in range(3):
        assert _not_active(attacker.get(lookup))

    # The registry will not sign a checkpoint that covers them.
    refused = cli.run("audit", "checkpoint", code=1)
    assert "unauthenticated" in refused.stderr
    latest = attacker.get(
        f"{live.url}/api/v1/audit/checkpoints/latest", headers=live.auth("auditor")
    )
    assert latest.status_code == 200 and latest.json()["tree_size"] == signed["tree_size"]

    # The export names them (and still carries them, for the auditor) ...
    exported = cli.json("audit", "export", "--out", str(history), "--quiet", code=1)
    leaves = {u["notification_id"]: u["leaf_index"] for u in exported["unauthenticated"]}
    assert sorted(leaves) == forged
    lines = [json.loads(line) for line in history.read_bytes().splitlines()]
    assert [lines[leaves[n]]["event"]["notification_id"] for n in forged] == forged

    # ... `audit verify` with the event MAC key names the forged leaves ...
    key_file = SecretFiles(live.settings.keys_dir).path(Secret.EVENT_MAC)
    report = cli.json(
        "audit",
        "verify",
        str(history),
        "--checkpoint",
        str(cp_file),
        "--trust-list",
        str(jwks),
        "--event-mac-key",
        str(key_file),
        "--quiet",
        code=1,
    )
    assert report["unauthenticated_leaves"] == [leaves[n] for n in forged]
    assert report["signature_valid"] and report["root_matches"]

    # ... and the independent replay names the illegal transition with its leaf index.
    replayed = cli.json("audit", "replay", str(history), "--quiet", code=1)
    assert [(v["leaf_index"], v["event"], v["from_status"]) for v in replayed["violations"]] == [
        (leaves[forged[1]], "Reinstated", "revoked")
    ]
    standing = [r for r in replayed["standings"] if r["number"] == live.numbers["revoked"]]
    assert standing and all(r["status"] == "revoked" for r in standing)
