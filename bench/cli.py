"""`registry bench`: every benchmark with its same-run baseline, ratio and target.

A CLI plugin (entry point group ``registry.cli``): the registry never imports the
benchmarks; the root command loads this module only when `registry bench` is run.
Prints the table on stdout and writes the results (date, machine, figures) as JSON: to
``--json-out FILE``, else to ``bench/results/<UTC timestamp>-<quick|full>.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.catalogue import BENCHMARKS, benchmark_names
from bench.framework import (
    BenchError,
    default_json_path,
    results_table,
    run_benchmarks,
    write_json,
)

app = typer.Typer()


@app.command("bench", rich_help_panel="Operations")
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller sizes (under 3 minutes); said in each figure.")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this benchmark (repeat or comma-separate): "
            + ", ".join(benchmark_names())
            + ".",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Where to write the JSON results.")
    ] = None,
    postgres_dsn: Annotated[
        str | None,
        typer.Option(
            "--postgres-dsn",
            help="PostgreSQL for the PostgreSQL figures (default: $REGISTRY_BENCH_POSTGRES_DSN "
            "or postgresql://postgres@127.0.0.1:5432/test); a fresh schema per run, dropped after.",
        ),
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bars on stderr.")
    ] = False,
) -> None:
    """Measure writes, projections, credentials, QR, batch issue, HTTP and lookups."""
    names = [part.strip() for item in only or [] for part in item.split(",") if part.strip()]
    console = Console()
    if not console.is_terminal:  # files and pipes get the whole table, unwrapped
        console = Console(width=220)
    started = time.perf_counter()
    try:
        result = run_benchmarks(
            BENCHMARKS,
            quick=quick,
            only=names,
            console=Console(stderr=True),
            postgres_dsn=postgres_dsn,
            show_progress=not no_progress,
        )
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    mode = "quick" if quick else "full"
    console.print(
        results_table(
            result.figures,
            title=f"registry bench ({mode}) — {result.machine['cpu_model']}, "
            f"{result.machine['cores']} cores, {result.machine['ram_gib']} GiB",
        )
    )
    for name, reason in result.skipped.items():
        console.print(f"skipped {name}: {reason}")
    path = write_json(result, json_out or default_json_path(result))
    console.print(
        f"{len(result.figures)} figures in {time.perf_counter() - started:.0f} s → {path}"
    )
    if any(reason.startswith("failed") for reason in result.skipped.values()):
        raise typer.Exit(1)
