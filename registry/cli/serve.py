"""`registry serve`: the verification service and registry API under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from registry.application.settings import ENV_PREFIX, Settings
from registry.bootstrap import registry_session
from registry.cli.root import app
from registry.credentials import KeyStore


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
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
    settings = Settings.load()
    trusted = trusted_proxies(settings, proxy_headers)
    # Open the store once, so an unreachable or unwritable one is one line and a
    # non-zero exit here, not a traceback from inside uvicorn.
    with registry_session(settings):
        pass
    run_server(settings, host=host, port=port, workers=workers, trusted=trusted)


def trusted_proxies(settings: Settings, proxy_headers: bool) -> list[str] | None:
    """The proxies whose forwarding headers are believed, or None when not asked to."""
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
    return trusted if proxy_headers else None


def run_server(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    trusted: list[str] | None = None,
) -> None:
    """Serve the store of `settings` under uvicorn (also `registry demo --serve`).

    `trusted`: the proxies whose X-Forwarded-For/-Proto are believed; None believes none.
    uvicorn and the HTTP app are imported here, not at the top: every `registry` command
    imports this module, and only serving needs them.
    """
    import uvicorn

    from verify_api.middleware_protocol import MAX_HEAD_BYTES, JsonErrorH11Protocol

    # QR codes and credential URLs point where this server listens unless the operator
    # configured the public base URL; the app (built by uvicorn's factory, which reads the
    # environment) is told through the same variable an operator would set.
    settings = settings.serving_at(host, port)
    os.environ[f"{ENV_PREFIX}PUBLIC_BASE_URL"] = settings.public_base_url
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
        f"(public base URL {settings.public_base_url}: QR codes and credential URLs point "
        "there; set REGISTRY_PUBLIC_BASE_URL to change it)",
        err=True,
    )
    uvicorn.run(
        "verify_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted or [],
        # Request line + headers up to 64 KiB reach the app (which refuses URLs over 8 KiB
        # with a JSON 414); anything h11 cannot parse is still answered in JSON.
        http=JsonErrorH11Protocol,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        log_level="info",
        access_log=False,  # URLs carry credentials; the app logs no personal data itself
    )
