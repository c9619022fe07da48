"""`registry audit …`: the auditor's toolkit (SPEC §8).

Operators: `follow` (bring the Merkle tree up to the log), `checkpoint` (sign one now, or
`--every 10m` in a loop beside the server), `checkpoints`, `prove-inclusion`,
`prove-consistency`, `export`. Auditors, with no database: `verify` and `replay` read only the
export, a checkpoint and a trust list; `replay --compare` is the one that opens the live store.

Exit status: 0 good, 1 verified-and-found-wrong (tampering, unauthenticated events, illegal
lifecycle transitions, replay differences), 2 bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.application import Settings, StoreIntegrityError
from registry.audit.checkpoints import Checkpoint, Checkpointer, CheckpointError
from registry.audit.compare import compare
from registry.audit.export import export_history
from registry.audit.log import AuditLog, AuditLogError, UnauthenticatedEventsError
from registry.audit.merkle import verify_consistency, verify_inclusion
from registry.audit.oracles import AuditLogOracle, HttpOracle
from registry.audit.replay import ReplayError, replay
from registry.audit.verify_export import PrefixOracle, load_lines, verify_export
from registry.bootstrap import open_projections, registry_session
from registry.cli.output import CliInputError, Output, table
from registry.cli.progress import progress_bar
from registry.cli.root import app
from registry.credentials import (
    JwkError,
    KeyStore,
    TrustListError,
    TrustStore,
    TrustStoreError,
    b64url_decode,
    jwk_to_public_key,
    load_trust_list,
    parse_jwks,
)

audit_app = typer.Typer(
    help="Tamper evidence: Merkle tree, signed checkpoints, proofs, export, verify, replay.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: str) -> float:
    """`90`, `30s`, `10m`, `2h`, `1d` → seconds."""
    match = _DURATION.match(value)
    if not match or float(match.group(1)) <= 0:
        raise CliInputError(f"--every must be like 30s, 10m or 2h, got {value!r}")
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * factor


@contextmanager
def audit_session(quiet: bool = True) -> Iterator[AuditLog]:
    """The registry and its audit tree, caught up to the log."""
    with registry_session() as registry:
        audit = AuditLog(registry)
        try:
            lag = audit.lag()
            hide = quiet or lag < 5000
            with progress_bar(lag, "Hashing events into the tree", quiet=hide) as bar:
                audit.catch_up(bar)
            yield audit
        finally:
            audit.close()


@contextmanager
def integrity_guard(out: Output) -> Iterator[None]:
    """Forged or missing events are findings (exit 1), not bad input or a crash."""
    try:
        yield
    except UnauthenticatedEventsError as exc:
        out.fail("audit.unauthenticated_events", str(exc), 1)
    except StoreIntegrityError as exc:
        out.fail("store.integrity", str(exc), 1)
    except AuditLogError as exc:
        out.fail("audit.log_mismatch", str(exc), 1)


def _keys(settings: Settings) -> KeyStore:
    return KeyStore(settings.keys_dir)


def _checkpoint_row(cp: Checkpoint) -> list[Any]:
    return [cp.tree_size, cp.root_hash.hex(), cp.timestamp, cp.kid, cp.alg]


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliInputError(f"cannot write {path}: {exc.strerror}", code="input.file") from None


# ------------------------------------------------------------------ operators


@audit_app.command("follow")
def follow(quiet: QuietOpt = False, json_: JsonOpt = False) -> None:
    """Hash every event not yet in the tree (the server does this after each save)."""
    out = Output(json_)
    with out.guard(), audit_session(quiet) as audit:
        size = audit.size()
        out.emit(
            {
                "tree_size": size,
                "root_hash": audit.root(size).hex(),
                "position": audit.position()[0],
            }
        )


@audit_app.command("checkpoint")
def checkpoint(
    every: Annotated[
        str | None,
        typer.Option("--every", help="Sign again on this interval (10m, 1h…) if the log grew."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="With --every: stop after N rounds.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also write the checkpoint as CP.json.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Sign a checkpoint (tree size + root) with the active key and record it in the log."""
    out = Output(json_)
    with out.guard(), integrity_guard(out), audit_session() as audit:
        checkpointer = Checkpointer(audit, _keys(audit.app.settings))
        if every is None:
            cp, created = checkpointer.make()
            if out_file is not None:
                _write(out_file, cp.dumps())
            out.emit({**cp.to_json(), "recorded": created})
            return
        seconds = parse_duration(every)
        rounds = 0

        def report(cp: Checkpoint, created: bool) -> None:
            nonlocal rounds
            rounds += 1
            if out_file is not None:
                _write(out_file, cp.dumps())
            if json_:
                typer.echo(json.dumps({**cp.to_json(), "recorded": created}))
            else:
                verb = "signed" if created else "unchanged"
                out.print(
                    f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {verb} size {cp.tree_size} "
                    f"root {cp.root_hash.hex()[:16]}…"
                )

        try:
            checkpointer.run_every(
                seconds, stop=lambda: count is not None and rounds >= count, on_checkpoint=report
            )
        except KeyboardInterrupt:
            out.print("stopped")


