"""The HTTP benchmark's other processes: the hello-world baseline app and the load generator.

Kept apart from `bench.http` so that neither imports the registry: the baseline server is
FastAPI alone, and the load generator (``python -m bench.load SPEC``, run in its own process
so it never shares the servers' GIL) is asyncio + httpx alone.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import httpx
from fastapi import FastAPI

hello_app = FastAPI()


@hello_app.get("/hello")
def hello() -> dict[str, str]:
    """The baseline: FastAPI's own per-request cost with no work behind it."""
    return {"hello": "world"}


async def _load(
    method: str, url: str, body: str | None, clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(min(clients, 20)):  # warm up connections and caches
            await client.request(
                method, url, content=body, headers={"Content-Type": "application/json"}
            )
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                r = await client.request(
                    method, url, content=body, headers={"Content-Type": "application/json"}
                )
                latencies.append(time.perf_counter() - started)
                if r.status_code != 200:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "rps": n / elapsed,
        "p50_ms": latencies[n // 2] * 1000 if n else None,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else None,
    }


def load_process(
    method: str, url: str, body: str | None, clients: int, seconds: float
) -> dict[str, Any]:
    """Run the load generator in its own process so it never shares the servers' GIL."""
    spec = json.dumps(
        {"method": method, "url": url, "body": body, "clients": clients, "seconds": seconds}
    )
    out = subprocess.run(
        [sys.executable, "-m", "bench.load", spec],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main(argv: list[str] | None = None) -> None:
    """Run one load (a JSON spec: method, url, body, clients, seconds); print its figures."""
    spec = json.loads((argv if argv is not None else sys.argv[1:])[0])
    result = asyncio.run(
        _load(spec["method"], spec["url"], spec["body"], spec["clients"], spec["seconds"])
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
