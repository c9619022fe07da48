"""`registry audit verify|replay`: the auditor's checks, from an export alone (SPEC §8).

`verify` recomputes the Merkle tree from the export and checks it against a signed
checkpoint and a trust list; `replay` rebuilds every registration's status from the export
(`--compare` diffs it against the live projections, the one step that opens the store).
Exit status: 0 good, 1 verified-and-found-wrong, 2 bad input.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.application.settings import Settings, SettingsError
from registry.audit.checkpoints import Checkpoint, CheckpointError
from registry.audit.compare import compare
from registry.audit.log import AuditLog
from registry.audit.oracles import AuditLogOracle, HttpOracle
from registry.audit.replay import ReplayError, replay, zone_named
from registry.audit.verify_export import PrefixOracle, load_lines, verify_export
from registry.bootstrap import open_projections, registry_session
from registry.cli.audit import JsonOpt, QuietOpt, audit_app, audit_session, integrity_guard
from registry.cli.output import CliInputError, Output, table
from registry.cli.progress import progress_bar
from registry.credentials import (
    JwkError,
    TrustListError,
    TrustStore,
    TrustStoreError,
    b64url_decode,
    jwk_to_public_key,
    load_trust_list,
    parse_jwks,
)

# ------------------------------------------------------------------ auditors


def load_trust(path: Path, signer: Path | None) -> TrustStore:
    """A JWKS (`registry keys export-public`) as is; a signed trust list checked by its signer.

    Without ``--trust-list-signer`` a trust list must verify under one of its own keys: that
    proves integrity, not origin — obtain the file over a channel you trust.
    """
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliInputError(f"cannot read trust list {path}: {exc}", code="input.file") from None
    try:
        if text.startswith("{"):
            return TrustStore.from_jwks(json.loads(text))
        if signer is not None:
            keys = parse_jwks(json.loads(signer.read_text(encoding="utf-8")))
        else:
            payload = json.loads(b64url_decode(text.split(".")[1]))
            keys = [jwk_to_public_key(k) for i in payload.get("issuers", []) for k in i["keys"]]
        return load_trust_list(text, keys).trust_store()
    except (
        OSError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        JwkError,
        TrustListError,
        TrustStoreError,
    ) as exc:
        raise CliInputError(f"cannot use trust list {path}: {exc}", code="input.trust") from None


@audit_app.command("verify")
def verify(
    history: Annotated[Path, typer.Argument(help="The export (JSON Lines).")],
    checkpoint_file: Annotated[Path, typer.Option("--checkpoint", help="Signed CP.json.")],
    trust_list: Annotated[
        Path, typer.Option("--trust-list", help="JWKS or signed trust list (JWS).")
    ],
    trust_list_signer: Annotated[
        Path | None, typer.Option(help="JWKS of the key that signs --trust-list.")
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Locate a consistent rewrite via the live store.")
    ] = False,
    live_url: Annotated[
        str | None, typer.Option("--live-url", help="…or via a registry's HTTP API.")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="REGISTRY_AUDIT_TOKEN", help="Auditor token.")
    ] = None,
    event_mac_key: Annotated[
        Path | None,
        typer.Option(
            "--event-mac-key",
            help="The registry's event-mac secret (keys_dir/secrets/event-mac.key): also "
            "authenticate every event and name each unauthenticated leaf.",
        ),
    ] = None,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Recompute the tree from the export and check it against the signed checkpoint."""
    out = Output(json_)
    with out.guard():
        try:
            cp = Checkpoint.load(checkpoint_file)
        except CheckpointError as exc:
            raise CliInputError(str(exc), code="input.checkpoint") from None
        trust = load_trust(trust_list, trust_list_signer)
        if not history.is_file():
            raise CliInputError(f"export {history} does not exist", code="input.file")
        mac_key = _read_mac_key(event_mac_key) if event_mac_key is not None else None
        oracle: PrefixOracle | None = None
        session = None
        live_audit: AuditLog | None = None
        if live_url is not None:
            if not token:
                raise CliInputError("--live-url needs --token (an auditor's API token)")
            oracle = HttpOracle(live_url, token)
        elif live:
            session = audit_session()
            live_audit = session.__enter__()
            oracle = AuditLogOracle(live_audit)
        gaps: list[str] = []
        try:
            with progress_bar(cp.tree_size, "Verifying", quiet=quiet) as bar:
                report = verify_export(
                    load_lines(str(history)),
                    cp,
                    trust,
                    oracle=oracle,
                    progress=bar,
                    mac_key=mac_key,
                )
            if live_audit is not None and not report.ok:
                # Name what the live log lost, not just where the export stops matching.
                gaps = [str(g) for g in live_audit.log_gaps(0, live_audit.size())]
        finally:
            if session is not None:
                session.__exit__(None, None, None)
        data = report.as_dict()
        data["live_log_gaps"] = gaps
        human: list[Any] = []
        if report.ok:
            human.append(
                f"[green]VERIFIED[/green] {report.tree_size} leaves, root "
                f"{cp.root_hash.hex()}, signed {cp.timestamp} by {cp.kid}"
            )
        else:
            where = (
                "cannot be located from the export alone"
                if report.first_bad_leaf is None
                else f"first bad leaf {report.first_bad_leaf} ({report.located_by})"
            )
            human.append(f"[red]NOT VERIFIED[/red]: {where}")
            if not report.signature_valid:
                human.append("  checkpoint signature does not verify")
            if not report.root_matches:
                human.append("  root hash differs from the signed checkpoint")
            for p in report.problems[:10]:
                human.append(f"  leaf {p.leaf_index}: {p.kind}: {p.detail}")
            if report.unauthenticated_leaves:
                leaves = ", ".join(str(i) for i in report.unauthenticated_leaves[:50])
                human.append(f"  unauthenticated events at leaves: {leaves}")
            for gap in gaps[:10]:
                human.append(f"  live log: {gap}")
        if not report.macs_checked:
            human.append("  note: event MACs not checked (pass --event-mac-key to check them)")
        if report.note:
            human.append(f"  note: {report.note}")
        out.emit(data, human)
        if not report.ok:
            raise typer.Exit(1)


