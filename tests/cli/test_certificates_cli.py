"""`registry certificates issue` and `issue-batch`: the application's use case from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from domain.numbering import format_number
from tests.cli.conftest import Cli
from tests.cli.test_commands_cli import application, materials


def _active(cli: Cli, tmp_path: Path, n: int) -> str:
    engineer = ("--as", f"eng-{n}", "--role", "engineer")
    rid = cli.json("apply", str(application(tmp_path, n=n)), *engineer)["registration_id"]
    materials(cli, rid, tmp_path, *engineer)
    cli.json("submit", rid, *engineer)
    cli.json("review", "start", rid, "--as", "rev-1", "--role", "reviewer")
    number: str = cli.json("approve", rid)["number"]
    return number


def test_issue_writes_pdf_and_png_and_refuses_a_suspended_one(cli: Cli, tmp_path: Path) -> None:
    cli.run("keys", "generate")
    number = _active(cli, tmp_path, 901)
    pdf, png = tmp_path / "cert.pdf", tmp_path / "cert.png"
    issued = cli.json("certificates", "issue", number, "--pdf", str(pdf), "--png", str(png))
    assert issued["number"] == number and issued["credential"].startswith("ER1:")
    assert "/v?c=" in issued["url"]
    assert pdf.read_bytes()[:4] == b"%PDF" and png.read_bytes()[:4] == b"\x89PNG"
    human = cli.run("certificates", "issue", number.lower()).stdout
    assert f"for {number}" in human and "verify: http" in human
    cli.json("suspend", number, "--reason-code", "investigation")
    refused = cli.fails(
        "certificates",
        "issue",
        number,
        "--pdf",
        str(tmp_path / "no.pdf"),
        code=1,
        error="certificate.not_permitted",
    )
    assert "suspended (investigation)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no.pdf").exists()


def test_issue_refuses_unknown_number_and_missing_key(cli: Cli, tmp_path: Path) -> None:
    number = _active(cli, tmp_path, 901)
    cli.fails("certificates", "issue", number, code=1, error="keys.unavailable")
    unknown = format_number("SIE", "44", 2020, 4242)
    cli.fails("certificates", "issue", unknown, code=2, error="registration.not_found")


def test_issue_batch_issues_every_active_registration(cli: Cli, tmp_path: Path) -> None:
    cli.run("keys", "generate")
    first = _active(cli, tmp_path, 901)
    second = _active(cli, tmp_path, 902)
    cli.json("revoke", second, "--reason-code", "fraud", "--reason", "伪造材料")
    out = tmp_path / "certs"
    batch = cli.json("certificates", "issue-batch", "--status", "active", "--out", str(out))
    assert [row["number"] for row in batch["issued"]] == [first]
    assert batch["refused"] == []
    assert (out / f"{first}.pdf").read_bytes()[:4] == b"%PDF"
    assert (out / f"{first}.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / f"{second}.pdf").exists()
    cli.fails(
        "certificates",
        "issue-batch",
        "--status",
        "revoked",
        "--out",
        str(out),
        code=2,
        error="certificate.not_permitted",
    )


def test_keys_generate_json_and_verify_json_name_issuer_and_region(
    cli: Cli, tmp_path: Path
) -> None:
    generated = cli.json("keys", "generate")
    assert len(generated["kid"]) == 16 and generated["alg"] == "EdDSA"
    assert generated["active"] is True and generated["not_before"]
    number = _active(cli, tmp_path, 901)
    issued = cli.json("certificates", "issue", number)
    assert issued["kid"] == generated["kid"]
    verified = json.loads(cli.run("verify", issued["url"], "--json").stdout)
    assert verified["valid"] is True
    assert verified["issuer"] == "CN-44-REG" and verified["region"] == "44"
