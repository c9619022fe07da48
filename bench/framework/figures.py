"""What a benchmark produces: figures beside their same-run baseline, with a target.

- ``ratio`` is always "how fast are we relative to the baseline" (1.0 = as fast, higher is
  better): ``value / baseline`` for rates, ``baseline / value`` for latencies.
- a target is either a ratio floor (``ratio >= 0.8``) or an absolute ceiling on the value
  (``p99 <= 10 ms``); figures without a target are informational.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.table import Table

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
