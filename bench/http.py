"""HTTP verification throughput: our verify endpoints beside a FastAPI hello-world, same run.

Both apps run under uvicorn (one worker each, separate processes); the load generator is a
third process (asyncio + httpx, 50 concurrent clients, keep-alive). Figures: requests/s and
p50/p99 latency per endpoint, and the ratio of each to hello-world on the same machine.

    .venv/bin/python -m bench.http [--quick] [--clients 50] [--seconds 10]

The hello-world app and the load generator live in `bench.load`, which imports no registry
code, so the baseline server and the load generator stay lean.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench.framework import BenchContext, Figure, Target, tracked
from bench.load import load_process
from domain.actors import Actor, Role
from domain.personal import PersonalData
from registry.application import (
    Apply,
    Approve,
    AttachEvidence,
    StartReview,
    Submit,
    issue_certificate,
)
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.bootstrap import open_app, open_credential_archive
from registry.credentials import KeyStore
from registry.samples import id_number, required_evidence

HELLO_APP = "bench.load:hello_app"  # the baseline server's uvicorn target

# ----------------------------------------------------------------------------- set-up


def seed(directory: Path) -> tuple[Path, Path, str]:
    """An SQLite store with one active registration and its signed credential."""
    settings = Settings(
        sqlite_path=directory / "registry.sqlite",
        keys_dir=directory / "keys",
        create_missing_secrets=True,
    )
    keys = KeyStore(settings.keys_dir)
    keys.generate()
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=30))
    app = open_app(settings, clock=clock)
    engineer = Actor("engineer-1", Role.ENGINEER)
    reviewer = Actor("reviewer-1", Role.REVIEWER)
    facts = {
        "projects": [
            {
                "name": "政务云实施",
                "start": "2019-03-01",
                "end": "2019-12-31",
                "role": "实施",
                "outcome": "上线",
            },
            {
                "name": "MES 部署",
                "start": "2020-02-01",
                "end": "2020-10-31",
                "role": "负责人",
                "outcome": "覆盖 3 个车间",
            },
        ],
        "employer": {"id": "emp-1", "name": "某软件公司", "job_description": "系统实施"},
        "skills": "SAP 实施",
    }
    person = PersonalData("张小三", id_number(1), phone="13800138000")
    rid = app.handle(Apply("SIE", person, facts), engineer)
    for ref, content in required_evidence(1):
        app.handle(AttachEvidence(rid.registration_id, ref, content), engineer)
    app.handle(Submit(rid.registration_id), engineer)
    app.handle(StartReview(rid.registration_id), reviewer)
    app.handle(Approve(rid.registration_id), reviewer)
    registrar = Actor("registrar-1", Role.REGISTRAR)
    archive = open_credential_archive(app)
    credential = issue_certificate(app, archive, keys, rid.registration_id, registrar).credential
    app.close()
    return settings.sqlite_path, settings.keys_dir, credential


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(target: str, factory: bool, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if factory:
        args.append("--factory")
    process = subprocess.Popen(args, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"server {target} did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(ctx: BenchContext) -> list[Figure]:
    """The `registry bench` benchmark: verification vs hello-world at 50 and 200 clients.

    `seed` makes an SQLite store with one active registration and its credential, `server`
    runs uvicorn in its own process and `load_process` the load generator in a third.
    Hello-world and the verification API are measured one after the other at each
    concurrency.
    """
    seconds = 3.0 if ctx.quick else 10.0
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-http-", dir=ctx.workdir) as tmp:
        store, keys, credential = seed(Path(tmp))
        env = {
            "REGISTRY_SETTINGS": str(Path(tmp) / "none.toml"),
            "REGISTRY_STORE": "sqlite",
            "REGISTRY_SQLITE_PATH": str(store),
            "REGISTRY_KEYS_DIR": str(keys),
            "REGISTRY_RATE_LIMIT_PER_MINUTE": "0",  # measure the service, not the limiter
        }
        body = json.dumps({"credential": credential})
        hello: dict[int, dict[str, Any]] = {}
        ours: dict[int, dict[str, Any]] = {}
        with ctx.progress() as progress, tracked(progress, "http: load runs", 4) as advance:
            with server(HELLO_APP, False, env) as url:
                for clients in (50, 200):
                    hello[clients] = load_process("GET", f"{url}/hello", None, clients, seconds)
                    advance(1)
            with server("verify_api.app:create_app", True, env) as url:
                for clients in (50, 200):
                    ours[clients] = load_process(
                        "POST", f"{url}/api/v1/verify", body, clients, seconds
                    )
                    advance(1)
    for clients in (50, 200):
        h, o = hello[clients], ours[clients]
        params = {
            "clients": clients,
            "seconds": seconds,
            "requests": o["requests"],
            "errors": o["errors"],
            "baseline_requests": h["requests"],
            "baseline_errors": h["errors"],
            "server": "uvicorn, 1 worker; load generator in a separate process",
        }
        figures.append(
            Figure(
                name=f"http.verify.c{clients}.rps",
                title=f"HTTP POST /api/v1/verify, {clients} clients",
                unit="req/s",
                value=float(o["rps"]),
                baseline_title="FastAPI hello-world GET, same server setup",
                baseline=float(h["rps"]),
                target=Target("ratio_at_least", 0.5),
                params=dict(params),
                notes="offline signature check + live status lookup per request",
            )
        )
        for pct in ("p50", "p99"):
            figures.append(
                Figure(
                    name=f"http.verify.c{clients}.{pct}",
                    title=f"HTTP POST /api/v1/verify latency {pct}, {clients} clients",
                    unit="ms",
                    value=float(o[f"{pct}_ms"]),
                    baseline_title=f"FastAPI hello-world {pct}",
                    baseline=float(h[f"{pct}_ms"]),
                    higher_is_better=False,
                    params=dict(params),
                )
            )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        store, keys, credential = seed(Path(tmp))
        env = {
            "REGISTRY_SETTINGS": str(Path(tmp) / "none.toml"),
            "REGISTRY_SQLITE_PATH": str(store),
            "REGISTRY_KEYS_DIR": str(keys),
            "REGISTRY_RATE_LIMIT_PER_MINUTE": "0",  # measure the service, not the limiter
        }
        results: dict[str, dict[str, Any]] = {}
        with server(HELLO_APP, False, env) as hello_url:
            results["hello-world GET /hello"] = load_process(
                "GET", f"{hello_url}/hello", None, args.clients, seconds
            )
        with server("verify_api.app:create_app", True, env) as url:
            results["verify API POST /api/v1/verify"] = load_process(
                "POST",
                f"{url}/api/v1/verify",
                json.dumps({"credential": credential}),
                args.clients,
                seconds,
            )
            results["verify page GET /v?c=…"] = load_process(
                "GET", f"{url}/v?c={quote(credential, safe='')}", None, args.clients, seconds
            )
            number = json.loads(
                httpx.post(f"{url}/api/v1/verify", json={"credential": credential}).text
            )["registration"]["number"]
            results["lookup GET /api/v1/lookup/{n}"] = load_process(
                "GET", f"{url}/api/v1/lookup/{number}", None, args.clients, seconds
            )
    base = results["hello-world GET /hello"]["rps"]
    print(
        f"{args.clients} concurrent clients, {seconds:.0f} s each, uvicorn 1 worker, "
        f"{os.cpu_count()} CPUs, load generator in a separate process"
    )
    print(f"{'endpoint':36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs hello':>9}")
    for name, r in results.items():
        print(
            f"{name:36} {r['rps']:9.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{r['errors']:7d} {r['rps'] / base:9.2f}"
        )


if __name__ == "__main__":
    main()
