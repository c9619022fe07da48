"""Fault injection: a PostgreSQL cluster of the test's own, and a store the server uses.

`pg_cluster` runs `initdb` + `pg_ctl` into a temporary directory on a free port (as the
`postgres` user when the tests run as root), so a test may stop and start it at will; the
shared server on 5432 is never touched. Without PostgreSQL server binaries the tests skip
with the reason (and fail instead when REGISTRY_REQUIRE_POSTGRES is set).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.actors import Role
from registry.adapters.users import UserStore
from registry.application.clock import SimulatedClock
from registry.application.settings import Settings
from registry.bootstrap import open_app
from registry.credentials._internal.keystore import KeyStore
from tests.api.server import free_port
from tests.builders import approved


def skip_or_fail(reason: str) -> None:
    if os.environ.get("REGISTRY_REQUIRE_POSTGRES"):
        pytest.fail(f"REGISTRY_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


@dataclass
class Cluster:
    """A private PostgreSQL cluster: `stop()` it (immediate shutdown) and `start()` it again."""

    bindir: Path
    data: Path
    port: int
    run_as: list[str]

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1"
        self._pg_ctl(
            "-l", str(self.data.parent / "server.log"), "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self) -> None:
        """Like a crash or a kill: no checkpoint, clients are cut off mid-conversation."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture
def pg_cluster() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        skip_or_fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under "
            "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
        )
        raise AssertionError("unreachable")
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="registry-pgfault-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            skip_or_fail("running as root and there is no `postgres` user to run initdb as")
            raise AssertionError("unreachable") from None
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(bindir, root / "data", free_port(), run_as)
    try:
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(cluster.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            subprocess.run(
                [
                    *run_as,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(cluster.data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Seeded:
    settings: Settings
    registrar_token: str
    registration_id: str
    number: str


def seed(settings: Settings) -> Seeded:
    """A registrar and one approved registration in `settings`' store."""
    KeyStore(settings.keys_dir).generate()
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=40))
    registry = open_app(settings, clock=clock)
    try:
        _, token = UserStore(registry.db).create("registrar-user", Role.REGISTRAR)
        result = approved(registry, clock, 1)
    finally:
        registry.close()
    return Seeded(settings, token, str(result.registration_id), result.number or "")


def server_env(tmp_path: Path) -> dict[str, str]:
    return {
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
        "REGISTRY_RATE_LIMIT_PER_MINUTE": "1000000",
        "REGISTRY_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }


def chattr(flag: str, paths: list[Path]) -> str | None:
    """`chattr FLAG PATHS` (e.g. +i: immutable even for root); the reason it failed, or None."""
    try:
        done = subprocess.run(
            ["chattr", flag, *map(str, paths)], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        return "chattr is not installed (Debian: apt-get install e2fsprogs)"
    return None if done.returncode == 0 else done.stderr.strip() or f"exit {done.returncode}"


def make_immutable(paths: list[Path]) -> None:
    """chattr +i, or skip the test with the reason (e.g. not root, or tmpfs/overlayfs)."""
    problem = chattr("+i", paths)
    if problem:
        chattr("-i", paths)
        pytest.skip(f"cannot make the store read-only here (chattr +i): {problem}")
