"""`registry verify`: offline check of a credential from a QR image, a string or a URL;
`registry verify-report`: offline check of a bulk tender check report (JSON, CSV or PDF).

Exit status: 0 valid, 1 verified-and-rejected, 2 unusable input (no QR, bad trust file).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.application.bulk_reports import verify_report_file
from registry.cli.root import app
from registry.credentials import (
    DEFAULT_PREFIXES,
    JwkError,
    KeyStore,
    KeyStoreError,
    QrDecodeError,
    Status,
    TrustListError,
    TrustStore,
    TrustStoreError,
    VerificationResult,
    decode_qr,
    load_trust_list,
    parse_jwks,
    verify_credential,
)

_MARK = {Status.VALID: "✔", Status.INVALID: "✘", Status.NOT_CHECKED: "·"}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"--at {value!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {what} {path}: {exc.strerror}") from None


def _trust_list_store(path: Path, signer: Path | None, at: datetime) -> TrustStore:
    """A JWKS file is trusted as is; a signed trust list is checked against ``signer``."""
    text = _read(path, "trust list").decode("utf-8", errors="replace").strip()
    try:
        if text.startswith("{"):
            return TrustStore.from_jwks(json.loads(text))
        if signer is None:
            raise _fail("a signed trust list needs --trust-list-signer (the signer's JWKS)")
        signer_keys = parse_jwks(json.loads(_read(signer, "trust list signer")))
        return load_trust_list(text, signer_keys, at=at).trust_store()
    except (ValueError, JwkError, TrustListError, TrustStoreError) as exc:
        raise _fail(f"cannot use trust list {path}: {exc}") from None


def _build_trust(
    trust_list: Path | None, signer: Path | None, anchors: list[Path], at: datetime
) -> TrustStore:
    store = TrustStore()
    if trust_list is not None:
        store = store.merged(_trust_list_store(trust_list, signer, at))
    if anchors:
        try:
            store = store.merged(TrustStore.from_x509(_read(p, "trust anchor") for p in anchors))
        except TrustStoreError as exc:
            raise _fail(str(exc)) from None
    if trust_list is None and not anchors:
        keys_dir = Path(os.environ.get("REGISTRY_KEYS_DIR") or "var/keys")
        try:
            store = TrustStore.from_public_keys(KeyStore(keys_dir).public_keys(), source="keys")
        except KeyStoreError as exc:
            raise _fail(f"no --trust-list/--trust-anchor and local keys unusable: {exc}") from None
        if not len(store):
            raise _fail("no trusted keys: pass --trust-list or --trust-anchor")
    return store


def _is_file(path: Path) -> bool:
    """A credential string may not even be a legal path (a segment over NAME_MAX, a NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _human(result: VerificationResult) -> str:
    lines = [f"{'VALID' if result.valid else 'NOT VALID'} credential"]
    if result.credential is not None:
        c = result.credential
        lines += [
            f"  registration {c.registration_number}  scheme {c.scheme_code}  name {c.masked_name}",
            f"  issuer {c.issuer} (region {c.issuer_region})  serial {c.certificate_serial}",
            f"  issued {c.issued_at:%Y-%m-%d}  expires {c.expires_at:%Y-%m-%d}",
        ]
    for step in result.steps:
        reason = f" [{', '.join(step.reasons)}]" if step.reasons else ""
        detail = f" {step.detail}" if step.detail else ""
        lines.append(
            f"  {_MARK[step.status]} {step.step.value:<10} {step.status.value}{reason}{detail}"
        )
    if result.valid:
        lines.append("  (signature and expiry only: the live status is on the verification page)")
    return "\n".join(lines)


@app.command("verify")
def verify(
    credential: Annotated[str, typer.Argument(help="QR image file, credential string, or URL.")],
    trust_list: Annotated[
        Path | None, typer.Option("--trust-list", help="Signed trust list (JWS) or a JWKS file.")
    ] = None,
    trust_list_signer: Annotated[
        Path | None, typer.Option(help="JWKS of the key that signs --trust-list.")
    ] = None,
    trust_anchor: Annotated[
        list[Path] | None, typer.Option("--trust-anchor", help="X.509 cert, PEM or DER.")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="Verification time, ISO-8601.")] = None,
    prefix: Annotated[
        list[str] | None, typer.Option("--prefix", help="Extra accepted context prefix.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Verify a credential offline: format, issuer key, signature, expiry."""
    moment = _parse_at(at)
    trust = _build_trust(trust_list, trust_list_signer, trust_anchor or [], moment)
    text = credential
    source: dict[str, Any] = {"input": "text"}
    path = Path(credential)
    if len(credential) < 4096 and _is_file(path):
        try:
            text = decode_qr(path)
        except QrDecodeError as exc:
            raise _fail(f"{path}: {exc}") from None
        source = {"input": "image", "path": str(path)}
    result = verify_credential(text, trust, moment, (*DEFAULT_PREFIXES, *(prefix or [])))
    if as_json:
        typer.echo(json.dumps({**source, **result.to_dict()}, ensure_ascii=False, indent=2))
    else:
        typer.echo(_human(result))
    raise typer.Exit(0 if result.valid else 1)


class _TrustedKeys:
    """A trust store as the (kid, public key) pairs report verification looks keys up in."""

    def __init__(self, store: TrustStore) -> None:
        self.store = store

    def public_keys(self) -> list[tuple[bytes, Any]]:
        return [(key.kid, key.public_key) for key in self.store]


@app.command("verify-report")
def verify_report_command(
    file: Annotated[Path, typer.Argument(help="A bulk check report: JSON, CSV or PDF.")],
    trust_list: Annotated[
        Path | None, typer.Option("--trust-list", help="The registry's JWKS (or signed list).")
    ] = None,
    trust_list_signer: Annotated[
        Path | None, typer.Option(help="JWKS of the key that signs --trust-list.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Check a bulk tender check report offline: JSON (its JWS), CSV (the signed manifest at
    its end) or PDF (the embedded signed report, its stated id and hash). Exit 0 genuine,
    1 not genuine, 2 unusable input."""
    trust = _build_trust(trust_list, trust_list_signer, [], datetime.now(UTC))
    check = verify_report_file(_read(file, "report"), _TrustedKeys(trust))
    if as_json:
        typer.echo(json.dumps({"file": str(file), **asdict(check)}, ensure_ascii=False, indent=2))
    else:
        verdict = "GENUINE" if check.valid else "NOT GENUINE"
        typer.echo(f"{verdict} {check.kind or 'unknown'} bulk check report: {check.reason}")
        typer.echo(f"  code {check.code}")
        typer.echo(f"  report id {check.report_id or '—'}  sha256 {check.sha256 or '—'}")
    raise typer.Exit(0 if check.valid else 1)
