"""`registry serve`: the verification service and registry API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.application.settings import Settings
from registry.cli.root import app


def _seed_demo(settings: Settings) -> None:
    """Run the demo when the store holds no registrations yet (`--demo`)."""
    from registry.application.clock import SimulatedClock
    from registry.bootstrap import open_projections, registry_session
    from registry.demo import demo_start, demo_timeline_end, run_demo

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
        bool,
        typer.Option(
            "--proxy-headers",
            help="Believe X-Forwarded-For/-Proto from the proxies in REGISTRY_TRUSTED_PROXIES.",
        ),
    ] = False,
) -> None:
    """Serve the public verification page, the JSON API and the registry API."""
    import uvicorn

    from registry.bootstrap import registry_session
    from registry.credentials import KeyStore
    from verify_api.middleware_protocol import MAX_HEAD_BYTES, JsonErrorH11Protocol

    # Only the demo may create missing secret key files; a real registry refuses to start.
    settings = Settings.load(create_missing_secrets=True) if demo else Settings.load()
    trusted = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    if proxy_headers and not trusted:
        # uvicorn would otherwise believe any X-Forwarded-For from 127.0.0.1, so a client
        # behind a local proxy could claim a fresh address (and rate limit) every time
        typer.echo(
            "error [input.invalid]: --proxy-headers needs REGISTRY_TRUSTED_PROXIES "
            "(the addresses or CIDRs of your reverse proxies)",
            err=True,
        )
        raise typer.Exit(2)
    if demo:
        _seed_demo(settings)
    else:
        # Open the store once, so an unreachable or unwritable one is one line and a
        # non-zero exit here, not a traceback from inside uvicorn.
        with registry_session(settings):
            pass
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
        forwarded_allow_ips=trusted if proxy_headers else [],
        # Request line + headers up to 64 KiB reach the app (which refuses URLs over 8 KiB
        # with a JSON 414); anything h11 cannot parse is still answered in JSON.
        http=JsonErrorH11Protocol,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        log_level="info",
        access_log=False,  # URLs carry credentials; the app logs no personal data itself
    )
