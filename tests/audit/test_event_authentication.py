"""Every event is authenticated when written and checked on every read (SPEC §12 "Integrity").

On SQLite and PostgreSQL: events INSERTed behind the registry's back are refused by the
repository and by notification reads, listed by the audit tree (which will not sign a checkpoint
over them) and named by leaf in the export and `verify --event-mac-key`; stores written before
authentication are adopted once; the append-only triggers come with the recorder.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from registry.adapters.event_store import UnauthenticatedEventError, WrongEventKeyError
from registry.adapters.secrets import MissingSecret, Secret, SecretFiles
from registry.application import Revoke, Suspend
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.audit.checkpoints import Checkpointer
from registry.audit.compare import compare
from registry.audit.export import export_history
from registry.audit.log import AuditLog, AuditLogError, UnauthenticatedEventsError
from registry.audit.replay import replay
from registry.audit.verify_export import verify_export
from registry.bootstrap import open_app, open_projections
from tests.audit.test_audit_support import World, populate, world_on
from tests.builders import REGISTRAR, approved
from tests.conftest import POSTGRES_DSN

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_v1"
TOPIC = "domain.registration:Registration."


# ---------------------------------------------------------------------- helpers


def _state(at: datetime, **fields: Any) -> bytes:
    """A stored state in the library's JSON transcoding, as a forger would copy it."""
    moment = {"_type_": "datetime_iso", "_data_": at.isoformat()}
    body = {"timestamp": moment, "actor_id": "registrar-1", "actor_role": "registrar", "at": moment}
    return json.dumps({**body, **fields}, separators=(",", ":"), ensure_ascii=False).encode()


