"""The demo and the benchmarks are `registry` plugins: listed, loaded on use, `demo --serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import registry.demo.cli as demo_cli
from registry.cli.root import PLUGIN_GROUP, plugins
from registry.demo import demo_secrets
from tests.cli.conftest import Cli, sqlite_env

REPO = Path(__file__).resolve().parents[2]


def test_demo_and_bench_are_registered_plugins() -> None:
    found = plugins()
    assert {"demo", "bench"} <= set(found), f"stale package metadata? group {PLUGIN_GROUP}"
    assert found["demo"].value == "registry.demo.cli:app"
    assert found["bench"].value == "bench.cli:app"


def test_help_lists_the_plugins_and_other_commands_do_not_load_them() -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from registry.cli import app\n"
        "status = CliRunner().invoke(app, ['status', '--help'])\n"
        "assert status.exit_code == 0, status.output\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'bench' or "
        "m.startswith('registry.demo')]\n"
        "assert not loaded, loaded\n"
        "listing = CliRunner().invoke(app, ['--help'], env={'COLUMNS': '160'})\n"
        "assert listing.exit_code == 0, listing.output\n"
        "print(listing.output)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "│ demo " in result.stdout and "│ bench " in result.stdout


def test_demo_serve_seeds_an_empty_store_once_then_serves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[Path, dict[str, Any]]] = []

    def run_server(settings: Any, **options: Any) -> None:
        served.append((settings.sqlite_path, options))

    monkeypatch.setattr(demo_cli, "run_server", run_server)
    cli = Cli(sqlite_env(tmp_path), demo_secrets(3, 60))
    first = cli.run(
        "demo", "--engineers", "60", "--seed", "3", "--until", "2026-06-30", "--quiet",
        "--serve", "--port", "8123",
    )  # fmt: skip
    assert "60 engineers" in first.stdout
    again = cli.run("demo", "--serve", "--quiet")
    assert "not seeding the demo" in again.stderr
    assert again.stdout.strip() == ""
    store = tmp_path / "registry.sqlite"
    assert served == [
        (store, {"host": "127.0.0.1", "port": 8123}),
        (store, {"host": "127.0.0.1", "port": 8000}),
    ]
