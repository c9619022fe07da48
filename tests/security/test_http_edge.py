"""The HTTP edge against the real server: body caps, rate limit before the body, trusted
proxies only, and JSON answers for URLs and heads too long for the app (issue 9 items 6
and the low items on X-Forwarded-For and long URLs)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.api.server import free_port, memory_kib, server_pid, uvicorn_server
from tests.security.conftest import Live, build_store

MIB = 1024 * 1024


def _stream(total: int, chunk: int = MIB) -> Iterator[bytes]:
    block = b"a" * chunk
    sent = 0
    while sent < total:
        yield block
        sent += chunk


def _raw_head_only(url: str, head: str, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Send a request head (no body) and read the answer; the server must not wait for it."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)  # socket.timeout here: the server waited for the body
            if not chunk:
                break
            data += chunk
        head_bytes, _, body = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


# --------------------------------------------------------------------- body size (item 6)


@pytest.mark.parametrize(
    "path", ["/api/v1/verify", "/api/v1/registrations", "/api/v1/bulk-check/verify"]
)
def test_400_mb_streamed_body_is_refused_and_server_memory_stays_flat(
    live: Live, attacker: httpx.Client, path: str
) -> None:
    pid = server_pid(live.url)
    before = memory_kib(pid)
    r = attacker.post(
        f"{live.url}{path}",
        content=_stream(400 * MIB),  # no Content-Length: chunked, counted as it arrives
        headers={"Content-Type": "application/json"},
    )
    after = memory_kib(pid)
    grown_mib = (after["VmHWM"] - before["VmRSS"]) / 1024
    # Reading the body would have cost 400 MB or more (1.37 GB in the attack report).
    assert grown_mib < 64, f"peak RSS rose {grown_mib:.0f} MiB over {before['VmRSS'] // 1024} MiB"
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "request.too_large"
    assert attacker.get(f"{live.url}/healthz").status_code == 200


def test_declared_oversized_body_is_refused_before_a_byte_is_read(live: Live) -> None:
    """Content-Length says 400 MB, no byte follows: the answer comes without waiting."""
    for path in ("/api/v1/bulk-check", "/api/v1/verify", "/api/v1/registrations/x/submit"):
        status, headers, body = _raw_head_only(
            live.url,
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {400 * MIB}\r\n\r\n",
        )
        assert status == 413, (path, body[:200])
        assert json.loads(body)["code"] == "request.too_large"
        assert headers.get("connection") == "close"


def test_route_caps_fit_their_payloads(live: Live, attacker: httpx.Client) -> None:
    """A full 1,000-row bulk check is accepted; the same size on a JSON command is not."""
    rows = [live.numbers["active"]] * 1000
    ok = attacker.post(f"{live.url}/api/v1/bulk-check", json={"items": rows, "as_of": "2026-01-01"})
    assert ok.status_code == 200, ok.text[:300]
    big = {"personal": {"name": "x" * (100 * 1024)}}
    r = attacker.post(f"{live.url}/api/v1/registrations", json=big, headers=live.auth("registrar"))
    assert r.status_code == 413 and r.json()["code"] == "request.too_large"


# ------------------------------------------------------------- rate limit before the body


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Live]:
    """A server allowing 3 public requests a minute per client."""
    settings, tokens, numbers, ids = build_store(tmp_path)
    env = {
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
        "REGISTRY_RATE_LIMIT_PER_MINUTE": "3",
        "REGISTRY_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    port = free_port()
    with uvicorn_server(settings.sqlite_path, settings.keys_dir, port, extra_env=env) as url:
        yield Live(url, settings, tokens, numbers, ids, env)


def test_over_limit_client_gets_429_without_the_server_reading_its_body(
    limited: Live, attacker: httpx.Client
) -> None:
    for _ in range(3):
        attacker.get(f"{limited.url}/api/v1/lookup/{limited.numbers['active']}")
    # The head promises a 1 MB bulk check and never sends it: a server that read bodies
    # before limiting would wait here until the socket timed out.
    status, headers, body = _raw_head_only(
        limited.url,
        "POST /api/v1/bulk-check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MIB}\r\n\r\n",
    )
    assert status == 429, body[:200]
    assert json.loads(body)["code"] == "rate_limited"
    assert int(headers["retry-after"]) >= 1
    # charged once per request: the route dependency does not spend a second token
    r = attacker.get(f"{limited.url}/api/v1/lookup/{limited.numbers['active']}")
    assert r.status_code == 429


# -------------------------------------------------------------- trusted proxies (low item)


def _serve_env(tmp_path: Path, **extra: str) -> tuple[Live, dict[str, str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings, tokens, numbers, ids = build_store(tmp_path)
    env = {
        "REGISTRY_CREATE_MISSING_SECRETS": "1",
        "REGISTRY_EVIDENCE_DIR": str(tmp_path / "evidence"),
        **extra,
    }
    return Live("", settings, tokens, numbers, ids, env), env


def _lookups_with_forwarded_for(
    tmp_path: Path, attacker: httpx.Client, trusted: str, forwarded: list[str]
) -> list[int]:
    """Statuses of public lookups, each claiming an X-Forwarded-For, at 5 requests a minute."""
    live, env = _serve_env(
        tmp_path, REGISTRY_RATE_LIMIT_PER_MINUTE="5", REGISTRY_TRUSTED_PROXIES=trusted
    )
    port = free_port()
    with uvicorn_server(
        live.settings.sqlite_path,
        live.settings.keys_dir,
        port,
        extra_env=env,
        serve_args=["--proxy-headers"],
    ) as url:
        return [
            attacker.get(
                f"{url}/api/v1/lookup/{live.numbers['active']}",
                headers={"X-Forwarded-For": value},
            ).status_code
            for value in forwarded
        ]


def test_spoofed_x_forwarded_for_does_not_buy_a_fresh_rate_limit(
    tmp_path: Path, attacker: httpx.Client
) -> None:
    # We connect from 127.0.0.1, which is not the configured proxy: our header is ignored.
    direct = _lookups_with_forwarded_for(
        tmp_path / "direct", attacker, "192.0.2.10", [f"198.51.100.{i}" for i in range(12)]
    )
    assert direct[:5] == [200] * 5 and set(direct[5:]) == {429}, direct
    # Through a trusted proxy (127.0.0.1 here) the client forged the left part and the proxy
    # appended the address it saw: the limit keys on that one, and others keep their own.
    chain = [f"10.0.0.{i}, 203.0.113.7" for i in range(8)] + ["203.0.113.8"]
    proxied = _lookups_with_forwarded_for(tmp_path / "proxied", attacker, "127.0.0.1", chain)
    assert proxied[:5] == [200] * 5 and set(proxied[5:8]) == {429}, proxied
    assert proxied[8] == 200


def test_proxy_headers_without_trusted_proxies_refuses_to_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    live, env = _serve_env(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", "from registry.cli import main; main()", "serve", "--proxy-headers"],
        env={
            **__import__("os").environ,
            **env,
            "REGISTRY_SQLITE_PATH": str(live.settings.sqlite_path),
            "REGISTRY_KEYS_DIR": str(live.settings.keys_dir),
            "REGISTRY_SETTINGS": str(tmp_path / "none.toml"),
            "REGISTRY_TRUSTED_PROXIES": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "REGISTRY_TRUSTED_PROXIES" in run.stderr and "Traceback" not in run.stderr


# ----------------------------------------------------------------- long URLs (low item)


def test_long_urls_and_heads_get_json_errors_not_plain_text(
    tmp_path: Path, attacker: httpx.Client
) -> None:
    live, env = _serve_env(tmp_path, REGISTRY_RATE_LIMIT_PER_MINUTE="100000")
    port = free_port()
    with uvicorn_server(
        live.settings.sqlite_path, live.settings.keys_dir, port, extra_env=env, serve_args=[]
    ) as url:
        fine = attacker.get(f"{url}/v", params={"c": "x" * 4000})  # a few KB still reach the page
        over_app = attacker.get(f"{url}/v", params={"c": "x" * 20_000})  # over h11's 16 KiB
        # A head that grows past the server's 64 KiB limit before it is complete (we never
        # finish it, so only the limit can answer); httpx could not even send such a URL.
        over_server = _raw_head_only(url, f"GET /v?c={'x' * 100_000}")
        big_header = _raw_head_only(url, f"GET /healthz HTTP/1.1\r\nX-Pad: {'y' * 100_000}")
        garbage = _raw_head_only(url, "NOT HTTP AT ALL\r\n\r\n")
    assert fine.status_code == 200 and fine.headers["content-type"].startswith("text/html")
    assert over_app.status_code == 414, over_app.text[:200]
    assert over_app.headers["content-type"] == "application/json"
    assert over_app.json()["code"] == "request.uri_too_long"
    for (status, headers, body), expected, code in (
        (over_server, 414, "request.uri_too_long"),
        (big_header, 431, "request.headers_too_large"),
        (garbage, 400, "request.malformed"),
    ):
        assert status == expected, body[:200]
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["code"] == code