def _sql(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Raw SQL on the store, as someone holding the database (not the key) would run it."""
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_path) as conn:
            rows = conn.execute(statement, params).fetchall()
        conn.close()
        return rows
    options = f"-c search_path={settings.postgres_schema}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True, options=options) as pg:
        cur = pg.execute(statement.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def _events_table(settings: Settings) -> str:
    return "stored_events" if settings.store == "sqlite" else "registry_events"


def forge(
    settings: Settings,
    registration_id: UUID,
    at: datetime,
    *,
    mac: bytes | None = None,
) -> list[int]:
    """INSERT 'dishonesty lifted' + 'reinstated until 2030' after the registration's last event.

    Returns the notification ids the database gave the two rows. With ``mac``, a made-up MAC
    row goes in too (the forger cannot compute a real one without the key file).
    """
    table = _events_table(settings)
    rid: Any = registration_id.hex if settings.store == "sqlite" else registration_id
    version = _sql(
        settings, f"SELECT MAX(originator_version) FROM {table} WHERE originator_id = ?", (rid,)
    )[0][0]
    rows = [
        (version + 1, TOPIC + "DishonestyLifted", _state(at, reason="paid")),
        (
            version + 2,
            TOPIC + "Reinstated",
            _state(at + timedelta(seconds=1), reason="restored", valid_until="2030-12-31"),
        ),
    ]
    ids = []
    for v, topic, state in rows:
        _sql(
            settings,
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)",
            (rid, v, topic, state),
        )
        if mac is not None:
            _sql(
                settings,
                f"INSERT INTO {table}_mac (originator_id, originator_version, mac)"
                " VALUES (?, ?, ?)",
                (rid, v, mac),
            )
        key = "rowid" if settings.store == "sqlite" else "notification_id"
        found = _sql(
            settings,
            f"SELECT {key} FROM {table} WHERE originator_id = ? AND originator_version = ?",
            (rid, v),
        )
        ids.append(int(found[0][0]))
    return ids


@pytest.fixture
def store(settings: Settings, clock: SimulatedClock) -> Iterator[tuple[Settings, UUID]]:
    """A store with one revoked, dishonesty-listed registration (revoked for fraud)."""
    app = open_app(settings, clock=clock)
    try:
        rid = approved(app, clock, 1).registration_id
        approved(app, clock, 2)
        clock.advance(timedelta(days=30))
        app.handle(Revoke(rid, "fraud", "forged diploma"), REGISTRAR)
        assert app.get(rid).dishonest
        open_projections(app).catch_up()  # the read models are up to date when it happens
    finally:
        app.close()
    yield settings, rid


# ---------------------------------------------------------------------- reads


def test_forged_events_are_refused_by_every_read(
    store: tuple[Settings, UUID], clock: SimulatedClock
) -> None:
    settings, rid = store
    forged = forge(settings, rid, clock.now() + timedelta(days=1))
    app = open_app(settings, clock=clock)
    try:
        with pytest.raises(UnauthenticatedEventError, match="no MAC recorded"):
            app.get(rid)
        with pytest.raises(UnauthenticatedEventError, match=f"notification {forged[0]}"):
            app.recorder.select_notifications(1, 10_000)
        # The read models are fed by notification reads: the forged events never reach them.
        projections = open_projections(app)
        with pytest.raises(UnauthenticatedEventError):
            projections.catch_up()
        view = projections.by_id(rid)
        assert view is not None and view.status == "revoked" and not view.permitted_to_practise
        # Reads that stop before the forgery still work.
        assert len(app.recorder.select_notifications(1, forged[0] - 1)) == forged[0] - 1
    finally:
        app.close()


def test_a_made_up_mac_does_not_authenticate(
    store: tuple[Settings, UUID], clock: SimulatedClock
) -> None:
    settings, rid = store
    forge(settings, rid, clock.now() + timedelta(days=1), mac=os.urandom(32))
    app = open_app(settings, clock=clock)
    try:
        with pytest.raises(UnauthenticatedEventError, match="MAC does not match"):
            app.get(rid)
    finally:
        app.close()


def test_the_recorder_itself_keeps_the_log_append_only(settings: Settings) -> None:
    """The triggers come with the recorder's tables, not with the application."""
    env = Environment("Registry", {**settings.eventsourcing_env(), "EVENT_MAC_CREATE_MISSING": "y"})
    factory = InfrastructureFactory.construct(env)
    try:
        recorder = factory.application_recorder()
        recorder.insert_events([StoredEvent(uuid4(), 1, "t", b'{"a":1}')])
        table = _events_table(settings)
        for target in (table, f"{table}_mac"):
            for statement in (
                f"DELETE FROM {target}",
                f"UPDATE {target} SET originator_version = 9",
            ):
                with pytest.raises(Exception, match="append-only"):
                    _sql(settings, statement)
        assert len(recorder.select_notifications(1, 10)) == 1
    finally:
        factory.close()


def test_a_wrong_or_missing_key_file_is_refused(
    store: tuple[Settings, UUID], clock: SimulatedClock
) -> None:
    settings, _ = store
    key_file = SecretFiles(settings.keys_dir).path(Secret.EVENT_MAC)
    key_file.unlink()
    with pytest.raises(MissingSecret, match="event-mac"):
        open_app(settings.__class__(**{**vars(settings), "create_missing_secrets": False}))
    SecretFiles(settings.keys_dir).put(Secret.EVENT_MAC, os.urandom(32))
    with pytest.raises(WrongEventKeyError, match="restore the right key file"):
        open_app(settings, clock=clock)


# ---------------------------------------------------------------------- audit


@pytest.fixture
def world(settings: Settings, clock: SimulatedClock) -> Iterator[World]:
    with world_on(settings, clock) as made:
        populate(made, engineers=4)
        yield made


def _revoked(world: World) -> UUID:
    return next(
        rid for rid in world.app.registration_ids() if world.app.get(rid).status == "revoked"
    )


def test_the_tree_lists_forged_leaves_and_never_checkpoints_over_them(
    world: World, settings: Settings
) -> None:
    signed = world.checkpoint()
    rid = _revoked(world)
    forged_ids = forge(settings, rid, world.clock.now() + timedelta(days=1))
    world.audit.catch_up()
    forged = world.audit.unauthenticated()
    assert [leaf.notification_id for leaf in forged] == forged_ids
    leaves = [leaf.leaf_index for leaf in forged]
    with pytest.raises(UnauthenticatedEventsError, match=f"leaf {leaves[0]} "):
        world.checkpointer.make()
    assert world.checkpointer.latest() == signed  # still the one before the forgery

    buffer = io.BytesIO()
    summary = export_history(world.audit, buffer)
    assert [leaf.leaf_index for leaf in summary.unauthenticated] == leaves
    lines = buffer.getvalue().splitlines(keepends=True)
    assert [json.loads(lines[i])["mac"] for i in leaves] == [None, None]

    # Beyond the signed size the tree cannot vouch for them; the MAC key can.
    assert verify_export(lines, signed, world.trust()).ok
    report = verify_export(lines, signed, world.trust(), mac_key=world.mac_key)
    assert not report.ok and report.unauthenticated_leaves == leaves
    assert report.first_bad_leaf == leaves[0]

    result = replay(lines, [world.clock.now().date() + timedelta(days=5)])
    assert [(v.leaf_index, v.event, v.from_status) for v in result.violations] == [
        (leaves[1], "Reinstated", "revoked")
    ]
    assert result.registrations[str(rid)].point.status == "revoked"


def test_a_forged_checkpoint_event_is_not_indexed(world: World, settings: Settings) -> None:
    signed = world.checkpoint()
    table = _events_table(settings)
    fake = {
        "log": "CN-44-REG",
        "tree_size": 999,
        "root_hash": "00" * 32,
        "timestamp": "2030-01-01T00:00:00+00:00",
        "kid": "x",
        "alg": "EdDSA",
        "signature": "x",
        "timestamp_": 1,
    }
    rid: Any = uuid4()
    _sql(
        settings,
        f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
        (
            rid.hex if settings.store == "sqlite" else rid,
            1,
            "registry.audit.checkpoints:AuditCheckpoint.Signed",
            json.dumps(fake).encode(),
        ),
    )
    world.audit.catch_up()
    assert world.audit.indexed_checkpoint(999) is None
    assert world.audit.indexed_checkpoint() is not None
    assert world.audit.indexed_checkpoint().tree_size == signed.tree_size  # type: ignore[union-attr]


# ---------------------------------------------------------------------- adoption


def test_a_store_written_without_macs_is_adopted_once(
    settings: Settings,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = {"sqlite": "eventsourcing.sqlite", "postgres": "eventsourcing.postgres"}[settings.store]
    original = Settings.eventsourcing_env
    with monkeypatch.context() as patch:  # the previous release: the library's own recorder
        patch.setattr(
            Settings,
            "eventsourcing_env",
            lambda self: {**original(self), "PERSISTENCE_MODULE": plain},
        )
        legacy = open_app(settings, clock=clock)
        ids = [approved(legacy, clock, n).registration_id for n in range(1, 4)]
        clock.advance(timedelta(days=20))
        legacy.handle(Suspend(ids[1], "investigation", "complaint"), REGISTRAR)
        legacy.handle(Revoke(ids[2], "fraud", "forged diploma"), REGISTRAR)
        written = legacy.recorder.max_notification_id()
        timelines = {rid: legacy.get(rid).timeline for rid in ids}
        legacy.close()
    table = _events_table(settings)
    assert _sql(settings, f"SELECT COUNT(*) FROM {table}")[0][0] == written

    with caplog.at_level(logging.WARNING, logger="registry.adapters.event_store"):
        app = open_app(settings, clock=clock)
    adopted = [r.getMessage() for r in caplog.records if "adopted" in r.getMessage()]
    assert len(adopted) == 1 and f"adopted {written} {table} rows" in adopted[0]
    try:
        adoption = app.recorder.adoption()  # type: ignore[attr-defined]
        assert (adoption.rows, adoption.up_to) == (written, written)
        assert {rid: app.get(rid).timeline for rid in ids} == timelines
        audit = AuditLog(app)
        try:
            audit.catch_up()
            assert audit.unauthenticated() == []
            cp, created = Checkpointer(audit, _keystore(settings)).make()
            assert created and written is not None and cp.tree_size >= written
            buffer = io.BytesIO()
            export_history(audit, buffer)
            lines = buffer.getvalue().splitlines(keepends=True)
        finally:
            audit.close()
        assert verify_export(lines, cp, None, mac_key=_key(settings)).ok
        result = replay(lines, [clock.now().date()])
        assert result.violations == []
        assert compare(result, open_projections(app)) == []
    finally:
        app.close()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="registry.adapters.event_store"):
        again = open_app(settings, clock=clock)
    try:
        assert not [r for r in caplog.records if "adopted" in r.getMessage()]
        assert again.recorder.adoption() == adoption  # type: ignore[attr-defined]
        forge(settings, ids[2], clock.now() + timedelta(days=1))
        with pytest.raises(UnauthenticatedEventError):
            again.get(ids[2])
    finally:
        again.close()


def _keystore(settings: Settings) -> Any:
    from registry.credentials._internal.keystore import KeyStore

    keys = KeyStore(settings.keys_dir)
    keys.generate()
    return keys


def _key(settings: Settings) -> bytes:
    return SecretFiles(settings.keys_dir).get(Secret.EVENT_MAC)


def test_the_first_release_store_opens_is_adopted_and_exports_identically(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    """The committed store of the first release: adopted, and its history unchanged."""
    path = tmp_path / "registry.sqlite"
    with gzip.open(FIXTURE / "registry.sqlite.gz") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    settings = Settings(sqlite_path=path, keys_dir=tmp_path / "keys", create_missing_secrets=True)
    events = _sql(settings, "SELECT COUNT(*) FROM stored_events")[0][0]
    app = open_app(settings, clock=clock)
    try:
        assert app.recorder.adoption().rows == events  # type: ignore[attr-defined]
        audit = AuditLog(app)
        try:
            buffer = io.BytesIO()
            summary = export_history(audit, buffer, size=events)
        finally:
            audit.close()
        assert summary.unauthenticated == []
        ours = [json.loads(line) for line in buffer.getvalue().splitlines()]
        with gzip.open(FIXTURE / "export.jsonl.gz") as fh:
            theirs = [json.loads(line) for line in fh.read().splitlines()]
        assert [{k: v for k, v in line.items() if k != "mac"} for line in ours] == theirs
        assert all(line["mac"] for line in ours)
        assert verify_export(
            buffer.getvalue().splitlines(keepends=True),
            _unsigned_checkpoint(summary.root_hash, events),
            None,
            mac_key=_key(settings),
        ).ok
        assert replay(buffer.getvalue().splitlines(), [date(2026, 11, 30)]).violations == []
    finally:
        app.close()


def _unsigned_checkpoint(root: bytes, size: int) -> Any:
    from registry.audit.checkpoints import Checkpoint

    return Checkpoint("CN-44-REG", size, root, "2026-11-30T00:00:00+00:00", "", "")


# ---------------------------------------------------------------------- files and gaps


def test_store_files_are_created_private(tmp_path: Path, clock: SimulatedClock) -> None:
    previous = os.umask(0o022)
    try:
        settings = Settings(
            sqlite_path=tmp_path / "store" / "registry.sqlite",
            keys_dir=tmp_path / "keys",
            create_missing_secrets=True,
        )
        app = open_app(settings, clock=clock)
        try:
            approved(app, clock, 1)
            files = sorted(settings.sqlite_path.parent.glob("registry.sqlite*"))
            assert {f.name for f in files} >= {"registry.sqlite", "registry.sqlite-wal"}
            assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {
                f.name: "0o600" for f in files
            }
        finally:
            app.close()
    finally:
        os.umask(previous)


def test_a_deleted_event_is_named_by_its_notification_id(world: World, settings: Settings) -> None:
    world.checkpoint()
    table = _events_table(settings)
    victim = world.audit.leaves(7, 8)[0]
    if settings.store == "sqlite":
        _sql(settings, f"DROP TRIGGER {table}_no_delete")
        _sql(settings, f"DELETE FROM {table} WHERE rowid = ?", (victim.notification_id,))
    else:
        _sql(settings, f"DROP TRIGGER {table}_append_only ON {table}")
        _sql(settings, f"DELETE FROM {table} WHERE notification_id = ?", (victim.notification_id,))
    gaps = world.audit.log_gaps(0, world.audit.size())
    assert [(g.notification_id, g.leaf_index) for g in gaps] == [(victim.notification_id, 7)]
    with pytest.raises(AuditLogError, match=f"notification {victim.notification_id} \\(leaf 7,"):
        export_history(world.audit, io.BytesIO())
