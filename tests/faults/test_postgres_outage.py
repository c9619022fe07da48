"""PostgreSQL stops under load and comes back: the real server answers 503 (never 500) with
Retry-After while it is down, recovers by itself, and loses no acknowledged write (issue 9
item 8). The cluster is the test's own (`pg_cluster`), never the shared server."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from registry.application.settings import Settings
from tests.api.server import free_port, server_log, uvicorn_server
from tests.faults.conftest import Cluster, seed, server_env

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int
    code: str | None
    retry_after: str | None
    course: str | None = None


class Load:
    """Writers and readers hammering the server until told to stop; every answer is kept."""

    def __init__(self, url: str, token: str, registration_id: str, number: str) -> None:
        self.url = url
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rid = registration_id
        self.number = number
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._writer, daemon=True),
            threading.Thread(target=self._reader, daemon=True),
        ]

    def _record(self, kind: str, started: float, r: httpx.Response, course: str | None) -> None:
        try:
            code = r.json().get("code") if r.status_code >= 400 else None
        except ValueError:
            code = "<not json>"
        answer = Answer(
            kind,
            started,
            time.monotonic(),
            r.status_code,
            code,
            r.headers.get("retry-after"),
            course,
        )
        with self._lock:
            self.answers.append(answer)

    def _call(
        self,
        client: httpx.Client,
        kind: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, object] | None = None,
    ) -> None:
        started = time.monotonic()
        try:
            if body is None:
                r = client.get(f"{self.url}{path}", headers=headers)
            else:
                r = client.post(f"{self.url}{path}", json=body, headers=headers)
        except httpx.HTTPError as exc:  # the server itself must never drop a request
            with self._lock:
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        course = str(body["course"]) if body is not None else None
        self._record(kind, started, r, course)

    def _writer(self) -> None:
        with httpx.Client(timeout=60) as client:
            i = 0
            while not self._stop.is_set():
                i += 1
                body = {"hours": 1, "provider": "fault test", "course": f"fault-{i}"}
                self._call(client, "write", f"/api/v1/registrations/{self.rid}/ce", self.auth, body)

    def _reader(self) -> None:
        reads: list[tuple[str, str, dict[str, str]]] = [
            ("read", f"/api/v1/registrations/{self.rid}", self.auth),
            ("lookup", f"/api/v1/lookup/{self.number}", {}),
            ("readyz", "/readyz", {}),
        ]
        with httpx.Client(timeout=60) as client:
            n = 0
            while not self._stop.is_set():
                kind, path, headers = reads[n % len(reads)]
                self._call(client, kind, path, headers)
                n += 1

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def wait_for(
        self, what: str, predicate: Callable[[list[Answer]], bool], deadline_s: float = 180
    ) -> None:
        deadline = time.monotonic() + deadline_s
        while not predicate(self.snapshot()):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"gave up waiting for {what}: {Counter(a.status for a in self.snapshot())}"
                )
            time.sleep(0.2)


def _ok(a: Answer) -> bool:
    return 200 <= a.status < 300


def test_postgres_stop_and_restart_under_load(pg_cluster: Cluster, tmp_path: Path) -> None:
    settings = Settings(
        store="postgres",
        postgres_host="127.0.0.1",
        postgres_port=pg_cluster.port,
        postgres_dbname="postgres",
        postgres_user="postgres",
        postgres_schema="public",
        keys_dir=tmp_path / "keys",
        create_missing_secrets=True,
    )
    seeded = seed(settings)
    env = {
        **server_env(tmp_path),
        "REGISTRY_STORE": "postgres",
        "REGISTRY_POSTGRES_HOST": "127.0.0.1",
        "REGISTRY_POSTGRES_PORT": str(pg_cluster.port),
        "REGISTRY_POSTGRES_DBNAME": "postgres",
        "REGISTRY_POSTGRES_USER": "postgres",
        "REGISTRY_POSTGRES_PASSWORD": "",
        "REGISTRY_POSTGRES_SCHEMA": "public",
    }
    port = free_port()
    with uvicorn_server(tmp_path / "unused.sqlite", settings.keys_dir, port, extra_env=env) as url:
        load = Load(url, seeded.registrar_token, seeded.registration_id, seeded.number)
        load.start()
        try:
            load.wait_for("10 writes", lambda a: sum(x.kind == "write" and _ok(x) for x in a) >= 10)
            pg_cluster.stop()
            stopped_at = time.monotonic()
            load.wait_for(
                "answers while PostgreSQL is down",
                lambda a: (
                    sum(x.started > stopped_at and x.kind == "write" for x in a) >= 3
                    and sum(x.started > stopped_at and x.kind != "write" for x in a) >= 3
                ),
            )
            restart_at = time.monotonic()
            pg_cluster.start()
            started_at = time.monotonic()
            load.wait_for(
                "a write after the restart",
                lambda a: any(x.kind == "write" and x.started > started_at and _ok(x) for x in a),
            )
            recovered_at = min(
                x.started
                for x in load.snapshot()
                if x.kind == "write" and x.started > started_at and _ok(x)
            )
            load.wait_for(
                "10 more writes",
                lambda a: (
                    sum(x.kind == "write" and x.started > recovered_at and _ok(x) for x in a) >= 10
                ),
            )
        finally:
            load.stop()
        answers = load.snapshot()
        with httpx.Client(timeout=60) as client:
            events = client.get(
                f"{url}/api/v1/registrations/{seeded.registration_id}/events",
                headers={"Authorization": f"Bearer {seeded.registrar_token}"},
            )
        log = server_log(url)

    summary = {
        "requests": len(answers),
        "statuses": dict(Counter(str(a.status) for a in answers)),
        "by_kind": {
            kind: dict(Counter(str(a.status) for a in answers if a.kind == kind))
            for kind in ("write", "read", "lookup", "readyz")
        },
        "down_s": round(restart_at - stopped_at, 1),
        "recovery_after_restart_s": round(recovered_at - started_at, 2),
        "acknowledged_writes": sum(a.kind == "write" and _ok(a) for a in answers),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fault-postgres-outage.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))

    assert not load.errors, load.errors[:5]
    # Never a 500: every answer is a success or 503 store.unavailable with Retry-After.
    failures = [a for a in answers if not _ok(a)]
    assert {a.status for a in failures} <= {503}, Counter(a.status for a in failures)
    assert all(a.code == "store.unavailable" and a.retry_after for a in failures), failures[:3]
    # While it was down, nothing succeeded and every kind of request was refused.
    down = [a for a in answers if a.started >= stopped_at and a.ended <= restart_at]
    assert down and all(a.status == 503 for a in down)
    assert {a.kind for a in down} == {"write", "read", "lookup", "readyz"}
    # Once the server is back, no request fails on a connection that died in the restart.
    after = [a for a in answers if a.started >= recovered_at]
    assert after and all(_ok(a) for a in after), Counter(a.status for a in after)
    # Every acknowledged write is in the event history.
    assert events.status_code == 200, events.text[:300]
    stored = {
        e["data"].get("course") for e in events.json() if e["type"] == "ContinuingEducationRecorded"
    }
    acknowledged = {a.course for a in answers if a.kind == "write" and _ok(a)}
    assert acknowledged and acknowledged <= stored, sorted(map(str, acknowledged - stored))[:5]
    assert "Traceback" not in log, log[-3000:]
