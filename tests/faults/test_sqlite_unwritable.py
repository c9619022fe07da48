"""SQLite that cannot be written (a read-only file, a full disk) under the real server: 503
`store.unavailable` with Retry-After, `/readyz` not ready, and back to normal once the store
is writable again (issue 9 item 8)."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.application.settings import Settings
from tests.api.server import free_port, server_log, server_pid, uvicorn_server
from tests.faults.conftest import Seeded, chattr, make_immutable, seed, server_env


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    store = tmp_path / "store"
    store.mkdir()
    settings = Settings(
        sqlite_path=store / "registry.sqlite",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    seeded = seed(settings)
    port = free_port()
    with uvicorn_server(
        settings.sqlite_path, settings.keys_dir, port, extra_env=server_env(tmp_path)
    ) as url:
        yield url, seeded


def _write(client: httpx.Client, url: str, seeded: Seeded, course: str) -> httpx.Response:
    return client.post(
        f"{url}/api/v1/registrations/{seeded.registration_id}/ce",
        json={"hours": 1, "provider": "fault test", "course": course},
        headers={"Authorization": f"Bearer {seeded.registrar_token}"},
    )


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text[:300]
    assert r.json()["code"] == "store.unavailable"
    assert int(r.headers["retry-after"]) >= 1


def test_read_only_sqlite_store_is_503_and_recovers(sqlite_server: tuple[str, Seeded]) -> None:
    url, seeded = sqlite_server
    db = seeded.settings.sqlite_path
    with httpx.Client(timeout=60) as client:
        assert _write(client, url, seeded, "before").status_code == 200
        # The database, its write-ahead log and their directory become immutable (even root
        # cannot write); the shared-memory index stays, as SQLite maps it.
        frozen = [db, db.with_name(db.name + "-wal"), db.parent]
        make_immutable(frozen)
        try:
            _assert_unavailable(_write(client, url, seeded, "while read-only"))
            _assert_unavailable(client.get(f"{url}/readyz"))
            reads = client.get(
                f"{url}/api/v1/registrations/{seeded.registration_id}",
                headers={"Authorization": f"Bearer {seeded.registrar_token}"},
            )
            assert reads.status_code in {200, 503}, reads.text[:300]
        finally:
            chattr("-i", frozen)
        assert _write(client, url, seeded, "after").status_code == 200
        assert client.get(f"{url}/readyz").status_code == 200
        assert "Traceback" not in server_log(url)


def test_full_disk_is_503_and_recovers(sqlite_server: tuple[str, Seeded]) -> None:
    url, seeded = sqlite_server
    pid = server_pid(url)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    with httpx.Client(timeout=60) as client:
        assert _write(client, url, seeded, "before").status_code == 200
        # The server process may no longer write a byte to any file: a full disk, as SQLite
        # sees it, without filling the machine's.
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
        try:
            _assert_unavailable(_write(client, url, seeded, "while full"))
            _assert_unavailable(client.get(f"{url}/readyz"))
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
        assert _write(client, url, seeded, "after").status_code == 200
        assert client.get(f"{url}/readyz").status_code == 200
        assert "Traceback" not in server_log(url)
