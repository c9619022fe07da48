"""`registry keys ...`: generate, rotate, revoke, list and publish the signing keys.

Private keys never leave the key directory: no command prints or exports them. Every key
has a signing window (SPEC §12): generate opens it, rotate closes the old key's window at
the rotation instant, revoke declares a key compromised (or withdrawn) from a stated time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.application.settings import ENV_PREFIX, Settings, SettingsError
from registry.cli.root import app
from registry.credentials import (
    Algorithm,
    IssuerEntry,
    JwkError,
    KeyInfo,
    KeyStore,
    KeyStoreError,
    RevocationReason,
    TrustListError,
    jwk_to_public_key,
    own_trust_list,
)

KEYS_DIR_ENV = f"{ENV_PREFIX}KEYS_DIR"

keys_app = typer.Typer(help="Credential signing keys: generate, rotate, revoke, list, publish.")
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
        help=f"Key directory (default: keys_dir from the settings: ${KEYS_DIR_ENV}, "
        f"registry.toml, or {Settings.model_fields['keys_dir'].default}).",
        show_default=False,
    ),
]
AlgOption = Annotated[AlgChoice, typer.Option("--alg", help="Signature algorithm.")]


def _settings() -> Settings:
    """The same settings every other command reads (file, environment), or a one-line exit."""
    try:
        return Settings.load()
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _store(keys_dir: Path | None) -> KeyStore:
    """``--keys-dir`` when given, else the settings' keys_dir."""
    return KeyStore(keys_dir or _settings().keys_dir)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _instant(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 instant from the command line; without a zone it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"{option} {value!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys_app.command("generate")
def generate(
    keys_dir: KeysDir = None,
    alg: AlgOption = AlgChoice.eddsa,
    not_before: Annotated[
        str | None,
        typer.Option(
            "--not-before", help="Open the signing window at this ISO time (default now)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Create the first signing key (refuses if keys exist: use rotate)."""
    store = _store(keys_dir)
    moment = _instant(not_before, "--not-before")
    try:
        key = store.generate(alg.algorithm, not_before=moment)
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        info = next((i for i in store.list() if i.kid == key.kid), None)
        data = {
            "kid": key.kid_hex,
            "alg": key.alg.jose_name,
            "directory": str(store.directory),
            "active": True,
            "not_before": (
                info.window.not_before.isoformat() if info and info.window.not_before else None
            ),
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(f"generated {key.alg.jose_name} key {key.kid_hex} in {store.directory} (active)")


@keys_app.command("rotate")
def rotate(
    keys_dir: KeysDir = None,
    alg: AlgOption = AlgChoice.eddsa,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Rotation instant, ISO-8601 (default now). The old key's signing window "
            "closes then: what it signed later no longer verifies.",
        ),
    ] = None,
) -> None:
    """Make a new active key; older keys stay published, their signing window closed."""
    store = _store(keys_dir)
    try:
        key = store.rotate(alg.algorithm, at=_instant(at, "--at"))
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"rotated: new active {key.alg.jose_name} key {key.kid_hex}")


class ReasonChoice(StrEnum):
    compromise = "compromise"
    superseded = "superseded"
    cessation = "cessation"


@keys_app.command("revoke")
def revoke(
    kid: Annotated[str, typer.Argument(help="Key id (hex, as `registry keys list` shows it).")],
    reason: Annotated[ReasonChoice, typer.Option("--reason", help="Why the key is revoked.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Since when, ISO-8601 (default now): credentials the key signed at or after "
            "this instant are invalid.",
        ),
    ] = None,
    keys_dir: KeysDir = None,
) -> None:
    """Revoke a key from a stated time (e.g. when it was compromised); rotate afterwards if
    it was the active key."""
    store = _store(keys_dir)
    try:
        info = store.revoke(
            bytes.fromhex(kid.strip()), RevocationReason(reason.value), at=_instant(at, "--at")
        )
    except ValueError:
        raise _fail(f"{kid!r} is not a hex key id") from None
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    assert info.window.revoked_at is not None
    typer.echo(
        f"revoked key {info.kid_hex} ({reason.value}) as of {info.window.revoked_at.isoformat()}: "
        "credentials it signed from then on are invalid"
    )
    if info.active:
        typer.echo("the revoked key was the active key: run `registry keys rotate`", err=True)


@keys_app.command("list")
def list_keys(
    keys_dir: KeysDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List keys (kid, algorithm, purpose, signing window, revocation, active)."""
    try:
        infos = _store(keys_dir).list()
    except KeyStoreError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        rows = [
            {
                "kid": i.kid_hex,
                "alg": i.alg.jose_name,
                "purpose": i.purpose.value,
                "created": i.created.isoformat(),
                "retired": i.retired.isoformat() if i.retired else None,
                "active": i.active,
                **i.window.to_json(),
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not infos:
        typer.echo("no keys; run `registry keys generate`")
        return
    for i in infos:
        typer.echo(f"{i.kid_hex}  {i.alg.jose_name:6}  {i.purpose.value:10}  {_window_text(i)}")


def _window_text(info: KeyInfo) -> str:
    w = info.window
    start = f"{w.not_before:%Y-%m-%d %H:%M}" if w.not_before else "…"
    end = f"{w.not_after:%Y-%m-%d %H:%M}" if w.not_after else "…"
    text = f"signs {start} – {end} UTC"
    if w.revoked_at is not None:
        text += f"  REVOKED ({w.revocation_reason}) {w.revoked_at:%Y-%m-%d %H:%M} UTC"
    return text + ("  active" if info.active else "")


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
    """Publish public keys as a JWKS, or as a trust list signed by the trust-list key (JWS)."""
    store = _store(keys_dir)
    try:
        public = store.public_keys()
        if not public:
            raise KeyStoreError("no keys to export; run `registry keys generate`")
        if fmt is ExportFormat.jwks:
            text = json.dumps(store.export_jwks(), indent=2)
        else:
            settings = _settings()
            others = [_recognised(p) for p in recognise or []]
            now = datetime.now(UTC).replace(microsecond=0)
            text = own_trust_list(
                store,
                issuer=issuer or settings.issuer,
                region=region or settings.issuer_region,
                name=name,
                issued_at=now,
                valid_until=now + timedelta(days=valid_days),
                recognised=others,
            )
    except (KeyStoreError, TrustListError) as exc:
        raise _fail(str(exc)) from None
    if output:
        output.write_text(text + "\n", "utf-8")
        typer.echo(f"wrote {fmt.value} to {output}")
    else:
        typer.echo(text)
