"""`registry keys ...`: generate, rotate, list and publish the credential signing keys.

Private keys never leave the key directory: no command prints or exports them.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.cli.root import app
from registry.credentials.algorithms import Algorithm
from registry.credentials.jwk import JwkError, jwk_to_public_key
from registry.credentials.keystore import KeyStore, KeyStoreError
from registry.credentials.trustlist import IssuerEntry, sign_trust_list

KEYS_DIR_ENV = "REGISTRY_KEYS_DIR"
DEFAULT_KEYS_DIR = Path("var/keys")

keys_app = typer.Typer(help="Credential signing keys: generate, rotate, list, publish.")
app.add_typer(keys_app, name="keys")


class AlgChoice(StrEnum):
    eddsa = "eddsa"
    es256 = "es256"

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.EDDSA if self is AlgChoice.eddsa else Algorithm.ES256


class ExportFormat(StrEnum):
    jwks = "jwks"
    trust_list = "trust-list"


KeysDir = Annotated[
    Path | None,
    typer.Option(
        "--keys-dir",
        help=f"Key directory (default: ${KEYS_DIR_ENV} or {DEFAULT_KEYS_DIR}).",
        show_default=False,
    ),
]
AlgOption = Annotated[AlgChoice, typer.Option("--alg", help="Signature algorithm.")]


def _store(keys_dir: Path | None) -> KeyStore:
    return KeyStore(keys_dir or Path(os.environ.get(KEYS_DIR_ENV) or DEFAULT_KEYS_DIR))


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@keys_app.command("generate")
def generate(keys_dir: KeysDir = None, alg: AlgOption = AlgChoice.eddsa) -> None:
    """Create the first signing key (refuses if keys exist: use rotate)."""
    store = _store(keys_dir)
    try:
        key = store.generate(alg.algorithm)
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"generated {key.alg.jose_name} key {key.kid_hex} in {store.directory} (active)")


@keys_app.command("rotate")
def rotate(keys_dir: KeysDir = None, alg: AlgOption = AlgChoice.eddsa) -> None:
    """Make a new active key; older keys stay published for verification."""
    store = _store(keys_dir)
    try:
        key = store.rotate(alg.algorithm)
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"rotated: new active {key.alg.jose_name} key {key.kid_hex}")


@keys_app.command("list")
def list_keys(
    keys_dir: KeysDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List keys (kid, algorithm, created, retired, active)."""
    try:
        infos = _store(keys_dir).list()
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        rows = [
            {
                "kid": i.kid_hex,
                "alg": i.alg.jose_name,
                "created": i.created.isoformat(),
                "retired": i.retired.isoformat() if i.retired else None,
                "active": i.active,
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not infos:
        typer.echo("no keys; run `registry keys generate`")
        return
    for i in infos:
        state = "active" if i.active else f"retired {i.retired:%Y-%m-%d}" if i.retired else ""
        typer.echo(f"{i.kid_hex}  {i.alg.jose_name:6}  created {i.created:%Y-%m-%d}  {state}")


def _recognised(path: Path) -> IssuerEntry:
    """Another region's issuer entry: {"id", "region", "name", "keys": [JWK], validity}."""
    try:
        raw: Any = json.loads(path.read_text("utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
            raise ValueError("expected an object with id, region and a keys array")
        return IssuerEntry(
            issuer_id=str(raw["id"]),
            region=str(raw["region"]),
            name=str(raw.get("name", "")),
            keys=tuple(jwk_to_public_key(jwk) for jwk in raw["keys"]),
            valid_from=datetime.fromisoformat(raw["valid_from"]) if raw.get("valid_from") else None,
            valid_until=(
                datetime.fromisoformat(raw["valid_until"]) if raw.get("valid_until") else None
            ),
        )
    except (OSError, ValueError, KeyError, JwkError) as exc:
        raise _fail(f"cannot use recognised issuer file {path}: {exc}") from None


@keys_app.command("export-public")
def export_public(
    keys_dir: KeysDir = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jwks or trust-list.")] = (
        ExportFormat.jwks
    ),
    issuer: Annotated[str | None, typer.Option(help="Issuer id (default: settings).")] = None,
    region: Annotated[str | None, typer.Option(help="Issuer region (default: settings).")] = None,
    name: Annotated[str, typer.Option(help="Issuer display name.")] = "",
    valid_days: Annotated[int, typer.Option(help="Trust list validity in days.")] = 30,
    recognise: Annotated[
        list[Path] | None,
        typer.Option(help="JSON issuer entry of another region to list (repeatable)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to file.")] = None,
) -> None:
    """Publish public keys as a JWKS, or as a trust list signed by the active key (JWS)."""
    from registry.config import Settings

    store = _store(keys_dir)
    try:
        public = store.public_keys()
        if not public:
            raise KeyStoreError("no keys to export; run `registry keys generate`")
        if fmt is ExportFormat.jwks:
            text = json.dumps(store.export_jwks(), indent=2)
        else:
            settings = Settings.load()
            own = IssuerEntry(
                issuer_id=issuer or settings.issuer,
                region=region or settings.issuer_region,
                name=name,
                keys=tuple(public),
            )
            others = [_recognised(p) for p in recognise or []]
            now = datetime.now(UTC).replace(microsecond=0)
            text = sign_trust_list(
                [own, *others],
                store.active(),
                list_issuer=own.issuer_id,
                issued_at=now,
                valid_until=now + timedelta(days=valid_days),
            )
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    if output:
        output.write_text(text + "\n", "utf-8")
        typer.echo(f"wrote {fmt.value} to {output}")
    else:
        typer.echo(text)
