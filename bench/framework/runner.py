"""Run a list of benchmarks, keep every figure, and write the run as JSON.

The benchmarks themselves are listed in `bench.catalogue`; this module only runs whatever
list it is given, so the framework never imports a benchmark (and no benchmark imports
the runner).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.framework.context import (
    DEFAULT_POSTGRES_DSN,
    POSTGRES_DSN_ENV,
    BenchContext,
    BenchError,
)
from bench.framework.figures import Figure
from bench.framework.machine import machine_info

RESULTS_DIR = Path(__file__).parent.parent / "results"

BenchFn = Callable[[BenchContext], list[Figure]]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: what it measures, and the function that measures it."""

    name: str
    title: str
    run: BenchFn


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
    benchmarks: Sequence[Benchmark],
    *,
    quick: bool,
    only: Sequence[str] = (),
    console: Console | None = None,
    postgres_dsn: str | None = None,
    show_progress: bool = True,
    on_figures: Callable[[str, list[Figure]], None] | None = None,
) -> BenchRun:
    """Run the chosen benchmarks (all by default); a failing one is recorded, not fatal."""
    available = {b.name: b for b in benchmarks}
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
            benchmark = available[name]
            ctx.note(f"— {name}: {benchmark.title}{' (quick)' if quick else ''}")
            begin = time.perf_counter()
            try:
                produced = benchmark.run(ctx)
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


def write_json(run: BenchRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return path


def default_json_path(run: BenchRun) -> Path:
    stamp = run.started.strftime("%Y-%m-%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}-{'quick' if run.quick else 'full'}.json"
