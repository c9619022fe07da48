"""The CLI on a store that cannot serve: one stderr line, exit 3, no traceback, and no
30-second wait when PostgreSQL is unreachable at start (issue 9 item 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.application.settings import Settings
from tests.api.server import free_port
from tests.faults.conftest import chattr, make_immutable, seed

COMMANDS = (["users", "list"], ["stats", "--json"], ["serve", "--port", str(free_port())])


def _registry(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from registry.cli import main; main()", *args],
        env={**os.environ, "REGISTRY_SETTINGS": str(tmp_path / "none.toml"), **env},
        capture_output=True,
        text=True,
        timeout=25,  # the unfixed CLI waited 30 s for its pool before the traceback
        cwd=tmp_path,
    )


def _assert_one_line(run: subprocess.CompletedProcess[str], args: list[str]) -> None:
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 3, (args, run.returncode, run.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    if "--json" in args:
        assert json.loads(lines[0])["error"]["code"] == "store.unavailable"
    else:
        assert lines[0].startswith("error [store.unavailable]: "), lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_unreachable_postgres_at_start(tmp_path: Path, args: list[str]) -> None:
    env = {
        "REGISTRY_STORE": "postgres",
        "REGISTRY_POSTGRES_HOST": "127.0.0.1",
        "REGISTRY_POSTGRES_PORT": str(free_port()),  # nothing listens there
        "REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
    }
    _assert_one_line(_registry(args, env, tmp_path), args)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_read_only_sqlite_store(tmp_path: Path, args: list[str]) -> None:
    settings = Settings(
        sqlite_path=tmp_path / "store" / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    seed(settings)
    frozen = [settings.sqlite_path, settings.sqlite_path.parent]
    make_immutable(frozen)
    env = {
        "REGISTRY_SQLITE_PATH": str(settings.sqlite_path),
        "REGISTRY_KEYS_DIR": str(settings.keys_dir),
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
    }
    try:
        run = _registry(args, env, tmp_path)
    finally:
        chattr("-i", frozen)
    _assert_one_line(run, args)
