"""Keys that protect personal data live outside the database, and nothing mints them by
surprise (issue 9 item 3, SPEC §12 "Personal data")."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from registry.adapters.secrets import MissingSecret, Secret, SecretFiles
from registry.application.settings import Settings
from registry.bootstrap import open_app


def test_a_registry_without_its_secret_files_refuses_to_open(tmp_path: Path) -> None:
    settings = Settings(sqlite_path=tmp_path / "registry.sqlite", keys_dir=tmp_path / "keys")
    with pytest.raises(MissingSecret) as refused:
        open_app(settings)
    assert "registry init" in str(refused.value)
    secrets = SecretFiles(tmp_path / "keys")
    assert not secrets.exists(Secret.PII_HMAC) and not secrets.exists(Secret.SUBJECT_KEK)


def test_secret_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    open_app(settings).close()
    secrets = SecretFiles(settings.keys_dir)
    assert stat.S_IMODE(secrets.directory.stat().st_mode) == 0o700
    for secret in (Secret.PII_HMAC, Secret.SUBJECT_KEK):
        assert stat.S_IMODE(secrets.path(secret).stat().st_mode) == 0o600
    before = secrets.get(Secret.PII_HMAC)
    assert secrets.put(Secret.PII_HMAC, b"\x01" * 32) == before  # the first key stays
    # Reopening without permission to create works: the files are there.
    open_app(Settings(sqlite_path=settings.sqlite_path, keys_dir=settings.keys_dir)).close()
    db_bytes = settings.sqlite_path.read_bytes()
    assert before not in db_bytes and secrets.get(Secret.SUBJECT_KEK) not in db_bytes


def test_a_wrong_key_encryption_key_is_refused_not_mistaken_for_erasure(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from registry.application.clock import SimulatedClock
    from tests.builders import approved

    settings = Settings(
        sqlite_path=tmp_path / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    clock = SimulatedClock(datetime(2024, 3, 1, 9, tzinfo=UTC))
    app = open_app(settings, clock=clock)
    rid = approved(app, clock, 1).registration_id
    app.close()
    kek = SecretFiles(settings.keys_dir).path(Secret.SUBJECT_KEK)
    kek.unlink()
    SecretFiles(settings.keys_dir).put(Secret.SUBJECT_KEK, b"\x02" * 32)
    app = open_app(settings, clock=clock)
    try:
        with pytest.raises(MissingSecret):
            app.personal_data(app.get(rid))
    finally:
        app.close()


def test_the_cli_says_so_in_one_line_without_its_secret_files(tmp_path: Path) -> None:
    from tests.cli.conftest import Cli, sqlite_env

    cli = Cli(sqlite_env(tmp_path))
    refused = cli.fails("search", code=1, error="secrets.missing")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "registry init" in refused.stderr
    cli.run("init")
    cli.run("search")
