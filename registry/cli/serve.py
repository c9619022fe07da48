"""`registry serve`: the verification service and registry API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.cli.root import app
from registry.config import Settings


def _seed_demo(settings: Settings) -> None:
    """Run the demo when the store holds no registrations yet (`--demo`)."""
    from registry.clock import SimulatedClock
    from registry.demo import demo_start, demo_timeline_end, run_demo
    from registry.runtime import open_projections, registry_session

    end = demo_timeline_end(None)
    clock = SimulatedClock(demo_start(end))
    with registry_session(settings, clock) as registry:
        if next(iter(registry.registration_ids()), None) is not None:
            typer.echo("store already holds registrations; not seeding the demo", err=True)
            return
        typer.echo("seeding demo data (three simulated years)…", err=True)
        run_demo(registry, clock, end=end)
        open_projections(registry).catch_up()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed demo data first if the store is empty.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    proxy_headers: Annotated[
        bool, typer.Option("--proxy-headers", help="Trust X-Forwarded-For (behind a proxy).")
    ] = False,
) -> None:
    """Serve the public verification page, the JSON API and the registry API."""
    import uvicorn

    from registry.credentials.keystore import KeyStore

    # Only the demo may create missing secret key files; a real registry refuses to start.
    settings = Settings.load(create_missing_secrets=True) if demo else Settings.load()
    if demo:
        _seed_demo(settings)
    keys = KeyStore(settings.keys_dir)
    if not keys.list():
        key = keys.generate()
        typer.echo(
            f"no signing key yet: generated {key.alg.jose_name} key {key.kid_hex} "
            f"in {settings.keys_dir}",
            err=True,
        )
    typer.echo(
        f"serving {settings.describe_store()} on http://{host}:{port} "
        f"(public base URL {settings.public_base_url})",
        err=True,
    )
    uvicorn.run(
        "verify_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        log_level="info",
        access_log=False,  # URLs carry credentials; the app logs no personal data itself
    )
