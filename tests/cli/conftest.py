"""CLI fixtures: a store per test (or one demo store per module) chosen by environment.

Every invocation goes through `Cli.run`, which also scans stdout and stderr for any of the
demo's ID numbers, phones, e-mails and addresses: the CLI must never print them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from registry.cli import app
from registry.demo import demo_secrets
from tests.conftest import POSTGRES_DSN, postgres_problem

DEMO_SEED = 7
DEMO_ENGINEERS = 200


@dataclass
class Cli:
    env: dict[str, str]
    secrets: set[str] = field(default_factory=set)
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, code: int | None = 0) -> Result:
        result = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        for secret in self.secrets:
            assert secret not in result.stdout, f"personal data leaked on stdout by {args}"
            assert secret not in result.stderr, f"personal data leaked on stderr by {args}"
        assert "Traceback" not in result.stdout + result.stderr
        if code is not None:
            assert result.exit_code == code, (
                f"{args}: exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        return json.loads(result.stdout)

    def fails(self, *args: str, code: int, error: str) -> Result:
        result = self.run(*args, code=code)
        assert f"[{error}]" in result.stderr, result.stderr
        assert result.stdout.strip() == "", result.stdout
        return result


def sqlite_env(directory: Path) -> dict[str, str]:
    return {
        "REGISTRY_SETTINGS": str(directory / "absent.toml"),
        "REGISTRY_STORE": "sqlite",
        "REGISTRY_SQLITE_PATH": str(directory / "registry.sqlite"),
        "REGISTRY_KEYS_DIR": str(directory / "keys"),
        "COLUMNS": "160",
    }


def postgres_env(schema: str, directory: Path) -> dict[str, str]:
    from urllib.parse import urlparse

    url = urlparse(POSTGRES_DSN)
    return {
        "REGISTRY_SETTINGS": str(directory / "absent.toml"),
        "REGISTRY_STORE": "postgres",
        "REGISTRY_POSTGRES_HOST": url.hostname or "127.0.0.1",
        "REGISTRY_POSTGRES_PORT": str(url.port or 5432),
        "REGISTRY_POSTGRES_DBNAME": (url.path or "/test").lstrip("/"),
        "REGISTRY_POSTGRES_USER": url.username or "postgres",
        "REGISTRY_POSTGRES_PASSWORD": url.password or "",
        "REGISTRY_POSTGRES_SCHEMA": schema,
        "REGISTRY_KEYS_DIR": str(directory / "keys"),
        "COLUMNS": "160",
    }


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """An empty SQLite store, made by `registry init` (which also makes its secret keys)."""
    made = Cli(sqlite_env(tmp_path))
    made.run("init")
    return made


@dataclass
class DemoStore:
    cli: Cli
    summary: dict[str, Any]

    def example(self, category: str) -> Mapping[str, str]:
        for example in self.summary["examples"]:
            if example["category"] == category:
                return dict(example)
        raise AssertionError(f"demo has no {category} example: {self.summary['examples']}")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStore]:
    """One full demo (200 engineers) on SQLite, shared by a module's tests."""
    directory = tmp_path_factory.mktemp("demo")
    runner = Cli(sqlite_env(directory), demo_secrets(DEMO_SEED, DEMO_ENGINEERS))
    summary = runner.json(
        "demo", "--engineers", str(DEMO_ENGINEERS), "--seed", str(DEMO_SEED), "--quiet"
    )
    yield DemoStore(runner, summary)


def require_postgres() -> None:
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
