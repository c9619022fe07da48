"""A store written by the first release still opens, upgrades itself once, and answers alike.

The fixture (tests/fixtures/legacy_v1, made by that release's `registry demo --seed 42`)
kept its ID-number HMAC key in the database and its subject keys in the clear. Opening it
moves the one into a key file and wraps the others, without touching a single event.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from domain.errors import DuplicateApplication
from domain.personal import PersonalData
from registry.adapters.secrets import Secret, SecretFiles
from registry.application import Apply
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_projections
from registry.demo import generate_people
from tests.builders import REGISTRAR, sie_facts

FIXTURE = Path(__file__).parent / "fixtures" / "legacy_v1"
TODAY = date(2026, 12, 2)  # the day the fixture's answers were recorded


def _unpack(directory: Path) -> Path:
    store = directory / "registry.sqlite"
    with gzip.open(FIXTURE / "registry.sqlite.gz") as src, store.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return store


def _events(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()


@pytest.fixture
def legacy(tmp_path: Path) -> tuple[Settings, bytes, list[tuple[object, ...]]]:
    store = _unpack(tmp_path)
    with sqlite3.connect(store) as conn:
        (hmac_key,) = conn.execute(
            "SELECT value FROM registry_secrets WHERE name = 'pii_hmac'"
        ).fetchone()
    settings = Settings(sqlite_path=store, keys_dir=tmp_path / "keys")  # no key creation
    return settings, bytes(hmac_key), _events(store)


def test_first_release_store_upgrades_without_touching_the_log(
    legacy: tuple[Settings, bytes, list[tuple[object, ...]]],
) -> None:
    settings, hmac_key, events_before = legacy
    app = open_app(settings)
    try:
        secrets = SecretFiles(settings.keys_dir)
        assert secrets.get(Secret.PII_HMAC) == hmac_key  # moved out, same key
        rows = app.db.query("SELECT key FROM subject_keys")
        assert rows and all(len(bytes(r[0])) == 40 for r in rows)  # wrapped (RFC 3394)
        assert not app.db.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_secrets'"
        )
    finally:
        app.close()
    files = b"".join(
        p.read_bytes() for p in settings.sqlite_path.parent.glob("registry.sqlite*") if p.is_file()
    )
    assert hmac_key not in files  # not even in a freed page or the write-ahead log
    assert _events(settings.sqlite_path)[: len(events_before)] == events_before
    # A second opening is a plain open: nothing left to migrate, no creation allowed.
    open_app(settings).close()


def test_first_release_store_answers_as_it_did(
    legacy: tuple[Settings, bytes, list[tuple[object, ...]]],
) -> None:
    settings, _, _ = legacy
    expected = json.loads(gzip.decompress((FIXTURE / "search.json.gz").read_bytes()))
    app = open_app(settings)
    try:
        projections = open_projections(app)
        projections.rebuild()
        fields: tuple[str, ...] = (
            "scheme",
            "status",
            "public_status",
            "status_reason",
            "valid_until",
            "masked_name",
            "employer_id",
            "dishonest",
            "permitted_to_practise",
        )
        for row in expected:
            view = projections.by_number(row["number"], today=TODAY)
            assert view is not None, row["number"]
            got = json.loads(json.dumps(view.as_dict(), default=str))
            assert {k: got[k] for k in fields} == {k: row[k] for k in fields}, row["number"]
        # The first release's identity index (keyed by the ID-number HMAC) still guards
        # against a second live registration of the same person.
        by_hmac = {app.vault.id_hmac(p.id_number): p for p in generate_people(42, 240)}
        row = next(r for r in expected if r["status"] == "active")
        reg = app.get(UUID(row["registration_id"]))
        demo = by_hmac[app.vault.id_hmac_of(reg.subject_id) or ""]
        person = PersonalData(demo.name, demo.id_number, demo.phone, demo.email, demo.address)
        with pytest.raises(DuplicateApplication):
            app.handle(Apply(row["scheme"], person, sie_facts()), REGISTRAR)
    finally:
        app.close()