@audit_app.command("checkpoints")
def checkpoints(
    size: Annotated[int | None, typer.Option("--size", help="The checkpoint of this size.")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Only the latest.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write it as CP.json.")] = None,
    json_: JsonOpt = False,
) -> None:
    """List the signed checkpoints, or show (and save) one of them."""
    out = Output(json_)
    with out.guard(), audit_session() as audit:
        checkpointer = Checkpointer(audit, _keys(audit.app.settings))
        if size is None and not latest:
            found = checkpointer.all()
            out.emit(
                [cp.to_json() for cp in found],
                [
                    table(
                        ["size", "root", "timestamp", "kid", "alg"],
                        [_checkpoint_row(cp) for cp in found],
                        title="Signed checkpoints",
                    )
                ],
            )
            return
        cp_or_none = checkpointer.latest() if size is None else checkpointer.get(size)
        if cp_or_none is None:
            out.fail("audit.checkpoint_not_found", "no such checkpoint", 2)
        if out_file is not None:
            _write(out_file, cp_or_none.dumps())
        out.emit(cp_or_none.to_json())


def _proof_size(audit: AuditLog, size: int | None) -> int:
    if size is not None:
        return size
    latest = audit.indexed_checkpoint()
    return latest.tree_size if latest is not None else audit.size()


@audit_app.command("prove-inclusion")
def prove_inclusion(
    leaf: Annotated[int | None, typer.Option("--leaf", min=0, help="Leaf index.")] = None,
    notification: Annotated[
        int | None, typer.Option("--notification", min=1, help="Notification id.")
    ] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="ORIGINATOR_ID:VERSION of the event.")
    ] = None,
    size: Annotated[
        int | None,
        typer.Option("--size", min=1, help="Tree size (default: the latest checkpoint's)."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Inclusion proof of one event in the tree of a checkpoint, checked before it is printed."""
    out = Output(json_)
    with out.guard(), audit_session() as audit:
        if [leaf, notification, event].count(None) != 2:
            raise CliInputError("give exactly one of --leaf, --notification, --event")
        if notification is not None:
            ref = audit.leaf_for_notification(notification)
        elif event is not None:
            origin, _, version = event.rpartition(":")
            if not origin or not version.isdigit():
                raise CliInputError("--event must be ORIGINATOR_ID:VERSION")
            ref = audit.leaf_for_event(origin, int(version))
        else:
            assert leaf is not None
            found = audit.leaves(leaf, leaf + 1)
            ref = found[0] if found else None
        if ref is None:
            out.fail("audit.leaf_not_found", "that event is not in the tree", 2)
        tree_size = _proof_size(audit, size)
        if ref.leaf_index >= tree_size:
            out.fail(
                "audit.not_yet_covered",
                f"leaf {ref.leaf_index} is after the size-{tree_size} tree; checkpoint again",
                2,
            )
        proof = audit.inclusion_proof(ref.leaf_index, tree_size)
        root = audit.root(tree_size)
        value = audit.leaf_hashes(ref.leaf_index, ref.leaf_index + 1)[0]
        verify_inclusion(value, ref.leaf_index, tree_size, proof, root)
        out.emit(
            {
                "leaf_index": ref.leaf_index,
                "notification_id": ref.notification_id,
                "originator_id": ref.originator_id,
                "originator_version": ref.originator_version,
                "tree_size": tree_size,
                "leaf_hash": value.hex(),
                "root_hash": root.hex(),
                "proof": [p.hex() for p in proof],
                "verified": True,
            }
        )


@audit_app.command("prove-consistency")
def prove_consistency(
    old: Annotated[int, typer.Option("--old", min=0, help="Earlier tree size.")],
    new: Annotated[
        int | None, typer.Option("--new", min=1, help="Later size (default: latest checkpoint).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Consistency proof that the later tree only appended to the earlier one."""
    out = Output(json_)
    with out.guard(), audit_session() as audit:
        new_size = _proof_size(audit, new)
        proof = audit.consistency_proof(old, new_size)
        old_root, new_root = audit.root(old), audit.root(new_size)
        verify_consistency(old, new_size, old_root, new_root, proof)
        out.emit(
            {
                "old_size": old,
                "new_size": new_size,
                "old_root": old_root.hex(),
                "new_root": new_root.hex(),
                "proof": [p.hex() for p in proof],
                "verified": True,
            }
        )


@audit_app.command("export")
def export(
    out_path: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.")],
    size: Annotated[
        int | None, typer.Option("--size", min=0, help="Only the first N leaves.")
    ] = None,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Every event in canonical form with its leaf index, leaf hash and MAC (constant memory).

    Each event's MAC is checked as it is exported: unauthenticated events are still written
    (the auditor must see them) but named here, and the exit status is 1.
    """
    out = Output(json_)
    with out.guard(), integrity_guard(out), audit_session(quiet) as audit:
        total = audit.size() if size is None else size
        try:
            handle = out_path.open("wb")
        except OSError as exc:
            raise CliInputError(f"cannot write {out_path}: {exc.strerror}") from None
        try:
            with handle, progress_bar(total, "Exporting events", quiet=quiet) as bar:
                summary = export_history(audit, handle, size=total, progress=bar)
        except AuditLogError:
            out_path.unlink(missing_ok=True)  # a cut-off export would only mislead
            raise
        forged = summary.unauthenticated
        data = {
            "file": str(out_path),
            "tree_size": summary.tree_size,
            "root_hash": summary.root_hash.hex(),
            "bytes": summary.bytes_written,
            "unauthenticated": [leaf.as_dict() for leaf in forged],
        }
        human: list[Any] = [
            f"exported {summary.tree_size} leaves to {out_path}, root {summary.root_hash.hex()}"
        ]
        if forged:
            human.append(
                f"[red]{len(forged)} unauthenticated event(s) — not written by the registry:[/red]"
            )
            human.extend(f"  {leaf}" for leaf in forged[:50])
        out.emit(data, human)
        if forged:
            raise typer.Exit(1)


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
        typer.Option("--as-of", help="Date (YYYY-MM-DD), repeatable; default: today (UTC)."),
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
        dates = [_parse_day(v) for v in as_of or []] or [datetime.now(UTC).date()]
        if not history.is_file():
            raise CliInputError(f"export {history} does not exist", code="input.file")
        try:
            with progress_bar(None, "Replaying", quiet=quiet) as bar:
                result = replay(load_lines(str(history)), dates, progress=bar)
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
            "standings": rows,
            "violations": [v.as_dict() for v in result.violations],
        }
        differences = []
        if compare_live:
            with integrity_guard(out), registry_session() as registry:
                differences = compare(result, open_projections(registry))
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
