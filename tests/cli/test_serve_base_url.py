"""`registry serve --port P`: unless configured, the public base URL is the address the server
listens on, so the QR codes and credential URLs it issues point to port P (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from registry.application.settings import Settings, listen_url
from tests.api.server import _serve, free_port, server_log
from tests.cli.conftest import Cli
from tests.cli.test_certificates_cli import _active


def test_serve_issues_certificate_urls_on_the_port_it_listens_on(cli: Cli, tmp_path: Path) -> None:
    cli.run("keys", "generate")
    number = _active(cli, tmp_path, 905)
    token = cli.json("users", "create", "reg-1", "--role", "registrar")["token"]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(cli.env)
    entry = "from registry.cli import main; main()"
    args = [sys.executable, "-c", entry, "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        for url in _serve(process, log, port):
            issued = httpx.post(
                f"{url}/api/v1/registrations/{number}/certificate",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert issued.status_code == 201, issued.text
            assert str(issued.json()["url"]).startswith(f"http://127.0.0.1:{port}/v?c=")
            assert f"public base URL http://127.0.0.1:{port}" in server_log(url)


def test_a_configured_base_url_is_kept_and_a_wildcard_host_names_the_machine() -> None:
    configured = Settings(public_base_url="https://verify.example.cn")
    assert configured.serving_at("127.0.0.1", 9123).public_base_url == ("https://verify.example.cn")
    assert Settings().serving_at("127.0.0.1", 9123).public_base_url == "http://127.0.0.1:9123"
    assert listen_url("::1", 9123) == "http://[::1]:9123"
    assert "0.0.0.0" not in listen_url("0.0.0.0", 9123)
