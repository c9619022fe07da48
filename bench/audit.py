"""Audit throughput at scale: tree build, export, verify and replay of a ≥1M-event history.

    .venv/bin/python -m bench.audit [--events N] [--quick] [--dir DIR]

Why synthetic events through the recorder: driving a million events through the domain would
measure the domain, not the audit tooling. The history here is registration lifecycles shaped
exactly like the real stored events (same topics, same JSON transcoding), written in large
`insert_events` batches on SQLite. Each measured phase then runs in a fresh subprocess so its
peak memory (`ru_maxrss`) is its own. For the same reason the registry is imported inside
`build` and inside each phase, not at the top: a phase's peak memory must count only the
code that phase runs (the verify and replay phases, an auditor's tools, load no application).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

TOPIC = "domain.registration:Registration."
LIFECYCLE = ("Drafted", "Submitted", "ReviewStarted", "Approved", "ContinuingEducationRecorded")
START = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)


def _ts(moment: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": moment.isoformat()}


def _states(n: int) -> list[tuple[str, dict[str, Any]]]:
    """One registration's five events, as the application would have stored them."""
    at = START + timedelta(minutes=7 * n)
    common = {"actor_id": f"engineer-{n}", "actor_role": "engineer"}
    number = f"SIE-44-2023-{n:07d}"
    valid = (at + timedelta(days=730)).date()
    drafted = {
        **common,
        "timestamp": _ts(at),
        "originator_topic": "domain.registration:Registration",
        "at": _ts(at),
        "scheme": "SIE",
        "policy": {"code": "SIE", "version": 1, "validity_years": 2},
        "subject_id": {"_type_": "uuid_hex", "_data_": uuid.uuid4().hex},
        "id_hmac": f"{n:064x}",
        "personal_data": "v1." + "A" * 160,
        "facts": {"region": "44", "employer": {"id": f"EMP-{n % 97:03d}", "name": "某公司"}},
    }
    steps: list[tuple[str, dict[str, Any]]] = [("Drafted", drafted)]
    for i, name in enumerate(LIFECYCLE[1:], start=1):
        moment = at + timedelta(days=i)
        state: dict[str, Any] = {**common, "timestamp": _ts(moment), "at": _ts(moment)}
        if name == "Approved":
            state.update(number=number, valid_until=valid.isoformat())
        elif name == "ContinuingEducationRecorded":
            state.update(
                hours=24.0,
                provider="省继续教育中心",
                course="",
                valid_until=(valid + timedelta(days=i)).isoformat(),
            )
        steps.append((name, state))
    return steps


def build(directory: Path, events: int) -> dict[str, Any]:
    from registry.application.settings import Settings
    from registry.audit.checkpoints import Checkpointer
    from registry.audit.log import AuditLog
    from registry.bootstrap import open_app
    from registry.credentials import KeyStore

    settings = Settings(
        sqlite_path=directory / "registry.sqlite",
        keys_dir=directory / "keys",
        create_missing_secrets=True,
    )
    KeyStore(settings.keys_dir).generate()
    app = open_app(settings)
    started = time.perf_counter()
    batch: list[StoredEvent] = []
    written = 0
    n = 0
    while written < events:
        rid = uuid.uuid4()
        for version, (name, state) in enumerate(_states(n), start=1):
            body = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
            batch.append(StoredEvent(rid, version, TOPIC + name, body))
        n += 1
        written += len(LIFECYCLE)
        if len(batch) >= 20_000:
            app.recorder.insert_events(batch)
            batch = []
    if batch:
        app.recorder.insert_events(batch)
    generated = time.perf_counter() - started
    audit = AuditLog(app)
    started = time.perf_counter()
    hashed = audit.catch_up(batch=5000)
    tree_seconds = time.perf_counter() - started
    checkpoint, _ = Checkpointer(audit, KeyStore(settings.keys_dir)).make()
    (directory / "CP.json").write_text(checkpoint.dumps(), encoding="utf-8")
    (directory / "jwks.json").write_text(
        json.dumps(KeyStore(settings.keys_dir).export_jwks()), encoding="utf-8"
    )
    audit.close()
    app.close()
    return {
        "generated": written,
        "generate_s": generated,
        "tree_leaves": hashed,
        "tree_s": tree_seconds,
        "registrations": n,
    }


def phase(name: str, directory: Path) -> dict[str, Any]:
    """One measured phase, meant to run alone in its own process."""
    started = time.perf_counter()
    history = directory / "history.jsonl"
    if name == "export":
        from registry.application.settings import Settings
        from registry.audit.export import export_history
        from registry.audit.log import AuditLog
        from registry.bootstrap import open_app

        app = open_app(
            Settings(
                sqlite_path=directory / "registry.sqlite",
                keys_dir=directory / "keys",
                create_missing_secrets=True,
            )
        )
        audit = AuditLog(app)
        checkpoint = json.loads((directory / "CP.json").read_text())
        with history.open("wb") as out:
            summary = export_history(audit, out, size=checkpoint["tree_size"])
        count = summary.tree_size
    elif name == "verify":
        from registry.audit.checkpoints import Checkpoint
        from registry.audit.verify_export import load_lines, verify_export
        from registry.credentials import TrustStore

        trust = TrustStore.from_jwks(json.loads((directory / "jwks.json").read_text()))
        report = verify_export(
            load_lines(str(history)), Checkpoint.load(directory / "CP.json"), trust
        )
        if not report.ok:
            raise SystemExit(f"verification failed: {report.as_dict()}")
        count = report.lines
    elif name == "replay":
        from registry.audit.replay import replay
        from registry.audit.verify_export import load_lines

        dates = [date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 1)]
        result = replay(load_lines(str(history)), dates)
        count = result.events
    else:
        raise SystemExit(f"unknown phase {name}")
    seconds = time.perf_counter() - started
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"phase": name, "events": count, "seconds": seconds, "maxrss_mb": maxrss_kb / 1024}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 events")
    parser.add_argument("--dir", type=Path, default=None, help="Keep the store here.")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.dir)))
        return
    events = 50_000 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        directory = args.dir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        built = build(directory, events)
        rows = [
            ("generate (recorder)", built["generated"], built["generate_s"], None),
            ("tree build (follower)", built["tree_leaves"], built["tree_s"], None),
        ]
        for name in ("export", "verify", "replay"):
            output = subprocess.run(
                [sys.executable, "-m", "bench.audit", "--phase", name, "--dir", str(directory)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            rows.append((name, result["events"], result["seconds"], result["maxrss_mb"]))
        size_mb = (directory / "history.jsonl").stat().st_size / 1e6
        print(
            f"audit benchmark: {built['generated']:,} events, "
            f"{built['registrations']:,} registrations, export {size_mb:,.0f} MB (SQLite)"
        )
        print(f"{'phase':<24}{'events':>12}{'seconds':>10}{'events/s':>12}{'peak RSS MB':>13}")
        for name, count, seconds, rss in rows:
            rate = count / seconds if seconds else 0.0
            rss_text = f"{rss:,.0f}" if rss is not None else "-"
            print(f"{name:<24}{count:>12,}{seconds:>10.1f}{rate:>12,.0f}{rss_text:>13}")


if __name__ == "__main__":
    main()