def _read_mac_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise CliInputError(
            f"cannot read event MAC key {path}: {exc.strerror}", code="input.file"
        ) from None
    if len(key) != 32:
        raise CliInputError(f"{path} is not a 32-byte event MAC key", code="input.key")
    return key


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CliInputError(
            f"--as-of must be YYYY-MM-DD, got {value!r}", code="input.date"
        ) from None


@audit_app.command("replay")
def replay_cmd(
    history: Annotated[Path, typer.Argument(help="The export (JSON Lines).")],
    as_of: Annotated[
        list[str] | None,
        typer.Option(
            "--as-of",
            help="Local date (YYYY-MM-DD) in --timezone, repeatable; default: today there.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA zone whose calendar days the dates are; default: the registry's setting "
            "(Asia/Shanghai unless configured).",
        ),
    ] = None,
    compare_live: Annotated[
        bool, typer.Option("--compare", help="Diff against the live projections; exit 1 if any.")
    ] = False,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Rebuild every registration's status from the export alone (no database)."""
    out = Output(json_)
    with out.guard():
        try:
            zone_name = timezone or Settings.load().timezone
        except SettingsError as exc:
            raise CliInputError(str(exc), code="input.settings") from None
        try:
            zone = zone_named(zone_name)
        except ReplayError as exc:
            raise CliInputError(str(exc), code="input.timezone") from None
        dates = [_parse_day(v) for v in as_of or []] or [datetime.now(zone).date()]
        if not history.is_file():
            raise CliInputError(f"export {history} does not exist", code="input.file")
        try:
            with progress_bar(None, "Replaying", quiet=quiet) as bar:
                result = replay(load_lines(str(history)), dates, progress=bar, timezone=zone_name)
        except ReplayError as exc:
            out.fail("audit.replay_failed", str(exc), 1)
        rows = []
        for rid, reg in sorted(
            result.registrations.items(), key=lambda kv: (kv[1].number or "~", kv[0])
        ):
            for day in result.dates:
                standing = reg.standing(day)
                rows.append(
                    {
                        "registration_id": rid,
                        "number": reg.number,
                        "scheme": reg.scheme,
                        "date": day.isoformat(),
                        **(standing.as_dict() if standing else {"status": None}),
                    }
                )
        data: dict[str, Any] = {
            "events": result.events,
            "registrations": len(result.registrations),
            "dates": [d.isoformat() for d in result.dates],
            "timezone": result.timezone,
            "standings": rows,
            "violations": [v.as_dict() for v in result.violations],
        }
        differences = []
        if compare_live:
            with integrity_guard(out), registry_session() as registry:
                try:
                    differences = compare(result, open_projections(registry))
                except ValueError as exc:  # the replay's zone is not the registry's
                    raise CliInputError(str(exc), code="input.timezone") from None
            data["differences"] = [d.as_dict() for d in differences]
        human: list[Any] = [
            table(
                ["number", "date", "status", "reason_code", "valid_until"],
                [
                    [
                        r["number"] or r["registration_id"],
                        r["date"],
                        r["status"],
                        r.get("reason_code"),
                        r.get("valid_until"),
                    ]
                    for r in rows
                    if r["number"]
                ],
                title=f"Replayed {result.events} events, {len(result.registrations)} "
                "registrations (numbered ones shown)",
            )
        ]
        if result.violations:
            human.append(
                f"[red]{len(result.violations)} illegal lifecycle transition(s) — events the "
                "registry's rules could not have recorded (not folded):[/red]"
            )
            human.extend(f"  {v}" for v in result.violations[:200])
        if compare_live:
            if differences:
                human.append(f"[red]{len(differences)} differences from the live projections[/red]")
                human.extend(str(d) for d in differences[:200])
            else:
                human.append(
                    "[green]replay and live projections agree on every registration and "
                    "date[/green]"
                )
        out.emit(data, human)
        if differences or result.violations:
            raise typer.Exit(1)
