"""`registry audit …`: the auditor's toolkit (SPEC §8).

Operators (this module): `follow` (bring the Merkle tree up to the log), `checkpoint` (sign
one now, or `--every 10m` in a loop beside the server), `checkpoints`, `prove-inclusion`,
`prove-consistency`, `export`. Auditors (`registry.cli.audit_check`), with no database:
`verify` and `replay` read only the export, a checkpoint and a trust list; `replay --compare`
is the one that opens the live store.

Exit status: 0 good, 1 verified-and-found-wrong (tampering, unauthenticated events, illegal
lifecycle transitions, replay differences), 2 bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.application import Settings, StoreIntegrityError
from registry.audit.checkpoints import Checkpoint, Checkpointer
from registry.audit.export import export_history
from registry.audit.log import AuditLog, AuditLogError, UnauthenticatedEventsError
from registry.audit.merkle import verify_consistency, verify_inclusion
from registry.bootstrap import registry_session
from registry.cli.output import CliInputError, Output, table
from registry.cli.progress import progress_bar
from registry.cli.root import app
from registry.credentials import (
    KeyStore,
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
