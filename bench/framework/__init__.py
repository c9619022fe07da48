"""The benchmark framework: figures and targets, the context, baselines, the runner.

Benchmarks import from here; the framework imports no benchmark (they are listed in
`bench.catalogue`), so the dependency runs one way only.
"""

from __future__ import annotations

from bench.framework.baselines import BareApp, Tick, TxSizes, bare_app, save_like
from bench.framework.context import (
    DEFAULT_POSTGRES_DSN,
    POSTGRES_DSN_ENV,
    BenchContext,
    BenchError,
    tracked,
)
from bench.framework.figures import (
    Figure,
    Target,
    TargetKind,
    latency_summary,
    percentile,
    results_table,
)
from bench.framework.machine import machine_info
from bench.framework.runner import (
    RESULTS_DIR,
    BenchFn,
    Benchmark,
    BenchRun,
    default_json_path,
    run_benchmarks,
    write_json,
)

__all__ = [
    "DEFAULT_POSTGRES_DSN",
    "POSTGRES_DSN_ENV",
    "RESULTS_DIR",
    "BareApp",
    "BenchContext",
    "BenchError",
    "BenchFn",
    "BenchRun",
    "Benchmark",
    "Figure",
    "Target",
    "TargetKind",
    "Tick",
    "TxSizes",
    "bare_app",
    "default_json_path",
    "latency_summary",
    "machine_info",
    "percentile",
    "results_table",
    "run_benchmarks",
    "save_like",
    "tracked",
    "write_json",
]
