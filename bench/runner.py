"""`registry bench`: run the benchmarks, print figure / baseline / ratio / target, write JSON.

Every figure is measured beside a baseline in the same run and on the same machine, so the
ratio says what the registry costs on top of the library or primitive it is built on:

- ``ratio`` is always "how fast are we relative to the baseline" (1.0 = as fast, higher is
  better): ``value / baseline`` for rates, ``baseline / value`` for latencies.
- a target is either a ratio floor (``ratio >= 0.8``) or an absolute ceiling on the value
  (``p99 <= 10 ms``); figures without a target are informational.

Benchmarks register under a short name (``writes``, ``projections``, ``credentials``,
``qr``, ``batch_issue``, ``http``, ``lookup``); ``--only`` picks some of them.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

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
from rich.table import Table

from registry.application.settings import Settings

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_DSN_ENV = "REGISTRY_BENCH_POSTGRES_DSN"
RESULTS_DIR = Path(__file__).parent / "results"

TargetKind = Literal["ratio_at_least", "value_at_most"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    threshold: float

    def describe(self, unit: str) -> str:
        if self.kind == "ratio_at_least":
            return f"ratio ≥ {self.threshold:g}"
        return f"≤ {self.threshold:g} {unit}"


@dataclass
class Figure:
    """One measured figure with the baseline measured in the same run."""

    name: str
    title: str
    unit: str
    value: float
    baseline_title: str
    baseline: float
    higher_is_better: bool = True
    target: Target | None = None
    notes: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.value <= 0 or self.baseline <= 0:
            return 0.0
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.target.kind == "ratio_at_least":
            return self.ratio >= self.target.threshold
        return self.value <= self.target.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figure": self.title,
            "unit": self.unit,
            "value": round(self.value, 4),
            "baseline": round(self.baseline, 4),
            "baseline_title": self.baseline_title,
            "ratio": round(self.ratio, 4),
            "higher_is_better": self.higher_is_better,
            "target": None if self.target is None else self.target.describe(self.unit),
            "target_kind": None if self.target is None else self.target.kind,
            "target_threshold": None if self.target is None else self.target.threshold,
            "met": self.met,
            "notes": self.notes,
            "params": self.params,
        }


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
            import psycopg

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
        import psycopg

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


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])


def latency_summary(samples_s: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / mean in milliseconds."""
    ordered = sorted(samples_s)
    return {
        "p50_ms": percentile(ordered, 50) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


# ------------------------------------------------------------------ registry of benchmarks

BenchFn = Callable[[BenchContext], list[Figure]]


def _benchmarks() -> dict[str, tuple[str, BenchFn]]:
    from bench import credentials as credentials_bench
    from bench import lookup, projections, qr, writes

    def credentials(ctx: BenchContext) -> list[Figure]:
        return credentials_figures(credentials_bench.run(quick=ctx.quick, console=ctx.console))

    return {
        "writes": ("event writes/s: registry commands vs bare eventsourcing", writes.run),
        "projections": ("projection catch-up / rebuild vs raw notification reads", projections.run),
        "credentials": ("offline credential verify vs raw Ed25519", credentials),
        "qr": ("QR PNG generation vs zxing-cpp encoder", qr.run_qr),
        "batch_issue": ("batch certificate issue (sign + QR PNG + event)", qr.run_batch),
        "http": ("HTTP verification vs FastAPI hello-world", _http),
        "lookup": ("status / as-of lookups on a large PostgreSQL store", lookup.run),
    }


def _http(ctx: BenchContext) -> list[Figure]:
    """`bench.http` (the verify_api engineer's load test), at 50 and 200 clients.

    Only its functions are called: `seed` (an SQLite store with one active registration
    and its credential), `server` (uvicorn in its own process) and `load_process` (the
    asyncio/httpx load generator in a third process). Hello-world and the verification
    API are measured one after the other at each concurrency.
    """
    import json as _json

    from bench import http as http_bench

    seconds = 3.0 if ctx.quick else 10.0
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-", dir=ctx.workdir) as tmp:
        store, keys, credential = http_bench.seed(Path(tmp))
        env = {
            "REGISTRY_SETTINGS": str(Path(tmp) / "none.toml"),
            "REGISTRY_STORE": "sqlite",
            "REGISTRY_SQLITE_PATH": str(store),
            "REGISTRY_KEYS_DIR": str(keys),
            "REGISTRY_RATE_LIMIT_PER_MINUTE": "0",  # measure the service, not the limiter
        }
        body = _json.dumps({"credential": credential})
        hello: dict[int, dict[str, Any]] = {}
        ours: dict[int, dict[str, Any]] = {}
        with ctx.progress() as progress, tracked(progress, "http: load runs", 4) as advance:
            with http_bench.server("bench.http:hello_app", False, env) as url:
                for clients in (50, 200):
                    hello[clients] = http_bench.load_process(
                        "GET", f"{url}/hello", None, clients, seconds
                    )
                    advance(1)
            with http_bench.server("verify_api.app:create_app", True, env) as url:
                for clients in (50, 200):
                    ours[clients] = http_bench.load_process(
                        "POST", f"{url}/api/v1/verify", body, clients, seconds
                    )
                    advance(1)
    for clients in (50, 200):
        h, o = hello[clients], ours[clients]
        params = {
            "clients": clients,
            "seconds": seconds,
            "requests": o["requests"],
            "errors": o["errors"],
            "baseline_requests": h["requests"],
            "baseline_errors": h["errors"],
            "server": "uvicorn, 1 worker; load generator in a separate process",
        }
        figures.append(
            Figure(
                name=f"http.verify.c{clients}.rps",
                title=f"HTTP POST /api/v1/verify, {clients} clients",
                unit="req/s",
                value=float(o["rps"]),
                baseline_title="FastAPI hello-world GET, same server setup",
                baseline=float(h["rps"]),
                target=Target("ratio_at_least", 0.5),
                params=dict(params),
                notes="offline signature check + live status lookup per request",
            )
        )
        for pct in ("p50", "p99"):
            figures.append(
                Figure(
                    name=f"http.verify.c{clients}.{pct}",
                    title=f"HTTP POST /api/v1/verify latency {pct}, {clients} clients",
                    unit="ms",
                    value=float(o[f"{pct}_ms"]),
                    baseline_title=f"FastAPI hello-world {pct}",
                    baseline=float(h[f"{pct}_ms"]),
                    higher_is_better=False,
                    params=dict(params),
                )
            )
    return figures


def benchmark_names() -> list[str]:
    return list(_benchmarks())


def credentials_figures(result: dict[str, Any]) -> list[Figure]:
    """`bench.credentials.run` figures as rows: verify (target ≥ 0.5) and sign vs raw."""
    n = int(result["iterations"])
    return [
        Figure(
            name="credentials.verify",
            title="offline credential verifications/s (decode+COSE+Ed25519+expiry)",
            unit="verifications/s",
            value=float(result["verify_per_s"]),
            baseline_title="raw Ed25519 verify (cryptography)",
            baseline=float(result["raw_ed25519_verify_per_s"]),
            target=Target("ratio_at_least", 0.5),
            params={"iterations": n, "credential_chars": result["credential_chars"]},
        ),
        Figure(
            name="credentials.sign",
            title="credential issues/s (CWT+COSE_Sign1+zlib+Base45)",
            unit="credentials/s",
            value=float(result["sign_per_s"]),
            baseline_title="raw Ed25519 sign (cryptography)",
            baseline=float(result["raw_ed25519_sign_per_s"]),
            params={"iterations": n, "qr_version": result["qr_version"]},
        ),
    ]


# --------------------------------------------------------------------------- machine


def machine_info(postgres_dsn: str | None = None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    packages: dict[str, str | None] = {}
    for name in (
        "eventsourcing",
        "psycopg",
        "psycopg-pool",
        "cryptography",
        "cbor2",
        "qrcode",
        "zxing-cpp",
        "pillow",
        "fastapi",
        "uvicorn",
        "httpx",
        "rich",
    ):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    info: dict[str, Any] = {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": packages,
    }
    if postgres_dsn:
        try:
            import psycopg

            with psycopg.connect(postgres_dsn, connect_timeout=3) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                info["postgresql"] = str(row[0]) if row else None
                sync = conn.execute("SHOW synchronous_commit").fetchone()
                info["postgresql_synchronous_commit"] = str(sync[0]) if sync else None
        except Exception as exc:  # the machine record must not fail the run
            info["postgresql"] = f"unreachable ({type(exc).__name__})"
    return info


# ------------------------------------------------------------------------------ run


@dataclass
class BenchRun:
    quick: bool
    started: datetime
    seconds: float
    machine: dict[str, Any]
    figures: list[Figure]
    skipped: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.started.isoformat(timespec="seconds"),
            "mode": "quick" if self.quick else "full",
            "seconds": round(self.seconds, 1),
            "machine": self.machine,
            "figures": [f.as_dict() for f in self.figures],
            "skipped": self.skipped,
        }


def run_benchmarks(
    *,
    quick: bool,
    only: Sequence[str] = (),
    console: Console | None = None,
    postgres_dsn: str | None = None,
    show_progress: bool = True,
    on_figures: Callable[[str, list[Figure]], None] | None = None,
) -> BenchRun:
    """Run the chosen benchmarks (all by default); a failing one is recorded, not fatal."""
    available = _benchmarks()
    unknown = [name for name in only if name not in available]
    if unknown:
        raise BenchError(f"unknown benchmark(s) {unknown}; choose from {sorted(available)}")
    chosen = list(only) or list(available)
    console = console or Console()
    dsn = postgres_dsn or os.environ.get(POSTGRES_DSN_ENV) or DEFAULT_POSTGRES_DSN
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    figures: list[Figure] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        ctx = BenchContext(
            quick=quick,
            console=console,
            workdir=Path(tmp),
            postgres_dsn=dsn,
            show_progress=show_progress,
        )
        for name in chosen:
            title, fn = available[name]
            ctx.note(f"— {name}: {title}{' (quick)' if quick else ''}")
            begin = time.perf_counter()
            try:
                produced = fn(ctx)
            except BenchError as exc:
                skipped[name] = str(exc)
                ctx.note(f"  skipped {name}: {exc}")
                continue
            except Exception as exc:  # one broken benchmark must not lose the others' figures
                skipped[name] = f"failed: {type(exc).__name__}: {exc}"
                ctx.note(f"  {name} failed: {type(exc).__name__}: {exc}")
                continue
            for figure in produced:
                figure.params.setdefault("benchmark_seconds", round(time.perf_counter() - begin, 1))
            figures.extend(produced)
            if on_figures is not None:
                on_figures(name, produced)
    return BenchRun(
        quick=quick,
        started=started,
        seconds=time.perf_counter() - t0,
        machine=machine_info(dsn),
        figures=figures,
        skipped=skipped,
    )


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def results_table(figures: Sequence[Figure], title: str = "Benchmarks") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target")
    table.add_column("met?")
    for f in figures:
        met = f.met
        mark = "—" if met is None else ("[green]yes[/green]" if met else "[red]no[/red]")
        table.add_row(
            f"{f.title}\n[dim]{f.name}[/dim]",
            f"{_fmt(f.value)} {f.unit}",
            f"{_fmt(f.baseline)}\n[dim]{f.baseline_title}[/dim]",
            f"{f.ratio:.2f}",
            "—" if f.target is None else f.target.describe(f.unit),
            mark,
        )
    return table


def write_json(run: BenchRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return path


def default_json_path(run: BenchRun) -> Path:
    stamp = run.started.strftime("%Y-%m-%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}-{'quick' if run.quick else 'full'}.json"
