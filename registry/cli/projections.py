"""`registry projections`: rebuild the read models, catch up, show their position."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from projections import ProjectionError, RebuildInProgress
from registry.bootstrap import open_projections, registry_session
from registry.cli.common import QUERIES, JsonOpt
from registry.cli.output import EXIT_REFUSED, Output
from registry.cli.progress import progress_bar
from registry.cli.root import app

projections_app = typer.Typer(help="Read models: rebuild, catch up, status.", no_args_is_help=True)
app.add_typer(projections_app, name="projections", rich_help_panel=QUERIES)


def _projection_run(json_: JsonOpt, quiet: bool, rebuild: bool) -> None:
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        total = (registry.recorder.max_notification_id() or 0) if rebuild else projections.lag()
        label = "Rebuilding projections" if rebuild else "Catching up"
        started = time.perf_counter()
        with progress_bar(total, label, quiet=quiet) as bar:
            events = projections.rebuild(bar) if rebuild else projections.catch_up(bar)
        seconds = time.perf_counter() - started
        rate = events / seconds if seconds > 0 else 0.0
        data = {
            "events": events,
            "elapsed_seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
            "position": projections.position(),
        }
        verb = "rebuilt from" if rebuild else "caught up on"
        out.emit(
            data,
            [
                f"{verb} {events} events in {seconds:.2f} s ({rate:.0f} events/s); "
                f"position {data['position']}"
            ],
        )


@projections_app.command("rebuild")
def projections_rebuild(
    quiet: Annotated[bool, typer.Option("--quiet")] = False, json_: JsonOpt = False
) -> None:
    """Replay the whole event log into shadow tables, then switch them in atomically.

    The live read models keep answering (and the server keeps them current) until the
    switch, a single short transaction; a second rebuild of the same store is refused.
    """
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        total = registry.recorder.max_notification_id() or 0
        started = time.perf_counter()
        try:
            with progress_bar(total, "Rebuilding projections", quiet=quiet) as bar:
                events = projections.rebuild(bar)
        except RebuildInProgress as exc:
            out.fail("projections.rebuild_in_progress", str(exc), EXIT_REFUSED)
        except ProjectionError as exc:
            out.fail("projections.rebuild_failed", str(exc), EXIT_REFUSED)
        seconds = time.perf_counter() - started
        rate = events / seconds if seconds > 0 else 0.0
        report = projections.last_rebuild
        data = {
            "events": events,
            "elapsed_seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
            "position": projections.position(),
            "switch_attempts": report.switch_attempts if report else None,
            "switch_lock_ms": round(report.switch_seconds * 1000, 1) if report else None,
        }
        out.emit(
            data,
            [
                f"rebuilt from {events} events in {seconds:.2f} s ({rate:.0f} events/s); "
                f"position {data['position']}; switched in {data['switch_lock_ms']} ms"
            ],
        )


@projections_app.command("catch-up")
def projections_catch_up(
    quiet: Annotated[bool, typer.Option("--quiet")] = False, json_: JsonOpt = False
) -> None:
    """Apply the events recorded since the last run."""
    _projection_run(json_, quiet, rebuild=False)


@projections_app.command("status")
def projections_status(json_: JsonOpt = False) -> None:
    """Tracked position and lag behind the event log."""
    out = Output(json_)
    with out.guard(), registry_session() as registry:
        projections = open_projections(registry)
        data = {
            "position": projections.position(),
            "latest_event": registry.recorder.max_notification_id() or 0,
            "lag": projections.lag(),
            "store": registry.settings.describe_store(),
        }
        out.emit(data)
