"""`registry keys` and `registry verify` as an operator and a verifier use them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.cli.root import app
from registry.credentials import KeyStore, credential_qr_png, credential_url, issue_credential
from tests.credentials.conftest import BASE_URL, ISSUED, make_claims

AT = (ISSUED + timedelta(days=10)).isoformat()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("REGISTRY_KEY_PASSPHRASE", raising=False)
    return CliRunner()


def _keys(runner: CliRunner, keys_dir: Path, *args: str) -> str:
    result = runner.invoke(app, ["keys", *args, "--keys-dir", str(keys_dir)])
    assert result.exit_code == 0, result.output
    return result.output


def test_keys_lifecycle_and_verify(runner: CliRunner, tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    # credentials are dated ISSUED (2025): the key's signing window must cover that date
    _keys(runner, keys_dir, "generate", "--not-before", (ISSUED - timedelta(days=1)).isoformat())
    assert runner.invoke(app, ["keys", "generate", "--keys-dir", str(keys_dir)]).exit_code == 2
    old_credential = issue_credential(make_claims(), KeyStore(keys_dir).active())
    rotated = ISSUED + timedelta(days=1)
    _keys(runner, keys_dir, "rotate", "--alg", "es256", "--at", rotated.isoformat())
    listing = json.loads(_keys(runner, keys_dir, "list", "--json"))
    assert [(k["alg"], k["purpose"]) for k in listing] == [
        ("EdDSA", "credential"),
        ("EdDSA", "trust-list"),
        ("ES256", "credential"),
    ]
    assert [k["active"] for k in listing] == [False, False, True]
    assert listing[0]["not_after"] == listing[2]["not_before"] == rotated.isoformat()

    jwks_path = tmp_path / "jwks.json"
    _keys(runner, keys_dir, "export-public", "--format", "jwks", "-o", str(jwks_path))
    trust_list = tmp_path / "trust-list.jws"
    _keys(
        runner, keys_dir, "export-public", "--format", "trust-list",
        "--issuer", "CN-44-REG", "--region", "44", "-o", str(trust_list),
    )  # fmt: skip
    for path in keys_dir.glob("*.key.pem"):
        secret = path.read_text()
        body = "".join(secret.splitlines()[1:-1])
        assert body not in jwks_path.read_text() and body not in trust_list.read_text()

    new_credential = issue_credential(
        make_claims(issued_at=rotated + timedelta(hours=1)), KeyStore(keys_dir).active()
    )
    png = tmp_path / "qr.png"
    png.write_bytes(credential_qr_png(BASE_URL, new_credential))
    for credential_arg in (str(png), old_credential, credential_url(BASE_URL, old_credential)):
        result = runner.invoke(
            app,
            ["verify", credential_arg, "--trust-list", str(jwks_path), "--at", AT, "--json"],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["valid"] is True

    # signed trust list, verified against the signer's JWKS
    result = runner.invoke(
        app,
        ["verify", str(png), "--trust-list", str(trust_list), "--trust-list-signer",
         str(jwks_path), "--at", AT],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "VALID credential" in result.output and "GD-SIE-2025-000123" in result.output


def test_verify_rejections_are_readable(runner: CliRunner, tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    _keys(runner, keys_dir, "generate", "--not-before", ISSUED.isoformat())
    jwks_path = tmp_path / "jwks.json"
    _keys(runner, keys_dir, "export-public", "-o", str(jwks_path))
    credential = issue_credential(make_claims(), KeyStore(keys_dir).active())

    expired = runner.invoke(
        app, ["verify", credential, "--trust-list", str(jwks_path), "--at", "2030-01-01T00:00Z"]
    )
    assert expired.exit_code == 1
    assert "NOT VALID" in expired.output and "expiry.expired" in expired.output

    garbage = runner.invoke(app, ["verify", "hello", "--trust-list", str(jwks_path), "--json"])
    assert garbage.exit_code == 1
    out = json.loads(garbage.stdout)
    assert out["steps"]["unprefix"]["reason"] == "prefix.unsupported"
    assert out["steps"]["signature"]["status"] == "NOT_CHECKED"

    hc1 = runner.invoke(app, ["verify", "HC1:xyz", "--trust-list", str(jwks_path), "--json"])
    assert json.loads(hc1.stdout)["steps"]["unprefix"]["reason"] == "prefix.unsupported"
    hc1 = runner.invoke(
        app, ["verify", "HC1:xyz", "--prefix", "HC1:", "--trust-list", str(jwks_path), "--json"]
    )
    assert json.loads(hc1.stdout)["steps"]["base45"]["reason"] == "base45.invalid"


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "ER1:X", "--trust-list", "/nonexistent/jwks.json"],
        ["verify", "ER1:X", "--trust-anchor", "/nonexistent/cert.pem"],
        ["verify", "ER1:X", "--at", "yesterday", "--trust-list", "/nonexistent"],
    ],
)
def test_bad_input_is_a_message_not_a_traceback(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_image_without_qr_and_bad_trust_files(runner: CliRunner, tmp_path: Path) -> None:
    not_image = tmp_path / "note.png"
    not_image.write_bytes(b"not an image")
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text('{"keys": []}')
    result = runner.invoke(app, ["verify", str(not_image), "--trust-list", str(jwks_path)])
    assert result.exit_code == 2 and "error:" in result.output
    bad_cert = tmp_path / "cert.pem"
    bad_cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    result = runner.invoke(app, ["verify", "ER1:X", "--trust-anchor", str(bad_cert)])
    assert result.exit_code == 2 and "X.509" in result.output
    jws = tmp_path / "list.jws"
    jws.write_text("a.b.c")
    result = runner.invoke(app, ["verify", "ER1:X", "--trust-list", str(jws)])
    assert result.exit_code == 2 and "--trust-list-signer" in result.output
