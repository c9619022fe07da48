"""The list of benchmarks `registry bench` runs, in order, under their `--only` names.

Adding a benchmark is one row here; the framework (`bench.framework`) never imports one.
"""

from __future__ import annotations

from bench import credentials, http, lookup, projections, qr, writes
from bench.framework import Benchmark

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("writes", "event writes/s: registry commands vs bare eventsourcing", writes.run),
    Benchmark(
        "projections", "projection catch-up / rebuild vs raw notification reads", projections.run
    ),
    Benchmark("credentials", "offline credential verify vs raw Ed25519", credentials.run_figures),
    Benchmark("qr", "QR PNG generation vs zxing-cpp encoder", qr.run_qr),
    Benchmark("batch_issue", "batch certificate issue (sign + QR PNG + event)", qr.run_batch),
    Benchmark("http", "HTTP verification vs FastAPI hello-world", http.run),
    Benchmark("lookup", "status / as-of lookups on a large PostgreSQL store", lookup.run),
)


def benchmark_names() -> list[str]:
    return [b.name for b in BENCHMARKS]
