"""`registry bench` smoke tests: it runs, prints the table and writes well-formed JSON.

No timing assertions: only that every figure carries a value, a baseline measured in the
same run, the ratio between them and its target verdict, and that the machine is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.catalogue import benchmark_names
from bench.framework import Figure, Target, percentile
from registry.cli import app

FIGURE_FIELDS = {
    "name",
    "figure",
    "unit",
    "value",
    "baseline",
    "baseline_title",
    "ratio",
    "target",
    "met",
    "params",
}


def _run(tmp_path: Path, *args: str) -> tuple[str, dict[str, object]]:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        ["bench", "--quick", "--no-progress", "--json-out", str(out), *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert isinstance(data, dict)
    return result.stdout, data


def test_quick_credentials_emits_figures_with_baselines(tmp_path: Path) -> None:
    stdout, data = _run(tmp_path, "--only", "credentials")
    assert data["mode"] == "quick"
    machine = data["machine"]
    assert isinstance(machine, dict)
    assert machine["cores"] and machine["python"] and machine["cpu_model"]
    assert machine["packages"]["eventsourcing"]  # type: ignore[index]
    figures = data["figures"]
    assert isinstance(figures, list) and figures
    names = {f["name"] for f in figures}
    assert "credentials.verify" in names
    for f in figures:
        assert set(f) >= FIGURE_FIELDS
        assert f["value"] > 0 and f["baseline"] > 0
        assert f["ratio"] == pytest.approx(f["value"] / f["baseline"], rel=1e-2)
    verify = next(f for f in figures if f["name"] == "credentials.verify")
    assert verify["target"] == "ratio ≥ 0.5"
    assert verify["met"] in (True, False)
    assert "credential" in stdout and "ratio" in stdout


def test_unknown_benchmark_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "--quick", "--only", "nonsense", "--json-out", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 2
    assert "unknown benchmark" in result.output
    assert not (tmp_path / "x.json").exists()


def test_every_benchmark_is_registered() -> None:
    assert set(benchmark_names()) == {
        "writes",
        "projections",
        "credentials",
        "qr",
        "batch_issue",
        "http",
        "lookup",
    }


def test_ratio_and_verdict_for_rates_and_latencies() -> None:
    rate = Figure("r", "rate", "ops/s", 80, "base", 100, target=Target("ratio_at_least", 0.8))
    assert rate.ratio == pytest.approx(0.8) and rate.met is True
    slow = Figure(
        "l",
        "latency",
        "ms",
        12,
        "base",
        3,
        higher_is_better=False,
        target=Target("value_at_most", 10),
    )
    assert slow.ratio == pytest.approx(0.25) and slow.met is False
    assert Figure("i", "info", "x", 1, "b", 2).met is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
