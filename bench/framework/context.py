"""What every benchmark gets: size mode, output, a scratch directory, fresh stores."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from registry.application.settings import Settings

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_DSN_ENV = "REGISTRY_BENCH_POSTGRES_DSN"


class BenchError(RuntimeError):
    """A benchmark could not run (for example: PostgreSQL is not reachable)."""


@dataclass
class BenchContext:
    """What every benchmark gets: size mode, output, a scratch directory, the PostgreSQL DSN."""

    quick: bool
    console: Console
    workdir: Path
    postgres_dsn: str = DEFAULT_POSTGRES_DSN
    show_progress: bool = True

    def size(self, quick: int, full: int) -> int:
        return quick if self.quick else full

    def sqlite_settings(self, label: str) -> Settings:
        return Settings(
            sqlite_path=self.workdir / f"{label}-{uuid.uuid4().hex[:8]}.sqlite",
            keys_dir=self.workdir / "keys",
            create_missing_secrets=True,
        )

    def postgres_settings(self, schema: str) -> Settings:
        url = urlparse(self.postgres_dsn)
        return Settings(
            store="postgres",
            postgres_host=url.hostname or "127.0.0.1",
            postgres_port=url.port or 5432,
            postgres_dbname=(url.path or "/postgres").lstrip("/") or "postgres",
            postgres_user=url.username or "postgres",
            postgres_password=url.password or "",
            postgres_schema=schema,
            keys_dir=self.workdir / "keys",
            create_missing_secrets=True,
        )

    def postgres_problem(self) -> str | None:
        try:
            with psycopg.connect(self.postgres_dsn, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # any failure means: PostgreSQL figures cannot be measured
            return f"PostgreSQL not reachable at {self.postgres_dsn}: {type(exc).__name__}"
        return None

    @contextmanager
    def postgres_schema(self, label: str) -> Iterator[Settings]:
        """A fresh schema for one measurement, dropped afterwards whatever happens."""
        problem = self.postgres_problem()
        if problem:
            raise BenchError(problem)

        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.postgres_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield self.postgres_settings(schema)
        finally:
            with psycopg.connect(self.postgres_dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def progress(self) -> Progress:
        """A rich progress display on stderr for long loops (transient: the table stays)."""
        return Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not self.show_progress,
        )

    def note(self, message: str) -> None:
        Console(stderr=True).print(f"[dim]{message}[/dim]")


@contextmanager
def tracked(progress: Progress, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A task on `progress`; yields an ``advance(n)`` callback."""
    task: TaskID = progress.add_task(description, total=total)

    def advance(n: int = 1) -> None:
        progress.advance(task, n)

    try:
        yield advance
    finally:
        progress.update(task, completed=total)
        progress.remove_task(task)
