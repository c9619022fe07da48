"""`registry demo`: the demo as a CLI plugin (entry point group ``registry.cli``).

Nothing in the registry imports the demo; the root command finds this module through the
package's entry points and loads it only when `registry demo` is run (or help is listed).
`registry demo --serve` seeds an empty store and then serves it, which is what `make demo`
runs: the demo composes `registry serve`, so `serve` itself needs no demo option.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from uuid import UUID

import typer

from projections import RegistryProjections
from registry.application import RegistryApp, issue_certificates
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.bootstrap import (
    open_credential_archive,
    open_projections,
    registry_session,
    reset_store,
    store_has_registrations,
)
from registry.cli.common import parse_date
from registry.cli.output import Output, table
from registry.cli.progress import progress_bar
from registry.cli.serve import run_server
from registry.credentials import KeyStore
from registry.demo import (
    DEFAULT_ENGINEERS,
    DEFAULT_SEED,
    SPAN_DAYS,
    demo_start,
    demo_timeline_end,
    run_demo,
)
from registry.demo.scheduler import REGISTRAR

app = typer.Typer()


@app.command("demo", rich_help_panel="Set-up")
def demo(
    engineers: Annotated[
        int, typer.Option("--engineers", min=60, max=20000, help="How many engineers.")
    ] = DEFAULT_ENGINEERS,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (same seed, same data).")
    ] = DEFAULT_SEED,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete everything in the store first.")
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Last simulated day (YYYY-MM-DD, default: now).", show_default=False
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then serve the store as `registry serve` does; a store that already holds "
            "registrations is served as it is.",
        ),
    ] = False,
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind (with --serve).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port (with --serve).")
    ] = 8000,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
) -> None:
    """Seed three simulated years of registry life: both schemes, every lifecycle path."""
    out = Output(json_)
    with out.guard():
        end = demo_timeline_end(parse_date(until, "--until"))
        # Only the demo (and init) may create missing secret key files.
        settings = Settings.load(create_missing_secrets=True)
        if fresh:
            out.print(f"[dim]{reset_store(settings)}[/dim]")
        clock = SimulatedClock(demo_start(end))
        with registry_session(settings, clock) as registry:
            if store_has_registrations(registry):
                if not serve:
                    out.fail(
                        "demo.store_not_empty",
                        f"{settings.describe_store()} already holds registrations; run "
                        "`registry demo --fresh` to start again",
                        1,
                    )
                typer.echo("store already holds registrations; not seeding the demo", err=True)
                data: dict[str, Any] | None = None
            else:
                with progress_bar(SPAN_DAYS, "Simulating 3 years", quiet=quiet) as bar:
                    result = run_demo(
                        registry, clock, seed=seed, engineers=engineers, end=end, progress=bar
                    )
                projections = open_projections(registry)
                started = time.perf_counter()
                with progress_bar(projections.lag(), "Building projections", quiet=quiet) as bar:
                    projected = projections.catch_up(bar)
                projection_seconds = time.perf_counter() - started
                issued = _issue_certificates(registry, clock, projections, quiet=quiet)
                data = {
                    **result.as_dict(),
                    "projections": {
                        "notifications": projected,
                        "elapsed_seconds": round(projection_seconds, 3),
                    },
                    "certificates": issued,
                }
        if data is not None:
            out.emit(data, _demo_human(data))
            if data["certificates"]["try"]:
                out.whole_line(
                    f"  try a certificate's QR link: {data['certificates']['try']['url']}"
                )
    if serve:
        run_server(settings, host=host, port=port)


def _issue_certificates(
    registry: RegistryApp, clock: SimulatedClock, projections: RegistryProjections, *, quiet: bool
) -> dict[str, Any]:
    """A certificate for every registration active at the end of the demo (the same use case
    as `registry certificates issue-batch`), and one verification URL to try. The demo makes
    the signing key when the key directory has none, its window open from the demo's start."""
    keys = KeyStore(registry.settings.keys_dir)
    if not keys.list():
        keys.generate(not_before=demo_start(clock.now()))
    ids: list[UUID] = []
    while True:
        page = projections.search(status="active", limit=1000, offset=len(ids))
        ids.extend(v.registration_id for v in page)
        if len(page) < 1000:
            break
    archive = open_credential_archive(registry)
    with progress_bar(len(ids), "Issuing certificates", quiet=quiet) as bar:
        outcomes = issue_certificates(registry, archive, keys, ids, REGISTRAR, bar)
    issued = [(o.number, o.issued.url) for o in outcomes if o.issued is not None]
    projections.catch_up()
    return {
        "issued": len(issued),
        "refused": len(outcomes) - len(issued),
        "try": {"number": issued[0][0], "url": issued[0][1]} if issued else None,
    }


def _demo_human(data: dict[str, Any]) -> list[Any]:
    statuses = sorted({s for per in data["counts"].values() for s in per})
    schemes = list(data["counts"])
    counts = table(
        ["status", *schemes, "total"],
        [
            [
                s,
                *(data["counts"][k].get(s, 0) for k in schemes),
                sum(data["counts"][k].get(s, 0) for k in schemes),
            ]
            for s in statuses
        ],
        title="Registrations now, by scheme and status",
    )
    examples: list[Any] = ["[bold]Examples[/bold] (active then, something else now):"]
    for e in data["examples"]:
        examples.append(f"  [cyan]{e['category']}[/cyan] {e['masked_name']} {e['story']}")
        examples.append(f"      try: registry status {e['number']} --as-of {e['active_on']}")
    return [
        f"Demo on [bold]{data['store']}[/bold]: {data['engineers']} engineers, "
        f"{data['registrations']} registrations, simulated {data['simulated_from'][:10]} → "
        f"{data['simulated_until'][:10]} (seed {data['seed']})",
        counts,
        f"events written: [bold]{data['events']}[/bold] in {data['elapsed_seconds']:.1f} s "
        f"([bold]{data['events_per_second']:.0f}[/bold] events/s, incl. monthly supervision "
        f"sweeps); projections: {data['projections']['notifications']} notifications in "
        f"{data['projections']['elapsed_seconds']:.1f} s",
        "scheme rules fired: "
        + (", ".join(f"{k} ×{v}" for k, v in data["rule_events"].items()) or "none")
        + "; commands refused (nothing written): "
        + (", ".join(f"{k} ×{v}" for k, v in data["refusals"].items()) or "none"),
        *examples,
        *_certificates_human(data.get("certificates")),
    ]


def _certificates_human(certificates: dict[str, Any] | None) -> list[str]:
    if not certificates:
        return []
    refused = f" (refused {certificates['refused']})" if certificates["refused"] else ""
    return [
        f"certificates issued for every active registration: [bold]{certificates['issued']}"
        f"[/bold]{refused}"
    ]
