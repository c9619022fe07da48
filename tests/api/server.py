"""A real uvicorn server in a separate process, on a free localhost port, for tests and bench."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_PIDS: dict[str, int] = {}
_LOGS: dict[str, IO[bytes]] = {}


def server_pid(url: str) -> int:
    """The process id of the server a `uvicorn_server` context is running at `url`."""
    return _PIDS[url]


def server_log(url: str) -> str:
    """Everything the server at `url` has logged so far."""
    return _read_log(_LOGS[url])


def _read_log(log: IO[bytes]) -> str:
    # pread: the server shares this file's offset, so never move it
    fd = log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            values[name] = int(rest.split()[0])
    return values


@contextmanager
def uvicorn_server(
    store: Path,
    keys: Path,
    port: int,
    *,
    extra_env: dict[str, str] | None = None,
    app: str = "verify_api.app:create_app",
    factory: bool = True,
    serve_args: list[str] | None = None,
) -> Iterator[str]:
    """Start uvicorn on `port` over the given SQLite store and key directory; yield its URL.

    With `serve_args` the server is started the way operators start it, through
    `registry serve --port PORT *serve_args` (its uvicorn options included).
    """
    env = {
        **os.environ,
        "REGISTRY_SETTINGS": str(store.parent / "no-such-settings.toml"),
        "REGISTRY_SQLITE_PATH": str(store),
        "REGISTRY_KEYS_DIR": str(keys),
        "REGISTRY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
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
    if serve_args is not None:
        entry = "from registry.cli import main; main()"
        args = [sys.executable, "-c", entry, "serve", "--port", str(port), *serve_args]
    # The log goes to a file, not a pipe nobody reads: a chatty server must never block.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield from _serve(process, log, port)


def _serve(process: subprocess.Popen[bytes], log: IO[bytes], port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = _read_log(log)
                raise RuntimeError(f"uvicorn exited early: {output[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not become healthy within 30 s")
            time.sleep(0.1)
        _PIDS[url] = process.pid
        _LOGS[url] = log
        yield url
    finally:
        _PIDS.pop(url, None)
        _LOGS.pop(url, None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
