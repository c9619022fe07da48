"""The machine a run measured: CPU, cores, RAM, OS, library versions, PostgreSQL settings."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg


def machine_info(postgres_dsn: str | None = None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    packages: dict[str, str | None] = {}
    for name in (
        "eventsourcing",
        "psycopg",
        "psycopg-pool",
        "cryptography",
        "cbor2",
        "qrcode",
        "zxing-cpp",
        "pillow",
        "fastapi",
        "uvicorn",
        "httpx",
        "rich",
    ):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    info: dict[str, Any] = {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": packages,
    }
    if postgres_dsn:
        try:
            with psycopg.connect(postgres_dsn, connect_timeout=3) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                info["postgresql"] = str(row[0]) if row else None
                sync = conn.execute("SHOW synchronous_commit").fetchone()
                info["postgresql_synchronous_commit"] = str(sync[0]) if sync else None
        except Exception as exc:  # the machine record must not fail the run
            info["postgresql"] = f"unreachable ({type(exc).__name__})"
    return info
