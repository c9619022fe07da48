"""`registry certificates ...`: issue signed certificates (QR credential, printable PDF).

Both commands run the application's use case (`registry.application.issue_certificate`),
the same one behind `POST /api/v1/registrations/{number}/certificate` and the demo. A
registration that is not permitted to practise (expired, suspended, revoked, not approved)
is refused in one line with the reason; nothing is signed or written for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from domain.actors import Role
from registry.application import (
    IssuedCertificate,
    RegistryApp,
    issue_certificate,
    issue_certificates,
    printable_certificate,
)
from registry.bootstrap import open_credential_archive, open_projections, registry_session
from registry.cli.common import (
    REGISTRAR,
    AsOpt,
    JsonOpt,
    KeyOpt,
    RefArg,
    RoleOpt,
    command_options,
    make_actor,
    resolve,
)
from registry.cli.output import CliInputError, Output, table
from registry.cli.progress import progress_bar
from registry.cli.root import app
from registry.credentials import KeyStore, KeyStoreError, credential_qr_png

certificates_app = typer.Typer(
    help="Issue signed certificates (QR credential and printable PDF).", no_args_is_help=True
)
app.add_typer(certificates_app, name="certificates", rich_help_panel=REGISTRAR)


def _keys(registry: RegistryApp) -> KeyStore:
    return KeyStore(registry.settings.keys_dir)


def _write(path: Path, body: bytes) -> None:
    try:
        path.write_bytes(body)
    except OSError as exc:
        raise CliInputError(f"cannot write {path}: {exc.strerror or exc}", "output.file") from None


def write_certificate(
    registry: RegistryApp, issued: IssuedCertificate, *, pdf: Path | None, png: Path | None
) -> dict[str, str]:
    """Write the printable PDF and/or the QR PNG of a certificate just issued."""
    written: dict[str, str] = {}
    if pdf is not None:
        reg = registry.get(issued.result.registration_id)
        latest = next(c for c in reg.certificates if c["serial"] == issued.serial)
        _write(pdf, printable_certificate(registry, reg, latest, issued.credential))
        written["pdf"] = str(pdf)
    if png is not None:
        _write(png, credential_qr_png(registry.settings.public_base_url, issued.credential))
        written["png"] = str(png)
    return written


def _summary(issued: IssuedCertificate) -> dict[str, Any]:
    return {
        "registration_id": str(issued.result.registration_id),
        "number": issued.result.number,
        "serial": issued.serial,
        "kid": issued.kid,
        "expires_at": issued.expires_at.isoformat(),
        "url": issued.url,
        "credential": issued.credential,
    }


@certificates_app.command("issue")
def issue(
    ref: RefArg,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Write the printable PDF to this file.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Write the QR code (PNG) to this file.")
    ] = None,
    as_: AsOpt = None,
    role: RoleOpt = None,
    key: KeyOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Issue a certificate for a registration permitted to practise (by number or id)."""
    out = Output(json_)
    with out.guard():
        actor = make_actor(as_, role, Role.REGISTRAR)
        options = command_options(key)
        with registry_session() as registry:
            registration_id = resolve(registry, ref)
            try:
                issued = issue_certificate(
                    registry,
                    open_credential_archive(registry),
                    _keys(registry),
                    registration_id,
                    actor,
                    options,
                )
            except KeyStoreError as exc:
                out.fail("keys.unavailable", str(exc), 1)
            data = {
                **_summary(issued),
                "files": write_certificate(registry, issued, pdf=pdf, png=png),
            }
        out.emit(
            data,
            [
                f"issued certificate [bold]{data['serial']}[/bold] for {data['number']} "
                f"(key {data['kid']}, expires {data['expires_at'][:10]})",
                *(f"  wrote {kind}: {path}" for kind, path in data["files"].items()),
            ],
        )
        out.whole_line(f"verify: {data['url']}")


@certificates_app.command("issue-batch")
def issue_batch(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for NUMBER.pdf and NUMBER.png per certificate.")
    ],
    status: Annotated[
        str, typer.Option("--status", help="Which registrations: only 'active' may be issued.")
    ] = "active",
    scheme: Annotated[
        str | None,
        typer.Option("--scheme", help="Only this scheme (e.g. SIE).", show_default=False),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    as_: AsOpt = None,
    role: RoleOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Issue certificates for every registration with a status (active), with PDF and PNG."""
    out = Output(json_)
    with out.guard():
        if status.strip().lower() != "active":
            raise CliInputError(
                f"--status {status!r}: certificates are issued only for active registrations",
                "certificate.not_permitted",
            )
        actor = make_actor(as_, role, Role.REGISTRAR)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliInputError(
                f"cannot create {out_dir}: {exc.strerror or exc}", "output.file"
            ) from None
        with registry_session() as registry:
            projections = open_projections(registry)
            projections.catch_up()
            ids: list[UUID] = []
            while True:
                page = projections.search(
                    status="active", scheme=scheme, limit=1000, offset=len(ids)
                )
                ids.extend(v.registration_id for v in page)
                if len(page) < 1000:
                    break
            keys = _keys(registry)
            try:
                keys.active()
            except KeyStoreError as exc:
                out.fail("keys.unavailable", str(exc), 1)
            archive = open_credential_archive(registry)
            with progress_bar(len(ids), "Issuing certificates", quiet=quiet or json_) as bar:
                outcomes = issue_certificates(registry, archive, keys, ids, actor, bar)
            issued_rows: list[dict[str, Any]] = []
            refused_rows: list[dict[str, Any]] = []
            for outcome in outcomes:
                if outcome.issued is None:
                    refused_rows.append(
                        {
                            "number": outcome.number,
                            "code": outcome.refused_code,
                            "reason": outcome.refused,
                        }
                    )
                    continue
                stem = outcome.number or str(outcome.registration_id)
                files = write_certificate(
                    registry,
                    outcome.issued,
                    pdf=out_dir / f"{stem}.pdf",
                    png=out_dir / f"{stem}.png",
                )
                issued_rows.append(
                    {
                        "number": outcome.number,
                        "serial": outcome.issued.serial,
                        "url": outcome.issued.url,
                        "files": files,
                    }
                )
        data = {
            "status": "active",
            "scheme": scheme,
            "out": str(out_dir),
            "issued": issued_rows,
            "refused": refused_rows,
        }
        human: list[Any] = [
            f"issued {len(issued_rows)} certificates into {out_dir}"
            + (f"; refused {len(refused_rows)}" if refused_rows else "")
        ]
        if refused_rows:
            human.append(
                table(["number", "code", "reason"], [list(r.values()) for r in refused_rows])
            )
        out.emit(data, human)
        if issued_rows:
            out.whole_line(f"try: {issued_rows[0]['url']}")
